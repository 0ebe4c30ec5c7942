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
// each letters (lower case, capitalised or in capitals) perhaps followed
// by digits, or digits alone (acme-prod2, FreeAgentSandbox, EU_2024). A
// generated secret mixes digits among its letters.
var personal = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:(?:[A-Z]+|[A-Z]?[a-z]+)+[0-9]*|[0-9]+)(?:[-_](?:(?:[A-Z]+|[A-Z]?[a-z]+)+[0-9]*|[0-9]+))*$`)
})
