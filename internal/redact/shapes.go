package redact

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// FreeText is s, text from outside that names none of the secrets it may
// hold (the error output of a client_secret_cmd or of a [notify] command),
// made safe to print on one line as OneLine makes it, with the words
// shaped like secrets masked too (maskShaped).
//
// Only the first words of s, as many as can show, are read: a hostile
// line of a megabyte costs no more than one of a few hundred bytes. A
// word cut at the end of what is read is left out, never shown in part.
// A terminal's codes (colours, links) are taken out before the words are
// read: left in, a code's last letter joined the word it came before
// ([0meyJ…), which then read as no token.
func FreeText(s string, max int) string {
	limit := 4*max + 64
	if len(s) <= limit {
		return OneLine(maskShaped(terminalCodes().ReplaceAllString(s, "")), max)
	}
	cut := strings.LastIndexAny(s[:limit+1], " \t\n\f\r")
	if cut <= 0 {
		return OneLine(Mask(s), max)
	}
	return OneLine(maskShaped(terminalCodes().ReplaceAllString(s[:cut], ""))+" …", max)
}

// terminalCodes finds ECMA-48's control sequences (ESC [ …: colours, the
// cursor) and operating system commands (ESC ] … BEL or ESC \: a link, a
// window's title).
var terminalCodes = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)`)
})

// Shaped reports whether s reads as a secret by its shape alone, as
// FreeText masks it (see maskShaped), registered secrets aside: unlike
// FreeText, it scrubs nothing.
func Shaped(s string) bool { return maskShaped(s) != s }

// maskShaped masks in s, free text, what reads as a secret by its shape alone:
// a word starting as a well-known kind of token does (hvs., ghp_,
// github_pat_, glpat-, xoxb-, sk-, ya29., AIza, AKIA…), a JWT (eyJ….…),
// the value of a name=value whose name says a secret (token=…,
// api_key=…, TOKEN='…'), a value labelled by such a name as a header, YAML,
// JSON or an INI file label it unless it is a plain word (password: …,
// "client_secret": "…", secret = …), an HTTP authorization's credentials
// (Bearer …, Basic's user:password), a command's flag's value (--token
// …), the password of user:password@host, a URL as URL masks it (its
// query's keys, its user) and its path's random-looking segments, and a
// long random-looking run of letters and digits (randomLooking: a client
// secret, a hex key, base64), a file's path's segments alone. Ordinary
// words, paths, URLs without a key, UUIDs, digests and short codes (an exit status,
// curl's (6), Vault's Code: 403, a request id) stay as they are.
//
// What Mask has masked already is kept as it is, so that text masked
// twice (an error quoted in another) reads as once.
func maskShaped(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range masked().FindAllStringSubmatchIndex(s, -1) {
		n, _ := strconv.Atoi(s[m[2]:m[3]])
		start := m[0] - maskShows(n)
		for start > last && start < m[0] && !utf8.RuneStart(s[start]) {
			start++ // Mask showed fewer, not to cut a character
		}
		if start < last || strings.ContainsFunc(s[max(start, 0):m[0]], unicode.IsSpace) {
			start = m[0]
		}
		b.WriteString(maskShapedIn(s[last:start], true, maxReadings) + s[start:m[1]])
		last = m[1]
	}
	return b.String() + maskShapedIn(s[last:], false, maxReadings)
}

// masked finds what Mask wrote after its prefix: …(N chars).
var masked = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`…\((\d+) chars\)`) })

// maskShapedIn is maskShaped of s, which holds nothing masked; beforeMask says
// whether what follows s is. left is how many more values of a name=value
// nested in another's (a=b=c=…) it reads through: a value nested deeper,
// which only a crafted one is, is masked whole if it may hold one more;
// read through every level, a line of a=a=a=… took minutes.
func maskShapedIn(s string, beforeMask bool, left int) string {
	var b strings.Builder
	pos := 0
	for pos < len(s) {
		m := shaped().FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		for i := range m {
			if m[i] >= 0 {
				m[i] += pos
			}
		}
		b.WriteString(s[pos:m[0]])
		pos = m[1]
		word := s[m[0]:m[1]]
		atEnd := beforeMask && m[1] == len(s)
		switch {
		case m[2] >= 0: // a URL
			u := strings.TrimRight(word, ".,;:)]}!")
			if atEnd {
				// Its last value is masked already, and kept by
				// maskShaped: URL would take it for an empty one.
				u = strings.TrimSuffix(u, "=")
			}
			b.WriteString(maskPath(URL(u)) + word[len(u):])
		case m[4] >= 0: // name=value, its value quoted or not
			name := strings.TrimLeft(s[m[4]:m[5]], "-") // a flag's too
			value, quote := quoted(s, m[6:12])
			switch {
			case secretParam(name):
				value = Mask(value)
			case left == 0 && strings.Contains(value, "="):
				value = Mask(value)
			default:
				value = maskShapedIn(value, atEnd, left-1)
			}
			b.WriteString(nameShown(s, m[4], m[5]) + "=" + quote + value + quote)
		case m[12] >= 0: // a token's known shape
			token := strings.TrimRight(word, ".")
			if strings.HasPrefix(token, "sk-") && !strings.ContainsAny(token, "0123456789") {
				b.WriteString(word) // a word (sk-learn-…), not OpenAI's key
				break
			}
			b.WriteString(Mask(token) + word[len(token):])
		case m[14] >= 0, m[28] >= 0: // name: value, or a command's --name value
			g := m[14:24]
			if g[0] < 0 {
				g = m[28:38]
			}
			name := s[g[0]:g[1]]
			value, quote := quoted(s, g[4:10])
			b.WriteString(nameShown(s, g[0], g[1]) + s[g[2]:g[3]])
			if !labelsASecret(name) || ordinary(value) || quote == "" && strings.HasPrefix(value, "-") {
				pos = g[3] // the value is read as any other text
				if password, ok := hostPassword(s[g[2]:g[3]], value, quote); ok {
					b.WriteString(Mask(password))
					pos += len(password)
				}
				break
			}
			b.WriteString(quote + Mask(value) + quote)
		case m[24] >= 0: // an HTTP authorization's scheme and credentials
			b.WriteString(s[m[24]:m[26]])
			if !credentials(s[m[24]:m[25]], s[m[26]:m[27]]) {
				pos = m[26]
				break
			}
			b.WriteString(Mask(s[m[26]:m[27]]))
		case uuid().MatchString(word), digest(s[:m[0]], word):
			b.WriteString(word) // an identifier: a request's, an item's, an image's
		case filePath(word):
			b.WriteString(maskSegments(word)) // its name readable, a secret in it not
		case randomLooking(word), userPassword(word):
			b.WriteString(Mask(word))
		default:
			b.WriteString(word)
		}
	}
	b.WriteString(s[pos:])
	return b.String()
}

// maskPath is u, a URL as URL shows it, with the segments of its path
// that read as a secret (randomLooking) masked: a webhook's URL carries
// its secret there (hooks.slack.com/services/T…/B…/secret, Discord's
// /api/webhooks/id/token, Telegram's /bot…/). Segments that are UUIDs or
// digests stay readable, as they do outside a URL.
func maskPath(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	start := strings.IndexByte(rest, '/')
	if !ok || start < 0 {
		return u
	}
	start += len(u) - len(rest)
	end := strings.IndexAny(u[start:], "?#")
	if end < 0 {
		end = len(u) - start
	}
	return u[:start] + maskSegments(u[start:start+end]) + u[start+end:]
}

// maskSegments is path, a URL's or a file's, with its segments that read
// as a secret (randomLooking, unless a UUID or a digest) masked, and the
// others kept.
func maskSegments(path string) string {
	segments := strings.Split(path, "/")
	for i, seg := range segments {
		if randomLooking(seg) && !uuid().MatchString(seg) && !digest(seg[:strings.IndexByte(seg, ':')+1], seg) {
			segments[i] = Mask(seg)
		}
	}
	return strings.Join(segments, "/")
}

// filePath reports whether word, a run maskShapedIn reads, is a file's
// path rather than a secret holding a / (base64's): it starts at the root
// or the home folder with a plain word and goes on (/nix/store/…,
// /var/lib/docker/…, ~/src/…).
func filePath(word string) bool {
	rest, root := strings.CutPrefix(strings.TrimPrefix(word, "~"), "/")
	first, _, more := strings.Cut(rest, "/")
	return root && more && ordinary(first)
}

// digest reports whether word, read after before, is a content's hash
// named by its algorithm, as Docker's image digests (sha256:…, after the
// image's name@ too) and Subresource Integrity and Nix's hashes
// (sha512-…) write one: what a pull or an install failed on, which the
// reader needs, and no secret.
func digest(before, word string) bool {
	for _, name := range hashAlgorithms {
		if n := len(before) - len(name) - 1; n >= 0 && before[n+len(name)] == ':' && strings.EqualFold(before[n:n+len(name)], name) && (n == 0 || !isAlnum(before[n-1])) {
			return true
		}
		if len(word) > len(name) && word[len(name)] == '-' && strings.EqualFold(word[:len(name)], name) {
			return true
		}
	}
	return false
}

// hashAlgorithms are the names digests are written with.
var hashAlgorithms = []string{"sha1", "sha224", "sha256", "sha384", "sha512", "md5"}

// minShaped is the fewest characters of a word shaped reads as one that
// may be a secret: a name shorter (a word's, a flag's) holds none.
const minShaped = 12

// nameShown is s[start:end], a name before its value, as maskShapedIn
// shows it: masked if it reads as a secret, unless it is a digest
// (nginx@sha256:…: not found).
func nameShown(s string, start, end int) string {
	if end-start < minShaped || digest(s[:start], s[start:end]) {
		return s[start:end]
	}
	return maskShapedIn(s[start:end], false, 0)
}

// hostPassword is the password of user:password@host written without a
// scheme (a database's or a cache's address in its client's error), read
// as a name (the user), its separator and a bare value: what the value
// holds before an @ followed by a host, unless that is a digest's name
// (an image's nginx:1.25@sha256:…).
func hostPassword(separator, value, quote string) (string, bool) {
	password, host, ok := strings.Cut(value, "@")
	if separator != ":" || quote != "" || !ok || password == "" || strings.Contains(password, "/") || host == "" || !isAlnum(host[0]) {
		return "", false
	}
	return password, !digest(host[:strings.IndexByte(host, ':')+1], "")
}

// quoted is the value a match of shaped found in s at groups, the indexes
// of its value in double quotes, in single ones and bare, and the quote
// around it ("" when bare).
func quoted(s string, groups []int) (value, quote string) {
	switch {
	case groups[0] >= 0:
		return s[groups[0]:groups[1]], `"`
	case groups[2] >= 0:
		return s[groups[2]:groups[3]], "'"
	}
	return s[groups[4]:groups[5]], ""
}

