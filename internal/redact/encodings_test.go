package redact_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// quoted returns the ways a provider may quote a request that carried
// clientID and secret back in its error text, by name.
func quoted(t *testing.T, clientID, secret string) map[string]string {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "client_secret": {secret}}.Encode()
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	// As golang.org/x/oauth2 builds a Basic header (internal/token.go).
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	jsonOf := func(s string) string {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pair := clientID + ":" + secret
	cases := map[string]string{
		"raw":                           secret,
		"query escaped":                 url.QueryEscape(secret),
		"path escaped":                  url.PathEscape(secret),
		"form body":                     form,
		"form body, %20 for space":      strings.ReplaceAll(form, "+", "%20"),
		"form body, lower-case hex":     regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(form, strings.ToLower),
		"JSON":                          jsonOf(secret),
		"JSON, slash escaped":           strings.ReplaceAll(jsonOf(secret), "/", `\/`),
		"JSON of the form body":         jsonOf(form),
		"Basic header (x/oauth2)":       req.Header.Get("Authorization"),
		"JSON of the Basic header":      strings.ReplaceAll(jsonOf(req.Header.Get("Authorization")), "/", `\/`),
		"form-escaped Basic header":     url.QueryEscape(req.Header.Get("Authorization")),
		"base64 std of id:secret":       base64.StdEncoding.EncodeToString([]byte(pair)),
		"base64 raw std of id:secret":   base64.RawStdEncoding.EncodeToString([]byte(pair)),
		"base64 url of id:secret":       base64.URLEncoding.EncodeToString([]byte(pair)),
		"base64 raw url of id:secret":   base64.RawURLEncoding.EncodeToString([]byte(pair)),
		"base64 of the secret alone":    base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64 std of the form body":   base64.StdEncoding.EncodeToString([]byte(form)),
		"base64 url of the form body":   base64.RawURLEncoding.EncodeToString([]byte(form)),
		"base64 of the escaped pair":    base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID) + ":" + url.PathEscape(secret))),
		"base64 of secret then newline": base64.StdEncoding.EncodeToString([]byte(secret + "\n")),
	}
	return cases
}

// TestScrubEveryEncoding registers the secret alone, as the engine does, and
// expects it masked however it was quoted, whatever the client id's length
// (which shifts the secret within base64's three-byte groups).
func TestScrubEveryEncoding(t *testing.T) {
	const secret = "S3cr+t/=&@! with spaces Ünï"
	redact.Register(secret)
	for _, clientID := range []string{"client-1", "client-12", "client-123"} {
		for name, text := range quoted(t, clientID, secret) {
			t.Run(clientID+"/"+name, func(t *testing.T) {
				got := redact.Scrub("could not process " + text + " (refused)")
				if strings.Contains(got, text) {
					t.Fatalf("Scrub left the %s form in:\n%s", name, got)
				}
				if !strings.Contains(got, redact.Mask(secret)) {
					t.Errorf("Scrub = %q, want the mask %q", got, redact.Mask(secret))
				}
				if !strings.HasPrefix(got, "could not process ") || !strings.HasSuffix(got, " (refused)") {
					t.Errorf("Scrub masked more than the quoted request: %q", got)
				}
				// Base64 is masked whole: its edges hold bits of the secret.
				if want := "could not process " + redact.Mask(secret) + " (refused)"; strings.HasPrefix(name, "base64") && got != want {
					t.Errorf("Scrub = %q, want %q", got, want)
				}
			})
		}
	}
}

// TestScrubJSONEscapedLineBreaks: a secret of many lines (a key file's
// text, which the configuration registers whole) quoted in JSON has its
// line breaks and tabs written \n, \r, \t: only \u escapes were read, so a
// provider's JSON error or a journal quoting the key showed it whole.
func TestScrubJSONEscapedLineBreaks(t *testing.T) {
	secret := "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\n\tBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----"
	for name, long := range map[string]string{"expression": "", "too long for one": strings.Repeat("x", 20<<10)} {
		redact.Register(secret + long)
		text := mustJSON(t, secret+long)
		if got := redact.Scrub("provider said " + text); got != `provider said "`+redact.Mask(secret+long)+`"` {
			t.Errorf("%s: Scrub = %.200q", name, got)
		}
	}
}

func TestScrubLeavesOtherTextAlone(t *testing.T) {
	redact.Register("S3cr+t/=&@! leave-alone")
	for _, s := range []string{
		"grant_type=refresh_token&client_id=abc",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("someone:else's secret")),
		`{"error":"invalid_client","error_description":"HTTP Basic: Access denied."}`,
	} {
		if got := redact.Scrub(s); got != s {
			t.Errorf("Scrub(%q) = %q, want it unchanged", s, got)
		}
	}
}

