// Package stallwatch holds, in a context, the function a store's calls tell
// whether their server answers (store.WithStalled, store.WatchStall), for
// the engine, which decides what its callers' functions are told of a
// stall it answers itself (serving the valid token it holds).
package stallwatch

import (
	"context"
	"time"
)

// key is the context key of the function With adds.
type key struct{}

// Listener returns the function ctx carries, nil if none.
func Listener(ctx context.Context) func(what string, stalled bool, since time.Time) {
	f, _ := ctx.Value(key{}).(func(string, bool, time.Time))
	return f
}

// With returns a copy of ctx that carries f in place of any function ctx
// carried: f is told alone, and tells the one before it what it chooses.
func With(ctx context.Context, f func(what string, stalled bool, since time.Time)) context.Context {
	return context.WithValue(ctx, key{}, f)
}

// Unanswered is how long a call sent at since has waited for its answer
// at now, as a person is told it (a terminal's notice, the proxy's 503),
// in one rule for both: to the nearest second.
func Unanswered(since, now time.Time) time.Duration {
	return now.Sub(since).Round(time.Second)
}
