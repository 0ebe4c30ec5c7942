// Package sockowner tells which user holds a TCP socket of this machine,
// as the kernel knows it: on a shared machine, whose program listens on a
// port, or sent a request over a connection made on this machine. Only
// Linux tells (asked by netlink's sock_diag, or its /proc/net/tcp and tcp6
// tables); elsewhere nothing is known.
package sockowner

import "errors"

// ErrUnknown is returned when the kernel's tables cannot say whose a socket
// is: they cannot be read here, or hold no open socket at that address (its
// program has closed it).
var ErrUnknown = errors.New("the kernel's socket tables do not say whose program it is")
