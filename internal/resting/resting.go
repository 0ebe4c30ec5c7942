// Package resting bounds how long renewals rest after one that gave up, as
// the rest stored beside the tokens (store.Record.Rest) tells every
// process and machine sharing them.
package resting

import (
	"time"

	"github.com/freshtoken/freshtoken/store"
)

const (
	// Failing is the longest rest after a failure of the token endpoint
	// whose Retry-After asks for more (a 503 for maintenance): that is no
	// rate limit, asking early costs the provider one request, and a
	// needed renewal is not held back for long after the provider is
	// back, sooner than it said.
	Failing = 5 * time.Minute
	// Max is the longest rest of all, after a 429 (as long as the provider
	// asked, up to this).
	Max = time.Hour
	// PutBack is how long renewals rest after tokens are put back in a
	// store that lost them: longer than a renewal in flight at the loss
	// takes to store its answer (a token request's answer, then tries of
	// the save).
	PutBack = 30 * time.Second
)

// Left is how long renewals of r's environment still rest after one gave up
// (r.Rest), as every renewer follows it: 0 when there is no rest, it has
// ended, or it is longer than any rest of its kind is (Max for a rate
// limit's; Failing for a failing token endpoint's; PutBack for a
// put-back's, which holds a forced renewal too), written by a machine
// whose clock is ahead, which would otherwise hold renewals back here as
// far ahead as that clock is. A minute is allowed for clocks apart.
// status and the proxy's page tell of the rest only while it is followed.
func Left(r *store.Record, now time.Time) time.Duration {
	if r == nil || r.Rest == nil {
		return 0
	}
	longest := Failing
	switch {
	case r.Rest.PutBack:
		longest = PutBack
	case r.Rest.RateLimited:
		longest = Max
	}
	if left := r.Rest.Until.Sub(now); left > 0 && left <= longest+time.Minute {
		return left
	}
	return 0
}

// Ends is t, a rest's end, as every message tells it: the local time of
// day and its zone (a rest lasts an hour at most), rounded up to the
// second, as a second before its end renewals still rest.
func Ends(t time.Time) string {
	return t.Add(time.Second - 1).Truncate(time.Second).Local().Format("15:04:05 MST")
}
