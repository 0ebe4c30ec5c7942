package wake

import (
	"testing"
	"time"
)

// TestAClockSetClosesOnce: a clock set back (or forward) by hand or by
// NTP closes each watch's idle connections once, at its next request,
// not at every request after it; a step within Gap, as NTP's small
// corrections, closes none. A wall clock that keeps jumping costs each
// watch one closing a jump, not one a request.
func TestAClockSetClosesOnce(t *testing.T) {
	var a, b Watch
	a.Start()
	b.Start()
	closes := map[*Watch]int{}
	request := func(w *Watch) { w.Before(func() { closes[w]++ }) }
	request(&a)
	Pretend(Gap - time.Second) // within NTP's steps: no sleep
	request(&a)
	request(&b)
	if closes[&a]+closes[&b] != 0 {
		t.Fatalf("a step of less than %v closed connections: %v", Gap, closes)
	}
	Pretend(-time.Hour) // the clock set back an hour
	for range 3 {
		request(&a)
		request(&b)
	}
	if closes[&a] != 1 || closes[&b] != 1 {
		t.Fatalf("after the clock was set back, %d and %d closings in 3 requests; want one each", closes[&a], closes[&b])
	}
}
