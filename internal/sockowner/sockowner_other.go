//go:build !linux

package sockowner

import "net"

// Known is false: outside Linux, the owner of a socket is not known.
const Known = false

// Listener would return the user id of a program listening at addr;
// outside Linux it is not known (ok is false).
func Listener(addr string) (uid int, ok bool) { return 0, false }

// Peer would return the user id of the program at the other end of a
// connection from this machine; outside Linux it is not known.
func Peer(c net.Conn) (uid int, err error) { return 0, ErrUnknown }

// Prepare would open what Peer asks the kernel with; outside Linux there
// is nothing to open.
func Prepare() {}
