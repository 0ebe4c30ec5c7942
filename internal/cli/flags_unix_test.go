//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestLogFileThatCannotBeOpened: a --log-file that cannot be opened is a
// usage error (exit 2) on one line saying what to name instead, at once. A
// named pipe that nothing reads held every command, `token` included, for
// ever (opening it waits for a reader, and no signal but SIGKILL ends that
// wait); a folder, or a file in a folder that does not exist, was Go's
// "open …: is a directory" with nothing to do.
func TestLogFileThatCannotBeOpened(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "logs", "freshtoken.log")
	for name, c := range map[string]struct{ path, want string }{
		"a named pipe nothing reads": {fifo, "--log-file " + fifo + " is a named pipe that nothing reads; start its reader first, or name a file"},
		"a folder":                   {dir, "--log-file " + dir + " is a folder; name a file in it, such as " + filepath.Join(dir, "freshtoken.log")},
		"in a missing folder":        {missing, "--log-file " + missing + ": the folder " + filepath.Dir(missing) + " does not exist; make it, or name a file in a folder that does"},
	} {
		t.Run(name, func(t *testing.T) {
			f := testFactory()
			f.LogFile = c.path
			done := make(chan error, 1)
			go func() { done <- f.setupLogging() }()
			select {
			case err := <-done:
				if err == nil || err.Error() != c.want || ExitCode(err) != ExitUsage {
					t.Fatalf("err = %v (exit %d); want %q, exit %d", err, ExitCode(err), c.want, ExitUsage)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still opening the log file after 10 s")
			}
		})
	}
	// A named pipe with a reader (`--log-file >(tee log)`) is written to.
	reader, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	f := testFactory()
	f.LogFile = fifo
	if err := f.setupLogging(); err != nil {
		t.Fatal(err)
	}
	defer f.close()
	f.Logger().Warn("through the pipe")
	if err := syscall.SetNonblock(int(reader.Fd()), false); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(reader).ReadString('\n'); err != nil || !strings.Contains(line, "through the pipe") {
		t.Fatalf("the reader got %q, %v", line, err)
	}
}

