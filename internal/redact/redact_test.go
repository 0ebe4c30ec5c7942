package redact_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/internal/redact"
)

func TestMask(t *testing.T) {
	tests := map[string]string{
		"":                                   "(empty)",
		"short":                              "…(5 chars)",
		"sixteen-chars-ok":                   "sixt…(16 chars)",
		"0123456789abcdef0123456789abcdefXY": "01234567…(34 chars)",
		// A prefix never cuts a character, nor shows bytes that are
		// not UTF-8: the line they were written to was not UTF-8.
		"a" + strings.Repeat("é", 16):    "aééé…(33 chars)",
		"abc€defghijklmnopq":             "abc…(20 chars)",
		"\xff" + strings.Repeat("x", 33): "…(34 chars)",
	}
	for in, want := range tests {
		if got := redact.Mask(in); got != want || !utf8.ValidString(got) {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHandlerHidesSecrets(t *testing.T) {
	const (
		registered = "registered-secret-value-0123456789"
		keyed      = "a-value-under-a-secret-key-xyz"
		typed      = "a-value-of-type-secret-abcdefgh"
	)
	redact.Register(registered)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := newLogger(format, &buf).With("client_secret", keyed+"-with")
			log.Info("message mentions "+registered,
				"refresh_token", keyed,
				"Authorization", "Bearer "+keyed,
				"note", redact.Secret(typed),
				"url", "https://x/cb?code="+registered,
				"err", errors.New("failed with "+registered),
				slog.Group("g", "access_token", keyed),
			)
			out := buf.String()
			for _, s := range []string{registered, keyed, typed} {
				if strings.Contains(out, s) {
					t.Fatalf("%s leaked in:\n%s", s, out)
				}
			}
			for _, want := range []string{redact.Mask(registered), redact.Mask(typed), redact.Mask(keyed)} {
				if !strings.Contains(out, want) {
					t.Errorf("missing mask %q in:\n%s", want, out)
				}
			}
		})
	}
}

// TestHandlerMasksSecretsInKeys: a registered secret used as an
// attribute's key, a group's name or a logger's group (a program logging
// a map of tokens by value, a header named by its value) showed whole, as
// only values and messages were scrubbed.
func TestHandlerMasksSecretsInKeys(t *testing.T) {
	const secret = "secret-as-a-key-0123456789abcdef"
	redact.Register(secret)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := newLogger(format, &buf)
			log.With(secret+"-with", "v").Info("m")
			log.Info("m", secret, "v")
			log.Info("m", slog.Group(secret, "a", 1))
			log.WithGroup(secret).Info("m", "a", 1)
			log.Info("m", slog.Group("g", slog.String("x="+secret, "v")))
			if out := buf.String(); strings.Contains(out, secret[8:]) || strings.Count(out, redact.Mask(secret)) != 5 {
				t.Errorf("a secret in a key showed, or was not masked in each of 5 lines:\n%s", out)
			}
		})
	}
}

// newLogger logs in format ("text" or "json") to out through a Handler.
func newLogger(format string, out io.Writer) *slog.Logger {
	var h slog.Handler = slog.NewTextHandler(out, nil)
	if format == "json" {
		h = slog.NewJSONHandler(out, nil)
	}
	return slog.New(redact.NewHandler(h))
}

func TestSecretPrintsMasked(t *testing.T) {
	s := redact.Secret("0123456789abcdef0123456789abcdef")
	var b strings.Builder
	b.WriteString(s.String())
	if strings.Contains(b.String(), "abcdef0123") {
		t.Fatalf("Secret printed in full: %s", b.String())
	}
}

