//go:build unix

package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
)

// TestHandOverSeesASignalNotYetActedOn: a signal caught just before exec
// hands the process over, still waiting in the guard's channel, stops the
// command from starting; it is not lost in between (once the process is
// the command's, nothing would act on it).
func TestHandOverSeesASignalNotYetActedOn(t *testing.T) {
	_, g, stop := guardSignals(io.Discard)
	defer stop()
	g.watch()
	g.ch <- syscall.SIGTERM // caught; the guard may not have read it yet
	if g.handOver() {
		t.Fatal("handOver let the command start after a signal")
	}
	if g.sig != syscall.SIGTERM {
		t.Fatalf("the guard recorded signal %v; want SIGTERM", g.sig)
	}
}

// TestHandOverWaitsForARenewalInFlight: exec puts its command in the
// process's place (execve, which ends every goroutine) only once each
// renewal told to Sending is over, here one whose answer the store refused
// (the wait is then said, and the test ends it as it is said): handOver
// took "no renewal in flight" on trust, and a renewal that the token's
// caller had left going (its store stalled, a still-valid token served)
// could send its refresh just before the execve, the rotated refresh token
// lost with its answer.
func TestHandOverWaitsForARenewalInFlight(t *testing.T) {
	var (
		stored   func()
		released atomic.Bool
	)
	_, g, stop := guardSignals(writerFunc(func(p []byte) (int, error) {
		if released.CompareAndSwap(false, true) {
			stored()
		}
		return len(p), nil
	}))
	defer stop()
	stored = g.Sending(freshtoken.Renewal{Env: "sand", TokenURL: "https://example.test/token", Unsaved: true})
	if !g.handOver() {
		t.Fatal("handOver refused with no signal")
	}
	if !released.Load() {
		t.Fatal("handOver returned with a renewal in flight")
	}
}

// TestUpgradeRestartSeesASignalNotYetActedOn: a stop (SIGTERM) caught
// once the upgraded proxy has settled, just before the new version would
// take the process over, is not lost: the process ends with it, where the
// new version started and the stop was never seen (systemd then killed it,
// renewal or not, at its stop timeout).
func TestUpgradeRestartSeesASignalNotYetActedOn(t *testing.T) {
	_, g, stop := guardSignals(io.Discard)
	defer stop()
	g.watch()
	if sig := g.settle(); sig != 0 {
		t.Fatalf("settled with signal %v before any came", sig)
	}
	g.ch <- syscall.SIGTERM // caught; the guard may not have read it yet
	var said strings.Builder
	sig, err := restartUpgraded(g, &upgraded{path: filepath.Join(t.TempDir(), "freshtoken")}, &said)
	if sig != syscall.SIGTERM || err != context.Canceled {
		t.Fatalf("restartUpgraded after SIGTERM: %v (%v); want it not tried, ending with SIGTERM\n%s", err, sig, said.String())
	}
}

// TestRefusedAnswerWaitIsToldOnce: the wait for the store to take an answer
// it refused is told once, and once more after a first signal (one Ctrl-C
// then abandons it), not again each time settle or explainWait looks;
// a proxy stopped by SIGTERM told it twice in a row.
func TestRefusedAnswerWaitIsToldOnce(t *testing.T) {
	var out strings.Builder
	_, g, stop := guardSignals(&out)
	defer stop()
	stored := g.Sending(freshtoken.Renewal{Env: "dev", TokenURL: "http://provider.example/token", Unsaved: true})
	defer stored()
	g.explainWait()
	g.explainWait()
	g.sig = syscall.SIGTERM
	g.explainWait()
	g.explainWait()
	if n, again := strings.Count(out.String(), "waiting for the store"), strings.Count(out.String(), "; Ctrl-C abandons them"); n != 2 || again != 1 {
		t.Fatalf("told %d times (%d after the signal); want once before and once after:\n%s", n, again, out.String())
	}
}

