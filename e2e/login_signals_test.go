//go:build unix

package e2e_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestSignalDuringTheCodeExchange: the browser came back with the code and
// freshtoken is exchanging it for tokens when the terminal closes, a
// supervisor stops it or Ctrl-C comes. The code is spent once the provider
// answers, so the answer is stored before freshtoken exits 128+N, as a
// device log-in's is. The wait for the browser ended at the signal, and
// the answer, which the provider gave all the same, was dropped: "not
// logged in" after "interrupted", the code spent, the approval to redo.
func TestSignalDuringTheCodeExchange(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			w, g, run := exchanging(t)
			run.cmd.Process.Signal(sig)
			run.waitSaid(t, "for the log-in already sent to") // the wait for the answer, explained
			close(g.release)
			stderr := run.waitExit(t, 128+int(sig))
			if !strings.Contains(stderr, stoppedBy(sig)) {
				t.Fatalf("stderr %q; want it to say it was interrupted", stderr)
			}
			w.mustRun("get", "/v2/users/me")
			if st := w.provider.Stats(); st.Exchanges != 1 || st.Refreshes != 0 {
				t.Fatalf("provider saw %+v; want the log-in's tokens stored and used", st)
			}
		})
	}
}

// TestSecondCtrlCAbandonsTheCodeExchange: Ctrl-C twice while the code is
// being exchanged ends the log-in at once, saying it was abandoned and to
// log in again, naming the log-in as it was run (`login --no-browser`: the
// flag was dropped); not, as for a renewal, that a refresh token may be
// lost and the authorisation ended, which no log-in had yet.
func TestSecondCtrlCAbandonsTheCodeExchange(t *testing.T) {
	t.Parallel()
	w, _, run := exchanging(t)
	stderr := abandonedAtCtrlCTwice(t, run)
	if !strings.Contains(stderr, "log-in abandoned") || !strings.Contains(stderr, w.suggested("`freshtoken login --no-browser -e dev` again")) || strings.Contains(stderr, "renewal") {
		t.Fatalf("stderr:\n%s\nwant the log-in said abandoned, to be run again", stderr)
	}
}

// TestLogInStoreRefusedAfterASignal: the store refuses a log-in's tokens
// (Redis out of memory, or gone) after a Ctrl-C came during the code's
// exchange: the last word spoke of the renewal lock alone ("interrupted:
// dev: could not take the renewal lock: …"), and the wait for it of
// "another process or machine is renewing it", not of the log-in whose
// tokens were lost. It now says the log-in's tokens could not be stored,
// and to log in again once the store is fixed.
func TestLogInStoreRefusedAfterASignal(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"out of memory", "gone"} {
		t.Run(how, func(t *testing.T) {
			srv := redistest.Start(t)
			g := newGate(t, "authorization_code")
			w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest}, srv.URL, "")
			run := w.exchangingWith(g)
			if how == "gone" {
				srv.Stop()
			} else {
				srv.Command(t, "CONFIG", "SET", "maxmemory", "1")
			}
			run.cmd.Process.Signal(syscall.SIGINT)
			run.waitSaid(t, "for the log-in already sent to")
			g.open()
			stderr := run.waitExit(t, 130)
			if !strings.Contains(stderr, "interrupted: dev: the tokens the log-in brought could not be stored (") ||
				!strings.Contains(stderr, w.suggested("fix the store, then run `freshtoken login --no-browser -e dev`")) || strings.Contains(stderr, "is renewing it") {
				t.Fatalf("stderr:\n%s\nwant the log-in's tokens said not stored, and the command to log in again once the store is fixed", stderr)
			}
		})
	}
}

// exchanging starts `login --no-browser`, plays the browser that approves
// it, and returns once the provider holds the code's exchange, which g
// releases.
func exchanging(t *testing.T) (*world, *gate, *watched) {
	t.Helper()
	g := newGate(t, "authorization_code")
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest}, "")
	return w, g, w.exchangingWith(g)
}

// exchangingWith is exchanging in w, whose provider g holds.
func (w *world) exchangingWith(g *gate) *watched {
	t := w.t
	t.Helper()
	g.armed.Store(true)
	run := w.watch("login", "--no-browser")
	// Before the provider's cleanup, which waits for the held request.
	t.Cleanup(g.open)
	approving(t, run)
	g.wait(t)
	return run
}

// approving reads the authorisation URL that run, a `login --no-browser`,
// prints, and plays the browser that approves it, in the background.
func approving(t *testing.T, run *watched) {
	t.Helper()
	run.stderr.WaitFor(t, "the URL", regexp.MustCompile(`(?m)^http\S+\n`))
	authURL := regexp.MustCompile(`(?m)^http\S+`).FindString(run.stderr.String())
	go testenv.Visit(authURL)
}

// abandonedAtCtrlCTwice presses Ctrl-C at run, a log-in past the point
// its code was spent, waits for it to say a second abandons the log-in,
// presses it again, and returns all it said once it ended, 130.
func abandonedAtCtrlCTwice(t *testing.T, run *watched) string {
	t.Helper()
	run.cmd.Process.Signal(syscall.SIGINT)
	run.waitSaid(t, ", and the log-in with ") // it (awaited), or them (in hand, being stored)
	run.cmd.Process.Signal(syscall.SIGINT)
	return run.waitExit(t, 130)
}