// TestHandlerEveryEncoding sends the quoted forms through the text and JSON
// handlers, in messages, attributes and errors.
func TestHandlerEveryEncoding(t *testing.T) {
	const secret = "H4ndl+r/=&@! secret"
	redact.Register(secret)
	forms := quoted(t, "handler-client", secret)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := newLogger(format, &buf)
			for name, text := range forms {
				log.Info("provider said "+text, "description", text, "form", name)
			}
			out := buf.String()
			for name, text := range forms {
				for _, leak := range []string{text, strings.Trim(mustJSON(t, text), `"`)} {
					if strings.Contains(out, leak) {
						t.Fatalf("the %s form leaked in:\n%s", name, out)
					}
				}
			}
			if n := strings.Count(out, redact.Mask(secret)); n < 2*len(forms) {
				t.Errorf("%d masks, want at least %d:\n%s", n, 2*len(forms), out)
			}
		})
	}
}

func mustJSON(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOneLineEncodedSecret(t *testing.T) {
	const secret = "0neL1ne+/=&@! secret"
	redact.Register(secret)
	got := redact.OneLine("could not process grant_type=refresh_token&client_secret="+url.QueryEscape(secret)+"\nend", 60)
	if strings.Contains(got, url.QueryEscape(secret)[:10]) {
		t.Fatalf("OneLine = %q", got)
	}
}

// TestSetKeepsTwoGenerations shows an owner's values are masked while
// current and one generation after, then forgotten: the set stays bounded.
func TestSetKeepsTwoGenerations(t *testing.T) {
	tokens := []string{"generation-one-token", "generation-two-token", "generation-three-token"}
	for _, tok := range tokens {
		redact.Set("sandbox tokens", tok)
		redact.Set("sandbox tokens", tok) // read again: still one generation
	}
	redact.Set("other owner", "other-owner-token")
	got := redact.Scrub(strings.Join(tokens, " ") + " other-owner-token")
	if !strings.HasPrefix(got, tokens[0]+" ") {
		t.Errorf("a value two generations old is still masked: %q", got)
	}
	for _, tok := range append(tokens[1:], "other-owner-token") {
		if strings.Contains(got, tok) {
			t.Errorf("%s not masked: %q", tok, got)
		}
	}
	redact.Set("sandbox tokens")
	redact.Set("sandbox tokens")
	if got := redact.Scrub(tokens[2]); got != tokens[2] {
		t.Errorf("an owner's values are masked after two empty Sets: %q", got)
	}
}

// TestEnormousSecretIsMaskedWithoutCrashing: a provider may answer with a
// token or device code of up to a megabyte (the most an answer is read
// to), far beyond what one regular expression can hold. Masking it must
// neither panic nor take seconds, and still find it raw, escaped, in JSON
// and in base64.
func TestEnormousSecretIsMaskedWithoutCrashing(t *testing.T) {
	secret := strings.Repeat("Enorm0us/t0ken+", 1<<20/15)
	redact.Register(secret)
	for name, text := range map[string]string{
		"raw":                 secret,
		"query escaped":       url.QueryEscape(secret),
		"lower-case hex":      regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(secret), strings.ToLower),
		"JSON":                strings.Trim(mustJSON(t, secret), `"`),
		"JSON, slash escaped": strings.ReplaceAll(strings.Trim(mustJSON(t, secret), `"`), "/", `\/`),
		"base64":              base64.StdEncoding.EncodeToString([]byte("x=" + secret)),
	} {
		got := redact.Scrub("provider said " + text + " (end)")
		if want := "provider said " + redact.Mask(secret) + " (end)"; got != want {
			t.Errorf("%s: Scrub left %d bytes, want %q", name, len(got), want)
		}
	}
}

