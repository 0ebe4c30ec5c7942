package config

import (
	"fmt"
	"io/fs"
	"strings"
)

// checkSecretFile refuses a file holding a secret at key, at line, that
// group or others may read; orElse, if not "", says what else may be done.
func checkSecretFile(path string, line int, key, orElse string, fi fs.FileInfo) error {
	if !enforcesModes {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o044 != 0 {
		return &Error{Path: path, Line: line, Key: key, Msg: fmt.Sprintf("is readable by group or others (mode %04o), who could read the secret; run `chmod 600 %s`%s", perm, ShellQuote(path), orElse)}
	}
	return nil
}

// ShellQuote writes path so that it can be pasted into a shell as one word.
func ShellQuote(path string) string {
	safe := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./+-:,@%=", r)
	}
	if path != "" && strings.IndexFunc(path, func(r rune) bool { return !safe(r) }) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
