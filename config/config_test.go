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
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
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
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
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

func TestWriteEnvKeepsTheRest(t *testing.T) {
	p := write(t, `# my freshtoken config
default_env = "sandbox"

[env.sandbox]
# the sandbox app
provider = "freeagent-sandbox"
client_id = "old"

[env.production]   # keep me
provider = "freeagent"
client_id = "prod"
`)
	f, err := configedit.WriteEnv(p, "sandbox", config.EnvSettings{Provider: "freeagent-sandbox", ClientID: "new", ClientSecretEnv: "S"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if f.Envs["sandbox"].ClientID != "new" || f.Envs["production"].ClientID != "prod" {
		t.Fatalf("envs after write: %+v %+v", f.Envs["sandbox"], f.Envs["production"])
	}
	text, _ := os.ReadFile(p)
	for _, keep := range []string{"# my freshtoken config", "[env.production]   # keep me", `default_env = "sandbox"`} {
		if !strings.Contains(string(text), keep) {
			t.Errorf("lost %q:\n%s", keep, text)
		}
	}
	if strings.Count(string(text), "default_env") != 1 || strings.Contains(string(text), `"old"`) {
		t.Errorf("bad rewrite:\n%s", text)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %o, want 600", fi.Mode().Perm())
	}
	if _, err := configedit.WriteEnv(p, "broken", config.EnvSettings{Provider: "freeagent"}, false); err == nil {
		t.Fatal("wrote an environment without a client id")
	}
	if after, _ := os.ReadFile(p); string(after) != string(text) {
		t.Fatal("a rejected write changed the file")
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

// TestRewritesOfFilesFromOtherEditors: init and remove edit a file as
// other editors save it (a byte-order mark, CRLF line ends, a line longer
// than 64 KiB, a comment after default_env, a multi-line string) without losing or keeping
// anything they should not, or failing on what Load reads.
func TestRewritesOfFilesFromOtherEditors(t *testing.T) {
	env := func(name, id string) string {
		return "[env." + name + "]\nprovider = \"freeagent\"\nclient_id = \"" + id + "\"\nclient_secret_env = \"S\"\n"
	}
	for _, tc := range []struct{ name, text string }{
		{"byte-order mark", "\ufeff" + env("dev", "old") + env("other", "keep")},
		{"byte-order mark and CRLF", "\ufeff" + strings.ReplaceAll(env("dev", "old")+env("other", "keep"), "\n", "\r\n")},
		{"CRLF", strings.ReplaceAll(`default_env = "dev"`+"\n"+env("dev", "old")+env("other", "keep"), "\n", "\r\n")},
		{"long line", env("dev", "old") + "# " + strings.Repeat("x", 70<<10) + "\n" + env("other", "keep")},
		{"comment after default_env", `default_env = "dev"  # the one I use` + "\n" + env("dev", "old") + env("other", "keep")},
		{"lines like a header and a comment in a multi-line string", // a shell test in a client_secret_cmd: the edit took it for a table's header and cut the string in two
			"[env.other]\nprovider = \"freeagent\"\nclient_id = \"keep\"\nclient_secret_cmd = \"\"\"\n[ -f ~/.s ] && cat ~/.s\n[env.dev]\n# not a comment\n\"\"\"\n" + env("dev", "old")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, tc.text)
			if _, err := config.Load(p); err != nil {
				t.Fatal(err)
			}
			f, err := configedit.RemoveEnv(write(t, tc.text), "dev")
			if err != nil {
				t.Fatalf("RemoveEnv: %v", err)
			}
			if _, ok := f.Envs["dev"]; ok || f.Envs["other"] == nil {
				t.Fatalf("after RemoveEnv of the file as it was: envs %v", f.Names())
			}
			sameLineEnds := func(edit string) {
				t.Helper()
				got, _ := os.ReadFile(p)
				if crlf := strings.Count(string(got), "\r\n"); strings.Contains(tc.text, "\r\n") && crlf != strings.Count(string(got), "\n") || !strings.Contains(tc.text, "\r") && crlf > 0 {
					t.Errorf("after %s, the file's line ends changed:\n%q", edit, got)
				}
				if bom := "\ufeff"; strings.HasPrefix(string(got), bom) != strings.HasPrefix(tc.text, bom) || strings.Count(string(got), bom) > 1 {
					t.Errorf("after %s, the file's byte-order mark changed:\n%.40q", edit, got)
				}
			}
			f, err = configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "new", ClientSecretEnv: "S"}, true)
			if err != nil {
				t.Fatalf("WriteEnv: %v", err)
			}
			if f.Envs["dev"].ClientID != "new" || f.Envs["other"] == nil || f.Envs["other"].ClientID != "keep" {
				t.Fatalf("after WriteEnv: dev %+v, other %+v", f.Envs["dev"], f.Envs["other"])
			}
			sameLineEnds("WriteEnv")
			f, err = configedit.RemoveEnv(p, "dev")
			if err != nil {
				t.Fatalf("RemoveEnv: %v", err)
			}
			sameLineEnds("RemoveEnv")
			if _, ok := f.Envs["dev"]; ok || f.Envs["other"] == nil || f.Envs["other"].ClientID != "keep" {
				t.Fatalf("after RemoveEnv: envs %v", f.Names())
			}
			if text, _ := os.ReadFile(p); strings.Contains(string(text), "default_env") {
				t.Errorf("default_env still names the removed environment:\n%.300s", text)
			}
		})
	}
}

