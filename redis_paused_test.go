package freshtoken_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestRedisPausedWhileTheProviderAnswers: Redis paused (SIGSTOP here; a VM
// migration, a long fork) for longer than the renewal lock lives, while
// machine A's token request is in flight, expires A's lock by Redis's
// clock. The provider answered A and rotated the refresh token; A could
// not save meanwhile. When Redis ran again, machine B's lock attempt,
// reaching Redis before A's save, took the lock, read the old tokens and
// sent the refresh token A's answer replaced: the provider ended the
// grant, and A's save was refused. Now the in-flight mark A set with its
// last check of the lock, just before its token request, keeps B waiting,
// A's save is taken under it, and B uses A's tokens.
//
// The test makes B's lock attempt reach Redis before A's save: A's answer
// is held in A's transport until Redis, run again, has run B's attempt
// (seen through MONITOR). B comes after the pause, or waits for the lock
// through it: a waiter takes the lock from a holder whose mark it watched
// not extended for half the lock's life (a dead holder's), and the pause,
// which held A's extensions up, must not count; A's answer is then held
// until B has polled Redis for longer than that after the pause.
func TestRedisPausedWhileTheProviderAnswers(t *testing.T) {
	t.Run("the other machine comes after", func(t *testing.T) { redisPausedWhileTheProviderAnswers(t, false) })
	t.Run("the other machine waits through it", func(t *testing.T) { redisPausedWhileTheProviderAnswers(t, true) })
}

func redisPausedWhileTheProviderAnswers(t *testing.T, waitThrough bool) {
	// Long enough that the holder's extensions (a third of it apart) come well
	// within a waiter's grace (half of it) on a loaded machine.
	const lockTTL = 600 * time.Millisecond
	srv := redistest.Start(t)
	newStore := func() *redisstore.Store {
		st := redistest.OpenStore(t, srv.URL)
		st.LockTTL = lockTTL
		st.InFlightTTL = 30 * time.Second // past the pause; never waited for
		return st
	}
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour}) // a reused refresh token ends the grant
	r.login(r.sourceOn(newStore()))
	b := r.sourceOn(newStore())

	type result struct {
		tok *oauth2.Token
		err error
	}
	bDone := make(chan result, 1)
	var once sync.Once
	hold := func() {
		once.Do(func() {
			// A has the provider's answer, which rotated the refresh
			// token, and has not saved it yet.
			holderA := srv.Get(t, "freshtoken:sandbox:lock")
			if holderA == "" {
				t.Error("A's lock is gone before Redis was paused")
				return
			}
			seen := srv.Monitor(t)
			// B's lock attempts: a script on A's lock key, without A's
			// value (every script of A's passes its value, and a takeover
			// of B's too).
			attempt := func(line string) bool {
				return strings.Contains(line, `] "eval`) && strings.Contains(line, `"freshtoken:sandbox:lock"`) && !strings.Contains(line, holderA)
			}
			startB := func() {
				go func() {
					tok, err := b.Token()
					bDone <- result{tok, err}
				}()
			}
			if waitThrough {
				startB()
				for n := 0; n < 2; {
					if attempt(<-seen) {
						n++
					}
				}
			}
			srv.Pause(t)
			// What is tested is Redis's clock passing the lock's end while
			// Redis is stopped: nothing extends it meanwhile.
			time.Sleep(3 * lockTTL)
			resumed := float64(time.Now().UnixMicro()) / 1e6
			srv.Resume(t)
			if !waitThrough {
				startB()
			}
			for {
				select {
				case line := <-seen:
					if !attempt(line) {
						continue
					}
					if !waitThrough {
						return
					}
					// Redis's time of B's attempt: B has watched A's mark,
					// which A extends, for longer than the grace since the
					// pause.
					at, _, _ := strings.Cut(line, " ")
					if ts, err := strconv.ParseFloat(at, 64); err == nil && ts > resumed+lockTTL.Seconds() {
						return
					}
				case got := <-bDone: // B went ahead without A's answer
					bDone <- got
					return
				}
			}
		})
	}
	a, err := freshtoken.New(r.settings, freshtoken.Options{Store: newStore(), Clock: r.clock.Now, HTTPClient: &http.Client{Transport: afterAnswer(hold)}})
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour) // both need a renewal

	tokA, errA := a.Token()
	got := <-bDone
	if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v (A: %v; B: %v): B sent the refresh token A's answer replaced, and the grant ended", st, errA, got.err)
	}
	if errA != nil || got.err != nil {
		t.Fatalf("A: %v; B: %v; want both served", errA, got.err)
	}
	if tokA.AccessToken != got.tok.AccessToken {
		t.Fatalf("A got %q, B %q; want B to use the tokens A's renewal stored", tokA.AccessToken, got.tok.AccessToken)
	}
	stored, err := newStore().Load(context.Background(), "sandbox")
	if err != nil || stored.AccessToken != tokA.AccessToken {
		t.Fatalf("Redis holds %+v, %v; want A's answer", stored, err)
	}
	if n, v := r.provider.Stats().Refreshes, srv.Get(t, "freshtoken:sandbox:renewing"); n != 1 || v != "" {
		t.Fatalf("refreshes = %d, in-flight mark %q; want A's one renewal, and its mark cleared with its save", n, v)
	}
	r.clock.Advance(2 * time.Hour) // the stored refresh token is the live one
	if _, err := r.sourceOn(newStore()).Token(); err != nil {
		t.Fatalf("the next renewal: %v", err)
	}
}

