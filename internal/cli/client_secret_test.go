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
// environment and the key, never the command nor the secret it prints: a
// command that asks for a passphrase on the terminal (pass, gpg) otherwise
// seemed to hang, silent, until its time ran out. The command was shown
// whole, and one that holds the secret in its arguments (echo s3cr3t)
// showed the secret on the screen at every run. A script (standard error
// no terminal) is told nothing, and its output is as it was.
func TestSecretCommandIsToldAtATerminal(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("dev-client-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, command := range []string{"cat " + secretFile, "echo dev-client-secret"} {
		for _, tty := range []bool{true, false} {
			t.Run(map[bool]string{true: "terminal", false: "script"}[tty]+" "+command, func(t *testing.T) {
				e := newDevEnv(t)
				e.configureWith(t, config.EnvSettings{ClientSecretCmd: command})
				e.loginOutside(t)
				ios, stdout, stderr := testStreams(false, tty)
				if code := e.run(ios, "token", "--force", "-e", "dev"); code != 0 {
					t.Fatalf("token --force exited %d: %s", code, stderr)
				}
				said := stderr.String()
				if strings.Contains(said, "dev-client-secret") || strings.Contains(stdout.String(), "dev-client-secret") {
					t.Fatalf("the client secret was shown: stderr %q", said)
				}
				want := "freshtoken: getting the client secret of dev from its client_secret_cmd; answer it if it asks for a passphrase\n"
				switch n := strings.Count(said, "client_secret_cmd"); {
				case tty && (n != 1 || !strings.Contains(said, want)):
					t.Errorf("at a terminal, stderr %q; want %q, once", said, want)
				case !tty && said != "":
					t.Errorf("in a script, stderr %q; want nothing", said)
				}
			})
		}
	}
}

// TestRefusedClientNamesTheSecretsVariable: when the provider refuses the
// client (invalid_client) of an environment whose client secret comes from
// client_secret_env = "X", the step to take names $X to check, never its
// value, on the command's last line and in status's problem. It said to
// check "the client secret ... in the config", which holds none.
func TestRefusedClientNamesTheSecretsVariable(t *testing.T) {
	e := newDevEnv(t)
	t.Setenv("FT_TEST_SECRET", "dev-client-secret")
	e.configureWith(t, config.EnvSettings{ClientSecretEnv: "FT_TEST_SECRET"})
	e.loginOutside(t)
	t.Setenv("FT_TEST_SECRET", "a-wrong-secret")
	want := "check client_id, the client secret ($FT_TEST_SECRET) and client_auth in the config"
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "token", "--force", "-e", "dev"); code != 2 || !strings.Contains(stderr.String(), want) || strings.Contains(stderr.String(), "a-wrong-secret") {
		t.Fatalf("token --force with a refused client: exit %d, stderr %q; want 2, saying to %s", code, stderr, want)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status", "-e", "dev"); code != 0 || !strings.Contains(stdout.String(), want) || strings.Contains(stdout.String(), "a-wrong-secret") {
		t.Fatalf("status after a refused client: exit %d, stdout %q, stderr %q; want its problem saying to %s", code, stdout, stderr, want)
	}
}
