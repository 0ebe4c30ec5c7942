// Package stallwatch holds, in a context, the function a store's calls tell
// whether their server answers (store.WithStalled, store.WatchStall), for
// the engine, which decides what its callers' functions are told of a
// stall it answers itself (serving the valid token it holds).
package stallwatch

import (
	"context"
	"sync"
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

// Ending returns a copy of ctx for one call that calls a store for ctx's
// caller, and end, which that call calls as it returns: it tells ctx's
// listener the end of each stall told through the copy and not ended since
// (a call the store gave up unanswered, whose end store.WatchStall does not
// tell), unless ctx has ended. Nothing waits for that store any more, and
// its next call tells whether it answers: a caller that keeps a stall
// until it is told its end (a proxy) kept it until a later call was
// answered.
func Ending(ctx context.Context) (_ context.Context, end func()) {
	outer := Listener(ctx)
	if outer == nil {
		return ctx, func() {}
	}
	var (
		mu   sync.Mutex
		open = map[string]time.Time{}
	)
	ctx = With(ctx, func(what string, stalled bool, since time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if stalled {
			open[what] = since
		} else {
			delete(open, what)
		}
		outer(what, stalled, since)
	})
	return ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		for what, since := range open {
			delete(open, what)
			outer(what, false, since)
		}
	}
}

// Unanswered is how long a call sent at since has waited for its answer
// at now, as a person is told it (a terminal's notice, the proxy's 503),
// in one rule for both: to the nearest second.
func Unanswered(since, now time.Time) time.Duration {
	return now.Sub(since).Round(time.Second)
}
