//go:build !windows

package httpx

import "syscall"

// What a socket says of an address in use, or one this machine does not
// have (see listen_windows.go).
var (
	addrInUse        error = syscall.EADDRINUSE
	addrNotAvailable error = syscall.EADDRNOTAVAIL
)
