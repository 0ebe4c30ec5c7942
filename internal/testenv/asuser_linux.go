package testenv

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// AsUser runs do as user uid uses the file system: the kernel gives a
// socket the file-system user of the thread that makes it, so a socket do
// makes belongs to uid, and a file do looks at is looked at with uid's
// rights alone, as a program of that user's would. It needs root (Missing
// otherwise) and Linux's setfsuid (skipped elsewhere).
func AsUser(t testing.TB, uid int, do func()) {
	t.Helper()
	NeedRoot(t, "acting as another user")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Setfsuid(uid); err != nil {
		t.Fatal(err)
	}
	defer unix.Setfsuid(os.Getuid())
	do()
}
