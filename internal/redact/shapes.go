package redact

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// FreeText is s, text from outside that names none of the secrets it may
// hold (the error output of a client_secret_cmd or of a [notify] command),
// made safe to print on one line as OneLine makes it, with the words
// shaped like secrets masked too (maskShaped).
func FreeText(s string, max int) string { return OneLine(maskShaped(s), max) }

// maskShaped masks in s, free text, what reads as a secret by its shape alone:
// a word starting as a well-known kind of token does (hvs., ghp_,
// github_pat_, glpat-, xoxb-, sk-, ya29., AIza, AKIA…), a JWT (eyJ….…),
// the value of a name=value whose name says a secret (token=…,
// api_key=…), a URL as URL masks it (its query's keys, its user), and a
// long random-looking run of letters and digits (randomLooking: a client
// secret, a hex key). Ordinary words, paths, URLs without a key and short
// codes (an exit status, curl's (6), a request id) stay as they are.
//
// What Mask has masked already is kept as it is, so that text masked
// twice (an error quoted in another) reads as once.
func maskShaped(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range masked.FindAllStringSubmatchIndex(s, -1) {
		n, _ := strconv.Atoi(s[m[2]:m[3]])
		start := m[0] - maskShows(n)
		if start < last || strings.ContainsFunc(s[max(start, 0):m[0]], unicode.IsSpace) {
			start = m[0]
		}
		b.WriteString(maskShapedIn(s[last:start], true) + s[start:m[1]])
		last = m[1]
	}
	return b.String() + maskShapedIn(s[last:], false)
}

// masked finds what Mask wrote after its prefix: …(N chars).
var masked = regexp.MustCompile(`…\((\d+) chars\)`)

// maskShapedIn is maskShaped of s, which holds nothing masked; beforeMask says
// whether what follows s is.
func maskShapedIn(s string, beforeMask bool) string {
	matches := shaped.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		b.WriteString(s[last:m[0]])
		last = m[1]
		word := s[m[0]:m[1]]
		switch {
		case m[2] >= 0: // a URL
			u := strings.TrimRight(word, ".,;:)]}!")
			if beforeMask && m[1] == len(s) {
				// Its last value is masked already, and kept by
				// maskShaped: URL would take it for an empty one.
				u = strings.TrimSuffix(u, "=")
			}
			b.WriteString(URL(u) + word[len(u):])
		case m[4] >= 0: // name=value
			name, value := s[m[4]:m[5]], s[m[6]:m[7]]
			if secretParam(name) {
				b.WriteString(name + "=" + Mask(value))
			} else {
				b.WriteString(name + "=" + maskShapedIn(value, beforeMask && m[1] == len(s)))
			}
		case m[8] >= 0: // a token's known shape
			token := strings.TrimRight(word, ".")
			b.WriteString(Mask(token) + word[len(token):])
		case randomLooking(word):
			b.WriteString(Mask(word))
		default:
			b.WriteString(word)
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

// shaped finds, leftmost first, the words maskShaped reads: a URL (group 1), a
// name=value (groups 2 and 3), a token of a known shape (group 4), or a
// run of letters, digits and base64's other characters that may be a
// random secret (randomLooking decides). The token prefixes are those of
// HashiCorp Vault (hvs. hvb. hvr.), GitHub (ghp_ gho_ ghu_ ghs_ ghr_
// github_pat_), GitLab (glpat-), Slack (xoxb- xoxp-…), OpenAI and Stripe
// (sk- sk_live_ sk_test_ rk_live_), Google (ya29. AIza), npm and PyPI,
// AWS (AKIA, ASIA), and JWTs (eyJ, the base64 of {").
var shaped = regexp.MustCompile(
	`([A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+)` +
		`|([A-Za-z_][A-Za-z0-9_.\[\]-]*)=([^\s&"'<>;,` + "`" + `]+)` +
		`|(\b(?:(?:hv[sbr]\.|gh[pousr]_|github_pat_|glpat-|xox[a-z]-|sk-|sk_live_|sk_test_|rk_live_|ya29\.|AIza|npm_|pypi-)[A-Za-z0-9_.+/=-]{16,}` +
		`|A[SK]IA[A-Z0-9]{16}\b` +
		`|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?))` +
		`|[A-Za-z0-9_+/-]{24,}={0,2}`)

// minRandom is the fewest letters and digits a word maskShaped masks for its
// randomness alone has: a generated secret has more (a FreeAgent client
// secret, 40 hex digits from GitHub, 32 base62 characters), an ordinary
// word, path or code fewer.
const minRandom = 24

// randomLooking reports whether word, a run of base64's characters, reads
// as a generated secret: at least minRandom letters and digits, both
// letters and digits among them, and a change of kind (upper case, lower
// case, digit) between one in five neighbours or more, as a random string
// has (about one in two). A path or a name (x86_64-linux-gnu,
// run/user/1000/freshtoken, a date-stamped file) changes far less often;
// words without a digit (CamelCaseNames) are kept.
func randomLooking(word string) bool {
	var letters, digits, changes int
	prev := -1
	for _, r := range word {
		kind := -1
		switch {
		case r <= unicode.MaxASCII && unicode.IsDigit(r):
			kind, digits = 0, digits+1
		case r <= unicode.MaxASCII && unicode.IsUpper(r):
			kind, letters = 1, letters+1
		case r <= unicode.MaxASCII && unicode.IsLower(r):
			kind, letters = 2, letters+1
		default:
			continue
		}
		if prev >= 0 && kind != prev {
			changes++
		}
		prev = kind
	}
	n := letters + digits
	return n >= minRandom && letters > 0 && digits > 0 && changes*5 >= n
}
