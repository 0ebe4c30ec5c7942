package testenv

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// AsUser runs do as user uid makes sockets: the kernel gives a socket the
// file-system user of the thread that makes it, so a socket do makes
// belongs to uid, as a program of that user's would. It needs root (Missing
// otherwise) and Linux's setfsuid (skipped elsewhere).
func AsUser(t testing.TB, uid int, do func()) {
	t.Helper()
	NeedRoot(t, "a socket of another user")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Setfsuid(uid); err != nil {
		t.Fatal(err)
	}
	defer unix.Setfsuid(os.Getuid())
	do()
}
