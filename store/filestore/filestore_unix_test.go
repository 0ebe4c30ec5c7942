//go:build unix

package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestLoadSaysWhenItWaits: Load tells store.Waiting before it waits for
// a writer over the record in place (another process's, here the test's
// own lock on the file), which lasts until its context ends, and never
// when the record is free: a command served a valid token starts watching
// for signals only when a wait may come (Ctrl-\ during the wait dumped
// every goroutine).
func TestLoadSaysWhenItWaits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	s := filestore.New(dir)
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	var told atomic.Int32
	waiting := store.WithWaiting(ctx, func() { told.Add(1) })
	if _, err := s.Load(waiting, "sandbox"); err != nil || told.Load() != 0 {
		t.Fatalf("Load of a free record: %v, Waiting told %d times; want none", err, told.Load())
	}
	f, err := os.Open(filepath.Join(dir, "sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	held, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	held = store.WithWaiting(held, func() { told.Add(1); cancel() }) // as Ctrl-\ would, once watched for
	if _, err := s.Load(held, "sandbox"); !errors.Is(err, context.Canceled) || told.Load() != 1 {
		t.Fatalf("Load of a record held: %v, Waiting told %d times; want it told once, then the wait ended by its context", err, told.Load())
	}
}

// TestFIFORefused: a FIFO planted as a record or a lock is refused at once,
// not waited on.
func TestFIFORefused(t *testing.T) {
	for _, name := range []string{"sandbox.json", "sandbox.lock"} {
		dir := filepath.Join(t.TempDir(), "tokens")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(dir, name), 0o600); err != nil {
			t.Fatal(err)
		}
		s := filestore.New(dir)
		done := make(chan error, 1)
		go func() {
			_, lerr := s.Load(ctx, "sandbox")
			_, kerr := s.Lock(ctx, "sandbox")
			done <- errors.Join(lerr, kerr)
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v; want it refused as not a regular file", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the store waited on a FIFO", name)
		}
	}
}

// TestOutOfFilesIsTransient: a process out of file descriptors (EMFILE), as
// a busy proxy can be, gets store.ErrUnreachable from Load and Lock, a
// failure that passes (the proxy's 503 store_unreachable, exit 5), saying
// so once; it was no kind at all, the proxy's 500 "failed" that the table
// keeps for a bug, and named the file twice ("open F: open F: too many
// open files").
func TestOutOfFilesIsTransient(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	s := filestore.New(dir)
	if err := s.Save(ctx, "sandbox", sample()); err != nil {
		t.Fatal(err)
	}
	release := testenv.ExhaustFiles(t)
	_, loadErr := s.Load(ctx, "sandbox")
	_, lockErr := s.Lock(ctx, "sandbox")
	release()
	for what, err := range map[string]error{"Load": loadErr, "Lock": lockErr} {
		if !errors.Is(err, store.ErrUnreachable) || !errors.Is(err, syscall.EMFILE) || strings.Count(err.Error(), "sandbox.") != 1 {
			t.Errorf("%s out of files: %v; want store.ErrUnreachable, EMFILE, naming the file once", what, err)
		}
	}
}

// TestAReserveThatIsNoFileIsMadeAgain: a reserve found to be no file (a
// folder, a FIFO, a symbolic link, left by a person or a tool) is removed
// and made again by the next save, so that on a full disk a renewal's
// answer too large to write over the record in place is still stored; it
// was kept as it was, never remade, and that answer was refused. A link is
// removed, never followed: where it leads is left as it was. A folder that
// holds something is left, with what it holds.
func TestAReserveThatIsNoFileIsMadeAgain(t *testing.T) {
	elsewhere := filepath.Join(t.TempDir(), "a file of the user's")
	if err := os.WriteFile(elsewhere, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, plant := range map[string]func(reserve string) error{
		"a folder":        func(reserve string) error { return os.Mkdir(reserve, 0o700) },
		"a FIFO":          func(reserve string) error { return syscall.Mkfifo(reserve, 0o600) },
		"a link":          func(reserve string) error { return os.Symlink(elsewhere, reserve) },
		"a dangling link": func(reserve string) error { return os.Symlink(filepath.Join(t.TempDir(), "gone"), reserve) },
	} {
		t.Run(name, func(t *testing.T) {
			dir, s := onSmallDisk(t)
			reserve := filepath.Join(dir, ".reserve")
			if err := os.Remove(reserve); err != nil {
				t.Fatal(err)
			}
			if err := plant(reserve); err != nil {
				t.Fatal(err)
			}
			bigAnswerSavedFromTheReserve(t, dir, s, "a reserve that was "+name)
		})
	}
	if b, err := os.ReadFile(elsewhere); err != nil || string(b) != "keep me" {
		t.Errorf("the file a reserve linked to holds %q, %v; want it as it was", b, err)
	}

	t.Run("a folder that holds something", func(t *testing.T) {
		dir, s := onSmallDisk(t)
		reserve := filepath.Join(dir, ".reserve")
		if err := os.Remove(reserve); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(reserve, "notes"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, "sandbox", sample()); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(reserve, "notes")); err != nil {
			t.Errorf("what a folder at the reserve's place held: %v; want it kept", err)
		}
	})
}

// TestASaveOverTheFileSizeLimitSaysSo: a record larger than the process's
// file size limit (ulimit -f, set in a copy of the test) is refused as
// that, naming the limit and the command that raises it, a
// store.ErrDenied (exit 2), and the record stored is kept. It said "check
// the disk", of a disk that was sound. SIGXFSZ, which the system sends for
// the write, does not kill the process.
func TestASaveOverTheFileSizeLimitSaysSo(t *testing.T) {
	if dir := os.Getenv("FRESHTOKEN_TEST_FSIZE_DIR"); dir != "" {
		testenv.LimitFileSize(t, 128<<10)
		big := sample()
		big.AccessToken = strings.Repeat("a", 1<<20)
		err := filestore.New(dir).Save(ctx, "sandbox", big)
		if !errors.Is(err, store.ErrDenied) || !errors.Is(err, syscall.EFBIG) || !strings.Contains(err.Error(), "file size limit (ulimit -f) of 131072 bytes") ||
			!strings.Contains(err.Error(), "`ulimit -f unlimited`") || strings.Contains(err.Error(), "check the disk") || !strings.Contains(err.Error(), dir) {
			t.Fatalf("a record over the file size limit: %v; want store.ErrDenied naming the folder, the limit and how to raise it", err)
		}
		return
	}
	dir, _ := saved(t)
	before, err := os.ReadFile(filepath.Join(dir, "sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.RunAgain(t, "FRESHTOKEN_TEST_FSIZE_DIR="+dir).End()
	if after, err := os.ReadFile(filepath.Join(dir, "sandbox.json")); err != nil || string(after) != string(before) {
		t.Fatalf("the stored record changed: %v", err)
	}
}
