package postman

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"
)

const seedExport = `{
	"id": "9c1e5c3e-0000-4000-8000-000000000001",
	"name": "FreeAgent",
	"values": [
		{"key": "ResourceKey", "value": "sand", "type": "default", "enabled": true},
		{"key": "ClientId", "value": " the-id ", "type": "default", "enabled": true},
		{"key": "ClientSecret", "value": "the-secret\r\n", "type": "secret", "enabled": true},
		{"key": "Resource_sand", "value": "https://api.sandbox.freeagent.com/v2/", "enabled": true},
		{"key": "RefreshToken_sand", "value": " rt-sand\n", "type": "secret", "enabled": true},
		{"key": "AccessToken_sand", "value": "\tat-sand ", "type": "secret"},
		{"key": "AccessTokenIss_sand", "value": 1772355600000},
		{"key": "AccessTokenExp_sand", "value": "3600"},
		{"key": "Resource_prod", "value": "https://api.freeagent.com"},
		{"key": "RefreshToken_prod", "value": "rt-prod"},
		{"key": "RefreshToken_prod", "value": "rt-prod-old", "enabled": false},
		{"key": "Resource_test", "value": "https://api.sandbox.freeagent.com", "enabled": false}
	],
	"_postman_variable_scope": "environment",
	"_postman_exported_at": "2026-03-01T09:00:00.000Z",
	"_postman_exported_using": "Postman/11.2.0"
}`

func TestParseSeedLayout(t *testing.T) {
	exp, err := Parse([]byte(seedExport))
	if err != nil {
		t.Fatal(err)
	}
	want := &Export{Name: "FreeAgent", Layout: Seed, Envs: []Env{
		{Name: "prod", APIURL: "https://api.freeagent.com/", ClientID: "the-id", ClientSecret: "the-secret", RefreshToken: "rt-prod"},
		{Name: "sand", Active: true, APIURL: "https://api.sandbox.freeagent.com/", ClientID: "the-id", ClientSecret: "the-secret",
			RefreshToken: "rt-sand", AccessToken: "at-sand", IssuedAt: time.UnixMilli(1772355600000), Lifetime: time.Hour},
	}}
	if !reflect.DeepEqual(exp, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", exp, want)
	}
	if exp, ok := exp.Envs[1].Expiry(); !ok || !exp.Equal(time.UnixMilli(1772355600000).Add(time.Hour)) {
		t.Errorf("sand expiry = %s, %t", exp, ok)
	}
	if _, ok := exp.Envs[0].Expiry(); ok {
		t.Error("prod has no access token, yet its expiry is known")
	}
}

