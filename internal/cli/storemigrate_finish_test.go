package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestFinishingAMoveTrustsTokensOverClocks: finishing a move killed before
// its deletions, the copy kept is the one renewed since the move, told by
// which copy still holds the tokens that moved, not by issue times, which
// machines whose clocks disagree write: a copy renewed by a machine set
// an hour behind was deleted as the older, its live refresh token with
// it, or moved, spent, over the live one.
func TestFinishingAMoveTrustsTokensOverClocks(t *testing.T) {
	at := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	moved := &store.Record{AccessToken: "access-1", RefreshToken: "refresh-1", IssuedAt: at}
	behind := func(access, refresh string) *store.Record { // renewed by a clock an hour behind
		return &store.Record{AccessToken: access, RefreshToken: refresh, IssuedAt: at.Add(-time.Hour)}
	}
	for _, tc := range []struct {
		name     string
		old, now *store.Record
		want     string // the refresh token the new store holds at the end
	}{
		{"the old copy renewed since, behind", behind("access-2", "refresh-2"), moved, "refresh-2"},
		{"the new copy renewed since, behind", moved, behind("access-3", "refresh-3"), "refresh-3"},
		{"neither renewed", moved, moved, "refresh-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			from, to := filestore.New(filepath.Join(t.TempDir(), "old")), filestore.New(filepath.Join(t.TempDir(), "new"))
			if err := from.Save(ctx, "dev", tc.old); err != nil {
				t.Fatal(err)
			}
			if err := to.Save(ctx, "dev", tc.now); err != nil {
				t.Fatal(err)
			}
			var errOut bytes.Buffer
			f := &Factory{IO: &IOStreams{ErrOut: &errOut}}
			ours := func(*store.Record) error { return nil }
			if err := deleteOldCopy(ctx, f, "dev", ours, from, to, "file:///old", tokensFingerprint(moved)); err != nil {
				t.Fatalf("%v\n%s", err, &errOut)
			}
			if _, err := from.Load(ctx, "dev"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the old copy is still there (%v)", err)
			}
			if got, err := to.Load(ctx, "dev"); err != nil || got.RefreshToken != tc.want {
				t.Fatalf("the new store holds %v (%v); want %s, the live refresh token\n%s", got, err, tc.want, &errOut)
			}
		})
	}
}