// dueAtAStall starts a Redis of the test's own, each of whose tries waits
// 20 s for an answer, logs in a Source made with opts on it, renewing 30
// minutes before expiry, takes its token, and moves the clock 31 minutes
// on: a renewal is due, the token held valid 29 minutes more (r's provider
// issuing tokens for an hour).
func (r *rig) dueAtAStall(opts freshtoken.Options) (*redistest.Server, *freshtoken.Source, *oauth2.Token) {
	r.t.Helper()
	r.settings.RenewBefore = 30 * time.Minute
	srv, src, held := r.onPatientRedis(opts)
	r.clock.Advance(31 * time.Minute)
	return srv, src, held
}

// expiredAtAStall is dueAtAStall's rig with the token expired: nothing
// serves meanwhile, and every caller waits for the renewal.
func (r *rig) expiredAtAStall() (*redistest.Server, *freshtoken.Source, *oauth2.Token) {
	r.t.Helper()
	srv, src, held := r.onPatientRedis(freshtoken.Options{})
	r.clock.Advance(2 * time.Hour)
	return srv, src, held
}

// expiredOnAnImpatientRedis is a Source logged in on a Redis of its own
// that it tries once, waiting 3 s for an answer (a stalled call is given
// up unanswered), its token taken and then expired.
func (r *rig) expiredOnAnImpatientRedis() (*redistest.Server, *freshtoken.Source) {
	r.t.Helper()
	srv := redistest.Start(r.t)
	src := r.sourceOn(redistest.OpenStore(r.t, srv.URL+"?read_timeout=3s&max_retries=-1"))
	r.login(src)
	if _, err := src.Token(); err != nil {
		r.t.Fatal(err)
	}
	r.clock.Advance(2 * time.Hour)
	return srv, src
}

