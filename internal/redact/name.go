package redact

import (
	"slices"
	"strconv"
	"strings"
)

// NotShown stands in a message for what was given when it may be a
// secret.
const NotShown = "(not shown, in case it is a secret)"

// Name is name, given where the name of something configured (an
// environment) was wanted and naming none, quoted for a message; or
// NotShown when it may be a secret pasted there by mistake (-e with a
// token): longer than maxPlainName without reading as words a person
// writes (personal), or shaped as FreeText masks.
func Name(name string) string {
	if len(name) > maxPlainName && !personal(name) || FreeText(name, len(name)+1) != name {
		return NotShown
	}
	return strconv.Quote(name)
}

// maxPlainName is the longest name shown whatever its letters: a secret
// is longer.
const maxPlainName = 12

// personal reports whether name reads as words a person writes, joined by
// '-' or '_', each a personalWord (FreeAgent-Sandbox-2024,
// acme_prod_eu_west_1, k8s-staging-eu).
func personal(name string) bool {
	words := strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' })
	return len(words) > 0 && !slices.ContainsFunc(words, func(w string) bool { return !personalWord(w) })
}

// personalWord reports whether w reads as a word a person writes: letters
// then perhaps digits (FreeAgentSandbox, prod2, EU2024), digits alone
// (2024), or, in lower case, letters and digits with the digits coming in
// or going out at most twice (k8s, o365, v1beta, 2nd, 1b). A generated
// secret (base62, base64, hex) has a letter after a digit, and capitals
// with it, all but always.
func personalWord(w string) bool {
	digitChanges, letterAfterDigit, capitals := 0, false, false
	for i := range len(w) {
		k := kindOf(w[i])
		if k == otherChar {
			return false
		}
		capitals = capitals || k == upperChar
		if i > 0 && (k == digitChar) != (kindOf(w[i-1]) == digitChar) {
			digitChanges++
			letterAfterDigit = letterAfterDigit || k != digitChar
		}
	}
	return !letterAfterDigit || !capitals && digitChanges <= 2
}

// charKind is a kind of character personalWord tells apart.
type charKind int

const (
	otherChar charKind = iota
	lowerChar
	upperChar
	digitChar
)

func kindOf(c byte) charKind {
	switch {
	case 'a' <= c && c <= 'z':
		return lowerChar
	case 'A' <= c && c <= 'Z':
		return upperChar
	case '0' <= c && c <= '9':
		return digitChar
	}
	return otherChar
}
