//go:build unix

package e2e_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestSecretCommandEndedBySignal: a client_secret_cmd ended by a signal
// while `token` renews or `logout` revokes. Sent to the whole job as a
// terminal's Ctrl-C is (the command's `kill -INT 0` reaching freshtoken
// too), it is freshtoken's interruption: exit 130, one line, nothing sent,
// the tokens kept. Sent to the command alone (a kill by hand), it is the
// command's failure: exit 2, one line naming the signal and that it came
// to the command alone, the tokens kept; it was told as freshtoken's
// interruption ("freshtoken: interrupted", 128+N) though none came to it.
func TestSecretCommandEndedBySignal(t *testing.T) {
	for _, args := range [][]string{{"token"}, {"logout", "-e", "dev"}} {
		for _, tt := range []struct {
			name, line string
			code       int
		}{
			{"Ctrl-C to the job", "kill -INT 0", 130},
			{"SIGTERM to it alone", "kill -TERM $$", 2},
		} {
			t.Run(args[0]+" "+tt.name, func(t *testing.T) {
				w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
				w.login()
				w.age(time.Hour) // token renews
				before := w.storeBytes()
				setSecretSource(t, w, fmt.Sprintf("client_secret_cmd = %q\nrevocation_url = %q", tt.line, w.api+"v2/revoke"))
				requests := w.provider.Stats().TokenRequests
				// In a process group of its own, as a terminal's job is.
				run := w.watchWith(func(c *exec.Cmd) { c.SysProcAttr.Setpgid = true }, args...)
				if tt.code == 130 {
					endsInterruptedUnsent(t, w, run, syscall.SIGINT, requests)
				} else {
					code, stderr := run.wait()
					if code != tt.code || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "interrupted") ||
						!strings.Contains(stderr, "client_secret_cmd was stopped by a signal (terminated)") || !strings.Contains(stderr, "came to the command alone, not to freshtoken") {
						t.Errorf("exit %d, stderr %q; want %d and one line naming the signal sent to the command alone", code, stderr, tt.code)
					}
					if n := w.provider.Stats().TokenRequests; n != requests {
						t.Errorf("%d token requests sent; want none", n-requests)
					}
				}
				if after, err := os.ReadFile(w.storeFile()); err != nil || string(after) != string(before) {
					t.Errorf("the stored tokens changed (%v)", err)
				}
			})
		}
	}
}

// TestProxyWhoseSecretCommandASignalEndedServesOn: the proxy, a request
// renewing through a client_secret_cmd that a signal sent to it alone
// ends: the request is answered invalid_configuration, naming the signal
// (it was "failed", a bug's code), and the proxy serves on, its own
// signal handling untouched: Ctrl-C still stops it, exit 130.
func TestProxyWhoseSecretCommandASignalEndedServesOn(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	w.age(time.Hour) // token renews
	setSecretSource(t, w, `client_secret_cmd = "kill -TERM $$"`)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	run := w.watch("proxy", "--listen", addr)
	run.waitSaid(t, "freshtoken proxy running at")
	for range 2 {
		resp, body := followed(t, "http://"+addr+"/dev/v2/company")
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), `"error":"invalid_configuration"`) ||
			!strings.Contains(string(body), "stopped by a signal (terminated)") {
			t.Errorf("the proxy answered %d %s; want 500 invalid_configuration naming the signal", resp.StatusCode, body)
		}
	}
	run.cmd.Process.Signal(syscall.SIGINT)
	run.waitExit(t, 130)
}