// TestGoQuotedSecretIsMasked: a secret holding a quote, a backslash, a
// control character, a byte that is not UTF-8 or a character beyond
// U+FFFF is found as Go quotes it (%q, strconv.Quote, QuoteToASCII: `\"`,
// `\\`, `\x1b`, `\xff`, `\u00e9`, `\U0001f600`), and as JSON writes such a
// character (a surrogate pair, as Python and .NET do), for a secret with
// an expression and one matched as whole strings (repetitive): an error
// quoting the token with %q showed it whole.
func TestGoQuotedSecretIsMasked(t *testing.T) {
	const tail = "s3cr3t\"back\\slash\x1bé\xff😀end"
	for _, secret := range []string{"go-quoted-" + tail, strings.Repeat("A", 24) + tail} {
		redact.Register(secret)
		for name, text := range map[string]string{
			"%q":                  fmt.Sprintf("%q", secret),
			"%+q":                 fmt.Sprintf("%+q", secret),
			"%#v of a struct":     fmt.Sprintf("%#v", struct{ Token string }{secret}),
			"strconv.Quote":       strconv.Quote(secret),
			"JSON surrogate pair": strings.ReplaceAll(mustJSON(t, secret), "😀", `\ud83d\ude00`),
		} {
			if got := redact.Scrub("bad token " + text + " given"); strings.Contains(got, "s3cr3t") || !strings.Contains(got, redact.Mask(secret)) {
				t.Errorf("%.12s…, %s: Scrub(%s) = %s; want it masked", secret, name, text, got)
			}
		}
		var buf bytes.Buffer
		newLogger("text", &buf).Error("renewal failed", "err", fmt.Errorf("the provider refused %q", secret))
		if out := buf.String(); strings.Contains(out, "s3cr3t") || !strings.Contains(out, redact.Mask(secret)) {
			t.Errorf("an error quoting the token with %%q showed it:\n%s", out)
		}
	}
}

// TestRepetitiveSecretIsFoundInAnyMixOfEscapes: a secret matched as whole
// strings (repetitive) is found with its characters written raw or
// escaped in any mix, not only as the encoders listed wrote it: a Redis
// password in a URL's user part, which url.UserPassword escapes as no
// other encoder does (`,;:` escaped, `$&+=` raw, `!*'()` escaped), showed
// whole in an error quoting the store's URL, and so did each character
// but letters and digits (written raw by every encoder) escaped at random,
// by %XX, \u00XX or \xXX.
func TestRepetitiveSecretIsFoundInAnyMixOfEscapes(t *testing.T) {
	password := strings.Repeat("A", 24) + "$&+,;=!*'():@/?~ x"
	store := (&url.URL{Scheme: "redis", User: url.UserPassword("default", password), Host: "127.0.0.1:6379", Path: "/0"}).String()
	redact.RegisterURLs(store)
	var buf bytes.Buffer
	newLogger("json", &buf).Error("store failed", "err", errors.New("dial "+store+": connection refused"))
	if out := buf.String(); strings.Contains(out, strings.Repeat("A", 9)) || !strings.Contains(out, redact.Mask(password)) {
		t.Errorf("the password in the store's URL showed:\n%s", out)
	}
	r := rand.New(rand.NewChaCha8([32]byte{3}))
	for range 50 {
		var mixed strings.Builder
		for _, c := range []byte(password) {
			switch n := r.IntN(4); {
			case n == 0, isAlnum(c):
				mixed.WriteByte(c)
			case n == 1:
				fmt.Fprintf(&mixed, "%%%02x", c)
			case n == 2:
				fmt.Fprintf(&mixed, `\u%04X`, c)
			default:
				fmt.Fprintf(&mixed, `\x%02x`, c)
			}
		}
		if got := redact.Scrub("said " + mixed.String() + "."); got != "said "+redact.Mask(password)+"." {
			t.Errorf("Scrub(%s) = %s; want the password masked", mixed.String(), got)
		}
	}
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// TestRepetitiveSecretHoldingAnEscapeIsFoundQuoted: a secret matched as
// whole strings that holds what reads as a percent-escape (`%2F`, `%41`,
// as a token already URL-encoded does) is found JSON-quoted, by Go
// (`\"`, `\u003c`) or PHP (`\/`): JSON leaves the % raw and escapes a quote or
// a slash beside it, so the text with its escapes read held neither the
// secret nor its escapes, and the token showed whole. A backslash of the
// secret (`\n`, two characters) is escaped by JSON, and so kept.
func TestRepetitiveSecretHoldingAnEscapeIsFoundQuoted(t *testing.T) {
	for _, secret := range []string{strings.Repeat("A", 24) + "%2Fx/y", strings.Repeat("B", 24) + `%41"q`, strings.Repeat("C", 24) + "%3c<q%2", strings.Repeat("D", 24) + `%41\n"q`} {
		redact.Register(secret)
		goJSON := mustJSON(t, secret)
		for name, text := range map[string]string{
			"Go":              goJSON,
			"PHP":             strings.ReplaceAll(goJSON, "/", `\/`),
			"JSON, < written": strings.ReplaceAll(goJSON, `\u003c`, "<"),
		} {
			if got := redact.Scrub("refused " + text + "."); got != "refused \""+redact.Mask(secret)+"\"." {
				t.Errorf("%.4s…, %s: Scrub(%s) = %s; want it masked", secret, name, text, got)
			}
		}
	}
}
