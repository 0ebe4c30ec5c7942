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
//
// A panic in f (a program's function: a client secret's, a store's) is
// the caller's, raised again in its goroutine as if it had called f
// itself, so that it can recover it; raised in f's goroutine, it ended the
// process. Once the caller has stopped waiting, no one can recover it, and
// it is raised in f's goroutine, as x/sync's singleflight raises a panic
// none of its callers waits for.
func Result[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	panicked := make(chan any)
	gone := make(chan struct{})
	go func() {
		defer func() {
			if p := recover(); p != nil {
				select {
				case panicked <- p:
				case <-gone:
					panic(p)
				}
			}
		}()
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case p := <-panicked:
		panic(p)
	case <-ctx.Done():
		close(gone)
		var zero T
		return zero, ctx.Err()
	}
}
