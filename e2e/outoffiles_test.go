//go:build unix

package e2e_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestProxyOutOfFilesSaysSo: a proxy whose clients' connections have taken
// every file it may open (`ulimit -n`) says so on its log, once a minute at
// most, naming the limit to raise, and serves again once some close. It
// told nothing but --debug's "http: Accept error" lines: its clients
// waited in silence.
func TestProxyOutOfFilesSaysSo(t *testing.T) {
	w := newWorld(t, devprovider.Options{}, "")
	w.login()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	p := w.watchAfter("ulimit -n 32", "proxy", "--listen", addr)
	p.waitSaid(t, "freshtoken proxy running at")

	// Requests begun and never finished: each holds a file of the proxy's
	// until its header times out, and the kernel queues those it cannot
	// take.
	var held []net.Conn
	for range 40 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if _, err := c.Write([]byte("GET /dev/v2/company HTTP/1.1\r\nHost: " + addr + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	p.waitSaid(t, "ulimit -n")
	for _, c := range held {
		c.Close()
	}
	// The proxy closes its ends as it reads the clients' (and accepts those
	// still queued): until then it may be out of files for the store, and
	// says so, 503.
	testenv.WaitFor(t, "the proxy to serve once the connections closed", func() bool {
		resp, body := followed(t, "http://"+addr+"/dev/v2/company")
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "too many open files") {
			return false
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("once the connections closed: %s %s, want 200", resp.Status, body)
		}
		return true
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	stderr := p.waitExit(t, 128+int(syscall.SIGTERM))
	// Once, however many connections it could not take (the store's own
	// failure, out of files too, is told apart).
	if n := strings.Count(stderr, "the proxy cannot take new connections"); n != 1 {
		t.Fatalf("told %d times that it could not take connections, want once:\n%s", n, stderr)
	}
}

// TestOutOfFilesIsToldAlikeWhereverAFileIsOpened: with an open-files limit
// so low that the configuration cannot be opened (`ulimit -n 6`), freshtoken
// said "cannot read it (too many open files)", exit 2, as for a broken
// configuration, with no next step, where the token store out of files
// says to raise the limit, exit 5. Both now tell it by one rule: exit 5,
// and the limit to raise. With a limit leaving the configuration its file
// but not Go's runtime its poller (8 and 9 on Linux), the runtime died
// with a goroutine dump, exit 2: freshtoken now counts the files it may
// open before it opens any.
func TestOutOfFilesIsToldAlikeWhereverAFileIsOpened(t *testing.T) {
	w := newWorld(t, devprovider.Options{}, "")
	for _, limit := range []int{6, 8, 9} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := w.command(ctx, "token", "--force")
			cmd.Args = append([]string{"sh", "-c", fmt.Sprintf(`ulimit -n %d; exec "$0" "$@"`, limit)}, cmd.Args...)
			cmd.Path, cmd.Err = exec.LookPath("sh")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 5 || stderr.String() != fmt.Sprintf("freshtoken: cannot open its files: too many open files; freshtoken has as many files and connections open as its limit on open files allows (%d here): try again, or raise that limit (ulimit -n in the shell that starts freshtoken, LimitNOFILE= in a systemd unit)\n", limit) {
				t.Fatalf("exit %d, said %q; want exit 5 naming the limit to raise", code, stderr.String())
			}
		})
	}
}
