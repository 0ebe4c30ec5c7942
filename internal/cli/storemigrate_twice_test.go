package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestStoreMigrateAfterAnotherMoveWhileItWaited: two `store migrate` run
// at once (two terminals), the second waiting for the renewal lock while
// the first moves the tokens to its store and sets [store] url. Once it
// held the lock, the second found no tokens left in the old store ("no
// tokens to move (not logged in)") and set [store] url to its own, empty
// store: every command then said to log in, the tokens left in the first
// store, named nowhere. It now sees that [store] url changed meanwhile,
// moves nothing and leaves it naming the store that holds the tokens: exit
// 2 saying so and to run the command again, or, when the first moved them
// where it was to, exit 0 saying they are there already.
func TestStoreMigrateAfterAnotherMoveWhileItWaited(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sameTo bool
	}{{"to_another_store", false}, {"to_the_same_store", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			first := filepath.Join(e.dir, "first")
			to := filepath.Join(e.dir, "second")
			if tc.sameTo {
				to = first
			}
			old, unlock, errOut, exited := runWaitingForDevLock(t, e, "store", "migrate", "--to", fileURL(to))

			// The first move, under the lock it holds: the record copied,
			// [store] url set, the old copy deleted.
			rec := e.record(t, "dev")
			if err := filestore.New(first).Save(t.Context(), "dev", rec); err != nil {
				t.Fatal(err)
			}
			if _, err := configedit.SetStoreURL(e.config, fileURL(first)); err != nil {
				t.Fatal(err)
			}
			if err := old.Delete(t.Context(), "dev"); err != nil {
				t.Fatal(err)
			}
			unlock()

			code := <-exited
			msg := errOut.String()
			switch {
			case tc.sameTo && (code != 0 || !strings.Contains(msg, "already")):
				t.Fatalf("store migrate: exit %d, stderr %q; want 0 saying the tokens are there already", code, msg)
			case !tc.sameTo && (code != cli.ExitUsage || !strings.Contains(msg, "was changed") || !strings.Contains(msg, "run the same command again")):
				t.Fatalf("store migrate: exit %d, stderr %q; want %d saying [store] url changed meanwhile and to run it again", code, msg, cli.ExitUsage)
			}
			f, err := config.Load(e.config)
			if err != nil {
				t.Fatal(err)
			}
			if f.StoreURL != fileURL(first) {
				t.Fatalf("[store] url = %q; want %q, the store that holds the tokens", f.StoreURL, fileURL(first))
			}
			if got := e.record(t, "dev"); got.RefreshToken != rec.RefreshToken {
				t.Fatal("the configured store does not hold the tokens the first move put there")
			}
			if !tc.sameTo {
				if _, err := os.Stat(filepath.Join(to, "dev.json")); err == nil {
					t.Fatal("the second move wrote a record to its store")
				}
			}
		})
	}
}