func TestOneLine(t *testing.T) {
	const secret = "one-line-secret-0123456789abcdef"
	redact.Register(secret, secret[:20]) // a secret inside another is masked whole
	got := redact.OneLine("bad token "+secret+"\n\x1b[31mred\x1b[0m\tend", 1000)
	if strings.Contains(got, secret[:20]) || strings.ContainsAny(got, "\n\t\x1b") {
		t.Fatalf("OneLine = %q", got)
	}
	if !strings.Contains(got, redact.Mask(secret)) {
		t.Fatalf("OneLine = %q, want the whole secret masked as %q", got, redact.Mask(secret))
	}
	// A byte that is no UTF-8 (a query an API wrote in a Link) is not
	// passed on raw: 0x9B is CSI to a terminal in Latin-1.
	if got, want := redact.OneLine("page?\x9b2J\xff", 1000), "page?\uFFFD2J\uFFFD"; got != want {
		t.Fatalf("OneLine = %q, want %q", got, want)
	}
	if got := redact.OneLine(strings.Repeat("é", 50), 10); got != strings.Repeat("é", 10)+"…" {
		t.Fatalf("clip = %q", got)
	}
	// Spaces in a row are kept, as a path quoted in a suggested command
	// needs them; a line break takes the white space around it.
	if got, want := redact.OneLine("run `chmod 600 'my  dir/c.toml'`  \n\t  then\u2028again", 1000), "run `chmod 600 'my  dir/c.toml'` then again"; got != want {
		t.Fatalf("OneLine = %q, want %q", got, want)
	}
	// Bidirectional controls would let a provider's words show on the
	// terminal in another order than they are (U+202E turns the rest of
	// the line around): they go too.
	if got, want := redact.OneLine("access_denied \u202ehs.lave | lruc\u202c; run \u2066x\u2069", 1000), "access_denied hs.lave | lruc ; run x"; got != want {
		t.Fatalf("OneLine = %q, want %q", got, want)
	}
}

// TestOneLineEndsKeepsWhatToDo: a message longer than its bound loses its
// middle, not its end, where an error says what to run next; it is one
// line and masked as OneLine's.
func TestOneLineEndsKeepsWhatToDo(t *testing.T) {
	const secret = "one-line-ends-secret-0123456789"
	redact.Register(secret)
	msg := "cannot read " + strings.Repeat("/long", 100) + " (" + secret + ")\n; run `freshtoken logout --local -e dev`"
	got := redact.OneLineEnds(msg, 100)
	if !strings.HasPrefix(got, "cannot read /long") || !strings.HasSuffix(got, "; run `freshtoken logout --local -e dev`") || !strings.Contains(got, " … ") {
		t.Fatalf("OneLineEnds = %q; want its start and its end, the middle left out", got)
	}
	if n := len([]rune(got)); n > 100+len(" … ") {
		t.Fatalf("OneLineEnds gave %d runes; want at most 100 and the mark", n)
	}
	if got := redact.OneLineEnds(msg, 10000); strings.Contains(got, secret[:12]) || strings.Contains(got, "\n") || !strings.Contains(got, redact.Mask(secret)) {
		t.Fatalf("OneLineEnds = %q; want it on one line, the secret masked", got)
	}
}

// TestOAuthNamesThatHoldNoSecretAreShown: the parameters OAuth names after
// a token but that hold none (token_type=bearer, token_type_hint, the
// token exchange's *_token_type) show as they are in a URL or a printed
// parameter: holding "token", they were masked, hiding what a message was
// about. A name holding a secret word is masked as before.
func TestOAuthNamesThatHoldNoSecretAreShown(t *testing.T) {
	const shown = "token_type=bearer&token_type_hint=refresh_token&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&page=2"
	if got := redact.URL("https://api.example.com/x?" + shown + "&api_key=Zq7xW&my_token=Zq7xW"); got != "https://api.example.com/x?"+shown+"&api_key=…(5 chars)&my_token=…(5 chars)" {
		t.Errorf("URL = %s; want the names holding no secret shown", got)
	}
	params := redact.MaskParams(map[string]string{"token_type_hint": "access_token", "subject_token_type": "jwt", "token_secret": "Zq7xW"})
	if params["token_type_hint"] != "access_token" || params["subject_token_type"] != "jwt" || params["token_secret"] != "…(5 chars)" {
		t.Errorf("MaskParams = %v; want the names holding no secret shown", params)
	}
}

// TestURLShowsAUserMaskedReadably: a user in a URL shows masked as Mask
// writes it, and its password not at all: the mask was percent-encoded
// (https://%E2%80%A6%284%20chars%29@login.example.com), which a person
// could not read.
func TestURLShowsAUserMaskedReadably(t *testing.T) {
	for raw, want := range map[string]string{
		"https://ada:Zq7xWpw@login.example.com/token?x=1": "https://…(3 chars)@login.example.com/token?x=1",
		"https://ada@login.example.com":                   "https://…(3 chars)@login.example.com",
		"https://login.example.com/a?api_key=Zq7xW":       "https://login.example.com/a?api_key=…(5 chars)",
	} {
		if got := redact.URL(raw); got != want {
			t.Errorf("URL(%q) = %q; want %q", raw, got, want)
		}
	}
}

