package httpx_test

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// TestListenFailureKnowsWindowsWords: Windows says a port is in use, or an
// address is not this machine's, in words of its own (WSAEADDRINUSE,
// WSAEADDRNOTAVAIL), which syscall's EADDRINUSE does not match: a busy
// port was an unknown failure, so `login` beside a running proxy did not
// log in through it, and a proxy given --listen [::1]:PORT went unseen.
func TestListenFailureKnowsWindowsWords(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_, err = net.Listen("tcp", held.Addr().String())
	if fault, _ := httpx.ListenFailure(err); err == nil || fault != httpx.ListenBusy {
		t.Errorf("listening again on %s: %v, sorted as %d; want ListenBusy", held.Addr(), err, fault)
	}
	notHere := &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", windows.WSAEADDRNOTAVAIL)}
	if fault, _ := httpx.ListenFailure(notHere); fault != httpx.ListenNoSuchAddress {
		t.Errorf("%v: sorted as %d; want ListenNoSuchAddress", notHere, fault)
	}
}
