//go:build unix

package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// gate holds the provider's answer to the next token request of one grant
// type until the test lets it go, so that a signal or a closed pipe arrives
// at the worst moment: a refresh token is about to be rotated, or a device
// code spent, and the answer is not yet stored.
type gate struct {
	grantType string
	armed     atomic.Bool
	arrived   chan struct{}
	release   chan struct{}
}

// newGate makes a gate, not yet armed, for requests of grantType; it lets
// any held request go as the test ends, before the provider's server is
// closed, which waits for that request's answer: a test failed before
// letting it go hung until the test binary's time-out instead.
func newGate(t *testing.T, grantType string) *gate {
	g := &gate{grantType: grantType, arrived: make(chan struct{}, 1), release: make(chan struct{})}
	context.AfterFunc(t.Context(), g.open)
	return g
}

// open lets any held request go, and every one after it.
func (g *gate) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

func (g *gate) onTokenRequest(grantType string) {
	if grantType == g.grantType && g.armed.CompareAndSwap(true, false) {
		g.arrived <- struct{}{}
		<-g.release
	}
}

// wait blocks until the held request has arrived.
func (g *gate) wait(t *testing.T) {
	t.Helper()
	select {
	case <-g.arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("the %s request never reached the provider", g.grantType)
	}
}

// strictWorld is a world whose provider revokes the whole grant when a
// rotated-out refresh token comes back, with a gate on its next refresh.
func strictWorld(t *testing.T) (*world, *gate) {
	g := newGate(t, "refresh_token")
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest}, "")
	w.login()
	g.armed.Store(true)
	return w, g
}

// grantKept checks that the rotation reached the store and that the grant
// still works: a forced renewal succeeds and the provider saw no reuse.
func grantKept(t *testing.T, w *world, before string) {
	t.Helper()
	if s := w.provider.Stats(); s.Refreshes != 1 {
		t.Fatalf("provider stats %+v; want the one refresh answered", s)
	}
	if strings.Contains(string(w.storeBytes()), before) {
		t.Fatal("the rotated refresh token was not stored")
	}
	w.mustRun("token", "--force")
	if s := w.provider.Stats(); s.ReuseDetected != 0 || s.GrantsRevoked != 0 || s.Refreshes != 2 {
		t.Fatalf("provider stats %+v; want a second refresh and no reuse", s)
	}
}

// hangingWorld is a logged-in world whose provider holds the next renewal
// unanswered until its client goes, rotating nothing; arrived waits until
// that renewal has reached the provider.
func hangingWorld(t *testing.T) (w *world, arrived func()) {
	w = newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	w.provider.Fault(devprovider.FaultHang, 1)
	return w, func() {
		testenv.WaitFor(t, "the refresh to reach the provider", func() bool { return w.provider.Stats().TokenRequests >= 2 })
	}
}

// grantAlive checks that the grant still works: a forced renewal succeeds,
// and the provider saw no refresh token spent twice and revoked no grant.
func grantAlive(t *testing.T, w *world) {
	t.Helper()
	w.mustRun("token", "--force")
	if s := w.provider.Stats(); s.ReuseDetected != 0 || s.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want no reuse", s)
	}
}

func refreshToken(t *testing.T, w *world) string {
	t.Helper()
	for line := range strings.SplitSeq(string(w.storeBytes()), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == `"refresh_token"` {
			return strings.Trim(strings.TrimSpace(v), `",`)
		}
	}
	t.Fatal("no refresh token stored")
	return ""
}

// outputPipe is a pipe for a command's output, whose reading end the test
// closes as `| head` does; what the test leaves open is closed as it ends.
func outputPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// TestClosedPipeKeepsTheGrant: `freshtoken --debug token --force 2>&1 |
// head -1`, with head gone before the provider answers. Every later write
// fails; freshtoken is not killed by SIGPIPE, stores the answer, and exits
// 141 as a pipeline member whose reader left.
func TestClosedPipeKeepsTheGrant(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			w, g := strictWorld(t)
			before := refreshToken(t, w)
			pr, pw := outputPipe(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ft := w.command(ctx, "--debug", "--log-format", format, "token", "--force")
			ft.Stdout, ft.Stderr = pw, pw
			head := exec.CommandContext(ctx, "head", "-1")
			head.Stdin = pr
			if err := ft.Start(); err != nil {
				t.Fatal(err)
			}
			if err := head.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			pr.Close()
			g.wait(t)
			if err := head.Wait(); err != nil { // the pipe has no reader left
				t.Fatal(err)
			}
			close(g.release)
			ft.Wait()
			if ws := ft.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || ft.ProcessState.ExitCode() != 141 {
				t.Fatalf("freshtoken ended with %v; want exit 141, not death by a signal", ft.ProcessState)
			}
			grantKept(t, w, before)
		})
	}
}

// TestClosedTerminalDuringTheApprovedPoll: the terminal closes (SIGHUP)
// while the poll that the provider answers with tokens is in flight. The
// device code is spent once the provider answers, so the answer is stored
// before freshtoken exits 129.
func TestClosedTerminalDuringTheApprovedPoll(t *testing.T) {
	t.Parallel()
	g := newGate(t, "urn:ietf:params:oauth:grant-type:device_code")
	w := deviceWorldWith(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: time.Second, OnTokenRequest: g.onTokenRequest})
	rc, code := w.startDeviceLogin()
	if err := w.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	g.armed.Store(true)
	g.wait(t)
	rc.cmd.Process.Signal(syscall.SIGHUP)
	rc.waitSaid(t, "Ctrl-C abandons it") // what it waits for while the answer is held; one Ctrl-C after SIGHUP
	close(g.release)
	if out := rc.waitExit(t, 129); !strings.Contains(out, stoppedBy(syscall.SIGHUP)) {
		t.Fatalf("stderr %q; want it to say the terminal closed", out)
	}
	w.mustRun("get", "/v2/users/me")
	if st := w.provider.Stats(); st.DeviceLogins != 1 || st.Refreshes != 0 {
		t.Fatalf("provider saw %+v; want the device log-in's tokens stored and used", st)
	}
}

// ctrlZMidRenewal starts `token --force`, holds the provider's answer to
// its renewal, and presses Ctrl-Z, which freshtoken says it defers until
// the answer is stored. before is the refresh token the renewal spends.
func ctrlZMidRenewal(t *testing.T) (w *world, g *gate, before string, run *watched) {
	t.Helper()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("telling a suspended process needs /proc")
	}
	w, g = strictWorld(t)
	before = refreshToken(t, w)
	run = w.watch("token", "--force")
	g.wait(t)
	run.cmd.Process.Signal(syscall.SIGTSTP)
	run.waitSaid(t, "suspending once the renewal already sent to")
	return w, g, before, run
}

// TestCtrlZWaitsForTheRenewal: Ctrl-Z (SIGTSTP) while the provider is
// answering suspends freshtoken only once the answer is stored: suspended
// with it in hand, it held the only copy of the rotated refresh token, and
// a shared store's lock passed to another machine, which spent the old one.
// `fg` (SIGCONT) then lets it carry on and finish.
func TestCtrlZWaitsForTheRenewal(t *testing.T) {
	w, g, before, run := ctrlZMidRenewal(t)
	t.Cleanup(func() { run.cmd.Process.Signal(syscall.SIGCONT) })
	if strings.Contains(processState(t, run.cmd.Process.Pid), "T") {
		t.Fatal("suspended with the provider's answer not yet stored")
	}
	close(g.release)
	testenv.WaitFor(t, "freshtoken to suspend itself", func() bool { return processState(t, run.cmd.Process.Pid) == "T" })
	if strings.Contains(string(w.storeBytes()), before) {
		t.Fatal("suspended before the rotated refresh token was stored")
	}
	// Suspended, it holds no renewal lock: another process renews.
	grantKept(t, w, before)
	run.cmd.Process.Signal(syscall.SIGCONT)
	run.waitExit(t, 0)
}

// TestCtrlCAfterCtrlZEnds: Ctrl-Z, then Ctrl-C, while the provider is
// answering: the answer is stored and the process exits 130, as asked last;
// it suspended itself instead, and ended only once resumed.
func TestCtrlCAfterCtrlZEnds(t *testing.T) {
	t.Parallel()
	w, g, before, run := ctrlZMidRenewal(t)
	run.cmd.Process.Signal(syscall.SIGINT)
	run.waitSaid(t, "waiting up to")
	close(g.release)
	endsUnsuspended(t, run, 130)
	grantKept(t, w, before)
}

// endsUnsuspended waits for run to exit with code, failing if it suspends
// itself first.
func endsUnsuspended(t *testing.T, run *watched, code int) {
	t.Helper()
	t.Cleanup(func() { run.cmd.Process.Signal(syscall.SIGCONT) })
	testenv.WaitFor(t, "freshtoken to end or suspend itself", func() bool {
		select {
		case <-run.stderr.Closed():
			return true
		default:
		}
		if processState(t, run.cmd.Process.Pid) == "T" {
			t.Fatalf("suspended:\n%s", run.stderr)
		}
		return false
	})
	run.waitExit(t, code)
}

// processState is the state letter of process pid (R, S, T for stopped…),
// or "" once it has ended and been reaped. A process reaped between the
// file's opening and its reading gives ESRCH rather than ENOENT.
func processState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(b), ") ")
	state, _, _ := strings.Cut(after, " ")
	return state
}