// onPatientRedis is a Source logged in on a Redis of its own whose reads
// wait an hour before giving up (longer than any stall notice, and than
// the test: what answers a call while Redis is paused is not Redis's own
// wait), and the token it holds.
func (r *rig) onPatientRedis(opts freshtoken.Options) (*redistest.Server, *freshtoken.Source, *oauth2.Token) {
	r.t.Helper()
	srv := redistest.Start(r.t)
	opts.Store, opts.Clock = redistest.OpenStore(r.t, srv.URL+"?read_timeout=1h"), r.clock.Now
	src, err := freshtoken.New(r.settings, opts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.login(src)
	held, err := src.Token()
	if err != nil {
		r.t.Fatal(err)
	}
	return srv, src, held
}

// callingAtAStall calls src.TokenContext(ctx) in the background, and
// returns what its stall listener (store.WithStalled) is told, stalled or
// ended, and the call's error once it returns.
func callingAtAStall(ctx context.Context, src *freshtoken.Source) (told <-chan bool, done <-chan error) {
	stalls, ended := make(chan bool, 10), make(chan error, 1)
	go func() {
		_, err := src.TokenContext(store.WithStalled(ctx, func(_ string, stalled bool, _ time.Time) { stalls <- stalled }))
		ended <- err
	}()
	return stalls, ended
}

// TestStalledStoreServesTheValidTokenMeanwhile: a renewal due (within
// refresh_before, the token valid 29 minutes more) whose Redis takes
// connections and does not answer (paused) serves the token in memory
// once the store's call has stalled (store.StallNotice), to the caller
// that began the renewal and to those after it, saying so once in the log;
// the renewal goes on, and once Redis answers, stores its token, which is
// served from then on. Callers waited for Redis's own wait (20 s a try
// with the read_timeout then, an hour here: a call not served while Redis
// is paused fails the test as every wait of the suite does), and a
// proxy's client, bound by the environment's timeout, got 503 with 29
// minutes of token left.
func TestStalledStoreServesTheValidTokenMeanwhile(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	logs := testenv.NewOutput()
	srv, src, held := r.dueAtAStall(freshtoken.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	srv.Pause(t)
	type answer struct {
		tok *oauth2.Token
		err error
	}
	for i := range 3 {
		got := make(chan answer, 1)
		go func() {
			tok, err := src.Token()
			got <- answer{tok, err}
		}()
		a := testenv.Receive(t, "a call while Redis is paused", got)
		if tok, err := a.tok, a.err; err != nil || tok.AccessToken != held.AccessToken {
			t.Fatalf("call %d while Redis does not answer: %v, %v; want the token in memory, valid 29 minutes more", i, tok, err)
		}
	}
	if n := strings.Count(logs.String(), "has not answered the renewal for 2s; the access token is still valid until"); n != 1 {
		t.Errorf("the stall is told %d times in the log, want once:\n%s", n, logs)
	}
	srv.Resume(t)
	testenv.WaitFor(t, "the renewal stored once Redis answers", func() bool {
		v := srv.Get(t, "freshtoken:sandbox")
		return v != "" && !strings.Contains(v, held.AccessToken)
	})
	tok, err := src.Token()
	if err != nil || tok.AccessToken == held.AccessToken {
		t.Fatalf("once the renewal is stored: %v, %v; want its token", tok, err)
	}
	if st := r.provider.Stats(); st.Refreshes != 1 || st.ReuseDetected != 0 {
		t.Fatalf("provider saw %+v; want the one renewal", st)
	}
}

// TestServedStallIsToldToNoListener: a caller served the token still valid
// at its renewal's stall (Redis paused) is not kept waiting for the store,
// and its context's listener (store.WithStalled: a command's "waiting for
// Redis…" at a terminal, a proxy's request bound by its timeout) is told
// no stall: a terminal said it waited for Redis and then that the valid
// token was used, two lines for one, and a proxy whose timeout was under
// store.StallNotice answered 503 store_unreachable, racing the token
// served. A caller with no valid token to serve is told the stall.
func TestServedStallIsToldToNoListener(t *testing.T) {
	srv := redistest.Start(t)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.RenewBefore = 30 * time.Minute
	open := func(query string) *freshtoken.Source {
		src, err := freshtoken.New(r.settings, freshtoken.Options{Store: redistest.OpenStore(t, srv.URL+query), Clock: r.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	served, expired := open("?read_timeout=20s"), open("?read_timeout=4s&max_retries=-1")
	r.login(served)
	for _, src := range []*freshtoken.Source{served, expired} {
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
	}
	listening := func(stalls *atomic.Int32) context.Context {
		return store.WithStalled(t.Context(), func(what string, stalled bool, _ time.Time) {
			if stalled {
				stalls.Add(1)
			}
		})
	}
	var servedStalls, expiredStalls atomic.Int32
	r.clock.Advance(31 * time.Minute)
	srv.Pause(t)
	if _, err := served.TokenContext(listening(&servedStalls)); err != nil {
		t.Fatalf("while Redis does not answer: %v; want the token in memory, valid 29 minutes more", err)
	}
	if n := servedStalls.Load(); n != 0 {
		t.Errorf("a caller served the valid token at the stall was told of it %d times", n)
	}
	r.clock.Advance(time.Hour) // expired: nothing serves meanwhile
	ended, cancel := context.WithTimeout(listening(&expiredStalls), store.StallNotice+time.Second)
	defer cancel()
	if _, err := expired.TokenContext(ended); err == nil {
		t.Fatal("an expired token renewed while Redis does not answer")
	}
	if n := expiredStalls.Load(); n != 1 {
		t.Errorf("a caller with no valid token, waiting for Redis, was told of the stall %d times; want once", n)
	}
}

// TestPanicInARenewalLeftGoingEndsItAlone: a renewal left going at a stall
// (Redis paused, the caller served the valid token) that panics (here in
// the program's Options.Sending) ends alone, logged as an error: it ended
// the whole process, with no caller to pass the panic to (net/http
// recovers a handler's panic, not a goroutine's), a proxy serving every
// other environment included. The next call renews.
func TestPanicInARenewalLeftGoingEndsItAlone(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	logs := testenv.NewOutput()
	var armed atomic.Bool
	srv, src, held := r.dueAtAStall(freshtoken.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError})),
		Sending: func(freshtoken.Renewal) func() {
			if armed.CompareAndSwap(true, false) {
				panic("a bug in the program's Sending")
			}
			return nil
		}})
	armed.Store(true)
	srv.Pause(t)
	if tok, err := src.Token(); err != nil || tok.AccessToken != held.AccessToken {
		srv.Resume(t)
		t.Fatalf("while Redis does not answer: %v, %v; want the token in memory", tok, err)
	}
	srv.Resume(t)
	testenv.WaitFor(t, "the panic logged", func() bool {
		return strings.Contains(logs.String(), "the renewal left going in the background stopped unexpectedly")
	})
	if !strings.Contains(logs.String(), "a bug in the program's Sending") {
		t.Errorf("the log does not say what panicked:\n%s", logs)
	}
	tok, err := src.Token()
	if err != nil || tok.AccessToken == held.AccessToken {
		t.Fatalf("the call after the panic: %v, %v; want a renewed token", tok, err)
	}
}

// TestStalledStoreEndsWithTheCallersDeadline: a library program's
// TokenContext with a deadline, its token expired (nothing to serve
// meanwhile), ends with the deadline's error while Redis takes connections
// and does not answer (paused until the call has returned, the URL's
// read_timeout a minute): it ended only once go-redis gave the renewal
// lock's command up, at its read_timeout (20 s a try). Nothing is sent or
// stored, and the lock, taken by the try Redis runs once it runs again, is
// released at once (it would live an hour), so the next call renews.
func TestStalledStoreEndsWithTheCallersDeadline(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	srv := redistest.Start(t)
	st := redistest.OpenStore(t, srv.URL+"?read_timeout=1m")
	st.LockTTL = time.Hour
	src := r.sourceOn(st)
	r.login(src)
	held, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	stored := srv.Get(t, "freshtoken:sandbox")
	r.clock.Advance(2 * time.Hour)
	srv.Pause(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ended := make(chan error, 1)
	go func() {
		_, err := src.TokenContext(ctx)
		ended <- err
	}()
	err = testenv.Receive(t, "the call, its deadline past, Redis still paused", ended)
	srv.Resume(t)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("at the caller's deadline: %v; want the deadline's error", err)
	}
	if n := r.provider.Stats().Refreshes; n != 0 {
		t.Fatalf("%d refreshes sent for a caller that gave up waiting for the store", n)
	}
	if now := srv.Get(t, "freshtoken:sandbox"); now != stored {
		t.Fatalf("the stored tokens changed for a caller that gave up:\n%s\nwas\n%s", now, stored)
	}
	testenv.WaitFor(t, "the renewal lock free", func() bool { return srv.Get(t, "freshtoken:sandbox:lock") == "" })
	tok, err := src.TokenContext(t.Context())
	if err != nil || tok.AccessToken == held.AccessToken {
		t.Fatalf("once Redis answers: %v, %v; want a renewed token", tok, err)
	}
}

// TestCallerJoiningAStalledRenewalIsToldOfTheStall: a caller with no valid
// token that joins another caller's renewal while its call to the store
// stalls (Redis paused) is told the stall through its own context
// (store.WithStalled), as the renewal's own caller is: only the caller
// that began a renewal was told, and one that joined it heard nothing of
// why it waited (a library program's notice, a proxy's request bound by
// its timeout). It is told when the stalled call was sent, as the
// renewal's caller is: the proxy took a stall told late for one just
// known, 2 s old, and its 503 said so after a longer silence.
func TestCallerJoiningAStalledRenewalIsToldOfTheStall(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	srv, src, _ := r.expiredAtAStall()
	srv.Pause(t)
	type stall struct {
		what  string
		since time.Time
	}
	listening := func(stalls chan<- stall, patience time.Duration) context.Context {
		ctx, cancel := context.WithTimeout(store.WithStalled(t.Context(), func(what string, stalled bool, since time.Time) {
			if stalled {
				stalls <- stall{what, since}
			}
		}), patience)
		t.Cleanup(cancel)
		return ctx
	}
	leaderStalls, joinerStalls := make(chan stall, 10), make(chan stall, 10)
	led := make(chan error, 1)
	go func() {
		_, err := src.TokenContext(listening(leaderStalls, store.StallNotice+5*time.Second))
		led <- err
	}()
	first := testenv.Receive(t, "the stall told to the renewal's caller", leaderStalls)
	// The caller that joins gives up first, the renewal still going.
	if _, err := src.TokenContext(listening(joinerStalls, time.Second)); err == nil {
		t.Fatal("an expired token renewed while Redis does not answer")
	}
	if n := len(joinerStalls); n != 1 {
		t.Fatalf("a caller that joined the stalled renewal was told of the stall %d times; want once", n)
	}
	if got := <-joinerStalls; got.what != first.what || !got.since.Equal(first.since) {
		t.Errorf("the caller that joined was told %q stalled since %s; the renewal's caller %q since %s", got.what, got.since.Format(time.StampMicro), first.what, first.since.Format(time.StampMicro))
	}
	testenv.Receive(t, "the renewal's caller", led)
}

// TestCallerJoiningAStalledRenewalIsToldItsEnd: a caller told of the
// stall of a renewal it joined is told its end too, when the renewal led
// by another caller (the proxy's keeper, whose listener is its own) meets
// Redis again: the
// proxy keeps an environment's stall as told, and its requests answered
// 503 "the store has not answered" at their timeout long after the store
// had, when the provider was the slow one.
func TestCallerJoiningAStalledRenewalIsToldItsEnd(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	srv, src, _ := r.expiredAtAStall()
	srv.Pause(t)
	leaderStalls, led := callingAtAStall(t.Context(), src) // the keeper's own listener, or none
	testenv.Receive(t, "the stall told to the renewal's caller", leaderStalls)
	told, joined := callingAtAStall(t.Context(), src)
	if !testenv.Receive(t, "the stall told to the caller that joined", told) {
		t.Fatal("the caller that joined was first told a stall ended")
	}
	srv.Resume(t)
	if err := testenv.Receive(t, "the caller that joined", joined); err != nil {
		t.Fatal(err)
	}
	storetest.ToldItsEnd(t, "the caller that joined", told)
	if err := testenv.Receive(t, "the renewal's caller", led); err != nil {
		t.Fatal(err)
	}
}

// TestCallerJoiningARenewalIsToldEachOfItsStalls: a caller with no valid
// token that joined another caller's renewal is told each stall of the
// renewal's calls to the store, and each end, as long as it waits: Redis
// paused at the renewal lock, then answering, then paused again as the
// provider's answer is stored. The end of the first stall dropped the
// callers that joined, and the second was told to the renewal's own
// caller alone: a proxy's request, bound by its timeout, waited out
// Redis's own wait, and a library program's caller heard nothing.
func TestCallerJoiningARenewalIsToldEachOfItsStalls(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	var (
		srv         *redistest.Server
		pauseAtSave atomic.Bool
	)
	srv, src, _ := r.onPatientRedis(freshtoken.Options{Sending: func(rn freshtoken.Renewal) func() {
		if rn.Storing && pauseAtSave.CompareAndSwap(true, false) {
			srv.Pause(t)
		}
		return nil
	}})
	r.clock.Advance(2 * time.Hour) // expired: nothing serves meanwhile
	srv.Pause(t)
	leaderTold, led := callingAtAStall(t.Context(), src)
	testenv.Receive(t, "the lock's stall told to the renewal's caller", leaderTold)
	joinerTold, joined := callingAtAStall(t.Context(), src)
	want := func(stalled bool, what string) {
		t.Helper()
		if got := testenv.Receive(t, what, joinerTold); got != stalled {
			t.Fatalf("the caller that joined was told stalled=%v; want %v (%s)", got, stalled, what)
		}
	}
	want(true, "the lock's stall told to the caller that joined")
	pauseAtSave.Store(true)
	srv.Resume(t)
	want(false, "the lock's stall's end")
	want(true, "the save's stall told to the caller that joined") // Redis paused again as the answer is stored
	srv.Resume(t)
	want(false, "the save's stall's end")
	if err := testenv.Receive(t, "the caller that joined", joined); err != nil {
		t.Fatal(err)
	}
	if err := testenv.Receive(t, "the renewal's caller", led); err != nil {
		t.Fatal(err)
	}
	if n := len(joinerTold); n != 0 {
		t.Errorf("the caller that joined was told %d more times", n)
	}
}

// TestCallerThatLeftARenewalIsToldNothingMore: a caller that joined a
// stalled renewal (Redis paused) and gave up waiting is told nothing of it
// after, neither the stall's end nor a stall after it: its listener stayed
// in the renewal's list until the stall ended, told of a renewal it no
// longer waited for and kept alive with it.
func TestCallerThatLeftARenewalIsToldNothingMore(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	srv, src, _ := r.expiredAtAStall()
	srv.Pause(t)
	leaderTold, led := callingAtAStall(t.Context(), src)
	testenv.Receive(t, "the stall told to the renewal's caller", leaderTold)
	ctx, giveUp := context.WithCancel(t.Context())
	joinerTold, joined := callingAtAStall(ctx, src)
	if !testenv.Receive(t, "the stall told to the caller that joined", joinerTold) {
		t.Fatal("the caller that joined was first told a stall ended")
	}
	giveUp()
	if err := testenv.Receive(t, "the caller that gave up", joined); !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that gave up: %v", err)
	}
	srv.Resume(t)
	if err := testenv.Receive(t, "the renewal's caller", led); err != nil {
		t.Fatal(err)
	}
	if n := len(joinerTold); n != 0 {
		t.Errorf("the caller that gave up was told of the renewal %d more times", n)
	}
}

