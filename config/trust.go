package config

import (
	"fmt"
	"io/fs"
	"strings"
	"unicode"
	"unicode/utf8"
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

// ShellQuote writes path so that it can be pasted into a shell as one word,
// on one line: a path with a control character in it (a line break, a tab)
// is written as $'…' with that character escaped, which bash, zsh and ksh
// read back.
func ShellQuote(path string) string {
	safe := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./+-:,@%=", r)
	}
	if path != "" && strings.IndexFunc(path, func(r rune) bool { return !safe(r) }) < 0 {
		return path
	}
	if strings.IndexFunc(path, unicode.IsControl) < 0 && utf8.ValidString(path) {
		return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i, r := range path {
		size := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, size = utf8.DecodeRuneInString(path[i:])
		}
		switch {
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r) || r == utf8.RuneError && size == 1:
			for _, c := range []byte(path[i : i+size]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		default:
			b.WriteString(path[i : i+size])
		}
	}
	b.WriteByte('\'')
	return b.String()
}
