package keeper

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// keep is keepUntil as how long the watch waits from now.
func (k *Keeper) keep(ctx context.Context, name string, look time.Duration) time.Duration {
	return k.keepUntil(ctx, name, look).Sub(k.now())
}

// shortWakeCheck has watches read the wall clock every few milliseconds
// for the rest of t.
func shortWakeCheck(t *testing.T) {
	was := wakeCheck
	t.Cleanup(func() { wakeCheck = was })
	wakeCheck = 5 * time.Millisecond
}

// TestAWakeIsSeenAtOnce: the machine sleeps the night (the fake clock
// moves on ten hours, which the timers, on a clock that stands still in
// a sleep, never see). The watch looks at once on waking, renews the
// access token that expired in the night and writes it to the token file:
// it waited out the rest of its timer (up to a look, an hour here), the
// file holding the expired token for every script reading it.
func TestAWakeIsSeenAtOnce(t *testing.T) {
	shortWakeCheck(t)
	_, clock, _, k, file := keepingForFaults(t)
	k.Look = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); k.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var before []byte
	testenv.WaitFor(t, "the token file's first write", func() bool {
		b, err := os.ReadFile(file)
		before = b
		return err == nil
	})
	clock.Advance(10 * time.Hour) // the lid closed for the night
	testenv.WaitFor(t, "the token file renewed after the wake", func() bool {
		b, err := os.ReadFile(file)
		return err == nil && string(b) != string(before)
	})
}

// TestAWakeAsALookEndsIsSeenAtOnce: the machine sleeps (or the clock is
// set forward, or a test's clock moved) between a look and the wait after
// it. The wait ends at once, as it does for a sleep during it: it counted
// the look's wait from the clock as it read it, after the sleep, and so
// waited a whole look more (an hour here), the token file holding the
// token that expired in the night.
func TestAWakeAsALookEndsIsSeenAtOnce(t *testing.T) {
	shortWakeCheck(t)
	_, clock, _, k, _ := keepingForFaults(t)
	next := k.keepUntil(t.Context(), "dev", time.Hour)
	clock.Advance(10 * time.Hour) // the lid closed as the look ended
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if !k.wait(ctx, "dev", next, time.Hour) {
		t.Fatal("the wait after the look went on past the wake; want it ended at once")
	}
}

// TestTheKeeperGoesByTheWallClock: the keeper's clock, the system's as
// the binary gives it (clock.Now, time.Now) or as it falls back to, is
// the wall clock alone. Go's time.Now carries a reading of the timers'
// clock, which stands still while the machine sleeps and does not move
// when the clock is set, and Before and Sub compare by it alone when both
// times carry one: a wait until the time its look planned, such a time,
// missed a wake (up to a look, a minute, the token file holding the token
// that expired in the night), and a failure's time asleep, left out of
// its lasting by the timers' clock already, was taken out again, so
// renewals failing across a night were told only after as long awake. The
// fake clock the other tests move carries no such reading, so this is
// the one check on the system's clock; a sleep cannot be made in a test.
func TestTheKeeperGoesByTheWallClock(t *testing.T) {
	for _, k := range []*Keeper{{Now: time.Now}, {}} {
		if now := k.now(); now != now.Round(0) {
			t.Errorf("the keeper's clock reads %s, with a reading of the timers' clock; want the wall clock alone", now)
		}
	}
}

// TestFailuresBeforeASleepAreNotToldAtTheWake: renewals fail for a few
// minutes before the lid closes (the network gone) and once more as it
// opens, before the network is back. That is not 15 minutes of failures:
// the night asleep does not count, and nobody is told at every wake. They
// are told once they have failed 15 minutes awake.
func TestFailuresBeforeASleepAreNotToldAtTheWake(t *testing.T) {
	shortWakeCheck(t)
	clock, k := failingFiveMinutes(t)         // before the lid closes
	if !waitWhile(t, k, clock, 9*time.Hour) { // asleep
		t.Fatal("the wait ended as if stopped")
	}
	toldAfterFifteenMinutesAwake(t, k, clock) // the network not back yet at the wake
}

