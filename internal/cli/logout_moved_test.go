package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestLogoutWhileTheTokensMoved: `store migrate` in another terminal moved
// the tokens to another store and set [store] url while logout waited for
// the renewal lock. Logout found the old store empty and said "Logged out
// of dev: its tokens were deleted" (with --local, or no revocation
// endpoint) or "no stored tokens; nothing to log out of", exit 0, while
// the tokens lived on in the new store, `status` saying logged in. It now
// says that [store] url changed while it ran and to run the log-out again,
// exit 2, and the tokens it did not log out of are where they moved.
func TestLogoutWhileTheTokensMoved(t *testing.T) {
	for _, flags := range [][]string{{"--local"}, nil} {
		t.Run(strings.Join(append([]string{"logout"}, flags...), " "), func(t *testing.T) {
			moved := ""
			e, code, stderr, _ := logoutWhileTheLockIsHeld(t, flags, func(e *devEnv, old *filestore.Store) {
				moved = filepath.Join(e.dir, "moved")
				rec := e.record(t, "dev")
				if err := filestore.New(moved).Save(t.Context(), "dev", rec); err != nil {
					t.Fatal(err)
				}
				if _, err := configedit.SetStoreURL(e.config, fileURL(moved)); err != nil {
					t.Fatal(err)
				}
				if err := old.Delete(t.Context(), "dev"); err != nil {
					t.Fatal(err)
				}
			})
			if code != cli.ExitUsage || !strings.Contains(stderr, "[store] url in "+e.config+" was changed") || !strings.Contains(stderr, "to "+fileURL(moved)+" while this log-out ran") ||
				!strings.Contains(stderr, "run `freshtoken --config "+e.config+" "+strings.Join(append([]string{"logout"}, flags...), " ")+" -e dev` again") {
				t.Fatalf("logout: exit %d, stderr %q; want %d saying [store] url changed while it ran, and to run it again", code, stderr, cli.ExitUsage)
			}
			if strings.Contains(stderr, "Logged out") || strings.Contains(stderr, "nothing to log out of") {
				t.Fatalf("logout said it was done: %q", stderr)
			}
			if rec := e.record(t, "dev"); rec == nil || rec.RefreshToken == "" {
				t.Fatal("the moved tokens are gone")
			}
		})
	}
}

// TestLogoutWhileTheStoreURLWasRespelled: [store] url was written again,
// naming the same folder another way (a trailing slash; a Redis URL with
// its /0 added or its host in capitals), while logout waited for the
// renewal lock. Compared as strings, the two were two stores: logout said
// its tokens may have moved and were not logged out of (exit 2), having
// deleted them. Compared as stores, it logs out.
func TestLogoutWhileTheStoreURLWasRespelled(t *testing.T) {
	for _, flags := range [][]string{{"--local"}, nil} {
		t.Run(strings.Join(append([]string{"logout"}, flags...), " "), func(t *testing.T) {
			e, code, stderr, _ := logoutWhileTheLockIsHeld(t, flags, func(e *devEnv, _ *filestore.Store) {
				if _, err := configedit.SetStoreURL(e.config, fileURL(filepath.Join(e.dir, "state"))+"/"); err != nil {
					t.Fatal(err)
				}
			})
			if code != cli.ExitOK || !strings.Contains(stderr, "Logged out of dev") || strings.Contains(stderr, "was changed") {
				t.Fatalf("logout: exit %d, stderr %q; want %d, logged out", code, stderr, cli.ExitOK)
			}
			if rec := e.record(t, "dev"); rec != nil {
				t.Fatal("the tokens are still stored")
			}
		})
	}
}