// TestAbandonIsToldAsTheNextSignal: a process stopped by SIGTERM (systemd,
// kill) is abandoned by one Ctrl-C, the second signal; "Ctrl-C again" is
// for the one stopped by Ctrl-C.
func TestAbandonIsToldAsTheNextSignal(t *testing.T) {
	for _, c := range []struct {
		first syscall.Signal
		want  string
	}{
		{syscall.SIGTERM, "to be stored; Ctrl-C abandons it"},
		{syscall.SIGHUP, "to be stored; Ctrl-C abandons it"},
		{syscall.SIGINT, "to be stored; Ctrl-C again abandons it"},
	} {
		var out strings.Builder
		_, g, stop := guardSignals(&out)
		stored := g.Sending(freshtoken.Renewal{Env: "dev", TokenURL: "http://provider.example/token"})
		g.sig = c.first
		g.explainWait()
		stored()
		stop()
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("after %v: %q; want it to say %q", c.first, out.String(), c.want)
		}
	}
}

// TestAbandoningARenewalWithNothingToLose: a client-credentials renewal
// has no refresh token to lose; abandoning it (Ctrl-C twice) costs nothing
// but the token the next call requests again. It was told as "the refresh
// token is lost; run `freshtoken login`", and its wait as one that "may
// end the authorisation".
func TestAbandoningARenewalWithNothingToLose(t *testing.T) {
	g, out, exited := handGuard(t)
	stored := g.Sending(freshtoken.Renewal{Env: "svc", TokenURL: "http://provider.example/token", NothingToLose: true})
	defer stored()
	g.received(syscall.SIGINT)
	g.explainWait()
	g.received(syscall.SIGINT)
	if *exited != 130 || strings.Contains(out.String(), "refresh token") || strings.Contains(out.String(), "login") || strings.Contains(out.String(), "authorisation") {
		t.Fatalf("exit %d, stderr %q; want 130 with no word of a refresh token lost or a log-in", *exited, out.String())
	}
}

// TestAnswerInHandIsToldAsBeingStored: Ctrl-C in the moment between the
// provider's answer and the store's first refusal said "waiting up to 30s
// for the renewal already sent", as if the tokens were still awaited; it
// says they are being stored, and what a second Ctrl-C costs, which then
// says they were not stored. Once stored, with only the renewal lock left
// to release, a second Ctrl-C warns of nothing: it said the refresh token
// was lost.
func TestAnswerInHandIsToldAsBeingStored(t *testing.T) {
	const provider = "http://provider.example/token"
	for _, tc := range []struct {
		name     string
		inHand   freshtoken.Renewal
		stored   bool
		wait, at string // said after the first Ctrl-C, and at the second
	}{
		{"renewal", freshtoken.Renewal{Env: "dev", TokenURL: provider, Storing: true}, false,
			"freshtoken: storing the new tokens from provider.example, then exiting; Ctrl-C again abandons them, and the refresh token with them\n",
			"freshtoken: renewal abandoned: the new tokens provider.example issued were not stored, so the refresh token is lost; run `freshtoken login -e dev`\n"},
		{"log-in", freshtoken.Renewal{Env: "dev", TokenURL: provider, Storing: true, LogIn: true}, false,
			"freshtoken: storing the tokens the log-in brought from provider.example, then exiting; Ctrl-C again abandons them, and the log-in with them\n",
			"freshtoken: log-in abandoned: the tokens provider.example issued for it were not stored; run `freshtoken login -e dev` again\n"},
		{"stored", freshtoken.Renewal{Env: "dev", TokenURL: provider, Storing: true}, true, "", ""},
		{"stored after a refusal", freshtoken.Renewal{Env: "dev", TokenURL: provider, Unsaved: true}, true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, out, exited := handGuard(t)
			request := g.Sending(freshtoken.Renewal{Env: "dev", TokenURL: provider, LogIn: tc.inHand.LogIn})
			defer request() // until the renewal lock is released
			inHand := g.Sending(tc.inHand)
			if tc.stored {
				inHand()
			}
			g.received(syscall.SIGINT)
			g.explainWait()
			if got := out.String(); got != tc.wait {
				t.Fatalf("after Ctrl-C: %q; want %q", got, tc.wait)
			}
			out.Reset()
			g.received(syscall.SIGINT)
			if got := out.String(); *exited != 130 || got != tc.at {
				t.Fatalf("at the second Ctrl-C: exit %d, %q; want 130, %q", *exited, got, tc.at)
			}
		})
	}
}

