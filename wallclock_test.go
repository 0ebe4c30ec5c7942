package freshtoken_test

import (
	"context"
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
// another process reading the same record from the store renewed it. A
// log-in's time given with such a reading (internal/login's clock) is
// kept on the wall clock too. A sleep cannot be made in a test, so this
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
	}
}
