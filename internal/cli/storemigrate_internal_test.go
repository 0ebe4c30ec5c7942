package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
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
			from, to, errOut := deleteOldCopyOf(t, tc.old, tc.now, moved)
			if _, err := from.Load(ctx, "dev"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the old copy is still there (%v)", err)
			}
			if got, err := to.Load(ctx, "dev"); err != nil || got.RefreshToken != tc.want {
				t.Fatalf("the new store holds %v (%v); want %s, the live refresh token\n%s", got, err, tc.want, errOut)
			}
		})
	}
}

// deleteOldCopyOf finishes the move of "dev" from an old file store
// holding old to a new one holding now, the tokens that moved moved's:
// it returns the two stores, and what the finish said.
func deleteOldCopyOf(t *testing.T, old, now, moved *store.Record) (from, to store.Store, errOut *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	from, to = filestore.New(filepath.Join(t.TempDir(), "old")), filestore.New(filepath.Join(t.TempDir(), "new"))
	if err := from.Save(ctx, "dev", old); err != nil {
		t.Fatal(err)
	}
	if err := to.Save(ctx, "dev", now); err != nil {
		t.Fatal(err)
	}
	errOut = new(bytes.Buffer)
	f := &Factory{IO: &IOStreams{ErrOut: errOut}}
	ours := func(*store.Record) error { return nil }
	if err := deleteOldCopy(ctx, f, "dev", ours, from, to, "file:///old", tokensFingerprint(moved), ""); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	return from, to, errOut
}

// TestFinishingAMoveLeavesAnotherLogInsTokens: finishing a move killed
// before its deletions, the old store holds tokens of another log-in of
// the same client than the new store's (another configuration's that
// reads the old store under this name, logged in since to its own
// account): they are left where they are, and the new store's kept. They
// were taken for the old copy renewed since, and moved over this
// configuration's tokens (its commands then on the other account's books,
// the other told to log in), or deleted as the older copy, the other
// configuration's grant with them. The copy that moved, found in the old
// store after a log-in here since, is deleted still.
func TestFinishingAMoveLeavesAnotherLogInsTokens(t *testing.T) {
	at := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	moved := &store.Record{AccessToken: "access-1", RefreshToken: "refresh-1", IssuedAt: at, LoggedInAt: at}
	logIn := func(access, refresh string, when time.Duration) *store.Record {
		return &store.Record{AccessToken: access, RefreshToken: refresh, IssuedAt: at.Add(when), LoggedInAt: at.Add(when)}
	}
	renewed := &store.Record{AccessToken: "access-2", RefreshToken: "refresh-2", IssuedAt: at.Add(2 * time.Hour), LoggedInAt: at, Renewals: 1}
	for _, tc := range []struct {
		name     string
		old, now *store.Record
		oldKept  bool
	}{
		{"another's log-in since, the new copy as it moved", logIn("others-access", "others-refresh", time.Hour), moved, true},
		{"another's earlier log-in, the new copy renewed since", logIn("others-access", "others-refresh", -time.Hour), renewed, true},
		{"a log-in here since, the old copy the one that moved", moved, logIn("access-3", "refresh-3", time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			from, to, errOut := deleteOldCopyOf(t, tc.old, tc.now, moved)
			old, err := from.Load(ctx, "dev")
			switch {
			case tc.oldKept && (err != nil || old.RefreshToken != tc.old.RefreshToken):
				t.Errorf("the other log-in's tokens in the old store: %v (%v); want them kept\n%s", old, err, errOut)
			case tc.oldKept && !strings.Contains(errOut.String(), "holds tokens of another log-in"):
				t.Errorf("stderr: %q; want it to say the other log-in's tokens were left", errOut)
			case !tc.oldKept && !errors.Is(err, store.ErrNotFound):
				t.Errorf("the copy that moved is still in the old store (%v)", err)
			}
			if got, err := to.Load(ctx, "dev"); err != nil || got.RefreshToken != tc.now.RefreshToken {
				t.Errorf("the new store holds %v (%v); want this configuration's own tokens, as they were\n%s", got, err, errOut)
			}
		})
	}
}

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
		_, _, release, err := planMove(mctx, nil, "dev", nil, leftCopies(nil).in(mctx, target{}), second, first, later, earlier)
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

// TestMigrationToTheKeychainKeepsTheLockFolderFix: `store migrate --to
// keyring://` whose renewal-lock folder cannot be made (a file in its
// path) keeps the keychain's advice, to make that a folder: it was told
// to "name a folder you can write in with --to", of a --to that names a
// keychain, as a folder --to names is.
func TestMigrationToTheKeychainKeepsTheLockFolderFix(t *testing.T) {
	file := filepath.Join(t.TempDir(), "afile")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := filestore.NewLocks(filepath.Join(file, "state")).Lock(context.Background(), "dev")
	got := fullDestination(&newStoreError{err}, "the system keychain", true).Error()
	if !strings.Contains(got, "whatever $XDG_STATE_HOME says") || strings.Contains(got, "with --to") {
		t.Errorf("lock folder of the keychain not made: %s; want the keychain's advice, not --to's", got)
	}
	_, err = filestore.New(filepath.Join(file, "tokens")).Lock(context.Background(), "dev")
	if got := fullDestination(&newStoreError{err}, file, true).Error(); !strings.HasSuffix(got, "; name a folder you can write in with --to") {
		t.Errorf("token folder of --to not made: %s; want --to's advice", got)
	}
}

// TestMigrationTellsOfARedisLockHeldElsewhere: a migration waiting for a
// renewal lock another process holds in Redis says it waits, as it does
// for a file store's; a Redis that cannot be reached is not said to be
// waited for (see TestStoreMigrateToARedisThatIsDown).
func TestMigrationTellsOfARedisLockHeldElsewhere(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	to, err := config.OpenStore("redis://" + srv.Addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { to.(io.Closer).Close() })
	// Another process's lock, with no mark of a renewal in flight; it
	// expires, so that a migration that never says it waits ends.
	if r := srv.Command(t, "SET", "freshtoken:dev:lock", "another", "PX", "10000"); r != "+OK" {
		t.Fatalf("SET: %s", r)
	}
	errOut, w := io.Pipe()
	f := &Factory{IO: &IOStreams{ErrOut: w}}
	done := make(chan error, 1)
	go func() {
		var unlocks []func()
		err := lockBoth(ctx, f, "dev", filestore.New(filepath.Join(t.TempDir(), "old")), to, "file", "redis", &unlocks)
		for _, u := range unlocks {
			u()
		}
		w.Close()
		done <- err
	}()
	line, err := bufio.NewReader(errOut).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "dev: waiting for the renewal lock of dev: another process or machine is renewing it") {
		t.Errorf("told %q (%v); want the wait for the lock told", line, err)
	}
	srv.Command(t, "DEL", "freshtoken:dev:lock")
	if err := <-done; err != nil {
		t.Fatalf("the lock let go of: %v", err)
	}
}
