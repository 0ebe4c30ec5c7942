package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/proxy"
)

// TestProxyOfManyEnvironmentsReadsTheConfigurationOnce: a proxy of many
// environments (an accountant's, one per client company) reads the
// configuration once for its keeper's look at all of them and once for its
// status page, not once more for each environment: its keeper's watch of
// each read the whole file four times at each look (the source, its
// settings, its token file, its store) and its page twice for each
// environment, so that a proxy of 200 environments spent minutes of
// processor time and its page answered after 255 s (2000: no answer).
// The keeper's question of where a rejected client's secret comes from
// (SecretWhere), asked at each look, read the whole file too (300: 42765
// allocations for each environment at a look).
// Counted in allocations, not time. Each environment, opened, holds a few
// kilobytes: a compiled expression for each secret registered (a client
// secret each here) held 30, so that a proxy of 2000 grew to 550 MB.
func TestProxyOfManyEnvironmentsReadsTheConfigurationOnce(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "[store]\nurl = %q\n\n", "file://"+filepath.Join(dir, "state"))
	for i := range n {
		fmt.Fprintf(&b, "[env.e%d]\nprovider = \"freeagent\"\nclient_id = \"client-%d\"\nclient_secret = \"s3cr3t-of-client-%d\"\ntoken_file = %q\n\n", i, i, i, filepath.Join(dir, fmt.Sprintf("token-%d", i)))
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}}, ConfigFlag: path}
	s, err := loadProxyStart(f)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeeper(f, s, &atomic.Pointer[notify.Notifier]{})
	p, err := proxy.New(proxy.Options{Addr: "127.0.0.1:54763", Config: f.keptConfig, Open: f.keptSource, Logger: f.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	perEnv := func(work func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		work()
		runtime.ReadMemStats(&after)
		return (after.Mallocs - before.Mallocs) / n
	}
	look := perEnv(func() {
		for i := range n {
			env := fmt.Sprintf("e%d", i)
			if _, err := k.Open(t.Context(), env); err != nil {
				t.Fatal(err)
			}
			if k.Settings(env) == nil || k.TokenFile(env) == "" || k.SecretWhere(env) != "the config file" {
				t.Fatalf("%s: no settings, token file or client secret's place", env)
			}
			if err := k.CheckStore(t.Context(), env); err != nil {
				t.Fatal(err)
			}
		}
	})
	if look > 5000 {
		t.Errorf("the keeper's look at %d environments made %d allocations for each; want under 5000 (the file read once)", n, look)
	}
	var page *httptest.ResponseRecorder
	shown := perEnv(func() {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:54763/", nil)
		r.RemoteAddr = "127.0.0.1:50000"
		page = httptest.NewRecorder()
		p.ServeHTTP(page, r)
	})
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "e299") {
		t.Fatalf("status page: %d\n%.500s", page.Code, page.Body)
	}
	if shown > 5000 {
		t.Errorf("the status page of %d environments made %d allocations for each; want under 5000 (the file read once)", n, shown)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	if held > 16<<10 {
		t.Errorf("the proxy of %d environments, each opened, holds %d bytes for each; want under 16 KiB", n, held)
	}
	runtime.KeepAlive(k)
	runtime.KeepAlive(p)
	t.Logf("per environment: look %d, page %d allocations, %d bytes held", look, shown, held)
}
