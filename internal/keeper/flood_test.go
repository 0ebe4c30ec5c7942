package keeper

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
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
