package redact

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// pattern finds one secret in every encoding compile knows.
type pattern struct {
	value string
	// re is compiled when a text first holds one of the anchors, not when
	// the value is registered: most secrets never reach a log, and a proxy
	// of thousands of environments held a compiled expression for each of
	// their secrets. Nil for a value longer than maxPatterned, or repetitive.
	re func() *regexp.Regexp
	// literals, for a value without re, are its encodings as
	// whole strings; based says which are base64.
	literals []string
	based    []bool
	// anchors are strings of letters and digits, one of which every match
	// holds: they are written as themselves in every encoding. Text without
	// any of them is not searched further (see index). Nil when one of
	// them is shorter than minAnchor: every text is searched.
	anchors []string
}

// compile builds the pattern for v. It matches:
//   - v with any of its characters written raw, percent-encoded (either hex
//     case), as `+` for a space, or JSON-escaped (`\u0026`, `\/`, `\"`,
//     `\n`), in any mix: the URL query, path and form encodings and JSON strings.
//     Where v has a run of three or more ASCII letters and digits, the
//     longest such run must be written as itself, as every encoder does;
//   - base64 (standard or URL alphabet, padded or not) of any text holding
//     v raw, query-escaped (as x/oauth2 escapes id and secret before
//     building a Basic header), or path-escaped: `id:secret` in a Basic
//     header, or a whole form-encoded request. The run of base64 text around
//     it is matched whole.
//
// A value longer than maxPatterned, or repetitive, is matched as whole
// strings instead: raw, each escaping with either hex case, JSON-escaped as
// the encoders of jsonEscaped write it, and the base64 cores, raw and
// quoted as base64Quotings write them.
func compile(v string) *pattern {
	var cores []string
	anchors := []string{longestAlnum(v)}
	for _, plain := range plainForms(v) {
		// Base64 writes three bytes as four characters, so text holding
		// plain at any offset holds, encoded, one of these three cores:
		// plain from its first whole group of three on, cut to whole groups.
		for skip := range 3 {
			b := []byte(plain[skip:])
			b = b[:len(b)/3*3]
			if len(b) == 0 {
				continue
			}
			for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
				core := enc.EncodeToString(b)
				cores = append(cores, core)
				anchors = append(anchors, longestAlnum(core))
			}
		}
	}
	slices.Sort(cores)
	cores = slices.Compact(cores)
	p := &pattern{value: v}
	if len(v) > maxPatterned || slices.ContainsFunc(slices.Concat([]string{v, unescape(v), unescapeJSON(v)}, cores), repetitive) {
		texts := textForms(v)
		based := slices.Clone(cores)
		for _, core := range cores {
			for _, q := range base64Quotings {
				based = append(based, q.Replace(core))
			}
		}
		slices.Sort(based)
		p.literals = append(texts, slices.Compact(based)...)
		p.based = make([]bool, len(p.literals))
		for i := len(texts); i < len(p.based); i++ {
			p.based[i] = true
		}
	} else {
		p.re = sync.OnceValue(func() *regexp.Regexp {
			based := make([]string, len(cores))
			for i, core := range cores {
				based[i] = base64Pattern(core)
			}
			return regexp.MustCompile("(" + strings.Join(based, "|") + ")|" + textPattern(v))
		})
	}
	slices.Sort(anchors)
	anchors = slices.Compact(anchors)
	if !slices.ContainsFunc(anchors, func(a string) bool { return len(a) < minAnchor }) {
		p.anchors = anchors
	}
	return p
}

// maxPatterned is the longest value compile writes a regular expression
// for. A provider may answer with a token or device code of up to a
// megabyte, for which the expression would take seconds to build, or fail
// to (regexp refuses expressions that large).
const maxPatterned = 16 << 10

// maxOverlap is the most prefixes of a value one place in a text may end
// (see repetitive) for compile to write a regular expression for it.
const maxOverlap = 16

