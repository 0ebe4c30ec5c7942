//go:build unix

package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// openLogFile opens the --log-file at path to append to it, made 0600 if
// it is new, and checks what was opened, not what a name led to before.
//
// A folder others may write (/var/log, root:syslog 0775; a team's folder; a
// Kubernetes emptyDir, 0777) is a place for a log: what another user could
// do there is put something at the path, and that is what is refused:
//   - a symbolic link: opened with O_NOFOLLOW, a link is followed only if it
//     is this user's or root's, in a folder nobody else may change (or a
//     sticky one, /tmp, where nobody else may remove or replace it):
//     another's link could lead the log into any file of this user's
//     (root's: any file), and a link of one's own in a folder others may
//     write could be swapped for theirs between its check and its open;
//     a link followed is followed by freshtoken, and where it leads is
//     checked as the path was; so is a link in place of a folder on the
//     way (logWalk);
//   - a second name of a file (a hard link, nlink > 1), which could be any
//     file of this user's: a regular file must be this user's, have one
//     name, and be writable by nobody else (who could add lines that read
//     as freshtoken's);
//   - another user's named pipe, whose reader would get every line (root's
//     is accepted: root can read the log anyway);
//   - a named pipe nothing reads does not hold the open (O_NONBLOCK).
//
// A character device is written whoever owns it: only root makes one
// (mknod), so none was planted, and a terminal that root's process writes
// to (/dev/stderr, sudo at a person's terminal) is the person's. The
// process's own standard output or error, reached by /dev/stderr or
// /dev/fd/N, is written whatever it is: whoever started the process chose
// it (sudo at a person's pipe, `2>>their.log`).
//
// A folder of another user (not root) is refused whatever its mode: its
// owner can make it writable at will (chmod), and removes, moves or
// replaces any name in it, sticky or not, at any time, so a log there is
// theirs to swap for another file under a running proxy. The folder
// checked is the folder opened (openat), not another put at its name.
//
// Each check is made again when a running proxy opens its log again after
// it was moved or removed (logFile.follow).
func openLogFile(path string) (*os.File, error) {
	w := &logWalk{path: path}
	return w.file(unix.AT_FDCWD, path, path)
}

// maxLinks is how many links a --log-file may lead through, as Linux's
// limit.
const maxLinks = 40

// folderFlags open a folder only to find names in it.
const folderFlags = unix.O_DIRECTORY | unix.O_CLOEXEC | openFolder

// logWalk is the way to the --log-file, path, one name at a time, every
// folder on it and the file opened in the folder before it (openat) with
// O_NOFOLLOW, so that nothing put at a name after it was checked is
// followed. A link is followed by freshtoken, one at a time, each checked
// as the --log-file's own name is (untrustedLink): the kernel, following a
// link of one's own, would follow one another user put at its end as well,
// and a folder on the way in a folder others may write, swapped for a
// link of theirs, would lead the log into a file of the same name in any
// folder. Only the links of /proc (/dev/stderr leads to /proc/self/fd/2),
// which nobody makes, are the kernel's to follow: they lead to the
// process's own open files.
type logWalk struct {
	path string
	hops int // links followed
}

// refused is msg, what is wrong with shown, a name the --log-file leads to
// (how: "leads to", "goes through"), or with the --log-file itself.
func (w *logWalk) refused(how, shown, msg string) error {
	if shown != w.path {
		msg = how + " " + shown + ", which " + msg
	}
	return &looseLogFile{msg}
}

