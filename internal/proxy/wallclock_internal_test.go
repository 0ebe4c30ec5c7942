package proxy

import (
	"context"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
)

// TestTheProxyGoesByTheWallClock: the proxy's clock, the system's as the
// command gives it (clock.Now, time.Now) or as it falls back to, is the
// wall clock alone, as the engine's and the store's times are. Go's
// time.Now carries a reading of the timers' clock too, which stands still
// while the machine sleeps, and Before and Sub compare two times that both
// carry one by it alone: a browser log-in begun before a night asleep was
// still waited for on waking, its answer taken, hours past its timeout,
// and a restart held for it. A sleep cannot be made in a test, so this
// checks the clock itself.
func TestTheProxyGoesByTheWallClock(t *testing.T) {
	for _, clock := range []func() time.Time{time.Now, nil} {
		p, err := New(Options{Addr: "127.0.0.1:0", Clock: clock,
			Config: func() (*config.File, error) { return nil, nil },
			Open:   func(context.Context, string) (*freshtoken.Source, error) { return nil, nil }})
		if err != nil {
			t.Fatal(err)
		}
		if now := p.now(); now != now.Round(0) {
			t.Errorf("the proxy's clock reads %s, with a reading of the timers' clock; want the wall clock alone", now)
		}
	}
}
