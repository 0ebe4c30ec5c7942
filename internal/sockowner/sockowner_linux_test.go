package sockowner

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestListener: the owner of a listening socket is read from the kernel's
// tables, for a loopback listener and a wildcard one (which also takes
// loopback connections); a port nobody listens on is not known.
func TestListener(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::"} {
		// Not a port the system picks: once closed, another test's server
		// started on port 0 might listen there before the look.
		port := strconv.Itoa(testenv.FreePort(t))
		listen := net.JoinHostPort(host, port)
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort("127.0.0.1", port)
		if uid, ok := Listener(addr); !ok || uid != os.Getuid() {
			t.Errorf("listening at %s: Listener(%s) = %d, %v; want %d, true", listen, addr, uid, ok, os.Getuid())
		}
		ln.Close()
		if uid, ok := Listener(addr); ok {
			t.Errorf("closed: Listener(%s) = %d, true; want not known", addr, uid)
		}
	}
}

// connect makes a connection to a listener at listen, from a socket of
// user uid to the address dial names (its %d the port), and returns the
// server's end. A v4-mapped address is dialled with an IPv6 socket, as
// Java's programs do (Go's net would make an IPv4 one).
func connect(t *testing.T, listen, dial string, uid int) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		testenv.Missing(t, "listening at %s: %v", listen, err)
	}
	defer ln.Close()
	addr := fmt.Sprintf(dial, ln.Addr().(*net.TCPAddr).Port)
	if ap := netip.MustParseAddrPort(addr); ap.Addr().Is4In6() {
		dialMapped(t, uid, ap)
	} else {
		testenv.DialAs(t, uid, addr)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server
}

// dialMapped connects to addr, v4-mapped, with an IPv6 socket of user uid.
func dialMapped(t *testing.T, uid int, addr netip.AddrPort) {
	t.Helper()
	var fd int
	var err error
	testenv.AsUser(t, uid, func() {
		if fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err == nil {
			err = unix.Connect(fd, &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
}

func ends(c net.Conn) (local, remote netip.AddrPort) {
	return c.LocalAddr().(*net.TCPAddr).AddrPort(), c.RemoteAddr().(*net.TCPAddr).AddrPort()
}

// TestPeer: the owner of a loopback connection's other end is found, over
// IPv4, IPv6, an IPv4 client of a listener on every address (the server's
// end IPv6, v4-mapped) and an IPv6 client socket connected to an IPv4
// address (as Java's are), for this user and, as root, for another; asked
// of the kernel and, where it cannot be, read from the tables.
func TestPeer(t *testing.T) {
	for _, tc := range []struct {
		name, listen, dial string
		uid                int
	}{
		{"ipv4", "127.0.0.1:0", "127.0.0.1:%d", os.Getuid()},
		{"ipv6", "[::1]:0", "[::1]:%d", os.Getuid()},
		{"ipv4 to every address", "[::]:0", "127.0.0.1:%d", os.Getuid()},
		{"v4-mapped", "127.0.0.1:0", "[::ffff:127.0.0.1]:%d", os.Getuid()},
		{"another user", "127.0.0.1:0", "127.0.0.1:%d", 65534},
		{"another user over ipv6", "[::1]:0", "[::1]:%d", 65534},
		{"another user v4-mapped", "[::]:0", "[::ffff:127.0.0.1]:%d", 65534},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := connect(t, tc.listen, tc.dial, tc.uid)
			if uid, err := Peer(server); err != nil || uid != tc.uid {
				t.Errorf("Peer = %d, %v; want %d", uid, err, tc.uid)
			}
			local, remote := ends(server)
			if uid, err := diagPeer(remote, local); err != nil || uid != tc.uid {
				t.Errorf("asked of the kernel: %d, %v; want %d", uid, err, tc.uid)
			}
			if uid, err := scanPeer(local, remote); err != nil || uid != tc.uid {
				t.Errorf("read from the tables: %d, %v; want %d", uid, err, tc.uid)
			}
		})
	}
}

// TestPeerClosed: a client that has closed its socket leaves remains in
// the tables that show root as their owner (no inode): another user's
// program that sent a request and closed at once would pass for root's.
// Peer says it is not known.
func TestPeerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	testenv.DialAs(t, 65534, ln.Addr().String()).Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	local, remote := ends(server)
	testenv.WaitFor(t, "the client's socket to be its remains", func() bool {
		remains := false
		scan(table4, func(s socket) bool {
			remains = bytes.Equal(s.local, format(remote, false)) && bytes.Equal(s.remote, format(local, false)) && bytes.Equal(s.inode, []byte("0"))
			return remains
		})
		return remains
	})
	if uid, err := Peer(server); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Peer = %d, %v; want ErrUnknown", uid, err)
	}
}

