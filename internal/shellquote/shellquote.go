// Package shellquote writes a path so that a command a message suggests
// can be pasted into a shell as it is.
package shellquote

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Word writes path so that it can be pasted into a shell as one word,
// on one line: a path with a control character in it (a line break, a tab)
// is written as $'…' with that character escaped, which bash, zsh and ksh
// read back.
func Word(path string) string {
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

// AsUser is the command that runs freshtoken as the user uid, for root
// (sudo with another user's HOME) to be told instead of taking that user's
// files, which would lock the user out of them: `sudo -u NAME freshtoken`.
func AsUser(uid int) string {
	name := "#" + strconv.Itoa(uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		name = u.Username
	}
	return "sudo -u " + Word(name) + " freshtoken"
}
