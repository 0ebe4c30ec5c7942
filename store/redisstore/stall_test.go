package redisstore_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/store"
)

// TestWaitForAReplicaIsNoStall: a save waiting up to ReplicaWait (3 s
// here, a Go program's setting) for a replica that lags is Redis's own
// WAIT, answered in time, not Redis leaving the call unanswered: nothing
// is told through store.WithStalled, which would say at a terminal that
// Redis did not answer.
func TestWaitForAReplicaIsNoStall(t *testing.T) {
	_, _, link, s := replicated(t, 3*time.Second)
	t.Cleanup(lock(t, s))
	link.Hold()
	defer link.Release()
	var stalls atomic.Int32
	ctx, _ := warned() // the save says it is not yet on a replica
	ctx = store.WithStalled(ctx, func(what string, stalled bool) {
		if stalled {
			stalls.Add(1)
		}
	})
	if err := s.Save(ctx, "sandbox", copyOf(2)); err != nil {
		t.Fatalf("a save no replica acknowledged: %v; want it standing", err)
	}
	if n := stalls.Load(); n != 0 {
		t.Fatalf("a save waiting for a replica was told as Redis not answering, %d times", n)
	}
}