// handGuard is a guard whose waits the test explains by hand (explainWait),
// what it says going to out, and the code it would exit with to exited.
func handGuard(t *testing.T) (g *guard, out *strings.Builder, exited *int) {
	t.Helper()
	out, exited = &strings.Builder{}, new(int)
	_, g, stop := guardSignals(out)
	t.Cleanup(stop)
	g.delay = time.Hour
	g.exit = func(code int) { *exited = code }
	return g, out, exited
}

// TestTheRenewalStillAwaitedIsTheOneNamed: with two environments renewing
// at once (`exec`, the proxy), Ctrl-C named the latest renewal sent, even
// once it was stored, and a second Ctrl-C told the person to log in to
// that environment, while the other's renewal was the one abandoned. And a
// proxy log-in of an environment whose renewal was in flight, given up
// before its tokens were stored, left that renewal taken as answered: a
// second Ctrl-C abandoned it with no word. The renewal still awaited is
// the one named.
func TestTheRenewalStillAwaitedIsTheOneNamed(t *testing.T) {
	const (
		sandbox    = "http://api.sandbox.example/token"
		production = "http://api.example/token"
	)
	for _, tc := range []struct {
		name  string
		other func(g *guard) // what happens meanwhile, and ends
	}{
		{"another environment renewed meanwhile", func(g *guard) {
			request := g.Sending(freshtoken.Renewal{Env: "prod", TokenURL: production, Timeout: 30 * time.Second})
			g.Sending(freshtoken.Renewal{Env: "prod", TokenURL: production, Storing: true})()
			request() // the renewal lock released
		}},
		{"a log-in of it given up meanwhile", func(g *guard) {
			g.Sending(freshtoken.Renewal{Env: "sand", TokenURL: sandbox, Storing: true, LogIn: true})()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, out, exited := handGuard(t)
			defer g.Sending(freshtoken.Renewal{Env: "sand", TokenURL: sandbox, Timeout: 30 * time.Second})()
			tc.other(g)
			firstCtrlC(t, g, out, "freshtoken: waiting up to 30s for the renewal already sent to api.sandbox.example to be stored; Ctrl-C again abandons it and may end the authorisation\n")
			g.received(syscall.SIGINT)
			want := "freshtoken: renewal abandoned: if api.sandbox.example had already issued new tokens, the refresh token is lost; run `freshtoken login -e sand` if the next call says so\n"
			if got := out.String(); *exited != 130 || got != want {
				t.Fatalf("at the second Ctrl-C: exit %d, %q; want 130, %q", *exited, got, want)
			}
		})
	}
}

// TestEveryRenewalAbandonedIsNamed: a second Ctrl-C with three
// environments in flight at once (the proxy): one awaiting its answer, one
// storing it, one whose answer the store refused. It named the last alone,
// and the person, told to log in to that one, lost the others' grants
// unawares. Each environment abandoned gets its own line, in its own words.
// The first Ctrl-C's wait line named one of them too (the refused one);
// it names each, in one line.
func TestEveryRenewalAbandonedIsNamed(t *testing.T) {
	g, out, exited := handGuard(t)
	for _, r := range []freshtoken.Renewal{
		{Env: "sand", TokenURL: "http://sand.example/token", Timeout: 30 * time.Second},
		{Env: "prod", TokenURL: "http://prod.example/token"},
		{Env: "prod", TokenURL: "http://prod.example/token", Storing: true},
		{Env: "xero", TokenURL: "http://xero.example/token"},
		{Env: "xero", TokenURL: "http://xero.example/token", Unsaved: true},
	} {
		defer g.Sending(r)()
	}
	firstCtrlC(t, g, out, "freshtoken: waiting for the renewals in flight to be stored, then exiting: xero's new tokens from xero.example, which the store refused (trying again until it takes them), sand's renewal already sent to sand.example (up to 30s), and prod's new tokens from prod.example; Ctrl-C again abandons them all, and may end their authorisations\n")
	g.received(syscall.SIGINT)
	want := "freshtoken: renewal abandoned: if sand.example had already issued new tokens, the refresh token is lost; run `freshtoken login -e sand` if the next call says so\n" +
		"freshtoken: renewal abandoned: the new tokens prod.example issued were not stored, so the refresh token is lost; run `freshtoken login -e prod`\n" +
		"freshtoken: renewal abandoned: the new tokens xero.example issued were never stored, so the refresh token is lost; run `freshtoken login -e xero`\n"
	if got := out.String(); *exited != 130 || got != want {
		t.Fatalf("at the second Ctrl-C: exit %d,\n%s\nwant 130,\n%s", *exited, got, want)
	}
}