// file opens the log file name in the folder at; shown is name as a
// person reads it.
func (w *logWalk) file(at int, name, shown string) (*os.File, error) {
	failed := func(err error) error { return &fs.PathError{Op: "open", Path: shown, Err: err} }
	dir, base := splitName(name)
	dfd, err := w.folder(at, dir, filepath.Dir(shown))
	if err != nil {
		return nil, err
	}
	defer unix.Close(dfd)
	var folder unix.Stat_t
	if err := unix.Fstat(dfd, &folder); err != nil {
		return nil, failed(err)
	}
	if uid := int(folder.Uid); uid != os.Geteuid() && uid != 0 {
		return nil, w.refused("leads to", shown, fmt.Sprintf("is in a folder of another user: its folder %s belongs to uid %d, not to you (uid %d), who could put a file or link of theirs in its place at any time; name a file in a folder of your own", filepath.Dir(shown), uid, os.Geteuid()))
	}
	flags := unix.O_CREAT | unix.O_WRONLY | unix.O_APPEND | unix.O_CLOEXEC | unix.O_NONBLOCK
	fd, err := retryIntr(func() (int, error) { return unix.Openat(dfd, base, flags|unix.O_NOFOLLOW, 0o600) })
	if err != nil {
		// A link fails the open with ELOOP on Linux and macOS, EMLINK on
		// FreeBSD, EFTYPE on NetBSD: what is there is asked of the folder.
		var st unix.Stat_t
		if unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			return nil, failed(err)
		}
		kind, uid := uint32(st.Mode)&unix.S_IFMT, int(st.Uid)
		if kind == unix.S_IFIFO && uid != os.Geteuid() && uid != 0 {
			// Another user's, that nothing reads yet (ENXIO): theirs first.
			return nil, w.refused("leads to", shown, theirs("named pipe", uid))
		}
		if kind != unix.S_IFLNK {
			return nil, failed(err)
		}
		target, next, kernel, err := w.link(dfd, base, shown, "leads to", st, folder)
		if err != nil {
			return nil, err
		}
		if !kernel {
			return w.file(dfd, target, next)
		}
		fd, err = retryIntr(func() (int, error) { return unix.Openat(dfd, base, flags, 0o600) })
		if err != nil {
			return nil, failed(err)
		}
	}
	f := os.NewFile(uintptr(fd), shown)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if msg := untrustedLogFile(shown, fi); msg != "" {
		f.Close()
		return nil, w.refused("leads to", shown, msg)
	}
	return f, nil
}

// splitName is name's folder and its last name, as the kernel reads them:
// not cleaned, as filepath.Dir does, which would take "link/.." for "."
// where the kernel goes to the folder above where the link leads.
func splitName(name string) (dir, base string) {
	trimmed := strings.TrimRight(name, "/")
	i := strings.LastIndex(trimmed, "/")
	switch {
	case trimmed == "":
		return "/", "."
	case i < 0:
		return ".", trimmed
	case i == 0:
		return "/", trimmed[1:]
	}
	return trimmed[:i], trimmed[i+1:]
}

// folder opens the folder name in the folder at, a name at a time; shown
// is name as a person reads it.
func (w *logWalk) folder(at int, name, shown string) (int, error) {
	start, sofar := ".", ""
	if filepath.IsAbs(name) {
		start, sofar = "/", "/"
	}
	cur, err := retryIntr(func() (int, error) { return unix.Openat(at, start, folderFlags, 0) })
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: shown, Err: err}
	}
	for _, c := range strings.Split(name, "/") {
		if c == "" || c == "." {
			continue
		}
		sofar = filepath.Join(sofar, c)
		next, err := w.step(cur, c, sofar)
		unix.Close(cur)
		if err != nil {
			return -1, err
		}
		cur = next
	}
	return cur, nil
}

// step opens the folder name in the folder dfd, through a link there that
// may be followed; shown is where it is, as a person reads it.
func (w *logWalk) step(dfd int, name, shown string) (int, error) {
	fd, err := retryIntr(func() (int, error) { return unix.Openat(dfd, name, folderFlags|unix.O_NOFOLLOW, 0) })
	if err == nil {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && uint32(st.Mode)&unix.S_IFMT == unix.S_IFDIR {
			return fd, nil
		}
		unix.Close(fd) // O_PATH opens a link itself
		err = unix.ENOTDIR
	}
	var st, folder unix.Stat_t
	if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || uint32(st.Mode)&unix.S_IFMT != unix.S_IFLNK || unix.Fstat(dfd, &folder) != nil {
		return -1, &fs.PathError{Op: "open", Path: shown, Err: err}
	}
	target, next, kernel, err := w.link(dfd, name, shown, "goes through", st, folder)
	if err != nil {
		return -1, err
	}
	if kernel {
		fd, err := retryIntr(func() (int, error) { return unix.Openat(dfd, name, folderFlags, 0) })
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: shown, Err: err}
		}
		return fd, nil
	}
	return w.folder(dfd, target, next)
}

