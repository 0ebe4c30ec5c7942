package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestAllStopsWhenTheOutputsReaderGoes: `get --all | true`, or a pager
// quit before the document came, leaves --all nobody to print for. It
// asks for no page after the reader went, the page under way abandoned:
// each one spends FreeAgent's 120 requests a minute. It exits 141, as a
// pipeline member whose reader went, saying nothing. It read every page
// to the last (twenty here), and only then found the pipe closed.
func TestAllStopsWhenTheOutputsReaderGoes(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var (
		later     atomic.Int32 // pages asked for after the reader went
		closeOnce sync.Once
	)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		switch {
		case page > 2:
			later.Add(1)
		case page == 2:
			closeOnce.Do(func() { pr.Close() }) // the reader goes
			select {                            // and the page is slow to come
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Second):
			}
		}
		if page < 20 {
			w.Header().Set("Link", fmt.Sprintf(`</v2/invoices?page=%d>; rel="next"`, page+1))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"invoices":[{"n":%d}]}`, page)
	}))
	defer api.Close()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	w.writeConfig(strings.Replace(w.readConfig(), fmt.Sprintf("api_url = %q", w.api),
		fmt.Sprintf("api_url = %q\ntoken_url = %q", api.URL+"/", w.api+"v2/token_endpoint"), 1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr strings.Builder
	ft := w.command(ctx, "get", "--all", "/v2/invoices")
	ft.Stdout, ft.Stderr = pw, &stderr
	if err := ft.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	ft.Wait()
	if ws := ft.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || ft.ProcessState.ExitCode() != 141 || stderr.Len() != 0 {
		t.Errorf("get --all whose reader went: %v, stderr %q; want exit 141 and nothing said", ft.ProcessState, stderr.String())
	}
	if n := later.Load(); n > 0 {
		t.Errorf("get --all asked for %d pages after its output's reader went", n)
	}
}
