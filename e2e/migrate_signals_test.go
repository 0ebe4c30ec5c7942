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
