package testenv

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// withoutProc marks the copy of a test binary that WithoutProc runs.
const withoutProc = "FRESHTOKEN_TEST_WITHOUT_PROC"

// WithoutProc runs the calling test again in a copy of the test binary
// given a mount namespace of its own, where /proc is hidden under an empty
// file system (root only: Missing otherwise), and fails the test if the
// copy's fails. It returns true in the copy, which goes on with the test,
// and false in the test that ran it, which has nothing left to do.
func WithoutProc(t *testing.T) bool {
	t.Helper()
	if os.Getenv(withoutProc) != "" {
		if err := syscall.Mount("none", "/proc", "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
		return true
	}
	NeedRoot(t, "a mount namespace without /proc")
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), withoutProc+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("without /proc: %v\n%s", err, out)
	}
	return false
}
