//go:build unix

package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestMigrateSignalledOnceTheMoveIsUnderWay: SIGTERM, SIGHUP or Ctrl-C
// reaching `store migrate` once it has begun to name the new store (about
// to write the configuration, or between its deletions of the old copies)
// finishes the move rather than leaving it half done: the configuration
// names the new store, the old copy is deleted, no note of a move to
// finish is left, and it exits 128+N.
func TestMigrateSignalledOnceTheMoveIsUnderWay(t *testing.T) {
	for _, step := range []string{"moved", "deleted"} {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
			t.Run(step+"/"+sig.String(), func(t *testing.T) {
				w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
				w.login()
				to := "file://" + filepath.Join(w.dir, "moved")
				t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", step)
				migrate := w.watch("store", "migrate", "--to", to)
				t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "")
				migrate.waitSaid(t, "paused at "+step)
				migrate.cmd.Process.Signal(sig)
				stderr := migrate.waitExit(t, 128+int(sig))
				if !strings.Contains(stderr, "now names "+to) || !strings.Contains(w.readConfig(), to) {
					t.Fatalf("the configuration does not name the new store:\n%s\n%s", stderr, w.readConfig())
				}
				if _, err := os.Stat(w.storeFile()); !os.IsNotExist(err) {
					t.Errorf("the old copy is still there: %v", err)
				}
				if _, err := os.Stat(w.config + ".moving-from"); !os.IsNotExist(err) {
					t.Errorf("the note of a move to finish is still there: %v", err)
				}
				w.mustRun("token", "--force")
			})
		}
	}
}

// TestMigrateKilledBeforeItsCopiesAreTakenBackThenALogIn: `store migrate`
// killed (SIGKILL, a power loss) once its copy is in the new store but
// before the configuration names it, then a log-in in the store the
// configuration still names: the same move run again moves the new
// log-in's tokens over the copy left there, saying so, and they work. The
// copy, this configuration's earlier log-in, was refused as another
// log-in's (exit 2), once copies were told from a fleet's tokens by a
// note of the copies a move could not take back, which a move killed
// never wrote: it notes them before it makes them.
func TestMigrateKilledBeforeItsCopiesAreTakenBackThenALogIn(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	to := "file://" + filepath.Join(w.dir, "moved")
	killAt(t, w, "moved", "store", "migrate", "--to", to)
	if _, err := os.Stat(filepath.Join(w.dir, "moved", "dev.json")); err != nil {
		t.Fatalf("the killed move left no copy in the new store: %v", err)
	}
	w.login()
	token := w.mustRun("token").stdout
	r := w.mustRun("store", "migrate", "--to", to)
	if !strings.Contains(r.stdout, "in place of a copy of this configuration's earlier log-in") {
		t.Errorf("the move again said:\n%s%s\nwant it to say the copy left there was replaced", r.stdout, r.stderr)
	}
	if got := w.mustRun("token").stdout; got != token {
		t.Errorf("after the move the token is %q, want the new log-in's %q", got, token)
	}
	if _, err := os.Stat(w.config + ".left-copies"); !os.IsNotExist(err) {
		t.Errorf("the note of the copies is still there once the move is done (%v)", err)
	}
}

// TestMigrateKilledThenRunAgain: `store migrate` killed (SIGKILL) once its
// copy is in the new store, then the same command run again, no log-in
// between: the copy left there holds the very tokens moved, of the same
// log-in, so the move says only that dev moved, as any move. It said
// "moved to …, in place of a copy of this configuration's earlier log-in
// (logged in …) left there": the copy noted as left was taken for an
// earlier log-in's, though it was this log-in's own.
func TestMigrateKilledThenRunAgain(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	token := w.mustRun("token").stdout
	to := "file://" + filepath.Join(w.dir, "moved")
	killAt(t, w, "moved", "store", "migrate", "--to", to)
	r := w.mustRun("store", "migrate", "--to", to)
	if want := "dev: moved to " + filepath.Join(w.dir, "moved", "dev.json") + "\n"; r.stdout != want {
		t.Errorf("the move run again said:\n%s\nwant:\n%s", r.stdout, want)
	}
	if got := w.mustRun("token").stdout; got != token {
		t.Errorf("after the move the token is %q, want %q", got, token)
	}
}

// TestMigrateKilledOnceTheConfigurationNamesTheNewStore: `store migrate`
// killed (SIGKILL) after the configuration names the new store, as it
// deletes the old copies: the run again finishes the move, and forgets the
// copies it had noted as about to be made there, which are the tokens in
// use now. The note was left for good, naming the live record as a copy
// a move may replace.
func TestMigrateKilledOnceTheConfigurationNamesTheNewStore(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	token := w.mustRun("token").stdout
	to := "file://" + filepath.Join(w.dir, "moved")
	killAt(t, w, "deleted", "store", "migrate", "--to", to)
	if _, err := os.Stat(w.config + ".left-copies"); err != nil {
		t.Fatalf("the killed move left no note of its copies to forget: %v", err)
	}
	w.mustRun("store", "migrate", "--to", to)
	for _, note := range []string{".left-copies", ".moving-from"} {
		if _, err := os.Stat(w.config + note); !os.IsNotExist(err) {
			t.Errorf("%s is still there once the move is finished (%v)", w.config+note, err)
		}
	}
	if got := w.mustRun("token").stdout; got != token {
		t.Errorf("after the move the token is %q, want %q", got, token)
	}
}

// TestMigrateKilledIntoAFolderThroughALinkThenALogIn: as
// TestMigrateKilledBeforeItsCopiesAreTakenBackThenALogIn, the new store
// a folder not made yet under a symbolic link (as /home is one to /var/home
// on Fedora Silverblue): the move run again, the folder made by then,
// knows the copy it noted there. The store was named by where the link
// leads once the folder was there, and as written before, so the copy
// went unknown and was refused as another log-in's (exit 2), advising a
// logout that deleted the new log-in's tokens.
func TestMigrateKilledIntoAFolderThroughALinkThenALogIn(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	if err := os.Mkdir(filepath.Join(w.dir, "real"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(w.dir, "link")); err != nil {
		t.Fatal(err)
	}
	to := "file://" + filepath.Join(w.dir, "link", "moved")
	killAt(t, w, "moved", "store", "migrate", "--to", to)
	w.login()
	token := w.mustRun("token").stdout
	r := w.mustRun("store", "migrate", "--to", to)
	if !strings.Contains(r.stdout, "in place of a copy of this configuration's earlier log-in") {
		t.Errorf("the move again said:\n%s%s\nwant it to say the copy left there was replaced", r.stdout, r.stderr)
	}
	if got := w.mustRun("token").stdout; got != token {
		t.Errorf("after the move the token is %q, want the new log-in's %q", got, token)
	}
}