// shaped finds, leftmost first, the words maskShaped reads: a URL (group
// 1); a name=value (group 2 the name, a flag's dashes before it; 3, 4 or 5 its value, in double
// quotes, in single ones or bare, not starting with = as base64's padding
// does); a token of a known shape (group 6); a name labelling a value, as
// a header, YAML, JSON or an INI file write one (name: value, "name":
// "value", name = value: group 7 the name, 8 what separates them, 9, 10 or
// 11 the value as for name=value); an HTTP authorization (Bearer or Basic,
// group 12, and its credentials, group 13); a command's flag and its
// value (--name value: groups 14 to 18 as 7 to 11); or a
// run of letters, digits, base64's other characters and ~ (in Azure's
// client secrets) that may be a random secret (randomLooking decides) or
// base64 of user:password (userPassword). The token prefixes are those of
// HashiCorp Vault (hvs. hvb. hvr.), GitHub (ghp_ gho_ ghu_ ghs_ ghr_
// github_pat_), GitLab (glpat-), Slack (xoxb- xoxp-…), OpenAI and Stripe
// (sk- sk_live_ sk_test_ rk_live_), Google (ya29. AIza), npm and PyPI,
// AWS (AKIA, ASIA), and JWTs (eyJ, the base64 of {").
var shaped = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(
		`([A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+)` +
			`|(-*[A-Za-z_][A-Za-z0-9_.\[\]-]*)=` + value +
			`|(\b(?:(?:hv[sbr]\.|gh[pousr]_|github_pat_|glpat-|xox[a-z]-|sk-|sk_live_|sk_test_|rk_live_|ya29\.|AIza|npm_|pypi-)[A-Za-z0-9_.+/=-]{16,}` +
			`|A[SK]IA[A-Z0-9]{16}\b` +
			`|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?))` +
			`|([A-Za-z_][A-Za-z0-9_.\[\]-]*)(["']?(?::[ \t]*|[ \t]+=[ \t]*))` + value +
			`|\b((?i:bearer|basic))[ \t]+([A-Za-z0-9._~+/-]+=*)` +
			`|(--[A-Za-z][A-Za-z0-9_-]*)([ \t]+)` + value +
			"|[A-Za-z0-9_+/~-]{" + strconv.Itoa(minShaped) + ",}={0,2}")
})