// signalled runs `freshtoken token --force`, sends it sig once arrived
// says the refresh has reached the provider, and returns its exit code and
// stderr. After freshtoken says what it is waiting for, second is sent if
// set, and then release is called.
func signalled(t *testing.T, w *world, arrived func(), release func(), sig, second syscall.Signal) (int, string) {
	t.Helper()
	run := w.watch("token", "--force")
	arrived()
	run.cmd.Process.Signal(sig)
	run.waitSaid(t, "waiting up to")
	if second != 0 {
		run.cmd.Process.Signal(second)
	}
	release()
	return run.wait()
}

// TestSignalsSeeTheRenewalThrough: closing the terminal (SIGHUP), stopping
// a service (SIGTERM), one Ctrl-C (SIGINT) or Ctrl-\ (SIGQUIT, which ended
// a Go program at once with a stack dump) while the provider is answering:
// freshtoken says what it waits for, stores the answer, then exits 128+N.
// So does SIGABRT (`kill -ABRT`, a supervisor's watchdog): it ended
// freshtoken at once with a Go stack dump, exit 2, the answer lost.
func TestSignalsSeeTheRenewalThrough(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGABRT} {
		t.Run(sig.String(), func(t *testing.T) {
			w, g := strictWorld(t)
			before := refreshToken(t, w)
			code, stderr := signalled(t, w, func() { g.wait(t) }, func() { close(g.release) }, sig, 0)
			if code != 128+int(sig) {
				t.Fatalf("exit %d; want %d\n%s", code, 128+int(sig), stderr)
			}
			abandon := "; Ctrl-C abandons it" // the next signal abandons it: one Ctrl-C after SIGHUP or SIGTERM
			if sig == syscall.SIGINT {
				abandon = "; Ctrl-C again abandons it"
			}
			if !strings.Contains(stderr, abandon) || !strings.Contains(stderr, stoppedBy(sig)) {
				t.Fatalf("stderr %q; want the wait explained, then interrupted", stderr)
			}
			grantKept(t, w, before)
		})
	}
}

// TestSecondCtrlCAbandons: Ctrl-C twice, while a provider that has not
// answered yet holds the refresh, ends freshtoken at once with a warning.
// The provider, finding its client gone, rotates nothing, so the grant still
// works.
func TestSecondCtrlCAbandons(t *testing.T) {
	t.Parallel()
	w, arrived := hangingWorld(t)
	code, stderr := signalled(t, w, arrived, func() {}, syscall.SIGINT, syscall.SIGINT)
	if code != 130 || !strings.Contains(stderr, "renewal abandoned") || !strings.Contains(stderr, w.suggested("`freshtoken login -e dev`")) {
		t.Fatalf("exit %d, stderr %q; want 130 with the abandon warning", code, stderr)
	}
	grantAlive(t, w)
}

// TestWaitsAreNeverSilent: a wait of more than a second, for a slow token
// endpoint or for a renewal lock another process holds, is explained on
// stderr while it lasts.
func TestWaitsAreNeverSilent(t *testing.T) {
	t.Parallel()
	t.Run("slow token endpoint", func(t *testing.T) {
		w, g := strictWorld(t)
		run := w.watch("token", "--force")
		g.wait(t)
		run.waitSaid(t, "waiting for the token endpoint to answer")
		close(g.release)
		if code, stderr := run.wait(); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("lock held by another process", func(t *testing.T) {
		w, g := strictWorld(t)
		g.armed.Store(false)
		unlock, err := filestore.New(w.store).Lock(context.Background(), "dev")
		if err != nil {
			t.Fatal(err)
		}
		run := w.watch("token", "--force")
		run.waitSaid(t, "waiting for the renewal lock of dev: another process or machine is renewing it")
		unlock()
		if code, stderr := run.wait(); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}

// TestSignalWhileWaitingForTheLock: `token`, which starts watching for
// signals late to start fast, waiting for the renewal lock that another
// process holds, before any token request: Ctrl-\ (SIGQUIT) ended it with
// Go's stack dump of every goroutine and exit 2, and Ctrl-C by death by
// the signal. Every stopping signal ends it as it does later on: exit
// 128+N and one line, with nothing sent and the store unchanged.
func TestSignalWhileWaitingForTheLock(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		sig  syscall.Signal
		args []string
	}{
		{"SIGQUIT token --force", syscall.SIGQUIT, []string{"token", "--force"}},
		{"SIGQUIT token due", syscall.SIGQUIT, []string{"token"}},
		{"SIGABRT token --force", syscall.SIGABRT, []string{"token", "--force"}},
		{"SIGINT token due", syscall.SIGINT, []string{"token"}},
		{"SIGTERM token --json due", syscall.SIGTERM, []string{"token", "--json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			if !slices.Contains(tt.args, "--force") {
				w.age(time.Hour) // expired: it must renew
			}
			before := w.storeBytes()
			unlock, err := filestore.New(w.store).Lock(context.Background(), "dev")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			run := w.watch(tt.args...)
			run.waitSaid(t, "waiting for the renewal lock of dev")
			run.cmd.Process.Signal(tt.sig)
			stderr := run.waitExit(t, 128+int(tt.sig))
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			// The line says what was given up, as the Redis store's does: it
			// said "interrupted: dev: lock …/dev.lock", as if the lock had failed.
			if last := lines[len(lines)-1]; last != "freshtoken: interrupted: dev: waiting for the renewal lock "+filepath.Join(w.store, "dev.lock") || len(lines) != 2 || strings.Contains(stderr, "goroutine") {
				t.Fatalf("stderr:\n%s\nwant the wait told, then one line saying it was interrupted waiting for the lock, and no stack dump", stderr)
			}
			if n := w.provider.Stats().TokenRequests; n != 1 { // the log-in's
				t.Fatalf("%d token requests; want none after the log-in's", n-1)
			}
			if !bytes.Equal(w.storeBytes(), before) {
				t.Fatal("the store changed")
			}
		})
	}
}

// TestSIGSYSGivesAStackDump: Ctrl-\ (SIGQUIT) and SIGABRT, which end a Go
// program with a stack dump, see a renewal through instead, so
// docs/security.md names `kill -SYS` for the stack dump of a freshtoken
// that seems stuck (here, waiting for a renewal lock another process
// holds): Go's dump of every goroutine, exit 2.
func TestSIGSYSGivesAStackDump(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	unlock, err := filestore.New(w.store).Lock(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	run := w.watch("token", "--force")
	run.waitSaid(t, "waiting for the renewal lock of dev")
	run.cmd.Process.Signal(syscall.SIGSYS)
	if stderr := run.waitExit(t, 2); !strings.Contains(stderr, "SIGSYS") || !strings.Contains(stderr, "goroutine ") {
		t.Fatalf("stderr:\n%s\nwant Go's stack dump", stderr)
	}
}

// TestSignalWhileTheStoreKeepsAReadWaiting: `status` and `token` (with a
// valid token), which start watching for signals late to start fast,
// reading a store that keeps them waiting: a Redis that does not answer
// (paused), a record another process holds while it writes it in place
// (as a renewal does on a full disk), a keychain that does not answer
// (paused, as one waiting on a prompt nobody sees). Ctrl-\ (SIGQUIT) ended them with
// Go's stack dump of every goroutine and exit 2; they now end with 131 and
// one line, printing no result.
func TestSignalWhileTheStoreKeepsAReadWaiting(t *testing.T) {
	pausedRedis := func(t *testing.T) *world {
		srv := redistest.Start(t)
		// A read given up after 10 minutes, not go-redis's 3 s, is still
		// waiting when the signal comes, however slow the machine, and
		// the command must abandon it (a minute's wait is given up).
		w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, srv.URL+"?read_timeout=10m", "")
		w.login()
		srv.Pause(t)
		return w
	}
	recordHeld := func(t *testing.T) *world {
		w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
		w.login()
		f, err := os.Open(w.storeFile())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		return w
	}
	pausedKeychain := func(t *testing.T) *world {
		w, kr := keyringWorld(t, devprovider.Options{AccessTTL: time.Hour})
		w.login()
		kr.Pause(t)
		return w
	}
	for _, tt := range []struct {
		name  string
		store func(*testing.T) *world
		args  []string
	}{
		{"status with Redis paused", pausedRedis, []string{"status"}},
		{"status --json with Redis paused", pausedRedis, []string{"status", "--json"}},
		{"token with Redis paused", pausedRedis, []string{"token"}},
		{"status with the record held", recordHeld, []string{"status"}},
		{"token with the record held", recordHeld, []string{"token"}},
		{"status with the keychain paused", pausedKeychain, []string{"status"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.store(t)
			logFile := filepath.Join(t.TempDir(), "debug.log")
			run := w.watch(append([]string{"--debug", "--log-file", logFile}, tt.args...)...)
			// Logged once the wait is watched: no sooner may Ctrl-\ come.
			testenv.WaitFor(t, "the read's wait to be logged", func() bool {
				logs, _ := os.ReadFile(logFile)
				return bytes.Contains(logs, []byte("waiting for the store to read the tokens"))
			})
			run.cmd.Process.Signal(syscall.SIGQUIT)
			stderr := run.waitExit(t, 128+int(syscall.SIGQUIT))
			if !strings.HasPrefix(stderr, "freshtoken: interrupted") || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("stderr:\n%s\nwant one line saying it was interrupted, and no stack dump", stderr)
			}
			if out := run.output(t); out != "" {
				t.Fatalf("stdout: %s; want nothing", out)
			}
		})
	}
}

// TestMigrateWaitingForTheLock: `store migrate` waiting for a renewal lock
// another process holds says so, as every wait does (it waited in
// silence); SIGTERM then ends it with 143, moving nothing and saying it
// was interrupted, not "exit 130" (the code of another signal, which it
// does not exit with).
func TestMigrateWaitingForTheLock(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{}, "")
	w.login()
	unlock, err := filestore.New(w.store).Lock(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	run := w.watch("store", "migrate", "--to", "file://"+w.dir+"/moved")
	run.waitSaid(t, "waiting for the renewal lock of dev")
	run.cmd.Process.Signal(syscall.SIGTERM)
	stderr := run.waitExit(t, 128+int(syscall.SIGTERM))
	if !strings.Contains(stderr, "freshtoken: interrupted") || strings.Contains(stderr, "exit 130") {
		t.Fatalf("stderr: %s; want it to say it was interrupted, and no other exit code", stderr)
	}
	if _, err := os.Stat(w.storeFile()); err != nil {
		t.Fatalf("the record moved or is gone: %v", err)
	}
}

// TestSignalWhileLogoutRevokes: SIGTERM (a supervisor, a closed terminal)
// or Ctrl-C while the provider's revocation endpoint has not answered stops
// logout with the tokens kept, and one line says so and how to finish it
// (it said "interrupted: dev: lock …/dev.lock: context canceled dev: the
// provider's revocation endpoint … (context canceled)", naming neither the
// tokens nor what to do). Stopped as the access token's revocation waits,
// the provider having answered that it revoked the refresh token, the
// grant has ended: the tokens are forgotten, and it says so, exiting
// 128+N (they were kept, to revoke a grant no longer there).
func TestSignalWhileLogoutRevokes(t *testing.T) {
	for _, tt := range []struct {
		name   string
		sig    syscall.Signal
		silent string // the token_type_hint whose revocation is not answered: "" for both
		kept   bool
	}{
		{"refresh token unanswered, SIGTERM", syscall.SIGTERM, "", true},
		{"refresh token unanswered, Ctrl-C", syscall.SIGINT, "", true},
		{"access token unanswered, SIGTERM", syscall.SIGTERM, "access_token", false},
		{"access token unanswered, Ctrl-C", syscall.SIGINT, "access_token", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			revokes := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}) // 200: revoked
			revocation := newSilentServer(t, revokes, func(r *http.Request) bool {
				r.ParseForm()
				return tt.silent == "" || r.PostForm.Get("token_type_hint") == tt.silent
			})
			w := newWorld(t, devprovider.Options{}, fmt.Sprintf("revocation_url = %q", revocation.URL+"/revoke"))
			w.login()
			before := w.storeBytes()
			run := w.watch("logout")
			revocation.await(t, run, "the revocation request")
			run.cmd.Process.Signal(tt.sig)
			stderr := run.waitExit(t, 128+int(tt.sig))
			want := w.suggested(fmt.Sprintf("freshtoken: interrupted: dev: the log-out stopped before its tokens were deleted: they are kept in %s (the provider may have revoked them already); run `freshtoken logout -e dev` to finish it\n", w.storeFile()))
			if !tt.kept {
				want = fmt.Sprintf("Logged out of dev: the provider ended the grant, and its tokens were deleted from %s; the access token's revocation was stopped, and it may stay valid until it expires.\nfreshtoken: interrupted\n", w.storeFile())
			}
			if stderr != want {
				t.Fatalf("stderr:\n%s\nwant:\n%s", stderr, want)
			}
			if tt.kept && !bytes.Equal(w.storeBytes(), before) {
				t.Fatal("the stored tokens changed")
			}
			if _, err := os.Stat(w.storeFile()); tt.kept == errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the stored tokens: %v; want them kept: %t", err, tt.kept)
			}
		})
	}
}

