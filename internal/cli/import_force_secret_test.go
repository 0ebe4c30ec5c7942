package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestImportPostmanForceOverASecretSourceOfAnotherClient: --force over an
// environment that reads its client secret from a variable or a command
// keeps that source, and the export is for another client id. The import
// said it was done and the first renewal sent the old client's secret
// with the new client's id: invalid_client. Now, when the source does not
// give the export's secret, the import is refused with what to pass
// instead, and nothing is written (configuration and tokens as they
// were); when it does (the variable was already changed for the new
// client), it is kept and the tokens renew.
func TestImportPostmanForceOverASecretSourceOfAnotherClient(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    config.EnvSettings
		says string
	}{
		{"variable", config.EnvSettings{ClientSecretEnv: "FT_TEST_PROD_SECRET"}, "$FT_TEST_PROD_SECRET, which gives another secret than the export's, set up for client old-client"},
		{"unset variable", config.EnvSettings{ClientSecretEnv: "FT_TEST_PROD_UNSET"}, "$FT_TEST_PROD_UNSET, which could not be read here, set up for client old-client"},
		{"command", config.EnvSettings{ClientSecretCmd: "echo old-secret"}, "its client_secret_cmd, which gives another secret than the export's, set up for client old-client"},
		// Why it could not be read is told: it was "could not be read
		// here" alone, of a command that failed or hung 30 s.
		{"failing command", config.EnvSettings{ClientSecretCmd: "echo vault is sealed >&2; exit 3"}, "its client_secret_cmd, which could not be read here (its client_secret_cmd failed (exit status 3: vault is sealed); run it yourself to see why), set up for client old-client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FT_TEST_PROD_SECRET", "old-secret")
			e := newDevEnv(t)
			e.configureAs(t, "prod", "old-client", tc.s)
			kept := e.configKept(t)
			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, "import", "postman", e.seedExport(t, "prod"), "--force")
			if code != 2 {
				t.Fatalf("import --force over a secret source of another client exited %d, want 2: %s%s", code, stdout, stderr)
			}
			msg := stderr.String()
			for _, want := range []string{
				"prod: --force would keep reading its client secret from " + tc.says,
				"is for client dev-client-id", "--client-secret-env NAME", "--client-secret-keyring", "nothing was imported",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr = %q; want it to say %q", msg, want)
				}
			}
			if strings.Count(strings.TrimSpace(msg), "\n") > 0 || strings.Contains(msg, "dev-client-secret") || strings.Contains(msg, "old-secret") {
				t.Errorf("stderr = %q; want one line, with no secret", msg)
			}
			kept("the import was refused")
			if _, err := os.Stat(filepath.Join(e.dir, "state", "prod.json")); !os.IsNotExist(err) {
				t.Errorf("the refused import stored tokens for prod (%v)", err)
			}
		})
	}

	// The import goes on: --client-secret-env names the source, taken at
	// its word, even unset here (the summary says to set it), and replaces
	// the old one; or the variable already holds the export's client's
	// secret: kept, and the tokens renew.
	for _, tc := range []struct {
		name, secret string
		flags        []string
		says         string
		renews       bool
	}{
		{"variable named by the flag", "old-secret", []string{"--client-secret-env", "FT_TEST_NEW_UNSET"}, "The client secret will be read from $FT_TEST_NEW_UNSET", false},
		{"variable changed for the new client", "dev-client-secret", nil, "prod keeps reading its client secret from $FT_TEST_PROD_SECRET", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FT_TEST_PROD_SECRET", tc.secret)
			e := newDevEnv(t)
			e.configureAs(t, "prod", "old-client", config.EnvSettings{ClientSecretEnv: "FT_TEST_PROD_SECRET"})
			ios, _, stderr := testStreams(false, false)
			args := append([]string{"import", "postman", e.seedExport(t, "prod"), "--force"}, tc.flags...)
			if code := e.run(ios, args...); code != 0 {
				t.Fatalf("%q exited %d: %s", args, code, stderr)
			}
			if !strings.Contains(stderr.String(), tc.says) {
				t.Errorf("stderr = %q; want it to say %q", stderr, tc.says)
			}
			if !tc.renews {
				return
			}
			ios, stdout, stderr := testStreams(false, false)
			if code := e.run(ios, "-e", "prod", "token", "--force"); code != 0 {
				t.Errorf("a renewal after the import exited %d: %s%s", code, stdout, stderr)
			}
		})
	}
}