// TestALogInAbandonedBesideARenewalThatLosesNothingIsNamed: the proxy
// storing a log-in's tokens for an environment while a renewal of it, its
// answer keeping the refresh token (nothing to lose), is stored too. At a
// second Ctrl-C the renewal, told later and as costly by its state, was
// the environment's one named, with no words as it loses nothing, and the
// log-in's tokens were abandoned unsaid. What loses nothing costs nothing.
func TestALogInAbandonedBesideARenewalThatLosesNothingIsNamed(t *testing.T) {
	g, out, exited := handGuard(t)
	for _, r := range []freshtoken.Renewal{
		{Env: "sand", TokenURL: "http://sand.example/token", LogIn: true, Storing: true},
		{Env: "sand", TokenURL: "http://sand.example/token"},
		{Env: "sand", TokenURL: "http://sand.example/token", Storing: true, NothingToLose: true},
	} {
		defer g.Sending(r)()
	}
	g.received(syscall.SIGINT)
	out.Reset()
	g.received(syscall.SIGINT)
	want := "freshtoken: log-in abandoned: the tokens sand.example issued for it were not stored; run `freshtoken login -e sand` again\n"
	if got := out.String(); *exited != 130 || got != want {
		t.Fatalf("at the second Ctrl-C: exit %d, %q; want 130, %q", *exited, got, want)
	}
}

// TestTheFirstCtrlCNamesTheRenewalThatWouldLoseMost: the first Ctrl-C's
// words name one renewal in flight, and what a second Ctrl-C costs. They
// named the latest being stored, else the latest awaited, whatever it had
// to lose: one that lost nothing (its answer kept the refresh token, or a
// client-credentials grant) was named, with no cost, while a log-in's
// tokens, a rotated refresh token or a renewal that may end the
// authorisation went unsaid, and the person, told a second Ctrl-C costs
// nothing, lost them. The costliest is named, as the second Ctrl-C ranks.
func TestTheFirstCtrlCNamesTheRenewalThatWouldLoseMost(t *testing.T) {
	const (
		sand = "http://sand.example/token"
		prod = "http://prod.example/token"
		svc  = "http://svc.example/token"
	)
	for _, tc := range []struct {
		name     string
		inFlight []freshtoken.Renewal
		want     string
	}{
		{"a log-in beside a renewal of it losing nothing", []freshtoken.Renewal{
			{Env: "sand", TokenURL: sand, LogIn: true, Storing: true},
			{Env: "sand", TokenURL: sand},
			{Env: "sand", TokenURL: sand, Storing: true, NothingToLose: true},
		}, "freshtoken: storing the tokens the log-in brought from sand.example, then exiting; Ctrl-C again abandons them, and the log-in with them\n"},
		{"a rotated answer beside a client-credentials one", []freshtoken.Renewal{
			{Env: "prod", TokenURL: prod},
			{Env: "prod", TokenURL: prod, Storing: true},
			{Env: "svc", TokenURL: svc, NothingToLose: true},
			{Env: "svc", TokenURL: svc, Storing: true, NothingToLose: true},
		}, "freshtoken: storing the new tokens from prod.example, then exiting; Ctrl-C again abandons them, and the refresh token with them\n"},
		{"a renewal awaited beside an answer losing nothing", []freshtoken.Renewal{
			{Env: "prod", TokenURL: prod, Timeout: 30 * time.Second},
			{Env: "svc", TokenURL: svc, NothingToLose: true},
			{Env: "svc", TokenURL: svc, Storing: true, NothingToLose: true},
		}, "freshtoken: waiting up to 30s for the renewal already sent to prod.example to be stored; Ctrl-C again abandons it and may end the authorisation\n"},
		{"nothing to lose anywhere", []freshtoken.Renewal{
			{Env: "svc", TokenURL: svc, NothingToLose: true},
			{Env: "sand", TokenURL: sand},
			{Env: "sand", TokenURL: sand, Storing: true, NothingToLose: true},
		}, "freshtoken: storing the new tokens from sand.example, then exiting; Ctrl-C again abandons them\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, out, _ := handGuard(t)
			for _, r := range tc.inFlight {
				defer g.Sending(r)()
			}
			firstCtrlC(t, g, out, tc.want)
		})
	}
}