// TestURLMasksAKeyInANestedURL: a key in the query of a URL carried in
// another parameter's value (a redirect target, a callback), raw or
// URL-encoded once or twice, is masked as one in the URL's own query is:
// redact.URL showed it whole, and every message and debug line naming the
// URL with it.
func TestURLMasksAKeyInANestedURL(t *testing.T) {
	const key = "Zq7xWnested"
	for raw, want := range map[string]string{
		"https://x/a?to=https://y/?api_key=" + key:                              "https://x/a?to=https://y/?api_key=…(11 chars)",
		"https://x/a?to=https://y/?a=1&api_key=" + key + "&b=2":                 "https://x/a?to=https://y/?a=1&api_key=…(11 chars)&b=2",
		"https://x/a?to=https%3A%2F%2Fy%2F%3Fapi_key%3D" + key + "&page=2":      "https://x/a?to=https://y/?api_key=…(11 chars)&page=2",
		"https://x/a?to=https%3A%2F%2Fy%2F%3Fa%3D1%26subscription-key%3D" + key: "https://x/a?to=https://y/?a=1&subscription-key=…(11 chars)",
		"https://x/a?to=https%253A%252F%252Fy%252F%253Fapi_key%253D" + key:      "https://x/a?to=https://y/?api_key=…(11 chars)",
		"https://x/a?state=api_key%3D" + key:                                    "https://x/a?state=api_key=…(11 chars)",
		"https://x/a?to=https%3A%2F%2Fy%2F%3Fpage%3D2&n=1":                      "https://x/a?to=https%3A%2F%2Fy%2F%3Fpage%3D2&n=1",
		"https://x/a?filter=abc%3D%3D":                                          "https://x/a?filter=abc%3D%3D",
	} {
		got := redact.URL(raw)
		if strings.Contains(got, key) || got != want {
			t.Errorf("URL(%q)\n = %q\nwant %q", raw, got, want)
		}
	}
}

// TestOnlySecretNamesAreMasked: a parameter is masked when its name is, or
// has as a word, one that names a secret (key, api_key, apikey,
// X-Api-Key, subscription-key, access_token, accessToken, token,
// passphrase), not when the word is only inside another (keyword, monkey,
// tokenizer, passage): those hid what a URL or a printout was about.
func TestOnlySecretNamesAreMasked(t *testing.T) {
	for _, name := range []string{"key", "api_key", "apikey", "ApiKey", "X-Api-Key", "subscription-key", "Subscription-Key", "subscriptionkey",
		"access_token", "accessToken", "accesstoken", "token", "id_token", "authtoken", "client_secret", "clientsecret", "secret", "password",
		"passwd", "passphrase", "pwd", "keys", "my_token", "token_secret", "X-Amz-Signature", "X-Amz-Credential", "session_cookie", "client_assertion", "code"} {
		if !redact.NamesASecret(name) && !redact.IsSecretKey(name) {
			t.Errorf("%q is not taken for a secret's name", name)
		}
		if got := redact.URL("https://x/a?" + name + "=Zq7xW"); got != "https://x/a?"+name+"=…(5 chars)" {
			t.Errorf("URL with %s = %q; want its value masked", name, got)
		}
	}
	for _, name := range []string{"keyword", "monkey", "keyboard", "turkey", "tokenizer", "passage", "compass", "passenger", "secretary", "page", "token_type_hint"} {
		if redact.NamesASecret(name) {
			t.Errorf("%q is taken for a secret's name", name)
		}
		if got, want := redact.URL("https://x/a?"+name+"=Zq7xW"), "https://x/a?"+name+"=Zq7xW"; got != want {
			t.Errorf("URL = %q; want %q", got, want)
		}
		if got := redact.MaskParams(map[string]string{name: "Zq7xW"}); got[name] != "Zq7xW" {
			t.Errorf("MaskParams masked %s: %v", name, got)
		}
	}
}

