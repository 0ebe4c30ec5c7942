// Package clock is the time the freshtoken command goes by wherever it
// decides a token's expiry, a rest or a renewal's turn: the command reads
// Now, and gives it to the engine, the keeper and the proxy as their clock.
//
// In the plain build Now is time.Now. A build with the tag Tag (e2e's, and
// no other) runs Now ahead of the system's clock by the offset written in
// the file $FRESHTOKEN_TESTCLOCK names, so that a test moves the binary's
// time on instead of waiting for it (see testclock.go, which no other
// build holds).
package clock

const (
	// Tag is the build tag of the test clock.
	Tag = "freshtoken_testclock"
	// Env names the test clock's file, which holds the offset as a Go
	// duration ("1h30m0s").
	Env = "FRESHTOKEN_TESTCLOCK"
)
