//go:build unix

package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// expireStored makes the stored access token of dev expired, so that the
// next use renews it.
func expireStored(t *testing.T, w *world) {
	t.Helper()
	st := filestore.New(w.store)
	rec, err := st.Load(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	rec.Expiry = time.Now().Add(-time.Minute)
	if err := st.Save(context.Background(), "dev", rec); err != nil {
		t.Fatal(err)
	}
}

// TestProxyStoppedDuringAClientsRenewal: a proxy stopped (SIGTERM, SIGHUP,
// Ctrl-C) while the renewal a client's request needs is sent and
// unanswered sees the renewal through, past the 5 s it gives requests in
// flight (the provider answers SIGTERM's only once the proxy said it stopped),
// stores its answer, and exits 128+N; the grant is kept.
func TestProxyStoppedDuringAClientsRenewal(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			w, g := strictWorld(t)
			before := refreshToken(t, w)
			expireStored(t, w)
			addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
			run := w.watch("proxy", "--listen", addr)
			run.waitSaid(t, "freshtoken proxy running at")
			type answer struct {
				code int
				body string
			}
			answered := make(chan answer, 1)
			go func() {
				resp, err := http.Get("http://" + addr + "/dev/v2/company")
				if err != nil {
					answered <- answer{}
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answered <- answer{resp.StatusCode, string(b)}
			}()
			g.wait(t)
			run.cmd.Process.Signal(sig)
			run.waitSaid(t, "waiting up to 30s for the renewal already sent")
			if sig == syscall.SIGTERM { // the others' answers come at once
				run.waitSaid(t, "freshtoken proxy stopped.")
			}
			g.open()
			run.waitExit(t, 128+int(sig))
			// Still waiting for the renewal when its 5 s are over, the
			// request is answered as docs/proxy.md says: 503 interrupted,
			// saying it was not sent to the API.
			a := <-answered
			interrupted := a.code == http.StatusServiceUnavailable && strings.Contains(a.body, `"error":"interrupted"`) && strings.Contains(a.body, "before sending the request to the API")
			if a.code != 0 && a.code != http.StatusOK && !interrupted {
				t.Fatalf("the client's request was answered %d %s", a.code, a.body)
			}
			grantKept(t, w, before)
		})
	}
}

// TestProxySecondCtrlCDuringAClientsRenewal: Ctrl-C twice while the
// renewal a client's request needs is unanswered abandons it, exit 130,
// with the warning that names the log-in to run; the grant survives.
func TestProxySecondCtrlCDuringAClientsRenewal(t *testing.T) {
	w, arrived := hangingWorld(t)
	expireStored(t, w)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	run := w.watch("proxy", "--listen", addr)
	run.waitSaid(t, "freshtoken proxy running at")
	go func() {
		if resp, err := http.Get("http://" + addr + "/dev/v2/company"); err == nil {
			resp.Body.Close()
		}
	}()
	arrived()
	run.cmd.Process.Signal(syscall.SIGINT)
	run.waitSaid(t, "waiting up to")
	run.cmd.Process.Signal(syscall.SIGINT)
	stderr := run.waitExit(t, 130)
	if !strings.Contains(stderr, "renewal abandoned") {
		t.Fatalf("stderr %q; want the abandon warning", stderr)
	}
	grantAlive(t, w)
}
