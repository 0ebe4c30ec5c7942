package redact

import (
	"regexp"
	"strconv"
	"sync"
)

// NotShown stands in a message for what was given when it may be a
// secret.
const NotShown = "(not shown, in case it is a secret)"

// Name is name, given where the name of something configured (an
// environment) was wanted and naming none, quoted for a message; or
// NotShown when it may be a secret pasted there by mistake (MayBeSecret).
func Name(name string) string {
	if MayBeSecret(name) {
		return NotShown
	}
	return strconv.Quote(name)
}

// MayBeSecret reports whether name, given where a name was wanted (-e
// with a token), may be a secret pasted there by mistake: longer than
// maxPlainName without reading as words a person writes, or shaped as
// FreeText masks. Such a name is neither said back nor written.
func MayBeSecret(name string) bool {
	return len(name) > maxPlainName && !ReadsAsWords(name) || FreeText(name, len(name)+1) != name
}

// ReadsAsWords reports whether s reads as words a person writes, joined
// by '-' or '_' (see personal): FreeAgentProduction2024, acme-prod2.
func ReadsAsWords(s string) bool { return personal().MatchString(s) }

// maxPlainName is the longest name shown whatever its letters: a secret
// is longer.
const maxPlainName = 12

// personal matches a name of words a person writes, joined by '-' or '_':
// each letters (in any case) perhaps followed by digits, or digits perhaps
// followed by lower-case letters and digits, or lower-case letters with
// digits among them (FreeAgentSandbox, acme-prod2, EU_2024, 2nd, 1b, k8s,
// v1beta). The trade-off: a secret of letters alone, or of letters then
// digits (xKqTzRbWmNvLpYsHdFgJcQ, AbCdEfGhIjKlMn1234), reads as such a
// word and is shown; digits coming in and going out among capitals, as
// generated secrets almost always have them, are not.
var personal = sync.OnceValue(func() *regexp.Regexp {
	const word = `(?:[A-Za-z]+[0-9]*|[0-9]+(?:[a-z]+[0-9]*)?|[a-z]+[0-9]+[a-z]+)`
	return regexp.MustCompile(`^` + word + `(?:[-_]` + word + `)*$`)
})
