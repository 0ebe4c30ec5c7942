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

// Unwrapped is line without the one pair of quotes or angle brackets
// around it that a chat, an e-mail, a JSON file or a shell command may have
// written a value in.
func Unwrapped(line string) string {
	for _, pair := range []string{`""`, "''", "``", "<>"} {
		if len(line) > 2 && line[0] == pair[0] && line[len(line)-1] == pair[1] {
			return strings.TrimSpace(line[1 : len(line)-1])
		}
	}
	return line
}

// Unmarked is a value copied from a JSON file, a chat or an e-mail without
// the quotes or angle brackets at its ends, paired or not (a selection that
// took one of the pair: "abc123), and the comma after a JSON file's value.
// For values that never hold these marks at their ends, as a client ID.
func Unmarked(value string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSuffix(value, ","), "\"'`<>"))
}
