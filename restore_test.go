package freshtoken_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/resting"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestSourcePutsBackWhatARestartLost: a Redis restarted without
// persistence comes back empty; a long-running process (a proxy) serving
// from the record it holds in memory said "not logged in (logged out
// elsewhere)" at its next look at the store, or at its next renewal, and
// every machine needed a log-in. It now puts the record back, at the look
// and at the renewal alike, and another machine uses it; the provider sees
// no refresh token twice. A log-out after that is never undone.
func TestSourcePutsBackWhatARestartLost(t *testing.T) {
	srv, r, a, held := heldOnRedis(t)
	newStore := func() *redisstore.Store { return redistest.OpenStore(t, srv.URL) }
	other := newStore()

	// At the look at the store a valid token in memory gets.
	srv.Restart(t)
	r.clock.Advance(time.Minute) // past StoreCheckInterval
	if tok, err := a.Token(); err != nil || tok.AccessToken != held.AccessToken {
		t.Fatalf("after the restart: %v, %v; want the token held, put back", tok, err)
	}
	if got, err := other.Load(context.Background(), "sandbox"); err != nil || got.AccessToken != held.AccessToken {
		t.Fatalf("another machine reads %v, %v; want the tokens put back", got, err)
	}

	// At a renewal: the tokens are put back, and renewals rest a moment
	// (see TestAPutBackWaitsForARenewalInFlight), then renew.
	srv.Restart(t)
	r.clock.Advance(2 * time.Hour) // the access token expired
	if tok, err := a.Token(); !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "put back") {
		t.Fatalf("the renewal after the restart: %v, %v; want the tokens put back, and renewals resting a moment", tok, err)
	}
	if got, err := other.Load(context.Background(), "sandbox"); err != nil || got.RefreshToken == "" {
		t.Fatalf("another machine reads %v, %v; want the tokens put back", got, err)
	}
	r.clock.Advance(31 * time.Second)
	renewed, err := a.Token()
	if err != nil || renewed.AccessToken == held.AccessToken {
		t.Fatalf("the renewal after the rest: %v, %v; want the tokens renewed", renewed, err)
	}
	if tok, err := r.sourceOn(other).Token(); err != nil || tok.AccessToken != renewed.AccessToken {
		t.Fatalf("another machine's token: %v, %v; want the renewed one", tok, err)
	}
	if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want no reuse", st)
	}

	// A log-out on another machine.
	if err := r.sourceOn(other).Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Minute)
	if _, err := a.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("after a log-out elsewhere: %v; want a log-in asked for", err)
	}
	if v := srv.Get(t, "freshtoken:sandbox"); v != "" {
		t.Fatalf("the log-out was undone: %s", v)
	}
}

// TestAStaleSourcePutsBackTheProcesssLatest: two Sources of one process on
// one Redis store (a proxy's, serving from the record it read an hour
// ago, and the keeper's, which renewed since); Redis restarts empty, and
// the stale one is first to find out. It put back its own copy, whose
// refresh token the renewal had spent, and the next renewal anywhere sent
// it again; the store puts back the latest copy the process found or
// saved.
func TestAStaleSourcePutsBackTheProcesssLatest(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	st := redistest.OpenStore(t, srv.URL)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	stale := r.sourceOn(st)
	r.login(stale)
	if _, err := stale.Token(); err != nil {
		t.Fatal(err)
	}
	renewed, err := r.sourceOn(st).Renew(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	latest, err := st.Load(context.Background(), "sandbox")
	if err != nil || latest.AccessToken != renewed.AccessToken {
		t.Fatalf("after the renewal: %v, %v", latest, err)
	}

	srv.Restart(t)
	r.clock.Advance(time.Minute)
	if tok, err := stale.Token(); err != nil || tok.AccessToken != renewed.AccessToken {
		t.Fatalf("the stale Source after the restart: %v, %v; want the renewed token put back", tok, err)
	}
	other := redistest.OpenStore(t, srv.URL)
	if got, err := other.Load(context.Background(), "sandbox"); err != nil || got.RefreshToken != latest.RefreshToken || got.Rest == nil {
		t.Fatalf("Redis holds %v, %v; want the renewed copy, resting renewals as a copy put back does", got, err)
	}
	r.clock.Advance(31 * time.Second)
	if _, err := r.sourceOn(other).Renew(context.Background()); err != nil {
		t.Fatalf("a renewal on another machine: %v", err)
	}
	if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want no reuse", st)
	}
}

