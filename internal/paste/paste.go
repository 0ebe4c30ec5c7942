// Package paste reads what a person pasted at a terminal, or a password
// manager printed, as they meant it.
package paste

import (
	"regexp"
	"slices"
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

// Alone reports whether id, a client ID as pasted (Unmarked takes its
// marks off), holds the client ID alone, which may be shown: one word, in
// no quote marks but those at its ends, without a secret's label. A line
// copied whole from the provider's page or a JSON file holds the secret
// after it ("abc123 OAuth secret: …", `abc123", "client_secret": "…`).
func Alone(id string) bool {
	v := Unmarked(id)
	return !strings.ContainsFunc(v, unicode.IsSpace) && !strings.ContainsAny(v, "\"'`,<>") && !SecretLabel(v)
}

// labelled matches a value pasted with the label a provider's page shows
// before it ("Client ID: abc123", "OAuth secret = …"), or a JSON file's
// key ("client_secret": "…"), quoted or not.
var labelled = regexp.MustCompile("^[\"'`]?[A-Za-z][A-Za-z _-]{0,30}?[\"'`]?\\s*[:=]\\s*\\S")

// quoteMarks takes off the quotes of a JSON file's key, to show the label.
var quoteMarks = strings.NewReplacer(`"`, "", "'", "", "`", "")

// Labelled is line's label, as "Client ID:" (shown without a JSON key's
// quotes), and the value that follows it; "" and line when it has none.
func Labelled(line string) (label, value string) {
	if !labelled.MatchString(line) {
		return "", line
	}
	i := strings.IndexAny(line, ":=") + 1
	return quoteMarks.Replace(line[:i]), strings.TrimSpace(line[i:])
}

// SecretLabel reports whether label is a client secret's (Client secret:,
// "client_secret":, Password =), by its words, not letters within them.
func SecretLabel(label string) bool {
	return labelSays(label, "secret", "clientsecret", "password")
}

// IDLabel reports whether label is a client ID's (Client ID:, OAuth
// identifier:, "client_id":, Key =), by its words: a generic provider's
// did:web:… or android:… ID is no label.
func IDLabel(label string) bool {
	return labelSays(label, "id", "identifier", "client", "clientid", "key")
}

// labelSays reports whether one of label's words is one of names.
func labelSays(label string, names ...string) bool {
	words := strings.FieldsFunc(strings.ToLower(label), func(r rune) bool { return r < 'a' || r > 'z' })
	return slices.ContainsFunc(words, func(w string) bool { return slices.Contains(names, w) })
}

// SecretForAnID reports whether id, pasted as the client id of provider (a
// preset's name), holds rather its client secret, where the provider's two
// look different: Google's secrets begin GOCSPX-, and Microsoft Entra's
// hold a ~, which their client ids never do, in quotes or after a label
// too.
func SecretForAnID(provider, id string) bool {
	switch provider {
	case "google":
		return strings.Contains(id, "GOCSPX-")
	case "microsoft":
		return strings.Contains(id, "~")
	}
	return false
}