// TestStallEndedWithoutAnAnswerEndsWithTheRenewal: a renewal whose call to
// the store stalled (Redis paused) and then ended with no answer (the
// URL's read_timeout, 3 s, no tries again) tells the stall's end, as the
// renewal ends, to its caller and to the callers that joined it: nothing
// waits for the store any more, and the next call to it tells whether it
// answers. store.WatchStall tells no end of a call that was not answered,
// and none was told: a proxy kept the stall as told, and took it for the
// stall of every renewal after, answered or not.
func TestStallEndedWithoutAnAnswerEndsWithTheRenewal(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	srv, src := r.expiredOnAnImpatientRedis()
	srv.Pause(t)
	leaderTold, led := callingAtAStall(t.Context(), src)
	testenv.Receive(t, "the stall told to the renewal's caller", leaderTold)
	joinerTold, joined := callingAtAStall(t.Context(), src)
	testenv.Receive(t, "the stall told to the caller that joined", joinerTold)
	if err := testenv.Receive(t, "the renewal's caller", led); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("the renewal's caller, Redis paused: %v; want Redis unreachable", err)
	}
	testenv.Receive(t, "the caller that joined", joined)
	storetest.ToldItsEnd(t, "the renewal's caller", leaderTold)
	storetest.ToldItsEnd(t, "the caller that joined", joinerTold)
}

