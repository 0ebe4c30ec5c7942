package keyringtest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDaemonLogSaysHowItEnded: a failed test's note of the daemon says
// that it wrote nothing when it wrote nothing (it printed
// "gnome-keyring-daemon said:" followed by nothing), and how it ended, so
// that a daemon that aborted is told from one the test's end stopped.
func TestDaemonLogSaysHowItEnded(t *testing.T) {
	quiet := exec.Command("sh", "-c", "exit 0")
	aborted := exec.Command("sh", "-c", "echo 'assertion failed' >&2; kill -ABRT $$")
	var stderr strings.Builder
	aborted.Stderr = &stderr
	quiet.Run()
	aborted.Run()
	for _, tc := range []struct {
		name, got string
		want      []string
	}{
		{"silent", daemonLog("", quiet.ProcessState), []string{"wrote nothing on its stderr", "it ended: exit status 0"}},
		{"aborted", daemonLog(stderr.String(), aborted.ProcessState), []string{"said (it ended: signal: aborted", "):\nassertion failed"}},
		{"never ended", daemonLog(" \n", nil), []string{"wrote nothing on its stderr; it had not ended"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, tc.got, w)
			}
		}
	}
}
