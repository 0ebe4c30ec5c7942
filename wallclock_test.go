package freshtoken_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
)

// TestTheEngineGoesByTheWallClock: the times a Source keeps in memory, as
// the system's clock gives them (Options.Clock time.Now, as the command
// line's clock.Now is, or none), are the wall clock's alone, as the store
// keeps them. Go's time.Now carries a reading of the timers' clock too,
// which stands still while the machine sleeps, and Before and Sub compare
// two times that both carry one by it alone: the morning after a night
// asleep, the token renewed in the evening, whose expiry in memory carried
// one, was served as valid by the engine, the proxy and an
// oauth2.ReuseTokenSource over Token (a 401 for each, at best), while
// another process reading the same record from the store renewed it; the
// rest after a renewal that gave up held renewals back on waking for what
// was left of it. A log-in's time given with such a reading
// (internal/login's clock) is kept on the wall clock too. A sleep cannot be made in a test, so this
// checks the times themselves.
func TestTheEngineGoesByTheWallClock(t *testing.T) {
	for name, clock := range map[string]func() time.Time{"time.Now": time.Now, "none": nil} {
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour})
		src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		devserver.LoginSource(t, src, time.Now())
		onWall := func(what string, at time.Time) {
			t.Helper()
			if at.IsZero() || at != at.Round(0) {
				t.Errorf("clock %s: %s is %s; want a time on the wall clock alone", name, what, at)
			}
		}
		tok, err := src.Token()
		if err != nil {
			t.Fatal(err)
		}
		onWall("the logged-in token's expiry", tok.Expiry)
		if tok, err = src.Renew(context.Background()); err != nil {
			t.Fatal(err)
		}
		onWall("the renewed token's expiry", tok.Expiry)
		rec := r.record()
		p := src.Plan(rec)
		onWall("the keep-alive plan", p.At)
		onWall("the keep-alive plan's lapse", p.Lapses)
		// A time the Source takes from its clock itself, and holds in
		// memory alone: the end of the rest after a renewal that gave up.
		// Followed by the timers' reading, the rest outlasted a night
		// asleep, the renewals of the token that expired in the night held
		// back on waking for what was left of it.
		r.provider.Fault(devprovider.Fault5xx, 4) // the renewal's every try
		var fe *freshtoken.Error
		if _, err := src.Renew(context.Background()); !errors.As(err, &fe) {
			t.Fatalf("clock %s: a renewal on a failing token endpoint: %v; want a *freshtoken.Error", name, err)
		}
		onWall("the end of the rest after a renewal that gave up", fe.RetryAt)
	}
}

// TestARestEndsOnceTheClockIsSetBack: renewals rest 30 s after one that
// gave up on a failing token endpoint; a clock set back an hour meanwhile
// (NTP after it ran ahead, the time corrected by hand) ends the rest, as a
// rest that ends further on than it lasts is over. It was followed until
// the clock reached its end again, an hour and 30 s, the access token
// expired all along; the rest stored for other processes was not followed
// already (resting.Left), so this process alone held back.
func TestARestEndsOnceTheClockIsSetBack(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	src := r.loggedInSource()
	r.clock.Advance(3 * time.Hour)
	r.provider.Fault(devprovider.Fault5xx, 4) // the renewal's every try
	if _, err := src.Token(); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("the renewal on a failing token endpoint: %v; want ErrUnreachable", err)
	}
	r.clock.Advance(-time.Hour) // the access token still expired an hour ago
	if _, err := src.Token(); err != nil {
		t.Fatalf("after the clock was set back an hour: %v; want the renewal sent, the token endpoint working again", err)
	}
}