// TestSignalWhileLogoutWaitsForTheLock: SIGTERM or Ctrl-C while `logout`
// waits for the renewal lock another process holds (a proxy renewing)
// sends nothing: exit 128+N, the tokens kept, and one line saying so and
// the logout to run to finish. The line said that the provider "may have
// revoked them already", of a revocation never sent, to a person ending
// access.
func TestSignalWhileLogoutWaitsForTheLock(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			var sent atomic.Int32
			revocation := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { sent.Add(1) }))
			t.Cleanup(revocation.Close)
			w := newWorld(t, devprovider.Options{}, fmt.Sprintf("revocation_url = %q", revocation.URL+"/revoke"))
			w.login()
			before := w.storeBytes()
			unlock, err := filestore.New(w.store).Lock(context.Background(), "dev")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			run := w.watch("logout")
			run.waitSaid(t, "waiting for the renewal lock of dev")
			run.cmd.Process.Signal(sig)
			stderr := run.waitExit(t, 128+int(sig))
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			want := w.suggested(fmt.Sprintf("freshtoken: interrupted: dev: the log-out stopped before its tokens were deleted: they are kept in %s; run `freshtoken logout -e dev` to finish it\n", w.storeFile()))
			if last := lines[len(lines)-1] + "\n"; last != want {
				t.Fatalf("stderr:\n%s\nwant it to end with:\n%s", stderr, want)
			}
			if n := sent.Load(); n != 0 {
				t.Errorf("%d revocation requests; want none", n)
			}
			if !bytes.Equal(w.storeBytes(), before) {
				t.Fatal("the stored tokens changed")
			}
		})
	}
}

// TestSignalWhileReadingInputThatDoesNotCome: a command reading input that
// does not come (`post -d @-` at a terminal, or from a pipe whose writer is
// silent; `import postman` of a named pipe) ends at the first SIGTERM,
// SIGHUP or Ctrl-C, exit 128+N, nothing sent: the signal only cancelled
// the command's context, which the read did not watch, so one Ctrl-C did
// nothing, and a supervisor's SIGTERM (timeout, systemd) was ignored until
// the input came or SIGKILL.
func TestSignalWhileReadingInputThatDoesNotCome(t *testing.T) {
	t.Run("post -d @-", func(t *testing.T) {
		w := newWorld(t, devprovider.Options{}, "")
		w.login()
		stdin, silent, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		run := w.watchWith(func(c *exec.Cmd) { c.Stdin = stdin }, "--debug", "post", "/v2/contacts", "-d", "@-")
		stdin.Close()
		run.waitSaid(t, "msg=configuration") // the body is read after the configuration is
		run.cmd.Process.Signal(syscall.SIGTERM)
		endsWithin(t, run, 128+int(syscall.SIGTERM))
	})
	t.Run("import postman of a named pipe", func(t *testing.T) {
		w := newWorld(t, devprovider.Options{}, "")
		fifo := filepath.Join(w.dir, "export.json")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		run := w.watch("import", "postman", fifo)
		silent, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once freshtoken has opened it to read
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		run.cmd.Process.Signal(syscall.SIGTERM)
		endsWithin(t, run, 128+int(syscall.SIGTERM))
	})
}

// endsWithin fails the test unless run ends, saying it was interrupted,
// with code within 10 s (a guess only the failure waits for).
func endsWithin(t *testing.T, run *watched, code int) {
	t.Helper()
	select {
	case <-run.stderr.Closed():
	case <-time.After(10 * time.Second):
		run.cmd.Process.Kill()
		t.Fatalf("still running 10 s after the signal: %s", run.stderr.String())
	}
	if got, stderr := run.wait(); got != code || !strings.Contains(stderr, stoppedBy(syscall.Signal(code-128))) {
		t.Fatalf("exit %d, want %d saying it was interrupted:\n%s", got, code, stderr)
	}
}

// stoppedBy is the start of the last line of a command that signal sig
// stopped, its streams no terminal: a hang-up names the signal, the
// others say "interrupted".
func stoppedBy(sig syscall.Signal) string {
	if sig == syscall.SIGHUP {
		return "freshtoken: stopped by a hang-up signal (SIGHUP)"
	}
	return "freshtoken: interrupted"
}

// endsInterruptedUnsent fails the test unless run ends with 128+sig and
// one line saying it was interrupted (see endsWithin), not that something
// failed, the provider having had no token request beyond the requests it
// had before.
func endsInterruptedUnsent(t *testing.T, w *world, run *watched, sig syscall.Signal, requests int) {
	t.Helper()
	endsWithin(t, run, 128+int(sig))
	_, stderr := run.wait()
	if !strings.HasPrefix(stderr, stoppedBy(sig)) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q; want one line saying it was interrupted", stderr)
	}
	for _, misleading := range []string{"run it yourself", "check issuer", "could not"} {
		if strings.Contains(stderr, misleading) {
			t.Errorf("stderr %q says %q, as if something had failed", stderr, misleading)
		}
	}
	if n := w.provider.Stats().TokenRequests; n != requests {
		t.Errorf("%d token requests sent after the signal; want none", n-requests)
	}
}

