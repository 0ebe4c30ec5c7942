//go:build unix

package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestLogoutWhoseSecretCommandASignalEnded: logout of an environment whose
// client_secret_cmd is ended by a signal before it prints the secret
// (Ctrl-C or a closed terminal, sent to the whole job, reaching the command
// before freshtoken acts on it): nothing was sent, so the log-out stops
// with the tokens kept, exit 128+N, saying to run logout again. They were
// deleted unrevoked ("Logged out of dev: its tokens were deleted … but
// client_secret_cmd … was stopped by a signal"), the grant left alive with
// nothing to end it with.
func TestLogoutWhoseSecretCommandASignalEnded(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecretCmd: "kill -TERM $$", RevocationURL: e.api + "v2/revoke"})
	e.loginOutside(t)
	stored := filepath.Join(e.dir, "state", "dev.json")
	before, err := os.ReadFile(stored)
	if err != nil {
		t.Fatal(err)
	}
	ios, _, stderr := testStreams(false, false)
	code := e.run(ios, "logout", "-e", "dev")
	msg := stderr.String()
	if code != 128+15 || strings.Contains(msg, "Logged out") {
		t.Fatalf("logout whose client_secret_cmd SIGTERM ended exited %d, want 143: %s", code, msg)
	}
	for _, want := range []string{"freshtoken: interrupted", "the log-out stopped before its tokens were deleted", "logout -e dev"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr = %q; want it to say %q", msg, want)
		}
	}
	if strings.Count(strings.TrimSpace(msg), "\n") > 0 {
		t.Errorf("stderr = %q; want one line", msg)
	}
	after, err := os.ReadFile(stored)
	if err != nil || string(after) != string(before) {
		t.Fatalf("the tokens were not kept as they were (%v)", err)
	}
}
