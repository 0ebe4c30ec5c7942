//go:build unix

package e2e_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestALogOutWaitingForTheTokenFilesLockSaysSo: a log-out takes the token
// file's lock, which a running keeper holds while it writes the file, to
// remove it; one held by a keeper stopped (Ctrl-Z) or hung there kept the
// log-out waiting without a word, as if it hung. It now says what it waits
// for, and finishes once the lock is let go.
func TestALogOutWaitingForTheTokenFilesLockSaysSo(t *testing.T) {
	t.Parallel()
	w, tokenFile := keptWorld(t)
	stop := w.startDaemon("proxy", "--no-listen")
	waitWritten(t, tokenFile, "the keeper to write the token file")
	stop()
	ledger := filepath.Join(w.dir, "state", "freshtoken", "token-files")
	locks, err := filepath.Glob(filepath.Join(ledger, "*.lock"))
	if err != nil || len(locks) != 1 {
		t.Fatalf("the ledger's lock files: %v, %v; want the token file's", locks, err)
	}
	release, err := filestore.NewLocks(ledger).Lock(context.Background(), strings.TrimSuffix(filepath.Base(locks[0]), ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	run := w.watch("logout", "--local")
	run.waitSaid(t, "dev: waiting for a running freshtoken (a proxy or service keeping its token_file) to finish writing "+tokenFile)
	release()
	run.waitExit(t, 0)
	if _, err := os.Stat(tokenFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after the log-out the token file: %v; want it removed", err)
	}
}