// repetitive reports whether some prefix of s ends more than maxOverlap of
// s's prefixes (it has that many borders, one inside the other): a text
// there keeps as many partial matches of the expression alive, each read
// on with every byte, so that text holding such a value (a token of one
// byte repeated, which a provider may send) took the expression time in
// its length times the value's: a minute for 16 KiB. Text holding a value
// of few borders keeps few alive, however long the value, as every
// secret of random characters has.
func repetitive(s string) bool {
	// border[i] is the length of the longest proper border of s[:i+1],
	// depth[i] how many borders s[:i+1] has (Knuth-Morris-Pratt).
	border, depth := make([]int, len(s)), make([]int, len(s))
	for i := 1; i < len(s); i++ {
		k := border[i-1]
		for k > 0 && s[i] != s[k] {
			k = border[k-1]
		}
		if s[i] == s[k] {
			k++
		}
		border[i] = k
		if k > 0 {
			if depth[i] = depth[k-1] + 1; depth[i] > maxOverlap {
				return true
			}
		}
	}
	return false
}

// unescapeJSON is s with its JSON escapes (\u0061, \/, \n) read, and
// what is not one left as it is. A value holding escapes (`%61` beside
// `a`) is read by the expression as its unescaped text too: a text of one
// escape repeated kept as many partial matches alive as the value's
// unescaped text would.
func unescapeJSON(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			if s[i+1] == 'u' && i+6 <= len(s) {
				if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
					b.WriteRune(rune(n))
					i += 5
					continue
				}
			}
			if r, ok := jsonUnescapes[s[i+1]]; ok {
				b.WriteByte(r)
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// jsonUnescapes are the characters JSON's short escapes stand for.
var jsonUnescapes = map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f', '"': '"', '\\': '\\', '/': '/'}

// textForms are the ways text may quote v whole, for a value without a
// regular expression: raw, URL- and form-escaped as each encoder of
// urlUnreserved writes it (%20 or + for a space, hex digits in either
// case), path-escaped, and JSON-escaped as each encoder of jsonEscaped
// writes it (hex digits in either case, / written raw or as \/).
func textForms(v string) []string {
	forms := []string{v, url.PathEscape(v)}
	for _, unreserved := range urlUnreserved {
		q := urlEscaped(v, unreserved)
		forms = append(forms, q, strings.ReplaceAll(q, "%20", "+"))
	}
	for _, f := range forms[1:] {
		forms = append(forms, lowerEscapes(f))
	}
	for _, e := range jsonEscaped {
		for _, hex := range []string{"%04x", "%04X"} {
			j := jsonQuoted(v, e.escaped, e.upper, hex)
			forms = append(forms, j, strings.ReplaceAll(j, "/", `\/`))
		}
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// urlUnreserved are the characters besides ASCII letters and digits that
// URL and form encoders write raw: Go's url.QueryEscape, Python's quote
// and .NET's Uri.EscapeDataString (RFC 3986's); PHP's urlencode; Java's
// URLEncoder and Ruby's; JavaScript's encodeURIComponent; .NET's
// WebUtility.UrlEncode.
var urlUnreserved = []string{"-_.~", "-_.", "-_.*", "-_.!~*'()", "-_.!*()"}

// urlEscaped is v with every byte but ASCII letters, digits and those in
// unreserved written as % and two upper-case hex digits.
func urlEscaped(v, unreserved string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if c := v[i]; isAlnum(c) || strings.IndexByte(unreserved, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// jsonEscaped are the characters JSON encoders write as \u escapes
// besides those every encoder escapes: none more (Go's json.Encoder
// without HTML escaping, JavaScript's JSON.stringify), HTML's (Go's
// json.Marshal, Rails), Gson's, .NET System.Text.Json's, every character
// not ASCII or DEL (Python's json), every character not ASCII (PHP's
// json_encode, which writes DEL raw), and those of PHP's JSON_HEX_TAG,
// JSON_HEX_AMP, JSON_HEX_APOS and JSON_HEX_QUOT (Symfony's JsonResponse),
// with and without every character not ASCII; upper are those an encoder
// writes with upper-case hex digits whatever case it writes the rest in
// (PHP's `\u003C`, `\u003E` beside `\u00e9`). A value matched by an
// expression is found in any mix of escapes; one matched as whole
// strings only as one of these writes it.
var jsonEscaped = []struct {
	escaped func(r rune) bool
	upper   string
}{
	{func(rune) bool { return false }, ""},
	{func(r rune) bool { return strings.ContainsRune("<>&", r) }, ""},
	{func(r rune) bool { return strings.ContainsRune("<>&='", r) }, ""},
	{func(r rune) bool { return r > '~' || strings.ContainsRune("<>&'\"+`", r) }, ""},
	{func(r rune) bool { return r > '~' }, ""},
	{func(r rune) bool { return r > 0x7f }, ""},
	{func(r rune) bool { return strings.ContainsRune("<>&'\"", r) }, "<>"},
	{func(r rune) bool { return r > 0x7f || strings.ContainsRune("<>&'\"", r) }, "<>"},
}

// jsonQuoted is v as the text of a JSON string, quotes left out: the
// characters escaped says, and control characters, U+2028 and U+2029 (as
// Go's encoder writes them, the short escapes \n \t \r \b \f where there
// is one), written as \u and hex (formatted with hex, "%04x" or "%04X",
// or in upper case for those in upper), characters beyond U+FFFF as two,
// a byte that is not UTF-8 as \ufffd, and `"` and `\` not escaped so
// written after a backslash.
func jsonQuoted(v string, escaped func(rune) bool, upper, hex string) string {
	var b strings.Builder
	for i, r := range v {
		if _, size := utf8.DecodeRuneInString(v[i:]); r == utf8.RuneError && size == 1 {
			b.WriteString(`\u` + fmt.Sprintf(hex, r))
			continue
		}
		short, isShort := jsonEscapes[r]
		switch {
		case escaped(r) || !isShort && (r < ' ' || r == '\u2028' || r == '\u2029'):
			h := hex
			if strings.ContainsRune(upper, r) {
				h = "%04X"
			}
			for _, u := range utf16.AppendRune(nil, r) {
				b.WriteString(`\u` + fmt.Sprintf(h, u))
			}
		case isShort:
			b.WriteString(short)
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lowerEscapes is s with the hex digits of its percent-escapes in lower
// case (%2F becomes %2f), as some encoders write them.
func lowerEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' && isUpperHex(b[i+1]) && isUpperHex(b[i+2]) {
			b[i+1], b[i+2] = b[i+1]|0x20, b[i+2]|0x20 // digits already have the bit
		}
	}
	return string(b)
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// minAnchor is the shortest anchor worth looking for; a value without one
// is searched for in every text.
const minAnchor = 3

// longestAlnum is the longest run of ASCII letters and digits in s.
func longestAlnum(s string) string {
	best, start := "", 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isAlnum(s[i]) {
			continue
		}
		if i-start > len(best) {
			best = s[start:i]
		}
		start = i + 1
	}
	return best
}

func isAlnum(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// plainForms are the ways v is written in text that is then base64-encoded.
func plainForms(v string) []string {
	q := url.QueryEscape(v)
	forms := []string{v, q, strings.ReplaceAll(q, "+", "%20"), url.PathEscape(v)}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// jsonEscapes are the short escapes JSON writes control characters with
// (a key file's line breaks), besides \u.
var jsonEscapes = map[rune]string{'\n': `\n`, '\r': `\r`, '\t': `\t`, '\b': `\b`, '\f': `\f`}

// textPattern matches v with each character raw, percent-encoded or
// JSON-escaped.
func textPattern(v string) string {
	var b strings.Builder
	for _, r := range v {
		alts := []string{regexp.QuoteMeta(string(r))}
		var pct strings.Builder
		buf := make([]byte, utf8.UTFMax)
		for _, c := range buf[:utf8.EncodeRune(buf, r)] {
			pct.WriteString("%" + hexPattern(fmt.Sprintf("%02X", c)))
		}
		alts = append(alts, pct.String())
		if r <= 0xFFFF {
			alts = append(alts, `\\u`+hexPattern(fmt.Sprintf("%04X", r)))
		}
		switch r {
		case ' ':
			alts = append(alts, `\+`)
		case '"', '\\', '/':
			alts = append(alts, `\\`+regexp.QuoteMeta(string(r)))
		case '\n', '\r', '\t', '\b', '\f':
			alts = append(alts, regexp.QuoteMeta(jsonEscapes[r]))
		}
		b.WriteString("(?:" + strings.Join(alts, "|") + ")")
	}
	return b.String()
}

// hexPattern matches the hex digits h in either case.
func hexPattern(h string) string {
	var b strings.Builder
	for _, c := range h {
		if c >= 'A' && c <= 'F' {
			b.WriteString("[" + string(c) + string(c+'a'-'A') + "]")
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// replace masks every match of p in s.
func (p *pattern) replace(s string) string {
	matches := p.find(s)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		start, end := m[0], m[1]
		if m[2] >= 0 {
			start, end = widenBase64(s, start, end)
		}
		if end <= last {
			continue
		}
		b.WriteString(s[last:max(start, last)])
		b.WriteString(Mask(p.value))
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// find returns where p matches in s, in order, as regexp's
// FindAllStringSubmatchIndex does for p.re: m[2] >= 0 marks base64.
func (p *pattern) find(s string) [][]int {
	if p.re != nil {
		return p.re().FindAllStringSubmatchIndex(s, -1)
	}
	var matches [][]int
	for i, lit := range p.literals {
		for at := 0; ; {
			n := strings.Index(s[at:], lit)
			if n < 0 {
				break
			}
			start, end := at+n, at+n+len(lit)
			m := []int{start, end, -1, -1}
			if p.based[i] {
				m[2], m[3] = start, end
			}
			matches = append(matches, m)
			at = end
		}
	}
	slices.SortFunc(matches, func(a, b []int) int { return a[0] - b[0] })
	return matches
}

// widenBase64 grows s[start:end] over the base64 text around it, in either
// alphabet, padding included, also when quoted in JSON (`\/`, `\u002B`,
// `\u003d`) or in a URL (`%2B`, `%2F`, `%3D`).
func widenBase64(s string, start, end int) (int, int) {
	for start > 0 {
		n := base64Unit(s[max(start-6, 0):start], strings.HasSuffix, s[start-1])
		if n == 0 {
			break
		}
		start -= n
	}
	for end < len(s) {
		n := base64Unit(s[end:min(end+6, len(s))], strings.HasPrefix, s[end])
		if n == 0 {
			break
		}
		end += n
	}
	return start, end
}

// base64Units are the ways a base64 character may be quoted.
var base64Units = []string{`%2B`, `%2b`, `%2F`, `%2f`, `%3D`, `%3d`, `\/`, `\u002B`, `\u002b`, `\u003D`, `\u003d`}

// base64Unit is the length of the base64 character at one end of s: near
// is the byte at that end, and at is strings.HasPrefix or HasSuffix. It is 0
// if no base64 character is there.
func base64Unit(s string, at func(s, unit string) bool, near byte) int {
	for _, unit := range base64Units {
		if at(s, unit) {
			return len(unit)
		}
	}
	if isAlnum(near) || strings.IndexByte("+/=-_", near) >= 0 {
		return 1
	}
	return 0
}

// base64Quotings write base64's `+` and `/` as base64Pattern finds them
// quoted: in JSON (`\/` as PHP writes it, `\u002B` as .NET's
// System.Text.Json does, in either hex case), and in a URL in either hex
// case.
var base64Quotings = []*strings.Replacer{
	strings.NewReplacer("/", `\/`),
	strings.NewReplacer("+", `\u002B`),
	strings.NewReplacer("+", `\u002b`),
	strings.NewReplacer("+", "%2B", "/", "%2F"),
	strings.NewReplacer("+", "%2b", "/", "%2f"),
}

// base64Pattern matches base64 text s, also when its `+` and `/` are quoted
// in JSON (`\/`, `\u002B`) or a URL.
func base64Pattern(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '+':
			b.WriteString(`(?:\+|%2[bB]|\\u002[bB])`)
		case '/':
			b.WriteString(`(?:/|\\/|%2[fF])`)
		default:
			b.WriteRune(c) // letters, digits, '-' and '_' need no quoting
		}
	}
	return b.String()
}
