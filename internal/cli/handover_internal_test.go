//go:build unix

package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHandedListenerLeavesNothingForAChild: the proxy takes the variable
// that hands it a listening socket out of its environment, whatever it
// holds, and once it has taken the socket closes the descriptor it was
// handed at, keeping a copy closed on exec: no program it starts (exec's
// command, a client_secret_cmd, a notify command) sees the variable or
// inherits the socket.
func TestHandedListenerLeavesNothingForAChild(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	t.Run("a socket handed", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		fd := rawDup(t, ln.(*net.TCPListener))
		t.Setenv(handOverVar, fmt.Sprintf("%d:%d", os.Getpid(), fd))
		handed := handedListener(ln.Addr().String(), discard)
		if handed == nil {
			unix.Close(fd)
			t.Fatal("the socket handed was not taken")
		}
		defer handed.Close()
		if v, ok := os.LookupEnv(handOverVar); ok {
			t.Fatalf("%s=%s left for the programs started", handOverVar, v)
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
			unix.Close(fd)
			t.Fatalf("descriptor %d, handed over, is still open (%v)", fd, err)
		}
		conn, err := handed.(*net.TCPListener).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var flags int
		if err := conn.Control(func(s uintptr) { flags, err = unix.FcntlInt(s, unix.F_GETFD, 0) }); err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Fatalf("the listener's socket is inherited by the programs started: flags %#x, %v", flags, err)
		}
	})
	t.Run("none handed", func(t *testing.T) {
		t.Setenv(handOverVar, "0:3")
		if handedListener("127.0.0.1:0", discard) != nil {
			t.Fatal("a socket was taken")
		}
		if v, ok := os.LookupEnv(handOverVar); ok {
			t.Fatalf("%s=%s left for the programs started", handOverVar, v)
		}
	})
}

// rawDup is a copy of ln's socket descriptor, closed on exec, which no
// *os.File holds (whose finalizer would close it again).
func rawDup(t *testing.T, ln *net.TCPListener) int {
	t.Helper()
	conn, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	var dupErr error
	if err := conn.Control(func(s uintptr) { fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 3) }); err != nil || dupErr != nil {
		t.Fatal(err, dupErr)
	}
	return fd
}

// TestHandedSocketOnEveryAddressIsTaken: a proxy listening on every
// address (--allow-remote --listen 0.0.0.0:8787) holds a socket bound to
// [::] where the system has IPv6, as net.Listen binds 0.0.0.0 there. The
// new version took it for a socket elsewhere, left it open, and could
// not listen on its address, which it held itself: the upgrade ended the
// proxy (exit 2), or left the service waiting for ever for "another
// program" to free it. Checked on the addresses such sockets report, as
// tests listen on loopback only.
func TestHandedSocketOnEveryAddressIsTaken(t *testing.T) {
	for _, c := range []struct {
		at, listen string
		taken      bool
	}{
		{"[::]:8787", "0.0.0.0:8787", true},
		{"0.0.0.0:8787", "0.0.0.0:8787", true}, // a system without IPv6
		{"[::]:8787", "[::]:8787", true},
		{"[::]:8787", ":8787", true},
		{"[fe80::1]:8787", "[fe80::1%eth0]:8787", true},
		{"127.0.0.1:8787", "127.0.0.1:8787", true},
		{"[::]:8787", "127.0.0.1:8787", false},
		{"127.0.0.1:8787", "0.0.0.0:8787", false},
		{"[::]:8787", "0.0.0.0:9000", false},
	} {
		if got := listensOn(netip.MustParseAddrPort(c.at), c.listen); got != c.taken {
			t.Errorf("a socket on %s, handed to a proxy listening on %s: taken %v, want %v", c.at, c.listen, got, c.taken)
		}
	}
}
