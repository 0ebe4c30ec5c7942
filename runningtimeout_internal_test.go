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
// a deadline, and ends with its parent or its cancel as a context does.
func TestRunningTimeoutEnds(t *testing.T) {
	ctx, cancel := withRunningTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	select {
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the timeout never ended the context")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err: %v; want context.DeadlineExceeded", ctx.Err())
	}

	parent, stop := context.WithCancel(context.Background())
	ctx, cancel = withRunningTimeout(parent, time.Hour)
	defer cancel()
	stop()
	select {
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the parent's end never ended the context")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("Err after the parent's end: %v; want context.Canceled", ctx.Err())
	}

	ctx, cancel = withRunningTimeout(context.Background(), time.Hour)
	cancel()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("Err once cancelled: %v; want context.Canceled at once", ctx.Err())
	}
	<-ctx.Done()
}
