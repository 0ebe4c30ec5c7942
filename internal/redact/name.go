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

// personalWord reports whether w, ASCII letters and digits, reads as a word
// a person writes: digits come in or go out at most twice (k8s, o365,
// v1beta, 2024, 1b), and the letters' case changes at most once in three
// letters, with no lone lower-case letter between capitals
// (FreeAgentSandbox, OAuth, iPhone, EU). A generated secret (base62,
// base64, hex) changes kind every other character or so.
func personalWord(w string) bool {
	letters, caseChanges, digitChanges := 0, 0, 0
	for i := range len(w) {
		k := kindOf(w[i])
		switch {
		case k == otherChar:
			return false
		case k != digitChar:
			letters++
		}
		if i == 0 {
			continue
		}
		switch prev := kindOf(w[i-1]); {
		case (k == digitChar) != (prev == digitChar):
			digitChanges++
		case k != prev:
			caseChanges++
			if k == upperChar && i >= 2 && kindOf(w[i-2]) == upperChar {
				return false // a lone lower-case letter between capitals
			}
		}
	}
	return digitChanges <= 2 && caseChanges*3 <= letters
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
