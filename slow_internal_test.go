package freshtoken

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestSlowWaitsWarningIsDoneWhenTheWaitIs: once a wait's end is marked,
// its "slow" warning is on the log or never will be. It could still be
// being written: after the renewal's own lines, and (the race detector
// caught it) into a log the program was reading.
func TestSlowWaitsWarningIsDoneWhenTheWaitIs(t *testing.T) {
	defer func(w time.Duration) { slowWait = w }(slowWait)
	slowWait = time.Millisecond
	h := &enteredHandler{entered: make(chan struct{})}
	s := &Source{log: slog.New(h)}
	done := s.sayIfSlow("waiting for the token endpoint")
	<-h.entered
	done()
	if h.logged != "waiting for the token endpoint" {
		t.Fatalf("the warning was %q when the wait was marked ended; want it written", h.logged)
	}
}

// enteredHandler tells when a record begins to be handled, and then keeps
// its message, unguarded: a write that the wait's end does not wait for
// races with the test's read.
type enteredHandler struct {
	entered chan struct{}
	logged  string
}

func (h *enteredHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *enteredHandler) Handle(_ context.Context, r slog.Record) error {
	close(h.entered)
	h.logged = r.Message
	return nil
}

func (h *enteredHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *enteredHandler) WithGroup(string) slog.Handler      { return h }
