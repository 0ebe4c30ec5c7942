package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestMigrationKeepsARenewalThatLandsBeforeItsDeletion: store migrate's
// take-back of its copy in a Redis store, and its deletion of the old copy
// an interrupted move left in one, compared the record and then deleted
// it: a fleet's renewal landing in between (the migration paused past its
// lock there) was deleted with it, the only live refresh token. Now the
// deletion is compared in the same step, and the renewal is kept.
func TestMigrationKeepsARenewalThatLandsBeforeItsDeletion(t *testing.T) {
	copied := &store.Record{AccessToken: "access-1", RefreshToken: "refresh-1", Renewals: 1}
	renewed := &store.Record{AccessToken: "access-2", RefreshToken: "refresh-2", Renewals: 2}
	// in is a Redis store of the test's own holding copied, where a
	// fleet's machine stores renewed just after the next look.
	in := func(t *testing.T) *storetest.LandsAfterLoad {
		srv := redistest.Start(t)
		ctx := context.Background()
		mine, fleet := redistest.OpenStore(t, srv.URL), redistest.OpenStore(t, srv.URL)
		if err := mine.Save(ctx, "dev", copied); err != nil {
			t.Fatal(err)
		}
		s := &storetest.LandsAfterLoad{Store: mine, Land: func() {
			if err := fleet.Save(ctx, "dev", renewed); err != nil {
				t.Errorf("the fleet's renewal: %v", err)
			}
		}}
		s.Armed.Store(true)
		return s
	}
	kept := func(t *testing.T, s store.Store) {
		t.Helper()
		if got, err := s.Load(context.Background(), "dev"); err != nil || got.RefreshToken != renewed.RefreshToken {
			t.Fatalf("the Redis store holds %v (%v); want the fleet's renewal, %s, kept", got, err, renewed.RefreshToken)
		}
	}

	t.Run("the copy taken back", func(t *testing.T) {
		to := in(t)
		other, err := takeBackCopy(context.Background(), to, move{env: "dev", rec: copied})
		if err != nil || other == nil || other.RefreshToken != renewed.RefreshToken {
			t.Fatalf("takeBackCopy: %v, %v; want the fleet's renewal returned, kept", other, err)
		}
		kept(t, to)
	})

	t.Run("the old copy of an interrupted move", func(t *testing.T) {
		from := in(t)
		to := filestore.New(filepath.Join(t.TempDir(), "new"))
		if err := to.Save(context.Background(), "dev", copied); err != nil {
			t.Fatal(err)
		}
		var errOut bytes.Buffer
		f := &Factory{IO: &IOStreams{ErrOut: &errOut}}
		ours := func(*store.Record) error { return nil }
		err := deleteOldCopy(context.Background(), f, "dev", ours, from, to, "redis://old", tokensFingerprint(copied), "")
		if !errors.Is(err, store.ErrChanged) {
			t.Fatalf("deleteOldCopy: %v; want store.ErrChanged, the old copy kept\n%s", err, &errOut)
		}
		kept(t, from)
	})
}