// TestCommandDuringAMigrationFollowsTheTokens: a command that read the
// configuration before `store migrate` named the new store in it, and found
// the old store empty once it had the lock (the migration moved the tokens
// meanwhile), runs again on the store the configuration now names. It said
// "not logged in; run `freshtoken login`" (exit 3) to about one command in
// six hundred of ten scripts calling freshtoken through a migration.
func TestCommandDuringAMigrationFollowsTheTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	old, moved := filestore.New(w.store), filestore.New(w.dir+"/moved")
	unlock, err := old.Lock(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	run := w.watch("token", "--force")
	run.waitSaid(t, "waiting for the renewal lock of dev")
	// What store migrate does, under the lock the command waits for.
	rec, err := old.Load(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := moved.Save(ctx, "dev", rec); err != nil {
		t.Fatal(err)
	}
	if err := old.Delete(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	w.writeConfig(strings.Replace(w.readConfig(), "file://"+w.store, "file://"+w.dir+"/moved", 1))
	unlock()
	if stderr := run.waitExit(t, 0); strings.Contains(stderr, "login") {
		t.Fatalf("stderr: %s", stderr)
	}
	if got, err := moved.Load(ctx, "dev"); err != nil || got.Renewals != rec.Renewals+1 {
		t.Fatalf("the moved record: %+v, %v; want it renewed once", got, err)
	}
}

// TestRequestReadingStdinIsNotRunAgainAfterAMigration: a command whose
// request body came from stdin (-d @-) has read it, so running it again on
// the store a migration moved its tokens to would send an empty body; it
// says to run it again instead. With a body of its own (-d DATA) it runs
// again, as token does.
func TestRequestReadingStdinIsNotRunAgainAfterAMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name, data string
		code       int
	}{
		{"stdin", "@-", 5},
		{"data", "hello", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			moved := w.dir + "/moved"
			old := filestore.New(w.store)
			unlock, err := old.Lock(ctx, "dev")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			rec, err := old.Load(ctx, "dev")
			if err != nil {
				t.Fatal(err)
			}
			rec.Expiry = time.Now().Add(-time.Minute) // the command must renew, under the lock
			if err := old.Save(ctx, "dev", rec); err != nil {
				t.Fatal(err)
			}
			body := filepath.Join(w.dir, "body")
			if err := os.WriteFile(body, []byte("hello"), 0o600); err != nil {
				t.Fatal(err)
			}
			run := w.watchAfter("exec <"+body, "put", "/v2/dev/echo", "-d", tc.data)
			run.waitSaid(t, "waiting for the renewal lock of dev")
			if err := filestore.New(moved).Save(ctx, "dev", rec); err != nil {
				t.Fatal(err)
			}
			if err := old.Delete(ctx, "dev"); err != nil {
				t.Fatal(err)
			}
			w.writeConfig(strings.Replace(w.readConfig(), "file://"+w.store, "file://"+moved, 1))
			unlock()
			stderr := run.waitExit(t, tc.code)
			if tc.code != 0 && !strings.Contains(stderr, "run it again") {
				t.Errorf("stderr %q; want it to say to run the command again", stderr)
			}
			if got, want := w.provider.Stats().APIRequests, 1-min(tc.code, 1); got != want {
				t.Errorf("the API got %d requests; want %d", got, want)
			}
		})
	}
}

// TestMigrationHoldsTheLockUntilTheConfigurationNamesTheNewStore: `store
// migrate` holds each environment's renewal lock until the configuration
// names the new store, so a command waiting for that lock finds the
// tokens moved and the configuration saying where: it runs again there.
// The migration let go of the lock first, and a command that took it in
// between found the old store empty, the configuration unchanged, and said
// to log in (exit 3).
func TestMigrationHoldsTheLockUntilTheConfigurationNamesTheNewStore(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	moved := filestore.New(w.dir + "/moved")
	t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "moved")
	migrate := w.watch("store", "migrate", "--to", "file://"+w.dir+"/moved")
	t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "")
	migrate.waitSaid(t, "paused at moved")
	run := w.watch("token", "--force")
	run.waitSaid(t, "waiting for the renewal lock of dev")
	migrate.cmd.Process.Signal(syscall.SIGTERM) // it goes on from the pause
	migrate.wait()
	if !strings.Contains(w.readConfig(), "file://"+w.dir+"/moved") {
		t.Fatalf("the migration did not name the new store:\n%s", w.readConfig())
	}
	if stderr := run.waitExit(t, 0); strings.Contains(stderr, "login") {
		t.Fatalf("stderr: %s", stderr)
	}
	if got, err := moved.Load(context.Background(), "dev"); err != nil || got.Renewals != 1 {
		t.Fatalf("the moved record: %+v, %v; want it renewed once", got, err)
	}
}

// TestSignalPastAMigrationsLastCheckSaysItFinished: a signal once `store
// migrate` is past its last check (the new store holds every copy) lets
// the move finish, exit 128+N, and its last word says it finished and
// where [store] url now points: it said "interrupted" alone, of a move
// that had finished. So it does when an old copy is kept (renewed since it
// was copied), which the lines before tell: there it still said
// "interrupted" alone.
func TestSignalPastAMigrationsLastCheckSaysItFinished(t *testing.T) {
	for _, tc := range []struct {
		name, finished string
		oldStays       bool
	}{{"old copies deleted", "which finished", false}, {"an old copy left", "which finished but for the old copies said above", true}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "moved")
			migrate := w.watch("store", "migrate", "--to", "file://"+w.dir+"/moved")
			t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "")
			migrate.waitSaid(t, "paused at moved")
			if tc.oldStays { // renewed since it was copied, as by a freshtoken past the lock
				old := filepath.Join(w.store, "dev.json")
				b, err := os.ReadFile(old)
				if err != nil {
					t.Fatal(err)
				}
				var rec map[string]any
				if err := json.Unmarshal(b, &rec); err != nil {
					t.Fatal(err)
				}
				rec["access_token"] = "renewed-since"
				if b, err = json.Marshal(rec); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(old, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			migrate.cmd.Process.Signal(syscall.SIGTERM)
			stderr := migrate.waitExit(t, 143)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if want := "freshtoken: interrupted: too late to stop the move, " + tc.finished + ": [store] url in " + w.config + " names file://" + w.dir + "/moved"; lines[len(lines)-1] != want {
				t.Errorf("stderr:\n%s\nwant its last line %q", stderr, want)
			}
			if said := strings.Contains(stderr, "the old copy in "); said != tc.oldStays {
				t.Errorf("stderr:\n%s\nsays the old copy was kept: %v, want %v", stderr, said, tc.oldStays)
			}
			if _, err := os.Stat(filepath.Join(w.dir, "moved", "dev.json")); err != nil {
				t.Errorf("the tokens are not in the new store: %v", err)
			}
		})
	}
}

// TestCtrlCDuringAMigrationMovesNothing: Ctrl-C while `store migrate`
// copies the records (file to file) takes the copies back and moves
// nothing, exit 130: the file stores take no context, and the migration
// went on to the end, named the new store, and then said "interrupted".
func TestCtrlCDuringAMigrationMovesNothing(t *testing.T) {
	for _, step := range []string{"copied", "verified"} {
		t.Run(step, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			before := w.readConfig()
			t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", step)
			migrate := w.watch("store", "migrate", "--to", "file://"+w.dir+"/moved")
			t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "")
			migrate.waitSaid(t, "paused at "+step)
			migrate.cmd.Process.Signal(syscall.SIGINT)
			if stderr := migrate.waitExit(t, 130); !strings.Contains(stderr, "Nothing was moved") {
				t.Errorf("stderr: %s; want it to say nothing was moved", stderr)
			}
			if got := w.readConfig(); got != before {
				t.Errorf("the configuration changed:\n%s", got)
			}
			if _, err := os.Stat(w.storeFile()); err != nil {
				t.Errorf("the tokens left the old store: %v", err)
			}
			if _, err := os.Stat(filepath.Join(w.dir, "moved", "dev.json")); !os.IsNotExist(err) {
				t.Errorf("a copy was left in the new store: %v", err)
			}
			if left, err := os.ReadDir(filepath.Join(w.dir, "moved")); !os.IsNotExist(err) {
				t.Errorf("the folder the move made is still there, holding %d files (%v)", len(left), err)
			}
		})
	}
}

// TestCtrlCDuringAMigrationPutsBackTheNewStoresCopy: Ctrl-C while `store
// migrate` copies a record over an older copy of the grant in the new
// store (a fleet's Redis this machine had left) puts that copy back: the
// copies were taken back but for that one, left holding the tokens still
// in use here, for the fleet's machines to renew and this one, its
// configuration naming the old store, to spend again.
func TestCtrlCDuringAMigrationPutsBackTheNewStoresCopy(t *testing.T) {
	w, here, older := renewedHereAndAFleetsOlderCopy(t)
	fleet := filestore.New(filepath.Join(w.dir, "fleet"))
	if err := fleet.Save(context.Background(), "dev", older); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "verified")
	migrate := w.watch("store", "migrate", "--to", "file://"+filepath.Join(w.dir, "fleet"))
	t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "")
	migrate.waitSaid(t, "paused at verified")
	migrate.cmd.Process.Signal(syscall.SIGINT)
	if stderr := migrate.waitExit(t, 130); !strings.Contains(stderr, "Nothing was moved") {
		t.Errorf("stderr: %s; want it to say nothing was moved", stderr)
	}
	if got, err := fleet.Load(context.Background(), "dev"); err != nil || got.RefreshToken != older.RefreshToken {
		t.Errorf("the new store's copy was not put back (%v)", err)
	}
	if got, err := filestore.New(w.store).Load(context.Background(), "dev"); err != nil || got.RefreshToken != here.RefreshToken {
		t.Errorf("the tokens in use left the old store (%v)", err)
	}
}

