package config

import (
	"fmt"
	"io/fs"
	"strings"
)

// checkSecretFile refuses a file holding a plain client_secret, at line,
// that group or others may read.
func checkSecretFile(path string, line int, fi fs.FileInfo) error {
	if !enforcesModes {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o044 != 0 {
		return &Error{Path: path, Line: line, Key: "client_secret", Msg: fmt.Sprintf("is readable by group or others (mode %04o), who could read the secret; run `chmod 600 %s`, or move the secret to client_secret_env or client_secret_cmd", perm, shellQuote(path))}
	}
	return nil
}

// shellQuote writes path so that it can be pasted into a shell as one word.
func shellQuote(path string) string {
	safe := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./+-:,@%=", r)
	}
	if path != "" && strings.IndexFunc(path, func(r rune) bool { return !safe(r) }) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
