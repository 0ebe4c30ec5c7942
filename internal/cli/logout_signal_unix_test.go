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
// client_secret_cmd is ended by a signal sent to it alone (a kill by hand,
// a password manager's own time-out) before it prints the secret: nothing
// was sent, so the log-out stops with the tokens kept, saying to run logout
// again. It is the command's failure, exit 2, one line naming the signal:
// it was told as freshtoken's own interruption ("freshtoken: interrupted",
// exit 143) though freshtoken got no signal. (Ctrl-C to the whole job, the
// command and freshtoken both: e2e TestSecretCommandEndedBySignal.) Before
// that, the tokens were deleted unrevoked ("Logged out of dev: its tokens
// were deleted … but client_secret_cmd … was stopped by a signal"), the
// grant left alive with nothing to end it with.
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
	if code != 2 || strings.Contains(msg, "Logged out") || strings.Contains(msg, "interrupted") {
		t.Fatalf("logout whose client_secret_cmd a SIGTERM sent to it alone ended exited %d, want 2: %s", code, msg)
	}
	for _, want := range []string{"its client_secret_cmd was stopped by a signal (terminated)", "came to the command alone, not to freshtoken", "the log-out stopped before its tokens were deleted", "logout -e dev` to finish it"} {
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