// TestImportPostmanForceWithNoSecretToCheckTheKeptSourceBy: --force over
// an environment reading its client secret from a variable, with an export
// of another client id that carries no client secret: the variable is the
// only source left, and is kept, but the summary says it was set up for the
// old client and to check it gives the new one's; it said only that the
// environment keeps reading it, and the first renewal failed with
// invalid_client unannounced.
func TestImportPostmanForceWithNoSecretToCheckTheKeptSourceBy(t *testing.T) {
	t.Setenv("FT_TEST_PROD_SECRET", "old-secret")
	_, stderr := forcedWithoutSecret(t, config.EnvSettings{ClientSecretEnv: "FT_TEST_PROD_SECRET"})
	if want := "Check that it gives client dev-client-id's secret: it was set up for client old-client"; !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q; want it to say %q", stderr, want)
	}
}

// TestImportPostmanForceKeepingTheOldClientsSecretInTheFile: import --force
// over an environment whose client_secret is in the configuration file,
// with an export of another client id that carries no client secret, keeps
// the old client's secret in the file (there is none to replace it) and
// says so, to check it is the new client's; it said only that the client
// secret is stored in the file, as if it were the export's, and the first
// renewal sent the old client's secret with the new client's id
// (invalid_client).
func TestImportPostmanForceKeepingTheOldClientsSecretInTheFile(t *testing.T) {
	e, stderr := forcedWithoutSecret(t, config.EnvSettings{ClientSecret: "old-secret"})
	if want := "prod keeps the client_secret in " + e.config + ", set up for client old-client: the export has none to replace it; check that it is client dev-client-id's"; !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q; want it to say %q", stderr, want)
	}
	if strings.Contains(stderr, "old-secret") {
		t.Errorf("stderr = %q shows the secret", stderr)
	}
}

// forcedWithoutSecret configures prod for client old-client with s, then
// imports over it with --force a Postman export of client dev-client-id
// with no client secret, holding a refresh token got from the provider
// outside freshtoken; it fails the test unless the import succeeds, and
// returns the environment and what the import said on stderr.
func forcedWithoutSecret(t *testing.T, s config.EnvSettings) (*devEnv, string) {
	t.Helper()
	e := newDevEnv(t)
	e.configureAs(t, "prod", "old-client", s)
	tok, _, err := loginOutside(t.Context(), e.api, "dev-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	export := writeExport(t, `{"key": "ClientId", "value": "dev-client-id"}`, fmt.Sprintf(`{"key": "Resource_prod", "value": %q}`, e.api), fmt.Sprintf(`{"key": "RefreshToken_prod", "value": %q}`, tok.RefreshToken))
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", export, "--force"); code != 0 {
		t.Fatalf("import --force exited %d: %s", code, stderr)
	}
	return e, stderr.String()
}

// TestImportPostmanForceSecretCommandStoppedBySignal: --force over an
// environment whose client_secret_cmd (of another client) is asked for the
// secret to compare, and a signal sent to the command alone ends it (a
// kill by hand). The import said it was interrupted because the command
// "could not be read here", suggesting flags to pass, as if the source
// were at fault; then "interrupted", exit 143, though freshtoken got no
// signal. It now says the command was ended by a signal that came to it
// alone, exit 2, nothing written. (A signal to freshtoken: e2e
// TestSignalWhileImportAsksTheKeptSecretCommand.)
func TestImportPostmanForceSecretCommandStoppedBySignal(t *testing.T) {
	e := newDevEnv(t)
	e.configureAs(t, "prod", "old-client", config.EnvSettings{ClientSecretCmd: "kill -TERM $$"})
	kept := e.configKept(t)
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "import", "postman", e.seedExport(t, "prod"), "--force")
	if code != 2 {
		t.Fatalf("import --force with its client_secret_cmd ended by a SIGTERM sent to it alone exited %d, want 2: %s%s", code, stdout, stderr)
	}
	if msg := stderr.String(); !strings.Contains(msg, "stopped by a signal (terminated)") || !strings.Contains(msg, "nothing was imported") || !strings.Contains(msg, "came to the command alone") ||
		strings.Contains(msg, "interrupted") || strings.Contains(msg, "could not be read") || strings.Contains(msg, "--client-secret") || strings.Count(strings.TrimSpace(msg), "\n") > 0 {
		t.Errorf("stderr = %q; want one line naming the signal that ended the command alone", msg)
	}
	kept("the import was interrupted")
	if _, err := os.Stat(filepath.Join(e.dir, "state", "prod.json")); !os.IsNotExist(err) {
		t.Errorf("the interrupted import stored tokens for prod (%v)", err)
	}
}