// TestEditsKeepTheCommentsAboveTheNextTable: init and remove rewrite one
// environment's table; the comments written above the table after it
// belong to that one and stay where they are (they went with the table
// before them).
func TestEditsKeepTheCommentsAboveTheNextTable(t *testing.T) {
	const above = "# my live books: careful\n# (ask Sam first)\n[env.other]\n"
	text := "[env.dev]\nprovider = \"freeagent\"\nclient_id = \"old\"\nclient_secret_env = \"S\"\n\n" +
		above + "provider = \"freeagent\"\nclient_id = \"keep\"\nclient_secret_env = \"S\"\n"
	p := write(t, text)
	if _, err := configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "new", ClientSecretEnv: "S"}, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !strings.Contains(string(got), above) || !strings.Contains(string(got), `client_id = "new"`) {
		t.Fatalf("after WriteEnv of dev:\n%s", got)
	}
	if _, err := configedit.RemoveEnv(p, "dev"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !strings.HasPrefix(string(got), above) {
		t.Fatalf("after RemoveEnv of dev:\n%s", got)
	}
}

// TestEditsKeepTheCommentsAfterTheLastTable: the comments after the last
// table's keys are the file's, not the table's: init rewriting that table
// and remove taking it out both keep them (they went with the table, as
// those above the next table once did). remove takes with a table the
// comments written directly above its header, as those above the next
// table are its own when the table before it is rewritten.
func TestEditsKeepTheCommentsAfterTheLastTable(t *testing.T) {
	const (
		other = "[env.other]\nprovider = \"freeagent\"\nclient_id = \"keep\"\nclient_secret_env = \"S\"\n\n"
		a     = "[env.a]\nprovider = \"freeagent-sandbox\"\nclient_id = \"x\"\nclient_secret_env = \"S\"\n"
		notes = "# my notes about the production app\n# client_id for prod is in 1Password"
	)
	settings := config.EnvSettings{Provider: "freeagent-sandbox", ClientID: "new", ClientSecretEnv: "S"}
	for _, tc := range []struct{ name, text string }{
		{"after another table", other + a + notes + "\n"},
		{"no final newline", other + a + notes},
		{"CRLF", strings.ReplaceAll(other+a+notes+"\n", "\n", "\r\n")},
		{"blank lines around them", other + a + "\n\n" + notes + "\n\n\n"},
		{"the only table", a + notes + "\n"},
		{"the only table, default_env naming it", "default_env = \"a\"\n\n" + a + notes + "\n"},
		{"after a sub-table", other + a + "\n[env.a.token_params]\nfoo = \"bar\"\n" + notes + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keeps := func(edit string, p string) string {
				t.Helper()
				got, _ := os.ReadFile(p)
				if !strings.Contains(strings.ReplaceAll(string(got), "\r\n", "\n"), notes+"\n") {
					t.Errorf("after %s the comments are gone:\n%s", edit, got)
				}
				return string(got)
			}
			p := write(t, tc.text)
			if _, err := configedit.WriteEnv(p, "a", settings, false); err != nil {
				t.Fatal(err)
			}
			if got := keeps("init -e a", p); !strings.Contains(got, `client_id = "new"`) || strings.Contains(got, "foo") {
				t.Errorf("init -e a did not rewrite the table:\n%s", got)
			}
			f, err := configedit.RemoveEnv(write(t, tc.text), "a")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := f.Envs["a"]; ok {
				t.Errorf("remove -e a left it: %v", f.Names())
			}
			if got := keeps("remove -e a", f.Path); strings.Contains(got, "client_id = \"x\"") || strings.Contains(got, "default_env") {
				t.Errorf("remove -e a left some of it:\n%s", got)
			}
		})
	}
	t.Run("comments directly above a removed table", func(t *testing.T) {
		const own = "# a: the sandbox app\n# (its secret is in 1Password)\n"
		p := write(t, other+"# about other, apart\n\n"+own+a+notes+"\n")
		f, err := configedit.RemoveEnv(p, "a")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(f.Path)
		if want := other + "# about other, apart\n\n" + notes + "\n"; string(got) != want {
			t.Errorf("after remove -e a:\n%s\nwant:\n%s", got, want)
		}
	})
}

