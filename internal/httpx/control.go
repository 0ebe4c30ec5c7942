package httpx

import (
	"net"
	"syscall"
)

// Control calls f with the file descriptor of c's socket, as
// syscall.RawConn.Control does, without taking a read or write turn on
// it, and reports whether it could: c may be a connection with no
// descriptor of its own (net.Pipe, a wrapper that hides it).
func Control(c net.Conn, f func(fd uintptr)) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	return err == nil && raw.Control(f) == nil
}
