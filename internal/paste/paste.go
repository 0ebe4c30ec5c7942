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
