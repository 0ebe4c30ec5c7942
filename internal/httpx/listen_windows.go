package httpx

import "golang.org/x/sys/windows"

// Windows sockets fail in words of their own (WSAE…), which syscall's
// EADDRINUSE and EADDRNOTAVAIL, numbers Go makes up for Windows, never
// match: a busy port there was an unknown failure, so `login` beside a
// running proxy did not log in through it, and the service gave up on a
// port another program held.
var (
	addrInUse        error = windows.WSAEADDRINUSE
	addrNotAvailable error = windows.WSAEADDRNOTAVAIL
)