// TestLoggerMasksOnce: Logger puts a Handler in front of a program's own
// handler, which masked no registered secret (only the command line's
// handler did), and leaves a logger that masks already as it is, so that
// the engine, given the command line's, masks nothing twice.
func TestLoggerMasksOnce(t *testing.T) {
	const secret = "logger-registered-secret-0123456789"
	redact.Register(secret)
	var buf bytes.Buffer
	redact.Logger(slog.New(slog.NewTextHandler(&buf, nil))).With("k", "v").Info("failed with " + secret)
	if strings.Contains(buf.String(), secret) || !strings.Contains(buf.String(), redact.Mask(secret)) {
		t.Errorf("a program's own handler logged %q; want the secret masked", buf.String())
	}
	masking := newLogger("json", &buf)
	if redact.Logger(masking) != masking {
		t.Error("a logger that masks already was wrapped again")
	}
	redact.Logger(nil).Info("discarded " + secret) // no panic
}

// TestRegisterURLsTakesANestedKey: a key in the query of a URL carried in
// a configured URL's parameter (…?to=https%3A%2F%2Fy%2F%3Fapi_key%3D…) is
// registered as the URL's own keys are, so that any text quoting it, in
// any encoding, masks it: only the URL's own parameters were read.
func TestRegisterURLsTakesANestedKey(t *testing.T) {
	const key = "nested-key/0123+abc"
	redact.RegisterURLs("https://gw.example.com/token?to=" + url.QueryEscape("https://y/?region=eu&api_key="+url.QueryEscape(key)))
	for _, quoted := range []string{key, url.QueryEscape(key), base64.StdEncoding.EncodeToString([]byte("k=" + key))} {
		if got := redact.Scrub("the gateway said: " + quoted); strings.Contains(got, quoted) {
			t.Errorf("Scrub = %q; want the nested key masked", got)
		}
	}
}

// TestSecretNamesAsAPIsWriteThem: a parameter is masked under the names
// real APIs give keys, signatures and sessions, in any case and however
// its words are joined: Azure's SAS signature (sig), a Shopify callback's
// hmac, a session's id, an authorization or device code, a name dotted,
// bracketed or spaced (api.key, user[password], api key), or glued
// (consumersecret, licensekey, csrftoken). Narrowed to secret words
// standing as words, NamesASecret let all of these show (sig, hmac,
// session ids and codes showed before too), while OAuth's token types
// written in camelCase (tokenType), and client_assertion_type, were
// masked.
func TestSecretNamesAsAPIsWriteThem(t *testing.T) {
	for _, name := range []string{"key", "apikey", "api-key", "x-api-key", "X-API-KEY", "APIKEY2", "sig", "Sig", "X-Goog-Signature", "hmac", "jwt", "auth",
		"X-Auth", "basic_auth", "Proxy-Authorization", "sign", "session", "sessionid", "session_id", "sessionId", "JSESSIONID", "PHPSESSID", "hash",
		"auth_code", "authorization_code", "device_code", "passcode", "pass", "pwd", "creds", "api.key", "client.secret", "user[password]",
		"auth[token]", "params[api_key]", "api key", "consumersecret", "licensekey", "csrftoken", "webhooksecret", "encryptionkey",
		"accountkey", "googleapikey", "mypassword", "sastoken", "oauthtoken"} {
		if !redact.NamesASecret(name) {
			t.Errorf("%q is not taken for a secret's name", name)
		}
		q := url.QueryEscape(name) + "=Zq7xW"
		if got := redact.URL("https://x/a?" + q); got != "https://x/a?"+url.QueryEscape(name)+"=…(5 chars)" {
			t.Errorf("URL with %s = %q; want its value masked", name, got)
		}
	}
	sas := "https://acct.blob.core.windows.net/c/f.csv?sv=2022-11-02&sp=r&se=2026-12-31T00%3A00%3A00Z&sig=Zq7xW%2Bsas%3D"
	if got, want := redact.URL(sas), "https://acct.blob.core.windows.net/c/f.csv?sv=2022-11-02&sp=r&se=2026-12-31T00%3A00%3A00Z&sig=…(14 chars)"; got != want {
		t.Errorf("URL(%q) = %q; want %q", sas, got, want)
	}
	for _, name := range []string{"tokenType", "token-type", "TokenTypeHint", "client_assertion_type", "monkeys", "compass", "bypass", "auth_url", "authuser", "commit_hash",
		"country_code", "session_length", "sign_type", "per_page", "signal", "passport"} {
		if redact.NamesASecret(name) {
			t.Errorf("%q is taken for a secret's name", name)
		}
		if got, want := redact.URL("https://x/a?"+name+"=Zq7xW"), "https://x/a?"+name+"=Zq7xW"; got != want {
			t.Errorf("URL = %q; want %q", got, want)
		}
	}
}