// TestManyRenewalsInFlightAreCounted: a proxy keeping many environments
// renews many at once (as the machine wakes, every token expired), and the
// first Ctrl-C's wait line named each of them, on one line: 50 renewals
// made a line of 3,500 characters, which a terminal wraps into a wall of
// text. It names the oldest three and counts the rest; the second Ctrl-C
// still names each abandoned, on a line of its own, with what to run.
func TestManyRenewalsInFlightAreCounted(t *testing.T) {
	g, out, exited := handGuard(t)
	for i := range 50 {
		defer g.Sending(freshtoken.Renewal{Env: fmt.Sprintf("client%02d", i), TokenURL: "https://api.freeagent.com/v2/token_endpoint", Timeout: 30 * time.Second})()
	}
	firstCtrlC(t, g, out, "freshtoken: waiting for the renewals in flight to be stored, then exiting: client00's renewal already sent to api.freeagent.com (up to 30s), client01's renewal already sent to api.freeagent.com (up to 30s), client02's renewal already sent to api.freeagent.com (up to 30s), and 47 more; Ctrl-C again abandons them all, and may end their authorisations\n")
	g.received(syscall.SIGINT)
	if got := strings.Count(out.String(), "freshtoken: renewal abandoned:"); *exited != 130 || got != 50 || !strings.Contains(out.String(), "`freshtoken login -e client49`") {
		t.Fatalf("at the second Ctrl-C: exit %d, %d environments named,\n%s\nwant 130, each of the 50", *exited, got, out)
	}
}

// TestARefusedRenewalIsNamedAmongMany: a proxy renewing many environments
// at a first Ctrl-C, the store having refused one's answer (a full disk),
// a wait that lasts until the store takes it, where the others' end within
// their timeout. The wait line named the oldest three and counted the
// rest, the refused one among them ("and 3 more"), and, taking that wait
// as told, said nothing of it once the others were stored: the process
// went on waiting with no word of why. The refused one is named first.
func TestARefusedRenewalIsNamedAmongMany(t *testing.T) {
	g, out, _ := handGuard(t)
	for i := range 5 {
		defer g.Sending(freshtoken.Renewal{Env: fmt.Sprintf("client%02d", i), TokenURL: "https://api.freeagent.com/v2/token_endpoint", Timeout: 30 * time.Second})()
	}
	defer g.Sending(freshtoken.Renewal{Env: "xero", TokenURL: "http://xero.example/token"})()
	defer g.Sending(freshtoken.Renewal{Env: "xero", TokenURL: "http://xero.example/token", Unsaved: true})()
	firstCtrlC(t, g, out, "freshtoken: waiting for the renewals in flight to be stored, then exiting: xero's new tokens from xero.example, which the store refused (trying again until it takes them), client00's renewal already sent to api.freeagent.com (up to 30s), client01's renewal already sent to api.freeagent.com (up to 30s), and 3 more; Ctrl-C again abandons them all, and may end their authorisations\n")
}

