package proxy_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
)

// TestMovedStoreIsFollowed: a running proxy follows `freshtoken store
// migrate` with no restart: once the configuration names the new store, its
// next request reads the tokens there and renews them there, the old copy
// gone. docs/configuration.md and `store migrate --help` said to start the
// proxy again, as until then it would look for the tokens in the old store.
func TestMovedStoreIsFollowed(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the move: %d %s", resp.StatusCode, body)
	}
	ctx := context.Background()
	old, rec := f.stored(t, "dev")
	moved := "file://" + filepath.Join(filepath.Dir(f.configPath), "moved")
	to, err := config.OpenStore(moved)
	if err != nil {
		t.Fatal(err)
	}
	if err := to.Save(ctx, "dev", rec); err != nil {
		t.Fatal(err)
	}
	if _, err := configedit.SetStoreURL(f.configPath, moved); err != nil {
		t.Fatal(err)
	}
	if err := old.Delete(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(accessTTL) // the token is due: the next request renews it where it reads it
	if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the move: %d %s; want 200 with the tokens of the new store", resp.StatusCode, body)
	}
	if _, now := f.stored(t, "dev"); now.Renewals != rec.Renewals+1 {
		t.Errorf("the new store's record has %d renewals; want %d: the proxy renewed elsewhere", now.Renewals, rec.Renewals+1)
	}
}
