package keyringstore

import (
	"context"
	"errors"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/storetest"
)

// TestStalledCallToldAsItEnds: a call the keychain leaves unanswered past
// store.StallNotice (its daemon paused), answered once it runs again, tells
// its stall and then its end, an answer that is an error (no such item)
// included: a caller told no end (the proxy) would go on taking the
// keychain for stalled, and blame it for what it waits for next.
func TestStalledCallToldAsItEnds(t *testing.T) {
	kr := keyringtest.Start(t)
	if _, err := get(t.Context(), "freshtoken-test", "nothing"); !errors.Is(err, keyring.ErrNotFound) { // the connection made, before the stall
		t.Fatal(err)
	}
	err := storetest.StalledCall(t, func() { kr.Pause(t) }, func() { kr.Resume(t) }, func(ctx context.Context) error {
		_, err := get(ctx, "freshtoken-test", "nothing")
		return err
	})
	if !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("a read of no item once the keychain answers: %v; want keyring.ErrNotFound", err)
	}
}
