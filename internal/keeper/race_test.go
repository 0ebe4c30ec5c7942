package keeper

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// untilWaiting runs run in a goroutine with a context that tells when it
// waits for a lock, and returns once it waits, or is over: what closes
// when it is over.
func untilWaiting(run func(context.Context)) <-chan struct{} {
	done, waiting := make(chan struct{}), make(chan struct{}, 1)
	ctx := store.WithWaiting(context.Background(), func() {
		select {
		case waiting <- struct{}{}:
		default:
		}
	})
	go func() { defer close(done); run(ctx) }()
	select {
	case <-waiting:
	case <-done:
	}
	return done
}

// TestALogOutRacingTheKeepersWriteLeavesNoTokenFile: a log-out (or a
// remove) in another process while the keeper was writing the token file
// could leave the file holding the logged-out access token, usable until
// it expired, with nothing left to remove it: the keeper had read the
// tokens, the log-out deleted them and removed the file, and the keeper
// then wrote it. The keeper now reads the store again under the token
// file's lock, which the log-out takes to remove the file after deleting
// the tokens: a log-out before the keeper takes the lock leaves nothing
// written, and one while the keeper holds it removes what it wrote.
func TestALogOutRacingTheKeepersWriteLeavesNoTokenFile(t *testing.T) {
	for _, underLock := range []bool{false, true} {
		t.Run(map[bool]string{false: "before the keeper takes the lock", true: "while the keeper holds the lock"}[underLock], func(t *testing.T) {
			src := stored(t, true, func(*store.Record) {})
			file := filepath.Join(t.TempDir(), "token")
			k := keeping(src, file)
			k.Ledger = filepath.Join(t.TempDir(), "freshtoken", "token-files")
			logout := func(ctx context.Context) { // as `freshtoken logout --local` does
				if err := src.Logout(ctx); err != nil {
					t.Error(err)
				}
				if _, _, err := ForgetTokenFile(ctx, file, "access-token-1234567890", k.Ledger, Owner{}); err != nil {
					t.Error(err)
				}
			}
			var done <-chan struct{}
			if underLock {
				k.beforeWrite = func() { done = untilWaiting(logout) }
			} else {
				k.beforeLock = func() { done = untilWaiting(logout) } // nothing to wait for: over
			}
			k.keep(context.Background(), "dev", time.Minute)
			<-done
			if b, err := os.ReadFile(file); err == nil {
				t.Fatalf("the token file holds %q after the log-out", b)
			}
		})
	}
}

// keepingWithTheLockHeld is a keeper of a stored token's token file,
// logging to log, whose lock a stopped process holds for the whole test,
// and which waits for it only moments.
func keepingWithTheLockHeld(t *testing.T, log io.Writer) (*Keeper, *freshtoken.Source, string) {
	t.Helper()
	wait := tokenFileLockWait
	t.Cleanup(func() { tokenFileLockWait = wait })
	tokenFileLockWait = 50 * time.Millisecond
	src := stored(t, true, func(*store.Record) {})
	file := filepath.Join(t.TempDir(), "token")
	k := keeping(src, file)
	k.Logger = slog.New(slog.NewTextHandler(log, nil))
	k.Ledger = filepath.Join(t.TempDir(), "freshtoken", "token-files")
	unlock, err := lockTokenFile(context.Background(), k.Ledger, file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unlock(false) })
	return k, src, file
}

// TestATokenFileLockHeldByAStoppedProcessHoldsTheKeeperUpOnlySoLong: the
// keeper waited for the token file's lock for as long as it was held,
// without a word; held by a freshtoken logout or keeper stopped (Ctrl-Z)
// or hung there, the environment went unrenewed, its grant left to end.
// It now waits tokenFileLockWait at most, warns once, and writes the file.
func TestATokenFileLockHeldByAStoppedProcessHoldsTheKeeperUpOnlySoLong(t *testing.T) {
	var log strings.Builder
	k, _, file := keepingWithTheLockHeld(t, &log)
	for range 2 { // warned of once, not at every look
		os.Remove(file)
		done := make(chan struct{})
		go func() { defer close(done); k.keep(context.Background(), "dev", time.Minute) }()
		testenv.Receive(t, "the keeper's look, with the token file's lock held elsewhere", done)
		if b, err := os.ReadFile(file); err != nil || string(b) != "access-token-1234567890\n" {
			t.Errorf("the token file holds %q, %v; want the stored token written", b, err)
		}
	}
	if c := strings.Count(log.String(), "level=WARN"); c != 1 || !strings.Contains(log.String(), "lock has been held") || !strings.Contains(log.String(), "resume or end it") {
		t.Errorf("the keeper warned %d times:\n%s\nwant once, that the token file's lock is held and what to do", c, log.String())
	}
}