func TestParseCommonLayout(t *testing.T) {
	exp, err := Parse([]byte(`{"name": "My FreeAgent (live)", "values": [
		{"key": "url", "value": "https://api.freeagent.com/v2"},
		{"key": "client_id", "value": "id"},
		{"key": "client_secret", "value": "secret"},
		{"key": "refresh_token", "value": "rt"},
		{"key": "access_token", "value": "at"},
		{"key": "refresh_token", "value": "older", "enabled": false}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Export{Name: "My FreeAgent (live)", Layout: Common, Envs: []Env{
		{Name: "my-freeagent-live", APIURL: "https://api.freeagent.com/", ClientID: "id", ClientSecret: "secret", RefreshToken: "rt", AccessToken: "at"},
	}}
	if !reflect.DeepEqual(exp, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", exp, want)
	}
}

func TestParseRefusesMalformedExports(t *testing.T) {
	seed := func(values string) string {
		return `{"name":"x","values":[{"key":"ClientId","value":"id"},{"key":"ClientSecret","value":"s3cr3t"},` + values + `]}`
	}
	tests := []struct{ name, export, want string }{
		{"empty", ``, "it is empty, not a Postman environment export: in Postman, Environments, ⋯ beside the environment, Export"},
		{"blank", " \r\n\t", "it is empty, not a Postman environment export"},
		{"a list", `[]`, "does not hold a JSON object"},
		{"broken JSON", "{\n  \"values\": [\n    {\"key\": }\n  ]\n}", "not valid JSON (line 3, column 13: invalid character '}'"},
		{"values not a list", `{"values": {"key": "url"}}`, `"values" should be a list, not object`},
		{"a collection", `{"info": {"name": "FreeAgent"}, "item": []}`, "is a Postman collection without variables"},
		{"no values", `{"name": "x"}`, `has no "values" list`},
		{"nothing FreeAgent", `{"values": [{"key": "host", "value": "x"}, {"key": "other", "value": "s3cr3t"}]}`, "holds no FreeAgent settings; its keys are host, other (values not shown). Accepted:"},
		{"a key-less entry", `{"values": [{"value": "x"}]}`, "entry 1 of its values has no key"},
		{"a twice-set key", seed(`{"key":"Resource_a","value":"https://h/"},{"key":"Resource_a","value":"https://h/"}`), "Resource_a is set twice"},
		// Both set one field of one environment (names are read in lower
		// case): which one was imported depended on the map's order.
		{"names differing in case", seed(`{"key":"Resource_sand","value":"https://h/"},{"key":"RefreshToken_sand","value":"r1"},{"key":"Resource_Sand","value":"https://h/"},{"key":"RefreshToken_Sand","value":"r2"}`),
			"RefreshToken_Sand and RefreshToken_sand both set the environment sand"},
		{"an object value", seed(`{"key":"Resource_a","value":{"s3cr3t":1}}`), "Resource_a has a list or object as its value"},
		{"no Resource", seed(`{"key":"RefreshToken_a","value":"rt"}`), "there is no Resource_a (or it is disabled), so nothing says which API the a tokens are for"},
		{"only a client", `{"values":[{"key":"ClientId","value":"id"}]}`, "holds no FreeAgent settings; its keys are ClientId"},
		{"no ClientId", `{"values":[{"key":"Resource_a","value":"https://h/"}]}`, "ClientId is missing or empty"},
		{"a disabled ClientId", `{"values":[{"key":"ClientId","value":"id","enabled":false},{"key":"Resource_a","value":"https://h/"}]}`, "ClientId is missing or empty"},
		{"a Resource that is not a URL", seed(`{"key":"Resource_a","value":"api.freeagent.com"}`), `Resource_a is "api.freeagent.com", not a URL`},
		{"a Resource from a variable", seed(`{"key":"Resource_a","value":"{{base}}/v2"}`), "refers to another Postman variable"},
		{"a key unfit for a name", seed(`{"key":"Resource_my key","value":"https://h/"}`), "the key of Resource_my key cannot name a freshtoken environment"},
		{"a bad issue time", seed(`{"key":"Resource_a","value":"https://h/"},{"key":"AccessTokenIss_a","value":"yesterday"}`), `AccessTokenIss_a is "yesterday", not a time in seconds or milliseconds`},
		{"a bad lifetime", seed(`{"key":"Resource_a","value":"https://h/"},{"key":"AccessTokenExp_a","value":"-1"}`), `AccessTokenExp_a is "-1", not a number of seconds`},
		{"enabled as text", seed(`{"key":"Resource_a","value":"https://h/","enabled":"false"}`), `Resource_a has "enabled": "false"; it should be true or false, without quotes`},
		{"enabled as text without a key", `{"values":[{"value":"x","enabled":"no"}]}`, `entry 1 of its values has "enabled": "no"; it should be true or false`},
		{"a key that is not text", `{"values":[{"key":1}]}`, `"values.key" should be text, not number`},
		{"a Resource at freshtoken's proxy", seed(`{"key":"Resource_sand","value":"http://127.0.0.1:8787/sand"}`), `Resource_sand is "http://127.0.0.1:8787/sand", the address of freshtoken's proxy (Postman's base URL, pointed at it); put FreeAgent's own address there, such as https://api.sandbox.freeagent.com, and import again`},
		{"a Resource at the proxy, with /v2", seed(`{"key":"Resource_prod","value":"http://localhost:8787/PROD/v2/"}`), `the address of freshtoken's proxy`},
		{"a common url at the proxy", `{"name":"FreeAgent Sandbox","values":[{"key":"url","value":"http://127.0.0.1:8787/freeagent-sandbox"},{"key":"client_id","value":"id"}]}`, `the address of freshtoken's proxy`},
		// A line break pasted into a value: sent as it is, it broke the
		// request that carried it, or was refused by the provider.
		{"a line break inside a refresh token", seed(`{"key":"Resource_a","value":"https://h/"},{"key":"RefreshToken_a","value":" s3cr3t\nmore\r\n"}`),
			"RefreshToken_a holds a line break, which no client id, secret or token has; in Postman, paste the value again on one line and export again"},
		{"a line break inside the secret", `{"values":[{"key":"ClientId","value":"id"},{"key":"ClientSecret","value":"s3cr3t\r\nmore"},{"key":"Resource_a","value":"https://h/"}]}`,
			"ClientSecret holds a line break"},
		{"a control inside an env-first access token", seed(`{"key":"aUrl","value":"https://h/"},{"key":"aAccessToken","value":"s3cr3t\u0007"},{"key":"aRefreshToken","value":"s3cr3t\tmore"}`),
			"aAccessToken holds a control character (U+0007)"},
		// Bytes that are not UTF-8 (raw, or a lone surrogate escape), read
		// as U+FFFD: the refresh token was stored mangled, one no provider
		// issued, and the first renewal was refused as a grant that ended.
		{"a refresh token that is not text", seed(`{"key":"Resource_a","value":"https://h/"},{"key":"RefreshToken_a","value":"s3cr3t\udc80more"}`),
			"RefreshToken_a holds bytes that are not UTF-8 text (or U+FFFD, which stands for them), which no client id, secret or token has; in Postman, paste the value again and export again"},
		{"an access token with a byte that is not UTF-8", seed("{\"key\":\"Resource_a\",\"value\":\"https://h/\"},{\"key\":\"AccessToken_a\",\"value\":\"s3cr3t\xffmore\"}"),
			"AccessToken_a holds bytes that are not UTF-8 text"},
		{"a tab inside a client id", `{"values":[{"key":"ClientId","value":"i\td"},{"key":"Resource_a","value":"https://h/"}]}`, "ClientId holds a control character (U+0009)"},
		{"a line break inside a common refresh_token", `{"values":[{"key":"url","value":"https://h/"},{"key":"client_id","value":"id"},{"key":"refresh_token","value":"s3cr3t\nmore"}]}`,
			"refresh_token holds a line break"},
		// A key is named in messages as it is: one with a terminal's
		// escape inside it moved the cursor or set the window's title.
		{"an escape in a skipped key", seed(`{"key":"Resource_sand","value":"https://h/"},{"key":"RefreshToken_bad\u001b]0;title\u0007","value":"rt"}`),
			`entry 4 of its values has the key "RefreshToken_bad\x1b]0;title\a", with a control character`},
		{"a line break in a key of nothing FreeAgent", `{"values":[{"key":"host\r\n\u001b[2J","value":"x"}]}`, `has the key "host\r\n\x1b[2J"`},
		{"an escape in a disabled key", `{"values":[{"key":"x\u001b[31m","value":"x","enabled":false}]}`, `has the key "x\x1b[31m"`},
		{"common without url", `{"values":[{"key":"client_id","value":"id"},{"key":"refresh_token","value":"rt"}]}`, "url is missing or empty"},
		{"common without client_id", `{"values":[{"key":"url","value":"https://h/"}]}`, "client_id is missing or empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := Parse([]byte(tt.export))
			if err == nil {
				_, _, _, err = exp.Choose("")
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.ContainsFunc(err.Error(), unicode.IsControl) {
				t.Errorf("err %q repeats a secret or holds a control character", err)
			}
		})
	}
}

