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

// TestCommandsInheritNoFilesOfTheRunner: a file the test binary inherited
// (fd 3, as a runner may leave one open) does not reach the commands it
// starts. It did, and with six such files a command under `ulimit -n 9`
// could not load the C library: e2e's TestOutOfFilesIsToldAlike failed.
func TestCommandsInheritNoFilesOfTheRunner(t *testing.T) {
	if os.Getenv("TESTENV_INHERITED_CHILD") != "" {
		testenv.PassNoInheritedFiles()
		out, _ := exec.Command("sh", "-c", "if true <&3; then echo fd 3 open; else echo fd 3 closed; fi 2>/dev/null").Output()
		fmt.Print(string(out))
		return
	}
	inherited, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer inherited.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCommandsInheritNoFilesOfTheRunner$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TESTENV_INHERITED_CHILD=1")
	cmd.ExtraFiles = []*os.File{inherited}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "fd 3 ") {
		t.Fatalf("the test binary given fd 3: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "fd 3 closed") {
		t.Fatalf("a command started by a test binary that inherited fd 3 had it too:\n%s", out)
	}
}
