// Package testenv lets a test that needs something of the machine (root, a
// program, a pseudo-terminal) be skipped where that is missing, except
// under CI (CI set, as .ci/run does): there a missing need fails the test,
// since CI provides everything and a skipped guard would pass unnoticed. It
// also gives tests one way to wait for something (with a deadline), to wait
// for what a running command prints (Output), to send an HTTP request and
// read its answer, to take connections on loopback (Serve), to write a
// file of a given mode (WriteFile), and to check that a client retries past
// an answer whose body stalls.
package testenv

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Missing skips t, or fails it under CI, saying what the machine lacks.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must provide what this test needs: "+format, args...)
	}
	t.Skipf(format, args...)
}

// NeedRoot is Missing unless the test runs as root, as CI does; what says
// what root is needed for.
func NeedRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "%s needs root; CI runs as root", what)
	}
}

// NobodysFolder makes a folder named name in a temporary folder and gives
// it to the user nobody (65534), as root finds a user's home under
// `sudo -E`; it needs root, and the folder's path is returned.
func NobodysFolder(t testing.TB, name string) string {
	t.Helper()
	NeedRoot(t, "giving a folder to another user")
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return dir
}

// WriteFile writes text to a file named name in a new temporary folder,
// with exactly mode, whatever the umask, and returns its path.
func WriteFile(t testing.TB, name, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// WaitFor polls until cond holds, and fails the test if it does not within
// 30 seconds, which no passing run comes near.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Receive waits for a value from ch, as long as WaitFor waits, and
// returns it.
func Receive[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("gave up waiting for %s", what)
	}
	var zero T // not reached: Fatalf ends the test
	return zero
}

// Do sends req with client (http.DefaultClient when nil) and returns the
// answer with its body read and closed, failing t if either goes wrong.
func Do(t testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// Visit opens u as a browser would, following redirects, and drops the
// page: a person's browser at a log-in's page, which the dev provider
// approves.
func Visit(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// Serve listens on 127.0.0.1, at a port the system picks, until the test
// ends, and calls handle, in a goroutine of its own, with each connection
// it accepts. It returns the address.
func Serve(t testing.TB, handle func(c net.Conn)) string {
	t.Helper()
	return ServeOn(t, "tcp", "127.0.0.1:0", handle)
}

// ServeOn is Serve listening on network at address (a Unix socket's
// path, say).
func ServeOn(t testing.TB, network, address string, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// Pipe is a relay's connection to the server at address on network for
// client, a connection it accepted (see Serve): what the server sends goes
// back to client as it comes, and the relay writes to the server what it
// passes on of client's. Both close at the test's end; when the server
// cannot be reached, client closes now, and Pipe returns nil.
func Pipe(t testing.TB, client net.Conn, network, address string) net.Conn {
	server, err := net.Dial(network, address)
	if err != nil {
		client.Close()
		return nil
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	go func() {
		io.Copy(client, server)
		client.Close()
	}()
	return server
}

// FreePort is a port on 127.0.0.1 that was free a moment ago, for a
// configuration to name before the program that listens on it starts.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := PickPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// NewServerOnFreePort is httptest.NewServer listening on a FreePort, for a
// test that closes it and then takes its address for one where nothing
// listens (a provider or a proxy that stopped): once closed, a port the
// system picked is free for any program's server, or any connection's own
// end, to take, and the test's request then reached that.
func NewServerOnFreePort(t testing.TB, handler http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t))))
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: handler}}
	srv.Start()
	return srv
}

// PickPort is FreePort for callers without a testing.TB (testscript). The
// port is taken below the range the system picks from for servers started
// on port 0 and for outgoing connections (32768 and up on Linux, 49152 and
// up on macOS and Windows), so that none of those takes it between now and
// its use, and it is reserved (see reserve) so that no test process gives
// it again while this one runs.
func PickPort() (int, error) {
	for range 1000 {
		port := minPicked + rand.IntN(maxPicked-minPicked)
		if reserve(port) {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port on 127.0.0.1 from %d to %d", minPicked, maxPicked)
}

// The ports PickPort gives.
const minPicked, maxPicked = 20000, 32000

// reserve says whether port is free on 127.0.0.1 over TCP and, if it is,
// reserves it until this process ends, to every test process that picks
// its ports here, itself included: the mark is a UDP socket on the same
// address, which the system lets one socket hold at a time. Test
// processes run side by side (go test runs packages at once; .ci/run runs
// the raced ones beside the rest), and a port that only its own process
// knew it had given was picked by another's meanwhile: a program failed
// to listen with "address already in use".
func reserve(port int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	mark, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	if !freeOverTCP(addr) {
		mark.Close()
		return false
	}
	marksMu.Lock()
	defer marksMu.Unlock()
	marks = append(marks, mark)
	return true
}

// freeOverTCP says whether a listener can be opened at addr, by opening
// one and closing it, with no program started meanwhile: a program started
// by another goroutine has a copy of each of this process's sockets from
// its fork until its exec closes them (close-on-exec), and one started
// while this listener was open kept the port listening after the close,
// for milliseconds under load, so that the port's first use failed with
// "address already in use". Go starts programs holding syscall.ForkLock
// for writing.
func freeOverTCP(addr string) bool {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// The marks of the ports PickPort gave, held open until the process ends.
var (
	marksMu sync.Mutex
	marks   []net.PacketConn
)

// Names are the names of the files in dir, in order.
func Names(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// DialAs connects to addr over TCP with a socket of user uid, as that
// user's program would (see AsUser), or of this process's own user when uid
// is os.Getuid(); the connection is closed at the test's end.
func DialAs(t testing.TB, uid int, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	dial := func() { c, err = net.Dial("tcp", addr) }
	if uid == os.Getuid() {
		dial()
	} else {
		AsUser(t, uid, dial)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
