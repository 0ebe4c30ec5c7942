package testenv

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// Delivered waits until the system at c's other end has taken all that
// was written on c (acknowledged it), so that a server looking for a
// request come on c sees it. Written is not arrived: on a loaded machine
// Linux may hand even a loopback connection's bytes over a moment later,
// and a server stopping in that moment rightly closes the connection as
// one that sent nothing.
func Delivered(t testing.TB, c net.Conn) {
	t.Helper()
	WaitFor(t, "the other end to take what was written", func() bool {
		unsent := -1
		httpx.Control(c, func(fd uintptr) {
			if n, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ); err == nil {
				unsent = n
			}
		})
		if unsent < 0 {
			t.Fatalf("could not ask how much of what was written on %v is unacknowledged", c.LocalAddr())
		}
		return unsent == 0
	})
}
