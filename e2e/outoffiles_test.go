//go:build unix

package e2e_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

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
	resp, err := http.Get("http://" + addr + "/dev/v2/company")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("once the connections closed: %s, want 200", resp.Status)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	stderr := p.waitExit(t, 128+int(syscall.SIGTERM))
	if n := strings.Count(stderr, "ulimit -n"); n != 1 {
		t.Fatalf("the limit named %d times, want once:\n%s", n, stderr)
	}
}
