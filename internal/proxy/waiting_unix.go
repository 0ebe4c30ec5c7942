//go:build unix

package proxy

import (
	"net"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// requestWaiting reports whether c has bytes come that are not read yet.
func requestWaiting(c net.Conn) bool {
	n := 0
	// Control, not Read, which would wait for the server's read of c.
	httpx.Control(c, func(fd uintptr) {
		var b [1]byte
		n, _, _ = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	})
	return n > 0
}
