package redact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
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
	// literals, for a value without re, are its encodings as whole
	// strings (based says which are base64); for a value with re, the
	// ways it reads once its text's escapes are read (see find).
	literals []string
	based    []bool
	// spaced, for a value holding a space, are its literals not base64
	// with each + read as a space.
	spaced []string
	// fragmented are the forms of the value whose fragments are masked
	// too, wherever they are found as written or with the text's escapes
	// read (see maskFragments): its literals not base64. Nil for a value
	// shorter than minFragmented, which is masked whole alone.
	fragmented []string
	// anchors are strings of letters and digits, one of which every match
	// holds: they are written as themselves in every encoding. Text without
	// any of them is not searched further (see index). Nil when one of
	// them is shorter than minAnchor: every text is searched.
	anchors []string
	// id names the pattern in the index's pieces (see index.byID).
	id uint32
}

// compile builds the pattern for v. It matches:
//   - v with any of its characters written raw, percent-encoded once or
//     twice (either hex case), as `+` for a space (or `%2B`, once more), JSON-escaped (`\u0026`, `\/`, `\"`, `\n`,
//     a surrogate pair) or Go-quoted (strconv.Quote, %q: `\x7f`, `\a`,
//     `\U0001f600`), in any mix: the URL query, path and form encodings,
//     JSON strings and Go's quoted strings. Where v has a run of three or
//     more ASCII letters and digits, its anchor (anchorOf) must be written
//     as itself, as every encoder does;
//   - base64 (standard or URL alphabet, padded or not) of any text holding
//     v raw, query-escaped (as x/oauth2 escapes id and secret before
//     building a Basic header), or path-escaped: `id:secret` in a Basic
//     header, or a whole form-encoded request. The run of base64 text around
//     it is matched whole.
//
// A value of hex digits all of one case is matched with its letters in
// the other case too (hexOtherCase).
//
// A value longer than maxPatterned, or repetitive, is matched as whole
// strings instead (v, v with + for a space, v with its own escapes read,
// and the base64 cores), in the text as written and in the text with its
// escapes read once and twice (see decodeQuoted and find): found so in the
// same mixes of raw and escaped characters, whatever an encoder leaves raw
// (url.UserPassword's `$&+,;=`, .NET's `\u002B`, JSON's `%`).
func compile(v string) *pattern {
	cores := base64Cores(v)
	anchors := []string{anchorOf(v)}
	for _, core := range cores {
		// A copy: the cores of a value with an expression are made again
		// when it is compiled, not held (three or six of them, each a
		// third longer than the value).
		anchors = append(anchors, strings.Clone(anchorOf(core)))
	}
	p := &pattern{value: v}
	// A value holding what reads as a percent-escape (%2F) is found as it
	// reads too, its backslashes kept: JSON and Go's quoting leave a % raw,
	// and escape a backslash.
	forms := []string{v}
	if read := decodeQuoted(strings.ReplaceAll(v, `\`, `\\`)).text; len(read) >= minRegistered {
		forms = append(forms, read)
	}
	cased := hexOtherCase(v)
	if cased != "" {
		forms = append(forms, cased)
		anchors = append(anchors, anchorOf(cased))
	}
	patterned := len(v) <= maxPatterned && !slices.ContainsFunc(slices.Concat([]string{v, unescape(v), decodeQuoted(v).text}, cores), repetitive)
	if !patterned {
		// An invalid byte is written \ufffd in JSON, read back as U+FFFD.
		forms = append(forms, string([]rune(v)))
	}
	for _, t := range forms {
		p.literals = append(p.literals, t, strings.ReplaceAll(t, " ", "+"))
	}
	slices.Sort(p.literals)
	p.literals = slices.Compact(p.literals)
	if strings.Contains(v, " ") {
		for _, lit := range p.literals {
			p.spaced = append(p.spaced, strings.ReplaceAll(lit, "+", " "))
		}
		slices.Sort(p.spaced)
		p.spaced = slices.Compact(p.spaced)
	}
	if len(v) >= minFragmented {
		p.fragmented = slices.Clone(p.literals)
	}
	p.based = make([]bool, len(p.literals), len(p.literals)+len(cores))
	if !patterned {
		p.literals = append(p.literals, cores...)
		for range cores {
			p.based = append(p.based, true)
		}
	} else {
		p.re = sync.OnceValue(func() *regexp.Regexp {
			cores := base64Cores(v)
			based := make([]string, len(cores))
			for i, core := range cores {
				based[i] = base64Pattern(core)
			}
			text := textPattern(v)
			if cased != "" {
				text += "|" + textPattern(cased)
			}
			return regexp.MustCompile("(" + strings.Join(based, "|") + ")|" + text)
		})
	}
	slices.Sort(anchors)
	anchors = slices.Compact(anchors)
	if !slices.ContainsFunc(anchors, func(a string) bool { return len(a) < minAnchor }) {
		p.anchors = anchors
	}
	return p
}

// base64Cores are the base64 of every text holding v (see compile), cut
// to what all of them hold.
func base64Cores(v string) []string {
	var cores []string
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
				cores = append(cores, enc.EncodeToString(b))
			}
		}
	}
	slices.Sort(cores)
	return slices.Compact(cores)
}

// hexOtherCase is v, a value of hex digits all of one case, with its
// letters in the other, or "" for any other value: a hex token is the
// bytes it spells to a server that reads it so, which may quote it in
// either case (%X), and it is found so, whole and in part.
func hexOtherCase(v string) string {
	lower, upper := strings.ToLower(v), strings.ToUpper(v)
	switch {
	case lower == upper || strings.Trim(lower, "0123456789abcdef") != "":
		return ""
	case v == lower:
		return upper
	case v == upper:
		return lower
	}
	return ""
}

// minFragmented is the shortest value whose fragments are masked.
const minFragmented = 16

// fragmentRun is the shortest run of a value of n bytes that is masked
// where it is found alone: a provider that quotes part of a token (its
// first 40 characters, all but a prefix it knows, its middle) is quoting
// a secret. 16 bytes of a random token hold some 95 bits, which ordinary
// words, ids and paths never match by chance, and a run cut shorter,
// beside the 8 bytes a mask shows, leaves 9 or more of a token of 32
// hidden. Of a value shorter than 32, a run of half of it is masked, but
// no run under 12 bytes, so that a secret made of words (a store's
// password) does not mask a word of every message: of a value of 16 to
// 23 bytes, a run of 11 and the 4 its mask shows leave fewer hidden.
func fragmentRun(n int) int {
	return min(16, max(12, n/2))
}

// pieceLen is the length of the pieces of a value the index keys its
// fragments by: each run of fragmentRun bytes holds one of those cut at
// every fragmentRun-pieceLen+1 bytes (see cut).
const pieceLen = 8

// maxCut is how far into each of a value's fragmented forms cut reads: a
// value's fragments cost the index some 3 bytes for each byte read, and a
// provider may answer with a token of a megabyte (a hostile one), which
// would hold several of the index. A token of an honest provider, a JWT
// of many claims, is a few KiB; of a longer one, a run of the first 64
// KiB of each form is masked, and one after those only when it reaches
// into them.
const maxCut = 64 << 10

// cut yields the pieces of p's fragmented forms that the index keys
// their fragments by, packed (see packed), and where each is cut from,
// counted in the forms one after the other (see formAt), as far as maxCut
// into each.
func (p *pattern) cut() iter.Seq2[uint64, uint32] {
	return func(yield func(uint64, uint32) bool) {
		step := fragmentRun(len(p.value)) - pieceLen + 1
		before := 0
		for _, form := range p.fragmented {
			for at := 0; at+pieceLen <= len(form) && at < maxCut; at += step {
				if !yield(packed(form[at:at+pieceLen]), uint32(before+at)) {
					return
				}
			}
			before += len(form)
		}
	}
}

// formAt is the fragmented form of p that at, counted as cut counts, is
// in, and where in it.
func (p *pattern) formAt(at uint32) (string, int) {
	n := int(at)
	for _, form := range p.fragmented {
		if n < len(form) {
			return form, n
		}
		n -= len(form)
	}
	panic("redact: a piece beyond its value's forms")
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

// minAnchor is the shortest anchor worth looking for; a value without one
// is searched for in every text.
const minAnchor = 3

// anchorOf is the run of ASCII letters and digits of s that anchors it:
// the last of distinctAnchor or more, else the longest, cut to its last
// maxAnchor bytes. A token's
// structure (a JWT's header, a vendor's prefix), which every token of an
// issuer shares, comes first and its random characters after: anchored by
// its longest run, often a JWT's header, every token of a fleet's
// environments was a candidate for a text holding any one of them, its
// expression compiled and run (2000 of them, a fifth of a second, for
// each line holding a token of 2000 environments). A run cut to its end
// anchors what the whole run does, and the base64 of a JWT, one run of
// a kilobyte and more, is not held again whole by each of its anchors.
func anchorOf(s string) string {
	best, start := "", 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isAlnum(s[i]) {
			continue
		}
		if run := s[start:i]; len(run) >= distinctAnchor || len(best) < distinctAnchor && len(run) > len(best) {
			best = run
		}
		start = i + 1
	}
	return best[max(0, len(best)-maxAnchor):]
}

// maxAnchor is the longest anchor: 32 random letters and digits are some
// 190 bits, one token's alone.
const maxAnchor = 32

// distinctAnchor is the length from which a run of random letters and
// digits is one token's alone: 12 of them are some 71 bits.
const distinctAnchor = 12

func isAlnum(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// plainForms are the ways v is written in text that is then base64-encoded:
// raw; query-escaped (a space as + or %20); path-escaped; as Python's
// urllib.parse.quote writes it (a space as %20, / raw); JSON-escaped, as
// Go writes it (<>& as \u003c…) or not, and / as \/ (PHP), so that the
// base64 of a JSON body holding v is found.
func plainForms(v string) []string {
	q := url.QueryEscape(v)
	q20 := strings.ReplaceAll(q, "+", "%20")
	forms := []string{v, q, q20, strings.ReplaceAll(q20, "%2F", "/"), url.PathEscape(v)}
	for _, html := range []bool{true, false} {
		var b strings.Builder
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(html)
		if e.Encode(v) == nil {
			quoted := strings.TrimSuffix(b.String(), "\n")
			quoted = quoted[1 : len(quoted)-1]
			forms = append(forms, quoted, strings.ReplaceAll(quoted, "/", `\/`))
		}
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// shortEscapes are the short escapes JSON writes control characters with
// (a key file's line breaks), besides \u, and Go's strconv.Quote besides
// those (\a, \v).
var shortEscapes = map[rune]string{'\n': `\n`, '\r': `\r`, '\t': `\t`, '\b': `\b`, '\f': `\f`, '\a': `\a`, '\v': `\v`}

// textPattern matches v with each character raw, percent-encoded,
// JSON-escaped or Go-quoted. A byte that is not UTF-8 is matched raw (as
// regexp reads it in a text: U+FFFD), as its percent-escape, as `\ufffd`
// (JSON's) or `\xff` (Go's).
func textPattern(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		written := v[i : i+size]
		i += size
		alts := []string{regexp.QuoteMeta(string(r))}
		// Percent-encoded once or twice (%2F, %252F: a URL carried
		// encoded in another's query, a redirect_uri or state echoed).
		var pct strings.Builder
		for _, c := range []byte(written) {
			pct.WriteString("%(?:25)?" + hexPattern(fmt.Sprintf("%02X", c)))
		}
		alts = append(alts, pct.String())
		if r <= 0xFFFF {
			alts = append(alts, `\\u`+hexPattern(fmt.Sprintf("%04X", r)))
		} else {
			hi, lo := utf16.EncodeRune(r)
			alts = append(alts, `\\u`+hexPattern(fmt.Sprintf("%04X", hi))+`\\u`+hexPattern(fmt.Sprintf("%04X", lo)), `\\U`+hexPattern(fmt.Sprintf("%08X", r)))
		}
		if r == utf8.RuneError && size == 1 || r < ' ' || r == 0x7f {
			alts = append(alts, `\\x`+hexPattern(fmt.Sprintf("%02X", written[0])))
		}
		switch r {
		case ' ':
			alts = append(alts, `\+`, `%2[bB]`) // form-encoded, then once more
		case '"', '\\', '/':
			alts = append(alts, `\\`+regexp.QuoteMeta(string(r)))
		}
		if short, ok := shortEscapes[r]; ok {
			alts = append(alts, regexp.QuoteMeta(short))
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

// replace masks every match of p in s, counting in read the characters
// read to widen base64 matches. A match within what is masked already is
// passed over, so that a run of base64 holding many is widened once, not
// once for each (which took time in the run's length times theirs).
func (p *pattern) replace(s string, read *int) string {
	matches := p.find(s)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		start, end := m[0], m[1]
		if end <= last {
			continue
		}
		if m[2] >= 0 {
			start, end = widenBase64(s, start, end, read)
		}
		b.WriteString(s[last:max(start, last)])
		b.WriteString(Mask(p.value))
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// find returns where p matches in s, in order, as regexp's
// FindAllStringSubmatchIndex does for p.re: m[2] >= 0 marks base64. A
// value without an expression is looked for in s as written and, when s
// holds escapes, in s with them read, once and twice (a URL carried
// encoded in another's query); a value holding a space, in each of those
// with every + read as a space too, so that it is found whichever of its
// spaces an encoder wrote as +. A value with an expression is found by it
// in s as written, and by its literals in s with its escapes read once
// and twice: so written in two encodings at once (a JSON escape in a URL,
// %5Cu0026), or HTML-escaped (&#43;, &amp;), which the expression does
// not read.
func (p *pattern) find(s string) [][]int {
	var matches [][]int
	if p.re != nil {
		matches = p.re().FindAllStringSubmatchIndex(s, -1)
	}
	written := func(start, end int) (int, int) { return start, end }
	for text, level := s, 0; ; level++ {
		if p.re == nil || level > 0 {
			matches = append(matches, findLiterals(text, p.literals, p.based, written)...)
		}
		if p.spaced != nil && strings.Contains(text, "+") {
			matches = append(matches, findLiterals(strings.ReplaceAll(text, "+", " "), p.spaced, nil, written)...)
		}
		if level == 2 || !strings.ContainsAny(text, `%\&`) {
			break
		}
		d, outer := decodeQuoted(text), written
		if d.text == text {
			break
		}
		text, written = d.text, func(start, end int) (int, int) { return outer(d.written(start, end)) }
	}
	slices.SortFunc(matches, func(a, b []int) int { return a[0] - b[0] })
	return matches
}

// findLiterals returns where literals are in text, each as written says
// where in the text as written text[start:end] is; based says which are
// base64 (none when nil).
func findLiterals(text string, literals []string, based []bool, written func(start, end int) (int, int)) [][]int {
	var matches [][]int
	for i, lit := range literals {
		for at := 0; ; {
			n := strings.Index(text[at:], lit)
			if n < 0 {
				break
			}
			start, end := written(at+n, at+n+len(lit))
			m := []int{start, end, -1, -1}
			if based != nil && based[i] {
				m[2], m[3] = start, end
			}
			matches = append(matches, m)
			at += n + len(lit)
		}
	}
	return matches
}

// decoded is a text with its escapes read (decodeQuoted): from[i] is
// where, in the text as written, the character or escape giving byte i of
// text starts, and from[len(text)] is that text's length.
type decoded struct {
	text string
	from []int32
}

// written is where decoded text[start:end] is in the text as written,
// from the start of the escape giving its first byte to the end of the
// one giving its last.
func (d decoded) written(start, end int) (int, int) {
	for end < len(d.text) && d.from[end] == d.from[end-1] {
		end++
	}
	return int(d.from[start]), int(d.from[end])
}

// decodeQuoted is s with each escape an encoder may quote a character with
// read as that character, one level deep: a percent-escape in either hex
// case (+ is left as it is), a JSON escape (\u and four hex digits, a
// surrogate pair as the one character it writes, \n, \/, \"…) and one
// of Go's strconv.Quote (\x and two hex digits, \U and eight, \a, \v),
// and an HTML character reference (&amp;, &#43;, &#x27;: a web page's).
// What is no escape is kept as it is.
func decodeQuoted(s string) decoded {
	from := make([]int32, 0, len(s)+1)
	text := readQuoted(s, &from)
	return decoded{text: text, from: append(from, int32(len(s)))}
}

// readQuoted is the text decodeQuoted reads in s, with from (unless nil)
// as decodeQuoted's but for its last.
func readQuoted(s string, from *[]int32) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		n := 1
		switch {
		case s[i] == '%':
			if c, ok := hexAt(s, i+1, 2); ok {
				b, n = append(b, byte(c)), 3
			}
		case s[i] == '\\' && i+1 < len(s):
			b, n = appendEscape(b, s, i)
		case s[i] == '&':
			b, n = appendReference(b, s, i)
		}
		if n == 1 {
			b = append(b, s[i])
		}
		for from != nil && len(*from) < len(b) {
			*from = append(*from, int32(i))
		}
		i += n
	}
	return string(b)
}

// holdsEscape reports whether s holds an escape decodeQuoted reads.
func holdsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		n := 1
		switch s[i] {
		case '%':
			if _, ok := hexAt(s, i+1, 2); ok {
				return true
			}
		case '\\':
			if i+1 < len(s) {
				_, n = appendEscape(nil, s, i)
			}
		case '&':
			_, n = appendReference(nil, s, i)
		}
		if n > 1 {
			return true
		}
	}
	return false
}

// appendEscape appends to b what the backslash escape at s[i] stands for,
// and says how long it is: 1 if it is none, b unchanged.
func appendEscape(b []byte, s string, i int) ([]byte, int) {
	switch s[i+1] {
	case 'x':
		if c, ok := hexAt(s, i+2, 2); ok {
			return append(b, byte(c)), 4
		}
	case 'U':
		if r, ok := hexAt(s, i+2, 8); ok && utf8.ValidRune(rune(r)) {
			return utf8.AppendRune(b, rune(r)), 10
		}
	case 'u':
		r, ok := hexAt(s, i+2, 4)
		if !ok {
			return b, 1
		}
		if utf16.IsSurrogate(rune(r)) && strings.HasPrefix(s[i+6:], `\u`) {
			if lo, ok := hexAt(s, i+8, 4); ok {
				if pair := utf16.DecodeRune(rune(r), rune(lo)); pair != utf8.RuneError {
					return utf8.AppendRune(b, pair), 12
				}
			}
		}
		return utf8.AppendRune(b, rune(r)), 6
	default:
		if c, ok := unescapes[s[i+1]]; ok {
			return append(b, c), 2
		}
	}
	return b, 1
}

// appendReference appends to b the character the HTML character
// reference at s[i] stands for, as escapers write one (html/template's
// &#43;, PHP's &#039;, Python's &#x27;, &amp;), and says how long it is:
// 1 if it is none, b unchanged.
func appendReference(b []byte, s string, i int) ([]byte, int) {
	end := strings.IndexByte(s[i:min(i+12, len(s))], ';')
	if end < 2 {
		return b, 1
	}
	name := s[i+1 : i+end]
	if c, ok := namedReferences[name]; ok {
		return append(b, c), end + 1
	}
	digits, base := strings.TrimPrefix(name, "#"), 10
	if digits == name {
		return b, 1
	}
	if len(digits) > 1 && digits[0]|0x20 == 'x' {
		digits, base = digits[1:], 16
	}
	if r, err := strconv.ParseUint(digits, base, 21); err == nil && utf8.ValidRune(rune(r)) {
		return utf8.AppendRune(b, rune(r)), end + 1
	}
	return b, 1
}

// namedReferences are the named character references escapers write.
var namedReferences = map[string]byte{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\''}

// unescapes are the characters the short escapes of JSON, Go and
// JavaScript stand for.
var unescapes = map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f', 'a': '\a', 'v': '\v', '"': '"', '\'': '\'', '\\': '\\', '/': '/'}

// hexAt reads the n hex digits at s[i:], in either case.
func hexAt(s string, i, n int) (uint64, bool) {
	if i+n > len(s) {
		return 0, false
	}
	var v uint64
	for _, c := range []byte(s[i : i+n]) {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			v = v<<4 | uint64(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// widenBase64 grows s[start:end] over the base64 text around it, in either
// alphabet, padding included, also when quoted in JSON (`\/`, `\u002B`,
// `\u003d`) or in a URL (`%2B`, `%2F`, `%3D`), counting in read the
// characters it reads.
func widenBase64(s string, start, end int, read *int) (int, int) {
	for start > 0 {
		*read++
		n := base64Unit(s[max(start-6, 0):start], strings.HasSuffix, s[start-1])
		if n == 0 {
			break
		}
		start -= n
	}
	for end < len(s) {
		*read++
		n := base64Unit(s[end:min(end+6, len(s))], strings.HasPrefix, s[end])
		if n == 0 {
			break
		}
		end += n
	}
	return start, end
}

// base64Units are the ways a base64 character may be quoted.
var base64Units = []string{`%2B`, `%2b`, `%2F`, `%2f`, `%3D`, `%3d`, `\/`, `\u002B`, `\u002b`, `\u003D`, `\u003d`,
	`&#43;`, `&#x2B;`, `&#x2b;`, `&#47;`, `&#x2F;`, `&#x2f;`, `&#61;`, `&#x3D;`, `&#x3d;`}

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

// base64Pattern matches base64 text s, also when its `+` and `/` are quoted
// in JSON (`\/`, `\u002B`) or a URL.
func base64Pattern(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '+':
			b.WriteString(`(?:\+|%2[bB]|\\u002[bB]|&#43;|&#[xX]2[bB];)`)
		case '/':
			b.WriteString(`(?:/|\\/|%2[fF]|&#47;|&#[xX]2[fF];)`)
		default:
			b.WriteRune(c) // letters, digits, '-' and '_' need no quoting
		}
	}
	return b.String()
}
