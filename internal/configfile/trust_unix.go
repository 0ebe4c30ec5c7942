//go:build unix

package configfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/freshtoken/freshtoken/internal/filemode"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// EnforcesModes says whether file modes mean here what CheckFile and
// CheckSecretFile read them to mean.
const EnforcesModes = true

// OpenNonblocking opens a file to read without waiting: a named pipe with
// no writer would otherwise hold the open forever, where the file's type
// is checked only once it is open.
const OpenNonblocking = syscall.O_NONBLOCK

// NamesOf is how many names (hard links) the file fi describes has.
func NamesOf(_ string, fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// CheckFile refuses a config file that someone else could have written:
// one that belongs to another user (root excepted, as ssh allows) or that
// group or others may write. fi describes the file as opened, after any
// symlink: the file read is the file checked. The fix it names for the
// user's own file is the mode init writes, 600: a file that holds a secret
// must not be readable either (CheckSecretFile), and one chmod then does
// for both (a file made 0664 by Ubuntu's and Fedora's umask of 002 was
// otherwise refused twice); for root's, go-w, which leaves it readable.
func CheckFile(path string, fi fs.FileInfo) error {
	if msg := checkTrusted(path, fi, fileTrust{
		owned:  ", so it could change what freshtoken runs",
		opened: "who could change what freshtoken runs",
		yours:  "a config file of your own",
		fix:    "600",
	}); msg != "" {
		return &Error{Path: path, Msg: msg}
	}
	return nil
}

// CheckPrivateFile refuses a file holding a private key (fi, as opened)
// that belongs to another user (root excepted) or that group or others may
// read or write, as ssh refuses such a key; it returns what is wrong, or "".
func CheckPrivateFile(path string, fi fs.FileInfo) string {
	return checkTrusted(path, fi, fileTrust{
		private: true,
		owned:   ", so it may not be yours to sign with",
		opened:  "who could sign as your client",
		yours:   "a key of your own",
	})
}

// CheckAuthorityFile refuses a ca_file (fi, after any symlink) that
// belongs to another user (root excepted) or that group or others may
// write: whoever can add an authority to it can read every request; it
// returns what is wrong, or "".
func CheckAuthorityFile(path string, fi fs.FileInfo) string {
	return checkTrusted(path, fi, fileTrust{
		owned:  ", who could add an authority to it and read your token requests",
		opened: "who could add an authority to it and read your token requests",
		yours:  "a file of your own",
	})
}

// checkTokenFileFolder says what is wrong with the folder dir (fi, after
// any symlink) a token_file is written in, or returns "": one that
// another user (root excepted) owns, or that others may write (/tmp, a
// team's folder; see OthersMayWrite), where another user could put a file
// of theirs first, which the keeper could not replace and scripts would
// read as the user's token.
func checkTokenFileFolder(dir string, fi fs.FileInfo) string {
	if msg := othersCanChange(dir, fi); msg != "" {
		return "its folder " + msg + ", who could put a file of theirs there first, which your scripts would read as your token; name a file in a folder of your own"
	}
	return ""
}

// FolderOthersCanChange says of the folder dir (after any symlink) that
// another user (root excepted) owns it, or that others may write it (see
// OthersMayWrite), so that they could put a file of theirs in it in place
// of one of this user's; or returns "", also when dir cannot be looked at.
func FolderOthersCanChange(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	return othersCanChange(dir, fi)
}

// OthersMayWrite reports whether users other than this one may write in a
// folder of mode perm and group gid: others may, or its group may and it
// is not this user's private group (whose folders a umask of 002 makes
// group-writable: ~/logs made 0775 is the user's alone).
func OthersMayWrite(perm fs.FileMode, gid int) bool {
	return perm&0o002 != 0 || perm&0o020 != 0 && !privateGroup(gid)
}

// privateGroup reports whether gid is this user's own group, named as the
// user is (a user private group, as Debian, Ubuntu and Fedora give each
// user). A primary group shared by users (openSUSE's users, Debian's
// nogroup) is not: its other members may write where it may.
func privateGroup(gid int) bool {
	if gid != os.Getegid() {
		return false
	}
	u, uerr := user.LookupId(strconv.Itoa(os.Geteuid()))
	g, gerr := user.LookupGroupId(strconv.Itoa(gid))
	return uerr == nil && gerr == nil && u.Username == g.Name
}

// othersCanChange is FolderOthersCanChange of dir, described by fi.
func othersCanChange(dir string, fi fs.FileInfo) string {
	if msg := foreignOwner(dir, fi); msg != "" {
		return dir + " " + msg
	}
	if OthersMayWrite(fi.Mode(), int(fi.Sys().(*syscall.Stat_t).Gid)) {
		return fmt.Sprintf("%s may be written by group or others (mode %04o)", dir, filemode.Octal(fi.Mode()))
	}
	return ""
}

// fileTrust is what a refusal of a file says, and whether group and others
// may not read the file either.
type fileTrust struct {
	private bool
	owned   string // after whose the file is: what that user could do
	opened  string // after the file's mode: who could do what
	yours   string // what to use instead of another user's file
	fix     string // the chmod mode named for the user's own file, if not go-w (600 if private)
}

// checkTrusted says what is wrong with a file (fi) that must belong to
// this user (or root) and that group and others may not write (nor read,
// if t.private), or returns "".
func checkTrusted(path string, fi fs.FileInfo, t fileTrust) string {
	if msg := foreignOwner(path, fi); msg != "" {
		if os.Geteuid() == 0 {
			return msg + t.owned + "; run freshtoken as its owner (`" + shellquote.AsUser(int(fi.Sys().(*syscall.Stat_t).Uid)) + " …`), not as root, whose files that user could not use, or give root a configuration file of its own"
		}
		return msg + t.owned + "; use " + t.yours + ", or have it given to you with " + chown(path)
	}
	mask, open, fix := fs.FileMode(0o022), "is writable", "go-w"
	if t.private {
		mask, open, fix = 0o077, "can be read or changed", "600"
	}
	chmod := "chmod"
	switch {
	case !yours(fi) && !t.private:
		// Root's (a machine's shared file): only root may change its
		// mode, and others must go on reading it.
		chmod = "sudo chmod"
	case t.fix != "":
		fix = t.fix
	}
	if fi.Mode().Perm()&mask != 0 {
		return fmt.Sprintf("%s by group or others (mode %04o), %s; run `%s %s %s`", open, filemode.Octal(fi.Mode()), t.opened, chmod, fix, shellquote.Word(path))
	}
	return ""
}

// yours reports whether fi belongs to this user.
func yours(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid()
}

// foreignOwner says that fi belongs to another user than this one (or
// root), or returns "".
func foreignOwner(path string, fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := int(st.Uid); uid != os.Geteuid() && uid != 0 {
			return fmt.Sprintf("belongs to uid %d, not to you (uid %d)", uid, os.Geteuid())
		}
	}
	return ""
}