// failingFiveMinutes is a keeper of "dev" on clock, with a notifier, whose
// renewals have failed for five minutes (the provider answering 503).
func failingFiveMinutes(t *testing.T) (*fakeclock.Clock, *Keeper) {
	t.Helper()
	p, clock, _, k, _ := keepingForFaults(t)
	k.Notify = &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	clock.Advance(2 * time.Hour) // the access token is due
	p.Fault(devprovider.Fault5xx, 1<<20)
	for range 5 {
		tells(t, k, k.Notify, "")
		clock.Advance(time.Minute)
	}
	return clock, k
}

// toldAfterFifteenMinutesAwake checks that the failures of k's that began
// at failingFiveMinutes, and go on at each minute's look from now, are
// told once they have failed 15 minutes awake, and not before.
func toldAfterFifteenMinutesAwake(t *testing.T, k *Keeper, clock *fakeclock.Clock) {
	t.Helper()
	for range 10 {
		tells(t, k, k.Notify, "")
		clock.Advance(time.Minute)
	}
	tells(t, k, k.Notify, "dev: renewals have failed to reach the provider since")
}

// waitWhile runs a wait of k's of an hour for "dev", moves clock on by
// (back if negative) once the wait has read it, and returns how the wait
// ended: true at once by the wall clock, if moved on past the hour; else
// it is stopped, false.
func waitWhile(t *testing.T, k *Keeper, clock *fakeclock.Clock, by time.Duration) bool {
	t.Helper()
	waiting, ended := make(chan struct{}, 1), make(chan bool)
	k.Now = func() time.Time { // says when the wait has read the clock
		now := clock.Now()
		select {
		case waiting <- struct{}{}:
		default:
		}
		return now
	}
	defer func() { k.Now = clock.Now }()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { ended <- k.wait(ctx, "dev", clock.Now().Add(time.Hour), time.Hour) }()
	testenv.Receive(t, "the wait to begin", waiting)
	clock.Advance(by)
	if by < time.Hour {
		stop()
	}
	return testenv.Receive(t, "the wait to end", ended)
}

// TestFailuresAcrossAClockSetForwardAndBackAreTold: renewals fail; the
// clock is set forward a day (by hand, or a clock that jumps at a wake)
// and back again (NTP). Failures of 15 minutes are told all the same: the
// day forward was taken out of how long they lasted and the day back was
// not put in again, so they were told a day late, and never on a
// machine whose clock jumped so more often.
func TestFailuresAcrossAClockSetForwardAndBackAreTold(t *testing.T) {
	shortWakeCheck(t)
	clock, k := failingFiveMinutes(t)
	waitWhile(t, k, clock, 24*time.Hour)
	waitWhile(t, k, clock, -24*time.Hour)
	toldAfterFifteenMinutesAwake(t, k, clock)
}

// TestFailuresBeforeASleepDuringALookAreNotToldAtTheWake: the lid closes
// while a look goes on (a renewal waiting on a provider that does not
// answer, here the opening of the environment) after renewals have
// failed for five minutes. The night is not counted as failing: it was
// counted only while a watch waited, and the look at the wake told 15
// minutes of failures.
func TestFailuresBeforeASleepDuringALookAreNotToldAtTheWake(t *testing.T) {
	clock, k := failingFiveMinutes(t)
	ctx, stop := context.WithCancel(context.Background())
	open := k.Open
	k.Open = func(ctx context.Context, env string) (*freshtoken.Source, error) {
		clock.Advance(9 * time.Hour) // asleep
		stop()                       // the watch ends after this look
		return open(ctx, env)
	}
	k.watch(ctx, "dev", time.Minute)
	k.Open = open
	toldAfterFifteenMinutesAwake(t, k, clock) // the network not back yet at the wake
}

