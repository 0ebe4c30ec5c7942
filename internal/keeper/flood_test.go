package keeper

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
)

// TestProviderDownForHoursIsWarnedOfOnce: a provider down (503) for three
// hours of looks is one warning in the keeper's log (a service's journal),
// each later failure of the same kind at debug level, and one line once
// renewals work again: it warned "renewal failed" at every look, 180
// lines of the same words for three hours, a service's journal flooded
// with them while the notice was told once. A failure of another kind is
// warned of again.
func TestProviderDownForHoursIsWarnedOfOnce(t *testing.T) {
	p, clock, _, k, _ := keepingForFaults(t)
	log := &syncBuffer{}
	k.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	k.round(context.Background(), time.Minute)
	p.Fault(devprovider.Fault5xx, 1<<20)
	clock.Advance(2 * time.Hour) // the access token is due
	for range 3 * 60 {           // three hours of looks, a minute apart
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if n := strings.Count(log.String(), "renewal failed"); n != 1 {
		t.Fatalf("three hours of the provider down warned %d times; want once:\n%s", n, lastLines(log.String(), 4))
	}
	p.ClearFaults()
	k.round(context.Background(), time.Minute)
	if n := strings.Count(log.String(), "renewals work again"); n != 1 {
		t.Fatalf("renewals working again said %d times; want once:\n%s", n, lastLines(log.String(), 4))
	}
	p.Fault(devprovider.Fault5xx, 1<<20)
	clock.Advance(2 * time.Hour)
	k.round(context.Background(), time.Minute)
	if n := strings.Count(log.String(), "renewal failed"); n != 2 {
		t.Fatalf("a failure after renewals worked again warned %d times in all; want twice", n)
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestStoreDownIsWarnedOfOnce: a Redis store down for twenty minutes of
// looks is one warning that the environment's tokens cannot be read, the
// looks after it at debug level, and one line once they can be read
// again: it warned at every look, a line a minute in a service's journal,
// as it did of renewal failures. (A configuration moved away is still
// warned of at each look: TestKeeperOfAConfigMovedAwayKeepsItsWatches.)
func TestStoreDownIsWarnedOfOnce(t *testing.T) {
	srv := redistest.Start(t)
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour})
	open := func() *freshtoken.Source {
		src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
			TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader},
			freshtoken.Options{Store: redistest.OpenStore(t, srv.URL), Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	src := open()
	devserver.LoginSource(t, src, clock.Now())
	k := keeping(src, "")
	k.Open = func(context.Context, string) (*freshtoken.Source, error) { return src, nil }
	k.Now = clock.Now
	log := &syncBuffer{}
	k.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	k.round(context.Background(), time.Minute)
	srv.Stop()
	for range 20 {
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	const cannot = "cannot read the environment's configuration or tokens"
	if n := strings.Count(log.String(), cannot); n != 1 {
		t.Fatalf("twenty minutes of the store down warned %d times; want once:\n%s", n, lastLines(log.String(), 4))
	}
	srv.Restart(t)
	src = open() // a Redis client that failed to dial waits a second before it dials again
	k.round(context.Background(), time.Minute)
	if n := strings.Count(log.String(), "can be read again"); n != 1 {
		t.Fatalf("the store back said %d times; want once:\n%s", n, lastLines(log.String(), 4))
	}
	srv.Stop()
	k.round(context.Background(), time.Minute)
	if n := strings.Count(log.String(), cannot); n != 2 {
		t.Fatalf("the store down again after it came back warned %d times in all; want twice", n)
	}
}
