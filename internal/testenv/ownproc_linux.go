package testenv

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// ownProc marks the copy of a test binary that WithProc runs, giving the
// file system to mount on /proc and its options.
const ownProc = "FRESHTOKEN_TEST_OWN_PROC"

// WithProc runs the calling test again in a copy of the test binary given
// a mount namespace of its own, where a file system of type fstype, with
// options, is mounted on /proc (root only: Missing otherwise): "tmpfs"
// hides it, "proc" with "subset=pid" leaves only the processes' folders,
// as systemd's ProcSubset=pid does. It fails the test if the copy's fails.
// It returns true in the copy, which goes on with the test, and false in
// the test that ran it, which has nothing left to do.
func WithProc(t *testing.T, fstype, options string) bool {
	t.Helper()
	if mount := os.Getenv(ownProc); mount != "" {
		fstype, options, _ := strings.Cut(mount, " ")
		if err := syscall.Mount(fstype, "/proc", fstype, 0, options); err != nil {
			t.Fatal(err)
		}
		return true
	}
	NeedRoot(t, "a mount namespace with /proc of its own")
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), ownProc+"="+fstype+" "+options)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("with %s on /proc (%s): %v\n%s", fstype, options, err, out)
	}
	return false
}