// TestURLMasksEveryPlaceAKeyHides: a URL shows no key in its fragment
// (an implicit log-in's #access_token=…), in a URL nested in a parameter
// that a stray % makes unreadable (to=https%3A…%3Fapi_key%3D…%ZZ), under a
// name holding a stray %, as the password of a nested URL
// (to=https://me:pw@y/, raw or encoded), or of one written without //
// (https:me:pw@host); each showed whole. What holds no key shows as it is.
func TestURLMasksEveryPlaceAKeyHides(t *testing.T) {
	const key = "Zq7xWhidden"
	for raw, want := range map[string]string{
		"https://x/cb#access_token=" + key + "&token_type=bearer":             "https://x/cb#access_token=…(11 chars)&token_type=bearer",
		"https://x/a?page=2#api_key=" + key:                                   "https://x/a?page=2#api_key=…(11 chars)",
		"https://x/a?to=https://y/%23access_token%3D" + key:                   "https://x/a?to=https://y/#access_token=…(11 chars)",
		"https://x/a?to=https%3A%2F%2Fy%2F%3Fapi_key%3D" + key + "%ZZ":        "https://x/a?to=https://y/?api_key=…(14 chars)",
		"https://x/a?to=https%3A%2F%2Fy%2F%25ZZ%3Fapi_key%3D" + key:           "https://x/a?to=https://y/%ZZ?api_key=…(11 chars)",
		"https://x/a?to=https%3A%2F%2Fy%2F%3Fapi_key%3D" + key + "%":          "https://x/a?to=https://y/?api_key=…(12 chars)",
		"https://x/a?api_key%ZZ=" + key:                                       "https://x/a?api_key%ZZ=…(11 chars)",
		"https://x/a?k%65y%ZZ=" + key:                                         "https://x/a?k%65y%ZZ=…(11 chars)",
		"https://x/a?to=https://me:" + key + "@y/":                            "https://x/a?to=https://…(2 chars)@y/",
		"https://x/a?to=https%3A%2F%2Fme%3A" + key + "%40y%2F":                "https://x/a?to=https://…(2 chars)@y/",
		"https:me:" + key + "@x/a":                                            "https:…(14 chars)@x/a",
		"https://x/a#section-api-key":                                         "https://x/a#section-api-key",
		"https://x/a?q=100%25%20off%3F&color=%23ff0000&mail=me%40example.com": "https://x/a?q=100%25%20off%3F&color=%23ff0000&mail=me%40example.com",
		"https://x/a?to=https%3A%2F%2Fy%2F%3Fpage%3D2%25&n=1":                 "https://x/a?to=https%3A%2F%2Fy%2F%3Fpage%3D2%25&n=1",
	} {
		if got := redact.URL(raw); strings.Contains(got, key) || got != want {
			t.Errorf("URL(%q)\n = %q\nwant %q", raw, got, want)
		}
	}
}

// TestRegisterURLsTakesEveryHiddenKey: the keys URL masks in a
// configuration's URL are registered, so that any text quoting them, in
// any encoding, masks them: one in the fragment, in a nested URL a stray %
// makes unreadable, or a nested URL's password, which were not.
func TestRegisterURLsTakesEveryHiddenKey(t *testing.T) {
	keys := []string{"fragment-key/0123", "stray%key-0123", "nested-password+0123"}
	redact.RegisterURLs("https://gw.example.com/token#api_key="+url.QueryEscape(keys[0]),
		"https://gw.example.com/token?to=https%3A%2F%2Fy%2F%3Fapi_key%3D"+keys[1],
		"https://gw.example.com/token?to="+url.QueryEscape("https://me:"+url.QueryEscape(keys[2])+"@y/"))
	for _, key := range keys {
		for _, quoted := range []string{key, url.QueryEscape(key), base64.StdEncoding.EncodeToString([]byte("k=" + key))} {
			if got := redact.Scrub("the gateway said: " + quoted); strings.Contains(got, quoted) {
				t.Errorf("Scrub = %q; want the key masked", got)
			}
		}
	}
}

