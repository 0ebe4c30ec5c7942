package paste

import "strings"

// SecretLine is the secret in text a password manager printed (or a
// variable set from its output, or text piped in): its first line, without
// the white space around it. `pass show` prints the password first and the
// entry's notes (login:, url:) on the lines after it, and no client secret
// or store URL holds a line break. A byte-order mark before it (a file saved
// as "UTF-8 with BOM" by Notepad or PowerShell, printed by `type`) is no
// part of it either. A blank first line with text after it is an entry
// whose password is empty: the secret is "" and notesOnly true, for the
// notes are never the secret, and the caller says so (BlankFirstLine).
func SecretLine(text string) (secret string, notesOnly bool) {
	first, rest, _ := strings.Cut(strings.TrimPrefix(text, "\ufeff"), "\n")
	secret = strings.TrimSpace(first)
	return secret, secret == "" && strings.TrimSpace(rest) != ""
}

// BlankFirstLine says why text whose first line is blank but not the rest
// (SecretLine's notesOnly) gives no secret, never quoting the text.
const BlankFirstLine = "the secret must be its first line, as `pass show` prints the password first and the entry's notes after it, and the lines after it are never taken for it"