// renewedHereAndAFleetsOlderCopy is a world logged in to dev, its record
// stored as renewed 3 times (here), and an older copy of its grant, renewed
// once, with other tokens, as a fleet's store this machine had left holds
// it.
func renewedHereAndAFleetsOlderCopy(t *testing.T) (w *world, here, older *store.Record) {
	t.Helper()
	w = newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	here, err := filestore.New(w.store).Load(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	here.Renewals = 3
	if err := filestore.New(w.store).Save(context.Background(), "dev", here); err != nil {
		t.Fatal(err)
	}
	o := *here
	o.RefreshToken, o.AccessToken, o.Renewals = "the-fleets-spent-refresh-token", "the-fleets-access-token", 1
	return w, here, &o
}

// TestCtrlCDuringAMigrationKeepsAFleetsRenewalOfTheCopy: a move to a
// fleet's Redis paused past its renewal lock there (Ctrl-Z, a suspended
// laptop), while a fleet machine took the lock and renewed the copy, then
// given up (Ctrl-C): the fleet's renewal holds the only live refresh token
// (the copy's, and the one still in the old store, are spent), and is
// kept. The copy was taken back by deleting whatever the new store held,
// the fleet's renewal with it, so every machine had to log in again; over
// an older copy, the put-back was refused, saying that the old store's
// tokens, spent, were the ones in use.
func TestCtrlCDuringAMigrationKeepsAFleetsRenewalOfTheCopy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		withOlder bool
		// logIn: the fleet machine logged in anew, rather than renewed the copy.
		logIn bool
		said  string
	}{
		{"no copy there before", false, false, "newer tokens"},
		{"an older copy there", true, false, "newer tokens"},
		{"a log-in there since", false, true, "still the ones in use here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, here, older := renewedHereAndAFleetsOlderCopy(t)
			srv := redistest.Start(t)
			fleet, err := redisstore.New(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fleet.Close() })
			if tc.withOlder {
				if err := fleet.Save(context.Background(), "dev", older); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "verified")
			migrate := w.watch("store", "migrate", "--to", srv.URL)
			t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "")
			migrate.waitSaid(t, "paused at verified")
			// The move's lock there expires, and a fleet machine renews the copy.
			srv.Command(t, "DEL", "freshtoken:dev:lock")
			unlock, err := fleet.Lock(context.Background(), "dev")
			if err != nil {
				t.Fatal(err)
			}
			renewed, err := fleet.Load(context.Background(), "dev")
			if err != nil || renewed.RefreshToken != here.RefreshToken {
				t.Fatalf("the fleet finds %+v (%v); want the copy", renewed, err)
			}
			renewed.RefreshToken, renewed.AccessToken, renewed.Renewals = "the-fleets-live-refresh-token", "the-fleets-new-access-token", renewed.Renewals+1
			if tc.logIn {
				renewed.LoggedInAt, renewed.Renewals = renewed.LoggedInAt.Add(time.Minute), 0
			}
			if err := fleet.Save(context.Background(), "dev", renewed); err != nil {
				t.Fatal(err)
			}
			unlock()
			migrate.cmd.Process.Signal(syscall.SIGINT)
			stderr := migrate.waitExit(t, 130)
			if !strings.Contains(stderr, "Nothing was moved") || !strings.Contains(stderr, tc.said) || strings.Contains(stderr, "could not be taken back") {
				t.Errorf("stderr: %s; want it to say nothing was moved, and that the new store's tokens were kept (%q)", stderr, tc.said)
			}
			if got, err := fleet.Load(context.Background(), "dev"); err != nil || got.RefreshToken != renewed.RefreshToken {
				t.Errorf("the fleet's renewal is gone from the new store: %+v (%v)", got, err)
			}
		})
	}
}

// TestCtrlCDuringAMigrationSaysWhatACopyNotTakenBackRisks: a move given up
// on (Ctrl-C) whose copy the new store will not take back (its Redis user
// may no longer write) says what that copy risks, and what to do: a
// freshtoken reading that store would renew it and spend the tokens in use
// here, and the run again finishes the move. It said only that the old
// store's tokens were the ones in use.
func TestCtrlCDuringAMigrationSaysWhatACopyNotTakenBackRisks(t *testing.T) {
	for _, withOlder := range []bool{false, true} {
		t.Run(fmt.Sprintf("an older copy there %v", withOlder), func(t *testing.T) {
			w, _, older := renewedHereAndAFleetsOlderCopy(t)
			srv := redistest.Start(t)
			srv.SetUser(t, "mover", "on", ">pw", "~*", "+@all")
			if withOlder {
				fleet, err := redisstore.New(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				defer fleet.Close()
				if err := fleet.Save(context.Background(), "dev", older); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "verified")
			migrate := w.watch("store", "migrate", "--to", "redis://mover:pw@"+srv.Addr+"/0")
			t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "")
			migrate.waitSaid(t, "paused at verified")
			srv.SetUser(t, "mover", "resetkeys", "%R~*")
			migrate.cmd.Process.Signal(syscall.SIGINT)
			if stderr := migrate.waitExit(t, 130); !strings.Contains(stderr, "could not be taken back") || !strings.Contains(stderr, "would renew it and spend the tokens in use here") ||
				!strings.Contains(stderr, "run the same command again") {
				t.Errorf("stderr: %s; want it to say what the copy left there risks, and to run the move again", stderr)
			}
		})
	}
}

// TestClosedPipeBeforeAnyRenewal: the reader of stdout and stderr is gone
// before freshtoken writes a thing, and nothing needs renewing (`token`
// watches for signals only from a renewal on). The writes fail; the process
// is not killed by SIGPIPE and exits 141.
func TestClosedPipeBeforeAnyRenewal(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	for _, args := range [][]string{{"token"}, {"--debug", "token", "--json"}, {"status"}, {"status", "--json"}, {"version"}, {"get", "/v2/company"}, {"request", "GET", "/v2/company"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			pr, pw := outputPipe(t)
			pr.Close()
			ft := w.command(context.Background(), args...)
			ft.Stdout, ft.Stderr = pw, pw
			err := ft.Run()
			pw.Close()
			if ws := ft.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || ft.ProcessState.ExitCode() != 141 {
				t.Fatalf("freshtoken %s ended with %v (%v); want exit 141, not death by a signal", strings.Join(args, " "), ft.ProcessState, err)
			}
		})
	}
}

// TestFullDiskFailsTheOutput: output redirected to a full disk (`status >
// status.txt`) fails the command with exit 2 and one line saying that the
// disk is full and what to do, rather than leaving an empty file behind an
// exit 0 (which `init` did), or exit 1, which says freshtoken has a bug; a request's line says
// what the API answered, and, for one that may change something, that
// running it again makes it again. A token renewed first is stored, and
// the grant kept.
func TestFullDiskFailsTheOutput(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	for _, tt := range []struct {
		args []string
		says []string
	}{
		{[]string{"token"}, nil},
		{[]string{"version"}, nil},
		{[]string{"token", "--json"}, nil},
		{[]string{"token", "--force"}, nil},
		{[]string{"status"}, nil},
		{[]string{"status", "--json"}, nil},
		{[]string{"get", "/v2/company"}, []string{"dev: GET " + w.api + "v2/company answered 200 OK"}},
		{[]string{"request", "GET", "/v2/company"}, []string{"answered 200 OK"}},
		{[]string{"post", "/v2/contacts", "-d", `{"contact":{}}`}, []string{"dev: POST ", "the request was made, and running the command again makes it again"}},
		// Last, as it adds an environment. It printed the redirect URI
		// to register, ignoring the failure, and exited 0.
		{[]string{"init", "-e", "other", "--provider", "freeagent", "--client-id", "other-client-id", "--client-secret-env", "DEV_SECRET", "--redirect-uri", "http://127.0.0.1:8787/callback"}, nil},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				testenv.Missing(t, "/dev/full: %v", err)
			}
			defer full.Close()
			before, refreshes := refreshToken(t, w), w.provider.Stats().Refreshes
			var stderr strings.Builder
			ft := w.command(context.Background(), tt.args...)
			ft.Stdout, ft.Stderr = full, &stderr
			ft.Run()
			code, said := ft.ProcessState.ExitCode(), stderr.String()
			lines := strings.Split(strings.TrimSpace(said), "\n")
			last := lines[len(lines)-1] // init tells what it wrote first
			if code != 2 || len(lines) != 1 && tt.args[0] != "init" || strings.Count(said, "standard output") != 1 || !strings.HasPrefix(last, "freshtoken: ") ||
				!strings.Contains(last, "the disk is full (no space left on device)") || !strings.Contains(last, "free some space or send it elsewhere") {
				t.Fatalf("exit %d, stderr %q; want exit 2 and one line saying the disk is full and what to do", code, said)
			}
			for _, s := range tt.says {
				if !strings.Contains(said, s) {
					t.Errorf("stderr %q; want it to say %q", said, s)
				}
			}
			if tt.args[0] != "post" && strings.Contains(said, "running the command again makes it again") {
				t.Errorf("stderr %q warns of running again a request that changes nothing", said)
			}
			if renewed := w.provider.Stats().Refreshes - refreshes; renewed > 0 {
				if refreshToken(t, w) == before {
					t.Fatal("the token renewed before the output failed was not stored")
				}
				grantKept(t, w, before)
			}
		})
	}
}

