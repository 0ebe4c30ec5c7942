package freshtoken_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestAKeptAnswerEndsItsTriesOnceElsewhereDone: the goroutine that keeps
// trying to save a renewal's answer the store refused took the lock once
// more after the answer was saved by the next renewal, or dropped by a
// log-out, its wait between tries running on: a program that then logged
// out, or deleted the token folder, found the lock file, and the folder,
// back up to 5 seconds later (the test suite left hundreds of folders
// holding only tokens/sandbox.lock in /tmp). The tries now end at once,
// and a log-out drops the answer, which would replace the tokens it
// deleted. The waits between tries here last until the test says.
func TestAKeptAnswerEndsItsTriesOnceElsewhereDone(t *testing.T) {
	for _, then := range []string{"renewed", "logged out"} {
		t.Run(then, func(t *testing.T) {
			testenv.WaitFor(t, "earlier tests' saving goroutines to end", func() bool { return savingGoroutines() == 0 })
			r, _ := loggedIn(t)
			own := &ownStore{Store: r.store}
			src := r.sourceOn(own)
			waited := make(chan struct{})
			freshtoken.SetPause(src, func(ctx context.Context, _ time.Duration) error {
				select {
				case <-waited:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			lockFile := filepath.Join(filepath.Dir(src.Location()), "sandbox.lock")
			own.broken.Store(true)
			if _, err := src.Renew(context.Background()); err == nil {
				t.Fatal("a renewal whose answer the store refused succeeded")
			}
			own.broken.Store(false)
			switch then {
			case "renewed": // the next renewal saves the kept answer first
				if _, err := src.Renew(context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := os.RemoveAll(filepath.Dir(lockFile)); err != nil {
					t.Fatal(err)
				}
			case "logged out":
				if err := src.Logout(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			close(waited) // the wait between tries is over
			testenv.WaitFor(t, "the saving goroutine to end", func() bool { return savingGoroutines() == 0 })
			if _, err := os.Lstat(lockFile); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s is there once the kept answer was %s (%v); want the store left alone", lockFile, then, err)
			}
		})
	}
}
