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
// NotShown when it may be a secret pasted there by mistake (-e with a
// token): longer than maxPlainName without reading as words a person
// writes, or shaped as FreeText masks.
func Name(name string) string {
	if len(name) > maxPlainName && !personal().MatchString(name) || FreeText(name, len(name)+1) != name {
		return NotShown
	}
	return strconv.Quote(name)
}

// maxPlainName is the longest name shown whatever its letters: a secret
// is longer.
const maxPlainName = 12

// personal matches a name of words a person writes, joined by '-' or '_':
// each letters (in any case) perhaps followed by digits, or digits perhaps
// followed by lower-case letters and digits, or lower-case letters with
// digits among them (FreeAgentSandbox, acme-prod2, EU_2024, 2nd, 1b, k8s,
// v1beta). A generated secret has a letter after a digit among capitals,
// or digits coming in and going out more often.
var personal = sync.OnceValue(func() *regexp.Regexp {
	const word = `(?:[A-Za-z]+[0-9]*|[0-9]+(?:[a-z]+[0-9]*)?|[a-z]+[0-9]+[a-z]+)`
	return regexp.MustCompile(`^` + word + `(?:[-_]` + word + `)*$`)
})