// value is how shaped reads a value after its name: in double quotes, in
// single ones, or bare up to a space or a character that ends a value in
// a query, a list or a shell's line; a bare one never starts with =.
const value = `(?:"([^"\n]*)"|'([^'\n]*)'|([^\s&"'<>;,=` + "`" + `][^\s&"'<>;,` + "`" + `]*))`

// labelsASecret reports whether name, labelling a value (name: value) or
// a command's flag giving one (--name value), says it is a secret, as a
// query's parameter does (secretParam), unless it is a word that more
// often names a program or a thing there: pass (the password store's own
// errors start with "pass:"), key, code (Vault's "Code: 403", an HTTP
// status; an authorization code shows as a query's code=…); or its last
// word says where the secret is (notSecretValues); or, for a flag, its
// last word is not a secret's (--token-ttl, --key-id).
func labelsASecret(name string) bool {
	bare, isFlag := strings.CutPrefix(name, "--")
	switch strings.ToLower(bare) {
	case "pass", "key", "code":
		return false
	}
	if !secretParam(bare) {
		return false
	}
	words := paramWords(name)
	last := strings.ToLower(words[len(words)-1])
	switch {
	case len(words) > 1 && slices.Contains(notSecretValues, last):
		return false
	case isFlag && !endsWithASecretWord(last):
		return false // a flag that tells of a secret (--token-ttl 5m, --key-id …)
	}
	return true
}

