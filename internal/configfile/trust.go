package configfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/freshtoken/freshtoken/internal/filemode"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// CheckSecretFile refuses a file holding a secret at key, at line, that
// group or others may read; orElse, if not "", says what else may be done.
// The line is looked for only when the file is refused: looked for in the
// whole file for each environment's client_secret, a configuration of 2000
// of them took 15 s to load.
func CheckSecretFile(path string, line func() int, key, orElse string, fi fs.FileInfo) error {
	if !EnforcesModes {
		return nil
	}
	if fi.Mode().Perm()&0o044 != 0 {
		return &Error{Path: path, Line: line(), Key: key, Msg: fmt.Sprintf("is readable by group or others (mode %04o), who could read the secret; run `chmod 600 %s`%s", filemode.Octal(fi.Mode()), shellquote.Word(path), orElse)}
	}
	return nil
}

// TokenFileFolderProblem says what is wrong with the folder of the
// token_file path as it is now, or returns "": a file, not a folder, or
// one that another user (root excepted) owns or that others may write
// (see OthersMayWrite), where another user could put a file in the token
// file's place.
// A long-running process asks before each write of the file, as a
// folder's mode may change while the configuration does not.
func TokenFileFolderProblem(path string) string {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return ""
	case !fi.IsDir():
		return fmt.Sprintf("is in %s, which is a file, not a folder; name a file in a folder", dir)
	}
	return checkTokenFileFolder(dir, fi)
}
