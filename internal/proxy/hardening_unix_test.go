//go:build unix

package proxy_test

import (
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
