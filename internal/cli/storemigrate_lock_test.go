package cli

import (
	"context"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestMigrationTakesLocksInOneOrder: a migration takes both stores' locks in
// the order of their domains, whichever way it moves, so two opposite
// migrations at once wait for each other instead of each holding one lock
// for ever. Here the later domain's lock is held elsewhere, and a migration
// from that store to the other must hold the earlier domain's lock while it
// waits; taking its own store's lock first, it would hold none.
func TestMigrationTakesLocksInOneOrder(t *testing.T) {
	ctx := context.Background()
	earlier, later := t.TempDir()+"/a", t.TempDir()+"/b"
	if earlier > later {
		earlier, later = later, earlier
	}
	first, second := filestore.New(earlier), filestore.New(later)
	unlock, err := second.Lock(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, _, release, err := planMove(mctx, nil, "dev", nil, second, first, later, earlier)
		release()
		done <- err
	}()
	held := func(s store.Store) bool {
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		u, err := s.Lock(tctx, "dev")
		if err != nil {
			return true
		}
		u()
		return false
	}
	testenv.WaitFor(t, "the migration to hold the earlier domain's lock while it waits", func() bool { return held(first) })
	cancel()
	<-done
	unlock()
}