// TestClosedStdoutFailsTheOutput: standard output that takes no writes
// (`1</dev/null`, a descriptor open for reading only, as a closed one is
// to a program in C) fails `token`, `get` and `status --json` with exit 2
// and one line saying that standard output is closed and where to send it,
// the token renewed first stored and the grant kept; a script's
// `TOKEN=$(freshtoken token) || exit` can rely on it. Standard output
// closed when freshtoken starts (`>&-`) is /dev/null by the time it runs
// (the Go runtime opens it there, as Python's subprocess.DEVNULL and
// Node's "ignore" open it, read and write): the output is discarded as
// with `>/dev/null`, and the renewal is stored all the same.
func TestClosedStdoutFailsTheOutput(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	sh, err := exec.LookPath("sh")
	if err != nil {
		testenv.Missing(t, "no sh: %v", err)
	}
	for _, tt := range []struct {
		redirect string
		args     []string
		code     int
		says     string
	}{
		{"1</dev/null", []string{"token", "--force"}, 2, "freshtoken: standard output could not be written: standard output is closed, so the output is missing or cut short; give it somewhere to go (> FILE, a pipe, $(…)), then run the command again"},
		{"1</dev/null", []string{"status", "--json"}, 2, "freshtoken: standard output could not be written: standard output is closed"},
		{"1</dev/null", []string{"get", "/v2/company"}, 2, "freshtoken: dev: GET " + w.api + "v2/company answered 200 OK, but standard output could not take the answer: standard output is closed, so it is missing or cut short; give it somewhere to go"},
		{">&-", []string{"token", "--force"}, 0, ""},
	} {
		t.Run(tt.redirect+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			before, refreshes := refreshToken(t, w), w.provider.Stats().Refreshes
			var stderr strings.Builder
			ft := w.command(context.Background(), tt.args...)
			ft.Path, ft.Args = sh, append([]string{"sh", "-c", `exec "$0" "$@" ` + tt.redirect, binary}, tt.args...)
			ft.Stderr = &stderr
			ft.Run()
			code, said := ft.ProcessState.ExitCode(), stderr.String()
			if code != tt.code || strings.Count(said, "\n") != min(tt.code, 1) || !strings.HasPrefix(said, tt.says) {
				t.Fatalf("exit %d, stderr %q; want exit %d and the one line %q…", code, said, tt.code, tt.says)
			}
			if renewed := w.provider.Stats().Refreshes - refreshes; renewed > 0 {
				if refreshToken(t, w) == before {
					t.Fatal("the token renewed before the output failed was not stored")
				}
				grantAlive(t, w) // the stored refresh token is the live one, or the renewal was lost
			} else if tt.args[0] == "token" {
				t.Fatal("token --force renewed nothing")
			}
		})
	}
}

// TestNohupIsHonoured: started with SIGHUP ignored (`nohup freshtoken proxy
// --no-listen &`, then the terminal closes), freshtoken keeps running, and
// a command that exec runs inherits the ignored SIGHUP as it would without
// freshtoken in between. So with Ctrl-Z (SIGTSTP) ignored, as a job
// control shell's own children and some supervisors start them: freshtoken
// suspended itself on it all the same, and exec's command lost the ignoring.
func TestNohupIsHonoured(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	const nohup = `trap "" HUP`
	t.Run("proxy", func(t *testing.T) {
		run := w.watchAfter(nohup, "proxy", "--no-listen")
		run.waitSaid(t, "keeping environment dev alive")
		run.cmd.Process.Signal(syscall.SIGHUP) // ignored: the SIGTERM after it is the first signal
		run.cmd.Process.Signal(syscall.SIGTERM)
		run.waitExit(t, 143)
	})
	t.Run("exec", func(t *testing.T) {
		run := w.watchAfter(nohup, "exec", "--", "sh", "-c", `kill -HUP $$; echo survived >&2`)
		if stderr := run.waitExit(t, 0); !strings.Contains(stderr, "survived") {
			t.Fatalf("stderr %q; want the command to survive its own SIGHUP", stderr)
		}
	})
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return // telling a suspended process needs /proc
	}
	const noStop = `trap "" TSTP`
	t.Run("proxy, Ctrl-Z ignored", func(t *testing.T) {
		run := w.watchAfter(noStop, "proxy", "--no-listen")
		run.waitSaid(t, "keeping environment dev alive")
		run.cmd.Process.Signal(syscall.SIGTSTP)
		run.cmd.Process.Signal(syscall.SIGTERM)
		endsUnsuspended(t, run, 143)
	})
	t.Run("exec, Ctrl-Z ignored", func(t *testing.T) {
		run := w.watchAfter(noStop, "exec", "--", "sh", "-c", `kill -TSTP $$; echo survived >&2`)
		endsUnsuspended(t, run, 0)
	})
}

// diskWorld is strictWorld with its tokens on a small disk of their own,
// which a test turns read-only (testdisk.ReadOnly on w.store) once the
// renewal the gate holds has taken the lock: the store then refuses that
// renewal's answer until the disk is writable again. (A full disk no longer
// refuses it: the answer is written over the record in place.)
func diskWorld(t *testing.T) (*world, *gate) {
	dir := testdisk.Small(t, "256k")
	g := newGate(t, "refresh_token")
	w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest}, "file://"+dir, "")
	w.store = dir
	w.login()
	g.armed.Store(true)
	return w, g
}

// TestSignalWhileTheStoreRefusesTheAnswer: SIGHUP, SIGTERM or SIGINT comes
// while the provider answers a renewal whose answer the store (a disk turned
// read-only) refuses. freshtoken keeps the rotated tokens and tries again until the
// store takes them, and only then exits 128+N; it exited at once, and the
// rotated refresh token was lost.
func TestSignalWhileTheStoreRefusesTheAnswer(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			w, g := diskWorld(t)
			before := refreshToken(t, w)
			run := w.watch("token", "--force")
			g.wait(t)
			writable := testdisk.ReadOnly(t, w.store)
			run.cmd.Process.Signal(sig)
			run.waitSaid(t, "waiting up to")
			close(g.release)
			run.waitSaid(t, "waiting for the store to take the new tokens")
			writable()
			if code, stderr := run.wait(); code != 128+int(sig) || !strings.Contains(stderr, stoppedBy(sig)) {
				t.Fatalf("exit %d; want %d, interrupted, once stored\n%s", code, 128+int(sig), stderr)
			}
			if refreshToken(t, w) == before {
				t.Fatal("the rotated refresh token was not stored")
			}
			grantAlive(t, w)
		})
	}
}

// TestSecondCtrlCAbandonsTheRefusedAnswer: Ctrl-C twice while the store
// refuses the answer: freshtoken exits 130 at once, saying in one line that
// the refresh token is lost and which log-in to run.
func TestSecondCtrlCAbandonsTheRefusedAnswer(t *testing.T) {
	t.Parallel()
	w, g := diskWorld(t)
	run := w.watch("token", "--force")
	g.wait(t)
	testdisk.ReadOnly(t, w.store)
	run.cmd.Process.Signal(syscall.SIGINT)
	run.waitSaid(t, "waiting up to")
	close(g.release)
	run.waitSaid(t, "waiting for the store to take the new tokens")
	run.cmd.Process.Signal(syscall.SIGINT)
	abandonedLosingTheRefreshToken(t, w, run)
}

// abandonedLosingTheRefreshToken waits for freshtoken, Ctrl-C sent twice as
// the store refused the new tokens, to end, and fails the test unless it
// exited 130 with one line saying the refresh token is lost and which
// log-in to run; it returns all of stderr.
func abandonedLosingTheRefreshToken(t *testing.T, w *world, run *watched) string {
	t.Helper()
	code, stderr := run.wait()
	warning := ""
	for line := range strings.SplitSeq(stderr, "\n") {
		if strings.Contains(line, "abandoned") {
			warning = line
		}
	}
	if code != 130 || !strings.Contains(warning, "were never stored, so the refresh token is lost") || !strings.Contains(warning, w.suggested("`freshtoken login -e dev`")) {
		t.Fatalf("exit %d, stderr %q; want 130 and one line saying the refresh token is lost and to log in", code, stderr)
	}
	return stderr
}

// TestSignalWhileTheSecretCommandWaits: a client_secret_cmd that waits (a
// `pass show` asking for a GPG passphrase) while `token` renews or `login`
// starts: the first Ctrl-C, Ctrl-\, SIGTERM or SIGHUP, sent to freshtoken
// alone (kill, a supervisor) or to its process group (a terminal), ends it
// with 128+N and one line, the secret command ended and nothing sent.
// Sent to freshtoken alone, it left the secret command running on after it
// (still asking for the passphrase); sent to the group, its line said, as
// often as not, that the secret command failed and to run it to see why.
func TestSignalWhileTheSecretCommandWaits(t *testing.T) {
	for _, args := range [][]string{{"token"}, {"login", "--no-browser"}} {
		for _, tt := range []struct {
			sig   syscall.Signal
			group bool
		}{
			{syscall.SIGINT, false}, {syscall.SIGQUIT, false}, {syscall.SIGTERM, false}, {syscall.SIGHUP, false},
			{syscall.SIGINT, true}, {syscall.SIGQUIT, true},
		} {
			to := "freshtoken"
			if tt.group {
				to = "its group"
			}
			t.Run(fmt.Sprintf("%s %v to %s", args[0], tt.sig, to), func(t *testing.T) {
				w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
				w.login()
				w.age(time.Hour) // token renews
				pidFile := filepath.Join(w.dir, "secret.pid")
				setSecretSource(t, w, fmt.Sprintf(`client_secret_cmd = "echo $$ > %s; sleep 60; echo dev-client-secret"`, pidFile))
				requests := w.provider.Stats().TokenRequests
				run := w.watchWith(func(c *exec.Cmd) { c.SysProcAttr.Setpgid = true }, args...)
				var pid int
				testenv.WaitFor(t, "the secret command to start", func() bool {
					b, _ := os.ReadFile(pidFile)
					pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
					return pid != 0
				})
				target := run.cmd.Process.Pid
				if tt.group {
					target = -target
				}
				if err := syscall.Kill(target, tt.sig); err != nil {
					t.Fatal(err)
				}
				endsInterruptedUnsent(t, w, run, tt.sig, requests)
				// Ended, it is gone once reaped: then no signal reaches it.
				testenv.WaitFor(t, "the secret command to end", func() bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) })
			})
		}
	}
}