// TestPanicTellingAStallsEndReleasesTheRenewal: a library program's
// listener (store.WithStalled) that panics when told a stall ended, the
// stall's call given up unanswered (read_timeout, 3 s), so that the end is
// told as the renewal ends: the panic reached the renewal's caller, as a
// panic of the caller's own does, but the renewal was never released, and
// every call after waited for it for good.
func TestPanicTellingAStallsEndReleasesTheRenewal(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	srv, src := r.expiredOnAnImpatientRedis()
	srv.Pause(t)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		src.TokenContext(store.WithStalled(t.Context(), func(_ string, stalled bool, _ time.Time) {
			if !stalled {
				panic("a bug in the program's listener")
			}
		}))
	}()
	if v := testenv.Receive(t, "the renewal's caller", panicked); v == nil {
		t.Fatal("the renewal's caller returned; want the listener's panic")
	}
	srv.Resume(t)
	r.clock.Advance(time.Minute) // past the engine's rest after a store that failed
	next := make(chan error, 1)
	go func() {
		_, err := src.Token()
		next <- err
	}()
	if err := testenv.Receive(t, "the call after the panic", next); err != nil {
		t.Fatalf("the call after the panic: %v; want a renewed token", err)
	}
}

// TestStallOfAReadEndsWithTheCall: a Source's first read of the store
// (nothing in memory yet), left unanswered by Redis (paused) until the
// store gives it up, is told to the caller's listener
// (store.WithStalled), and so is its end, as the call returns: nothing
// waits for the store any more. Only a renewal told the end of a stall
// whose call was given up (store.WatchStall tells none), and a proxy whose
// first request met the stall kept it marked until a later call was
// answered, answering a request that waited its timeout for the provider
// meanwhile 503 "Redis has not answered".
func TestStallOfAReadEndsWithTheCall(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	srv := redistest.Start(t)
	st := redistest.OpenStore(t, srv.URL+"?read_timeout=3s&max_retries=-1")
	r.login(r.sourceOn(st))
	src := r.sourceOn(st) // nothing in memory: its first call reads the store
	srv.Pause(t)
	told, done := callingAtAStall(t.Context(), src)
	testenv.Receive(t, "the stall of the first read", told)
	if err := testenv.Receive(t, "the call", done); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("the first read, Redis paused: %v; want Redis unreachable", err)
	}
	select {
	case stalled := <-told:
		if stalled {
			t.Error("the caller was told the stall twice; want its end")
		}
	default:
		t.Error("the caller was told of the stall and not of its end, the call over")
	}
}
