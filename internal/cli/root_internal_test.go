package cli

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// TestInterruptedSaysWhatWasDone: the last word of a command a signal
// stopped keeps what the command said it did or did not do, without Go's
// "context canceled", which is the signal itself: `remove` stopped while a
// paused keychain was asked said "interrupted: context canceled; nothing
// was removed", `init` "…keychain: context canceled; nothing was written".
func TestInterruptedSaysWhatWasDone(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "interrupted"},
		{context.Canceled, "interrupted"},
		{fmt.Errorf("%w; nothing was removed", context.Canceled), "interrupted; nothing was removed"},
		{fmt.Errorf("the client secret could not be kept in the keychain: %w; nothing was written", context.Canceled),
			"interrupted: the client secret could not be kept in the keychain; nothing was written"},
		{fmt.Errorf("dev: lock: %w", context.Canceled), "interrupted: dev: lock"},
		{errors.New("dev: the provider could not be reached"), "interrupted: dev: the provider could not be reached"},
	} {
		if got := interrupted("interrupted", tc.err); got != tc.want {
			t.Errorf("interrupted(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestHangUpSaysTheTerminalClosed: a command that a hang-up stopped (its
// terminal closed, SIGHUP, exit 129) said "interrupted", and the person who
// read a `2>log` file later saw the wrong cause. Its terminal closed, it says the
// terminal closed, otherwise (a service sent `kill -HUP`) that a hang-up
// signal stopped it, and keeps what the command said it did; the other
// signals still say "interrupted".
func TestHangUpSaysTheTerminalClosed(t *testing.T) {
	for _, tc := range []struct {
		sig    syscall.Signal
		closed bool
		err    error
		want   string
	}{
		{syscall.SIGHUP, true, nil, "the terminal closed (SIGHUP)"},
		{syscall.SIGHUP, true, errHungUp, "the terminal closed (SIGHUP)"},
		{syscall.SIGHUP, true, fmt.Errorf("%w; nothing was imported", context.Canceled), "the terminal closed (SIGHUP); nothing was imported"},
		{syscall.SIGHUP, true, errors.New("dev: the provider could not be reached"), "the terminal closed (SIGHUP): dev: the provider could not be reached"},
		{syscall.SIGHUP, false, nil, "stopped by a hang-up signal (SIGHUP)"},
		{syscall.SIGTERM, true, nil, "interrupted"},
		{syscall.SIGQUIT, false, context.Canceled, "interrupted"},
	} {
		if got := interrupted(stoppedBy(tc.sig, tc.closed), tc.err); got != tc.want {
			t.Errorf("%v, the terminal closed %v, %v: %q, want %q", tc.sig, tc.closed, tc.err, got, tc.want)
		}
	}
}
