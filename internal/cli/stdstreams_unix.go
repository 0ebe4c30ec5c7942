//go:build unix

package cli

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// openNoWait opens the --log-file without waiting: a named pipe that
// nothing reads would otherwise hold the open, and the command, for ever.
const openNoWait = unix.O_NONBLOCK

// openNoFollow keeps the open of a --log-file that was no link from
// following one put in its place meanwhile.
const openNoFollow = unix.O_NOFOLLOW

// outputFile is a descriptor of its own for f, the process's standard
// output or error. Go ends a process whose write to descriptor 1 or 2 meets
// a pipe with no reader (SIGPIPE), but returns EPIPE from a write to any
// other descriptor (see os/signal); freshtoken must outlive a reader that
// went away (`| head`) until every renewal it sent is stored. (A
// descriptor closed when the process started, `>&-`, is not closed here:
// the Go runtime opens /dev/null in its place before freshtoken runs, so
// its output is discarded as with `>/dev/null`, and nothing tells the two
// apart.)
func outputFile(f *os.File) *os.File {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return f // writes fail either way
	}
	return os.NewFile(uintptr(fd), f.Name())
}

// untrustedLogPlace says what is wrong with the place of the log file at
// path, where another user could lead the log into a file of this user's
// (root's: any file), or returns "", and whether path is a link (of this
// user's or root's) that the open may follow: a symbolic link of another
// user's at path (planted in /tmp, which the kernel follows unless
// fs.protected_symlinks is set); a folder another user (root excepted)
// owns, or that group (another than this user's) or others may write and
// is not sticky, where the file could be swapped for such a link at any
// time (a running proxy opens its log again at its path when it is
// removed); a named pipe (or device) of another user's, who would read the
// log; in a folder others may
// write, a second name of a file (a hard link), which could be anyone's.
func untrustedLogPlace(path string) (msg string, link bool) {
	const risk = "who could lead the log into any file of yours"
	dir := filepath.Dir(path)
	if di, err := os.Stat(dir); err == nil {
		if uid := int(di.Sys().(*syscall.Stat_t).Uid); uid != os.Geteuid() && uid != 0 {
			return fmt.Sprintf("is in a folder of another user: its folder %s belongs to uid %d, not to you (uid %d), %s; name a file in a folder of your own", dir, uid, os.Geteuid(), risk), false
		}
		if perm := di.Mode().Perm(); othersMayWrite(di) && di.Mode()&fs.ModeSticky == 0 {
			return fmt.Sprintf("is in a folder others could change: its folder %s may be written by group or others (mode %04o), %s; name a file in a folder of your own", dir, perm, risk), false
		}
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return "", false
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&fs.ModeSymlink != 0 {
		if uid := int(st.Uid); uid != os.Geteuid() && uid != 0 {
			return fmt.Sprintf("is a symbolic link of uid %d's, not yours (uid %d), which could lead the log into any file of yours; remove it, or name a file of your own", uid, os.Geteuid()), false
		}
		return "", true
	}
	if uid := int(st.Uid); !fi.Mode().IsRegular() && uid != os.Geteuid() && uid != 0 {
		// A named pipe of theirs (in /tmp) hands them every line.
		return fmt.Sprintf("is a %s of uid %d's, not yours (uid %d), who would read every line of the log; name a file of your own", fileKind(fi), uid, os.Geteuid()), false
	}
	if di, err := os.Stat(dir); err == nil && othersMayWrite(di) && fi.Mode().IsRegular() && st.Nlink > 1 {
		return fmt.Sprintf("is another name of a file (%d names), in a folder others may write, %s; name a file of your own", st.Nlink, risk), false
	}
	return "", false
}

// fileKind names what fi is, when not a regular file.
func fileKind(fi fs.FileInfo) string {
	switch {
	case fi.Mode()&fs.ModeNamedPipe != 0:
		return "named pipe"
	case fi.Mode()&fs.ModeSocket != 0:
		return "socket"
	case fi.Mode()&fs.ModeDevice != 0:
		return "device"
	}
	return "file that is not a regular file"
}

// othersMayWrite reports whether users other than this one may write in
// the folder di: others may, or its group may and it is not this user's
// own group (a user private group, whose folders a umask of 002 makes
// group-writable: ~/logs made 0775 is the user's alone).
func othersMayWrite(di fs.FileInfo) bool {
	perm := di.Mode().Perm()
	return perm&0o002 != 0 || perm&0o020 != 0 && int(di.Sys().(*syscall.Stat_t).Gid) != os.Getegid()
}

// untrustedLogFile says what is wrong with the log file at path (fi, as
// opened) that someone else could write in, or returns "": a regular file
// of another user (root excepted), or one that group or others may write.
// (A named pipe or a device, /dev/stderr, is written as it is.)
func untrustedLogFile(path string, fi fs.FileInfo) string {
	if !fi.Mode().IsRegular() {
		return ""
	}
	if uid := int(fi.Sys().(*syscall.Stat_t).Uid); uid != os.Geteuid() && uid != 0 {
		return fmt.Sprintf("belongs to uid %d, not to you (uid %d), who could read it and write lines of their own into it; name a file of your own, or have it given to you with `sudo chown %d %s`",
			uid, os.Geteuid(), os.Geteuid(), shellquote.Word(path))
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Sprintf("is writable by group or others (mode %04o), who could write lines of their own into it; run `chmod go-w %s`", perm, shellquote.Word(path))
	}
	return ""
}

// terminalInput is standard input f: at a terminal (tty), one whose reads
// fail with errHungUp once the terminal has closed.
func terminalInput(f *os.File, tty bool) io.Reader {
	if !tty {
		return f
	}
	return terminalIn{f}
}

// terminalIn is standard input at a terminal (see hungUp).
type terminalIn struct{ f *os.File }

// A read under way when the terminal closes fails with EIO; one begun
// after it ends as if the input had (EOF), which a person's Ctrl-D does
// too: the terminal, gone, tells the two apart.
func (t terminalIn) Read(b []byte) (int, error) {
	n, err := t.f.Read(b)
	if err == io.EOF && !term.IsTerminal(int(t.f.Fd())) {
		err = errHungUp // not io.EOF: no "the input ended" of a person's
	}
	return n, hungUp(err)
}

// Fd is the terminal's descriptor, for reading a secret without echo.
func (t terminalIn) Fd() uintptr { return t.f.Fd() }
