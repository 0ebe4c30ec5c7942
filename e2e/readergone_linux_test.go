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

// TestGetStopsWhenTheOutputsReaderGoes: `get --all | true`, or a pager
// quit before the answer came, leaves a GET nobody to print for. It asks
// the API for nothing more once the reader went, the request under way
// abandoned: each request spends FreeAgent's 120 a minute. It exits 141,
// as a pipeline member whose reader went, saying nothing. --all read
// every page to the last (twenty here), and a GET answered 429 waited and
// retried five times, before either found the pipe closed.
func TestGetStopsWhenTheOutputsReaderGoes(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		// answer answers request n (from 1) once the reader went during
		// the first, saying whether the API was asked for more.
		answer func(w http.ResponseWriter, r *http.Request, n int32) (more bool)
	}{
		{"get --all", []string{"get", "--all", "/v2/invoices"}, func(w http.ResponseWriter, r *http.Request, n int32) bool {
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			page = max(page, 1)
			if page < 20 {
				w.Header().Set("Link", fmt.Sprintf(`</v2/invoices?page=%d>; rel="next"`, page+1))
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"invoices":[{"n":%d}]}`, page)
			return page > 1
		}},
		{"get answered 429", []string{"get", "/v2/invoices"}, func(w http.ResponseWriter, r *http.Request, n int32) bool {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return n > 1
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			var (
				requests, more atomic.Int32
				closeOnce      sync.Once
			)
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := requests.Add(1)
				if n == 1 {
					closeOnce.Do(func() { pr.Close() }) // the reader goes
					select {                            // as the answer is slow to come
					case <-r.Context().Done():
						return
					case <-time.After(10 * time.Second):
					}
				}
				if tt.answer(w, r, n) {
					more.Add(1)
				}
			}))
			defer api.Close()
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			w.writeConfig(strings.Replace(w.readConfig(), fmt.Sprintf("api_url = %q", w.api),
				fmt.Sprintf("api_url = %q\ntoken_url = %q", api.URL+"/", w.api+"v2/token_endpoint"), 1))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stderr strings.Builder
			ft := w.command(ctx, tt.args...)
			ft.Stdout, ft.Stderr = pw, &stderr
			if err := ft.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			ft.Wait()
			if ws := ft.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || ft.ProcessState.ExitCode() != 141 || stderr.Len() != 0 {
				t.Errorf("%s whose reader went: %v, stderr %q; want exit 141 and nothing said", strings.Join(tt.args, " "), ft.ProcessState, stderr.String())
			}
			if n := more.Load(); n > 0 {
				t.Errorf("%s asked the API %d more times after its output's reader went", strings.Join(tt.args, " "), n)
			}
		})
	}
}

// TestGetWhoseReaderGoesMidRenewalKeepsTheGrant: the output's reader goes
// while the renewal a `get --all` needs is sent and unanswered. The watch
// that ends the GET leaves the renewal to finish: its answer is stored,
// the grant kept, and freshtoken exits 141 saying nothing.
func TestGetWhoseReaderGoesMidRenewalKeepsTheGrant(t *testing.T) {
	w, g := strictWorld(t)
	w.age(2 * time.Hour) // expired: the GET renews first
	before := refreshToken(t, w)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr strings.Builder
	ft := w.command(ctx, "get", "--all", "/v2/contacts")
	ft.Stdout, ft.Stderr = pw, &stderr
	if err := ft.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	g.wait(t)
	pr.Close()
	close(g.release)
	ft.Wait()
	if ws := ft.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || ft.ProcessState.ExitCode() != 141 || stderr.Len() != 0 {
		t.Fatalf("get --all whose reader went mid-renewal: %v, stderr %q; want exit 141 and nothing said", ft.ProcessState, stderr.String())
	}
	grantKept(t, w, before)
}