// TestAnAbandonedWaitLastsNoLongerThanItWasAfterTheClockIsSetBack: the
// caller after one that gave up during a 429's Retry-After (60 s) waits
// what is left of that wait, never more than the wait was: a clock set
// back an hour meanwhile held it an hour and a minute.
func TestAnAbandonedWaitLastsNoLongerThanItWasAfterTheClockIsSetBack(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	src, _ := r.abandonedWait()
	r.clock.Advance(-time.Hour)
	before := r.clock.Slept()
	if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("the next caller: %v, want ErrUnreachable", err)
	}
	if waited := r.clock.Slept() - before; waited > time.Minute {
		t.Fatalf("the next caller waited %s; want no more than the minute the 429 asked for", waited)
	}
}

// TestTheStoreIsLookedAtAfterTheClockIsSetBack: a process serving a valid
// token from memory looks at the store within StoreCheckInterval of a
// clock set back (NTP, the time corrected), and so sees a log-in made
// elsewhere: it waited until the clock passed its last look again, an
// hour's step an hour, serving the token of the grant replaced.
func TestTheStoreIsLookedAtAfterTheClockIsSetBack(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: 3 * time.Hour})
	other, longRunning := r.source(), r.source()
	r.login(other)
	first, err := longRunning.Token()
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(-time.Hour)
	r.login(other) // a new log-in elsewhere
	r.clock.Advance(10 * time.Second)
	tok, err := longRunning.Token()
	if err != nil || tok.AccessToken == first.AccessToken || tok.AccessToken != r.record().AccessToken {
		t.Fatalf("StoreCheckInterval after the clock was set back an hour: %v; want the token of the new log-in, not the one from before", err)
	}
}

// TestAWarningIsGivenAgainAfterTheClockIsSetBack: the warning that a
// renewal failed while the token is still valid, given at most once a
// minute for the same failure, comes again for that failure once the
// clock is set back (NTP, the time corrected): a warning further on than
// now is not moments ago. It was held back until the clock passed it
// again, and a minute more.
func TestAWarningIsGivenAgainAfterTheClockIsSetBack(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.RenewBefore = 20 * time.Minute
	src, logs := r.loggedInLoggingAt(slog.LevelWarn)
	r.clock.Advance(55 * time.Minute) // due, and valid for 5 minutes more
	for failure := 1; failure <= 2; failure++ {
		r.provider.Fault(devprovider.Fault5xx, 4)
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(logs.String(), "could not renew the access token; it is still valid until"); n != failure {
			t.Fatalf("%d warnings after %d failures, the clock set back 10 minutes between them; want one each:\n%s", n, failure, logs.String())
		}
		// Still due; set back further than the rest stored for every
		// process is followed (resting.Left), so the renewal is tried
		// again and fails as before.
		r.clock.Advance(-10 * time.Minute)
	}
}

// TestAStoreRestEndsOnceTheClockIsSetBack: renewals leave a store that
// could not be reached alone for a few seconds (a Redis that is down); a
// clock set back meanwhile (NTP, the time corrected) ends that rest, as it
// does a rest after a renewal that gave up, and the next call tries the
// store again. It was left alone until the clock reached the rest's end
// again, for as long as the clock went back: renewals were told the store
// could not be reached, or served the token held, though it had been back
// for as long.
func TestAStoreRestEndsOnceTheClockIsSetBack(t *testing.T) {
	r, src, st, down := loggedInOnCountedRedis(t, freshtoken.Options{})
	r.clock.Advance(59*time.Minute + 50*time.Second) // due (refresh_before 60 s), valid 10 s more
	down("stopped")
	if _, err := src.Token(); err != nil {
		t.Fatalf("Redis down, the token still valid: %v; want the token", err)
	}
	tried := st.calls.Load()
	r.clock.Advance(-40 * time.Second) // due still
	if _, err := src.Token(); err != nil {
		t.Fatalf("Redis down, the token still valid, the clock set back 40 s: %v; want the token", err)
	}
	if st.calls.Load() == tried {
		t.Error("the clock set back 40 s after a renewal could not reach Redis: Redis was left alone; want it tried again")
	}
}
