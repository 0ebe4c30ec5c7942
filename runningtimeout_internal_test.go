package freshtoken

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRunningTimeoutEnds: the token request's timeout, which counts the
// time the process ran (see TestStoppedPastTheTimeoutKeepsTheAnswer in
// e2e), still ends the request once that time has run, with the error of
// a deadline, and ends with its parent or its cancel as a context does
// (the cancel at once).
func TestRunningTimeoutEnds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		end     func(stopParent, cancel context.CancelFunc)
		want    error
		atOnce  bool // ended before end returns
	}{
		{"the timeout run", 50 * time.Millisecond, func(context.CancelFunc, context.CancelFunc) {}, context.DeadlineExceeded, false},
		{"the parent's end", time.Hour, func(stopParent, _ context.CancelFunc) { stopParent() }, context.Canceled, false},
		{"its cancel", time.Hour, func(_, cancel context.CancelFunc) { cancel() }, context.Canceled, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, stopParent := context.WithCancel(context.Background())
			defer stopParent()
			ctx, cancel := withRunningTimeout(parent, tc.timeout)
			defer cancel()
			tc.end(stopParent, cancel)
			if err := ctx.Err(); tc.atOnce && !errors.Is(err, tc.want) {
				t.Fatalf("Err right after %s: %v; want %v at once", tc.name, err, tc.want)
			}
			select {
			case <-ctx.Done():
			case <-time.After(30 * time.Second):
				t.Fatalf("%s never ended the context", tc.name)
			}
			if !errors.Is(ctx.Err(), tc.want) {
				t.Fatalf("Err after %s: %v; want %v", tc.name, ctx.Err(), tc.want)
			}
		})
	}
}