// TestURLReadsACraftedValueInBoundedWork: a value nesting queries in
// queries, each level encoded once more (as an API's Link or Location
// header may be crafted), is read in work that grows with its length, not
// with the number of ways to read it: every level was read through again
// at each decoding, so a URL of 10 KiB took some 700,000 allocations and
// one of 55 KiB four seconds. A key carried deeper than is read is masked
// with the value holding it.
func TestURLReadsACraftedValueInBoundedWork(t *testing.T) {
	crafted := "x"
	for range 8 {
		crafted = "a=" + url.QueryEscape(crafted) + "&b=" + url.QueryEscape(crafted)
	}
	if allocs := testing.AllocsPerRun(1, func() { redact.URL("https://x/?" + crafted) }); allocs > 5000 {
		t.Errorf("URL of a crafted %d-byte value took %.0f allocations; want at most 5000", len(crafted), allocs)
	}
	const key = "Zq7xWdeep"
	deep := "https://y/?api_key=" + key
	for range 8 {
		deep = url.QueryEscape(deep)
	}
	if got := redact.URL("https://x/a?page=2&to=" + deep); strings.Contains(got, key) || !strings.HasPrefix(got, "https://x/a?page=2&to=") {
		t.Errorf("URL = %q; want the deep key masked, the rest shown", got)
	}
}

// TestKeyedIsWhatURLMasks: a URL is keyed when URL masks something in it;
// written with its scheme in upper case (HTTPS://…, which net/url writes
// in lower case), it was read as keyed, holding no key, and `login`
// beside an older proxy refused to log in, saying a key would go into
// the log-in link.
func TestKeyedIsWhatURLMasks(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://login.example/token":         false,
		"HTTPS://login.example/token?realm=x": false,
		"Http://login.example/token#frag":     false,
		"login.example/token":                 false,
		"":                                    false,
		"HTTPS://login.example/token?subscription-key=k3y0": true,
		"https://login.example/token?api_key=k3y0":          true,
		"HTTPS://me:pw@login.example/token":                 true,
		"https://me@login.example/token":                    true,
		"https://login.example/cb#access_token=t0k3n":       true,
		"https://x/?to=https%3A%2F%2Fy%2F%3Fapi_key%3Dk3y":  true,
	} {
		if got := redact.Keyed(raw); got != want {
			t.Errorf("Keyed(%q) = %v; want %v (URL shows %q)", raw, got, want, redact.URL(raw))
		}
	}
}

// TestPlainWords: a secret long enough to be masked and made of lowercase
// letters alone, in words joined by - or _, is one freshtoken's own
// messages may hold; one with a digit, a capital or another sign, or too
// short to be masked at all, is not.
func TestPlainWords(t *testing.T) {
	for secret, want := range map[string]bool{
		"freshtoken":                    true,
		"redis-password":                true,
		"correct_horse_battery":         true,
		"redis":                         false, // never masked: too short
		"redis-pass-7":                  false,
		"Freshtoken":                    false,
		"a-long-random-password-0f3a9c": false,
		"hunter2!hunter":                false,
	} {
		if got := redact.PlainWords(secret); got != want {
			t.Errorf("PlainWords(%q) = %v, want %v", secret, got, want)
		}
	}
}

// A value RegisterWholeLater is given is found as the first text is
// scrubbed, not before: a command that writes nothing (token printing a
// valid token) does not pay for finding the parts of its command line
// shaped as secrets. Not parallel: another test's scrub would call it.
func TestRegisterWholeLaterFindsItsValuesAtTheFirstScrub(t *testing.T) {
	const secret = "typed-later-7Qm2xV9kR4tZ8wL1"
	calls := 0
	redact.RegisterWholeLater(func() []string {
		calls++
		return []string{secret}
	})
	if calls != 0 {
		t.Fatalf("the values were found %d times before any text was scrubbed", calls)
	}
	if got := redact.Scrub("sent to /v2/" + secret + "/x"); strings.Contains(got, secret) {
		t.Errorf("Scrub left the value found later: %q", got)
	}
	if got := redact.Scrub(secret); calls != 1 || strings.Contains(got, secret) {
		t.Errorf("found %d times; the second text scrubbed %q", calls, got)
	}
}
