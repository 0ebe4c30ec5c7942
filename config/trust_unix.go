//go:build unix

package config

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// enforcesModes says whether file modes mean here what checkFile and
// checkSecretFile read them to mean.
const enforcesModes = true

// openNonblocking opens a file to read without waiting: a named pipe with
// no writer would otherwise hold the open forever, where the file's type
// is checked only once it is open.
const openNonblocking = syscall.O_NONBLOCK

// checkFile refuses a config file that someone else could have written:
// one that belongs to another user (root excepted, as ssh allows) or that
// group or others may write. fi describes the file as opened, after any
// symlink: the file read is the file checked.
func checkFile(path string, fi fs.FileInfo) error {
	if msg := foreignOwner(path, fi); msg != "" {
		return &Error{Path: path, Msg: msg + ", so it could change what freshtoken runs; use a config file of your own, or have it given to you with " + chown(path)}
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &Error{Path: path, Msg: fmt.Sprintf("is writable by group or others (mode %04o), who could change what freshtoken runs; run `chmod go-w %s`", perm, shellQuote(path))}
	}
	return nil
}

// checkPrivateFile refuses a file holding a private key (fi, as opened)
// that belongs to another user (root excepted) or that group or others may
// read or write, as ssh refuses such a key; it returns what is wrong, or "".
func checkPrivateFile(path string, fi fs.FileInfo) string {
	if msg := foreignOwner(path, fi); msg != "" {
		return msg + ", so it may not be yours to sign with; use a key of your own, or have it given to you with " + chown(path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Sprintf("can be read or changed by group or others (mode %04o), who could sign as your client; run `chmod 600 %s`", perm, shellQuote(path))
	}
	return ""
}

// checkAuthorityFile refuses a ca_file (fi, after any symlink) that
// belongs to another user (root excepted) or that group or others may
// write: whoever can add an authority to it can read every request; it
// returns what is wrong, or "".
func checkAuthorityFile(path string, fi fs.FileInfo) string {
	if msg := foreignOwner(path, fi); msg != "" {
		return msg + ", who could add an authority to it and read your token requests; use a file of your own, or have it given to you with " + chown(path)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Sprintf("is writable by group or others (mode %04o), who could add an authority to it and read your token requests; run `chmod go-w %s`", perm, shellQuote(path))
	}
	return ""
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

func chown(path string) string {
	return fmt.Sprintf("`sudo chown %d %s`", os.Geteuid(), shellQuote(path))
}
