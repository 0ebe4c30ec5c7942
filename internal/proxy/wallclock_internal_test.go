package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
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

// TestRunningOutOfFilesIsToldAgainAfterTheClockIsSetBack: the warning that
// the proxy cannot take new connections, given at most once a minute,
// comes again once the clock is set back (NTP, the time corrected): told
// further on than now is not told moments ago. It was held untold for as
// long as the clock went back, the clients waiting with nothing said.
func TestRunningOutOfFilesIsToldAgainAfterTheClockIsSetBack(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var logs strings.Builder
	p, err := New(Options{Addr: "127.0.0.1:0", Clock: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Config: func() (*config.File, error) { return nil, nil },
		Open:   func(context.Context, string) (*freshtoken.Source, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8787}
	p.outOfFiles(addr, errors.New("accept: too many open files"))
	now = now.Add(-time.Hour)
	p.outOfFiles(addr, errors.New("accept: too many open files"))
	if n := strings.Count(logs.String(), "the proxy cannot take new connections"); n != 2 {
		t.Errorf("told %d times, the clock set back an hour between two failures; want twice:\n%s", n, logs.String())
	}
}
