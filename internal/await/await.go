// Package await gives up waiting for a call that cannot be cancelled
// itself (a read of a terminal, a pipe, a Redis that does not answer) when
// its context ends.
package await

import "context"

// Result runs f in a goroutine and returns what it returns, or ctx's error
// as soon as ctx ends, leaving f to finish, or not, in the background.
// Only for calls whose result may be dropped (reads), or whose late
// landing the caller undoes (the Redis store's lock, given up at Redis):
// a write given up on may still land.
func Result[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