func TestAPIRoot(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.sandbox.freeagent.com":       "https://api.sandbox.freeagent.com/",
		"https://api.sandbox.freeagent.com/":      "https://api.sandbox.freeagent.com/",
		"https://api.sandbox.freeagent.com/v2":    "https://api.sandbox.freeagent.com/",
		"https://api.sandbox.freeagent.com/v2/":   "https://api.sandbox.freeagent.com/",
		"http://127.0.0.1:8080/fa/v2?x=1#y":       "http://127.0.0.1:8080/fa/",
		"https://user:pw@api.freeagent.com/v2":    "https://api.freeagent.com/",
		"https://api.freeagent.com/v2/contacts/1": "https://api.freeagent.com/v2/contacts/1/",
	} {
		got, err := apiRoot("url", in)
		if err != nil || got != want {
			t.Errorf("apiRoot(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{
		"FreeAgent Sandbox":   "freeagent-sandbox",
		"  prod  ":            "prod",
		"My FreeAgent (live)": "my-freeagent-live",
		"a_b-c":               "a_b-c",
		"Ünïcode!":            "n-code",
		"***":                 "",
		"- Sandbox":           "sandbox",
		"--help":              "help",
		"_FreeAgent_":         "freeagent_",
		"-_-":                 "",
	} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(p, []byte(seedExport), 0o600); err != nil {
		t.Fatal(err)
	}
	exp, err := ReadFile(p)
	if err != nil || len(exp.Envs) != 2 {
		t.Fatalf("ReadFile = %v, %v", exp, err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("ReadFile of a missing file succeeded")
	}
}

// TestReadFileSavedByOtherEditors: an export opened and saved again in an
// editor that writes a byte-order mark (Notepad, PowerShell's UTF-8 or its
// default UTF-16) is the same export; it was called "not a Postman
// environment export".
func TestReadFileSavedByOtherEditors(t *testing.T) {
	utf16 := func(bigEndian bool) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune("\ufeff" + seedExport)) {
			if bigEndian {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		return b
	}
	for name, data := range map[string][]byte{
		"UTF-8 with a BOM":     append([]byte("\ufeff"), seedExport...),
		"CRLF":                 []byte(strings.ReplaceAll(seedExport, "\n", "\r\n")),
		"UTF-16 LE with a BOM": utf16(false),
		"UTF-16 BE with a BOM": utf16(true),
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "env.json")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			exp, err := ReadFile(p)
			if err != nil || len(exp.Envs) != 2 {
				t.Fatalf("ReadFile = %+v, %v; want the seed export's two environments", exp, err)
			}
		})
	}
}

