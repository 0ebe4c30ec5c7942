//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestLogFileThatCannotBeOpened: a --log-file that cannot be opened is a
// usage error (exit 2) on one line saying what to name instead, at once. A
// named pipe that nothing reads held every command, `token` included, for
// ever (opening it waits for a reader, and no signal but SIGKILL ends that
// wait); a folder, or a file in a folder that does not exist, was Go's
// "open …: is a directory" with nothing to do. A socket, and a device
// that is not present, fail to open as a pipe nothing reads does (ENXIO),
// and were said to be one. One on a read-only disk, or one to be made on
// a disk with no room left, was Go's words alone, with nothing to do.
func TestLogFileThatCannotBeOpened(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "logs", "freshtoken.log")
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cases := map[string]struct{ path, want string }{
		"a named pipe nothing reads": {fifo, "--log-file " + fifo + " is a named pipe that nothing reads; start its reader first, or name a file"},
		"a folder":                   {dir, "--log-file " + dir + " is a folder; name a file in it, such as " + filepath.Join(dir, "freshtoken.log")},
		"in a missing folder":        {missing, "--log-file " + missing + ": the folder " + filepath.Dir(missing) + " does not exist; make it, or name a file in a folder that does"},
		"a socket":                   {sock, "--log-file " + sock + " is a socket, which cannot be opened as a file; name a file"},
	}
	if os.Geteuid() == 0 {
		// A character device of a number no driver has (240-254 are for
		// local use), as a serial port's is on a machine without it.
		dev := filepath.Join(dir, "ttyS9")
		if err := syscall.Mknod(dev, syscall.S_IFCHR|0o600, 240<<8|7); err != nil {
			t.Run("a device not present", func(t *testing.T) { t.Skipf("making a device: %v (a container may forbid it)", err) })
		} else {
			cases["a device not present"] = struct{ path, want string }{dev, "--log-file " + dev + " is a device that is not present here; name a file"}
		}
		// A disk with no file left, and one read-only (the file there, or
		// to be made): Go's "open …: no space left on device" or
		// "read-only file system" alone said nothing of what to do.
		full := filepath.Join(testdisk.NoFilesLeft(t), "freshtoken.log")
		cases["on a disk with no file left"] = struct{ path, want string }{full, "--log-file " + full + " cannot be made, as the disk holding it is full (no space left on device); remove some files there (every inode on that disk is taken: see `df -i`), or name a file on another disk"}
		// A spent quota, which `df -h` does not show: it said the disk
		// was full.
		quota := testdisk.Quota(t)
		testdisk.Fill(t, quota)
		spent := filepath.Join(quota, "freshtoken.log")
		cases["under a spent quota"] = struct{ path, want string }{spent, "--log-file " + spent + " cannot be made, as the disk holding it has no room left under your disk quota (disk quota exceeded); free some of your space there (your disk quota is spent; an administrator can raise it), or name a file on another disk"}
		ro := testdisk.SmallFolder(t, "64k")
		kept := filepath.Join(ro, "kept.log")
		if err := os.WriteFile(kept, []byte("an older line\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		testdisk.ReadOnly(t, ro)
		for _, p := range []string{kept, filepath.Join(ro, "new.log")} {
			cases["on a read-only disk: "+filepath.Base(p)] = struct{ path, want string }{p, "--log-file " + p + " is on a read-only disk, so nothing can be written to it; name a file on a disk you can write to"}
		}
	}
	for name, c := range cases {
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
	f := loggingTo(t, fifo)
	f.Logger().Warn("through the pipe")
	if err := syscall.SetNonblock(int(reader.Fd()), false); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(reader).ReadString('\n'); err != nil || !strings.Contains(line, "through the pipe") {
		t.Fatalf("the reader got %q, %v", line, err)
	}
}

// folderWithMode makes a folder named name in a temporary folder with
// exactly mode (the umask would take bits off), and returns its path.
func folderWithMode(t *testing.T, name string, mode os.FileMode) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := errors.Join(os.Mkdir(dir, 0o700), os.Chmod(dir, mode)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// logTo sets up the log into path, logs line and closes it, failing t if
// the log file is refused.
func logTo(t *testing.T, path, line string) {
	t.Helper()
	f := testFactory()
	f.LogFile = path
	if err := f.setupLogging(); err != nil {
		t.Fatalf("--log-file %s: %v", path, err)
	}
	f.Logger().Warn(line)
	f.close()
	if said := f.IO.ErrOut.(*bytes.Buffer).String(); said != "" {
		t.Errorf("stderr: %q", said)
	}
}

// TestLogFileWhereAnotherUserCouldLeadIt: what another user could plant at
// a --log-file's path is refused, exit 2, one line saying what to do, and
// nothing is written where it leads: another user's symbolic link (in
// /tmp, or in a folder anyone may write), a link of one's own in a folder
// others may write (not sticky), where it could be swapped for theirs
// between its check and its open, a second name of a file (a hard link),
// in any folder, another user's named pipe (read or not yet) or file, and
// any file in a folder of another user (not root), whatever its mode, as
// its owner can change it at will. The log was appended to whatever file
// of the user's (root's: any file) the link or second name was. A running
// proxy's log removed and replaced by another user's link, or by a second
// name of a file, is not followed either: said on stderr, where the log
// goes on.
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
	sticky := folderWithMode(t, "tmp", 0o777|os.ModeSticky)
	open := folderWithMode(t, "emptydir", 0o777)
	t.Run("a link of one's own, in a folder anyone may write", func(t *testing.T) {
		link := filepath.Join(open, "mine.log")
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
		refused(t, link, "is a symbolic link in a folder others may write ("+open+", mode 0777), who could put a link of theirs in its place; name the file it leads to, "+victim+", instead")
	})
	t.Run("a link of one's own, in a folder another group may write", func(t *testing.T) {
		// Its group's other members could swap it as anyone could in a
		// folder of 0777.
		group := testenv.AnotherGroup(t)
		if group == -1 {
			testenv.Missing(t, "a folder of a group of the user's needs a supplementary group, or root")
		}
		shared := folderWithMode(t, "shared", 0o775)
		link := filepath.Join(shared, "mine.log")
		if err := errors.Join(os.Chown(shared, -1, group), os.Symlink(victim, link)); err != nil {
			t.Fatal(err)
		}
		refused(t, link, "is a symbolic link in a folder others may write ("+shared+", mode 0775)")
	})
	t.Run("links that lead to each other", func(t *testing.T) {
		// Followed by freshtoken, they were followed for ever.
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
		if err := errors.Join(os.Symlink(b, a), os.Symlink(a, b)); err != nil {
			t.Fatal(err)
		}
		refused(t, a, "too many levels of symbolic links")
	})
	t.Run("a link of one's own, leading to a link in a folder anyone may write", func(t *testing.T) {
		// Each link is checked: the kernel, following the first, followed
		// whatever others put at its end.
		relay := filepath.Join(open, "relay.log")
		link := filepath.Join(t.TempDir(), "ft.log")
		if err := errors.Join(os.Symlink(victim, relay), os.Symlink(relay, link)); err != nil {
			t.Fatal(err)
		}
		refused(t, link, "leads to "+relay+", which is a symbolic link in a folder others may write ("+open+", mode 0777)")
	})
	t.Run("a folder on the way, in a folder anyone may write, a link", func(t *testing.T) {
		// Put there in place of a folder, it led the log into a file of
		// the same name in any folder.
		sub := filepath.Join(open, "sub")
		if err := os.Symlink(filepath.Dir(victim), sub); err != nil {
			t.Fatal(err)
		}
		refused(t, filepath.Join(sub, filepath.Base(victim)), "goes through "+sub+", which is a symbolic link in a folder others may write ("+open+", mode 0777)")
	})
	t.Run("a second name of a file", func(t *testing.T) {
		for _, dir := range []string{open, sticky, t.TempDir()} {
			link := filepath.Join(dir, "hard.log")
			if err := os.Link(victim, link); err != nil {
				t.Fatal(err)
			}
			refused(t, link, "is one of 2 names of a file (hard links), and another of them could be any file of yours; remove the other names, or name a new file")
			os.Remove(link)
		}
	})
	t.Run("removed, and a second name of a file put in its place", func(t *testing.T) {
		path := filepath.Join(open, "proxy.log")
		f := loggingTo(t, path)
		f.Logger().Warn("first")
		if err := errors.Join(os.Remove(path), os.Link(victim, path)); err != nil {
			t.Fatal(err)
		}
		f.Logger().Warn("second")
		untouched(t)
		if said := f.IO.ErrOut.(*bytes.Buffer).String(); !strings.Contains(said, "freshtoken: --log-file "+path+": is one of 2 names of a file") || !strings.Contains(said, "second") {
			t.Errorf("stderr: %q", said)
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
	t.Run("another user's link", func(t *testing.T) {
		for _, dir := range []string{sticky, open} {
			link := filepath.Join(dir, "planted.log")
			plant(t, link)
			refused(t, link, "is a symbolic link of uid 65534's, not yours (uid 0), which could lead the log into any file of yours; remove it, or name a file of your own")
			// Reached through a link of one's own, it is not followed
			// either.
			mine := filepath.Join(t.TempDir(), "ft.log")
			if err := os.Symlink(link, mine); err != nil {
				t.Fatal(err)
			}
			refused(t, mine, "leads to "+link+", which is a symbolic link of uid 65534's")
		}
		// A folder on the way too.
		sub := filepath.Join(sticky, "sub")
		if err := errors.Join(os.Symlink(filepath.Dir(victim), sub), os.Lchown(sub, 65534, 65534)); err != nil {
			t.Fatal(err)
		}
		refused(t, filepath.Join(sub, filepath.Base(victim)), "goes through "+sub+", which is a symbolic link of uid 65534's")
	})
	t.Run("another user's named pipe", func(t *testing.T) {
		for _, dir := range []string{sticky, open} {
			fifo := filepath.Join(dir, "pipe.log")
			if err := errors.Join(syscall.Mkfifo(fifo, 0o622), os.Chown(fifo, 65534, 65534)); err != nil {
				t.Fatal(err)
			}
			const want = "is a named pipe of uid 65534's, not yours (uid 0), who would read every line of the log; name a file of your own"
			refused(t, fifo, want)
			// With its reader waiting, the open succeeds: what was opened
			// is refused.
			reader, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				t.Fatal(err)
			}
			refused(t, fifo, want)
			reader.Close()
		}
	})
	t.Run("another user's file, in a folder anyone may write", func(t *testing.T) {
		path := filepath.Join(open, "theirs.log")
		if err := errors.Join(os.WriteFile(path, nil, 0o600), os.Chown(path, 65534, 65534)); err != nil {
			t.Fatal(err)
		}
		refused(t, path, "belongs to uid 65534, not to you (uid 0)")
	})
	t.Run("a folder of another user", func(t *testing.T) {
		dir := testenv.NobodysFolder(t, "theirs")
		want := "is in a folder of another user: its folder " + dir + " belongs to uid 65534, not to you (uid 0), who could put a file or link of theirs in its place at any time; name a file in a folder of your own"
		refused(t, filepath.Join(dir, "ft.log"), want)
		link := filepath.Join(dir, "planted.log")
		plant(t, link)
		refused(t, link, want)
		// Not writable by them today, they may make it so at will.
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		refused(t, filepath.Join(dir, "ft.log"), want)
	})
	t.Run("removed, and another user's link put in its place", func(t *testing.T) {
		path := filepath.Join(open, "rotated.log")
		f := loggingTo(t, path)
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

// TestLogFileInAFolderOthersMayWrite: a --log-file in a folder others may
// write is written, 0600, and followed when moved away or removed: a
// folder anyone may write and not sticky (a Kubernetes emptyDir, 0777), a
// folder a group may write (/var/log is root:syslog 0775; a team's folder
// of a group the user is in), /tmp (sticky), ~/logs 0775 of the user's own
// group. Each was refused, exit 2, the folder whole: what could be planted
// in it is refused instead (TestLogFileWhereAnotherUserCouldLeadIt). A
// link of one's own in a folder nobody else may change, or in a sticky
// one, is followed; so is /dev/null, a character device.
func TestLogFileInAFolderOthersMayWrite(t *testing.T) {
	folders := map[string]string{
		"anyone may write, not sticky (an emptyDir)": folderWithMode(t, "emptydir", 0o777),
		"sticky (/tmp)": folderWithMode(t, "tmp", 0o777|os.ModeSticky),
		"of one's own group, 0775 (a umask of 002)": folderWithMode(t, "logs", 0o775),
	}
	if err := os.Chown(folders["of one's own group, 0775 (a umask of 002)"], -1, os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if group := testenv.AnotherGroup(t); group != -1 {
		dir := folderWithMode(t, "shared", 0o775)
		if err := os.Chown(dir, -1, group); err != nil {
			t.Fatal(err)
		}
		folders["another group may write, 0775 (/var/log)"] = dir
	} else {
		t.Run("another group may write", func(t *testing.T) {
			testenv.Missing(t, "a folder of a group of the user's needs a supplementary group, or root")
		})
	}
	for name, dir := range folders {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, "ft.log")
			logTo(t, path, "first")
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("the new log file: %v, %v", fi, err)
			}
			logTo(t, path, "second") // appended to, one's own
			f := loggingTo(t, path)
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			f.Logger().Warn("third") // rotated: opened again, checked again
			if b, _ := os.ReadFile(path + ".1"); !strings.Contains(string(b), "first") || !strings.Contains(string(b), "second") {
				t.Errorf("the moved log holds %q", b)
			}
			if b, _ := os.ReadFile(path); !strings.Contains(string(b), "third") || strings.Contains(string(b), "second") {
				t.Errorf("the log holds %q", b)
			}
			if said := f.IO.ErrOut.(*bytes.Buffer).String(); said != "" {
				t.Errorf("stderr: %q", said)
			}
		})
	}
	t.Run("a link of one's own", func(t *testing.T) {
		// In a folder of one's own group (a user private group), which
		// nobody else may write, as in a private one.
		for _, dir := range []string{folders["sticky (/tmp)"], folders["of one's own group, 0775 (a umask of 002)"], t.TempDir()} {
			mine := filepath.Join(t.TempDir(), "mine.log")
			link := filepath.Join(dir, "mine.log")
			if err := os.Symlink(mine, link); err != nil {
				t.Fatal(err)
			}
			logTo(t, link, "appended")
			if b, _ := os.ReadFile(mine); !strings.Contains(string(b), "appended") {
				t.Errorf("the log holds %q", b)
			}
		}
		// Through links, one relative to its folder: each followed.
		logs := t.TempDir()
		mine := filepath.Join(logs, "mine.log")
		first, second := filepath.Join(t.TempDir(), "ft.log"), filepath.Join(logs, "current")
		if err := errors.Join(os.Symlink("mine.log", second), os.Symlink(second, first)); err != nil {
			t.Fatal(err)
		}
		logTo(t, first, "through two")
		// A link to a folder on the way, and `..` after it, as the kernel
		// reads it: the folder above where the link leads.
		far := filepath.Join(logs, "far")
		near := filepath.Join(filepath.Dir(first), "near")
		if err := errors.Join(os.Mkdir(far, 0o700), os.Symlink(far, near)); err != nil {
			t.Fatal(err)
		}
		logTo(t, near+"/../mine.log", "up from a link")
		if b, _ := os.ReadFile(mine); !strings.Contains(string(b), "through two") || !strings.Contains(string(b), "up from a link") {
			t.Errorf("the log holds %q", b)
		}
	})
	t.Run("/dev/fd/N, a pipe (>(tee log))", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		logTo(t, fmt.Sprintf("/dev/fd/%d", w.Fd()), "through the pipe")
		w.Close()
		if b, _ := io.ReadAll(r); !strings.Contains(string(b), "through the pipe") {
			t.Errorf("the pipe got %q", b)
		}
	})
	t.Run("/dev/null", func(t *testing.T) { logTo(t, "/dev/null", "discarded") })
}

// TestLogFileToATerminalWithNone: `--log-file /dev/tty` in a process with no
// terminal (started by setsid, cron, a service) says so and what to name,
// exit 2: it said "is a named pipe that nothing reads", as both fail to
// open with ENXIO.
func TestLogFileToATerminalWithNone(t *testing.T) {
	cmd := exec.Command("freshtoken", "--log-file", "/dev/tty", "version")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // stdin: /dev/null
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != ExitUsage {
		t.Fatalf("err = %v; want exit %d", err, ExitUsage)
	}
	const want = "freshtoken: --log-file /dev/tty: this process has no terminal to write to (it was started without one: by setsid, cron, a service); name a file, or /dev/stderr for wherever its errors go\n"
	if stderr.String() != want {
		t.Errorf("stderr: %q; want %q", stderr.String(), want)
	}
}

// TestLogFileOnStandardErrorOfAnotherUser: `--log-file /dev/stderr` is
// written whatever the process's standard error is, as whoever started it
// chose: root's, under sudo, can be a person's file (`2>>my.log`) or pipe,
// which is not root's.
func TestLogFileOnStandardErrorOfAnotherUser(t *testing.T) {
	testenv.NeedRoot(t, "giving a file to another user")
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(conf, []byte("[env.dev]\nprovider = \"freeagent-sandbox\"\nclient_id = \"id\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(dir, "my.log")
	if err := errors.Join(os.WriteFile(theirs, nil, 0o600), os.Chown(theirs, 65534, 65534)); err != nil {
		t.Fatal(err)
	}
	stderr, err := os.OpenFile(theirs, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command("freshtoken", "--config", conf, "--debug", "--log-file", "/dev/stderr", "token", "-e", "dev")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	cmd.Stderr = stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 { // not logged in
		b, _ := os.ReadFile(theirs)
		t.Fatalf("err = %v; want exit 3; stderr: %s", err, b)
	}
	if b, _ := os.ReadFile(theirs); !strings.Contains(string(b), "level=DEBUG") || !strings.Contains(string(b), "not logged in") {
		t.Errorf("stderr: %s", b)
	}
}

// TestLogFileLinkInAFolderOfASharedPrimaryGroup: a folder group-writable by
// the user's primary group is the user's alone only when that group is the
// user's own, named as the user is; one shared by users (openSUSE's users,
// Debian's nogroup, nobody's) lets its other members swap a link there for
// theirs. A link of one's own in such a folder was followed as in a private
// one; it is refused, as in any folder others may write. Run as nobody.
func TestLogFileLinkInAFolderOfASharedPrimaryGroup(t *testing.T) {
	testenv.NeedRoot(t, "running freshtoken as nobody")
	const nobody, nogroup = 65534, 65534
	if g, err := user.LookupGroupId(strconv.Itoa(nogroup)); err != nil || g.Name == "nobody" {
		t.Skipf("gid %d is %v (%v), not a group named otherwise than the user nobody", nogroup, g, err)
	}
	top, err := os.MkdirTemp("", "shared-group")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	logs, state, conf := filepath.Join(top, "logs"), filepath.Join(top, "state"), filepath.Join(top, "config.toml")
	err = errors.Join(os.Chmod(top, 0o755), os.Mkdir(logs, 0o775), os.Chmod(logs, 0o775), os.Mkdir(state, 0o700),
		os.WriteFile(conf, []byte("[env.dev]\nprovider = \"freeagent-sandbox\"\nclient_id = \"id\"\n"), 0o600),
		os.WriteFile(filepath.Join(logs, "real.log"), nil, 0o600), os.Symlink("real.log", filepath.Join(logs, "ft.log")))
	for _, p := range []string{logs, state, conf, filepath.Join(logs, "real.log"), filepath.Join(logs, "ft.log")} {
		err = errors.Join(err, os.Lchown(p, nobody, nogroup))
	}
	if err != nil {
		t.Fatal(err)
	}
	built, err := exec.LookPath("freshtoken")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(top, "freshtoken") // where nobody may run it
	if data, err := os.ReadFile(built); err != nil || os.WriteFile(bin, data, 0o755) != nil {
		t.Fatalf("copying freshtoken for nobody: %v", err)
	}
	cmd := exec.Command(bin, "--config", conf, "--debug", "--log-file", filepath.Join(logs, "ft.log"), "token", "-e", "dev")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + top, "XDG_STATE_HOME=" + state}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nogroup}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "is a symbolic link in a folder others may write") {
		t.Errorf("--log-file at nobody's link in a folder nogroup may write: %v; want exit 2, the link refused:\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(logs, "real.log")); len(b) != 0 {
		t.Errorf("the log went through the link: %s", b)
	}
}

// loggingTo is a factory whose --log-file is path, set up, and closed when
// the test ends.
func loggingTo(t *testing.T, path string) *Factory {
	t.Helper()
	f := testFactory()
	f.LogFile = path
	if err := f.setupLogging(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.close)
	return f
}

// logAcrossAFullDisk logs through f "before the disk filled", then each of
// whileFull once the disk holding path is full, then "once there is room"
// once it is freed, and returns what path holds. The lines logged while
// full are longer than a page, so that they need space the disk no longer
// has (a short line still fits in the file's last page, and the rest of
// that page is room for part of a line).
func logAcrossAFullDisk(t *testing.T, f *Factory, path string, whileFull ...string) []byte {
	t.Helper()
	f.Logger().Warn("before the disk filled")
	free := testdisk.Fill(t, filepath.Dir(path))
	for _, msg := range whileFull {
		f.Logger().Warn(msg, "pad", strings.Repeat("x", 8<<10))
	}
	free()
	f.Logger().Warn("once there is room")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLogFileIsWrittenAgainOnceThereIsRoom: a long-running proxy's
// --log-file whose disk fills (a real tmpfs) has its lines on stderr,
// said once, and goes back to the file once there is room again, said
// too: it stayed on stderr for the process's life, and the person reading
// the log file saw it stop as if the proxy had.
func TestLogFileIsWrittenAgainOnceThereIsRoom(t *testing.T) {
	path := testdisk.SmallFile(t, "64k", "proxy.log", nil)
	f := loggingTo(t, path)
	stderr := f.IO.ErrOut.(*bytes.Buffer)
	b := logAcrossAFullDisk(t, f, path, "while the disk is full", "still full")
	log := string(b)
	if !strings.Contains(log, "before the disk filled") || !strings.Contains(log, "once there is room") || strings.Contains(log, "still full") {
		t.Errorf("the log file holds:\n%s\nwant the lines from before the disk filled and from once there was room", log)
	}
	// The line the full disk took part of is ended before the next, which
	// was glued to it.
	if !regexp.MustCompile(`(?m)^time=\S+ level=WARN msg="once there is room"$`).MatchString(log) {
		t.Errorf("the line logged once there was room is not a line of its own:\n%s", log)
	}
	said := stderr.String()
	for _, want := range []string{
		"freshtoken: --log-file " + path + ": no space left on device; logging to stderr instead until it can be written again: free some space on its disk\n",
		"still full",
		"freshtoken: --log-file " + path + " can be written again; logging there from here on\n",
	} {
		if strings.Count(said, want) != 1 {
			t.Errorf("stderr says %q %d times, want once:\n%s", want, strings.Count(said, want), said)
		}
	}
	if strings.Contains(said, "once there is room") {
		t.Errorf("the line logged once there was room went to stderr:\n%s", said)
	}
}

// TestJSONLogFileOnAFullDiskHoldsWholeLines: a --log-format json log file
// whose disk fills as a line is written (a real tmpfs, the line longer
// than the room left) holds whole JSON lines once there is room again: the
// part of the line the disk took was ended with a line break, a line of
// cut JSON at which jq stops, every later line unread.
func TestJSONLogFileOnAFullDiskHoldsWholeLines(t *testing.T) {
	path := testdisk.SmallFile(t, "64k", "proxy.log", nil)
	f := testFactory()
	f.LogFile, f.LogFormat = path, "json"
	if err := f.setupLogging(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.close)
	b := logAcrossAFullDisk(t, f, path, "while the disk is full")
	var msgs []string
	for line := range strings.Lines(string(b)) {
		var entry struct{ Msg string }
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("the log file holds a line that is not JSON (%v):\n%.300s", err, b)
		}
		msgs = append(msgs, entry.Msg)
	}
	if want := []string{"before the disk filled", "once there is room"}; !slices.Equal(msgs, want) || !strings.HasSuffix(string(b), "\n") {
		t.Errorf("the log file holds the lines %q, want %q, each ended:\n%.300s", msgs, want, b)
	}
	if said := f.IO.ErrOut.(*bytes.Buffer).String(); !strings.Contains(said, "while the disk is full") {
		t.Errorf("the line the disk had no room for is not on stderr:\n%.300s", said)
	}
}

// TestAppendOnlyLogFileOnAFullDisk: a --log-file that may only be appended
// to (chattr +a) cannot have the part of a line a full disk took cut off
// again: it is ended with a line break before the next line, which is one
// of its own (it was glued to it).
func TestAppendOnlyLogFileOnAFullDisk(t *testing.T) {
	path := testdisk.SmallFile(t, "64k", "proxy.log", nil)
	testdisk.AppendOnly(t, path)
	f := loggingTo(t, path)
	b := logAcrossAFullDisk(t, f, path, "while the disk is full")
	if !regexp.MustCompile(`(?m)^time=\S+ level=WARN msg="once there is room"\n\z`).Match(b) {
		t.Errorf("the line logged once there was room is not a line of its own:\n%.300s", b)
	}
}

// TestSharedLogFileOnAFullDiskCutsOnlyItsOwnLine: a --log-file several
// processes write to, on a disk that fills as one of them writes a line
// (a real tmpfs): the part of the line the disk took is taken back only
// while it is the file's end, and a line another process appended
// meanwhile (here after some room was freed) is left whole, and the next
// line follows it with no empty line between. The taking back cut the
// file's last bytes, whoever's they were: the other's line, and left the
// part.
func TestSharedLogFileOnAFullDiskCutsOnlyItsOwnLine(t *testing.T) {
	path := testdisk.SmallFile(t, "64k", "proxy.log", nil)
	f := loggingTo(t, path)
	f.Logger().Warn("before the disk filled")
	free := testdisk.Fill(t, filepath.Dir(path))
	other := "time=2026-12-07T08:00:00Z level=WARN msg=\"another process's line\"\n"
	landed := false
	wroteShort = func() { // on the log's writer goroutine, where t.Fatal may not be called
		wroteShort = func() {}
		landed = true
		g, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer g.Close()
		free()
		if _, err := g.WriteString(other); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { wroteShort = func() {} })
	f.Logger().Warn("while the disk is full", "pad", strings.Repeat("x", 8<<10))
	if !landed {
		t.Fatal("the line logged on the full disk was not written in part")
	}
	f.Logger().Warn("once there is room")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if !strings.Contains(log, other) || !regexp.MustCompile(`(?m)^time=\S+ level=WARN msg="once there is room"\n\z`).MatchString(log) || strings.Contains(log, "\n\n") {
		t.Errorf("the log file holds:\n%.600s\nwant the other process's line whole, and the next line one of its own, no empty line before it", log)
	}
}

// TestLogFileLockedByAnotherHoldsNothingUp: a --log-file that another
// process holds a lock on is written at once. Any user who may read the
// file can take one (here a shared one, taken on a file of mode 0644), and
// a freshtoken stopped by Ctrl-Z as it logged held one: each line waited
// for it, the first a second (the log's stall limit) and the rest dropped,
// and the command, `token` included, did not end until the lock was let
// go, SIGTERM or not.
func TestLogFileLockedByAnotherHoldsNothingUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proxy.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f := loggingTo(t, path)
	other, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() }) // before f's close: a line still waiting goes
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	f.Logger().Warn("while another holds the file locked")
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "while another holds the file locked") {
		t.Errorf("the log file holds %q; want the line logged, at once", b)
	}
}

// TestLogFileNobodyReadsLetsTheCommandEnd: a --log-file that takes no more
// (a named pipe whose reader stopped reading, as a terminal paused by
// Ctrl-S or a log file on a server that stopped answering) holds a line
// for the log's stall limit at most, and the end of the command too:
// closing the log waited for that line, so the command, `token` included,
// did not end, SIGTERM or not, until the reader read again or went.
func TestLogFileNobodyReadsLetsTheCommandEnd(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	reader, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	filler, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil { // the pipe full: its reader reads no more
		_, err = syscall.Write(int(filler.Fd()), make([]byte, 4<<10))
	}
	filler.Close()
	f := loggingTo(t, fifo)
	t.Cleanup(func() { reader.Close() }) // before f's close: the line waiting goes
	f.Logger().Warn("a line nobody reads")
	f.flushLog()
	closed := make(chan struct{})
	go func() {
		f.close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("closing a --log-file nobody reads waits for the line left in it, and the command's end with it")
	}
}