// TestAnEnvironmentMissingFromOneReadIsKept: the configuration read while
// an editor saves it (truncated then written, or moved aside for a
// moment, as vim does) names no environment at one look. The keeper's
// watch of each, and its token file, go on: the watch ended at once, and
// removed the token file, which scripts then found missing until the next
// look, a minute on. An environment missing at two looks in a row is
// taken out (TestTokenFileLeftBehindIsRemoved).
func TestAnEnvironmentMissingFromOneReadIsKept(t *testing.T) {
	file, reads := keepingEnvs(t, func(read int) bool { return read != 3 }, func(*Keeper) {}) // mid-save
	first, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "looks after the one mid-save", func() bool { return reads() >= 8 })
	// An inode is soon given again: the time of the write tells a file
	// removed and written again.
	if fi, err := os.Stat(file); err != nil || !os.SameFile(first, fi) || !fi.ModTime().Equal(first.ModTime()) {
		t.Fatalf("token file after a look that read the configuration mid-save: %v; want it left as it was", err)
	}
}

// TestAHungWebhookHoldsUpNoOtherEnvironment: a webhook that never
// answers, posted one environment's notice (its grant ended), holds up no
// other environment: the other's token file, removed meanwhile, is put
// back at its next look while the post still hangs.
func TestAHungWebhookHoldsUpNoOtherEnvironment(t *testing.T) {
	posted, release := make(chan struct{}, 1), make(chan struct{})
	webhook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case posted <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer webhook.Close()
	defer close(release)
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	grant := store.Grant{TokenURL: "http://127.0.0.1:1/token", ClientID: "dev-client-id", Type: freshtoken.GrantAuthorizationCode}
	now := time.Now()
	sources := map[string]*freshtoken.Source{}
	for _, name := range []string{"a-ended", "b-fine"} {
		src, err := freshtoken.New(freshtoken.Settings{Env: name, ClientID: grant.ClientID, ClientSecret: "s3cr3t-value",
			TokenURL: grant.TokenURL, AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true}, freshtoken.Options{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		sources[name] = src
		rec := &store.Record{AccessToken: "access-token-" + name + "-1234567890", RefreshToken: "refresh-token-1234567890",
			IssuedAt: now, Expiry: now.Add(time.Hour), Grant: grant}
		if name == "a-ended" {
			rec.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: now}
		}
		if err := st.Save(context.Background(), name, rec); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "b-token")
	k := &Keeper{Envs: func() ([]string, error) { return []string{"a-ended", "b-fine"}, nil },
		Open:      func(_ context.Context, name string) (*freshtoken.Source, error) { return sources[name], nil },
		Logger:    slog.New(slog.DiscardHandler),
		TokenFile: func(env string) string { return map[string]string{"b-fine": file}[env] },
		Look:      20 * time.Millisecond,
		Notify: &notify.Notifier{Logger: slog.New(slog.DiscardHandler), Timeout: time.Hour,
			Config: config.Notify{Webhook: webhook.URL}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); k.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testenv.Receive(t, "a-ended's notice posted", posted)
	testenv.WaitFor(t, "b-fine's token file", func() bool { _, err := os.Stat(file); return err == nil })
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "b-fine's token file put back while a-ended's webhook hangs", func() bool { _, err := os.Stat(file); return err == nil })
}

// TestAnEnvironmentConfiguredAgainStartsAfresh: renewals of an
// environment fail (the provider down), and it is taken out of the
// configuration; configured again two hours later (the edit undone), one
// renewal that fails is not told as two hours of failures: the keeper
// forgets an environment when its watch ends. It told at once that
// renewals had failed since before the environment was taken out.
func TestAnEnvironmentConfiguredAgainStartsAfresh(t *testing.T) {
	p, clock, _, k, _ := keepingForFaults(t)
	k.Notify = &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	clock.Advance(2 * time.Hour) // the access token is due
	p.Fault(devprovider.Fault5xx, 1<<20)
	before := p.Stats().TokenRequests
	ctx, stop := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); k.watch(ctx, "dev", time.Hour) }()
	testenv.WaitFor(t, "a renewal that fails", func() bool { return p.Stats().TokenRequests > before })
	clock.Advance(time.Minute)
	stop(errUnconfigured) // taken out
	<-done
	clock.Advance(2 * time.Hour)
	tells(t, k, k.Notify, "") // configured again, the provider still down
}

