//go:build !freshtoken_testclock

package clock

import "time"

// Now is the system's time.
func Now() time.Time { return time.Now() }

// WallCheck is how often a wait that must end on time by the wall clock
// looks at it: timers run on a clock that stands still while the machine
// sleeps, and the wall clock may be set forward.
const WallCheck = 5 * time.Second
