package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestLogoutOfAnEnvironmentWithAMistake: `logout -e dev` where dev's own
// settings have a mistake, for which every other command refuses the
// file: it refused to do anything, --local too, and the tokens could be
// dropped only by removing the environment or by hand. It now reads the
// environment as far as its settings allow, as remove does, and says what
// it left out: with only settings that say nothing of whose the tokens
// are refused (a timeout), it revokes them and forgets them (--local:
// forgets them); with one that says whose they are (client_id missing, a
// provider it does not know), the tokens cannot be told from another
// configuration's dev, and are kept, exit 2, saying what to fix. A client
// secret command that fails is no mistake of the file: logout keeps the
// tokens to end the grant once it works (exit 2), and --local forgets
// them.
func TestLogoutOfAnEnvironmentWithAMistake(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		local          bool
		code           int
		forgotten      bool
		says           []string
	}{
		{"a timeout refused", `client_id = "dev-client-id"`, "client_id = \"dev-client-id\"\ntimeout = \"forever\"", false, 0, true,
			[]string{"timeout", "left out", "the grant was revoked at the provider, and its tokens were deleted from"}},
		{"a timeout refused, --local", `client_id = "dev-client-id"`, "client_id = \"dev-client-id\"\ntimeout = \"forever\"", true, 0, true,
			[]string{"timeout", "left out", "Logged out of dev: its tokens were deleted from"}},
		{"client_id missing", `client_id = "dev-client-id"`, "", true, cli.ExitUsage, false,
			[]string{"client_id", "nothing was deleted", "cannot be told from another configuration's"}},
		{"a provider unknown", `provider = "freeagent"`, `provider = "freeagnet"`, false, cli.ExitUsage, false,
			[]string{"provider", "nothing was deleted"}},
		{"revocation_url refused", `revocation_url = "http`, `revocation_url = "ftp`, false, cli.ExitUsage, false,
			[]string{"revocation_url", "nothing was sent or deleted", "logout --local -e dev"}},
		{"revocation_url refused, --local", `revocation_url = "http`, `revocation_url = "ftp`, true, 0, true,
			[]string{"revocation_url", "Logged out of dev: its tokens were deleted from"}},
		{"a secret command failing", `client_secret = "dev-client-secret"`, `client_secret_cmd = "false"`, false, cli.ExitUsage, false,
			[]string{"client_secret_cmd", "nothing was deleted"}},
		{"a secret command failing, --local", `client_secret = "dev-client-secret"`, `client_secret_cmd = "false"`, true, 0, true,
			[]string{"Logged out of dev: its tokens were deleted from"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/revoke"})
			e.loginOutside(t)
			text, err := os.ReadFile(e.config)
			if err != nil {
				t.Fatal(err)
			}
			broken := strings.Replace(string(text), tc.old, tc.new, 1)
			if broken == string(text) {
				t.Fatalf("the configuration holds no %q", tc.old)
			}
			if err := os.WriteFile(e.config, []byte(broken), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"logout", "-e", "dev"}
			if tc.local {
				args = append(args, "--local")
			}
			stderr := testenv.NewOutput()
			code := e.run(&cli.IOStreams{In: strings.NewReader(""), Out: testenv.NewOutput(), ErrOut: stderr}, args...)
			said := stderr.String()
			if code != tc.code {
				t.Errorf("%v: exit %d, stderr %q; want %d", args, code, said, tc.code)
			}
			for _, want := range tc.says {
				if !strings.Contains(said, want) {
					t.Errorf("%v: stderr %q; want it to say %q", args, said, want)
				}
			}
			if _, err := os.Stat(filepath.Join(e.dir, "state", "dev.json")); (err != nil) != tc.forgotten {
				t.Errorf("%v: the stored record: %v; want it forgotten %v", args, err, tc.forgotten)
			}
		})
	}
}
