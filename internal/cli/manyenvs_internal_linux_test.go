package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestProxyPageOfManyEnvironmentsLooksAtTheLocksOnce: the proxy's page,
// telling of a stopped process holding an environment's renewal lock,
// looks at who holds the system's locks (/proc/locks) once, not once for
// each environment, as status does (TestStatusOfManyEnvironmentsLooksAtTheLocksOnce).
// Counted in allocations, not time: the system holding 500 more locks adds
// few to each environment's.
func TestProxyPageOfManyEnvironmentsLooksAtTheLocksOnce(t *testing.T) {
	const n = 200
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[store]\nurl = %q\n\n", "file://"+state)
	for i := range n {
		fmt.Fprintf(&b, "[env.e%d]\nprovider = \"freeagent\"\nclient_id = \"client-%d\"\nclient_secret = \"s3cr3t-of-client-%d\"\n\n", i, i, i)
		if err := os.WriteFile(filepath.Join(state, fmt.Sprintf("e%d.lock", i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}}, ConfigFlag: path}
	if _, err := loadProxyStart(f); err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Options{Addr: "127.0.0.1:56763", Config: f.keptConfig, Open: f.keptSource, Logger: f.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	perEnv := func() uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:56763/", nil)
		r.RemoteAddr = "127.0.0.1:50000"
		page := httptest.NewRecorder()
		p.ServeHTTP(page, r)
		runtime.ReadMemStats(&after)
		if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), fmt.Sprintf("e%d", n-1)) {
			t.Fatalf("status page: %d\n%.500s", page.Code, page.Body)
		}
		return (after.Mallocs - before.Mallocs) / n
	}
	perEnv() // each environment opened
	few := perEnv()
	testenv.HoldLocks(t, 500)
	if many := perEnv(); many > few+50 {
		t.Errorf("the status page of %d environments made %d allocations for each with 500 more locks held, %d without; want a few more at most (the locks looked at once)", n, many, few)
	}
}
