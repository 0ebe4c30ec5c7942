//go:build unix

package testenv_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestUnignoredSignalsReachTheCommandsStarted: a test binary started with
// SIGHUP ignored (under nohup) and SIGINT and SIGQUIT ignored (put in the
// background by a shell without job control) starts commands that a closed
// terminal or a Ctrl-C ends, as a person's are: they inherited the ignored
// signals, and every test of freshtoken's signal handling failed.
func TestUnignoredSignalsReachTheCommandsStarted(t *testing.T) {
	if os.Getenv("TESTENV_UNIGNORE_CHILD") != "" {
		testenv.UnignoreSignals()
		for _, sig := range []string{"HUP", "INT", "QUIT"} {
			out, _ := exec.Command("sh", "-c", "kill -"+sig+" $$; echo survived "+sig).CombinedOutput()
			fmt.Printf("sent %s: %s\n", sig, out)
		}
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `trap "" HUP INT QUIT; exec "$0" -test.run='^TestUnignoredSignalsReachTheCommandsStarted$' -test.v`, exe)
	cmd.Env = append(os.Environ(), "TESTENV_UNIGNORE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Count(string(out), "sent ") != 3 {
		t.Fatalf("the test binary started with the signals ignored: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "survived") {
		t.Fatalf("a command started by a test binary that had the signals ignored did not end at them:\n%s", out)
	}
}
