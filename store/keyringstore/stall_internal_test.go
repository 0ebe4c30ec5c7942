package keyringstore

import (
	"context"
	"errors"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
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
	told := make(chan bool, 10)
	ctx := store.WithStalled(context.Background(), func(what string, stalled bool) { told <- stalled })
	kr.Pause(t)
	got := make(chan error, 1)
	go func() {
		_, err := get(ctx, "freshtoken-test", "nothing")
		got <- err
	}()
	if !testenv.Receive(t, "the stall", told) {
		t.Fatal("the call told its end before its stall")
	}
	kr.Resume(t)
	if err := testenv.Receive(t, "the call", got); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("a read of no item once the keychain answers: %v; want keyring.ErrNotFound", err)
	}
	select {
	case stalled := <-told:
		if stalled {
			t.Fatal("the call told a second stall, not its end")
		}
	default:
		t.Fatal("the stalled call, answered, did not tell its end")
	}
}