// TestFormat: addresses are written as the kernel's tables write them
// (read on this machine) and read back.
func TestFormat(t *testing.T) {
	for _, a := range []string{"127.0.0.1:8787", "[::1]:443", "[fe80::1:2]:65535"} {
		ap := netip.MustParseAddrPort(a)
		for _, six := range []bool{false, true} {
			if !six && !ap.Addr().Is4() {
				continue
			}
			back, ok := parseAddr(format(ap, six))
			if !ok || back != ap {
				t.Errorf("%s (six %v): %s read back as %s, %v", a, six, format(ap, six), back, ok)
			}
		}
	}
}

// BenchmarkPeer: a connection's owner among the sockets this machine has,
// and 2000 more of this process (whose lines come before or after it).
func BenchmarkPeer(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4096)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 1000 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		defer (<-accepted).Close()
	}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	b.ResetTimer()
	for b.Loop() {
		if _, err := Peer(server); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPeerAfterReset: a client can send its request and reset its
// connection at once (SO_LINGER 0): the server still reads the request,
// and the client's address is free for another socket before its owner is
// looked up. A program of the proxy's own user connecting from that
// address in between (its port predicted, or every other port held) would
// be found in the tables, and the request that came before served as its.
// The connection that sent the request having ended, its program is not
// known.
func TestPeerAfterReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// From an address of its own, that another test's socket is not at the
	// port it leaves.
	from := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 77)}}
	var other *net.TCPConn
	testenv.AsUser(t, 65534, func() {
		var c net.Conn
		if c, err = from.Dial("tcp", ln.Addr().String()); err == nil {
			other = c.(*net.TCPConn)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	other.SetLinger(0)
	other.Close()
	if _, err := server.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection was not reset")
	}
	d := net.Dialer{LocalAddr: other.LocalAddr()}
	own, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if uid, err := Peer(server); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Peer = %d, %v; want ErrUnknown", uid, err)
	}
}

// TestPeerNotAListener: asked for a connection it does not have, the
// kernel answers with a listener at the connection's address if there is
// one: a program listening at the port a client of another user had just
// left would pass for that client. A listener is not a connection's end.
func TestPeerNotAListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	own := ln.Addr().(*net.TCPAddr).AddrPort()
	if uid, err := diagPeer(own, netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, ErrUnknown) {
		t.Fatalf("diagPeer = %d, %v; want ErrUnknown", uid, err)
	}
}

// TestPeerWithoutTheTables: the owner of a connection was found by reading
// the whole of /proc/net/tcp, whose length another user sets: holding
// 130,000 sockets, most of them the remains of closed ones that cost him
// nothing, he made each lookup take a tenth of a second of the proxy's
// time, and his own connections to the proxy spent it. Peer asks the
// kernel for the one socket: it finds another user's connection with
// /proc hidden (root only, in a copy of the test binary given a mount
// namespace of its own). BenchmarkPeer measures it.
func TestPeerWithoutTheTables(t *testing.T) {
	if !testenv.WithProc(t, "tmpfs", "") {
		return
	}
	server := connect(t, "127.0.0.1:0", "127.0.0.1:%d", 65534)
	if uid, err := Peer(server); err != nil || uid != 65534 {
		t.Fatalf("Peer = %d, %v; want 65534", uid, err)
	}
}

// TestPeerOutOfFiles: a lookup opened a socket (or a table) of its own, and
// a proxy that had run out of files, accepting a connection as some were
// freed, refused its own user's program for want of one more ("could not
// tell which user's program sent this request"). The socket Peer asks the
// kernel on is opened by Prepare and kept.
func TestPeerOutOfFiles(t *testing.T) {
	server := connect(t, "127.0.0.1:0", "127.0.0.1:%d", os.Getuid())
	Prepare()
	release := testenv.ExhaustFiles(t)
	uid, err := Peer(server)
	release()
	if err != nil || uid != os.Getuid() {
		t.Fatalf("out of files: Peer = %d, %v; want %d", uid, err, os.Getuid())
	}
}
