//go:build unix

package e2e_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestProxyUpgradeRefusesNoConnection: clients call the proxy in a loop
// while an upgrade restarts it. The old version stops accepting, sees its
// requests through and hands its listening socket to the new one, which
// accepts the connections that waited in the socket's backlog meanwhile:
// the socket was closed for the restart, and a browser coming back from a
// log-in, or a Postman call, just then met "connection refused".
func TestProxyUpgradeRefusesNoConnection(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, RequestsPerMinute: -1}, "")
	w.login()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	run, bin, install, data := w.upgradableProxy(addr)
	run.waitSaid(t, "freshtoken proxy running at")

	clients := map[string]*http.Transport{
		"a new connection for each request": {DisableKeepAlives: true},
		"one connection kept":               {},
	}
	var answered atomic.Int64
	var failure atomic.Pointer[error]
	stop := make(chan struct{})
	done := make(chan struct{}, len(clients))
	for name, transport := range clients {
		go func() {
			defer func() { done <- struct{}{} }()
			defer transport.CloseIdleConnections()
			client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := getCompany(client, "http://"+addr+"/dev/v2/company")
				if err != nil {
					err = fmt.Errorf("%s: %w", name, err)
					failure.CompareAndSwap(nil, &err)
					return
				}
				answered.Add(1)
			}
		}()
	}
	failed := func() bool { return failure.Load() != nil }
	defer func() {
		close(stop)
		for range clients {
			<-done
		}
		if err := failure.Load(); err != nil {
			t.Fatalf("a request across the restart failed: %v\n%s", *err, run.stderr)
		}
	}()
	testenv.WaitFor(t, "requests to the old version", func() bool { return failed() || answered.Load() > 10 })
	install(data)
	testenv.WaitFor(t, "the new version to serve", func() bool {
		return failed() || strings.Count(run.stderr.String(), "freshtoken proxy running at") == 2
	})
	before := answered.Load()
	testenv.WaitFor(t, "requests to the new version", func() bool { return failed() || answered.Load() > before+10 })
	if !failed() {
		runsTheNewBinary(t, run, bin)
	}
}

// getCompany GETs url, which must answer 200.
func getCompany(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %d", resp.StatusCode)
	}
	return nil
}

