//go:build unix

package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestManualLogInBesideAProxy: `login --manual` (as the sentence for a
// browser that cannot open suggests) while a freshtoken proxy holds the
// redirect port: the browser lands at the proxy with the answer, which
// is no log-in the proxy began. The proxy sent it on to its status page,
// so the address the person copied from the browser was the page's,
// without the code: the log-in could not be completed. The proxy now
// answers in place, saying to paste the address into the waiting
// `freshtoken login --manual`, which logs in with it, the code exchanged
// once, by the command alone.
func TestManualLogInBesideAProxy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	_, addr := w.redirectAddr()
	w.startProxy(addr)
	run, paste, authURL := w.manualLogin(t)
	resp, err := http.Get(authURL) // the browser, approving, lands where the provider sends it
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	landed := resp.Request.URL // the browser's address bar
	if landed.Host != addr || !strings.Contains(string(page), "freshtoken login --manual") {
		t.Fatalf("the browser landed at %s (%s); want the proxy's page at the redirect URI, saying to paste its address into freshtoken login --manual:\n%s", landed, resp.Status, page)
	}
	fmt.Fprintln(paste, landed)
	if stderr := run.waitExit(t, 0); !strings.Contains(stderr, "Logged in to dev") {
		t.Fatalf("login --manual: %s", stderr)
	}
	w.mustRun("get", "/v2/users/me")
	if st := w.provider.Stats(); st.Exchanges != 1 {
		t.Fatalf("provider saw %+v; want the code exchanged once, by the log-in", st)
	}
}

// manualLogin starts `login --manual`, its standard input a pipe, and
// waits for the URL it prints: it returns the run, the pipe's end to paste
// the address the browser landed at into, and the URL.
func (w *world) manualLogin(t *testing.T) (run *watched, paste *os.File, authURL string) {
	t.Helper()
	stdin, paste, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	run = w.watchWith(func(c *exec.Cmd) { c.Stdin = stdin }, "login", "--manual")
	stdin.Close()
	t.Cleanup(func() { paste.Close() })
	run.stderr.WaitFor(t, "the URL", regexp.MustCompile(`(?m)^http\S+\n`))
	return run, paste, regexp.MustCompile(`(?m)^http\S+`).FindString(run.stderr.String())
}