// TestEditsOfATableWrittenElsewhere: an environment (or [store]) written
// as an inline table, as dotted keys, or with a sub-table apart from its
// table is not one init, remove or store migrate can edit as a table: the
// edit is refused at the line that holds it, the file left as it was.
// remove said it had removed an environment written inline, deleting its
// tokens and default_env, and left it in the file; init and migrate named
// a line the file did not have.
func TestEditsOfATableWrittenElsewhere(t *testing.T) {
	const b = "[env.b]\nprovider = \"freeagent\"\nclient_id = \"def\"\nclient_secret_env = \"S\"\n"
	settings := config.EnvSettings{Provider: "freeagent", ClientID: "new", ClientSecretEnv: "S"}
	remove := func(p string) error {
		_, err := configedit.RemoveEnvAfter(p, "a", func() error { t.Error("the tokens were to be deleted"); return nil })
		return err
	}
	init := func(p string) error { _, err := configedit.WriteEnv(p, "a", settings, false); return err }
	migrate := func(p string) error { _, err := configedit.SetStoreURL(p, "redis://127.0.0.1:1/0"); return err }
	for _, tc := range []struct {
		name, text, want string
		edit             func(string) error
	}{
		{"inline table, remove", "default_env = \"a\"\n\n[env]\na = { provider = \"freeagent\", client_id = \"abc\", client_secret_env = \"S\" }\n", ":4: env.a: ", remove},
		{"inline table, init", "[env]\na = { provider = \"freeagent\", client_id = \"abc\", client_secret_env = \"S\" }\n", ":2: env.a: ", init},
		{"dotted keys, remove", "env.a.provider = \"freeagent\"\nenv.a.client_id = \"abc\"\nenv.a.client_secret_env = \"S\"\n\n" + b, ":1: env.a: ", remove},
		{"sub-table apart, remove", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"abc\"\nclient_secret_env = \"S\"\n\n" + b + "\n[env.a.token_params]\nfoo = \"bar\"\n", ":11: env.a: ", remove},
		{"sub-table apart, init", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"abc\"\nclient_secret_env = \"S\"\n\n" + b + "\n[env.a.token_params]\nfoo = \"bar\"\n", ":11: env.a: ", init},
		{"store as a dotted key, migrate", "store.url = \"file:///somewhere\"\n\n" + b, ":1: store: ", migrate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, tc.text)
			if _, err := config.Load(p); err != nil {
				t.Fatal(err)
			}
			err := tc.edit(p)
			if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("edit: %v; want it refused at %q, nothing written", err, tc.want)
			}
			if got, _ := os.ReadFile(p); string(got) != tc.text {
				t.Errorf("the file changed:\n%s", got)
			}
		})
	}
}

