//go:build unix

package e2e_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestSignalDuringTheCodeExchange: the browser came back with the code and
// freshtoken is exchanging it for tokens when the terminal closes, a
// supervisor stops it or Ctrl-C comes. The code is spent once the provider
// answers, so the answer is stored before freshtoken exits 128+N, as a
// device log-in's is. The wait for the browser ended at the signal, and
// the answer, which the provider gave all the same, was dropped: "not
// logged in" after "interrupted", the code spent, the approval to redo.
func TestSignalDuringTheCodeExchange(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			g := newGate(t, "authorization_code")
			defer func() {
				select {
				case <-g.release:
				default:
					close(g.release)
				}
			}()
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest}, "")
			g.armed.Store(true)
			run := w.watch("login", "--no-browser")
			run.stderr.WaitFor(t, "the URL", regexp.MustCompile(`(?m)^http\S+\n`))
			authURL := regexp.MustCompile(`(?m)^http\S+`).FindString(run.stderr.String())
			go func() {
				resp, err := http.Get(authURL)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			g.wait(t)
			run.cmd.Process.Signal(sig)
			run.waitSaid(t, "abandons it") // the wait for the answer, explained
			close(g.release)
			stderr := run.waitExit(t, 128+int(sig))
			if !strings.Contains(stderr, "interrupted") {
				t.Fatalf("stderr %q; want it to say it was interrupted", stderr)
			}
			w.mustRun("get", "/v2/users/me")
			if st := w.provider.Stats(); st.Exchanges != 1 || st.Refreshes != 0 {
				t.Fatalf("provider saw %+v; want the log-in's tokens stored and used", st)
			}
		})
	}
}