// RootWritingForAnother says why root may not make the config file path
// that is not there yet, or returns "": the nearest folder of it that
// exists belongs to another user, whom a root-owned file or folder there
// would lock out (sudo keeping the user's HOME).
func RootWritingForAnother(path string) string {
	if _, err := os.Lstat(path); os.Geteuid() != 0 || !errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err == nil {
			if msg := foreignOwner(dir, fi); msg != "" {
				return fmt.Sprintf("its folder %s %s: run freshtoken as its owner (`%s …`), not as root, whose files that user could not read, or give root a configuration file of its own; nothing was written", dir, msg, shellquote.AsUser(int(fi.Sys().(*syscall.Stat_t).Uid)))
			}
			return ""
		}
		if dir == filepath.Dir(dir) {
			return ""
		}
	}
}

func chown(path string) string {
	return fmt.Sprintf("`sudo chown %d %s`", os.Geteuid(), shellquote.Word(path))
}

// MakeWritable says how a person makes the read-only file at path theirs
// to write again.
func MakeWritable(path string) string {
	return fmt.Sprintf("make it writable (`chmod u+w %s`)", shellquote.Word(path))
}

// LinkInstead says how a person makes another name of the file at path a
// symbolic link to it.
func LinkInstead(path string) string {
	return fmt.Sprintf("`ln -sf %s OTHER-NAME`", shellquote.Word(path))
}

// maxLinks bounds the symbolic links followed on the way to a file, as
// the kernel bounds those it follows (40 on Linux).
const maxLinks = 40

// ForeignLink says which symbolic link on the way to path (its own name,
// or a folder's), followed as the kernel follows them, belongs to another
// user than this one or root, who could point it at another file of this
// user's (a production configuration in place of a sandbox's, or a file
// an edit of the configuration would then replace); or returns "". A path
// that leads nowhere yet (a link to a file not made) is checked as far as
// it leads.
func ForeignLink(path string) string {
	_, msg := followLinks(path)
	return msg
}

// checkLinks says what is wrong with the way to path, the file opened
// being opened (see Read), or returns "": a link on it that another user
// owns (ForeignLink), or a way that leads to another file than the one
// opened, changed while it was read.
func checkLinks(path string, opened fs.FileInfo) string {
	at, msg := followLinks(path)
	if msg != "" {
		return msg
	}
	if fi, err := os.Stat(at); err != nil || !os.SameFile(fi, opened) {
		return "changed while it was read (a link on the way to it pointed elsewhere); run the command again"
	}
	return ""
}

// followLinks follows path as the kernel does, one name at a time, to the
// file it leads to (as far as it leads), or says which link on the way
// another user owns (see ForeignLink). A relative path is followed from
// the current folder as the kernel knows it ("."), not as $PWD names it
// (os.Getwd), which may go through links the kernel does not follow again
// (a `cd` through another user's link). As no name in at is a link, ".."
// may be taken off it by name.
func followLinks(path string) (at, foreign string) {
	at = "."
	if filepath.IsAbs(path) {
		at = string(filepath.Separator)
	}
	rest := strings.Split(path, string(filepath.Separator))
	for links := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			at = filepath.Join(at, "..")
			continue
		}
		next := filepath.Join(at, name)
		fi, err := os.Lstat(next)
		if err != nil {
			return next, ""
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			at = next
			continue
		}
		if msg := foreignOwner(next, fi); msg != "" {
			return next, fmt.Sprintf("is reached through the symbolic link %s, which %s, who could point it at another file of yours; name the file itself, or make a link of your own", next, msg)
		}
		target, err := os.Readlink(next)
		if links++; err != nil || links > maxLinks {
			return next, ""
		}
		if filepath.IsAbs(target) {
			at = string(filepath.Separator)
		}
		rest = append(strings.Split(target, string(filepath.Separator)), rest...)
	}
	return at, ""
}