// TestConcurrentEditsAreAllKept: init, remove and store migrate, run at
// once (two scripts, two terminals), each read the file, edit it and write
// it back; no edit may undo another's.
func TestConcurrentEditsAreAllKept(t *testing.T) {
	p := write(t, "# mine\n")
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() {
			if _, err := configedit.WriteEnv(p, n, config.EnvSettings{Provider: "freeagent", ClientID: n, ClientSecretEnv: "S"}, false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !slices.Equal(got, names) {
		t.Fatalf("after %d edits at once the file has %v", len(names), got)
	}
}

// TestEditsRemoveTheLitterOfCrashedEditsAndKilledImports: the next edit of
// a configuration removes the temp file of an edit killed before its rename
// and the staged copy an older freshtoken's import killed before it could
// remove it (either may hold a client secret); it leaves other files' temp
// files and a copy still in use (locked) alone.
func TestEditsRemoveTheLitterOfCrashedEditsAndKilledImports(t *testing.T) {
	p := write(t, "# mine\n")
	dev := config.EnvSettings{Provider: "freeagent", ClientID: "x", ClientSecretEnv: "S"}
	dir := filepath.Dir(p)
	litter := filepath.Join(dir, ".config.toml.tmp-123456")
	killed := filepath.Join(dir, ".config.toml.import-123456")
	inUse := filepath.Join(dir, ".config.toml.import-654321")
	other := filepath.Join(dir, ".other.toml.tmp-123456")
	for _, f := range []string{litter, killed, inUse, other} {
		if err := os.WriteFile(f, []byte("client_secret = \"s\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lock := flock.New(inUse)
	if ok, err := lock.TryLock(); !ok || err != nil {
		t.Fatalf("locking the copy in use: %v, %v", ok, err)
	}
	defer lock.Unlock()
	if _, err := configedit.WriteEnv(p, "dev", dev, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(litter); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the crashed edit's temp file is still there: %v", err)
	}
	if _, err := os.Stat(killed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed import's copy is still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file's temp file was removed: %v", err)
	}
	if _, err := os.Stat(inUse); err != nil {
		t.Errorf("the copy in use was removed: %v", err)
	}
}

// TestPreviewEnvsWritesNothing: an import opens the stores of the
// environments it is about to write from the configuration as it will be,
// which PreviewEnvs gives with nothing written (a staged copy of it, with
// the client secret, used to be written beside it), and refuses, saying
// nothing was written, what the file would not load with.
func TestPreviewEnvsWritesNothing(t *testing.T) {
	p := write(t, "# mine\n")
	dev := config.EnvSettings{Provider: "freeagent", ClientID: "x", ClientSecret: "s3cr3t"}
	f, err := configedit.PreviewEnvs(p, []configedit.NamedEnv{{Name: "dev", Settings: dev}}, "dev")
	if err != nil || f.Envs["dev"] == nil || f.DefaultEnv != "dev" || f.Path != p {
		t.Fatalf("PreviewEnvs: %v, %+v; want dev, the default, at %s", err, f, p)
	}
	if b, _ := os.ReadFile(p); string(b) != "# mine\n" {
		t.Errorf("the preview changed the configuration: %q", b)
	}
	if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) != 1 {
		t.Errorf("the preview left files beside the configuration: %v", entries)
	}
	bad := dev
	bad.TokenURL = "ftp://example.com/token"
	if _, err := configedit.PreviewEnvs(p, []configedit.NamedEnv{{Name: "dev", Settings: bad}}, "dev"); err == nil || !strings.Contains(err.Error(), "token_url") || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("PreviewEnvs of a bad token_url: %v; want it refused at token_url, nothing written", err)
	}
}

// TestAnEditThatCannotBeWrittenSaysSo: a configuration that cannot be
// written on a full disk (of data, or with no file left; its folder not
// made yet) is a configuration error naming the file, not the temp file's,
// saying the disk is full, what to do and that nothing was written, and
// the file is left as it was. It said "cannot write it (no space left on
// device); nothing was written", with no next step. One with no file left
// says to remove some files, not to free space, which `df -h` shows free.
// One on a read-only disk says so, and where to keep it instead.
func TestAnEditThatCannotBeWrittenSaysSo(t *testing.T) {
	const fix = ", as the disk holding it is full (no space left on device); free some space there, or keep the configuration on another disk (--config PATH), and run the command again (nothing was written)"
	// With no file left, that is what to free: `df -h` shows space free.
	const filesFix = ", as the disk holding it is full (no space left on device); remove some files there (every inode on that disk is taken: see `df -i`), or keep the configuration on another disk (--config PATH), and run the command again (nothing was written)"
	s := config.EnvSettings{Provider: "freeagent", ClientID: "x", ClientSecretEnv: "S"}
	t.Run("of data", func(t *testing.T) {
		p := testdisk.SmallFile(t, "64k", "config.toml", []byte("# mine\n"))
		defer testdisk.Fill(t, filepath.Dir(p))()
		_, err := configedit.WriteEnv(p, "dev", s, false)
		if want := p + ": cannot write it" + fix; !errors.Is(err, config.ErrInvalid) || err.Error() != want {
			t.Errorf("WriteEnv on a full disk: %v; want a configuration error: %s", err, want)
		}
		if b, _ := os.ReadFile(p); string(b) != "# mine\n" {
			t.Errorf("the file holds %q, want it as it was", b)
		}
	})
	t.Run("of files", func(t *testing.T) {
		dir := testdisk.FilesLeft(t, 1)
		p := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(p, []byte("# mine\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		testdisk.FillFiles(t, dir)
		_, err := configedit.RemoveEnv(p, "dev")
		if want := p + ": cannot write it" + filesFix; err == nil || err.Error() != want {
			t.Errorf("RemoveEnv on a disk with no file left: %v; want %s", err, want)
		}
		if b, _ := os.ReadFile(p); string(b) != "# mine\n" {
			t.Errorf("the file holds %q, want it as it was", b)
		}
	})
	t.Run("a quota spent", func(t *testing.T) {
		// `df -h` shows room on the disk: it said the disk was full.
		dir := testdisk.Quota(t)
		p := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(p, []byte("# mine\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		testdisk.Fill(t, dir)
		_, err := configedit.WriteEnv(p, "dev", s, false)
		if want := p + ": cannot write it, as the disk holding it has no room left under your disk quota (disk quota exceeded); free some of your space there (your disk quota is spent; an administrator can raise it), or keep the configuration on another disk (--config PATH), and run the command again (nothing was written)"; !errors.Is(err, config.ErrInvalid) || err.Error() != want {
			t.Errorf("WriteEnv with the quota spent: %v; want a configuration error: %s", err, want)
		}
		if b, _ := os.ReadFile(p); string(b) != "# mine\n" {
			t.Errorf("the file holds %q, want it as it was", b)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		p := testdisk.SmallFile(t, "64k", "config.toml", []byte("# mine\n"))
		testdisk.ReadOnly(t, filepath.Dir(p))
		_, err := configedit.WriteEnv(p, "dev", s, false)
		if want := p + ": cannot write it, as the disk holding it is read-only (read-only file system); keep the configuration on a disk you can write to (--config PATH), and run the command again (nothing was written)"; err == nil || err.Error() != want {
			t.Errorf("WriteEnv on a read-only disk: %v; want %s", err, want)
		}
	})
	t.Run("its folder to be made", func(t *testing.T) {
		dir := testdisk.NoFilesLeft(t)
		p := filepath.Join(dir, "freshtoken", "config.toml")
		_, err := configedit.WriteEnv(p, "dev", s, false)
		if want := p + ": cannot create its folder" + filesFix; err == nil || err.Error() != want {
			t.Errorf("WriteEnv of a new file on a disk with no file left: %v; want %s", err, want)
		}
	})
}

// TestCheckEditableCountsTheFolderAnEditMakes: the first edit of a
// configuration whose folder is missing makes the folder, then its new
// file: two of the disk's files (inodes). With one left, the check before
// any question refuses, saying to remove some files; with two, it passes
// and the edit writes the file. The check made one file and passed with
// one left: init asked every question, and then could not write.
func TestCheckEditableCountsTheFolderAnEditMakes(t *testing.T) {
	for _, left := range []int{1, 2} {
		dir := testdisk.FilesLeft(t, left)
		p := filepath.Join(dir, "freshtoken", "config.toml")
		err := configedit.CheckEditable(p)
		if left == 1 {
			if want := p + ": cannot write it, as the disk holding it is full (no space left on device); remove some files there (every inode on that disk is taken: see `df -i`), or keep the configuration on another disk (--config PATH), and run the command again (nothing was written)"; err == nil || err.Error() != want {
				t.Errorf("CheckEditable with one file left for the folder and the file: %v; want %s", err, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("CheckEditable with the two files the edit needs: %v", err)
		}
		if _, err := configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "x", ClientSecretEnv: "S"}, false); err != nil {
			t.Errorf("the edit, with the check passed: %v", err)
		}
	}
}

// TestAReadOnlyFileIsNotEdited: a configuration file its owner made
// read-only (chmod 400) is refused by every edit (init, init --default,
// remove, store migrate), naming the file and how to make it writable,
// and is left as it was, mode included: the edit replaced it, made
// writable again (0600), without a word.
func TestAReadOnlyFileIsNotEdited(t *testing.T) {
	const text = "default_env = \"a\"\n\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_env = \"S\"\n\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_env = \"S\"\n"
	s := config.EnvSettings{Provider: "freeagent", ClientID: "other", ClientSecretEnv: "S"}
	for name, edit := range map[string]func(p string) (*config.File, error){
		"WriteEnv":      func(p string) (*config.File, error) { return configedit.WriteEnv(p, "c", s, true) },
		"SetDefaultEnv": func(p string) (*config.File, error) { return configedit.SetDefaultEnv(p, "b") },
		"RemoveEnv":     func(p string) (*config.File, error) { return configedit.RemoveEnv(p, "a") },
		"SetStoreURL":   func(p string) (*config.File, error) { return configedit.SetStoreURL(p, "file:///tmp/elsewhere") },
	} {
		t.Run(name, func(t *testing.T) {
			p := write(t, text)
			if err := os.Chmod(p, 0o400); err != nil {
				t.Fatal(err)
			}
			before, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = edit(p)
			want := p + ": is read-only (mode 0400), so freshtoken does not edit it; make it writable (`chmod u+w " + p + "`)"
			if runtime.GOOS == "windows" {
				want = p + ": is read-only (mode 0444), so freshtoken does not edit it; clear its read-only attribute"
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("%s of a read-only file: %v; want %s …, nothing was written", name, err, want)
			}
			fi, err := os.Stat(p)
			if b, _ := os.ReadFile(p); err != nil || string(b) != text || fi.Mode() != before.Mode() {
				t.Errorf("the file was changed: %v, mode %v:\n%s", err, fi.Mode(), b)
			}
		})
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

// TestAnEditKeepsAChangeMadeMeanwhile: the file written by another
// program (an editor saving it; an edit on a system where edits do not
// take turns) while remove deleted the tokens (waiting for the renewal
// lock, then a keychain or Redis) is kept, and the edit refused, saying to
// run it again; the edit replaced it with its own text, which lacked the
// change.
func TestAnEditKeepsAChangeMadeMeanwhile(t *testing.T) {
	env := func(name string) string {
		return "[env." + name + "]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret_env = \"S\"\n\n"
	}
	p := write(t, env("a")+env("b"))
	saved := env("a") + env("b") + env("added-meanwhile")
	_, err := configedit.RemoveEnvAfter(p, "a", func() error { return os.WriteFile(p, []byte(saved), 0o600) })
	if err == nil || !strings.Contains(err.Error(), "run the command again") {
		t.Errorf("RemoveEnvAfter: %v; want a refusal saying to run it again", err)
	}
	if got, _ := os.ReadFile(p); string(got) != saved {
		t.Errorf("the file is\n%s\nwant the other program's\n%s", got, saved)
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

// TestRemovingTheDefaultWrittenWithASpace: remove takes out a default_env
// naming the environment with a space after its name, as Load reads it.
func TestRemovingTheDefaultWrittenWithASpace(t *testing.T) {
	p := write(t, "default_env = \"a \"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"y\"\n")
	if _, err := configedit.RemoveEnvAfter(p, "a", nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "default_env") {
		t.Fatalf("default_env kept:\n%s", b)
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

// TestEditsKeepTheTableAsWritten: init changing one setting of an
// environment (its redirect URI, where its client secret is read from)
// changes those lines alone: the comments in the table, inline ones too,
// stay, and so does how each other value was written (60d, a multi-line
// array, a resource as one string); a key set anew keeps its line's
// comment, one no longer set goes, one new comes after the last key. The
// whole table was written anew: every comment in it was lost, 60d became
// 1440h0m0s and the keys came in another order.
func TestEditsKeepTheTableAsWritten(t *testing.T) {
	const before = `# the identity provider
[env.idp] # ask Sam before changing
api_url = "https://api.example.com/"   # API root
auth_url = "https://login.example.com/authorize"
token_url = "https://login.example.com/token"
# Ask for offline access, or no refresh token comes
scopes = [
  "read",  # the books
  "offline_access",
]
client_id = "my-id"
client_secret_env = "IDP_SECRET" # from the team's vault
redirect_uri = "http://127.0.0.1:8787/callback" # registered 2024
resource = "https://api.example.com"
refresh_idle_limit = "60d"

# notes on other
[env.other]
provider = "freeagent"
client_id = "keep"
client_secret_env = "S"
`
	// What changes, and nothing else: the secret's source, the redirect
	// URI (its comment kept), and the new key after the last.
	after := strings.NewReplacer(
		`client_secret_env = "IDP_SECRET" # from the team's vault`+"\n", "",
		`redirect_uri = "http://127.0.0.1:8787/callback" # registered 2024`, `redirect_uri = "http://127.0.0.1:9000/callback"  # registered 2024`,
		`refresh_idle_limit = "60d"`+"\n", `refresh_idle_limit = "60d"`+"\n"+`client_secret_cmd = "pass show idp"`+"\n",
	).Replace(before)
	p := write(t, before)
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Settings["idp"] // as init merges its flags into them
	s.ClientSecretEnv, s.ClientSecretCmd, s.RedirectURI = "", "pass show idp", "http://127.0.0.1:9000/callback"
	if _, err := configedit.WriteEnv(p, "idp", s, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != after || after == before {
		t.Fatalf("after init -e idp:\n%s\nwant:\n%s", got, after)
	}
}

// TestEditsTheMergeMisreadsWriteTheTableAnew: a value the line-by-line
// merge misreads (an array whose multi-line string closes before its
// bracket, so that the array seemed to run on, swallowing the next key)
// gets the table written anew, meaning what init was asked to write. The
// merge kept the swallowed `client_secret_keyring = false` and added
// `client_secret_keyring = true`: init failed on a key written twice,
// in a file it had written itself.
func TestEditsTheMergeMisreadsWriteTheTableAnew(t *testing.T) {
	p := write(t, `[env.a]
provider = "freeagent"
client_id = "id" # from the dashboard
scopes = ["a", """
b"""]
client_secret_keyring = false
`)
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Settings["a"]
	s.ClientSecretKeyring = true
	if _, err := configedit.WriteEnv(p, "a", s, false); err != nil {
		t.Fatalf("init -e a: %v", err)
	}
	g, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Settings["a"]; !reflect.DeepEqual(got, s) {
		t.Fatalf("after init -e a: %+v, want %+v", got, s)
	}
}

// TestEditsKeepTheLinesAroundAStringOfQuotes: a string in triple quotes
// that ends in a quote (the string a", closed by four quotes) is read to
// its end, so the keys after it stay as they were written, each with its
// comment. The quote was read as opening another string, the array as
// running on over the next key: the redirect URI's comment was moved onto
// the scopes line and the scopes' own lost.
func TestEditsKeepTheLinesAroundAStringOfQuotes(t *testing.T) {
	const before = `[env.a]
provider = "freeagent"
client_id = "id"
scopes = ['''a'''', """b""""", "c"] # the books
redirect_uri = "http://127.0.0.1:8787/callback" # registered 2024
`
	after := strings.Replace(before, ":8787/callback\" #", ":9000/callback\"  #", 1)
	p := write(t, before)
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Settings["a"]
	s.RedirectURI = "http://127.0.0.1:9000/callback"
	if _, err := configedit.WriteEnv(p, "a", s, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != after {
		t.Fatalf("after init -e a:\n%s\nwant:\n%s", got, after)
	}
}

// TestEditsOfAFileOfMixedLineEndsKeepOtherValues: init editing a file of
// LF lines holding one CRLF line (a line pasted from a Windows editor)
// leaves another environment's multi-line client_secret_cmd as it was.
// The one CRLF made the edit write every line with CRLF, the lines of
// that script too: each command of it then ended in a carriage return,
// which the shell took as part of the command's name.
func TestEditsOfAFileOfMixedLineEndsKeepOtherValues(t *testing.T) {
	p := write(t, "# pasted from the wiki\r\n[env.other]\nprovider = \"freeagent\"\nclient_id = \"keep\"\nclient_secret_cmd = \"\"\"\ntest -f ~/.s\ncat ~/.s\n\"\"\"\n\n[env.dev]\nprovider = \"freeagent\"\nclient_id = \"old\"\nclient_secret_env = \"S\"\n")
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := f.Settings["other"]
	if _, err := configedit.WriteEnv(p, "dev", config.EnvSettings{Provider: "freeagent", ClientID: "new", ClientSecretEnv: "S"}, false); err != nil {
		t.Fatal(err)
	}
	g, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Settings["other"]; !reflect.DeepEqual(got, want) || g.Settings["dev"].ClientID != "new" {
		t.Fatalf("after init -e dev, other's client_secret_cmd is %q, want %q", got.ClientSecretCmd, want.ClientSecretCmd)
	}
}

// TestSetDefaultEnvChangesOnlyThatLine: `init -e NAME --default` changes
// default_env where it is written, keeping its comment, its indentation and
// every other line; a file without one gets it first; with an environment
// to write, both land in one edit. A name the file does not configure
// leaves the file as it was (no command set default_env: the user edited
// it by hand).
func TestSetDefaultEnvChangesOnlyThatLine(t *testing.T) {
	const env = "provider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_env = \"S\"\n"
	const crlfCmd = "provider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_cmd = \"\"\"\r\ntest -f ~/.s\r\ncat ~/.s\r\n\"\"\"\n"
	for _, tt := range []struct {
		name, text, to, want string
		with                 []configedit.NamedEnv
	}{
		{"replaced in place", "# mine\n  default_env = 'a'   # the safe one\n\n[env.a]\n" + env + "\n[env.b]\n" + env, "b",
			"# mine\n  default_env = \"b\"  # the safe one\n\n[env.a]\n" + env + "\n[env.b]\n" + env, nil},
		{"none yet", "# mine\n[env.a]\n" + env + "\n[env.b]\n" + env, "b",
			"default_env = \"b\"\n\n# mine\n[env.a]\n" + env + "\n[env.b]\n" + env, nil},
		{"with an environment", "default_env = \"a\"\n\n[env.a]\n" + env, "c",
			"default_env = \"c\"\n\n[env.a]\n" + env + "\n[env.c]\n" + env, []configedit.NamedEnv{{Name: "c", Settings: config.EnvSettings{Provider: "freeagent", ClientID: "id", ClientSecretEnv: "S"}}}},
		{"written over lines", "default_env = \"\"\"\na\"\"\"\n[env.a]\n" + env + "\n[env.b]\n" + env, "b",
			"default_env = \"b\"\n[env.a]\n" + env + "\n[env.b]\n" + env, nil},
		// A file of LF lines with a few CRLF ones (pasted from a Windows
		// editor): the other lines keep their ends, and a multi-line
		// string of CRLF lines its value. The edit was refused as
		// "written in a way freshtoken cannot change line by line", and
		// the CRLF of a line it kept was dropped.
		{"other lines' ends kept", "default_env = \"a\"  # x\r\n[env.a]\r\n" + env + "\n[env.b]\n" + crlfCmd, "b",
			"default_env = \"b\"  # x\r\n[env.a]\r\n" + env + "\n[env.b]\n" + crlfCmd, nil},
		{"none yet, a blank line first", "\n# mine\n[env.a]\n" + env + "\n[env.b]\n" + env, "b",
			"default_env = \"b\"\n\n# mine\n[env.a]\n" + env + "\n[env.b]\n" + env, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.text)
			f, err := configedit.SetDefaultEnv(p, tt.to, tt.with...)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(p); string(got) != tt.want || f.DefaultEnv != tt.to {
				t.Fatalf("default_env %q, file:\n%s\nwant:\n%s", f.DefaultEnv, got, tt.want)
			}
		})
	}
	text := "default_env = \"a\"\n[env.a]\n" + env
	p := write(t, text)
	if _, err := configedit.SetDefaultEnv(p, "nope"); err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("default_env of an environment not configured: %v", err)
	}
	if got, _ := os.ReadFile(p); string(got) != text {
		t.Fatalf("a refused edit changed the file:\n%s", got)
	}
}
