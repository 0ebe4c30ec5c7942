// Package clock is the time the freshtoken command goes by wherever it
// decides a token's expiry, a rest or a renewal's turn: the command reads
// Now, and gives it to the engine, the keeper and the proxy as their clock,
// which each reads as the wall clock alone (Wall); the engine and the proxy
// also count how long ago they first saw a token, or began a log-in, on its
// monotonic reading, which a clock set back does not move.
//
// In the plain build Now is time.Now. A build with the tag Tag (e2e's, and
// no other) runs Now ahead of the system's clock by the offset written in
// the file $FRESHTOKEN_TESTCLOCK names, so that a test moves the binary's
// time on instead of waiting for it (see testclock.go, which no other
// build holds).
package clock

import "time"

const (
	// Tag is the build tag of the test clock.
	Tag = "freshtoken_testclock"
	// Env names the test clock's file, which holds the offset as a Go
	// duration ("1h30m0s").
	Env = "FRESHTOKEN_TESTCLOCK"
)

// Wall is the time now reads (time.Now when nil) on the wall clock alone,
// as the stores keep every time: Go's time.Now also carries a reading of
// the timers' clock, which stands still while the machine sleeps and does
// not move when the clock is set, and Before and Sub compare two times
// that both carry one by it alone. The engine, the proxy, the keeper and
// the notifier read their clocks through it: a time kept in memory would
// otherwise mean another thing than the same time read back from the
// store, or in another process; the morning after a night asleep, a token
// that expired in the night was served as valid by the timers' clock,
// which counted none of the night.
func Wall(now func() time.Time) time.Time {
	if now == nil {
		return time.Now().Round(0)
	}
	return now().Round(0)
}