// TestARefusedAnswerLosingNothingIsToldBesideOthers: a proxy's
// client-credentials environment whose answer the store refused (it loses
// nothing: the next call asks for another token, but the process waits
// for the store to take it), beside two renewals in flight at a first
// Ctrl-C. The wait line named the two, as it should, and took the refused
// one's wait as told by it: once the two were stored, the process waited
// on with no word of why. It is told once the line has not named it.
func TestARefusedAnswerLosingNothingIsToldBesideOthers(t *testing.T) {
	g, out, _ := handGuard(t)
	defer g.Sending(freshtoken.Renewal{Env: "svc", TokenURL: "http://svc.example/token", Unsaved: true, NothingToLose: true})()
	defer g.Sending(freshtoken.Renewal{Env: "sand", TokenURL: "http://sand.example/token", Timeout: 30 * time.Second})()
	defer g.Sending(freshtoken.Renewal{Env: "prod", TokenURL: "http://prod.example/token", Timeout: 30 * time.Second})()
	firstCtrlC(t, g, out, "freshtoken: waiting for the renewals in flight to be stored, then exiting: sand's renewal already sent to sand.example (up to 30s) and prod's renewal already sent to prod.example (up to 30s); Ctrl-C again abandons them all, and may end their authorisations\n")
	g.mu.Lock()
	got := g.unsavedWait()
	g.mu.Unlock()
	if want := "freshtoken: waiting for the store to take the new tokens from svc.example, which it refused; trying again until it does, then exiting; Ctrl-C again abandons them\n"; got != want {
		t.Fatalf("the wait for the refused answer, once the others are stored: %q; want %q", got, want)
	}
}

// TestLogInsInFlightCostTheLogIns: two log-ins from the proxy's page
// exchanging their codes at a Ctrl-C. The wait said a second Ctrl-C "may
// end their authorisations", of log-ins that have none yet to end: as for
// one log-in, abandoning them costs the log-ins.
func TestLogInsInFlightCostTheLogIns(t *testing.T) {
	g, out, _ := handGuard(t)
	for _, r := range []freshtoken.Renewal{
		{Env: "sand", TokenURL: "http://sand.example/token", Timeout: 30 * time.Second, LogIn: true},
		{Env: "prod", TokenURL: "http://prod.example/token", LogIn: true},
		{Env: "prod", TokenURL: "http://prod.example/token", LogIn: true, Storing: true},
	} {
		defer g.Sending(r)()
	}
	firstCtrlC(t, g, out, "freshtoken: waiting for the log-ins in flight to be stored, then exiting: sand's log-in already sent to sand.example (up to 30s) and the tokens prod's log-in brought from prod.example; Ctrl-C again abandons them all, and the log-ins with them\n")
}

// firstCtrlC sends g a first SIGINT and has it explain the wait at once,
// failing t unless it says want on out, which it then empties.
func firstCtrlC(t *testing.T, g *guard, out *strings.Builder, want string) {
	t.Helper()
	g.received(syscall.SIGINT)
	g.explainWait()
	if got := out.String(); got != want {
		t.Fatalf("after Ctrl-C:\n%s\nwant\n%s", got, want)
	}
	out.Reset()
}

// writerFunc is an io.Writer that calls itself.
type writerFunc func(p []byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

// TestALogInAbandonedIsNamedAsRun: a second Ctrl-C abandoning the log-in
// this command runs names it as it was run, with the flags that shape it
// (loggingIn: `login --no-browser --timeout 2m`); it named `freshtoken
// login -e ENV`, the flags dropped. A renewal of another environment
// abandoned beside it still names the plain log-in.
func TestALogInAbandonedIsNamedAsRun(t *testing.T) {
	g, out, exited := handGuard(t)
	g.loggingIn("dev", "login --no-browser --timeout 2m -e dev")
	for _, r := range []freshtoken.Renewal{
		{Env: "dev", TokenURL: "http://dev.example/token", LogIn: true, Storing: true},
		{Env: "sand", TokenURL: "http://sand.example/token", Storing: true},
	} {
		defer g.Sending(r)()
	}
	g.received(syscall.SIGINT)
	out.Reset()
	g.received(syscall.SIGINT)
	want := "freshtoken: log-in abandoned: the tokens dev.example issued for it were not stored; run `freshtoken login --no-browser --timeout 2m -e dev` again\n" +
		"freshtoken: renewal abandoned: the new tokens sand.example issued were not stored, so the refresh token is lost; run `freshtoken login -e sand`\n"
	if got := out.String(); *exited != 130 || got != want {
		t.Fatalf("at the second Ctrl-C: exit %d, %q; want 130, %q", *exited, got, want)
	}
}
