package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestSecretCommandIsToldAtATerminal: a renewal that runs client_secret_cmd
// says so once on standard error when that is a terminal, naming the
// environment and the command, never the secret it prints: a command that
// asks for a passphrase on the terminal (pass, gpg) otherwise seemed to
// hang, silent, until its time ran out. A script (standard error no
// terminal) is told nothing, and its output is as it was.
func TestSecretCommandIsToldAtATerminal(t *testing.T) {
	for _, tty := range []bool{true, false} {
		t.Run(map[bool]string{true: "terminal", false: "script"}[tty], func(t *testing.T) {
			e := newDevEnv(t)
			secretFile := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(secretFile, []byte("dev-client-secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			e.configureWith(t, config.EnvSettings{ClientSecretCmd: "cat " + secretFile})
			e.loginOutside(t)
			ios, stdout, stderr := testStreams(false, tty)
			if code := e.run(ios, "token", "--force", "-e", "dev"); code != 0 {
				t.Fatalf("token --force exited %d: %s", code, stderr)
			}
			said := stderr.String()
			if strings.Contains(said, "dev-client-secret") || strings.Contains(stdout.String(), "dev-client-secret") {
				t.Fatalf("the client secret was shown: stderr %q", said)
			}
			want := "freshtoken: getting the client secret of dev from its client_secret_cmd (cat " + secretFile + "); answer it if it asks for a passphrase\n"
			switch n := strings.Count(said, "client_secret_cmd"); {
			case tty && (n != 1 || !strings.Contains(said, want)):
				t.Errorf("at a terminal, stderr %q; want %q, once", said, want)
			case !tty && said != "":
				t.Errorf("in a script, stderr %q; want nothing", said)
			}
		})
	}
}