// TestSignalDuringTheManualCodeExchange: `login --manual`, the address the
// browser landed on pasted, is stopped while its code is being exchanged:
// the exchange ran under the signal's context and was cut off, its answer
// lost. It is now seen through and stored, then exit 143.
func TestSignalDuringTheManualCodeExchange(t *testing.T) {
	t.Parallel()
	g := newGate(t, "authorization_code")
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest}, "")
	g.armed.Store(true)
	run, paste, authURL := w.manualLogin(t)
	t.Cleanup(g.open)
	resp := unfollowed(t, authURL)
	landed := resp.Header.Get("Location")
	if landed == "" {
		t.Fatalf("the provider did not redirect: %s", resp.Status)
	}
	fmt.Fprintln(paste, landed)
	g.wait(t)
	run.cmd.Process.Signal(syscall.SIGTERM)
	run.waitSaid(t, "for the log-in already sent to")
	close(g.release)
	run.waitExit(t, 143)
	w.mustRun("get", "/v2/users/me")
	if st := w.provider.Stats(); st.Exchanges != 1 {
		t.Fatalf("provider saw %+v; want the log-in's tokens stored and used", st)
	}
}

// TestSecondCtrlCWhileALogInWaitsForTheStore: a log-in whose tokens wait
// for the renewal lock (another process renewing, or holding it) keeps
// waiting at a first Ctrl-C, saying a second abandons the log-in, as its
// answer spent the code; the second ends it at once, exit 130, saying the
// log-in was abandoned and to run it again, nothing stored. (The engine's
// own words for a log-in's wait given up, SaveLogin's, are a library
// caller's: the command line stores a log-in under a context no signal
// ends; see TestSaveLoginWaitGivenUpAtASignal.)
func TestSecondCtrlCWhileALogInWaitsForTheStore(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	unlock, err := filestore.New(w.store).Lock(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	run := w.watch("login", "--no-browser")
	approving(t, run)
	run.waitSaid(t, "waiting for the renewal lock of dev to store the log-in's tokens")
	stderr := abandonedAtCtrlCTwice(t, run)
	if !strings.Contains(stderr, "freshtoken: log-in abandoned: the tokens 127.0.0.1") || !strings.Contains(stderr, w.suggested("run `freshtoken login --no-browser -e dev` again")) || strings.Contains(stderr, "renewal abandoned") {
		t.Fatalf("stderr:\n%s\nwant the log-in said abandoned, to be run again", stderr)
	}
	if _, err := os.Stat(w.storeFile()); !os.IsNotExist(err) {
		t.Fatalf("tokens stored after the log-in was abandoned: %v", err)
	}
	if st := w.provider.Stats(); st.Exchanges != 1 {
		t.Fatalf("provider saw %+v; want the code exchanged once", st)
	}
}

// TestSignalDuringTheProxysCodeExchange: the browser comes back to the
// proxy with the code, and the proxy is exchanging it when Ctrl-C comes.
// The exchange was not told to the signal guard: the first Ctrl-C said
// nothing of a code being spent, and a second ended the proxy without a
// word of the log-in it abandoned. As `freshtoken login`'s, the wait is
// explained, and the answer stored before the proxy exits 130; a second
// Ctrl-C says the log-in was abandoned, and to log in again.
func TestSignalDuringTheProxysCodeExchange(t *testing.T) {
	t.Parallel()
	for _, second := range []bool{false, true} {
		t.Run(map[bool]string{false: "seen through", true: "abandoned"}[second], func(t *testing.T) {
			g := newGate(t, "authorization_code")
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest}, "")
			t.Cleanup(g.open) // before the provider's cleanup, which waits for the held request
			_, addr := w.redirectAddr()
			proxy := w.watch("proxy", "--listen", addr)
			waitListening(t, "http://"+addr)
			g.armed.Store(true)
			login := w.watch("login", "--no-browser")
			go testenv.Visit(w.openLoginLink(login)) // approved, back to the proxy
			g.wait(t)
			proxy.cmd.Process.Signal(syscall.SIGINT)
			proxy.waitSaid(t, "for the log-in already sent to 127.0.0.1")
			if !second {
				g.open()
				proxy.waitExit(t, 130)
				if st := w.provider.Stats(); st.Exchanges != 1 {
					t.Fatalf("provider saw %+v; want one code exchange", st)
				}
				if _, err := os.Stat(w.storeFile()); err != nil {
					t.Fatalf("the log-in's tokens were not stored: %v", err)
				}
				return
			}
			proxy.waitSaid(t, "Ctrl-C again abandons it, and the log-in with it")
			proxy.cmd.Process.Signal(syscall.SIGINT)
			stderr := proxy.waitExit(t, 130)
			if !strings.Contains(stderr, "freshtoken: log-in abandoned: the tokens 127.0.0.1") || !strings.Contains(stderr, w.suggested("run `freshtoken login -e dev` again")) {
				t.Fatalf("stderr:\n%s\nwant the log-in said abandoned, to be run again", stderr)
			}
		})
	}
}