// TestReadFileRefusesWhatNoExportIs: a file larger than any export (a
// device, a pipe that never ends) is refused once that much has been read;
// it was read whole, until the system killed freshtoken for its memory.
func TestReadFileRefusesWhatNoExportIs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxExportSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadFile(p)
	if err == nil || !strings.Contains(err.Error(), "larger than any Postman export") {
		t.Fatalf("ReadFile of a file over %d bytes = %v, want it refused for its size", maxExportSize, err)
	}
	if _, err := ReadFile("/dev/zero"); err == nil || !strings.Contains(err.Error(), "larger than any Postman export") {
		t.Fatalf("ReadFile(/dev/zero) = %v, want it refused for its size", err)
	}
}

// TestParseDoubtsImplausibleTimes: an issue time or lifetime that cannot be
// right (seconds for milliseconds and the reverse, NaN, the future) leaves
// the expiry unknown and says why, rather than storing a wrong expiry.
func TestParseDoubtsImplausibleTimes(t *testing.T) {
	recent := time.Now().Add(-10 * time.Minute)
	export := func(iss, exp string) string {
		return `{"values":[{"key":"ClientId","value":"id"},{"key":"Resource_a","value":"https://h/"},{"key":"AccessToken_a","value":"at"},` +
			`{"key":"AccessTokenIss_a","value":"` + iss + `"},{"key":"AccessTokenExp_a","value":"` + exp + `"}]}`
	}
	ms := strconv.FormatInt(recent.UnixMilli(), 10)
	for _, tt := range []struct{ iss, exp, doubt string }{
		{ms, "3600000", ""}, // a lifetime in milliseconds
		{ms, "360000000", "AccessTokenExp_a is 360000000, over a day in seconds or in milliseconds"},
		{ms, "NaN", "AccessTokenExp_a is NaN, not a number of seconds"},
		{ms, "Inf", "AccessTokenExp_a is Inf, not a number of seconds"},
		{strconv.FormatInt(recent.Unix(), 10), "3600", ""}, // an issue time in seconds
		{"86400", "3600", "before 2000 in seconds or milliseconds since 1970"},
		{"NaN", "3600", "AccessTokenIss_a is NaN, not a time"},
		// Past what a time holds: in the future, as they are (an issue time
		// was said to be "before 2000", and an expiry taken for one long
		// gone, the token imported as expired).
		{"99999999999999999999", "3600", "AccessTokenIss_a is 99999999999999999999, in the future"},
		{ms, "99999999999999999999", "over a day after AccessTokenIss_a"},
		{"", "1e300", "over a day from now"},
		{strconv.FormatInt(time.Now().Add(72*time.Hour).UnixMilli(), 10), "3600", "in the future"},
		{ms, "3600", ""},
		{ms, "0.5", ""},
		// Dates as a script's new Date().toISOString() writes them, where
		// a number was expected: the time it expires, the time it was issued.
		{ms, recent.Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"), ""},
		{recent.Format(time.RFC3339), "3600", ""},
		{time.Now().Add(72 * time.Hour).Format(time.RFC3339), "3600", "in the future"},
		// The time it expires, more than a day after it was issued (or,
		// with no issue time, from now): a lifetime over a day, which
		// would have the token served, never renewed, until then.
		{ms, recent.Add(30 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"), "over a day after AccessTokenIss_a"},
		{ms, strconv.FormatInt(recent.Add(30*24*time.Hour).UnixMilli(), 10), "over a day after AccessTokenIss_a"},
		{"", "2099-01-01T00:00:00.000Z", "over a day from now"},
		{"", strconv.FormatInt(recent.Add(time.Hour).UnixMilli(), 10), ""},
		{ms, recent.Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"), ""}, // expired, as it says
	} {
		exp, err := Parse([]byte(export(tt.iss, tt.exp)))
		if err != nil {
			t.Fatalf("%s, %s: %v", tt.iss, tt.exp, err)
		}
		e := exp.Envs[0]
		_, known := e.Expiry()
		if tt.doubt == "" {
			if !known || e.Implausible != "" {
				t.Errorf("%s, %s: expiry unknown (%q), want it known", tt.iss, tt.exp, e.Implausible)
			}
			continue
		}
		if known || !strings.Contains(e.Implausible, tt.doubt) || !e.IssuedAt.IsZero() || e.Lifetime != 0 {
			t.Errorf("%s, %s: known %t, doubt %q, issued %s, lifetime %s; want unknown, doubting %q", tt.iss, tt.exp, known, e.Implausible, e.IssuedAt, e.Lifetime, tt.doubt)
		}
	}
}

// TestParseVariantsPeopleWrite: the layouts people write by hand, in any
// case, with times in seconds or milliseconds, and a collection's variables.
func TestParseVariantsPeopleWrite(t *testing.T) {
	issued := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	secs, ms := strconv.FormatInt(issued.Unix(), 10), strconv.FormatInt(issued.UnixMilli(), 10)
	expiresMs := strconv.FormatInt(issued.Add(time.Hour).UnixMilli(), 10)
	sand := Env{Name: "sand", APIURL: "https://api.sandbox.freeagent.com/", ClientID: "the-id", ClientSecret: "the-secret",
		RefreshToken: "rt-sand", AccessToken: "at-sand", IssuedAt: issued, Lifetime: time.Hour}
	prod := Env{Name: "prod", APIURL: "https://api.freeagent.com/", ClientID: "the-id", ClientSecret: "the-secret", RefreshToken: "rt-prod"}
	tests := []struct {
		name   string
		export string
		layout Layout
		want   []Env
	}{
		{"environment first, camel case, seconds", `{"name":"FA","values":[
			{"key":"ClientID","value":"the-id"},{"key":"clientSecret","value":"the-secret"},
			{"key":"sandUrl","value":"https://api.sandbox.freeagent.com/v2"},{"key":"sandRefreshToken","value":"rt-sand"},
			{"key":"sandAccessToken","value":"at-sand"},{"key":"sandAccessTokenIss","value":"` + secs + `"},{"key":"sandAccessTokenExp","value":"3600"},
			{"key":"prodUrl","value":"https://api.freeagent.com"},{"key":"prodRefreshToken","value":"rt-prod"}]}`, EnvFirst, []Env{prod, sand}},
		{"environment first, snake case, lifetime in milliseconds", `{"name":"FA","values":[
			{"key":"client_id","value":"the-id"},{"key":"CLIENT_SECRET","value":"the-secret"},
			{"key":"sand_resource","value":"https://api.sandbox.freeagent.com"},{"key":"sand_refresh_token","value":"rt-sand"},
			{"key":"sand_access_token","value":"at-sand"},{"key":"sand_access_token_iss","value":"` + ms + `"},{"key":"sand_access_token_exp","value":"3600000"},
			{"key":"prod_resource","value":"https://api.freeagent.com"},{"key":"prod_refresh_token","value":"rt-prod"}]}`, EnvFirst, []Env{prod, sand}},
		{"field first, any case, an absolute expiry", `{"name":"FA","values":[
			{"key":"clientid","value":"the-id"},{"key":"ClientSecret","value":"the-secret"},
			{"key":"resource_SAND","value":"https://api.sandbox.freeagent.com"},{"key":"refreshtoken_SAND","value":"rt-sand"},
			{"key":"accesstoken_SAND","value":"at-sand"},{"key":"AccessTokenExp_SAND","value":"` + expiresMs + `"}]}`, Seed,
			[]Env{{Name: "sand", APIURL: sand.APIURL, ClientID: "the-id", ClientSecret: "the-secret", RefreshToken: "rt-sand", AccessToken: "at-sand", ExpiresAt: time.UnixMilli(issued.Add(time.Hour).UnixMilli())}}},
		{"a client per environment", `{"name":"FA","values":[
			{"key":"prodClientID","value":"the-id"},{"key":"prodClientSecret","value":"the-secret"},
			{"key":"prodUrl","value":"https://api.freeagent.com"},{"key":"prodRefreshToken","value":"rt-prod"}]}`, EnvFirst, []Env{prod}},
		{"a collection's variables", `{"info":{"name":"FreeAgent API","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[],
			"variable":[{"key":"ClientId","value":"the-id"},{"key":"ClientSecret","value":"the-secret"},
			{"key":"Resource_prod","value":"https://api.freeagent.com"},{"key":"RefreshToken_prod","value":"rt-prod"}]}`, Seed, []Env{prod}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := Parse([]byte(tt.export))
			if err != nil {
				t.Fatal(err)
			}
			if exp.Layout != tt.layout || !reflect.DeepEqual(exp.Envs, tt.want) {
				t.Errorf("Parse = %s %+v\nwant %s %+v", exp.Layout, exp.Envs, tt.layout, tt.want)
			}
			for _, e := range exp.Envs {
				if e.AccessToken == "" {
					continue
				}
				if at, ok := e.Expiry(); !ok || !at.Equal(issued.Add(time.Hour)) {
					t.Errorf("%s expires %s (known %t), want %s", e.Name, at, ok, issued.Add(time.Hour))
				}
			}
		})
	}
}

// TestChooseLooksOnlyAtTheKeysImported: an export holding sand and prod,
// prod's Resource_prod disabled or missing (or its value wrong), refused
// `import postman -e sand` for prod's sake ("there is no Resource_prod"),
// though only sand was asked for. With -e only that key's values matter.
// Without -e, a key with no Resource_ names no environment by the layout,
// so it is passed over and told as skipped; a key whose values are wrong
// still stops the whole import (nothing imported, as the docs promise),
// saying how to import the good ones alone.
func TestChooseLooksOnlyAtTheKeysImported(t *testing.T) {
	export := func(prod string) *Export {
		t.Helper()
		exp, err := Parse([]byte(`{"name":"x","values":[{"key":"ClientId","value":"id"},{"key":"ClientSecret","value":"s3cr3t"},
			{"key":"Resource_sand","value":"https://api.sandbox.freeagent.com"},{"key":"RefreshToken_sand","value":"rt-sand"},
			{"key":"RefreshToken_prod","value":"rt-prod"}` + prod + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		return exp
	}
	names := func(envs []Env) (n []string) {
		for _, e := range envs {
			n = append(n, e.Name)
		}
		return n
	}
	for _, c := range []struct{ name, prod string }{
		{"Resource_prod missing", ``},
		{"Resource_prod disabled", `,{"key":"Resource_prod","value":"https://api.freeagent.com","enabled":false}`},
		{"Resource_prod not a URL", `,{"key":"Resource_prod","value":"api.freeagent.com"}`},
		{"Resource_prod at the proxy", `,{"key":"Resource_prod","value":"http://127.0.0.1:8787/prod"}`},
	} {
		t.Run(c.name+", -e sand", func(t *testing.T) {
			envs, skipped, found, err := export(c.prod).Choose("sand")
			if err != nil || !found || !reflect.DeepEqual(names(envs), []string{"sand"}) || skipped != nil {
				t.Fatalf("Choose(sand) = %v, %v, %v, %v; want sand alone", names(envs), skipped, found, err)
			}
		})
		t.Run(c.name+", -e prod", func(t *testing.T) {
			_, _, found, err := export(c.prod).Choose("prod")
			if err == nil || !found || !strings.Contains(err.Error(), "Resource_prod") {
				t.Fatalf("Choose(prod) = %v, %v; want why prod cannot be imported", found, err)
			}
		})
	}
	t.Run("no -e, prod with no Resource_prod", func(t *testing.T) {
		envs, skipped, _, err := export(`,{"key":"Resource_prod","value":"https://api.freeagent.com","enabled":false}`).Choose("")
		if err != nil || !reflect.DeepEqual(names(envs), []string{"sand"}) || len(skipped) != 1 || skipped[0].Name != "prod" ||
			skipped[0].Err.Error() != "there is no Resource_prod (or it is disabled), so nothing says which API the prod tokens are for" {
			t.Fatalf("Choose() = %v, %+v, %v; want sand, prod skipped", names(envs), skipped, err)
		}
	})
	t.Run("no -e, prod with a wrong Resource_prod", func(t *testing.T) {
		envs, _, _, err := export(`,{"key":"Resource_prod","value":"api.freeagent.com"}`).Choose("")
		want := `Resource_prod is "api.freeagent.com", not a URL`
		if envs != nil || err == nil || !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), "(or import sand alone with -e sand)") {
			t.Fatalf("Choose() = %v, %v; want nothing, saying %q and how to import sand alone", names(envs), err, want)
		}
	})
	t.Run("-e of no key", func(t *testing.T) {
		exp := export(``)
		if _, _, found, err := exp.Choose("live"); found || err != nil {
			t.Fatalf("Choose(live) found %v, %v; want not found", found, err)
		}
		if got := exp.Names(); !reflect.DeepEqual(got, []string{"prod", "sand"}) {
			t.Fatalf("Names() = %v; want prod, sand", got)
		}
	})
}

// TestAPIRootShowsNoValueThatIsNoURL: a Resource_ or url value that is no
// URL was quoted back whole in the error, "Resource_prod is \"…\", not a
// URL": a refresh token or the client secret pasted into the wrong value in
// Postman (the columns are side by side), or a mistyped URL holding a
// password, went to the terminal and any log of the import. It is named,
// not shown.
func TestAPIRootShowsNoValueThatIsNoURL(t *testing.T) {
	for _, in := range []string{"1a9f0c7e4b2d8c6a5f3e1d0b9a7c5e3fs3cr3t", "htps://user:s3cr3t@api.freeagent.com", "api.freeagent.com/?token=s3cr3t"} {
		_, err := apiRoot("Resource_prod", in)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "Resource_prod") {
			t.Errorf("apiRoot(%q): %v; want it refused, naming the key and showing no value", in, err)
		}
	}
}

// TestAPIRootShowsAHostWithoutScheme: a host written without https:// is
// no secret, and is shown, so the person sees what to fix; a JWT, which has
// dots too, is not.
func TestAPIRootShowsAHostWithoutScheme(t *testing.T) {
	if _, err := apiRoot("Resource_prod", "api.freeagent.com/v2"); err == nil || !strings.Contains(err.Error(), `"api.freeagent.com/v2"`) {
		t.Errorf("apiRoot(api.freeagent.com/v2): %v; want it shown", err)
	}
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.s3cr3tSig-9xQ"
	if _, err := apiRoot("Resource_prod", jwt); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("apiRoot(a JWT): %v; want it refused, not shown", err)
	}
}

// A large export (an accountant's, one environment per client company) is
// read in little work for each key: each key's field was looked for by
// building a text replacer anew for each of its prefixes and suffixes, and
// an export of 1000 environments took 10 s to read (4419 allocations for
// each, where 530 do). Counted in allocations, not time.
func TestParseLargeExportInLittleWorkPerKey(t *testing.T) {
	const n = 1000
	values := []string{`{"key": "ClientId", "value": "the-id"}`, `{"key": "ClientSecret", "value": "the-secret"}`}
	for i := range n {
		values = append(values,
			fmt.Sprintf(`{"key": "Resource_c%d", "value": "https://api.sandbox.freeagent.com/"}`, i),
			fmt.Sprintf(`{"key": "RefreshToken_c%d", "value": "rt-%d"}`, i, i),
			fmt.Sprintf(`{"key": "AccessToken_c%d", "value": "at-%d"}`, i, i),
			fmt.Sprintf(`{"key": "AccessTokenIss_c%d", "value": "1772355600000"}`, i),
			fmt.Sprintf(`{"key": "AccessTokenExp_c%d", "value": "3600"}`, i))
	}
	data := []byte(`{"name": "Clients", "values": [` + strings.Join(values, ",") + `]}`)
	allocs := testing.AllocsPerRun(1, func() {
		if exp, err := Parse(data); err != nil || len(exp.Envs) != n {
			t.Fatalf("Parse = %v; want %d environments", err, n)
		}
	})
	if perEnv := allocs / n; perEnv > 1500 {
		t.Errorf("Parse of %d environments made %.0f allocations for each; want under 1500", n, perEnv)
	}
}

// TestChooseTellsEveryKeyThatStopsTheImport: an export with several keys
// that cannot be imported (names no environment can have, values that
// are no URL; none naming its API) is refused saying what is wrong with
// each, in one line: it told only the first, and each export mended and
// tried again met the next.
func TestChooseTellsEveryKeyThatStopsTheImport(t *testing.T) {
	exp, err := Parse([]byte(`{"name":"x","values":[{"key":"ClientId","value":"id"},{"key":"ClientSecret","value":"s3cr3t"},
		{"key":"Resource_sand.box","value":"https://api.sandbox.freeagent.com"},{"key":"RefreshToken_sand.box","value":"rt-1"},
		{"key":"Resource_pr od","value":"https://api.freeagent.com"},{"key":"RefreshToken_pr od","value":"rt-2"},
		{"key":"Resource_test","value":"api.freeagent.com"},{"key":"RefreshToken_test","value":"rt-3"},
		{"key":"Resource_ok","value":"https://api.freeagent.com"},{"key":"RefreshToken_ok","value":"rt-4"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	envs, _, _, err := exp.Choose("")
	if envs != nil || err == nil {
		t.Fatalf("Choose() = %v, %v; want the import refused", envs, err)
	}
	for _, want := range []string{`"pr od" may only use`, `"sand.box" may only use`, `Resource_test is "api.freeagent.com", not a URL`, "(or import ok alone with -e ok)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q; want it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("err %q spans lines or repeats a secret", err)
	}
	// Nothing to import, as no key names its API: each is told.
	exp, err = Parse([]byte(`{"name":"x","values":[{"key":"ClientId","value":"id"},
		{"key":"RefreshToken_sand","value":"rt-1"},{"key":"RefreshToken_prod","value":"rt-2"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := exp.Choose(""); err == nil || !strings.Contains(err.Error(), "no Resource_prod") || !strings.Contains(err.Error(), "no Resource_sand") {
		t.Errorf("Choose() of keys with no API = %v; want it to name each", err)
	}
}

// TestChooseCountsManyKeysThatStopTheImport: an export of 200 environments
// whose lifetimes are all words is refused telling the first few in full
// and naming every other environment: told each in full, the message ran
// to 45,000 characters, and the one-line error left out its middle, 134
// of the keys untold and uncounted.
func TestChooseCountsManyKeysThatStopTheImport(t *testing.T) {
	values := []string{`{"key":"ClientId","value":"id"}`, `{"key":"ClientSecret","value":"s3cr3t"}`}
	for i := range 200 {
		values = append(values, fmt.Sprintf(`{"key":"Resource_e%03d","value":"https://api.freeagent.com"},{"key":"RefreshToken_e%03d","value":"rt-%d"},{"key":"AccessTokenExp_e%03d","value":"soon"}`, i, i, i, i))
	}
	exp, err := Parse([]byte(`{"name":"x","values":[` + strings.Join(values, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = exp.Choose("")
	if err == nil {
		t.Fatal("Choose() took 200 lifetimes that are words")
	}
	msg := err.Error()
	if !strings.Contains(msg, `AccessTokenExp_e000 is "soon", not a number of seconds`) || !strings.Contains(msg, "and the keys of 190 environments more: e010, e011,") || !strings.HasSuffix(msg, ", e199") {
		t.Errorf("err %q; want the first %d told and the 190 others named", msg, maxStopsTold)
	}
	if len(msg) > 4000 {
		t.Errorf("err is %d characters long; want under 4000, so that no part of it is left out", len(msg))
	}
}