// TestLogFileWhereAnotherUserCouldLeadIt: a --log-file that another user
// could lead elsewhere is refused, exit 2, and nothing is written where it
// leads: a link of theirs at its path (planted in /tmp, or in a folder of
// theirs), a file in a folder another user owns or that group or others
// may write (not sticky), where the file could be swapped for such a link
// at any time, and a second name of a file (a hard link) in a folder others
// may write. The log was appended to whatever file of the user's (root's:
// any file) the link named. A link of the user's own, and a file in /tmp
// (sticky), are written as before; a running proxy's log removed and
// replaced by another user's link is not followed.
func TestLogFileWhereAnotherUserCouldLeadIt(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "bashrc")
	if err := os.WriteFile(victim, []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	untouched := func(t *testing.T) {
		t.Helper()
		if b, _ := os.ReadFile(victim); string(b) != "before\n" {
			t.Errorf("the file the link leads to now holds %q", b)
		}
	}
	refused := func(t *testing.T, path, want string) {
		t.Helper()
		f := testFactory()
		f.LogFile = path
		err := f.setupLogging()
		if err == nil {
			f.Logger().Warn("appended")
			f.close()
		}
		if err == nil || !strings.Contains(err.Error(), want) || ExitCode(err) != ExitUsage || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %v (exit %d); want one line with %q, exit %d", err, ExitCode(err), want, ExitUsage)
		}
		untouched(t)
	}
	sticky := filepath.Join(t.TempDir(), "tmp")
	if err := errors.Join(os.Mkdir(sticky, 0o755), os.Chmod(sticky, 0o777|os.ModeSticky)); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := errors.Join(os.Mkdir(open, 0o755), os.Chmod(open, 0o777)); err != nil {
		t.Fatal(err)
	}
	t.Run("a folder others may write", func(t *testing.T) {
		refused(t, filepath.Join(open, "ft.log"), "its folder "+open+" may be written by group or others (mode 0777)")
	})
	t.Run("a folder of one's own group", func(t *testing.T) {
		// A umask of 002 makes ~/logs 0775, its group the user's own.
		dir := filepath.Join(t.TempDir(), "logs")
		if err := errors.Join(os.Mkdir(dir, 0o755), os.Chmod(dir, 0o775), os.Chown(dir, -1, os.Getegid())); err != nil {
			t.Fatal(err)
		}
		f := testFactory()
		f.LogFile = filepath.Join(dir, "ft.log")
		if err := f.setupLogging(); err != nil {
			t.Fatal(err)
		}
		f.close()
	})
	t.Run("a second name of a file, in a folder others may write", func(t *testing.T) {
		link := filepath.Join(sticky, "hard.log")
		if err := os.Link(victim, link); err != nil {
			t.Fatal(err)
		}
		refused(t, link, "is another name of a file")
	})
	t.Run("a link of one's own in a sticky folder", func(t *testing.T) {
		mine := filepath.Join(t.TempDir(), "mine.log")
		link := filepath.Join(sticky, "mine.log")
		if err := os.Symlink(mine, link); err != nil {
			t.Fatal(err)
		}
		f := testFactory()
		f.LogFile = link
		if err := f.setupLogging(); err != nil {
			t.Fatal(err)
		}
		f.Logger().Warn("appended")
		f.close()
		if b, _ := os.ReadFile(mine); !strings.Contains(string(b), "appended") {
			t.Errorf("the log holds %q", b)
		}
	})
	if os.Geteuid() != 0 {
		t.Run("another user's", func(t *testing.T) { testenv.NeedRoot(t, "giving a link to another user") })
		return
	}
	plant := func(t *testing.T, link string) {
		t.Helper()
		if err := errors.Join(os.Symlink(victim, link), os.Lchown(link, 65534, 65534)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("another user's link in a sticky folder", func(t *testing.T) {
		link := filepath.Join(sticky, "planted.log")
		plant(t, link)
		refused(t, link, "is a symbolic link of uid 65534's")
	})
	t.Run("a folder another group may write", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "shared")
		if err := errors.Join(os.Mkdir(dir, 0o755), os.Chmod(dir, 0o775), os.Chown(dir, -1, 65534)); err != nil {
			t.Fatal(err)
		}
		refused(t, filepath.Join(dir, "ft.log"), "its folder "+dir+" may be written by group or others (mode 0775)")
	})
	t.Run("another user's named pipe in a sticky folder", func(t *testing.T) {
		fifo := filepath.Join(sticky, "pipe.log")
		if err := errors.Join(syscall.Mkfifo(fifo, 0o622), os.Chown(fifo, 65534, 65534)); err != nil {
			t.Fatal(err)
		}
		refused(t, fifo, "is a named pipe of uid 65534's")
	})
	t.Run("a folder of another user", func(t *testing.T) {
		dir := testenv.NobodysFolder(t, "theirs")
		refused(t, filepath.Join(dir, "ft.log"), "its folder "+dir+" belongs to uid 65534")
		link := filepath.Join(dir, "planted.log")
		plant(t, link)
		refused(t, link, "its folder "+dir+" belongs to uid 65534")
	})
	t.Run("removed, and another user's link put in its place", func(t *testing.T) {
		path := filepath.Join(sticky, "proxy.log")
		f := testFactory()
		f.LogFile = path
		if err := f.setupLogging(); err != nil {
			t.Fatal(err)
		}
		defer f.close()
		f.Logger().Warn("first")
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		plant(t, path)
		f.Logger().Warn("second")
		untouched(t)
		if said := f.IO.ErrOut.(*bytes.Buffer).String(); !strings.Contains(said, "is a symbolic link of uid 65534's") || !strings.Contains(said, "second") {
			t.Errorf("stderr: %q", said)
		}
	})
}
