package keeper

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
)

// ledgerWorld is a token file of the user's own, "mine\n", and a ledger
// in a default token folder that noteWritten has made.
func ledgerWorld(t *testing.T) (ledger, file string) {
	t.Helper()
	ledger = filepath.Join(t.TempDir(), "freshtoken", "token-files")
	file = filepath.Join(t.TempDir(), "token")
	if err := noteWritten(ledger, filepath.Join(t.TempDir(), "other"), "access-token-0987654321\n", Owner{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return ledger, file
}

// plantNote writes at where a note that freshtoken wrote file's content
// ("mine\n") there: what would have logout remove the user's file.
func plantNote(t *testing.T, where string) {
	t.Helper()
	if err := os.WriteFile(where, []byte(fingerprint("mine\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTheLedgerFollowsNoLinkNorFolderOthersMayUse: the ledger's notes
// decide which token_file a log-out or a remove deletes, and they were read
// through any link (the ledger's folder, the default token folder that
// holds it, a note itself) and from a folder others may write in, where
// the token store follows no link and refuses such a folder: a note
// planted there had `logout` delete a file of the user's own. A note is
// now trusted, and written, only in folders of the user's alone, never
// through a link.
func TestTheLedgerFollowsNoLinkNorFolderOthersMayUse(t *testing.T) {
	for _, c := range []struct {
		name string
		// folder: the ledger's folder is refused, and no note written
		// there; a link at a note is replaced, never followed.
		folder bool
		plant  func(t *testing.T, ledger, file string)
	}{
		{"the ledger's folder a link", true, func(t *testing.T, ledger, file string) {
			elsewhere := t.TempDir()
			plantNote(t, filepath.Join(elsewhere, filepath.Base(ledgerEntry(ledger, file))))
			if err := os.RemoveAll(ledger); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, ledger); err != nil {
				t.Fatal(err)
			}
		}},
		{"the token folder a link", true, func(t *testing.T, ledger, file string) {
			elsewhere := filepath.Join(t.TempDir(), "freshtoken")
			if err := os.MkdirAll(filepath.Join(elsewhere, "token-files"), 0o700); err != nil {
				t.Fatal(err)
			}
			plantNote(t, filepath.Join(elsewhere, "token-files", filepath.Base(ledgerEntry(ledger, file))))
			if err := os.RemoveAll(filepath.Dir(ledger)); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, filepath.Dir(ledger)); err != nil {
				t.Fatal(err)
			}
		}},
		{"a note a link", false, func(t *testing.T, ledger, file string) {
			elsewhere := filepath.Join(t.TempDir(), "note")
			plantNote(t, elsewhere)
			if err := os.Symlink(elsewhere, ledgerEntry(ledger, file)); err != nil {
				t.Fatal(err)
			}
		}},
		{"the ledger's folder open to others", true, func(t *testing.T, ledger, file string) {
			plantNote(t, ledgerEntry(ledger, file))
			if err := os.Chmod(ledger, 0o777); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if runtime.GOOS == "windows" {
				t.Skip("links need privileges, and modes say nothing, on Windows")
			}
			ledger, file := ledgerWorld(t)
			c.plant(t, ledger, file)
			removed, _, err := ForgetTokenFile(context.Background(), file, "", ledger, Owner{})
			if got, rerr := os.ReadFile(file); removed || err != nil || string(got) != "mine\n" {
				t.Fatalf("ForgetTokenFile = %v, %v; the user's file holds %q, %v: want it left as it was, trusting no note there", removed, err, got, rerr)
			}
			if err := noteWritten(ledger, file, "access-token-1234567890\n", Owner{}, time.Time{}); c.folder && err == nil {
				t.Errorf("noteWritten wrote a note in a ledger it may not use")
			}
		})
	}
}

// TestTheLedgerLitterIsRemovedByTheNextWriter: a keeper killed while it
// noted a token file's write (SIGKILL, power loss) left its temp file in
// the ledger's folder, and nothing removed it: the token store's folder,
// which holds the ledger, filled with litter. The next note of that token
// file removes what one left more than a few minutes ago, and none a
// live writer may be renaming now.
func TestTheLedgerLitterIsRemovedByTheNextWriter(t *testing.T) {
	ledger, file := ledgerWorld(t)
	entry := ledgerEntry(ledger, file)
	crashed := filepath.Join(ledger, "."+filepath.Base(entry)+".tmp-crashed")
	live := filepath.Join(ledger, "."+filepath.Base(entry)+".tmp-live")
	for _, p := range []string{crashed, live} {
		if err := os.WriteFile(p, []byte(fingerprint("access-token-1234567890\n")), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(crashed, old, old); err != nil {
		t.Fatal(err)
	}
	if err := noteWritten(ledger, file, "access-token-1234567890\n", Owner{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(crashed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temp file a killed writer left: %v; want it removed", err)
	}
	if _, err := os.Lstat(live); err != nil {
		t.Errorf("a live writer's temp file: %v; want it kept", err)
	}
}

// TestTheKeepersRemovalsTakeTheirNotesOutOfTheLedger: a token file the
// keeper removed itself (its environment's tokens logged out, the grant
// ended, token_file moved) kept its note in the ledger for good: a ledger
// growing with every token_file named over the years, and noting files
// there are no more. The keeper now takes the note out with the file, and
// the file's lock file too (it stayed, one for each token_file ever
// written).
func TestTheKeepersRemovalsTakeTheirNotesOutOfTheLedger(t *testing.T) {
	for _, c := range []struct {
		name string
		end  func(t *testing.T, p *devprovider.Provider, clock *fakeclock.Clock, src *freshtoken.Source, k *Keeper)
	}{
		{"logged out", func(t *testing.T, _ *devprovider.Provider, _ *fakeclock.Clock, src *freshtoken.Source, _ *Keeper) {
			if err := src.Logout(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
		{"the grant ended", func(_ *testing.T, p *devprovider.Provider, clock *fakeclock.Clock, _ *freshtoken.Source, _ *Keeper) {
			p.RevokeGrants()
			clock.Advance(time.Hour) // the token file's token is due
		}},
		{"token_file moved", func(t *testing.T, _ *devprovider.Provider, _ *fakeclock.Clock, _ *freshtoken.Source, k *Keeper) {
			moved := filepath.Join(t.TempDir(), "moved")
			k.TokenFile = func(string) string { return moved }
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour}, true)
			file := filepath.Join(t.TempDir(), "token")
			k, _ := keepingTold(src, file, clock)
			k.Ledger = filepath.Join(t.TempDir(), "freshtoken", "token-files")
			k.round(context.Background(), time.Minute)
			if _, err := os.Lstat(ledgerEntry(k.Ledger, file)); err != nil {
				t.Fatalf("the keeper's write of the token file is not noted: %v", err)
			}
			c.end(t, p, clock, src, k)
			k.round(context.Background(), time.Minute)
			if _, err := os.Lstat(file); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the token file: %v; want it removed by the keeper", err)
			}
			if _, err := os.Lstat(ledgerEntry(k.Ledger, file)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the ledger still notes the removed token file (%v); want the note gone with it", err)
			}
			if _, err := os.Lstat(ledgerEntry(k.Ledger, file) + ".lock"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the removed token file's lock file: %v; want it gone with it", err)
			}
		})
	}
}

// ledgerHoldsNothing fails t unless ledger holds no file: no note, no lock.
func ledgerHoldsNothing(t *testing.T, ledger string) {
	t.Helper()
	entries, err := os.ReadDir(ledger)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("the ledger still holds %s; want nothing of a token file there is not", e.Name())
	}
}

// TestForgettingATokenFileThatIsNotThereLeavesNothingInTheLedger: a
// log-out or a remove of an environment whose token_file was not there
// (never written, or removed by the keeper) left a lock file in the
// ledger for good, one more for each such token_file; and a note of a
// token file that is no more stayed too. Both go now.
func TestForgettingATokenFileThatIsNotThereLeavesNothingInTheLedger(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "freshtoken", "token-files")
	file := filepath.Join(t.TempDir(), "token")
	if err := noteWritten(ledger, file, "access-token-1234567890\n", Owner{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // its note gone first, then with none
		removed, _, err := ForgetTokenFile(context.Background(), file, "access-token-1234567890", ledger, Owner{})
		if removed || err != nil {
			t.Fatalf("ForgetTokenFile = %v, %v; want nothing removed", removed, err)
		}
		ledgerHoldsNothing(t, ledger)
	}
}

// TestAHoldIsNotedUnderTheTokenFilesLock: a keeper notes the wait after a
// renewal that gained nothing beside its token file's note (noteHeld) as
// every writer of the file and its note does, under the token file's lock.
// It read the note and wrote it back without: another keeper sharing the
// file that wrote it anew in between (or a log-out that removed it) lost
// its note to the one read before, which named a token the file no longer
// held. While another holds the lock, nothing is noted; once it is free,
// the hold is.
func TestAHoldIsNotedUnderTheTokenFilesLock(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "freshtoken", "token-files")
	file := filepath.Join(t.TempDir(), "token")
	const content = "access-token-1234567890\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := noteWritten(ledger, file, content, Owner{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	entry := ledgerEntry(ledger, file)
	before, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	held := now.Add(30 * time.Second)
	unlock, err := lockTokenFile(context.Background(), ledger, file) // another keeper writing the file
	if err != nil {
		t.Fatal(err)
	}
	if err := noteHeld(ledger, file, content, Owner{}, held); err == nil {
		t.Error("noteHeld while another holds the token file's lock: nil; want it told that nothing was noted")
	}
	if after, err := os.ReadFile(entry); err != nil || string(after) != string(before) {
		t.Errorf("the note, written while another held the token file's lock: %q, %v; want it as it was, %q", after, err, before)
	}
	unlock(false)
	if err := noteHeld(ledger, file, content, Owner{}, held); err != nil {
		t.Fatal(err)
	}
	if got := heldUntil(ledger, file, "access-token-1234567890", now); !got.Equal(held) {
		t.Fatalf("the hold noted once the lock was free: %v; want %v", got, held)
	}
}

// TestALedgerNoteIsOneForEveryNameOfTheFile: a token file named through a
// link to its folder has the note of the file by its own path (ledgerEntry
// follows the links on the folder's way); a note an older freshtoken wrote
// by the path as written is still read, and is removed once the file is
// noted anew.
func TestALedgerNoteIsOneForEveryNameOfTheFile(t *testing.T) {
	ledger, file := ledgerWorld(t)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(filepath.Dir(file), link); err != nil {
		t.Fatal(err)
	}
	byLink := filepath.Join(link, "token")
	if ledgerEntry(ledger, byLink) != ledgerEntry(ledger, file) {
		t.Fatalf("the file through a linked folder has another note than by its path")
	}
	plantNote(t, writtenEntry(ledger, byLink)) // an older freshtoken's
	if n, ok := readNote(ledger, byLink); !ok || n.Sum != fingerprint("mine\n") {
		t.Fatalf("an older freshtoken's note by the path as written: %+v, %v; want it read", n, ok)
	}
	if err := noteWritten(ledger, byLink, "mine\n", Owner{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(writtenEntry(ledger, byLink)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the older freshtoken's note is still there once noted anew (%v)", err)
	}
	if _, ok := readNote(ledger, file); !ok {
		t.Errorf("the note written through the link is not the file's by its path")
	}
}

// TestForgettingATokenFileForgetsItsOlderNoteAndLockToo: a token file gone,
// its note and lock file go from the ledger, and so do the note and lock
// file an older freshtoken made by the path as written (through a linked
// folder): the older lock file stayed, one more for every such token file,
// the ledger growing for ever. A lock file another holds stays.
func TestForgettingATokenFileForgetsItsOlderNoteAndLockToo(t *testing.T) {
	ledger, file := ledgerWorld(t)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(filepath.Dir(file), link); err != nil {
		t.Fatal(err)
	}
	byLink := filepath.Join(link, "token")
	older, entry := writtenEntry(ledger, byLink), ledgerEntry(ledger, byLink)
	if err := noteWritten(ledger, byLink, "mine\n", Owner{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{older, older + ".lock", entry + ".lock"} {
		if err := os.WriteFile(e, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	forgetNote(ledger, byLink)
	for _, e := range []string{entry, entry + ".lock", older, older + ".lock"} {
		if _, err := os.Lstat(e); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is left in the ledger (%v)", filepath.Base(e), err)
		}
	}

	unlock, err := lockEntry(t.Context(), ledger, older)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock(false)
	forgetNote(ledger, byLink)
	if _, err := os.Lstat(older + ".lock"); err != nil {
		t.Errorf("the lock file another holds was removed (%v)", err)
	}
}
