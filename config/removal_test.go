package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestLoadForRemoval: `remove` reads a configuration that Load refuses
// for a mistake in the settings of the environment it removes, leaving
// those settings out, and says whether the ones that tell whose its stored
// tokens are were all read. A mistake anywhere else, or a file that is not
// TOML, is still refused, at the file's own line.
func TestLoadForRemoval(t *testing.T) {
	folder := t.TempDir()
	const good = "[env.good]\nprovider = \"freeagent-sandbox\"\nclient_id = \"abc\"\nclient_secret_env = \"S\"\n"
	bad := func(more string) string {
		return "default_env = \"bad\"\n\n" + good + "\n[env.bad]\nprovider = \"freeagent\"\nclient_id = \"bad-client\"\nclient_secret_env = \"S\"\n" + more
	}
	for _, tc := range []struct {
		name, conf, env string
		unread          string // broken.Unread; "" with grant known, "-" for no BrokenEnv
		grantKnown      bool
		whose           string // broken.Whose
		tokenFile       string // the environment's, as read
		tokenURL        string // the environment's, as read
		err             string
	}{
		{name: "no mistake", conf: bad(""), env: "bad", unread: "-", tokenURL: "https://api.freeagent.com/v2/token_endpoint"},
		{name: "a bad duration", conf: bad("refresh_before = \"soon\"\n"), env: "bad", unread: "[refresh_before]", grantKnown: true, tokenURL: "https://api.freeagent.com/v2/token_endpoint"},
		{name: "a token_file that is a folder", conf: bad(fmt.Sprintf("token_file = %q\n", folder)), env: "bad", unread: "[token_file]", grantKnown: true, tokenURL: "https://api.freeagent.com/v2/token_endpoint"},
		{name: "a misspelt client secret", conf: bad("clinet_secret_cmd = \"pass x\"\n"), env: "bad", unread: "[]", grantKnown: true, tokenURL: "https://api.freeagent.com/v2/token_endpoint"},
		{name: "a mistake in a table of its", conf: bad("[env.bad.auth_params]\nstate = \"x\"\n"), env: "bad", unread: "[auth_params]", grantKnown: true, tokenURL: "https://api.freeagent.com/v2/token_endpoint"},
		// What tells whose the tokens are.
		{name: "a bad api_url", conf: bad("api_url = \"ftp://x\"\n"), env: "bad", unread: "[api_url]", whose: "[api_url]", tokenURL: "https://api.freeagent.com/v2/token_endpoint"},
		{name: "an unknown preset", conf: strings.Replace(bad(""), `"freeagent"`, `"freeagnet"`, 1), env: "bad", unread: "[provider client_id client_secret_env]", whose: "[provider]"},
		{name: "a wrong type for scopes", conf: bad("scopes = 3\n"), env: "bad", unread: "[scopes]", whose: "[scopes]", tokenURL: "https://api.freeagent.com/v2/token_endpoint"},
		{name: "a client secret of the wrong kind, and a bad api_url", conf: bad("client_secret = [\"s\"]\napi_url = \"ftp://x\"\n"), env: "bad", unread: "[client_secret api_url]", whose: "[api_url]", tokenURL: "https://api.freeagent.com/v2/token_endpoint"},
		{name: "an unknown preset, and a token_file", conf: strings.Replace(bad(fmt.Sprintf("token_file = %q\n", filepath.Join(folder, "token"))), `"freeagent"`, `"freeagnet"`, 1), env: "bad",
			unread: "[provider client_id client_secret_env]", whose: "[provider]", tokenFile: filepath.Join(folder, "token")},
		{name: "an unknown preset, and a relative token_file", conf: strings.Replace(bad("token_file = \"token\"\n"), `"freeagent"`, `"freeagnet"`, 1), env: "bad",
			unread: "[provider client_id client_secret_env token_file]", whose: "[provider]"},
		{name: "no client_id, one misspelt", conf: strings.Replace(bad(""), "client_id = \"bad-client\"", "Client-ID = \"bad-client\"", 1), env: "bad", unread: "[Client-ID client_secret_env provider]", whose: "[client_id Client-ID]"},
		{name: "a misspelt token_url", conf: bad("tokn_url = \"https://t.example/token\"\n"), env: "bad", unread: "[]", whose: "[tokn_url]", tokenURL: "https://api.freeagent.com/v2/token_endpoint"},
		// Refused still.
		{name: "not TOML", conf: bad("timeout = \"1s\n"), env: "bad", err: ":12:"},
		{name: "a key written twice", conf: bad("client_id = \"again\"\n"), env: "bad", err: ":12: env.bad.client_id: is written twice"},
		{name: "another environment's mistake", conf: bad("api_url = \"ftp://x\"\n"), env: "good", err: ":12: env.bad.api_url"},
		{name: "its mistake and another's", conf: bad("api_url = \"ftp://x\"\n") + "\n[env.third]\nprovider = \"freeagent\"\n", env: "bad", err: ":14: env.third.client_id"},
		{name: "its table written apart", conf: bad("api_url = \"ftp://x\"\n") + "\n[notify]\ndesktop = true\n\n[env.bad.token_params]\nx = \"y\"\n", env: "bad", err: ":17: env.bad: is written here apart from its [env.bad] table"},
		{name: "an environment not in the file", conf: bad("api_url = \"ftp://x\"\n"), env: "none", err: ":12: env.bad.api_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(tc.conf), 0o600); err != nil {
				t.Fatal(err)
			}
			f, broken, err := config.LoadForRemoval(path, tc.env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), path+tc.err) || !errors.Is(err, config.ErrInvalid) {
					t.Fatalf("got %v; want a configuration error naming %s%s", err, path, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := config.Load(path); (err == nil) != (tc.unread == "-") {
				t.Fatalf("Load: %v", err)
			}
			e := f.Envs[tc.env]
			if e == nil || f.Envs["good"] == nil || f.DefaultEnv != "bad" {
				t.Fatalf("got environments %v, default %q", f.Names(), f.DefaultEnv)
			}
			if e.TokenURL != tc.tokenURL || e.TokenFile != tc.tokenFile {
				t.Errorf("read token_url %q, token_file %q; want %q and %q", e.TokenURL, e.TokenFile, tc.tokenURL, tc.tokenFile)
			}
			if tc.unread == "-" {
				if broken != nil {
					t.Errorf("broken %+v; want nil", broken)
				}
				return
			}
			if broken == nil || fmt.Sprint(broken.Unread) != tc.unread || broken.GrantKnown != tc.grantKnown || tc.whose != "" && fmt.Sprint(broken.Whose) != tc.whose {
				t.Fatalf("broken %+v; want %s unread, grant known %t, %s with a mistake among those that say whose", broken, tc.unread, tc.grantKnown, tc.whose)
			}
		})
	}
}
