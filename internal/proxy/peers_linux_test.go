package proxy_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// send sends a GET of path on c and reads the answer.
func send(t *testing.T, c net.Conn, r *bufio.Reader, host, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+path, nil)
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

// TestAnotherUsersProgramIsRefused: on a shared machine, another user's
// program sending a request to the proxy on 127.0.0.1 acted with this
// user's tokens. Its connection (the kernel's tables name its owner) gets
// 403 forbidden, naming whose proxy it is and what to do, and its
// connection is closed; the API hears nothing of it and no token is renewed.
// The refusal is logged once for that user, however many connections. The
// proxy's own user's programs are served.
func TestAnotherUsersProgramIsRefused(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	before := f.provider.Stats()
	for range 2 {
		c := testenv.DialAs(t, 65534, f.addr)
		resp, body := send(t, c, bufio.NewReader(c), f.addr, "/dev/v2/company")
		var pr struct{ Error, Message string }
		json.Unmarshal(body, &pr)
		if resp.StatusCode != http.StatusForbidden || pr.Error != "forbidden" || !resp.Close ||
			!strings.Contains(pr.Message, "serves only programs of user root (uid 0)") || !strings.Contains(pr.Message, "from a program of user nobody (uid 65534)") || !strings.Contains(pr.Message, "--listen") {
			t.Fatalf("another user's program: %d (closing %v) %s; want 403 forbidden naming both users and what to do, and the connection closed", resp.StatusCode, resp.Close, body)
		}
	}
	if after := f.provider.Stats(); after.APIRequests != before.APIRequests || after.TokenRequests != before.TokenRequests {
		t.Fatalf("the API or token endpoint was called for another user's program: %+v, then %+v", before, after)
	}
	if n := strings.Count(f.logs.String(), "requests from another user's programs refused"); n != 1 {
		t.Fatalf("the refusal was logged %d times; want once for the user:\n%s", n, f.logs)
	}

	c := testenv.DialAs(t, os.Getuid(), f.addr)
	r := bufio.NewReader(c)
	for range 2 { // on one connection, looked up once
		if resp, body := send(t, c, r, f.addr, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
			t.Fatalf("this user's program: %d %s; want 200", resp.StatusCode, body)
		}
	}
}

// TestRootsProgramIsServed: a program of root, who may read the user's
// token store anyway, is served by another user's proxy; a program of a
// third user is not. The proxy's own user is made another than root's
// here.
func TestRootsProgramIsServed(t *testing.T) {
	testenv.NeedRoot(t, "a program of root beside the user's proxy")
	f := newFixture(t)
	f.login(t, "dev")
	base := f.serveTuned(t, func(p *proxy.Proxy) { proxy.SetOwnUser(p, 4242) })
	addr := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct {
		uid    int
		status int
	}{{os.Getuid(), http.StatusOK}, {65534, http.StatusForbidden}} {
		c := testenv.DialAs(t, tc.uid, addr)
		if resp, body := send(t, c, bufio.NewReader(c), addr, "/dev/v2/company"); resp.StatusCode != tc.status {
			t.Errorf("a program of uid %d: %d %s; want %d", tc.uid, resp.StatusCode, body, tc.status)
		}
	}
}

// TestOwnUsersProgramWhereTheProxyIsAnotherUsers: a proxy made to be
// another user's (uid injected) refuses this user's programs; run as root,
// whose programs every proxy serves, "this user" is uid 4242.
func TestOwnUsersProgramWhereTheProxyIsAnotherUsers(t *testing.T) {
	me := os.Geteuid()
	if me == 0 {
		me = 4242
	}
	f := newFixture(t)
	base := f.serveTuned(t, func(p *proxy.Proxy) { proxy.SetOwnUser(p, me+1) })
	addr := strings.TrimPrefix(base, "http://")
	c := testenv.DialAs(t, me, addr)
	if resp, body := send(t, c, bufio.NewReader(c), addr, "/dev/v2/company"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("%d %s; want 403", resp.StatusCode, body)
	}
}

// TestWithoutTheTablesEveryProgramIsServed: where /proc is not mounted,
// the kernel's tables cannot be read: the proxy says as it starts that any
// user of this computer can use it, and serves another user's program, as
// before (docs/proxy.md says why it does not refuse every request). Run as
// root, in a copy of the test binary given a mount namespace of its own,
// where it hides /proc under an empty file system.
func TestWithoutTheTablesEveryProgramIsServed(t *testing.T) {
	if !testenv.WithProc(t, "tmpfs", "") {
		return
	}
	f := newFixture(t)
	f.login(t, "dev")
	if !strings.Contains(f.logs.String(), "any user of this computer can use it") {
		t.Fatalf("no warning that the proxy cannot tell users apart:\n%s", f.logs)
	}
	c := testenv.DialAs(t, 65534, f.addr)
	if resp, body := send(t, c, bufio.NewReader(c), f.addr, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("another user's program: %d %s; want 200, as before", resp.StatusCode, body)
	}
}

// TestAnotherUsersProgramAtTheMachinesAddress: a proxy listening on every
// address (--allow-remote, for other computers) is also reached from this
// machine at its network address, not only at 127.0.0.1. Another user's
// program connecting there was served as if it were another computer's.
// The proxy looks up the program of every connection from one of this
// machine's own addresses.
func TestAnotherUsersProgramAtTheMachinesAddress(t *testing.T) {
	own := testenv.NetworkAddr(t)
	f := newFixture(t)
	f.login(t, "dev")
	every := f.serveAt(t, "0.0.0.0:0", true, func(*proxy.Proxy) {})
	addr := netip.AddrPortFrom(own, uint16(every.Port)).String()
	for _, tc := range []struct {
		uid    int
		status int
	}{{65534, http.StatusForbidden}, {os.Getuid(), http.StatusOK}} {
		c := testenv.DialAs(t, tc.uid, addr)
		if resp, body := send(t, c, bufio.NewReader(c), addr, "/dev/v2/company"); resp.StatusCode != tc.status {
			t.Errorf("a program of uid %d at %s: %d %s; want %d", tc.uid, addr, resp.StatusCode, body, tc.status)
		}
	}
}

// TestProcSubsetPid: with /proc showing only the processes' folders (a
// service hardened with systemd's ProcSubset=pid), /proc/net is gone but
// each process's own /proc/self/net remains: the proxy read the former,
// warned that any user of this computer could use it and served them all.
// It reads its own process's tables, and refuses another user's program.
func TestProcSubsetPid(t *testing.T) {
	if !testenv.WithProc(t, "proc", "subset=pid") {
		return
	}
	f := newFixture(t)
	f.login(t, "dev")
	if strings.Contains(f.logs.String(), "any user of this computer can use it") {
		t.Fatalf("the proxy says it cannot tell users apart:\n%s", f.logs)
	}
	c := testenv.DialAs(t, 65534, f.addr)
	if resp, body := send(t, c, bufio.NewReader(c), f.addr, "/dev/v2/company"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another user's program: %d %s; want 403", resp.StatusCode, body)
	}
}
