package cli

import (
	"context"
	"errors"
	"fmt"
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
		if got := interrupted(tc.err); got != tc.want {
			t.Errorf("interrupted(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
