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

// checkFile refuses a config file that someone else could have written:
// one that belongs to another user (root excepted, as ssh allows) or that
// group or others may write. fi describes the file as opened, after any
// symlink: the file read is the file checked.
func checkFile(path string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := int(st.Uid); uid != os.Geteuid() && uid != 0 {
			return &Error{Path: path, Msg: fmt.Sprintf("belongs to uid %d, not to you (uid %d), so it could change what freshtoken runs; use a config file of your own, or have it given to you with `sudo chown %d %s`", uid, os.Geteuid(), os.Geteuid(), shellQuote(path))}
		}
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &Error{Path: path, Msg: fmt.Sprintf("is writable by group or others (mode %04o), who could change what freshtoken runs; run `chmod go-w %s`", perm, shellQuote(path))}
	}
	return nil
}