// TestSignalWhileDiscoveryWaits: a renewal that must fetch the provider's
// discovery document (issuer, the cached copy gone) from an issuer that
// does not answer: the first Ctrl-C, Ctrl-\, SIGTERM or SIGHUP ends
// `token` with 128+N and one line, nothing sent. The fetch, made under the
// renewal lock, did not watch the signal, which waited until the fetch
// gave up (the environment's timeout, 30 s) and then said the provider
// could not be reached.
func TestSignalWhileDiscoveryWaits(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			var hang atomic.Bool
			issuer := newSilentServer(t, w.provider.Handler(), func(r *http.Request) bool {
				return hang.Load() && strings.HasPrefix(r.URL.Path, "/.well-known/")
			})
			w.writeConfig(strings.Replace(w.readConfig(), fmt.Sprintf("provider = \"freeagent\"\napi_url = %q", w.api),
				fmt.Sprintf("provider = \"generic\"\napi_url = %q\nissuer = %q", issuer.URL+"/", issuer.URL), 1))
			w.login()
			w.age(time.Hour) // token renews
			if err := os.RemoveAll(filepath.Join(w.dir, "discovery")); err != nil {
				t.Fatal(err)
			}
			requests := w.provider.Stats().TokenRequests
			hang.Store(true)
			run := w.watch("token")
			issuer.await(t, run, "a discovery request")
			run.cmd.Process.Signal(sig)
			endsInterruptedUnsent(t, w, run, sig, requests)
		})
	}
}

// TestSignalWhileTheAPIAnswers: a signal while the API has yet to answer a
// request ends freshtoken with 128+N and the one line saying it was
// interrupted: the line went on with net/http's words for the cancelled
// request, `Get "http://…": context canceled`, which told nothing more.
func TestSignalWhileTheAPIAnswers(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			api := newSilentServer(t, w.provider.Handler(), func(r *http.Request) bool { return r.URL.Path == "/v2/slow" })
			w.useAPI(api.URL + "/")
			w.login()
			requests := w.provider.Stats().TokenRequests
			run := w.watch("get", "/v2/slow")
			api.await(t, run, "the API request")
			run.cmd.Process.Signal(sig)
			endsInterruptedUnsent(t, w, run, sig, requests)
			if _, stderr := run.wait(); strings.Contains(stderr, "context canceled") || strings.Contains(stderr, "/v2/slow") {
				t.Errorf("stderr %q; want it to say it was interrupted, and no more", stderr)
			}
		})
	}
}

// TestSignalDuringAll: a signal while `get --all` reads its second page
// (mid-page) or waits out that page's 429 (between pages) ends it with
// 128+N and the one line saying it was interrupted (after the 429's own
// line), nothing printed and no page asked for after the signal.
func TestSignalDuringAll(t *testing.T) {
	for _, between := range []bool{false, true} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP} {
			t.Run(fmt.Sprintf("%v, between pages: %v", sig, between), func(t *testing.T) {
				w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
				var later atomic.Int32
				api := newSilentServer(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/v2/invoices" {
						w.provider.Handler().ServeHTTP(rw, r)
						return
					}
					switch r.URL.Query().Get("page") {
					case "":
						rw.Header().Set("Link", `</v2/invoices?page=2>; rel="next"`)
						rw.Write([]byte(`{"invoices":[{"n":1}]}`))
					case "2": // between pages: a wait of a minute
						rw.Header().Set("Retry-After", "60")
						rw.WriteHeader(http.StatusTooManyRequests)
					default:
						later.Add(1)
					}
				}), func(r *http.Request) bool { return !between && r.URL.Query().Get("page") == "2" })
				w.useAPI(api.URL + "/")
				w.login()
				run := w.watch("get", "--all", "/v2/invoices")
				if between {
					run.waitSaid(t, "waiting 1m0s as it asks")
				} else {
					api.await(t, run, "the second page's request")
				}
				run.cmd.Process.Signal(sig)
				endsWithin(t, run, 128+int(sig))
				_, stderr := run.wait()
				lines := 1
				if between {
					lines++ // the 429's
				}
				if !strings.HasSuffix("\n"+stderr, "\n"+stoppedBy(sig)+"\n") || strings.Count(stderr, "\n") != lines {
					t.Errorf("stderr %q; want the line saying it was interrupted, after the 429's between pages", stderr)
				}
				if out := run.output(t); out != "" || later.Load() > 0 {
					t.Errorf("stdout %q, %d pages asked for after the second; want nothing", out, later.Load())
				}
			})
		}
	}
}

// silentServer passes requests on to a handler but leaves those that hang
// says so unanswered until their client gives up.
type silentServer struct {
	*httptest.Server
	arrived chan struct{}
}

// newSilentServer serves next, but for the requests hang picks; next may be
// nil when hang picks every request.
func newSilentServer(t *testing.T, next http.Handler, hang func(*http.Request) bool) *silentServer {
	s := &silentServer{arrived: make(chan struct{}, 1)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !hang(r) {
			next.ServeHTTP(rw, r)
			return
		}
		io.Copy(io.Discard, r.Body) // then the server sees the connection close
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done() // no answer until the client gives up
	}))
	t.Cleanup(s.Close)
	return s
}

// await waits for a request the server leaves unanswered (what, from run).
func (s *silentServer) await(t *testing.T, run *watched, what string) {
	t.Helper()
	select {
	case <-s.arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never came: %s", what, run.stderr.String())
	}
}

// TestDemoStopsWhenNobodyReads: the demo whose output nobody takes (`demo
// | head -1`, output to a full disk) stops at the first line not written,
// exit 141 or 2 as any command's: it went on through its whole cycle (20
// seconds by default, here hours), showing it to no one. The deadline only
// keeps a regression from holding the test for ever.
func TestDemoStopsWhenNobodyReads(t *testing.T) {
	w := newWorld(t, devprovider.Options{}, "")
	for _, tt := range []struct {
		name string
		code int
		out  func(t *testing.T) (*os.File, func())
	}{
		{"closed pipe", 141, func(t *testing.T) (*os.File, func()) {
			pr, pw := outputPipe(t)
			pr.Close()
			return pw, func() { pw.Close() }
		}},
		{"full disk", 2, func(t *testing.T) (*os.File, func()) {
			full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				testenv.Missing(t, "/dev/full: %v", err)
			}
			return full, func() { full.Close() }
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, done := tt.out(t)
			defer done()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			var stderr strings.Builder
			ft := w.command(ctx, "demo", "--calls", "3", "--interval", "1h", "--ttl", "1h")
			ft.Stdout, ft.Stderr = out, &stderr
			ft.Run()
			if ws := ft.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || ft.ProcessState.ExitCode() != tt.code {
				t.Fatalf("demo ended with %v, stderr %q; want exit %d at the first line not written", ft.ProcessState, stderr.String(), tt.code)
			}
		})
	}
}

// TestProxyStoppingSaysWhatItWaitsFor: Ctrl-C to a proxy serving a request
// that goes on (a client still sending its body) says that the proxy waits
// for it, how long at most, and that Ctrl-C again stops it at once, which it
// does, exit 130. The proxy waited up to 5 seconds without a word, as if the
// Ctrl-C had not been seen.
func TestProxyStoppingSaysWhatItWaitsFor(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	run := w.watch("proxy", "--listen", addr)
	run.waitSaid(t, "freshtoken proxy running at")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Half a body, after Expect: 100-continue: the 100 Continue says the
	// proxy's handler is reading it, so the request is in flight.
	fmt.Fprintf(conn, "POST /dev/v2/contacts HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", addr)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("the proxy answered %q (%v); want 100 Continue", line, err)
	}
	fmt.Fprint(conn, `{"contact":`)
	run.cmd.Process.Signal(syscall.SIGINT)
	run.waitSaid(t, "freshtoken proxy stopping: waiting up to 5s for 1 request in flight to finish; Ctrl-C again stops it at once")
	run.cmd.Process.Signal(syscall.SIGINT)
	run.waitExit(t, 130)
}

// stopPastTimeout stops p while g holds its token request, does meanwhile
// (if not nil) with p stopped, lets the provider answer the request (see
// stopWhileAnswered), and continues p once a little more than timeout has
// passed since it stopped: a timer started when the request was sent, before
// the stop, is then due, and what is tested is the timeout passing while
// the process is stopped, nothing of it running meanwhile. g holds the next
// request again. The test's own pause between the request reaching g and
// the stop counts as time p ran: it must stay under nine tenths of timeout
// (the running timeout's last step), so timeout is the pause a loaded
// machine may make there, and costs the test no more than once per try.
func stopPastTimeout(t *testing.T, p *os.Process, g *gate, timeout time.Duration, meanwhile func(), answered func() bool) {
	t.Helper()
	stopped := stopProcess(t, p)
	if meanwhile != nil {
		meanwhile()
	}
	answerWhileStopped(t, g, answered)
	g.release = make(chan struct{})
	time.Sleep(timeout + timeout/10 - time.Since(stopped))
	p.Signal(syscall.SIGCONT)
}

// stopWhileAnswered stops p (SIGSTOP) while g holds its token request, and
// lets the provider answer it (answered reports when it has): the answer
// waits in the socket of a process that does not run. It returns when p
// stopped.
func stopWhileAnswered(t *testing.T, p *os.Process, g *gate, answered func() bool) time.Time {
	t.Helper()
	stopped := stopProcess(t, p)
	answerWhileStopped(t, g, answered)
	return stopped
}

// stopProcess stops p (SIGSTOP) and returns once it has stopped: the time
// it returns is at or after the stop.
func stopProcess(t *testing.T, p *os.Process) time.Time {
	t.Helper()
	p.Signal(syscall.SIGSTOP)
	testenv.WaitFor(t, "freshtoken to stop", func() bool { return processState(t, p.Pid) == "T" })
	return time.Now()
}

