package config_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// write is the configuration text, written to a private file.
func write(t *testing.T, text string) string {
	t.Helper()
	return testenv.WriteFile(t, "config.toml", text, 0o600)
}

// load is the configuration text, written to a file and loaded.
func load(t *testing.T, text string) *config.File {
	t.Helper()
	f, err := config.Load(write(t, text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPresets(t *testing.T) {
	f := load(t, `
default_env = "sandbox"
[env.sandbox]
provider = "freeagent-sandbox"
client_id = " id-with-space "
client_secret_env = "FA_SECRET"

[env.production]
provider = "freeagent"
client_id = "id"
client_secret = "s"

[env.local]
provider = "freeagent"
api_url = "http://127.0.0.1:8900"
token_url = "http://127.0.0.1:9999/custom"
client_id = "id"
refresh_before = 120

[env.myapi]
api_url = "https://api.example.com/"
auth_url = "https://login.example.com/authorize"
token_url = "https://login.example.com/token"
scopes = ["read", "offline_access"]
client_id = "id"
client_auth = "body"
refresh_before = "30s"
timeout = "5s"
default_lifetime = "2h"
refresh_idle_limit = "60d"
`)
	tests := []struct {
		env, api, auth, token, clientID, style string
		before                                 time.Duration
	}{
		{"sandbox", "https://api.sandbox.freeagent.com/", "https://api.sandbox.freeagent.com/v2/approve_app", "https://api.sandbox.freeagent.com/v2/token_endpoint", "id-with-space", "basic", time.Minute},
		{"production", "https://api.freeagent.com/", "https://api.freeagent.com/v2/approve_app", "https://api.freeagent.com/v2/token_endpoint", "id", "basic", time.Minute},
		{"local", "http://127.0.0.1:8900/", "http://127.0.0.1:8900/v2/approve_app", "http://127.0.0.1:9999/custom", "id", "basic", 2 * time.Minute},
		{"myapi", "https://api.example.com/", "https://login.example.com/authorize", "https://login.example.com/token", "id", "body", 30 * time.Second},
	}
	for _, tt := range tests {
		e := f.Envs[tt.env]
		if e == nil {
			t.Fatalf("%s missing", tt.env)
		}
		got := []string{e.APIURL, e.AuthURL, e.TokenURL, e.ClientID, e.ClientAuth}
		want := []string{tt.api, tt.auth, tt.token, tt.clientID, tt.style}
		if strings.Join(got, " ") != strings.Join(want, " ") || e.RefreshBefore != tt.before {
			t.Errorf("%s: got %v %s, want %v %s", tt.env, got, e.RefreshBefore, want, tt.before)
		}
	}
	if e := f.Envs["myapi"]; e.Timeout != 5*time.Second || e.DefaultLifetime != 2*time.Hour || e.IdleLimit != 60*24*time.Hour || strings.Join(e.Scopes, ",") != "read,offline_access" || e.RedirectURI != config.DefaultRedirectURI {
		t.Errorf("myapi: %+v", e)
	}
}

// TestFirstMistakeInTheFileIsReported: of several values the settings
// cannot take, and unknown keys among them, the first in the file is
// reported, every time. The decoder goes through each table's keys in no
// set order and stops at the first bad value it meets: it named one of
// them at random (Go's map order), and an unknown key between two bad
// values only now and then.
func TestFirstMistakeInTheFileIsReported(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"bad values", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = 1\n\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"y\"\nscopes = \"read\"\ntimeout = \"soon\"\n\n[store]\nurl = 5\n",
			`:4: env.a.client_secret: is a number; write text in quotes, such as "x"`},
		{"an unknown key between bad values", "[store]\nurl = \"file:///x\"\n\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = 1\n\n[env.b]\nprovider = \"freeagent\"\nclinet_id = \"y\"\nscopes = \"read\"\n\n[notify]\ndesktop = \"yes\"\n",
			`:7: env.a.client_secret: is a number`},
		{"in an inline table and dotted keys", "notify = { command = 5 }\nenv.a.provider = \"freeagent\"\nenv.a.client_id = 3\n",
			`:1: notify.command: is a number`},
		{"a table that is none, after a bad value", "default_env = 1\nstore = \"file:///x\"\n[env.a]\nprovider = \"freeagent\"\nclient_id = 2\n",
			`:1: default_env: is a number`},
		// Environments were checked in the order of their names: of two
		// copied from the docs with client_id = "…" left in, the later
		// in the file was reported.
		{"mistakes in two environments", "[env.sandbox]\nprovider = \"freeagent-sandbox\"\n\n[env.myapi]\napi_url = \"https://api.example.com/\"\n",
			":1: env.sandbox.client_id: missing"},
		// A name holding a dot (quoted) was ordered last, and a line
		// longer than 64 KiB (a long comment) hid the environments after
		// it: a later environment's mistake was reported first.
		{"a name with a dot, before another mistake", "[env.\"a.b\"]\nprovider = \"freeagent\"\nclient_id = \"x\"\n\n[env.c]\nprovider = \"freeagent\"\n",
			`:1: env.a.b: environment name "a.b" may only use`},
		{"after a line longer than 64 KiB", "# " + strings.Repeat("x", 70<<10) + "\n[env.b]\nprovider = \"freeagent\"\n\n[env.a]\nprovider = \"freeagent\"\n",
			":2: env.b.client_id: missing"},
		{"a bad value inside, after an environment that is no table", "[env]\na = 1\n\n[env.b]\nprovider = \"freeagent\"\nclient_id = 2\n",
			`:2: env.a: is a number; write a table`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.text)
			for range 30 {
				_, err := config.Load(p)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v; want the first mistake in the file, %q", err, tt.want)
				}
			}
		})
	}
}

// TestValueNotTakenIsNoSyntaxError: a value that a setting reading its own
// value cannot take (a duration, parameters) says what to write, and not to
// fix the TOML syntax, which is sound.
func TestValueNotTakenIsNoSyntaxError(t *testing.T) {
	for text, want := range map[string]string{
		"[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nrefresh_before = \"soon\"\n":              `:4: env.a.refresh_before: "soon" is not a duration such as "60s", "2m" or "60d"`,
		"[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nauth_params = \"prompt=consent\"\n":       `:4: env.a.auth_params: is not a table such as { prompt = "consent" }`,
		"[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nresource = [\"https://r.example/\", 1]\n": `:4: env.a.resource: 1 is not a string; write a string or a list of strings`,
	} {
		p := write(t, text)
		if _, err := config.Load(p); err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("error %v; want it to end %q", err, want)
		}
	}
}

func TestErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown key", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclinet_secret = \"y\"\n", ":4: env.a.clinet_secret: unknown key"},
		// A key the docs of a later freshtoken name (the README online is
		// ahead of the one installed, or an upgrade was rolled back): it
		// was said not to exist, which sent people looking for a typo.
		{"a later freshtoken's key", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nrevocation_hint = \"y\"\n", ":4: env.a.revocation_hint: unknown key; `freshtoken help config` lists the keys this freshtoken knows (one named only in newer docs needs an upgrade)"},
		{"missing client id", "[env.a]\nprovider = \"freeagent\"\n", ":1: env.a.client_id: missing"},
		{"bad url", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\napi_url = \"not a url\"\n", ":4: env.a.api_url:"},
		{"unknown provider", "\n[env.a]\nprovider = \"freagent\"\nclient_id = \"x\"\n", ":3: env.a.provider: unknown provider \"freagent\""},
		// A provider written as its company writes it: the preset meant
		// is named, rather than only a list to pick it out of.
		{"provider in capitals with a space", "[env.a]\nprovider = \"FreeAgent Sandbox\"\nclient_id = \"x\"\n", `:2: env.a.provider: unknown provider "FreeAgent Sandbox"; write "freeagent-sandbox"`},
		{"provider with an underscore", "[env.a]\nprovider = \"quickbooks_sandbox\"\nclient_id = \"x\"\n", `:2: env.a.provider: unknown provider "quickbooks_sandbox"; write "quickbooks-sandbox"`},
		{"generic needs urls", "[env.a]\nclient_id = \"x\"\n", "env.a.api_url: missing"},
		{"two secret sources", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = \"s\"\nclient_secret_env = \"E\"\n", "env.a.client_secret: set only one"},
		{"bad client auth", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_auth = \"auto\"\n", ":4: env.a.client_auth:"},
		{"bad duration", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nrefresh_before = \"soon\"\n", ":4:"},
		{"syntax", "[env.a]\nclient_id = \"x\n", ":2:"},
		{"idle limit not a duration", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nrefresh_idle_limit = \"60 days\"\n", ":4: env.a.refresh_idle_limit"},
		{"default lifetime under a second", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ndefault_lifetime = \"0s\"\n", ":4: env.a.default_lifetime: must be at least a second"},
		{"default names nothing", "default_env = \"nope\"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", ":1: default_env: names \"nope\", which is not configured (configured: a); set it to one of those, or take the line out"},
		// An environment renamed or taken out by hand: init cannot add it
		// while the file is refused, so the next step is the line itself.
		{"default names nothing, none configured", "default_env = \"nope\"\n", ":1: default_env: names \"nope\", but no environment is configured; take the line out, then run `freshtoken init`"},
		{"redis database not a number", "[store]\nurl = \"redis://:hunter2@127.0.0.1:6379/tokens\"\n", ":2: store.url: redis://127.0.0.1:6379/tokens is not a Redis URL"},
		{"redis password not escaped", "[store]\nurl = \"redis://:hunter2%zz@127.0.0.1:6379/0\"\n", ":2: store.url: not a valid URL; write redis://"},
		{"redis scheme in capitals", "[store]\nurl = \"REDIS://:hunter2@127.0.0.1:6379/tokens\"\n", ":2: store.url: redis://127.0.0.1:6379/tokens is not a Redis URL"},
		{"redis password starting with a slash", "[store]\nurl = \"redis://:/hunter2+Zk=@redis.internal:6379/0\"\n", ":2: store.url: the user or password in the URL holds a /, ?, # or @"},
		{"redis password starting with a question mark", "[store]\nurl = \"redis://:?hunter2@redis.internal:6379/0\"\n", ":2: store.url: the user or password in the URL holds a /, ?, # or @"},
		{"redis password starting with a hash", "[store]\nurl = \"redis://:#hunter2@redis.internal:6379/0\"\n", ":2: store.url: the user or password in the URL holds a /, ?, # or @"},
		{"redis URL without slashes", "[store]\nurl = \"redis:default:hunter2@redis.internal/0\"\n", `:2: store.url: "redis:…": write two slashes after redis:, as in redis://host:6379/0`},
		{"redis option unknown", "[store]\nurl = \"redis://127.0.0.1:6379/0?password=hunter2\"\n", ":2: store.url: redis://127.0.0.1:6379/0 is not a Redis URL"},
		{"store scheme unknown", "[store]\nurl = \"redis+tls://:hunter2@127.0.0.1:6379/0\"\n", `:2: store.url: "redis+tls://127.0.0.1:6379/0": unsupported scheme`},
		{"redis by a unix socket", "[store]\nurl = \"unix://:hunter2@/run/redis/redis.sock?db=0\"\n", `:2: store.url: "unix:///run/redis/redis.sock": freshtoken reaches Redis over TCP, not by a Unix socket; have Redis listen on a port as well (port 6379 in redis.conf) and write redis://127.0.0.1:6379/0`},
		{"redis sentinel", "[store]\nurl = \"redis+sentinel://:hunter2@sentinel.internal:26379/mymaster/0\"\n", `:2: store.url: "redis+sentinel://sentinel.internal:26379/mymaster/0": freshtoken does not ask Redis Sentinel for the primary; write the primary's own address, redis://host:6379/0, or one that follows failovers (a managed Redis's)`},
		// What the decoder says of a value of the wrong type named Go's
		// types ("destination has type slice"), and not what to write.
		{"wrong type", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = 123\n", `:4: env.a.client_secret: is a number; write text in quotes, such as "x"`},
		{"scopes as text", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nscopes = \"read\"\n", `:4: env.a.scopes: is text; write a list, such as ["read", "write"]`},
		{"true in quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_keyring = \"yes\"\n", ":4: env.a.client_secret_keyring: is text; write true or false, without quotes"},
		{"an environment that is no table", "[env]\na = 1\n", ":2: env.a: is a number; write a table: a line [env.a] with the environment's keys below it"},
		{"store that is no table", "store = \"file:///tmp/x\"\n", ":1: store: is text; write a table: a line [store] with its keys below it"},
		// The decoder matches keys to settings regardless of case: a
		// second spelling of a key replaced the first silently, and a
		// second spelling of a table replaced the whole first table.
		// A value the decoder cannot take ends its decoding: the unknown
		// key above it (the setting the file meant, misspelt) went unsaid
		// until the value was mended. The first in the file is reported.
		{"unknown key before a wrong type", "[env.a]\nprovider = \"freeagent\"\nclinet_id = \"x\"\nclient_secret = 123\n", ":3: env.a.clinet_id: unknown key"},
		{"unknown key before a bad duration", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nrefresh_befor = \"5m\"\ntimeout = \"soon\"\n", ":4: env.a.refresh_befor: unknown key"},
		{"unknown table before a wrong type", "[notfy]\ncommand = \"notify-send\"\n\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nscopes = \"read\"\n", ":1: notfy: unknown key"},
		{"unknown key in another environment before a wrong type", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ntoken_param = { a = \"b\" }\n\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"y\"\nclient_secret_keyring = \"yes\"\n", ":4: env.a.token_param: unknown key"},
		{"key in another case before a wrong type", "[env.a]\nprovider = \"freeagent\"\nClient_Id = \"x\"\nscopes = \"read\"\n", ":3: env.a.Client_Id: unknown key; keys are written in lower case: client_id"},
		// A dotted key under a setting that takes text: the decoder named
		// no line, and Go's types ("TOML value has type map[string]any").
		{"a dotted key under text", "\n\ndefault_env.x = \"a\"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", `:3: default_env: is a table; write text in quotes, such as "x"`},
		{"a dotted key under an environment's text", "[env.a]\nprovider = \"freeagent\"\nclient_id.x = \"x\"\n", `:3: env.a.client_id: is a table; write text in quotes, such as "x"`},
		{"wrong type before an unknown key", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = 123\nclinet_secret_env = \"S\"\n", `:4: env.a.client_secret: is a number; write text in quotes, such as "x"`},
		{"known keys under settings that read their own values, before a wrong type", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nauth_params = { prompt = \"consent\" }\nresource = [\"https://r.example/\"]\n\n[env.a.token_params]\nx = \"y\"\n\n[env.b]\nprovider = \"freeagent\"\nclient_id = 7\n", ":12: env.b.client_id: is a number"},
		{"a key twice in two cases", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nClient_ID = \"y\"\n", ":4: env.a.Client_ID: unknown key; keys are written in lower case: client_id"},
		{"a table twice in two cases", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n\n[Env.a]\nclient_id = \"y\"\n", ":5: Env: unknown key; keys are written in lower case: env"},
		// The decoder named the table's parent ("env: Key 'env.a' has
		// already been defined.") and said nothing of what to do.
		{"a table twice", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n\n[env.a]\nclient_id = \"y\"\n", ":5: env.a: is written twice; keep one of the two and delete the other"},
		{"a key twice", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_id = \"y\"\n", ":4: env.a.client_id: is written twice; keep one of the two and delete the other"},
		// A base URL as Postman keeps it: the endpoints became .../v2/v2/token_endpoint,
		// and login, renewals and every call went to paths FreeAgent does not have.
		{"FreeAgent api_url with /v2", "[env.a]\nprovider = \"freeagent-sandbox\"\nclient_id = \"x\"\napi_url = \"https://api.sandbox.freeagent.com/v2/\"\n", `:4: env.a.api_url: "https://api.sandbox.freeagent.com/v2/" ends in /v2, which FreeAgent's paths carry themselves (/v2/contacts); write the host root: https://api.sandbox.freeagent.com/`},
		// The parser's words alone ("expected value but found \"freeagent\"
		// instead") did not say to put text in quotes, nor what to do with a
		// string left open.
		{"text without quotes", "[env.a]\nprovider = freeagent\nclient_id = \"x\"\n", `:2: env.a.provider: is text without quotes; write it in double quotes: provider = "…"`},
		{"an id without quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = abc-123\n", `:3: env.a.client_id: is text without quotes; write it in double quotes: client_id = "…"`},
		// The parser quoted the value's start back, and of a secret that
		// is the secret, or most of it.
		{"a secret without quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = hunter2xyz\n", `:4: env.a.client_secret: is text without quotes; write it in double quotes: client_secret = "…"`},
		// A switch or a duration without quotes is told what it takes at
		// once: desktop = yes was told to write "yes" in double quotes,
		// and once quoted, to write true or false without them.
		{"a switch without quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n\n[notify]\ndesktop = yes\n", `:6: notify.desktop: is text without quotes; write true or false, without quotes: desktop = true`},
		{"the keyring switch without quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_keyring = yes\n", `:4: env.a.client_secret_keyring: is text without quotes; write true or false, without quotes: client_secret_keyring = true`},
		{"a duration without quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nrefresh_before = 2m # early\n", `:4: env.a.refresh_before: is text without quotes; write it in double quotes: refresh_before = "2m"`},
		{"a duration in days without quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nrefresh_idle_limit = 60d\n", `:4: env.a.refresh_idle_limit: is text without quotes; write it in double quotes: refresh_idle_limit = "60d"`},
		{"no duration without quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ntimeout = soon\n", `:4: env.a.timeout: is text without quotes; write a duration in double quotes, such as timeout = "60s" (or "2m", "60d")`},
		// Seconds as a number in quotes, or with a fraction: the unit is
		// said, not only what a duration looks like.
		{"seconds in quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ntimeout = \"60\"\n", `:4: env.a.timeout: "60" has no unit; write "60s" for seconds (or "60m", "60d")`},
		{"a fraction of seconds", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ntimeout = 1.5\n", `:4: env.a.timeout: 1.5 is not a whole number of seconds; write a duration in double quotes, such as "1.5s" or "2m"`},
		{"a secret without quotes starting with a digit", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = 9hunter2\n", `:4: env.a.client_secret: is text without quotes; write it in double quotes: client_secret = "…"`},
		// A backslash in double quotes starts an escape: a Windows path or
		// a secret holding one was the parser's words, which quoted the
		// text back (of a secret, the secret), or the secret was taken
		// with a control character where the backslash was (\e).
		{"a Windows path in double quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nca_file = \"C:\\certs\\corp.pem\"\n", `:4: env.a.ca_file: holds a backslash, which in double quotes starts an escape (\n, \t); write the text in single quotes, ca_file = '…', or each backslash twice`},
		{"a Windows path with \\U", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nca_file = \"C:\\Users\\me\\corp.pem\"\n", `:4: env.a.ca_file: holds a backslash, which in double quotes starts an escape (\n, \t); write the text in single quotes, ca_file = '…', or each backslash twice`},
		{"a secret with \\u", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = \"hunter\\u2xyz\"\n", `:4: env.a.client_secret: holds a backslash, which in double quotes starts an escape (\n, \t); write the text in single quotes, client_secret = '…', or each backslash twice`},
		{"a secret with \\e", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = \"hunt\\er2xyz\"\n", `:4: env.a.client_secret: holds a control character, which no client secret has: in double quotes a backslash starts an escape (\e, \t, \n); write the secret in single quotes, client_secret = '…'`},
		{"a secret with a curly quote inside", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = \"\u201chunter2\u201d\"\n", `:4: env.a.client_secret: holds a character no client secret has (printable ASCII only); copy the secret again from the provider`},
		{"two keys on a line", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_env = \"S\" client_secret = \"hunter2\"\n", `:4: env.a.client_secret_env: is followed by more on its line; put each key = value on a line of its own`},
		{"quotes left open", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\n", `:3: env.a.client_id: strings cannot contain newlines; fix the TOML syntax there`},
		{"a key in capitals", "DEFAULT_ENV = \"a\"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", ":1: DEFAULT_ENV: unknown key; keys are written in lower case: default_env"},
		{"store url with a host", "[store]\nurl = \"file://~/tokens\"\n", ":2: store.url: \"file://~/tokens\" has a host part"},
		// A store's URL with a fragment or a query: either was dropped, so
		// file:///srv/tokens#prod and #staging were one folder, where each
		// configuration's log-in replaced the other's tokens.
		{"store url with a fragment", "[store]\nurl = \"file:///srv/tokens#prod\"\n", ":2: store.url: \"file:///srv/tokens\" has a fragment (a # and what follows it), which names no folder: the tokens would go to /srv/tokens; write a # in a folder's name as %23"},
		{"store url with a query", "[store]\nurl = \"file:///srv/tokens?env=prod\"\n", ":2: store.url: \"file:///srv/tokens\" has a query (a ? and what follows it), which names no folder: the tokens would go to /srv/tokens; write a ? in a folder's name as %3F"},
		{"redis store url with a fragment", "[store]\nurl = \"redis://127.0.0.1:6379/0#prod\"\n", ":2: store.url: redis://127.0.0.1:6379/0 has a fragment (a # and what follows it), which Redis knows nothing of: the tokens would go to database 0 with any other's; write the URL without it, naming another database (/1) to keep them apart"},
		// go-redis selects a database only above 0: /-1 was database 0,
		// with any other's tokens, under another store's ID (a migration
		// there from /0 waited for ever on its own lock); a port past
		// 65535 was Redis that could not be reached (exit 5).
		{"redis store url with a negative database", "[store]\nurl = \"redis://:hunter2@127.0.0.1:6379/-1\"\n", ":2: store.url: redis://127.0.0.1:6379/-1 names database -1; Redis numbers its databases from 0 (/0, /1, …); write one of those"},
		{"redis store url with a negative ?db=", "[store]\nurl = \"redis://:hunter2@127.0.0.1:6379/0?db=-3\"\n", ":2: store.url: redis://127.0.0.1:6379/0 names database -3; Redis numbers its databases from 0 (/0, /1, …); write one of those"},
		{"redis store url with a port past 65535", "[store]\nurl = \"redis://:hunter2@127.0.0.1:99999/0\"\n", ":2: store.url: redis://127.0.0.1:99999/0 names port 99999, which no server has (ports run from 1 to 65535); Redis's own is 6379"},
		{"redis store url with port 0", "[store]\nurl = \"rediss://:hunter2@127.0.0.1:0/0\"\n", ":2: store.url: rediss://127.0.0.1:0/0 names port 0, which no server has (ports run from 1 to 65535); Redis's own is 6379"},
		// A secret that is a name by its letters (hex, mixed case and
		// digits) was taken for a variable's, and every error and status
		// printed it ("$f1a9c0… is not set here").
		{"hex secret in client_secret_env", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_env = \"hunter2f1a9c0d7e5b4a2f8c6d1e0b9a7\"\n", ":4: env.a.client_secret_env: looks like the secret itself (not shown), not the name of a variable that holds it; export the secret in a variable (export FREEAGENT_SECRET=…) and write its name here: client_secret_env = \"FREEAGENT_SECRET\""},
		{"mixed secret in client_secret_env", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_env = \"Zx81hQ2mP0wLk7sT3vB9hunter2\"\n", ":4: env.a.client_secret_env: looks like the secret itself (not shown)"},
		{"secret value in client_secret_env", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_env = \"s3cr3t-value/+=\"\n", ":4: env.a.client_secret_env: must be the name"},
		// A value read as a date was "time.Time", Go's words.
		{"date for text", "[env.a]\nprovider = \"freeagent\"\nclient_id = 1979-05-27\n", `:3: env.a.client_id: is a date or time; write text in quotes, such as "x"`},
		{"local date and time for a list", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nscopes = 1979-05-27T07:32:00\n", `:4: env.a.scopes: is a date or time; write a list, such as ["read", "write"]`},
		{"bad env name", "[env.\"a b\"]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", "may only use letters"},
		// A disk that ignores case (macOS, Windows) keeps Prod's and prod's
		// tokens in one file, where a log-in to one replaced the other's.
		{"env names differing in case", "[env.prod]\nprovider = \"freeagent\"\nclient_id = \"x\"\n\n[env.sand]\nprovider = \"freeagent-sandbox\"\nclient_id = \"y\"\n\n[env.Prod]\nprovider = \"xero\"\nclient_id = \"z\"\n", ":1: env.prod: differs from env.Prod only in case"},
		// A client id is printable ASCII (RFC 6749 appendix A.1), and a
		// keychain service name has no control character: either is handed
		// to the keychain, which on macOS is a `security -i` command line
		// that a newline would end, letting the rest run as another command.
		{"client id with a newline", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"cli\\ndelete-keychain login.keychain\"\n", ":3: env.a.client_id: holds '\\n'"},
		{"client id with a tab", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"cli\\tx\"\n", ":3: env.a.client_id: holds '\\t'"},
		{"client id in the quotes it was copied with", "[env.a]\nprovider = \"freeagent\"\nclient_id = '\"abc123\"'\n", `:3: env.a.client_id: is "abc123", with quote marks or brackets at its ends, which the provider would take as part of the client id; write client_id = "abc123"`},
		{"client id with one of its quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = '\"abc123'\n", `:3: env.a.client_id: is "abc123, with quote marks or brackets at its ends, which the provider would take as part of the client id; write client_id = "abc123"`},
		{"client id left as the docs' placeholder", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"\u2026\"\n", ":3: env.a.client_id: is the docs' placeholder (\u2026); write your app's client id (OAuth identifier), from the provider's developer dashboard"},
		{"client id with the docs' placeholder in it", "[env.a]\nprovider = \"google\"\nclient_id = \"\u2026apps.googleusercontent.com\"\nscopes = [\"openid\"]\n", ":3: env.a.client_id: is the docs' placeholder (\u2026); write your app's client id (OAuth identifier), from the provider's developer dashboard"},
		// A client id written with its label from the provider's page,
		// or the secret in its place where the provider's two look
		// different: only init caught them, and the config's went to the
		// provider, the browser's address bar and the debug log as the
		// client id. The secret is never shown.
		{"client id labelled as the secret", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"Client secret: hunter2abc\"\n", `:3: env.a.client_id: is labelled "Client secret:": it holds the client secret (not shown), not the client id; write the app's client id (OAuth identifier) here, and the secret in client_secret_env, client_secret_cmd or client_secret`},
		{"client id as a JSON file's secret", "[env.a]\nprovider = \"generic\"\nclient_id = '\"client_secret\": \"hunter2abc\"'\napi_url = \"https://api.example.com/\"\nauth_url = \"https://login.example.com/a\"\ntoken_url = \"https://login.example.com/t\"\n", `:3: env.a.client_id: is labelled "client_secret:": it holds the client secret (not shown)`},
		{"client id with its label", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"OAuth identifier: abc123\"\n", `:3: env.a.client_id: begins with the label "OAuth identifier:", which is not part of the client id; write client_id = "abc123"`},
		{"Google's secret for the client id", "[env.a]\nprovider = \"google\"\nclient_id = \"GOCSPX-hunter2abcdefghijklmnopqr\"\nscopes = [\"openid\"]\n", `:3: env.a.client_id: holds what is shaped as a google client secret (not shown), not a client id; write the app's client id (OAuth identifier) here, and the secret in client_secret_env, client_secret_cmd or client_secret`},
		{"Microsoft's secret for the client id", "[env.a]\nprovider = \"microsoft\"\nclient_id = \"hunter8Q~abcdefghijklmnopqrstuvwxyz0123\"\nscopes = [\"User.Read\"]\n", `:3: env.a.client_id: holds what is shaped as a microsoft client secret (not shown)`},
		// The secret in quotes or after a label, or after the client id on
		// one line copied whole (a row of the provider's page, a JSON
		// file's): the error showed it, in the client id it suggested.
		{"Google's secret in quotes for the client id", "[env.a]\nprovider = \"google\"\nclient_id = '\"GOCSPX-hunter2abcdefghijklmnopqr\"'\nscopes = [\"openid\"]\n", `:3: env.a.client_id: holds what is shaped as a google client secret (not shown)`},
		{"Google's secret labelled as the client id", "[env.a]\nprovider = \"google\"\nclient_id = \"Client ID: GOCSPX-hunter2abcdefghijklmnopqr\"\nscopes = [\"openid\"]\n", `:3: env.a.client_id: holds what is shaped as a google client secret (not shown)`},
		{"client id with its label and the secret's", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"OAuth identifier: abc123 OAuth secret: hunter2abc\"\n", `:3: env.a.client_id: begins with the label "OAuth identifier:", which is not part of the client id, and holds more after the client id (not shown, as it may be the secret); write the client id alone`},
		{"client id with the secret on a JSON file's line", "[env.a]\nprovider = \"generic\"\nclient_id = '\"client_id\": \"abc123\", \"client_secret\": \"hunter2abc\"'\napi_url = \"https://api.example.com/\"\nauth_url = \"https://login.example.com/a\"\ntoken_url = \"https://login.example.com/t\"\n", `:3: env.a.client_id: begins with the label "client_id:", which is not part of the client id, and holds more after the client id (not shown`},
		{"client id in quotes with the secret after it", "[env.a]\nprovider = \"freeagent\"\nclient_id = '\"abc123\", \"hunter2abc\"'\n", `:3: env.a.client_id: holds quote marks or brackets, and more than the client id (not shown, as it may be the secret); write the client id alone`},
		{"client id beyond ASCII", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"clí\"\n", ":3: env.a.client_id: holds 'í'"},
		// The provider sends the browser back to the redirect URI as given:
		// on port 0, login would wait for a browser that cannot come.
		{"redirect uri on port 0", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nredirect_uri = \"http://127.0.0.1:0/callback\"\n", ":4: env.a.redirect_uri: \"http://127.0.0.1:0/callback\" names port 0"},
		// A redirect URI may not have a fragment (RFC 6749 §3.1.2): init
		// printed it to register, and login waited five minutes for a
		// browser the provider had refused to send back.
		{"redirect uri with a fragment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nredirect_uri = \"http://127.0.0.1:8787/callback#x\"\n", ":4: env.a.redirect_uri: \"http://127.0.0.1:8787/callback#x\" has a fragment (#x), which a redirect URI may not have; write it without"},
		{"redirect uri with a log-in's answer in its fragment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nredirect_uri = \"http://127.0.0.1:8787/callback#access_token=s3cr3t\"\n", ":4: env.a.redirect_uri: \"http://127.0.0.1:8787/callback#…\" has a fragment (#…), which a redirect URI may not have; write it without"},
		{"redirect uri with a log-in's code in its query", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nredirect_uri = \"http://127.0.0.1:8787/callback?code=s3cr3t&state=x\"\n", ":4: env.a.redirect_uri: \"http://127.0.0.1:8787/callback?…\" holds a log-in's code or another secret in its query (the address a browser showed after a log-in?); write the redirect URI registered with the provider, such as http://127.0.0.1:8787/callback"},
		{"redirect uri with an empty fragment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nredirect_uri = \"http://127.0.0.1:8787/callback#\"\n", ":4: env.a.redirect_uri: \"http://127.0.0.1:8787/callback#\" has a fragment (#), which a redirect URI may not have; write it without"},
		// api_url is the root that paths are joined to: a query there was
		// dropped from every request, and the FreeAgent presets derived
		// their endpoints from it as text (http://h/?x=1/v2/token_endpoint).
		{"scope with a control character", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nscopes = [\"read\\u0000\"]\n", `:4: env.a.scopes: "read\x00" holds a control character`},
		{"api_url with a query", "[env.a]\nprovider = \"freeagent-sandbox\"\nclient_id = \"x\"\napi_url = \"https://api.sandbox.freeagent.com/?x=1\"\n", `:4: env.a.api_url: "https://api.sandbox.freeagent.com/?x=1" has a query or a fragment`},
		// The proxy confines each environment to its api_url's path: one
		// holding a dot segment was refused there on every request (500,
		// "write it resolved", no file or line), while get used it.
		{"api_url with a dot segment", "[env.a]\nprovider = \"generic\"\nclient_id = \"x\"\napi_url = \"https://api.example.com/v1/../v2\"\nauth_url = \"https://login.example.com/a\"\ntoken_url = \"https://login.example.com/t\"\n", `:4: env.a.api_url: "https://api.example.com/v1/../v2" holds a . or .. segment in its path (plain or encoded, such as %2e%2e), which each server resolves its own way; write the address it leads to: https://api.example.com/v2/`},
		{"api_url with an encoded dot segment", "[env.a]\nprovider = \"freeagent-sandbox\"\nclient_id = \"x\"\napi_url = \"https://api.sandbox.freeagent.com/%2e%2e/\"\n", `:4: env.a.api_url: "https://api.sandbox.freeagent.com/%2e%2e/" holds a . or .. segment in its path (plain or encoded, such as %2e%2e), which each server resolves its own way; write the address it leads to, without it`},
		{"api_url with a fragment", "[env.a]\nprovider = \"generic\"\nclient_id = \"x\"\napi_url = \"https://api.example.com/#top\"\nauth_url = \"https://login.example.com/a\"\ntoken_url = \"https://login.example.com/t\"\n", `:4: env.a.api_url: "https://api.example.com/#top" has a query or a fragment`},
		// An endpoint's fragment is never sent, and the authorization
		// request's parameters, written after it, went into it: the
		// provider saw none of them.
		{"auth_url with a fragment", "[env.a]\nprovider = \"generic\"\nclient_id = \"x\"\napi_url = \"https://api.example.com/\"\nauth_url = \"https://login.example.com/a#x\"\ntoken_url = \"https://login.example.com/t\"\n", `:5: env.a.auth_url: "https://login.example.com/a#x" has a fragment (#x), which is never sent`},
		// A password in a URL that does not parse is not shown either.
		{"token_url with a password that does not parse", "[env.a]\nprovider = \"generic\"\nclient_id = \"x\"\napi_url = \"https://api.example.com/\"\nauth_url = \"https://login.example.com/a\"\ntoken_url = \"https://me:hunter2 x@login.example.com/t\"\n", `:6: env.a.token_url: has a user or password in it, which freshtoken never sends`},
		{"issuer with a password that does not parse", "[env.a]\nprovider = \"generic\"\nclient_id = \"x\"\napi_url = \"https://api.example.com/\"\nissuer = \"https://me:hunter2%zz@login.example.com/\"\n", `:5: env.a.issuer: has a user or password, which an issuer never has`},
		{"issuer with a secret in its query", "[env.a]\nprovider = \"generic\"\nclient_id = \"x\"\napi_url = \"https://api.example.com/\"\nissuer = \"https://login.example.com/?client_secret=hunter2\"\n", `:5: env.a.issuer: "https://login.example.com/?…" has a query or a fragment, which an issuer may not have`},
		{"token_url with a fragment", "[env.a]\nprovider = \"generic\"\nclient_id = \"x\"\napi_url = \"https://api.example.com/\"\nauth_url = \"https://login.example.com/a\"\ntoken_url = \"https://login.example.com/t#\"\n", `:6: env.a.token_url: "https://login.example.com/t#" has a fragment (#), which is never sent`},
		{"service with a newline", "[store]\nurl = \"keyring://?service=a%0Adelete-keychain\"\n\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"cli\"\n", ":2: store.url: keyring://?service= takes a name of printable ASCII"},
		// A file an editor saved in another encoding than UTF-8 (Windows
		// Notepad's "Unicode", UTF-16 with its byte-order mark; Latin-1 for
		// an é in a comment) was said to need its TOML syntax fixed, which
		// no edit of the text mends: it is saved again as UTF-8.
		{"saved as UTF-16", "\xff\xfe[\x00e\x00n\x00v\x00.\x00a\x00]\x00\n\x00", ":1: files cannot contain NULL bytes; probably using UTF-16; TOML files must be UTF-8; save the file again in the UTF-8 encoding (your editor's Save As offers it)"},
		// env holds the environments: a value for it (default_env meant)
		// was told in the parser's words at the table's line ("Key 'env'
		// was already created as a hash.; fix the TOML syntax there"), and
		// alone it was passed over, the file said to configure nothing.
		{"env naming the default above the tables", "env = \"a\"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", `:1: env: holds the environments, each a table [env.NAME], not text; to choose the default environment, write default_env = "a"`},
		{"env naming the default alone", "env = \"a\"\n", `:1: env: holds the environments, each a table [env.NAME], not text; to choose the default environment, write default_env = "a"`},
		{"env a number alone", "# mine\nenv = 1\n", ":2: env: is a number; write each environment as a table: a line [env.NAME] with the environment's keys below it"},
		{"env a number above the tables", "env = 1\n\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", ":1: env: is a number, and a table from line 3 on; take this line out: each environment is a table [env.NAME]"},
		{"env a list of tables", "[[env]]\nname = \"a\"\nprovider = \"freeagent\"\n", ":1: env: is a list of tables ([[env]]); write each environment as a table: a line [env.NAME] with the environment's keys below it"},
		{"a value made a table below", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n\n[env.a.client_id.x]\ny = 1\n", ":3: env.a.client_id: is text, and a table from line 5 on; keep one of the two and delete the other"},
		// Quotes pasted from a web page or a chat, which turn straight
		// quotes into curly ones, were told in the parser's words.
		{"curly double quotes", "[env.a]\nprovider = \"freeagent\"\nclient_id = \u201cabc\u201d\n", ":3: env.a.client_id: is written in curly quotes (\u201c \u201d), which TOML does not take; write straight double quotes: client_id = \"\u2026\""},
		{"curly single quotes", "[env.a]\nprovider = \u2018freeagent\u2019\nclient_id = \"abc\"\n", ":2: env.a.provider: is written in curly quotes (\u2018 \u2019), which TOML does not take; write straight double quotes: provider = \"\u2026\""},
		{"a curly quote closing a straight one", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"abc\u201d\n", ":3: env.a.client_id: is written in curly quotes (\u201c \u201d), which TOML does not take; write straight double quotes: client_id = \"\u2026\""},
		// A non-breaking space, which web pages and chats put between
		// words, is no white space to TOML.
		{"a non-breaking space before =", "[env.a]\nprovider = \"freeagent\"\nclient_id\u00a0= \"abc\"\n", ":3: env.a.client_id: holds a non-breaking space (U+00A0), which TOML does not take for a space; delete it and type an ordinary space"},
		{"a non-breaking space after =", "[env.a]\nprovider = \"freeagent\"\nclient_id =\u00a0\"abc\"\n", ":3: env.a.client_id: holds a non-breaking space (U+00A0), which TOML does not take for a space; delete it and type an ordinary space"},
		{"a zero-width space before a key", "[env.a]\nprovider = \"freeagent\"\n\u200bclient_id = \"abc\"\n", ":3: env.a: holds a zero-width space (U+200B), which TOML does not take for a space; delete it"},
		// A key misspelt as other programs write theirs, or a table's name
		// as people say it, was only "unknown": the key it meant is named.
		{"client id with a hyphen", "[env.a]\nprovider = \"freeagent\"\nclient-id = \"x\"\n", ":3: env.a.client-id: unknown key; did you mean client_id?"},
		{"client id in camel case", "[env.a]\nprovider = \"freeagent\"\nclientId = \"x\"\n", ":3: env.a.clientId: unknown key; did you mean client_id?"},
		{"client id in Go's case", "[env.a]\nprovider = \"freeagent\"\nClientID = \"x\"\n", ":3: env.a.ClientID: unknown key; did you mean client_id?"},
		{"a misspelt key", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclinet_secret_env = \"S\"\n", ":4: env.a.clinet_secret_env: unknown key; did you mean client_secret_env?"},
		{"envs", "[envs.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", ":1: envs.a: unknown key; did you mean env?"},
		{"environment", "[environment.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", ":1: environment.a: unknown key; did you mean env?"},
		// A key at the wrong level: above every table, or below one that
		// is not its own (default_env at the end of the file is the last
		// environment's).
		{"client id above the tables", "client_id = \"x\"\n[env.a]\nprovider = \"freeagent\"\n", ":1: client_id: unknown key here: client_id is an environment's key: move it below its environment's line, [env.a]"},
		{"client id above two environments", "client_id = \"x\"\n[env.a]\nprovider = \"freeagent\"\n[env.b]\nprovider = \"freeagent\"\n", ":1: client_id: unknown key here: client_id is an environment's key: move it below its environment's line, [env.NAME]"},
		{"default env below an environment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ndefault_env = \"a\"\n", ":4: env.a.default_env: unknown key here: default_env goes at the top of the file, above the first [table] line (a key below a table's line is that table's)"},
		{"store url in an environment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nurl = \"file:///srv/tokens\"\n", ":4: env.a.url: unknown key here: url is [store]'s key: move it below a line [store] (an environment's API address is api_url)"},
		{"store table in an environment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n[env.a.store]\nurl = \"file:///srv/tokens\"\n", ":4: env.a.store: unknown key here: [store] is a table of the whole file, not an environment's: write its line as [store]"},
		{"a notify key in an environment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ndesktop = true\n", ":4: env.a.desktop: unknown key here: desktop is [notify]'s key: move it below a line [notify]"},
		// Misspelt at the wrong level: named, as a misspelling in its own
		// table is, and where it goes (clinet_id above the tables got only
		// "unknown key; `freshtoken help config` lists the keys").
		{"client id misspelt above the tables", "clinet_id = \"x\"\n[env.a]\nprovider = \"freeagent\"\n", ":1: clinet_id: unknown key here; did you mean client_id? It is an environment's key: move it below its environment's line, [env.a]"},
		{"default env misspelt below an environment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ndefualt_env = \"a\"\n", ":4: env.a.defualt_env: unknown key here; did you mean default_env? It goes at the top of the file, above the first [table] line"},
		{"a notify key misspelt in an environment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nwebhok = \"https://h/\"\n", ":4: env.a.webhok: unknown key here; did you mean webhook? It is [notify]'s key: move it below a line [notify]"},
		{"the store table misspelt in an environment", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n[env.a.stor]\nurl = \"file:///srv/tokens\"\n", ":4: env.a.stor: unknown key here; did you mean [store]? It is a table of the whole file, not an environment's: write its line as [store]"},
		// Syntax a person brings from elsewhere, told in the parser's words
		// ("expected '.' or '=', but got '/' instead; fix the TOML syntax
		// there"), which say nothing of what to write.
		{"a comment with //", "// mine\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", ":1: a comment starts with # in TOML; write # in place of //"},
		{"a comment with ;", "[env.a]\n; mine\nprovider = \"freeagent\"\nclient_id = \"x\"\n", ":2: a comment starts with # in TOML; write # in place of ;"},
		{"a colon for =", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ntimeout: \"30s\"\n", `:4: env.a.timeout: write = between the key and its value, not a colon: timeout = …`},
		{"a colon for = before a secret", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret: \"hunter2\"\n", `:4: env.a.client_secret: write = between the key and its value, not a colon: client_secret = …`},
		{"a colon for = in an inline table", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nauth_params = { prompt: \"consent\" }\n", `:4: env.a.auth_params.prompt: write = between the key and its value, not a colon: prompt = …`},
		{"a list without its commas", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nscopes = [\"read\" \"write\"]\n", `:4: env.a.scopes: write a comma between the list's items: scopes = ["…", "…"]`},
		{"a list without its ]", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nscopes = [\"read\", \"write\"\n", `:4: env.a.scopes: the list lacks its closing ]; end it with ]`},
		{"a key without a value", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nscopes =\n", ":4: env.a.scopes: has no value after the =; write one, or take the line out"},
		{"a key without a value at the end", "[env.a]\nprovider = \"freeagent\"\nclient_id =", ":3: env.a.client_id: has no value after the =; write one, or take the line out"},
		{"a table without its ]", "[env.a\nprovider = \"freeagent\"\nclient_id = \"x\"\n", ":1: env.a: the table's line lacks its closing ]; write [env.a]"},
		{"an environment's name with a space", "[env.my sandbox]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", ":1: an environment's name uses only letters, digits, '-' and '_'; write [env.my-sandbox]"},
		// Paths as a shell takes them: a store's folder without file://, a
		// ~ that only a shell makes the home folder (file:///~/tokens
		// was taken for a folder ~ at the top of the disk), a Redis
		// address without redis://.
		{"store url a path", "[store]\nurl = \"/srv/tokens\"\n", `:2: store.url: "/srv/tokens" is a folder's path; write it as a URL: file:///srv/tokens`},
		{"store url with ~", "[store]\nurl = \"~/tokens\"\n", `:2: store.url: "~/tokens": ~ is your home folder only to a shell; write the whole path as a URL: file:///`},
		{"store url with /~", "[store]\nurl = \"file:///~/tokens\"\n", `:2: store.url: "file:///~/tokens" names a folder ~ at the top of the disk: ~ is your home folder only to a shell; write the whole path: file:///`},
		{"store url a Redis address", "[store]\nurl = \"localhost:6379\"\n", `:2: store.url: "localhost:6379" looks like a Redis server's address; write it as a URL: redis://localhost:6379/0`},
		{"token file with ~", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ntoken_file = \"~/token\"\n", `:4: env.a.token_file: "~/token": ~ is your home folder only to a shell; write the whole path, such as /`},
		{"token file relative", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ntoken_file = \"token.txt\"\n", `:4: env.a.token_file: "token.txt" is not an absolute path; write the file's whole path, such as /`},
		{"ca file with ~", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nca_file = \"~/ca.pem\"\n", `:4: env.a.ca_file: "~/ca.pem": ~ is your home folder only to a shell; write the whole path, such as /`},
		{"key file with ~", "[env.a]\nprovider = \"generic\"\napi_url = \"https://api.example.com/\"\nauth_url = \"https://login.example.com/a\"\ntoken_url = \"https://login.example.com/t\"\nclient_id = \"x\"\nclient_auth = \"private_key_jwt\"\nkey_file = \"~/key.pem\"\n", `:8: env.a.key_file: "~/key.pem": ~ is your home folder only to a shell; write the whole path, such as /`},
		// A byte-order mark (Notepad's "UTF-8 with BOM") before the first
		// line: a mistake there was told without its line.
		{"a byte-order mark before an unknown key", "\ufeffclinet_id = \"x\"\n", ":1: clinet_id: unknown key"},
		{"a byte-order mark before a missing client id", "\ufeff[env.a]\nprovider = \"freeagent\"\n", ":1: env.a.client_id: missing"},
		{"a byte-order mark before env", "\ufeffenv = \"a\"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", `:1: env: holds the environments, each a table [env.NAME], not text; to choose the default environment, write default_env = "a"`},
		{"a byte-order mark before a colon", "\ufeffdefault_env: \"a\"\n", ":1: default_env: write = between the key and its value, not a colon: default_env = …"},
		{"a byte-order mark before a comment with //", "\ufeff// mine\n", ":1: a comment starts with # in TOML; write # in place of //"},
		{"saved as Latin-1", "[env.a]\nprovider = \"freeagent\" # caf\xe9\nclient_id = \"x\"\n", ": invalid UTF-8 byte: 0xe9; save the file again in the UTF-8 encoding (your editor's Save As offers it)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.text)
			_, err := config.Load(p)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("%v is not ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q; want it to start with the path and contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if strings.Contains(err.Error(), "hunter") {
				t.Errorf("error shows a password: %q", err)
			}
		})
	}
}

func TestUnknownEnvironmentSuggestsTheClosest(t *testing.T) {
	p := write(t, "[env.sandbox]\nprovider = \"freeagent-sandbox\"\nclient_id = \"x\"\n\n[env.production]\nprovider = \"freeagent\"\nclient_id = \"x\"\n\n[env.dev]\nprovider = \"freeagent\"\nclient_id = \"x\"\n")
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"sandbx":     `no environment "sandbx" in ` + p + `; did you mean "sandbox"?`,
		"Production": `did you mean "production"?`,
		"dve":        `did you mean "dev"?`,
		"prod":       "add it with `freshtoken init -e prod`",
		"staging":    "add it with `freshtoken init -e staging`",
	} {
		_, err := f.Select(name)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, config.ErrInvalid) {
			t.Errorf("%s: %v; want %q", name, err, want)
		}
	}
}

func TestSelect(t *testing.T) {
	two := write(t, "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"x\"\n")
	one := write(t, "[env.only]\nprovider = \"freeagent\"\nclient_id = \"x\"\n")
	withDefault := write(t, "default_env = \"b\"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"x\"\n")
	tests := []struct {
		name, path, flag, envVar, want, wantErr string
	}{
		{"flag wins", withDefault, "a", "b", "a", ""},
		{"env var next", withDefault, "", "a", "a", ""},
		{"default_env next", withDefault, "", "", "b", ""},
		{"the only one", one, "", "", "only", ""},
		{"ambiguous", two, "", "", "", "2 environments are configured (a, b); set default_env in " + two + " (`freshtoken init -e NAME --default`), or name one"},
		{"unknown", two, "c", "", "", `environment "c" is not configured`},
		{"unknown in the env var", two, "", "c", "", `environment "c" (from $FRESHTOKEN_ENV) is not configured in ` + two + ` (configured: a, b); add it with ` + "`freshtoken init -e c`" + `; or unset FRESHTOKEN_ENV`},
		// A name no environment can have was suggested to init, unquoted:
		// `freshtoken init -e my env`.
		{"no name at all", two, "my env", "", "", `environment "my env" is not configured in ` + two + ` (configured: a, b), and cannot be: a name starts with a letter or a digit and uses only letters, digits, '-' and '_', at most 64 of them`},
		// Nor was one init no longer gives anew: `freshtoken init -e --help`.
		{"a name like an option", two, "--help", "", "", `environment "--help" is not configured in ` + two + ` (configured: a, b), and cannot be: a name starts with a letter or a digit`},
		{"typo in the env var", one, "", "onl", "", `no environment "onl" (from $FRESHTOKEN_ENV) in ` + one + `; did you mean "only"? (configured: only); or unset FRESHTOKEN_ENV`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FRESHTOKEN_ENV", tt.envVar)
			f, err := config.Load(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			e, err := f.Select(tt.flag)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, config.ErrInvalid) {
					t.Fatalf("err = %v, want %q, matching config.ErrInvalid as Select's doc says", err, tt.wantErr)
				}
				return
			}
			if err != nil || e.Name != tt.want {
				t.Fatalf("got %v, %v; want %s", e, err, tt.want)
			}
		})
	}
}

// A relative --config (or $FRESHTOKEN_CONFIG) in a folder since deleted (a
// script's temporary folder) is said to be so, not reported as a config
// with no environments, to be added with an init that then fails.
func TestRelativePathInADeletedFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FRESHTOKEN_CONFIG", "env.toml")
	for _, flag := range []string{"c.toml", ""} {
		_, err := config.Path(flag)
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "current folder no longer exists") {
			t.Errorf("Path(%q) in a deleted folder = %v; want an error saying the current folder is gone", flag, err)
		}
	}
	if p, err := config.Path("/abs/c.toml"); err != nil || p != "/abs/c.toml" {
		t.Errorf("Path of an absolute file in a deleted folder = %q, %v; want it as given", p, err)
	}
}

// A --config or $FRESHTOKEN_CONFIG under a ~ that no shell expanded (quoted,
// or set in a .env file or a service's settings) is refused, saying to write
// the whole path: it was a file in a folder named ~ in the current one,
// which init made, and which a later `rm -rf ~` meant for it would take the
// home folder with.
func TestConfigPathUnderATilde(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Chdir(t.TempDir())
	for _, p := range []string{"~/.config/freshtoken/work.toml", "~", `~\work.toml`} {
		t.Setenv("FRESHTOKEN_CONFIG", p)
		for _, flag := range []string{p, ""} {
			_, err := config.Path(flag)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "~ is your home folder only to a shell; write the whole path, such as "+home) {
				t.Errorf("Path(%q) with $FRESHTOKEN_CONFIG=%q = %v; want an error saying to write the whole path, under %s", flag, p, err, home)
			}
		}
	}
	// ~NAME/ is NAME's home folder to a shell, when NAME is a user here
	// (it was a folder named ~NAME in the current one).
	if me, err := user.Current(); err == nil && filepath.IsAbs(me.HomeDir) && !strings.ContainsAny(me.Username, `/\`) { // DOMAIN\user on Windows
		p := "~" + me.Username + "/.config/freshtoken/work.toml"
		want := "~" + me.Username + " is the home folder of " + me.Username + " only to a shell; write the whole path, such as " + filepath.Join(me.HomeDir, ".config", "freshtoken", "work.toml")
		if _, err := config.Path(p); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Path(%q) = %v; want an error saying %q", p, err, want)
		}
	}
	for _, p := range []string{"~work.toml", "a/~/b.toml", "work~.toml", "~no-such-user-here/work.toml"} {
		if got, err := config.Path(p); err != nil || got != p {
			t.Errorf("Path(%q) = %q, %v; want it as given (no ~ a shell would expand)", p, got, err)
		}
	}
}

func TestClientSecretSources(t *testing.T) {
	ctx := context.Background()
	t.Setenv("FA_SECRET", "  from-env \n")
	t.Setenv("EMPTY_SECRET_VAR", " ")
	t.Setenv("BOM_SECRET", "\ufeff from-file\r\n")
	t.Setenv("PASS_SECRET", "from-pass\nlogin: me@example.com\n") // export PASS_SECRET="$(pass show x)"
	t.Setenv("NOTES_SECRET", " \nlogin: me@example.com\n")        // an entry whose password line is empty
	tests := []struct {
		e       config.Env
		want    string
		wantErr string
	}{
		{config.Env{Name: "a", ClientSecret: " literal "}, "literal", ""},
		{config.Env{Name: "a", ClientSecretEnv: "FA_SECRET"}, "from-env", ""},
		// An unset variable was said to be empty: one exported in another
		// terminal, or in a profile this shell did not read, is not set here.
		{config.Env{Name: "a", ClientSecretEnv: "UNSET_SECRET_VAR"}, "", "$UNSET_SECRET_VAR, which is not set here (an export lasts only in the terminal it was typed in); export UNSET_SECRET_VAR=… first, or put that line in your shell's profile (~/.bashrc, ~/.zshrc)"},
		{config.Env{Name: "a", ClientSecretEnv: "EMPTY_SECRET_VAR"}, "", "$EMPTY_SECRET_VAR, which is empty; export EMPTY_SECRET_VAR=… first"},
		{config.Env{Name: "a", ClientSecretCmd: "echo from-cmd"}, "from-cmd", ""},
		// `pass show` prints the password, then the entry's notes: the
		// secret is the first line. All of it was sent, as no secret.
		{config.Env{Name: "a", ClientSecretCmd: `printf 'from-pass\nlogin: me@example.com\nurl: https://dev.freeagent.com\n'`}, "from-pass", ""},
		{config.Env{Name: "a", ClientSecretCmd: `printf ' from-pass \r\nlogin: me\r\n'`}, "from-pass", ""},
		{config.Env{Name: "a", ClientSecretEnv: "PASS_SECRET"}, "from-pass", ""},
		// An entry whose password line is empty: the first of its notes was
		// sent as the secret. The notes are never quoted.
		{config.Env{Name: "a", ClientSecretCmd: `printf '\r\nlogin: me@example.com\r\n'`}, "", "environment a: its client_secret_cmd printed an empty first line; the secret must be its first line"},
		{config.Env{Name: "a", ClientSecretCmd: `printf '\357\273\277\nfrom-pass\n'`}, "", "printed an empty first line"},
		{config.Env{Name: "a", ClientSecretEnv: "NOTES_SECRET"}, "", "environment a: the client secret comes from $NOTES_SECRET, whose first line is empty; the secret must be its first line"},
		// A file saved as "UTF-8 with BOM" (Notepad, PowerShell 5's
		// Set-Content -Encoding UTF8) and printed by `type` starts with a
		// byte-order mark, which was sent as part of the secret.
		{config.Env{Name: "a", ClientSecretCmd: `printf '\357\273\277from-file\r\n'`}, "from-file", ""},
		{config.Env{Name: "a", ClientSecretEnv: "BOM_SECRET"}, "from-file", ""},
		// The command is never quoted: it may carry a key of its own (a
		// vault token in a curl header), and these lines reach logs.
		{config.Env{Name: "a", ClientSecretCmd: ": hvs.vault-token-1234; exit 3"}, "", "environment a: its client_secret_cmd failed (exit status 3); run it yourself to see why"},
		// It only said "printed nothing", with no next step.
		{config.Env{Name: "a", ClientSecretCmd: ": hvs.vault-token-1234; true"}, "", "environment a: its client_secret_cmd printed nothing; run it yourself: it must print the client secret"},
		{config.Env{Name: "a"}, "", ""},
		{config.Env{Name: "a", Provider: "microsoft"}, "", ""}, // a public client
		// FreeAgent and QuickBooks refuse a client without its secret: the
		// log-in went through the browser only for the exchange to fail.
		{config.Env{Name: "a", Provider: "freeagent"}, "", "provider freeagent needs the app's client secret, and none is configured (FreeAgent's developer dashboard, https://dev.freeagent.com, shows it"},
		{config.Env{Name: "a", Provider: "quickbooks-sandbox", ClientAuth: "body"}, "", "provider quickbooks-sandbox needs the app's client secret"},
		// A client_secret of white space alone is none: it was taken for a
		// secret in the file, and the log-in went through the browser.
		{config.Env{Name: "a", Provider: "freeagent", ClientSecret: " \t "}, "", "provider freeagent needs the app's client secret, and none is configured"},
		// An agent the command starts keeps its output open: it is not
		// waited for (a 30 s wait here, for ever with a real agent).
		{config.Env{Name: "a", ClientSecretCmd: "echo from-cmd; sleep 30 &"}, "from-cmd", ""},
		// A flood is cut off, not read whole into memory.
		{config.Env{Name: "a", ClientSecretCmd: "yes | tr -d '\\n'"}, "", "printed more than 64 KiB"},
	}
	for _, tt := range tests {
		var (
			got string
			err error
		)
		done := make(chan struct{})
		go func() {
			defer close(done)
			got, err = tt.e.ClientSecretValue(ctx)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%+v: still waiting for the command", tt.e)
		}
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, config.ErrInvalid) {
				t.Errorf("%+v: err = %v, want %q", tt.e, err, tt.wantErr)
				continue
			}
			if tt.e.ClientSecretCmd != "" && strings.Contains(err.Error(), tt.e.ClientSecretCmd) {
				t.Errorf("%+v: err = %v; it quotes the command", tt.e, err)
			}
			if strings.Contains(err.Error(), "me@example") || strings.Contains(err.Error(), "from-pass") {
				t.Errorf("%+v: err = %v; it quotes what was printed", tt.e, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%+v: got %q, %v; want %q", tt.e, got, err, tt.want)
		}
	}
}

// TestClientSecretCmdErrorMasksSecretShapedWords: the first line of a
// failing client_secret_cmd's error output is quoted in its one-line error,
// which reaches logs, journals and the proxy's status page. A malformed
// command put a token there (sh: 1: hvs.…: not found, the token run as a
// command), or the command printed one (curl's URL with its key), whole;
// the words shaped like secrets are now masked, the rest kept readable.
func TestClientSecretCmdErrorMasksSecretShapedWords(t *testing.T) {
	const token = "hvs.CAESIJx7Qm2pLw9RtYb3NcVd8KfGh1ZsUaEo5Wi4Xj6Tn0Pq"
	for cmd, want := range map[string]string{
		token: "hvs.CAES…(52 chars): ", // then "not found" as the system's sh says it
		"echo 'curl: (22) https://vault.example.com/v1/x?token=Zq4mT8xWb2Ls9Kd7Rf3Vn6Hy1Pc5Ga0E returned 403' >&2; exit 22": "(exit status 22: curl: (22) https://vault.example.com/v1/x?token=Zq4mT8xW…(32 chars) returned 403); run it yourself to see why",
		"echo 'Error: Vault is sealed' >&2; exit 2": "(exit status 2: Error: Vault is sealed); run it yourself to see why",
	} {
		_, err := (&config.Env{Name: "a", ClientSecretCmd: cmd}).ClientSecretValue(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Zq4mT8xWb2") || strings.Contains(err.Error(), token) {
			t.Errorf("client_secret_cmd %q: err = %v; want it to hold %q", cmd, err, want)
		}
	}
}

// TestABlankClientSecretIsNone: status and the proxy page tell a FreeAgent
// or QuickBooks environment whose client_secret is white space alone as one
// with none, as they do one with client_secret = "": it was said to be in
// the config file, with no problem (status exit 0).
func TestABlankClientSecretIsNone(t *testing.T) {
	e := config.Env{Name: "a", Provider: "freeagent-sandbox", ClientSecret: "   "}
	if where, problem := e.ClientSecretWhere(), e.ClientSecretProblem(); where != "none" || !strings.Contains(problem, "--client-secret-env NAME") {
		t.Fatalf("client_secret = %q: where %q, problem %q; want none, and what to set", e.ClientSecret, where, problem)
	}
}

// TestAVariableWithAnEmptyFirstLineIsAProblem: status and the proxy page
// tell a client_secret_env whose first line is empty (set from `pass show`
// of an entry with no password line) as a problem, never quoting it: the
// notes' first line was taken for the secret.
func TestAVariableWithAnEmptyFirstLineIsAProblem(t *testing.T) {
	t.Setenv("NOTES_SECRET", "\nlogin: me@example.com\n")
	e := config.Env{Name: "a", Provider: "freeagent-sandbox", ClientSecretEnv: "NOTES_SECRET"}
	if problem := e.ClientSecretProblem(); !strings.Contains(problem, "$NOTES_SECRET has an empty first line here") || !strings.Contains(problem, "export NOTES_SECRET=…) with the secret on its first line") || strings.Contains(problem, "me@") {
		t.Fatalf("a variable whose first line is empty: problem %q; want it told, never quoted", problem)
	}
}

func TestProductionIsMarked(t *testing.T) {
	for _, tt := range []struct {
		name, api string
		want      bool
	}{
		{"production", "https://api.freeagent.com/", true},
		{"books", "https://api.freeagent.com/", true},
		{"sandbox", "https://api.sandbox.freeagent.com/", false},
		{"books", "https://api.sandbox.freeagent.com/", false},
		{"prod", "http://127.0.0.1:8900/", false},
		// This machine however its address is spelled, and a host that
		// only begins like one is not this machine.
		{"books", "http://localhost.:8900/", false},
		{"books", "http://[::ffff:127.0.0.1]:8900/", false},
		{"books", "http://127.1:8900/", false},
		{"books", "https://127.example.com/", true},
		{"staging-books", "https://api.example.com/", false},
		{"myapi", "https://api.example.com/", true},
		// A name or host that merely holds such a word is no sandbox, nor
		// is a provider's production API under any name.
		{"devon", "https://api.freeagent.com/", true},
		{"test", "https://api.freeagent.com/", true},
		{"sanderson", "https://api.example.com/", true},
		{"books", "https://api.contestpro.com/", true},
		{"latest", "https://api.example.com/", true},
		{"books", "https://api.test.example.com/", false},
		{"acme-sandbox2", "https://api.example.com/", false},
		{"books", "https://sandbox-quickbooks.api.intuit.com/", false},
		{"dev", "https://quickbooks.api.intuit.com/", true},
		{"Testing", "https://api.example.com/", false},
	} {
		e := &config.Env{Name: tt.name, APIURL: tt.api}
		if got := e.IsProduction(); got != tt.want {
			t.Errorf("%s at %s: production %v, want %v", tt.name, tt.api, got, tt.want)
		}
	}
}

func TestIsEnvVarName(t *testing.T) {
	for name, want := range map[string]bool{
		"FA_SECRET": true, "_x": true, "a1": true, "A": true,
		"": false, "1A": false, "A-B": false, "s3cr3t/+=": false, "A B": false, "É": false,
	} {
		if got := configfile.IsEnvVarName(name); got != want {
			t.Errorf("IsEnvVarName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestTokenFileCannotReplaceWhatItMustNot: the keeper replaces a
// token_file whole with an access token. Named as the stored tokens'
// file (or anything else in the store's folder), the configuration
// file, or another environment's token file, it would destroy the
// refresh token, the configuration, or keep two tokens flipping in one
// file; each is refused at its line.
func TestTokenFileCannotReplaceWhatItMustNot(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	t.Setenv("XDG_STATE_HOME", state)
	p := filepath.Join(dir, "config.toml")
	for _, d := range []string{filepath.Join(dir, "tokens"), filepath.Join(state, "freshtoken")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(dir, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(corpnet.NewCA(t).File)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(name, tokenFile string) string {
		return "[env." + name + "]\nprovider = \"freeagent\"\nclient_id = \"x\"\ntoken_file = \"" + tokenFile + "\"\n"
	}
	for _, tt := range []struct{ name, text, want string }{
		{"the stored tokens' file", "[store]\nurl = \"file://" + dir + "/tokens\"\n" + env("a", dir+"/tokens/a.json"),
			":6: env.a.token_file: is inside the token store's folder"},
		{"the default store's folder", env("a", state+"/freshtoken/a.json"), ":4: env.a.token_file: is inside the token store's folder"},
		{"the configuration file", env("a", dir+"/./config.toml"), ":4: env.a.token_file: is this configuration file"},
		{"another environment's", env("a", dir+"/token") + env("b", dir+"/token"), ":8: env.b.token_file: is also env.a's token_file"},
		// The same files by another path (a symbolic link to a folder, as
		// macOS's /tmp is /private/tmp): the keeper replaced the stored
		// record with an access token, and the grant was lost.
		{"the stored tokens' file by a linked folder", "[store]\nurl = \"file://" + dir + "/tokens\"\n" + env("a", dir+"/link/tokens/a.json"),
			":6: env.a.token_file: is inside the token store's folder"},
		{"the default store's folder by a linked folder", env("a", dir+"/link/state/freshtoken/a.json"), ":4: env.a.token_file: is inside the token store's folder"},
		{"the configuration file by a linked folder", env("a", dir+"/link/config.toml"), ":4: env.a.token_file: is this configuration file"},
		{"another environment's by a linked folder", env("a", dir+"/token") + env("b", dir+"/link/token"), ":8: env.b.token_file: is also env.a's token_file"},
		// The client's private key, or the certificates it trusts: the
		// keeper replaced the key with an access token, and it was lost.
		{"its key_file", env("a", dir+"/key.pem") + "client_auth = \"private_key_jwt\"\nkey_file = \"" + dir + "/link/key.pem\"\n",
			":4: env.a.token_file: is env.a's key_file, which writing it would destroy; name a file of its own"},
		{"another environment's key_file", env("a", dir+"/key.pem") + env("b", dir+"/b-token") + "client_auth = \"private_key_jwt\"\nkey_file = \"" + dir + "/key.pem\"\n",
			":4: env.a.token_file: is env.b's key_file"},
		{"its ca_file", env("a", dir+"/ca.pem") + "ca_file = \"" + dir + "/ca.pem\"\n", ":4: env.a.token_file: is env.a's ca_file"},
		{"the top-level ca_file", "ca_file = \"" + dir + "/ca.pem\"\n" + env("a", dir+"/link/ca.pem"), ":5: env.a.token_file: is the ca_file"},
		// A folder (a path written as the folder to put it in): no file
		// can replace it, and the keeper said "file exists" every minute.
		{"a folder", env("a", dir+"/tokens/"), ":4: env.a.token_file: is a folder; name a file in it, such as " + filepath.Join(dir, "tokens", "token")},
		{"in a file", env("a", dir+"/ca.pem/token"), ":4: env.a.token_file: is in " + filepath.Join(dir, "ca.pem") + ", which is a file, not a folder"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(p, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(p)
			if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want one naming the file and saying %q", err, tt.want)
			}
		})
	}
	if err := os.WriteFile(p, []byte(env("a", dir+"/a-token")+env("b", dir+"/b-token")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(p); err != nil {
		t.Fatalf("a token file of its own for each environment: %v", err)
	}
}

// apiCountingConns is an API answering {} to every request, counting its
// connections that reach state.
func apiCountingConns(t *testing.T, state http.ConnState) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("{}")) }))
	api.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == state {
			n.Add(1)
		}
	}
	api.Start()
	t.Cleanup(api.Close)
	return api, &n
}

// loggedInAt writes a configuration whose environment idp has its API and
// provider at api, and stores a valid token for it; it returns the
// configuration's path.
func loggedInAt(t *testing.T, api *httptest.Server) string {
	t.Helper()
	dir := t.TempDir()
	path := idpConfig(t, dir, fmt.Sprintf("api_url = %q\nauth_url = %q\ntoken_url = %q\nclient_id = \"id\"\nclient_secret = \"s\"\n", api.URL+"/", api.URL+"/auth", api.URL+"/token"))
	rec := &store.Record{AccessToken: "at", TokenType: "Bearer", RefreshToken: "rt", IssuedAt: time.Now(), Expiry: time.Now().Add(time.Hour),
		Grant: store.Grant{TokenURL: api.URL + "/token", ClientID: "id", Type: "authorization_code"}}
	if err := filestore.New(filepath.Join(dir, "state")).Save(t.Context(), "idp", rec); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSourcesOpenedPerJobShareConnections: a program that opens a Source for
// each job or request, as library users do, reuses the connections earlier
// ones opened, instead of leaving each Source's idle connection (a socket
// and two goroutines) open for a minute and a half, which runs a busy
// program out of file descriptors.
func TestSourcesOpenedPerJobShareConnections(t *testing.T) {
	api, conns := apiCountingConns(t, http.StateNew)
	path := loggedInAt(t, api)
	for range 20 {
		src, err := config.Open(t.Context(), config.OpenOptions{Path: path, Env: "idp"})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := src.Client().Get(src.APIURL() + "v2/company")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("20 Sources opened one after another made %d connections to the API; want them to share one", n)
	}
}

// TestOpenKeepsNothingOfItsContext: a Source that Open returned renews
// and calls the API after the context given to Open has ended, as a
// program that opens its Source in a set-up function with a context of
// that function's expects: Open's documentation said nothing of what the
// context bounds, and a program could not tell whether to keep it alive.
func TestOpenKeepsNothingOfItsContext(t *testing.T) {
	p, base := devserver.Start(t, devprovider.Options{AutoApprove: true})
	path := idpConfig(t, t.TempDir(), "api_url = \""+base+"/\"\nauth_url = \""+base+"/v2/approve_app\"\ntoken_url = \""+base+"/v2/token_endpoint\"\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\n")
	ctx, cancel := context.WithCancel(t.Context())
	src, err := config.Open(ctx, config.OpenOptions{Path: path, Env: "idp"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	devserver.LoginSource(t, src, time.Now().Add(-2*time.Hour)) // its token has expired
	resp, err := src.Client().Get(src.APIURL() + "v2/company")
	if err != nil {
		t.Fatalf("a request after Open's context ended: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || p.Stats().Refreshes != 1 {
		t.Fatalf("%s after %d renewals; want 200 OK after one", resp.Status, p.Stats().Refreshes)
	}
}

// TestOpenedSourcesClientClosesIdleConnections: CloseIdleConnections on
// the client of a Source that Open returned closes the idle connections to
// the API, as on any http.Client; the transport underneath did not pass it
// on, so a program dropping its connections (after a network change, or
// before exiting) kept them.
func TestOpenedSourcesClientClosesIdleConnections(t *testing.T) {
	api, closed := apiCountingConns(t, http.StateClosed)
	path := loggedInAt(t, api)
	src, err := config.Open(t.Context(), config.OpenOptions{Path: path, Env: "idp"})
	if err != nil {
		t.Fatal(err)
	}
	c := src.Client()
	resp, err := c.Get(src.APIURL() + "v2/company")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.CloseIdleConnections()
	testenv.WaitFor(t, "the idle connection to the API to close", func() bool { return closed.Load() == 1 })
}

// TestReopeningARedisStoreOpensNoMoreConnections: a long-running proxy
// opens an environment again at each of its keeper's looks (a minute) and
// after each edit of the file; each opening of a Redis store kept a
// connection open for the process's life, so Redis (maxclients) or the
// proxy (its descriptors) ran out within days.
func TestReopeningARedisStoreOpensNoMoreConnections(t *testing.T) {
	srv := redistest.Start(t)
	p := write(t, "[store]\nurl = \""+srv.URL+"\"\n\n[env.dev]\nprovider = \"freeagent-sandbox\"\nclient_id = \"id\"\nclient_secret = \"s\"\n")
	for range 20 {
		src, err := config.Open(t.Context(), config.OpenOptions{Path: p, Env: "dev"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Record(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Clients(t); n > 2 {
		t.Errorf("%d connections to Redis after opening one environment 20 times, want at most 2", n)
	}
}

// TestClientSecretCmdPastItsTime: a client_secret_cmd ended at its time
// limit (a password manager still asking) says so, and what to do: it said
// "failed (signal: killed)", as if the command had crashed.
func TestClientSecretCmdPastItsTime(t *testing.T) {
	started := filepath.Join(t.TempDir(), "started")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	e := config.Env{Name: "a", ClientSecretCmd: "touch " + started + "; sleep 60"}
	done := make(chan error, 1)
	go func() {
		_, err := e.ClientSecretValue(ctx)
		done <- err
	}()
	testenv.WaitFor(t, "the command to start", func() bool { _, err := os.Stat(started); return err == nil })
	cancel(context.DeadlineExceeded) // as its time limit does
	err := <-done
	if err == nil || !errors.Is(err, config.ErrInvalid) || strings.Contains(err.Error(), started) ||
		!strings.Contains(err.Error(), "environment a: its client_secret_cmd did not print the secret in the time it is given, and was ended") || strings.Contains(err.Error(), "killed") {
		t.Errorf("err = %v; want a configuration error saying the command ran past its time", err)
	}
}

// TestMicrosoftScopesNameTheAPI: Microsoft's identity platform addresses
// each access token to the API its scopes name (api://x/read: api://x;
// User.Read or https://graph.microsoft.com/Mail.Read: Graph, its default).
// Two configurations of one app, tenant and environment name, one for
// Graph and one for the programmer's own API, shared the stored tokens
// (scopes are not part of a grant elsewhere), and the second sent the
// first's Graph token to its API. Now the tokens are bound to the API the
// scopes name; scopes of one API still share them.
func TestMicrosoftScopesNameTheAPI(t *testing.T) {
	conf := func(dir, env string) string {
		return fmt.Sprintf("[store]\nurl = %q\n\n[env.ms]\n%sclient_id = \"app\"\nclient_secret_env = \"S\"\n", "file://"+dir, env)
	}
	const ms = "provider = \"microsoft\"\ntenant = \"contoso.onmicrosoft.com\"\n"
	entra := "provider = \"generic\"\napi_url = \"https://api.example.com/\"\nauth_url = \"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize\"\ntoken_url = \"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token\"\n"
	for _, tt := range []struct {
		name          string
		first, second string
		shared        bool
	}{
		{"Graph, then an API of its own", ms + "scopes = [\"User.Read\"]\n", ms + "api_url = \"https://api.example.com/\"\nscopes = [\"api://x/read\"]\n", false},
		{"an API of its own, then Graph", ms + "scopes = [\"api://x/read\", \"api://x/write\"]\n", ms + "scopes = [\"openid\", \"Mail.Read\"]\n", false},
		{"two APIs of its own", ms + "scopes = [\"api://x/.default\"]\n", ms + "scopes = [\"https://y.example/read\"]\n", false},
		{"without the preset", entra + "scopes = [\"offline_access\", \"https://graph.microsoft.com/User.Read\"]\n", entra + "scopes = [\"offline_access\", \"api://x/read\"]\n", false},
		{"Graph written two ways", ms + "scopes = [\"User.Read\"]\n", ms + "scopes = [\"https://graph.microsoft.com/Mail.Read\", \"profile\"]\n", true},
		{"one API, other scopes", ms + "scopes = [\"api://x/read\"]\n", ms + "scopes = [\"api://x/write\"]\n", true},
		{"elsewhere, scopes are not the API", "provider = \"generic\"\napi_url = \"https://api.example.com/\"\nauth_url = \"https://idp.example/auth\"\ntoken_url = \"https://idp.example/token\"\nscopes = [\"https://api.example.com/read\"]\n",
			"provider = \"generic\"\napi_url = \"https://api.example.com/\"\nauth_url = \"https://idp.example/auth\"\ntoken_url = \"https://idp.example/token\"\nscopes = [\"https://other.example/read\"]\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("S", "secret")
			dir := filepath.Join(t.TempDir(), "tokens")
			first, err := config.Open(t.Context(), config.OpenOptions{Path: write(t, conf(dir, tt.first)), Env: "ms"})
			if err != nil {
				t.Fatal(err)
			}
			tok := (&oauth2.Token{AccessToken: "first-access-token", RefreshToken: "first-refresh-token", Expiry: time.Now().Add(time.Hour)})
			if err := first.SaveLogin(t.Context(), tok, time.Now()); err != nil {
				t.Fatal(err)
			}
			second, err := config.Open(t.Context(), config.OpenOptions{Path: write(t, conf(dir, tt.second)), Env: "ms"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := second.Token()
			switch {
			case tt.shared && err != nil:
				t.Fatalf("the second configuration, of the same API: %v", err)
			case !tt.shared && !errors.Is(err, freshtoken.ErrLoginRequired):
				t.Fatalf("the second configuration got %v, %v; want log-in needed", got, err)
			}
			if _, err := first.Token(); !tt.shared && err != nil {
				t.Fatalf("the first configuration: %v", err)
			}
		})
	}
}

// TestBoundResources: what a proxy and `login` beside it compare, as the
// stored tokens are bound: the resource indicators, or at Microsoft the
// APIs the scopes name but Graph.
func TestBoundResources(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want []string
	}{
		{"provider = \"microsoft\"\nscopes = [\"User.Read\", \"https://graph.microsoft.com/Mail.Read\"]\n", nil},
		{"provider = \"microsoft\"\nscopes = [\"api://x/read\", \"api://x/.default\", \"openid\"]\n", []string{"api://x", "api://x"}},
		{"provider = \"microsoft\"\nscopes = [\"api://x/read\"]\nresource = [\"https://r.example/\"]\n", []string{"https://r.example/"}},
		{"provider = \"generic\"\napi_url = \"https://api.example.com/\"\nissuer = \"https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0\"\nscopes = [\"https://y.example/read\"]\n", []string{"https://y.example"}},
		{"provider = \"generic\"\napi_url = \"https://api.example.com/\"\nauth_url = \"https://contoso.b2clogin.com/a\"\ntoken_url = \"https://contoso.b2clogin.com/t\"\nscopes = [\"https://contoso.onmicrosoft.com/api/read\"]\n", []string{"https://contoso.onmicrosoft.com/api"}},
		{"provider = \"google\"\nscopes = [\"https://www.googleapis.com/auth/drive.readonly\"]\n", nil},
	} {
		f := load(t, "[env.e]\n"+tt.env+"client_id = \"app\"\nclient_secret_env = \"S\"\n")
		if got := f.Envs["e"].BoundResources(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q; want %q", tt.env, got, tt.want)
		}
	}
}

// TestLoadOfNoPathReadsTheDefault: Load("") reads the file Open reads for
// an OpenOptions.Path of "" ($FRESHTOKEN_CONFIG, else the default): it
// read no file and answered an empty configuration, whose Open then said
// `the configuration file  does not exist`, naming none, so a program that
// loads the file first (as docs/library.md shows) found no environment
// that config.Open finds.
func TestLoadOfNoPathReadsTheDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("[env.dev]\nprovider = \"freeagent-sandbox\"\nclient_id = \"id\"\nclient_secret_env = \"DEV_SECRET\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FRESHTOKEN_CONFIG", path)
	f, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != path || !f.Exists || !slices.Equal(f.Names(), []string{"dev"}) {
		t.Errorf(`Load("") = %s, exists %v, environments %v; want %s, which names dev`, f.Path, f.Exists, f.Names(), path)
	}
}

// TestParseErrorsRepeatNoValue: a value the parser cannot read is not
// quoted back in the error, for it may be a secret: the parser's words
// held it whole for one that looks like a number ("Invalid integer
// \"0123456789\": cannot have leading zeroes"), a version, a date.
func TestParseErrorsRepeatNoValue(t *testing.T) {
	for _, v := range []string{"0123456789", "1.5.3", "12__34", "2024-01-01T99:00", "+0x1f", "1_000_", "1e5e5", "99999999999999999999", "2024-13-45", "0xdeadbeefZZ", "hunter2xyz", "9hunter2", "1.2.3.4"} {
		p := write(t, "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = "+v+"\n")
		_, err := config.Load(p)
		want := `:4: env.a.client_secret: is text without quotes; write it in double quotes: client_secret = "…"`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("client_secret = %s: error %v; want it to contain %q", v, err, want)
		}
		if err != nil && strings.Contains(strings.TrimPrefix(err.Error(), p), strings.TrimLeft(v, "+")[:3]) {
			t.Errorf("client_secret = %s: error %q repeats the value", v, err)
		}
	}
	p := write(t, "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nscopes = [read, write]\n")
	if _, err := config.Load(p); err == nil || !strings.Contains(err.Error(), `:4: env.a.scopes: holds text without quotes; write each item in double quotes: scopes = ["…", "…"]`) {
		t.Errorf("a list of words without quotes: error %v", err)
	}
}

// TestParseErrorsRepeatNoValueOfAnInlineTable: a value written without
// quotes in an inline table (token_params = { api_key = 0123456789 }, the
// parameters a provider's API key goes in) was quoted back whole in the
// parser's words ("Invalid integer \"0123456789\"", "Invalid float value",
// "is out of range for int64"), as of client_secret before; it says what to
// write, naming the inline key, and repeats nothing of it.
func TestParseErrorsRepeatNoValueOfAnInlineTable(t *testing.T) {
	for _, c := range []struct{ line, key, value string }{
		{"token_params = { api_key = 0123456789 }", "env.a.token_params.api_key", "0123456789"},
		{"token_params = { audience = \"x\", api_key = 1.5.3.9 }", "env.a.token_params.api_key", "1.5.3.9"},
		{"token_params = {api_key=12__3456}", "env.a.token_params.api_key", "12__3456"},
		{"token_params = { api_key = 99999999999999999999 }", "env.a.token_params.api_key", "99999999999999999999"},
		{"token_params = { api_key = 2024-01-01T12zz }", "env.a.token_params.api_key", "2024-01-01T12"},
		{"auth_params = { a = { client_secret = 0123456789 } }", "env.a.auth_params.a.client_secret", "0123456789"},
		{"client_secret = { v = 0123456789 }", "env.a.client_secret.v", "0123456789"},
	} {
		p := write(t, "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = \"s\"\n"+c.line+"\n")
		_, err := config.Load(p)
		name := c.key[strings.LastIndex(c.key, ".")+1:]
		want := fmt.Sprintf(`:5: %s: is text without quotes; write it in double quotes: %s = "…"`, c.key, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v; want it to contain %q", c.line, err, want)
		}
		if err != nil && strings.Contains(strings.ToLower(strings.TrimPrefix(err.Error(), p)), strings.ToLower(c.value[:5])) {
			t.Errorf("%s: error %q repeats the value", c.line, err)
		}
	}
}

// TestAVariableNamedInMixedCaseIsNoSecret: a client_secret_env naming a
// variable in mixed case with a digit (Auth0_Client_Secret) was refused as
// the secret itself wherever the variable was not set, as in a service,
// which sees none of the shell's variables: the whole file failed to load,
// every other environment's tokens with it, where it had loaded before. A
// name holding a word a variable for a secret is named by (secret, token,
// key, pass) is a name; a generated secret holds none.
func TestAVariableNamedInMixedCaseIsNoSecret(t *testing.T) {
	for _, name := range []string{"Auth0_Client_Secret", "Auth0ClientSecret", "MyApp2ApiKeyValue", "Okta1AccessToken", "freeagent2password"} {
		p := write(t, "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_env = \""+name+"\"\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"y\"\nclient_secret = \"s\"\n")
		if _, err := config.Load(p); err != nil {
			t.Errorf("client_secret_env = %q, not set: %v; want the file loaded", name, err)
		}
	}
	for _, secret := range []string{"Zx81hQ2mP0wLk7sT3vB9hunter2", "f1a9c0d7e5b4a2f8c6d1e0b9a7"} {
		if !configfile.SecretForAName(secret) {
			t.Errorf("%s: not taken for a secret", secret)
		}
	}
}

// TestAMistypedStoreURLShowsNoPassword: a Redis URL with its password
// typed without its scheme's "redis:" (//user:pw@host:6379/0), with a
// colon left out (rediss//user:pw@…), or with one slash (redis:/user:pw@…)
// was quoted back whole, the password with it, by the store URL's
// messages ("is a folder's path; write it as a URL: file:////user:pw@…",
// "is no URL", "unsupported scheme"), bound for logs and terminals; they
// show the URL without it, and say what to write.
func TestAMistypedStoreURLShowsNoPassword(t *testing.T) {
	for _, url := range []string{"//default:hunter2pass@redis.internal:6379/0", "rediss//default:hunter2pass@h:6379/0", "redis:/default:hunter2pass@h:6379/0", "redis:/default:hunt@er2pass@h:6379/0", "//:hunter2pass@h"} {
		p := write(t, "[store]\nurl = \""+url+"\"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = \"s\"\n")
		_, err := config.Load(p)
		if err == nil || strings.Contains(err.Error(), "hunter2pass") || strings.Contains(err.Error(), "er2pass") || !strings.Contains(err.Error(), ":2: store.url: ") {
			t.Errorf("url = %q: error %v; want it told at its line without the password", url, err)
		}
	}
	p := write(t, "[store]\nurl = \"//default:hunter2pass@redis.internal:6379/0\"\n")
	if _, err := config.Load(p); err == nil || !strings.Contains(err.Error(), "redis://") || strings.Contains(err.Error(), "file:") && !strings.Contains(err.Error(), "file:///path") {
		t.Errorf("a Redis URL without its scheme: error %v; want it to say to write redis://, not a file URL of it", err)
	}
}

// TestWhiteSpaceAroundAWordIsTakenOff: a space left at the end of a word
// (provider = "freeagent ", copied with the space after it) was an
// unknown provider, client_auth or default_env, told with the space
// hardly to be seen inside the quotes, as grant's and the URLs' are taken
// off.
func TestWhiteSpaceAroundAWordIsTakenOff(t *testing.T) {
	f := load(t, "default_env = \"a \"\n[env.a]\nprovider = \" freeagent-sandbox\t\"\nclient_id = \"x\"\nclient_auth = \"body \"\n")
	e, err := f.Select("")
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "a" || e.Provider != "freeagent-sandbox" || e.ClientAuth != "body" || e.APIURL != "https://api.sandbox.freeagent.com/" {
		t.Fatalf("got %q %q %q %q", e.Name, e.Provider, e.ClientAuth, e.APIURL)
	}
}

// TestAGeneratedSecretHoldingAWordByChanceIsASecret: a generated secret
// pasted as client_secret_env that happens to hold "key" or "pass" in some
// case (u3kEy7…, …pasSw0…: about one base62 secret in 400) was taken for a
// variable's name, since a name holding such a word is one, and every
// renewal then quoted it in its error, "$u3kEy7… is not set here", into
// logs. A word counts only standing as a word of the name (Auth0_Client_Secret,
// MyApp2ApiKeyValue, freeagent2password), as a generated secret seldom has it.
func TestAGeneratedSecretHoldingAWordByChanceIsASecret(t *testing.T) {
	for _, secret := range []string{"u3kEy7RbX9qLm2Wz5TnA", "Rt5nXpasSw0q9Lm2Wz7B", "h4Tokenq8Zr2Lm9Xw3vB"} {
		p := write(t, "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_env = \""+secret+"\"\n")
		_, err := config.Load(p)
		if err == nil || !strings.Contains(err.Error(), "looks like the secret itself") || strings.Contains(err.Error(), secret) {
			t.Errorf("client_secret_env = %q, not set: %v; want it refused as the secret itself, not shown", secret, err)
		}
	}
}

// TestOpenErrorsMatchErrInvalid: what Open's doc promises a program of its
// errors: a configuration that cannot be used (a file missing, a mistake
// in it, one that others may write, an environment not configured) is one
// line, naming the file, that matches ErrInvalid.
func TestOpenErrorsMatchErrInvalid(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.toml")
	mistake := write(t, "[env.a]\nprovider = \"freeagent\"\n")
	good := write(t, "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n")
	loose := write(t, "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n")
	if err := os.Chmod(loose, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, env string }{
		{"a file missing", missing, "a"},
		{"a mistake in it", mistake, "a"},
		{"writable by others", loose, "a"},
		{"an environment not configured", good, "b"},
	} {
		_, err := config.Open(t.Context(), config.OpenOptions{Path: tc.path, Env: tc.env})
		if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want one line naming %s, matching config.ErrInvalid", tc.name, err, tc.path)
		}
	}
}
