// Package paste reads what a person pasted at a terminal as they meant it.
package paste

import (
	"strings"
	"unicode"
)

// bracketed are the marks a terminal puts around a paste when a program (a
// shell that did not clean up) left bracketed paste on.
var bracketed = strings.NewReplacer("\x1b[200~", "", "\x1b[201~", "")

// Trim is line as it was meant: without bracketed paste's marks, and
// without the white space and invisible characters (a byte-order mark, a
// zero-width space) that copying from a web page, a chat or a Windows file
// brings along.
func Trim(line string) string {
	return strings.TrimFunc(bracketed.Replace(line), func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u200b' || r == '\u2060' || r == '\ufeff'
	})
}

// Unwrapped is line without the quotes or angle brackets around it that a
// chat, an e-mail, a JSON file or a shell command may have written a value
// in: one pair, or pairs one inside another ("<…>"), and the comma that
// follows a value in a JSON file ("abc123",).
func Unwrapped(line string) string {
	for {
		inner, ok := unwrap(line)
		if !ok {
			return line
		}
		line = inner
	}
}

// unwrap is line without one pair of marks around it, and the comma after
// them; ok is false when it has none.
func unwrap(line string) (inner string, ok bool) {
	v := strings.TrimSuffix(line, ",")
	for _, pair := range []string{`""`, "''", "``", "<>"} {
		if len(v) > 2 && v[0] == pair[0] && v[len(v)-1] == pair[1] {
			return strings.TrimSpace(v[1 : len(v)-1]), true
		}
	}
	return line, false
}
