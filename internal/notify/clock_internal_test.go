package notify

import (
	"testing"
	"time"
)

// TestTheNotifierGoesByTheWallClock: the notifier's clock, the system's as
// the binary gives it (clock.Now, time.Now) or as it falls back to, is the
// wall clock alone. Go's time.Now carries a reading of the timers' clock,
// which setting the clock does not move, and Before and Sub compare by it
// alone when both times carry one: a notice that reached no one, its next
// try set an hour on, was held back those hours more after the clock was
// set back (NTP, after it ran ahead), as
// TestUndeliveredNoticeAfterTheClockIsSetBack's clock, which moves both
// readings, could not show.
func TestTheNotifierGoesByTheWallClock(t *testing.T) {
	for _, n := range []*Notifier{{Now: time.Now}, {}} {
		if now := n.now(); now != now.Round(0) {
			t.Errorf("the notifier's clock reads %s, with a reading of the timers' clock; want the wall clock alone", now)
		}
	}
}
