package cli_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/testenv"
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

// TestLogoutMovedAfterItLetTheLockGo: `store migrate` in another terminal
// took the renewal lock as soon as logout had revoked and deleted the
// tokens and let it go, found nothing to move, and set [store] url. Logout,
// checking [store] url only then, said its tokens may have moved and were
// not logged out of (exit 2), though it had ended them, and left the token
// file. It checks under the lock, before anything is sent or deleted.
func TestLogoutMovedAfterItLetTheLockGo(t *testing.T) {
	for _, flags := range [][]string{{"--local"}, nil} {
		t.Run(strings.Join(append([]string{"logout"}, flags...), " "), func(t *testing.T) {
			e := newDevEnv(t)
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/revoke"})
			e.loginOutside(t)
			errOut := &onLine{line: `msg="tokens deleted"`, do: func() {
				if _, err := configedit.SetStoreURL(e.config, fileURL(filepath.Join(e.dir, "moved"))); err != nil {
					t.Error(err)
				}
			}}
			ios := &cli.IOStreams{In: strings.NewReader(""), Out: testenv.NewOutput(), ErrOut: errOut}
			if code := e.run(ios, append([]string{"--debug", "logout", "-e", "dev"}, flags...)...); code != cli.ExitOK || !strings.Contains(errOut.String(), "Logged out of dev") {
				t.Fatalf("logout: exit %d, stderr %q; want %d, logged out", code, errOut, cli.ExitOK)
			}
			if !errOut.done {
				t.Fatal("no store migrate came after the tokens were deleted")
			}
			if rec, err := filestore.New(filepath.Join(e.dir, "state")).Load(t.Context(), "dev"); rec != nil || err == nil {
				t.Fatalf("the tokens are still in the store logged out of: %v", err)
			}
		})
	}
}

// onLine is stderr that calls do, once, as the line holding line is
// written: what another process does at that moment.
type onLine struct {
	mu   sync.Mutex
	out  strings.Builder
	line string
	do   func()
	done bool
}

func (w *onLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(p)
	if !w.done && strings.Contains(w.out.String(), w.line) {
		w.done = true
		w.do()
	}
	return len(p), nil
}

func (w *onLine) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}