// answerWhileStopped lets g's held request go and waits until the provider
// has answered it.
func answerWhileStopped(t *testing.T, g *gate, answered func() bool) {
	t.Helper()
	g.open()
	testenv.WaitFor(t, "the provider to answer", answered)
}

// TestStoppedPastTheTimeoutKeepsTheAnswer: a renewal stopped (SIGSTOP; a
// frozen container, `docker pause`, a debugger) while the provider
// answers, and continued once its timeout has passed, takes the answer
// that came meanwhile: it was whole, in the socket, when the process ran
// again, yet the timeout's timer, due long since, fired first as often as
// not, the answer was dropped, and the renewal was tried again with the
// refresh token that answer had rotated out, which ended the grant. The
// timeout counts the time the process ran, not the time it was stopped.
// Each store is tried, a few times: the timer won about two times in three.
func TestStoppedPastTheTimeoutKeepsTheAnswer(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("telling a stopped process needs /proc")
	}
	for _, where := range []string{"file", "redis"} {
		t.Run(where, func(t *testing.T) {
			storeURL := ""
			if where == "redis" {
				storeURL = redistest.Start(t).URL
			}
			const timeout = 2 * time.Second // see stopPastTimeout
			g := newGate(t, "refresh_token")
			// A rotated-out refresh token sent again ends the grant.
			w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest}, storeURL, "")
			w.login()
			// Set once logged in: the code exchange, which nothing stops,
			// must not have to be answered within it on a loaded machine.
			w.writeConfig(w.readConfig() + fmt.Sprintf("timeout = %q\n", timeout.String())) // in [env.dev], the last table
			for i := 1; i <= 4; i++ {
				g.armed.Store(true)
				run := w.watch("token", "--force")
				g.wait(t)
				// The answer goes out, rotating the refresh token.
				stopPastTimeout(t, run.cmd.Process, g, timeout, nil, func() bool { return w.provider.Stats().Refreshes == i })
				stderr := run.waitExit(t, 0)
				if st := w.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 || st.Refreshes != i {
					t.Fatalf("try %d: provider saw %+v; want %d refreshes and no reuse (stderr: %s)", i, st, i, stderr)
				}
				if tok := strings.TrimSpace(run.output(t)); tok != strings.TrimSpace(w.mustRun("token").stdout) {
					t.Fatalf("try %d: printed %q, which is not the token stored", i, tok)
				}
			}
		})
	}
}

// TestResumedLockHolderKeepsTheGrantEndedNote: a renewal stopped (SIGSTOP)
// while a provider that detects reuse answers it, past its Redis lock; a
// second process takes the lock, spends the same refresh token, and notes
// that the grant ended (exit 3). The first, continued, saved its tokens
// over that note and printed one, exit 0, and status said all was well
// until the next use failed: at a strict provider (a reused refresh token
// ends the whole grant) they were revoked. Its save is now conditional on
// the record it read: it reports the ended grant, exit 3, prints nothing,
// and keeps the refresh token it received beside the note, without the
// access token, for `token --force` to try: the strict provider confirms
// that the grant ended, and one that refused only the reuse renews with
// it, the grant kept.
func TestResumedLockHolderKeepsTheGrantEndedNote(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("telling a stopped process needs /proc")
	}
	for _, tt := range []struct {
		name        string
		refusedOnly bool
	}{{"strict provider", false}, {"reuse refused only", true}} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t, "refresh_token")
			w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour, ReuseRefusedOnly: tt.refusedOnly, OnTokenRequest: g.onTokenRequest}, redistest.Start(t).URL, "")
			w.login()
			g.armed.Store(true)
			a := w.watch("token", "--force")
			g.wait(t)
			// The answer goes out, rotating the refresh token, while A is stopped.
			stopWhileAnswered(t, a.cmd.Process, g, func() bool { return w.provider.Stats().Refreshes == 1 })
			// B waits out A's lock, takes it, and sends the refresh token A spent.
			if b := w.run("token", "--force"); b.code != 3 {
				t.Fatalf("the second renewal: exit %d, want 3 (the grant ended):\n%s", b.code, b.stderr)
			}
			if st := w.provider.Stats(); st.ReuseDetected != 1 || st.GrantsRevoked != map[bool]int{false: 1, true: 0}[tt.refusedOnly] {
				t.Fatalf("provider saw %+v; want the reuse detected, and the grant revoked unless only refused", st)
			}
			a.cmd.Process.Signal(syscall.SIGCONT)
			stderr := a.waitExit(t, 3)
			if out := a.output(t); out != "" {
				t.Fatalf("the resumed renewal printed %q, a token the provider may have revoked", out)
			}
			if !strings.Contains(stderr, "the provider ended the grant") || !strings.Contains(stderr, "token --force -e dev") {
				t.Fatalf("the resumed renewal said %q; want the grant ended, and how to try the tokens it kept", stderr)
			}
			if st := w.run("status", "--json"); !regexp.MustCompile(`"kind":\s*"grant_ended"`).MatchString(st.stdout) {
				t.Fatalf("status after the grant ended does not tell of it:\n%s%s", st.stdout, st.stderr)
			}
			if r := w.run("token"); r.code != 3 || r.stdout != "" {
				t.Fatalf("token after the grant ended: exit %d, printed %q; want exit 3 and nothing:\n%s", r.code, r.stdout, r.stderr)
			}
			// The kept refresh token, tried.
			r := w.run("token", "--force")
			switch {
			case !tt.refusedOnly && (r.code != 3 || r.stdout != ""):
				t.Fatalf("token --force with the kept tokens: exit %d, printed %q; want exit 3, the strict provider having revoked them:\n%s", r.code, r.stdout, r.stderr)
			case tt.refusedOnly && (r.code != 0 || r.stdout == ""):
				t.Fatalf("token --force with the kept tokens: exit %d; want them renewed, the grant kept:\n%s", r.code, r.stderr)
			case tt.refusedOnly:
				w.mustRun("get", "/v2/users/me")
				if st := w.run("status", "--json"); strings.Contains(st.stdout, "grant_ended") {
					t.Fatalf("status still tells of the ended grant after the kept tokens renewed:\n%s", st.stdout)
				}
			}
		})
	}
}

// TestStoppedLockHolderOfTheFileStoreHoldsItsLock: the file store's lock is
// the kernel's, held while its holder is stopped (SIGSTOP) however long:
// a second renewal waits for it rather than spend the refresh token the
// stopped one's answer rotated, and spends the new one once it is stored.
// The Redis store's lock, with a time limit, passes on instead (see
// TestResumedLockHolderKeepsTheGrantEndedNote).
func TestStoppedLockHolderOfTheFileStoreHoldsItsLock(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("telling a stopped process needs /proc")
	}
	g := newGate(t, "refresh_token")
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest}, "")
	w.login()
	g.armed.Store(true)
	a := w.watch("token", "--force")
	g.wait(t)
	stopWhileAnswered(t, a.cmd.Process, g, func() bool { return w.provider.Stats().Refreshes == 1 })
	b := w.watch("token", "--force")
	b.waitSaid(t, "waiting for the renewal lock of dev")
	a.cmd.Process.Signal(syscall.SIGCONT)
	a.waitExit(t, 0)
	b.waitExit(t, 0)
	if st := w.provider.Stats(); st.Refreshes != 2 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v; want two refreshes and no reuse", st)
	}
	if tok := strings.TrimSpace(b.output(t)); tok != strings.TrimSpace(w.mustRun("token").stdout) {
		t.Fatalf("the waiting renewal printed %q, which is not the token stored", tok)
	}
}

// TestStoppedDevicePollPastTheTimeoutKeepsTheAnswer: a device log-in
// stopped (SIGSTOP; a frozen container, a debugger) while the provider
// answers its approved poll with tokens, and continued once its timeout
// has passed, takes the answer that came meanwhile, as a renewal does (see
// TestStoppedPastTheTimeoutKeepsTheAnswer): the poll's timeout counts the
// time the process ran. Its timer, due long since, dropped the answer, and
// the next poll presented the device code the answer had spent: the
// log-in failed, and had to be made again on the other device. Tried a
// few times: the timer won about two times in three.
func TestStoppedDevicePollPastTheTimeoutKeepsTheAnswer(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("telling a stopped process needs /proc")
	}
	const timeout = 2 * time.Second // see stopPastTimeout
	g := newGate(t, "urn:ietf:params:oauth:grant-type:device_code")
	w := deviceWorldWith(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: time.Second, OnTokenRequest: g.onTokenRequest})
	w.writeConfig(w.readConfig() + fmt.Sprintf("timeout = %q\n", timeout.String()))
	for i := 1; i <= 4; i++ {
		rc, code := w.startDeviceLogin()
		g.armed.Store(true)
		g.wait(t) // a poll, held before the provider looks at the device code
		// Approved once freshtoken is stopped, so that the approval is no
		// part of the time it runs with the poll sent; the answer then
		// goes out, spending the device code.
		approve := func() {
			if err := w.provider.DecideDevice(code, true); err != nil {
				t.Fatal(err)
			}
		}
		stopPastTimeout(t, rc.cmd.Process, g, timeout, approve, func() bool { return w.provider.Stats().DeviceLogins == i })
		if stderr := rc.waitExit(t, 0); w.provider.Stats().DeviceLogins != i {
			t.Fatalf("try %d: provider saw %+v; want %d device log-ins (stderr: %s)", i, w.provider.Stats(), i, stderr)
		}
		w.mustRun("get", "/v2/users/me")
		w.mustRun("logout", "--local") // for the next log-in
	}
}
