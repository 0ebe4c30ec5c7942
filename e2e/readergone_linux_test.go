package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
			pr, pw := outputPipe(t)
			defer pr.Close()
			var (
				requests, more atomic.Int32
				closeOnce      sync.Once
			)
			var stderr strings.Builder
			ft := startAgainst(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			}), pw, &stderr, tt.args...)
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
	pr, pw := outputPipe(t)
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

// TestAnAnswerWrittenWholeIsNotCutByItsReadersGoing: a reader that takes
// the whole answer and goes at once (`| head -n1` of a one-line answer)
// leaves freshtoken with nothing unwritten: it exits 0, as any command
// whose writes all succeeded does. The watch for a reader gone marked the
// output as lost to it when the reader went in the moment between the
// answer's last write and the request's end, and freshtoken exited 141:
// one run in ten of `get /v2/company | head -n1`, a failure under `set -o
// pipefail`. Here that moment is held open: the warning that follows the
// answer waits on a full standard error.
func TestAnAnswerWrittenWholeIsNotCutByItsReadersGoing(t *testing.T) {
	out := newStalledPipe(t)
	stderr := newStalledPipe(t)
	stderr.fill(t)
	ft := startAgainst(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Total-Count", "2") // one short: a warning after the answer
		w.Write([]byte(`{"invoices":[{"n":1}]}`))
	}), out.w, stderr.w, "get", "--all", "/v2/invoices")
	out.w.Close()
	out.readUntil(t, `{"n":1}]}`)
	out.r.Close() // the reader goes, the answer had
	// The watch acts at once on the reader's going; the wait only lets it,
	// and cannot fail a freshtoken that keeps the answer written.
	time.Sleep(200 * time.Millisecond)
	stderr.w.Close()
	stderr.readUntil(t, "may be incomplete")
	ft.Wait()
	if code := ft.ProcessState.ExitCode(); code != 0 {
		t.Errorf("get --all whose reader took the whole answer, then went: %v; want exit 0", ft.ProcessState)
	}
}

// TestANamedPipesReaderMayComeBack: standard output a named pipe (mkfifo)
// whose reader closes it and opens it again, as a reader that takes one
// writer's output at a time does: a write finds the new reader, and the
// answer reaches it. The watch for a reader gone took the moment between
// for the reader's going: exit 141 and nothing written, where freshtoken
// before it wrote the answer to the new reader, exit 0. Only an anonymous
// pipe's reader (`| head`), which nothing can open again, is watched.
func TestANamedPipesReaderMayComeBack(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	first, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	again := make(chan *os.File, 1) // the reader come back
	var stderr strings.Builder
	ft := startAgainst(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first.Close() // the reader goes…
		select {      // (abandoned, the request is cut: the test failed)
		case <-r.Context().Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		r2, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0) // …and comes back
		if err != nil {
			t.Error(err)
			return
		}
		again <- r2
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"company":{"name":"Dev Ltd"}}`))
	}), out, &stderr, "get", "/v2/company")
	out.Close() // freshtoken's alone: the reader reads to its end
	ft.Wait()
	var got []byte
	select {
	case r2 := <-again:
		defer r2.Close()
		got, _ = io.ReadAll(r2)
	default:
	}
	if code := ft.ProcessState.ExitCode(); code != 0 || !strings.Contains(string(got), "Dev Ltd") {
		t.Errorf("get to a named pipe whose reader came back: %v, stderr %q, the reader got %q; want exit 0 and the answer", ft.ProcessState, stderr.String(), got)
	}
}

// startAgainst starts freshtoken with args, logged in to the dev provider,
// its API the one handler serves, its standard output and error out and
// errOut.
func startAgainst(t *testing.T, handler http.Handler, out, errOut io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	api := httptest.NewServer(handler)
	t.Cleanup(api.Close)
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	w.useAPI(api.URL + "/")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	ft := w.command(ctx, args...)
	ft.Stdout, ft.Stderr = out, errOut
	if err := ft.Start(); err != nil {
		t.Fatal(err)
	}
	return ft
}