// notSecretValues are the last words of names that say where a secret is,
// or how it is given, rather than being one: its file's path
// (--password-file, token_file: …), its URL, its environment variable
// (client_secret_env = "FREEAGENT_SECRET"), the command printing it, or
// that it is read from standard input (docker login --password-stdin).
var notSecretValues = []string{"file", "path", "dir", "url", "uri", "env", "cmd", "command", "stdin"}

// ordinary reports whether value, labelled as a secret, is a plain word
// (letters only, perhaps with a stop after it), as a message's next word
// is (token: expired, secret: Code: 403), rather than a secret, which
// holds a digit or another sign.
func ordinary(value string) bool {
	value = strings.TrimRight(value, ".,;:!)")
	return value != "" && !strings.ContainsFunc(value, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsLetter(r) })
}

// credentials reports whether what follows an HTTP authorization's scheme
// is its credentials rather than a word of a message (Bearer token
// expired, Basic auth failed): a Bearer token of 8 or more characters
// that are not letters alone, or Basic's base64 of user:password.
func credentials(scheme, word string) bool {
	if strings.EqualFold(scheme, "basic") {
		return userPassword(word)
	}
	return len(word) >= 8 && !ordinary(word)
}

// userPassword reports whether word is base64 of user:password, as HTTP's
// Basic authorization writes credentials: printable text, a colon between
// two parts. An ordinary word seldom is valid base64, and then decodes to
// bytes that are not all printable.
func userPassword(word string) bool {
	plain, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(word, "="))
	if err != nil {
		return false
	}
	user, password, ok := bytes.Cut(plain, []byte(":"))
	return ok && len(user) > 0 && len(password) > 0 && !bytes.ContainsFunc(plain, func(r rune) bool { return r < ' ' || r > '~' })
}

// uuid is an identifier written as RFC 9562 writes one, which says what a
// request or an item was (a trace id, a password manager's item) and is
// kept readable though it is long and mixes letters and digits.
var uuid = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
})

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
