//go:build unix

package e2e_test

import (
	"net"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// listenAs listens at addr with a socket that belongs to user uid, as a
// program of that user would (root only): the kernel gives a socket the
// owner of the thread that makes it.
func listenAs(t *testing.T, uid int, addr string) net.Listener {
	t.Helper()
	testenv.NeedRoot(t, "a socket of another user")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Setfsuid(uid); err != nil {
		t.Fatal(err)
	}
	defer unix.Setfsuid(os.Getuid())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