// runsTheNewBinary fails t unless run's process runs the file now at bin
// (on Linux, where /proc tells).
func runsTheNewBinary(t *testing.T, run *watched, bin string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return // only /proc tells which file a process runs
	}
	exe, err := os.Stat(fmt.Sprintf("/proc/%d/exe", run.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if now, err := os.Stat(bin); err != nil || !os.SameFile(exe, now) {
		t.Fatalf("the process runs %v, not the new binary (%v)", exe, err)
	}
}

// TestProxyTakesOnlyTheSocketItWasHanded: the variable by which a proxy
// hands its listening socket to its new version makes a proxy take the
// socket it names only when that is plainly the one handed: named for its
// own process (which execve keeps), and listening on its own address.
// Left over from another process (a child of the proxy's inherits its
// environment), naming another socket or none, or made up, it is ignored
// and the proxy listens afresh, leaving that socket alone.
func TestProxyTakesOnlyTheSocketItWasHanded(t *testing.T) {
	listening := func(t *testing.T) (*os.File, string) {
		t.Helper()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		file, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { file.Close() })
		return file, ln.Addr().String()
	}
	noSocket := func(t *testing.T) (*os.File, string) {
		t.Helper()
		file, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { file.Close() })
		return file, ""
	}
	for _, c := range []struct {
		name string
		// fd3 is the file the proxy is given at descriptor 3, and the
		// address that one listens on ("" for none).
		fd3   func(t *testing.T) (*os.File, string)
		value string // the variable; $$ is the proxy's process id
		// There: the proxy is told to listen on fd3's address, which
		// the test holds, so it serves there only if it took the
		// socket, and otherwise cannot listen (exit 2); else on another
		// address, where it serves having listened afresh.
		there, taken bool
	}{
		{name: "handed: its own process, its own address", fd3: listening, value: "$$:3", there: true, taken: true},
		{name: "left over from another process", fd3: listening, value: fmt.Sprint(os.Getpid(), ":3"), there: true},
		{name: "made up", fd3: listening, value: "$$:3:listen", there: true},
		{name: "a socket on another address", fd3: listening, value: "$$:3"},
		{name: "no socket", fd3: noSocket, value: "$$:3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			file, addr := c.fd3(t)
			if !c.there {
				addr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
			}
			run := w.watchWith(func(cmd *exec.Cmd) {
				cmd.ExtraFiles = []*os.File{file}
				cmd.Args = append([]string{"sh", "-c", "FRESHTOKEN_INTERNAL_LISTEN_FD=" + c.value + `; export FRESHTOKEN_INTERNAL_LISTEN_FD; exec "$0" "$@"`}, cmd.Args...)
				cmd.Path, cmd.Err = exec.LookPath("sh")
			}, "proxy", "--listen", addr)
			defer func() { run.cmd.Process.Signal(syscall.SIGTERM); run.wait() }()
			if c.there && !c.taken {
				if code, said := run.wait(); code != 2 || !strings.Contains(said, "cannot listen on "+addr) {
					t.Fatalf("exit %d; want 2, the address being held:\n%s", code, said)
				}
				return
			}
			run.waitSaid(t, "freshtoken proxy running at http://"+addr+"/")
			if err := getCompany(http.DefaultClient, "http://"+addr+"/dev/v2/company"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestProxyUpgradeRolledBackToAVersionTakingNoSocket: the freshtoken
// installed over a running proxy's is one from before the proxy handed
// its socket over (an upgrade rolled back). Its `version` does not say it
// takes the socket, so the proxy closes it as it stops, as it did: handed
// it all the same, that version left it unused and, holding it, could not
// listen on its own address.
func TestProxyUpgradeRolledBackToAVersionTakingNoSocket(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	run, bin, install, _ := w.upgradableProxy(addr)
	run.waitSaid(t, "freshtoken proxy running at")
	// This build, made to act as one that knows nothing of the variable.
	install([]byte(`#!/bin/sh
if [ "$1" = version ]; then
	echo 'freshtoken 0.9.0 (commit 0123456789ab, go1.24.0)'
	exit
fi
exec env -u FRESHTOKEN_INTERNAL_LISTEN_FD ` + binary + ` "$@"
`))
	run.waitSaid(t, "starting the new version, "+bin)
	testenv.WaitFor(t, "the older version to serve", func() bool {
		select {
		case <-run.stderr.Closed():
			t.Fatalf("the older version ended:\n%s", run.stderr)
		default:
		}
		return strings.Count(run.stderr.String(), "freshtoken proxy running at") == 2
	})
	if err := getCompany(http.DefaultClient, "http://"+addr+"/dev/v2/company"); err != nil {
		t.Fatal(err)
	}
}

// TestLoginRefusedDuringTheUpgradeRestart: `freshtoken login`'s link,
// opened as the proxy stops for an upgrade restart (on a connection it
// had accepted, so the old version answers it), is refused, 503: the
// browser is told to open the page again in a few seconds and click Log
// in. The command, which the refusal neither held nor failed, waits on,
// and the log-in begun from the new version's page ends it, logged in.
func TestLoginRefusedDuringTheUpgradeRestart(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, RequestsPerMinute: -1}, "")
	w.login()
	_, addr := w.redirectAddr()
	run, bin, install, data := w.upgradableProxy(addr)
	run.waitSaid(t, "freshtoken proxy running at")
	login := w.watch("login", "--no-browser", "--timeout", "50s")
	link := login.stderr.WaitFor(t, "the log-in link", regexp.MustCompile(`(?m)^http://\S+/login\?\S+$`))[0]

	// An upload still coming holds the stop (its grace, 5 s), and a
	// connection accepted before it, which has sent nothing yet, is
	// answered by the old version.
	upload := dialProxy(t, addr)
	fmt.Fprintf(upload, "POST /dev/v2/contacts HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"contact\":", addr)
	browser := dialProxy(t, addr)
	install(data)
	run.waitSaid(t, "waiting up to 5s for 1 request in flight")
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(browser, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.RequestURI(), addr)
	resp, err := http.ReadResponse(bufio.NewReader(browser), nil)
	if err != nil {
		t.Fatalf("the log-in link opened as the proxy stops: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !resp.Close ||
		!strings.Contains(string(body), "restarting as its new version") || !strings.Contains(string(body), "http://"+addr+"/ again in a few seconds and click Log in") {
		t.Errorf("the log-in link opened as the proxy stops got %d (Retry-After %q, close %t): %s", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close, body)
	}
	io.WriteString(upload, `{"organisation_name":"Acme"}}`)
	run.waitSaid(t, "starting the new version, "+bin)
	testenv.WaitFor(t, "the new version to serve", func() bool {
		return strings.Count(run.stderr.String(), "freshtoken proxy running at") == 2
	})
	select {
	case <-login.stderr.Closed():
		t.Fatalf("login ended as its link was refused:\n%s", login.stderr)
	default:
	}

	// The person opens the new version's page and clicks Log in.
	_, page := followed(t, "http://"+addr+"/")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if csrf == nil {
		t.Fatalf("no Log in form on the new version's page:\n%s", page)
	}
	click, err := http.NewRequest(http.MethodPost, "http://"+addr+"/.freshtoken/envs/dev/login", strings.NewReader("csrf="+url.QueryEscape(string(csrf[1]))))
	if err != nil {
		t.Fatal(err)
	}
	click.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	click.Header.Set("Origin", "http://"+addr)
	done, err := http.DefaultClient.Do(click)
	if err != nil {
		t.Fatal(err)
	}
	done.Body.Close()
	if !done.Request.URL.Query().Has("done") || done.Request.URL.Query().Get("done") != "logged-in" {
		t.Errorf("Log in on the new version's page ended at %s", done.Request.URL)
	}
	login.waitExit(t, 0)
	if !strings.Contains(login.stderr.String(), "Logged in to dev through the freshtoken proxy") {
		t.Errorf("login said:\n%s", login.stderr)
	}
}

// dialProxy connects to the proxy at addr, for the test to write HTTP on
// by hand; closed when the test ends.
func dialProxy(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute)) // a failure, not a hang
	return c
}