// TestALookAtAnEnvironmentTakenOutWarnsNothing: `freshtoken remove -e
// old` (or an edit) takes an environment out under a running keeper,
// whose watch of it goes on until the keeper's next look reads the
// configuration without it again. A look of that watch meanwhile warned
// that it could not read the environment's configuration, saying to add
// it with `freshtoken init -e old`, and counted that towards
// renewals_failing.
func TestALookAtAnEnvironmentTakenOutWarnsNothing(t *testing.T) {
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	machine := fmt.Sprintf("provider = \"generic\"\napi_url = %q\ntoken_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\ngrant = \"client_credentials\"\n",
		root+"/", root+"/v2/token_endpoint")
	k, _, edit := editedConfig(t, clock, "dev", machine+"\n[env.old]\n"+machine)
	var log bytes.Buffer
	k.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	k.keep(context.Background(), "old", time.Minute)
	edit(machine) // old taken out
	k.keep(context.Background(), "old", time.Minute)
	k.mu.Lock()
	failing := k.state("old").failing != nil
	k.mu.Unlock()
	if log.Len() != 0 || failing {
		t.Fatalf("a look at an environment taken out logged %q, failing noted: %v; want neither", log.String(), failing)
	}
}

// TestAWatchEndedFinishesBeforeTheNextBegins: an environment's watch is
// ended (taken out of the configuration) while its look is held up (here
// before its token file's lock; a renewal's answer that its store will not
// yet take), and the environment is configured again meanwhile. The next
// watch of it begins once the last one's look is over: both ran at once,
// and the last one's end removed the token file the next had written and
// forgot the failures and tokens the next had noted.
func TestAWatchEndedFinishesBeforeTheNextBegins(t *testing.T) {
	var configured, holding, held atomic.Bool
	configured.Store(true)
	entered, release := make(chan struct{}), make(chan struct{})
	together, deferred := make(chan struct{}, 1), make(chan struct{}, 1)
	file, reads := keepingEnvs(t, func(int) bool { return configured.Load() }, func(k *Keeper) {
		k.beforeLock = func() {
			if holding.CompareAndSwap(true, false) {
				held.Store(true)
				close(entered)
				<-release
				held.Store(false)
			}
		}
		open := k.Open
		k.Open = func(ctx context.Context, env string) (*freshtoken.Source, error) {
			if held.Load() {
				select {
				case together <- struct{}{}:
				default:
				}
			}
			return open(ctx, env)
		}
		k.Logger = slog.New(slog.NewTextHandler(lineSignal{"begins once the last one's look is over", deferred}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	letGo := sync.OnceFunc(func() { close(release) })
	t.Cleanup(letGo) // before the keeper is stopped
	holding.Store(true)
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	testenv.Receive(t, "the look writing the token file again to be held up", entered)
	configured.Store(false)
	from := reads()
	testenv.WaitFor(t, "two looks without the environment", func() bool { return reads() >= from+3 })
	configured.Store(true)
	select {
	case <-together:
		t.Fatal("a watch of the environment configured again began while the last one's look went on")
	case <-deferred:
	case <-time.After(30 * time.Second):
		t.Fatal("gave up waiting for the environment configured again")
	}
	letGo()
	testenv.WaitFor(t, "the token file written by the next watch", func() bool { _, err := os.Stat(file); return err == nil })
}

// keepingEnvs runs, until t ends, a keeper of "dev" (tokens stored, a
// token file) looking every 20 ms, whose configuration names "dev" at its
// reads that named says so of (counted from 1), made ready by setup, and
// returns once the token file is written, with the file's path and a
// count of the configuration's reads so far.
func keepingEnvs(t *testing.T, named func(read int) bool, setup func(*Keeper)) (file string, reads func() int) {
	t.Helper()
	src := stored(t, true, func(*store.Record) {})
	file = filepath.Join(t.TempDir(), "token")
	k := keeping(src, file)
	k.Look = 20 * time.Millisecond
	var mu sync.Mutex
	n := 0
	k.Envs = func() ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if !named(n) {
			return nil, nil
		}
		return []string{"dev"}, nil
	}
	reads = func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
	setup(k)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); k.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testenv.WaitFor(t, "the token file's first write", func() bool { _, err := os.Stat(file); return err == nil })
	return file, reads
}

// lineSignal is a log's writer that signals on ch when a line holds match.
type lineSignal struct {
	match string
	ch    chan struct{}
}

func (w lineSignal) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.match)) {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}