// TestTwoSourcesOfAProcessFindTheRestart: two Sources of one process on
// one Redis store both find it restarted empty (the keeper's look and a
// request, say, each having read before the other put the tokens back).
// The second was told "deleted" (Redis's run_id the one the first had just
// noted) and said the environment was logged out; it now uses the tokens
// the first put back, and the process warns once.
func TestTwoSourcesOfAProcessFindTheRestart(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	st := redistest.OpenStore(t, srv.URL)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	log := testenv.NewOutput()
	source := func() *freshtoken.Source {
		src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now, Logger: slog.New(slog.NewTextHandler(log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	a, b := source(), source()
	r.login(a)
	held, err := b.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	for i, src := range []*freshtoken.Source{a, b} {
		back, err := src.Restore(context.Background(), held)
		if err != nil || back.RefreshToken != held.RefreshToken {
			t.Fatalf("Source %d's Restore: %v, %v; want the tokens", i, back, err)
		}
	}
	if n := strings.Count(log.String(), "level=WARN"); n != 1 || !strings.Contains(log.String(), "nothing is lost") {
		t.Fatalf("%d warnings; want one, saying nothing is lost:\n%s", n, log.String())
	}
}

// TestAPutBackThatFailsKeepsTheToken: Redis restarts empty, and the
// put-back fails (here its user, set up anew, may read but not take the
// renewal lock). The process said "not logged in (logged out elsewhere)"
// and dropped the token it held, which was lost, not ended; it now serves
// it, and puts it back at a later check once it can.
func TestAPutBackThatFailsKeepsTheToken(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	srv.SetFleetUser(t, "freshtoken", "pw")
	st := redistest.OpenStore(t, "redis://freshtoken:pw@"+srv.Addr+"/0")
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	a := r.sourceOn(st)
	r.login(a)
	held, err := a.Token()
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	srv.SetUser(t, "freshtoken", "on", ">pw", "~freshtoken:*", "+@connection", "+get", "+info")
	r.clock.Advance(time.Minute)
	if tok, err := a.Token(); err != nil || tok.AccessToken != held.AccessToken {
		t.Fatalf("with the put-back refused: %v, %v; want the token held", tok, err)
	}
	if v := srv.Get(t, "freshtoken:sandbox"); v != "" {
		t.Fatalf("put back by a user that may not write: %s", v)
	}
	srv.SetFleetUser(t, "freshtoken", "pw")
	putBackAtTheNextLook(t, r, srv, a, held, "once the user may write")
}

// putBackAtTheNextLook: a minute on (past StoreCheckInterval), src's look
// at the store, when (as a failure says), serves held, and puts it back
// in srv.
func putBackAtTheNextLook(t *testing.T, r *rig, srv *redistest.Server, src *freshtoken.Source, held *oauth2.Token, when string) {
	t.Helper()
	r.clock.Advance(time.Minute)
	if tok, err := src.Token(); err != nil || tok.AccessToken != held.AccessToken {
		t.Fatalf("%s: %v, %v; want the token held", when, tok, err)
	}
	if v := srv.Get(t, "freshtoken:sandbox"); !strings.Contains(v, held.AccessToken) {
		t.Fatalf("not put back %s: %q", when, v)
	}
}

// TestAnOlderPutBackIsReplacedByTheMachineHoldingTheLatest: two machines
// on one Redis without persistence; one read the tokens, the other renewed
// since; Redis restarts empty, and the machine with the older copy is the
// first to find out and puts it back, its refresh token spent by the
// renewal. The machine holding the latest copy found a record and took it
// for newer tokens stored elsewhere: it served the older copy and spent
// its refresh token again, and a strict provider ended the grant. It now
// puts its later copy back over the older one.
func TestAnOlderPutBackIsReplacedByTheMachineHoldingTheLatest(t *testing.T) {
	// At the look at the store a valid token gets, and at a renewal.
	for _, renewal := range []bool{false, true} {
		t.Run(map[bool]string{false: "look", true: "renewal"}[renewal], func(t *testing.T) {
			olderPutBackReplaced(t, renewal)
		})
	}
}

func olderPutBackReplaced(t *testing.T, renewal bool) {
	srv := redistest.StartWithoutPersistence(t)
	newStore := func() *redisstore.Store { return redistest.OpenStore(t, srv.URL) }
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	latest, renewed := olderCopyPutBack(t, srv, r)
	if renewal {
		// The later copy goes back resting renewals a moment, as any copy
		// put back does (see TestAPutBackWaitsForARenewalInFlight).
		r.clock.Advance(2 * time.Hour) // the access tokens expired
		if tok, err := latest.Token(); !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "put back") {
			t.Fatalf("the renewal on the machine with the latest copy: %v, %v; want its copy put back, renewals resting", tok, err)
		}
		if got, err := newStore().Load(context.Background(), "sandbox"); err != nil || got.AccessToken != renewed.AccessToken || got.Rest == nil {
			t.Fatalf("Redis holds %v, %v; want the renewed copy put back over the older, resting renewals", got, err)
		}
		r.clock.Advance(31 * time.Second)
		tok, err := latest.Token()
		if err != nil {
			t.Fatalf("the renewal on the machine with the latest copy: %v", err)
		}
		renewed = tok
	} else if tok, err := latest.Token(); err != nil || tok.AccessToken != renewed.AccessToken {
		t.Fatalf("the machine with the latest copy: %v, %v; want its renewed token", tok, err)
	} else if got, err := newStore().Load(context.Background(), "sandbox"); err != nil || got.Rest == nil {
		t.Fatalf("Redis holds %v, %v; want the renewed copy put back over the older, resting renewals", got, err)
	}
	got, err := newStore().Load(context.Background(), "sandbox")
	if err != nil || got.AccessToken != renewed.AccessToken {
		t.Fatalf("Redis holds %v, %v; want the renewed copy put back over the older", got, err)
	}
	r.clock.Advance(31 * time.Second) // past any rest after the put-back, which holds back a forced renewal too
	if _, err := r.sourceOn(newStore()).Renew(context.Background()); err != nil {
		t.Fatalf("a renewal on a third machine: %v", err)
	}
	if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want no reuse", st)
	}
}

// heldOnRedis is a rig whose Source a, on srv (a Redis without
// persistence), is logged in and holds its token, held.
func heldOnRedis(t *testing.T) (srv *redistest.Server, r *rig, a *freshtoken.Source, held *oauth2.Token) {
	t.Helper()
	srv = redistest.StartWithoutPersistence(t)
	r = newRig(t, devprovider.Options{AccessTTL: time.Hour})
	a = r.sourceOn(redistest.OpenStore(t, srv.URL))
	r.login(a)
	held, err := a.Token()
	if err != nil {
		t.Fatal(err)
	}
	return srv, r, a, held
}

// olderCopyPutBack is two machines on srv, a Redis without persistence:
// one read the log-in's tokens, and the other, latest, renewed them since;
// Redis restarted empty, and the machine with the older copy, first to
// look, put it back, its refresh token spent by the renewal. It returns
// latest and the token it renewed.
func olderCopyPutBack(t *testing.T, srv *redistest.Server, r *rig) (latest *freshtoken.Source, renewed *oauth2.Token) {
	t.Helper()
	older := r.sourceOn(redistest.OpenStore(t, srv.URL))
	r.login(older)
	if _, err := older.Token(); err != nil {
		t.Fatal(err)
	}
	latest = r.sourceOn(redistest.OpenStore(t, srv.URL))
	renewed, err := latest.Renew(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	r.clock.Advance(time.Minute) // past StoreCheckInterval
	if _, err := older.Token(); err != nil {
		t.Fatalf("the machine with the older copy after the restart: %v", err)
	}
	return latest, renewed
}

// TestAPutBackWaitsForARenewalInFlight: Redis restarts empty while one
// machine's renewal is in flight (its lock and in-flight mark lost with the
// tokens), and another machine, finding the store empty, puts back its
// copy and renewed at once with the refresh token the first had just sent:
// a strict provider ended the grant, silently. The copy put back now rests
// renewals a moment, in which the first stores its answer over it; the
// provider sees no refresh token twice. So it is for a forced renewal by
// the process that put the copy back.
func TestAPutBackWaitsForARenewalInFlight(t *testing.T) {
	for _, forced := range []bool{false, true} {
		t.Run(map[bool]string{false: "due", true: "forced"}[forced], func(t *testing.T) {
			srv, r, a, _ := heldOnRedis(t)
			r.clock.Advance(time.Hour - 30*time.Second) // due: within refresh_before of its expiry
			var once sync.Once
			c, err := freshtoken.New(r.settings, freshtoken.Options{Store: redistest.OpenStore(t, srv.URL), Clock: r.clock.Now, Sending: func(freshtoken.Renewal) func() {
				once.Do(func() {
					srv.Restart(t)
					if forced {
						a.Renew(context.Background())
					} else if tok, err := a.Token(); err == nil && tok.Expiry.Before(r.clock.Now()) {
						t.Errorf("the other machine served an expired token: %v", tok)
					}
				})
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			renewed, err := c.Token()
			if err != nil {
				t.Fatalf("the renewal in flight at the restart: %v", err)
			}
			if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 || st.Refreshes != 1 {
				t.Fatalf("provider stats %+v; want one refresh, no reuse", st)
			}
			testenv.WaitFor(t, "the renewal's answer stored over the copy put back", func() bool {
				got, err := redistest.OpenStore(t, srv.URL).Load(context.Background(), "sandbox")
				return err == nil && got.AccessToken == renewed.AccessToken
			})
		})
	}
}

// TestAPutBackAtALookWaitsNoLongerForTheLock: Redis restarts empty while
// another machine holds the renewal lock (its renewal under way); a
// process serving a fresh token from memory finds the store empty at its
// look and puts the token back, under the lock; or finds there an older
// copy another machine put back, and puts its later one back over it
// (see TestAnOlderPutBackIsReplacedByTheMachineHoldingTheLatest). It
// waited for the lock with its caller's context, unbounded by the look's
// own bound (storeCheckWait): a request, a `token`, a library call waited
// as long as the other machine held the lock, for a token it held. It now
// gives the put-back up after that bound, serves the token, and puts it
// back at its next look.
func TestAPutBackAtALookWaitsNoLongerForTheLock(t *testing.T) {
	for _, overOlder := range []bool{false, true} {
		t.Run(map[bool]string{false: "store empty", true: "over an older copy"}[overOlder], func(t *testing.T) {
			var (
				srv    *redistest.Server
				r      *rig
				holder *freshtoken.Source
				held   *oauth2.Token
			)
			if overOlder {
				srv = redistest.StartWithoutPersistence(t)
				r = newRig(t, devprovider.Options{AccessTTL: time.Hour})
				holder, held = olderCopyPutBack(t, srv, r)
			} else {
				srv, r, holder, held = heldOnRedis(t)
				srv.Restart(t)
			}
			unlock, err := redistest.OpenStore(t, srv.URL).Lock(context.Background(), "sandbox")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(unlock)
			r.clock.Advance(time.Minute) // past StoreCheckInterval
			type answer struct {
				tok *oauth2.Token
				err error
			}
			got := make(chan answer, 1)
			go func() {
				tok, err := holder.Token()
				got <- answer{tok, err}
			}()
			if g := testenv.Receive(t, "the token, another machine holding the lock the put-back waits for", got); g.err != nil || g.tok.AccessToken != held.AccessToken {
				t.Fatalf("with the lock held elsewhere: %v, %v; want the token held", g.tok, g.err)
			}
			if v := srv.Get(t, "freshtoken:sandbox"); strings.Contains(v, held.AccessToken) {
				t.Fatalf("put back without the lock: %s", v)
			}
			unlock()
			putBackAtTheNextLook(t, r, srv, holder, held, "at the next look")
		})
	}
}

// TestAPutBackRestsAForcedRenewalElsewhere: a `token --force` on a third
// machine within the rest after another machine put the tokens back
// (Redis restarted without persistence) was not held back: the rest held
// a forced renewal only in the process that put the copy back, and the
// refresh token a renewal in flight elsewhere may have spent was sent
// again. The record put back says the rest is a put-back's, and a forced
// renewal anywhere waits it out, saying for how long; after it, it renews.
func TestAPutBackRestsAForcedRenewalElsewhere(t *testing.T) {
	srv, r, a, _ := heldOnRedis(t)
	srv.Restart(t)
	r.clock.Advance(time.Minute) // past StoreCheckInterval: the look puts the tokens back
	if _, err := a.Token(); err != nil {
		t.Fatal(err)
	}
	if v := srv.Get(t, "freshtoken:sandbox"); !strings.Contains(v, `"put_back": true`) {
		t.Fatalf("the record put back: %s; want its rest saying it was put back", v)
	}
	refreshes := r.provider.Stats().Refreshes
	third := r.sourceOn(redistest.OpenStore(t, srv.URL))
	_, err := third.Renew(context.Background())
	var fe *freshtoken.Error
	if !errors.Is(err, freshtoken.ErrUnreachable) || !errors.As(err, &fe) || fe.RetryAt.IsZero() || !strings.Contains(err.Error(), "put back") || !strings.Contains(err.Error(), "forced or not; try again then") {
		t.Fatalf("a forced renewal on a third machine within the rest: %v; want it held back, saying for how long", err)
	}
	if n := r.provider.Stats().Refreshes; n != refreshes {
		t.Fatalf("%d token requests sent within the rest; want none", n-refreshes)
	}
	r.clock.Advance(31 * time.Second)
	if _, err := third.Renew(context.Background()); err != nil {
		t.Fatalf("a forced renewal after the rest: %v", err)
	}
	if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want no reuse", st)
	}
}

// TestANotedGrantIsNotPutBackOverALogInElsewhere: machine A's Source holds
// a record noting that the provider ended the grant (its renewal was
// refused); the user logs in on machine B, which A does not see; Redis
// restarts empty, and A is first to find out. It put its noted record back,
// and B, at its next look at the store, took it for newer tokens, noted:
// the log-in just made was lost, and both machines asked for another. A
// record noting the end of its grant is now never put back (it serves no
// token; a log-in brings tokens again): B puts back its log-in.
func TestANotedGrantIsNotPutBackOverALogInElsewhere(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	a := r.sourceOn(redistest.OpenStore(t, srv.URL))
	r.login(a)
	r.provider.RevokeGrants()
	if _, err := a.Renew(context.Background()); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("the renewal of a revoked grant: %v; want a log-in asked for", err)
	}
	r.clock.Advance(2 * time.Second)
	b := r.sourceOn(redistest.OpenStore(t, srv.URL))
	r.login(b)
	login, err := b.Token()
	if err != nil {
		t.Fatal(err)
	}

	srv.Restart(t)
	r.clock.Advance(time.Minute) // past StoreCheckInterval
	if tok, err := a.Token(); err == nil {
		t.Fatalf("machine A after the restart served %q; want no token (it never saw the log-in)", tok.AccessToken)
	}
	if tok, err := b.Token(); err != nil || tok.AccessToken != login.AccessToken {
		t.Fatalf("machine B after the restart: %v, %v; want the log-in's token, put back", tok, err)
	}
	if tok, err := a.Token(); err != nil || tok.AccessToken != login.AccessToken {
		t.Fatalf("machine A once B put its log-in back: %v, %v; want the log-in's token", tok, err)
	}
}

// TestAPutBackRestFromAClockAheadHoldsNoLonger: a put-back's rest, which
// holds even a forced renewal, written by a machine whose clock is ahead
// (ten minutes here) is not followed past what a put-back's rest lasts
// (30 s, with a minute for clocks apart), as a rest longer than any
// renewal's is not: `token --force` then renews, and status and the
// proxy's page (RestLeft) tell of no rest. It held every machine's
// renewals, forced or not, as far ahead as that clock was, up to an hour,
// while their access tokens expired.
func TestAPutBackRestFromAClockAheadHoldsNoLonger(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	st := redistest.OpenStore(t, srv.URL)
	a := r.sourceOn(st)
	r.login(a)
	rec, err := st.Load(context.Background(), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	rec.Rest = &store.Rest{Until: r.clock.Now().Add(10*time.Minute + 30*time.Second), PutBack: true, Message: "the tokens were put back"}
	if err := st.Save(context.Background(), "sandbox", rec); err != nil {
		t.Fatal(err)
	}
	if left := resting.Left(rec, r.clock.Now()); left != 0 {
		t.Errorf("RestLeft of a put-back rest 10m30s ahead: %s; want none followed (status and the page tell of it)", left)
	}
	other := r.sourceOn(redistest.OpenStore(t, srv.URL))
	refreshes := r.provider.Stats().Refreshes
	if _, err := other.Renew(context.Background()); err != nil {
		t.Fatalf("a forced renewal under a put-back rest from a clock 10 min ahead: %v; want it renewed", err)
	}
	if n := r.provider.Stats().Refreshes; n != refreshes+1 {
		t.Fatalf("%d token requests; want one", n-refreshes)
	}
}
