//go:build unix

package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestAcceptSurvivesRunningOutOfFiles: a proxy that runs out of file
// descriptors (EMFILE) while accepting a connection keeps serving once some
// are free again. The proxy runs in a child process, this test run again,
// with a low limit on open files, all of them in use until the proxy has
// failed to accept this test's request.
func TestAcceptSurvivesRunningOutOfFiles(t *testing.T) {
	if os.Getenv("FRESHTOKEN_EMFILE_CHILD") != "" {
		emfileChild(t)
		return
	}
	lines := testenv.RunAgain(t, "FRESHTOKEN_EMFILE_CHILD=1").Stdout
	addr, err := lines.ReadString('\n')
	if err != nil {
		t.Fatalf("the child proxy did not start: %v", err)
	}
	if line, err := lines.ReadString('\n'); line != "exhausted\n" {
		t.Fatalf("the child did not run out of files: %q %v", line, err)
	}
	// The client's own limit only keeps a failing test from hanging.
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get("http://" + strings.TrimSpace(addr) + "/")
	if err != nil {
		t.Fatalf("the proxy stopped serving after running out of files: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status page: %d", resp.StatusCode)
	}
}

// emfileChild serves a proxy and prints its address; lowers its limit on
// open files and opens files up to it, then prints "exhausted"; and once
// the proxy has failed to accept a connection for want of a file, closes
// them. It ends when its stdin closes.
func emfileChild(t *testing.T) {
	failed := make(chan struct{})
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, tune: func(o *proxy.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&watch{w: os.Stderr, needle: "too many open files", seen: failed}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	fmt.Println(f.addr)
	release := testenv.ExhaustFiles(t)
	ended := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(ended)
	}()
	fmt.Println("exhausted")
	select {
	case <-failed:
	case <-ended: // the test has failed, or a proxy that stopped logged nothing
	}
	release()
	<-ended
}

// watch passes writes on to w, and closes seen the first time one holds
// needle.
type watch struct {
	w      io.Writer
	needle string
	seen   chan struct{}
	once   sync.Once
}

func (w *watch) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.needle) {
		w.once.Do(func() { close(w.seen) })
	}
	return w.w.Write(p)
}

// TestAnAPIOutOfFilesSaysWhichLimit: a request whose connection to the API
// could not be opened as the proxy had as many files open as it may
// (EMFILE, its ulimit -n) is answered 502 api_unreachable saying so, with
// the limit to raise; it said "check your connection and api_url", of a
// connection that was never tried. The client's connection and the token
// are the proxy's already; the API closes each of its own.
func TestAnAPIOutOfFilesSaysWhichLimit(t *testing.T) {
	f := serveWithTimeout(t, "api", 10*time.Second, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, `{}`)
	})
	f.serve(t)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	get := func() (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, f.base+"/api/v2/company", nil)
		if err != nil {
			t.Fatal(err)
		}
		return testenv.Do(t, client, req)
	}
	if resp, body := get(); resp.StatusCode != http.StatusOK {
		t.Fatalf("before: %s %s", resp.Status, body)
	}
	release := testenv.ExhaustFiles(t)
	resp, body := get()
	release()
	var pr struct{ Error, Message string }
	if err := json.Unmarshal(body, &pr); err != nil {
		t.Fatalf("%s %s: %v", resp.Status, body, err)
	}
	if resp.StatusCode != http.StatusBadGateway || pr.Error != "api_unreachable" || !strings.Contains(pr.Message, "api: the API at ") ||
		!strings.Contains(pr.Message, "too many open files") || !strings.Contains(pr.Message, "its limit on open files allows (64 here)") || strings.Contains(pr.Message, "check your connection") {
		t.Fatalf("%s %s; want 502 api_unreachable naming the limit on open files to raise", resp.Status, body)
	}
}