// TestALogOutDuringTheKeepersWriteWithoutTheLockLeavesNoTokenFile: with
// the token file's lock held by a stopped process, the keeper writes the
// file without it, having read the store again; a log-out between that
// read and the write (its own wait for the lock ended by Ctrl-C, or the
// stopped holder ended as it is told to) removed no file, and the keeper
// then wrote the logged-out access token, left usable until it expired
// (for good if that keeper was stopped next). The keeper now reads the
// store once more after such a write, and takes back a token logged out.
func TestALogOutDuringTheKeepersWriteWithoutTheLockLeavesNoTokenFile(t *testing.T) {
	k, src, file := keepingWithTheLockHeld(t, io.Discard)
	k.beforeWrite = func() { // as `freshtoken logout --local`, its wait for the lock ended by Ctrl-C
		if err := src.Logout(context.Background()); err != nil {
			t.Error(err)
		}
		interrupted, cancel := context.WithCancel(context.Background())
		cancel()
		if removed, _, err := ForgetTokenFile(interrupted, file, "access-token-1234567890", k.Ledger, Owner{}); removed || err != nil {
			t.Errorf("the log-out's ForgetTokenFile = %v, %v; want no file there yet", removed, err)
		}
	}
	k.keep(context.Background(), "dev", time.Minute)
	if b, err := os.ReadFile(file); err == nil {
		t.Fatalf("the token file holds %q after the log-out", b)
	}
	if _, err := os.Lstat(ledgerEntry(k.Ledger, file)); err == nil {
		t.Error("the ledger still notes the token file taken back")
	}
}

// TestAPutBackRacingTheKeepersWriteLeavesTheTokenPutBack: a failed import
// puts the earlier tokens back and has the token file follow (rewritten
// to hold the earlier access token if it holds the import's). A keeper
// that had read the import's tokens under the token file's lock wrote
// them after the put-back had followed the file, which did so without the
// lock: the file handed out the import's access token until the keeper's
// next look. FollowTokenFile now rewrites the file under the lock, after
// the keeper's write.
func TestAPutBackRacingTheKeepersWriteLeavesTheTokenPutBack(t *testing.T) {
	src := stored(t, true, func(*store.Record) {}) // the import's tokens
	file := filepath.Join(t.TempDir(), "token")
	k := keeping(src, file)
	k.Ledger = filepath.Join(t.TempDir(), "freshtoken", "token-files")
	st := filestore.New(filepath.Dir(src.Location()))
	var done <-chan struct{}
	k.beforeWrite = func() { // the keeper has read the import's tokens under the lock
		earlier, err := st.Load(context.Background(), "dev")
		if err != nil {
			t.Fatal(err)
		}
		earlier.AccessToken = "earlier-access-token-0987654321"
		if err := st.Save(context.Background(), "dev", earlier); err != nil {
			t.Fatal(err)
		}
		done = untilWaiting(func(ctx context.Context) {
			if err := FollowTokenFile(ctx, file, "access-token-1234567890", earlier.AccessToken, k.Ledger, Owner{}, earlier.Expiry); err != nil {
				t.Error(err)
			}
		})
	}
	k.keep(context.Background(), "dev", time.Minute)
	<-done
	if b, err := os.ReadFile(file); err != nil || string(b) != "earlier-access-token-0987654321\n" {
		t.Fatalf("after the put-back the token file holds %q, %v; want the access token put back", b, err)
	}
}