// link is where the link name (st) in the folder dfd (folder) leads, and
// as a person reads it, if it may be followed, or why not (how the
// --log-file comes to it: "leads to", "goes through"); kernel: it is for
// the kernel to follow, not to be read.
func (w *logWalk) link(dfd int, name, shown, how string, st, folder unix.Stat_t) (target, next string, kernel bool, err error) {
	if msg := untrustedLink(shown, st, folder); msg != "" {
		return "", "", false, w.refused(how, shown, msg)
	}
	if kernelLinks(dfd) {
		return "", "", true, nil
	}
	if w.hops++; w.hops > maxLinks {
		return "", "", false, &fs.PathError{Op: "open", Path: w.path, Err: unix.ELOOP}
	}
	if target, err = readLink(dfd, name); err != nil {
		return "", "", false, &fs.PathError{Op: "open", Path: shown, Err: err}
	}
	next = target
	if !filepath.IsAbs(target) {
		next = filepath.Join(filepath.Dir(shown), target)
	}
	return target, next, false, nil
}

// readLink is where the link name in the folder dfd leads.
func readLink(dfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dfd, name, buf)
	if err != nil {
		return "", err
	}
	if n == len(buf) {
		return "", unix.ENAMETOOLONG
	}
	return string(buf[:n]), nil
}

// retryIntr is open, again while a signal interrupts it (opening a named
// pipe or a terminal can be).
func retryIntr(open func() (int, error)) (int, error) {
	for {
		fd, err := open()
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

// untrustedLink says why the symbolic link at path (st), in its folder,
// is not followed, or returns "": it is another user's (root excepted), or
// it is in a folder someone else may write and that is not sticky, where
// it could be swapped for another's between its check and its open.
func untrustedLink(path string, st, folder unix.Stat_t) string {
	if uid := int(st.Uid); uid != os.Geteuid() && uid != 0 {
		return fmt.Sprintf("is a symbolic link of uid %d's, not yours (uid %d), which could lead the log into any file of yours; remove it, or name a file of your own", uid, os.Geteuid())
	}
	perm := uint32(folder.Mode) & 0o7777
	if configfile.OthersMayWrite(fs.FileMode(perm), int(folder.Gid)) && perm&unix.S_ISVTX == 0 {
		to := "the file it leads to"
		if target, err := filepath.EvalSymlinks(path); err == nil {
			to += ", " + target + ","
		}
		return fmt.Sprintf("is a symbolic link in a folder others may write (%s, mode %04o), who could put a link of theirs in its place; name %s instead", filepath.Dir(path), perm, to)
	}
	return ""
}

// untrustedLogFile says what is wrong with the log file at path, fi as
// opened, or returns "" (see openLogFile).
func untrustedLogFile(path string, fi fs.FileInfo) string {
	st := fi.Sys().(*syscall.Stat_t)
	uid := int(st.Uid)
	switch {
	case isStandardOutput(st):
		return ""
	case fi.Mode().IsRegular():
		if uid != os.Geteuid() {
			return fmt.Sprintf("belongs to uid %d, not to you (uid %d), who could read it and write lines of their own into it; name a file of your own, or have it given to you with `sudo chown %d %s`",
				uid, os.Geteuid(), os.Geteuid(), shellquote.Word(path))
		}
		if perm := fi.Mode().Perm(); perm&0o022 != 0 {
			return fmt.Sprintf("is writable by group or others (mode %04o), who could write lines of their own into it; run `chmod go-w %s`", perm, shellquote.Word(path))
		}
		if n := uint64(st.Nlink); n > 1 {
			return fmt.Sprintf("is one of %d names of a file (hard links), and another of them could be any file of yours; remove the other names, or name a new file", n)
		}
	case fi.Mode()&fs.ModeCharDevice != 0:
		return "" // only root makes one: /dev/null, a terminal
	case uid != os.Geteuid() && uid != 0:
		return theirs(fileKind(fi), uid)
	}
	return ""
}

// theirs says that the log file is a kind (a named pipe) of another user's.
func theirs(kind string, uid int) string {
	return fmt.Sprintf("is a %s of uid %d's, not yours (uid %d), who would read every line of the log; name a file of your own", kind, uid, os.Geteuid())
}

// isStandardOutput reports whether st is the file of the process's standard
// output or error.
func isStandardOutput(st *syscall.Stat_t) bool {
	for _, fd := range []int{1, 2} {
		var std unix.Stat_t
		if unix.Fstat(fd, &std) == nil && uint64(std.Dev) == uint64(st.Dev) && uint64(std.Ino) == uint64(st.Ino) {
			return true
		}
	}
	return false
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
