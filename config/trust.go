package config

import (
	"fmt"
	"io/fs"

	"github.com/freshtoken/freshtoken/internal/filemode"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// checkSecretFile refuses a file holding a secret at key, at line, that
// group or others may read; orElse, if not "", says what else may be done.
// The line is looked for only when the file is refused: looked for in the
// whole file for each environment's client_secret, a configuration of 2000
// of them took 15 s to load.
func checkSecretFile(path string, line func() int, key, orElse string, fi fs.FileInfo) error {
	if !enforcesModes {
		return nil
	}
	if fi.Mode().Perm()&0o044 != 0 {
		return &Error{Path: path, Line: line(), Key: key, Msg: fmt.Sprintf("is readable by group or others (mode %04o), who could read the secret; run `chmod 600 %s`%s", filemode.Octal(fi.Mode()), shellquote.Word(path), orElse)}
	}
	return nil
}
