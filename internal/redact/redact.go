// Package redact keeps secrets out of logs. A secret is shown as its first
// few characters and its length, enough to tell two tokens apart and never
// enough to use one.
//
// Three nets, each catching what the others miss: values of type Secret mask
// themselves; attributes whose key names a secret are masked whatever their
// type; and every value registered with Register or Set is masked wherever
// it appears in a message or string attribute, in any encoding a provider
// may quote it in.
package redact

import (
	"cmp"
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Secret is a string that never logs or prints in full.
type Secret string

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Mask(string(s))) }

// String implements fmt.Stringer.
func (s Secret) String() string { return Mask(string(s)) }

// Mask shows a few leading characters of s (none if s is short) and its
// length: eight bytes of a token of 32 or more, four of 16 or more, fewer
// where the last would cut a character in two, and none where they are not
// UTF-8, so that the line stays UTF-8.
func Mask(s string) string {
	if s == "" {
		return "(empty)"
	}
	n := maskShows(len(s))
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if !utf8.ValidString(s[:n]) {
		n = 0
	}
	return fmt.Sprintf("%s…(%d chars)", s[:n], len(s))
}

// IsMasked reports whether s is what Mask writes: a secret's leading
// characters, then …(N chars).
func IsMasked(s string) bool {
	loc := masked().FindStringIndex(s)
	return loc != nil && loc[1] == len(s)
}

// maskShows is how many leading characters Mask shows of a secret of n.
func maskShows(n int) int {
	switch {
	case n >= 32:
		return 8
	case n >= 16:
		return 4
	}
	return 0
}

// PlainWords reports whether secret, long enough to be masked (see
// Register), is made of lowercase letters alone, in one word or in words
// joined by '-' or '_' (a store's password such as freshtoken or
// redis-password): masked wherever it appears, it would mask freshtoken's
// own words and the names they hold (`freshtoken login` written
// "…(10 chars) login", a host named after it), mangling every message and
// showing, by what is missing, which word the secret is. A secret with a
// digit, a capital or another sign is one no message of freshtoken's holds.
func PlainWords(secret string) bool {
	return len(secret) >= minRegistered && strings.Trim(secret, "abcdefghijklmnopqrstuvwxyz-_") == ""
}

// minRegistered keeps short, common strings (like "abc") from being masked
// everywhere they occur.
const minRegistered = 8

// registry holds the secrets every Handler masks: the permanent ones, and
// per owner the current values and the ones they replaced.
var registry struct {
	sync.RWMutex
	// permanent says of each permanent value whether its runs are masked
	// too (Register), or it whole only (RegisterWhole).
	permanent map[string]bool
	owned     map[string]generations
	// holders counts, for each value above, its holders: the permanent
	// set, and each owner holding it in either generation.
	holders map[string]int
	// found finds the patterns of the values above that a text holds.
	// Values are compiled and added to it when a text is first scrubbed
	// after they were registered (pending), not when they are: a short
	// command that registers a client secret and a token but logs nothing
	// never pays for them. A value no one holds any more leaves it at
	// once; the others stay as they are, so that registering one more
	// value costs the same however many there are.
	found   index
	pending map[string]struct{}
}

// added counts the values that began to be masked: a Handler's bound
// attributes masked before the last of them are masked again.
var added atomic.Uint64

type generations struct{ current, previous []string }

// held is the set of values g holds, in either generation.
func (g generations) held() map[string]struct{} {
	m := map[string]struct{}{}
	for _, v := range slices.Concat(g.current, g.previous) {
		m[v] = struct{}{}
	}
	return m
}

// hold counts one more holder of v. The caller holds the registry's write
// lock, as for release.
func hold(v string) {
	if registry.holders == nil {
		registry.holders, registry.pending = map[string]int{}, map[string]struct{}{}
	}
	whole := wholeOnly(v)
	registry.holders[v]++
	if registry.holders[v] == 1 || whole {
		compileAgain(v)
	}
}

// compileAgain makes v pending: compiled and indexed again at the next
// text scrubbed, as it is masked now (see wholeOnly).
func compileAgain(v string) {
	registry.found.remove(v)
	registry.pending[v] = struct{}{}
	added.Add(1)
}

// wholeOnly reports whether v is masked whole only, not its runs: held by
// RegisterWhole alone. A value masked so that someone else holds too (a
// store's password that is also a client secret) has its runs masked.
func wholeOnly(v string) bool {
	runs, ok := registry.permanent[v]
	return ok && !runs && registry.holders[v] == 1
}

// release counts one holder of v fewer, and forgets v once no one holds it.
func release(v string) {
	registry.holders[v]--
	if registry.holders[v] > 0 {
		return
	}
	delete(registry.holders, v)
	delete(registry.pending, v)
	registry.found.remove(v)
}

// Register marks values as secrets for every Handler in this process, for as
// long as it runs: the set only grows. Use it for values that live as long
// as the process (a client secret; a store's password: RegisterWhole); use
// Set for values that are replaced over time (tokens), so the set stays
// bounded.
func Register(values ...string) {
	register(true, values)
}

// RegisterWhole is Register for values masked whole only, in any encoding,
// not their runs (see maskFragments): secrets sent to no provider or
// service that may quote part of what it was sent, such as a shared
// store's password. A password made of words with a digit
// (my-company-redis-2024) had its runs masked, pieces of the store's host
// in every line naming it (my-company-redis-2023.cache.example.com). A
// value also registered otherwise, or Set, has its runs masked.
func RegisterWhole(values ...string) {
	register(false, values)
}

// RegisterWholeLater is RegisterWhole for values that cost something to
// find (the parts of a command line shaped as secrets, which compiles the
// shapes' patterns): values is called, and what it returns registered, as
// the first text is scrubbed after this call, so that a process that
// writes nothing (a command printing a valid token) never pays for them.
// A text scrubbed meanwhile by another goroutine waits for them. values
// must not scrub (Scrub, OneLine, FreeText): it would wait for itself.
func RegisterWholeLater(values func() []string) {
	later.Lock()
	defer later.Unlock()
	later.values = append(later.values, values)
	later.due.Store(true)
}

// later holds the functions RegisterWholeLater was given and not yet
// called; due says there are any, read without the lock by every scrub.
var later struct {
	sync.Mutex
	due    atomic.Bool
	values []func() []string
}

// registerLater registers what the functions RegisterWholeLater was given
// return, once each.
func registerLater() {
	if !later.due.Load() {
		return
	}
	later.Lock()
	defer later.Unlock()
	for _, values := range later.values {
		RegisterWhole(values()...)
	}
	later.values = nil
	later.due.Store(false)
}

// register registers values as Register does, their runs masked too or
// not (RegisterWhole).
func register(runs bool, values []string) {
	registry.Lock()
	defer registry.Unlock()
	if registry.permanent == nil {
		registry.permanent = map[string]bool{}
	}
	for _, v := range values {
		if len(v) < minRegistered {
			continue
		}
		had, ok := registry.permanent[v]
		switch {
		case !ok:
			registry.permanent[v] = runs
			hold(v)
		case runs && !had:
			whole := wholeOnly(v)
			registry.permanent[v] = true
			if whole {
				compileAgain(v)
			}
		}
	}
}

// Set makes values the secrets owner holds now (for example an
// environment's access and refresh tokens), replacing the ones it set
// before. The replaced values stay masked until the owner's values change
// again, so a message still in flight about them is caught; older ones are
// forgotten. Setting the current values again changes nothing. A
// long-running process thus masks at most two generations of values per
// owner. Set with no values forgets the owner after one more Set.
func Set(owner string, values ...string) {
	registry.Lock()
	defer registry.Unlock()
	if registry.owned == nil {
		registry.owned = map[string]generations{}
	}
	var keep []string
	for _, v := range values {
		if len(v) >= minRegistered {
			keep = append(keep, v)
		}
	}
	g := registry.owned[owner]
	if len(keep) > 0 && slices.Equal(g.current, keep) {
		return
	}
	was := g.held()
	g.previous, g.current = g.current, keep
	if len(g.previous) == 0 && len(g.current) == 0 {
		delete(registry.owned, owner)
	} else {
		registry.owned[owner] = g
	}
	is := g.held()
	for v := range is {
		if _, ok := was[v]; !ok {
			hold(v)
		}
	}
	for v := range was {
		if _, ok := is[v]; !ok {
			release(v)
		}
	}
}

// candidates are the registered patterns that may match s, in the order
// Scrub applies them, after the pattern after (nil: all); the values
// registered since the last call (RegisterWholeLater's too) are compiled
// first.
func candidates(s string, after *pattern, compared *int) []*pattern {
	registerLater()
	registry.RLock()
	pending := len(registry.pending)
	registry.RUnlock()
	if pending > 0 {
		registry.Lock()
		for v := range registry.pending {
			p := compile(v)
			if wholeOnly(v) {
				p.fragmented = nil
			}
			registry.found.add(p)
		}
		clear(registry.pending)
		registry.Unlock()
	}
	registry.RLock()
	defer registry.RUnlock()
	return registry.found.candidates(s, after, compared)
}

// Scrub masks every registered secret in s, longest first, so a secret that
// contains another is masked whole. A secret is found however a provider
// may have quoted it (see compile): raw, URL-, path- or form-encoded,
// JSON-escaped, or inside base64 (an HTTP Basic header, an encoded form).
// Base64 text holding a secret is masked whole, along with whatever else it
// encodes.
func Scrub(s string) string {
	var compared int
	return scrub(s, &compared)
}

// scrub is Scrub, counting in compared the anchors and pieces it compared
// with s (see index.candidates and index.fragments) and the characters it
// read to widen base64 (see widenBase64).
func scrub(s string, compared *int) string {
	return maskFragments(scrubWhole(s, compared), compared)
}

// scrubWhole masks the registered secrets found whole in s. The text is
// read in one pass for the patterns that may match it, and again only
// after one has masked something.
func scrubWhole(s string, compared *int) string {
	var after *pattern
	for {
		found := candidates(s, after, compared)
		for _, p := range found {
			after = p
			if masked := p.replace(s, compared); masked != s {
				s = masked
				break
			}
		}
		if len(found) == 0 || after == found[len(found)-1] {
			return s
		}
	}
}

// maskFragments masks in s, as Mask writes the value they are part of,
// the fragments of registered values of minFragmented bytes or more that
// are left once those found whole are masked: each run of fragmentRun
// bytes or more of a value, as written raw or with the text's escapes
// read once or twice (JSON's, Go's, percent-escapes, HTML references, as
// find reads them), so that a provider quoting part of a secret, in any
// of those encodings, shows none of it. Fragments of a value's base64
// are not looked for: they are fragments of six encodings of the value
// (its base64 cores), whose pieces would take seven times the memory.
func maskFragments(s string, compared *int) string {
	registry.RLock()
	defer registry.RUnlock()
	if registry.found.pieceFilter.n == 0 {
		return s
	}
	var found []fragment
	for text, level := s, 0; ; level++ {
		if in := registry.found.fragments(text, compared); in != nil {
			written := writtenIn(s, level)
			for _, f := range in {
				f.start, f.end = written(f.start, f.end)
				found = append(found, f)
			}
		}
		if level == 2 || !holdsEscape(text) {
			break
		}
		text = readQuoted(text, nil) // where each byte came from is read only for a fragment found
	}
	if found == nil {
		return s
	}
	slices.SortFunc(found, func(a, b fragment) int { return cmp.Or(a.start-b.start, b.end-a.end) })
	var b strings.Builder
	last := 0
	for _, f := range found {
		if f.end <= last {
			continue
		}
		b.WriteString(s[last:max(f.start, last)])
		b.WriteString(Mask(f.p.value))
		last = f.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Unsafe reports whether r, written to a terminal as it is, would act on
// the terminal or change how the text around it is shown: a control
// character (C0 or C1: escape sequences start with one), a line or
// paragraph separator, or a bidirectional control (which would show the
// text in another order than it is).
func Unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}

// OneLine makes text from outside (a provider's error description, a
// callback's query) safe to print on one line: secrets masked, each control
// character, line break or bidirectional control (which would show the text
// in another order than it is), with the white space around it, turned into
// one space, and at most max runes. Spaces in a row elsewhere are kept: they may
// be part of a path in a command the text suggests. Bytes that are not
// UTF-8 (0x9B is CSI to a terminal that reads bytes as Latin-1) become
// U+FFFD.
func OneLine(s string, max int) string {
	s = flat(s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

// OneLineEnds is OneLine for a message whose last words matter as much as
// its first: an error says what failed, then what to do next. Longer than
// max runes, it leaves out the middle rather than the end (a command to
// run came after three long paths, and was cut off).
func OneLineEnds(s string, max int) string {
	s = flat(s)
	if r := []rune(s); len(r) > max {
		head := max / 2
		s = string(r[:head]) + " … " + string(r[len(r)-(max-head):])
	}
	return s
}

// flat is s masked and on one line, as OneLine says, however long.
func flat(s string) string {
	s = strings.ToValidUTF8(Scrub(s), "\uFFFD")
	parts := strings.FieldsFunc(s, Unsafe)
	kept := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}

// writtenIn says where in s is text[start:end], text being s with its
// escapes read level times (decodeQuoted).
func writtenIn(s string, level int) func(start, end int) (int, int) {
	if level == 0 {
		return func(start, end int) (int, int) { return start, end }
	}
	d := decodeQuoted(s)
	inner := writtenIn(d.text, level-1)
	return func(start, end int) (int, int) { return d.written(inner(start, end)) }
}

// secretKeys are attribute keys whose values are always masked.
var secretKeys = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true, "token": true,
	"client_secret": true, "secret": true, "password": true, "code": true,
	"code_verifier": true, "verifier": true, "authorization": true, "cookie": true,
	"set-cookie": true, "client_assertion": true,
}

// IsSecretKey reports whether an attribute or header named key holds a secret.
func IsSecretKey(key string) bool { return secretKeys[strings.ToLower(key)] }

// MaskSet is Mask of a secret that is set, and "" for one that is not, so
// that a struct printed shows which of its secrets are set and none of them.
func MaskSet(s string) string {
	if s == "" {
		return ""
	}
	return Mask(s)
}

// MaskParams is a copy of params, request parameters, with the values of
// those named as secrets masked: the names IsSecretKey knows, and any
// holding a word that says a secret (api_key, X-Api-Key, passphrase,
// assertion…). Masking one that holds none only hides it from a printout.
func MaskParams(params map[string]string) map[string]string {
	params = maps.Clone(params)
	for k, v := range params {
		if IsSecretKey(strings.TrimSpace(k)) || NamesASecret(k) {
			params[k] = Mask(v)
		}
	}
	return params
}

// secretWords are parts of a name that say its value is a secret.
var secretWords = []string{"secret", "pass", "pwd", "token", "key", "assertion", "credential", "signature", "cookie"}

// tokenTypeNames are OAuth's parameters named after a token or an
// assertion that hold none: its type (RFC 6749, RFC 7521), the hint of a
// revocation (RFC 7009), those of a token exchange (RFC 8693); written
// with their words joined by _, as paramWords reads them (tokenTypeHint,
// token-type too).
var tokenTypeNames = []string{"token_type", "token_type_hint", "requested_token_type", "subject_token_type", "actor_token_type", "issued_token_type", "client_assertion_type"}

// nameSecretWords are the words a parameter's name says a secret with:
// secretWords, and the ones a name may end with written as one word
// (password, passcode), or short ones a variable's name seldom holds but
// an API's parameter does: Azure's SAS signature (sig), a Shopify
// callback's hmac, a session's id (sessionid, JSESSIONID, PHPSESSID), an
// authorization or device code.
var nameSecretWords = append(slices.Clip(secretWords), "password", "passwd", "passphrase", "passcode", "creds", "sig", "hmac", "jwt",
	"sessionid", "sessid", "authcode", "authorizationcode", "devicecode")

// innocentWords end with a secret word and say nothing of one.
var innocentWords = []string{"monkey", "donkey", "turkey", "hockey", "jockey", "whiskey", "lackey", "turnkey", "hotkey",
	"compass", "bypass", "surpass", "overpass", "underpass", "trespass", "encompass"}

// NamesASecret reports whether name (a parameter's, a variable's) says its
// value is a secret, in any case, its words joined in any way (api_key,
// X-Api-Key, api.key, user[password], accessToken; see paramWords): one of
// its words, or two of them written as one (session_id: sessionid), is or
// ends with a word of nameSecretWords (key, apikey, licensekey, csrftoken,
// consumersecret, sig), in the plural too; or its last word is auth,
// authorization, session or sign (X-Auth, Proxy-Authorization, the sign=
// of many APIs' signed requests), or it is hash alone. A word merely inside another (keyword, tokenizer, passage,
// secretary), or one of innocentWords (monkey, compass), says nothing; nor
// do OAuth's names of token types, nor auth_url or commit_hash.
func NamesASecret(name string) bool {
	words := paramWords(name)
	for i := range words {
		words[i] = strings.ToLower(words[i])
	}
	if len(words) == 0 || slices.Contains(tokenTypeNames, strings.Join(words, "_")) {
		return false
	}
	for i, w := range words {
		if endsWithASecretWord(w) || i+1 < len(words) && endsWithASecretWord(w+words[i+1]) {
			return true
		}
	}
	last := words[len(words)-1]
	return slices.Contains([]string{"auth", "authorization", "session", "sign"}, last) || len(words) == 1 && last == "hash"
}

// endsWithASecretWord reports whether word, in lower case, is or ends with
// one of nameSecretWords, in the plural too, and is none of innocentWords.
func endsWithASecretWord(word string) bool {
	if slices.Contains(innocentWords, word) || slices.Contains(innocentWords, strings.TrimSuffix(word, "s")) {
		return false
	}
	for _, w := range nameSecretWords {
		if strings.HasSuffix(word, w) || strings.HasSuffix(word, w+"s") {
			return true
		}
	}
	return false
}

// paramWords splits a parameter's name into its words: at every character
// that is no letter or digit (api_key, api.key, user[password], api key),
// and within each run of letters and digits as nameWords does (apiKey).
func paramWords(name string) []string {
	var words []string
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		words = append(words, nameWords(part)...)
	}
	return words
}

// HasASecretWord reports whether name, a variable's, has a word that says
// its value is a secret standing as a word of it: between underscores,
// digits or a change of case (Auth0_Client_Secret, MyApp2ApiKeyValue,
// freeagent2password, GITHUB_TOKEN), in the plural too, or password,
// passwd, passphrase, apikey. Stricter than NamesASecret, which also
// reads words written as one (licensekey) and words joined by any
// character, it tells a name from a generated secret, which holds one by
// chance (u3kEy7…, one base62 secret in about 400) but seldom as a word.
func HasASecretWord(name string) bool {
	for _, word := range nameWords(name) {
		word = strings.ToLower(word)
		switch word {
		case "password", "passwords", "passwd", "passphrase", "apikey":
			return true
		}
		for _, w := range secretWords {
			if word == w || word == w+"s" {
				return true
			}
		}
	}
	return false
}

// nameWords splits a variable's name into its words: at underscores and
// hyphens, between letters and digits, before an upper case letter that
// follows a lower case one, and before the last of a run of upper case
// letters followed by a lower case one (APIKey: API, Key).
func nameWords(name string) []string {
	rs := []rune(name)
	var words []string
	start := 0
	cut := func(i int) {
		if i > start {
			words = append(words, string(rs[start:i]))
		}
		start = i
	}
	for i, r := range rs {
		if r == '_' || r == '-' {
			cut(i)
			start = i + 1
			continue
		}
		if i == 0 || i == start {
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsDigit(r) != unicode.IsDigit(prev):
			cut(i)
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			cut(i)
		case unicode.IsUpper(prev) && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			cut(i)
		}
	}
	cut(len(rs))
	return words
}

// SecretInQuery returns the name of the first parameter of rawURL's query
// that names a secret (client_secret, password…), as written, or "" when
// none does or rawURL cannot be read.
func SecretInQuery(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	for _, param := range strings.Split(u.RawQuery, "&") {
		k, _, _ := strings.Cut(param, "=")
		if name, err := url.QueryUnescape(k); err == nil && IsSecretKey(name) {
			return name
		}
	}
	return ""
}

// MaskQuery masks the values of a URL's query named as secrets: the log's
// own names (access_token=…) and any NamesASecret says one of (api_key=…,
// Subscription-Key=…, sig=…), as a client's own API key is, which no one
// registered. A value that carries a URL or a query of its own, raw or
// URL-encoded (to=https://x/?api_key=…, a redirect's target), has its
// secrets masked too (as URL masks them: its user, its fragment), and is
// then shown decoded. A malformed escape (a stray %) is read as written,
// not taken to end the reading. What it gives is for people to read, not
// to follow.
func MaskQuery(rawQuery string) string { return newReading(func(string) {}).query(rawQuery) }

// reading is one masking of a URL or a query (URL, MaskQuery,
// RegisterURLs): found is told of each secret masked, decoded; left is how
// many more decodings and nestings of a value it reads through.
type reading struct {
	found func(secret string)
	left  int
}

// maxReadings bounds the decodings and nestings a value is read through:
// a key in a URL encoded three times in another's parameter takes four, in
// a URL nested once more, five or six. A value carrying more, which only
// a crafted one does, is masked whole; read through every level, one of a
// few hundred kilobytes (an API's Link or Location header) took a minute.
const maxReadings = 6

func newReading(found func(secret string)) reading { return reading{found: found, left: maxReadings} }

// query is rawQuery with the values named as secrets masked (MaskQuery).
func (r reading) query(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	params := strings.Split(rawQuery, "&")
	for i, param := range params {
		k, v, hasValue := strings.Cut(param, "=")
		switch {
		case hasValue && secretParam(unescape(k)):
			r.found(unescape(v))
			params[i] = k + "=" + Mask(v)
		case hasValue:
			if nested, ok := r.nested(v); ok {
				params[i] = k + "=" + nested
			}
		}
	}
	return strings.Join(params, "&")
}

// nested masks the secrets of a URL or a query carried in v, a
// parameter's value written raw or URL-encoded (once or more; see
// carried), or the whole of v when it is carried deeper than r reads and
// may hold one. ok is false, and v is kept as it is, when it carries none.
func (r reading) nested(v string) (shown string, ok bool) {
	for decoded := v; ; {
		if r.left == 0 {
			if strings.ContainsAny(decoded, "=%@") {
				return Mask(v), true
			}
			return v, false
		}
		r.left--
		if shown := r.carried(decoded); shown != decoded {
			return shown, true
		}
		next := unescape(decoded)
		if next == decoded {
			return v, false
		}
		decoded = next
	}
}

// carried is s, a parameter's value as decoded so far, with the secrets
// of what it carries masked: of a URL with a query, a fragment or a user,
// as URL masks them; of its query and fragment cut out by their text,
// when it does not parse (a stray % in its path); of s itself when it
// reads as a query (api_key=…).
func (r reading) carried(s string) string {
	rest, fragment, hasFragment := strings.Cut(s, "#")
	before, query, hasQuery := strings.Cut(rest, "?")
	switch _, err := url.Parse(s); {
	case err == nil && (hasQuery || hasFragment), strings.Contains(before, "@"):
		return r.address(s)
	case !hasQuery && !hasFragment:
		return r.query(s)
	}
	if hasQuery {
		before += "?" + r.query(query)
	}
	if hasFragment {
		before += "#" + r.query(fragment)
	}
	return before
}

// unescape is s decoded as url.QueryUnescape decodes it (+ a space, %XX
// its byte), except that a % starting no escape is kept as it is, where
// QueryUnescape gives up: a query a stray % made unreadable is read all
// the same, so a key in it is found.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		if s[i] == '+' {
			b.WriteByte(' ')
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// secretParam reports whether a URL's query parameter name says that its
// value is a secret: the log's own names (access_token) or any
// NamesASecret says one of (api_key, Subscription-Key).
func secretParam(name string) bool { return IsSecretKey(name) || NamesASecret(name) }

// RegisterURLs registers the secrets the URLs of a configuration carry
// (Register): what URL masks in them (the values of their query and
// fragment named as secrets: api_key=…, subscription-key=…, also in a URL
// one of their parameters carries; a password), so that no error or log
// line that names one of those URLs, in any encoding, shows them.
func RegisterURLs(raws ...string) {
	for _, raw := range raws {
		newReading(func(secret string) { Register(secret) }).address(raw)
	}
}

// RegisterAddress registers raw, a URL that is itself a password (a chat's
// webhook: Slack's hooks.slack.com/services/T…/B…/secret, an ntfy topic),
// as a secret: what follows its host (its path, query and fragment) and
// its user, not its scheme and host, which name a service whose other
// URLs a log names too (their runs of characters would be masked as the
// fragments of a secret). One that does not parse, names no host, or
// whose path is too short to be looked for alone, is registered whole.
func RegisterAddress(raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		Register(raw)
		return
	}
	_, authority, _ := strings.Cut(raw, "//")
	rest := ""
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority, rest = authority[:i], authority[i:]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		Register(authority[:i])
	}
	if len(rest) < minRegistered {
		// Too short to be looked for alone (an ntfy topic, /alerts): the
		// whole URL is, and its host is not a part of it a log would mask
		// (machineMade), being of one case's letters and punctuation.
		Register(raw)
		return
	}
	Register(rest)
}

// URL is raw, a URL of a configuration, as printed: with the values of its
// query and of its fragment named as secrets masked (MaskQuery: an API URL
// may carry an API key, an implicit log-in's answer an access token after
// the #), and its user too (a password never shows), though the URLs used
// may have none of them. One that does not parse, with a query, a
// fragment or a user in it, is masked whole: what in it is a secret
// cannot be told.
func URL(raw string) string { return newReading(func(string) {}).address(raw) }

// Keyed reports whether raw, a URL of a configuration, holds what URL
// masks: a key in its query or after its #, a user or a password. URL
// also writes the scheme in lower case, as net/url does, which hides
// nothing: HTTPS://login.example/token?realm=x is not keyed.
func Keyed(raw string) bool {
	shown := URL(raw)
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		raw = u.Scheme + raw[len(u.Scheme):]
	}
	return shown != raw
}

// address is raw, a URL, with its secrets masked (URL).
func (r reading) address(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil && strings.ContainsAny(raw, "@?#"):
		return Mask(raw)
	case err != nil || u.RawQuery == "" && u.User == nil && !strings.Contains(raw, "#") && !strings.Contains(u.Opaque, "@"):
		return raw
	}
	u.RawQuery = r.query(u.RawQuery)
	fragment, hasFragment := "", u.Fragment != "" || strings.HasSuffix(raw, "#")
	if hasFragment {
		fragment = "#" + r.query(u.EscapedFragment())
		u.Fragment, u.RawFragment = "", ""
	}
	if pw, ok := u.User.Password(); ok {
		r.found(pw)
	}
	// The user masked as Mask writes it, not percent-encoded as a user
	// set in u would be; the password not at all. One written after the
	// scheme without // (https:me:pw@host), which url.Parse reads as
	// opaque, is masked alike.
	user, where := "", "//"
	switch before, after, ok := strings.Cut(u.Opaque, "@"); {
	case u.User != nil:
		user = Mask(u.User.Username())
		u.User = nil
	case ok:
		r.found(before)
		user, where = Mask(before), ":"
		u.Opaque = after
	}
	shown := u.String()
	if i := strings.Index(shown, where); user != "" && i >= 0 {
		shown = shown[:i+len(where)] + user + "@" + shown[i+len(where):]
	}
	return shown + fragment
}

// MaskURLs replaces each of urls, URLs of a configuration, with URL's
// rendering of it, to print.
func MaskURLs(urls ...*string) {
	for _, u := range urls {
		*u = URL(*u)
	}
}

// Handler masks secrets before passing records on.
type Handler struct {
	base slog.Handler
	// bound are the groups and attributes given to WithGroup and
	// WithAttrs, in order, read when bound (see frozen) but not masked:
	// masked again for the secrets registered after they were bound (a
	// token renewed after a logger was made With it), as a record's
	// attributes are at each Handle. made is base with them masked as the
	// registry stood at added.
	bound []binding
	made  atomic.Pointer[madeHandler]
}

// binding is one WithGroup (group) or WithAttrs (attrs).
type binding struct {
	group string
	attrs []slog.Attr
}

type madeHandler struct {
	added uint64
	next  slog.Handler
}

// NewHandler wraps next.
func NewHandler(next slog.Handler) *Handler { return &Handler{base: next} }

// next is the handler records go on to: base with the bound groups and
// attributes, masked for every secret registered so far. It is made
// again only after more secrets are, not for each record.
func (h *Handler) next() slog.Handler {
	if len(h.bound) == 0 {
		return h.base
	}
	n := added.Load()
	if m := h.made.Load(); m != nil && m.added == n {
		return m.next
	}
	next := h.base
	for _, b := range h.bound {
		if b.group != "" {
			next = next.WithGroup(Scrub(b.group))
			continue
		}
		c := make([]slog.Attr, len(b.attrs))
		for i, a := range b.attrs {
			c[i] = clean(a)
		}
		next = next.WithAttrs(c)
	}
	h.made.Store(&madeHandler{added: n, next: next})
	return next
}

// bind is h with b bound after the groups and attributes it has.
func (h *Handler) bind(b binding) *Handler {
	return &Handler{base: h.base, bound: append(slices.Clip(h.bound), b)}
}

// Logger is l logging through a Handler, so that it masks secrets whatever
// handler it writes with (a program's own slog.NewTextHandler); l itself
// when its handler is a Handler already, as the command line's is, so that
// nothing is masked twice. A nil l is one that discards.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	if _, ok := l.Handler().(*Handler); ok {
		return l
	}
	return slog.New(NewHandler(l.Handler()))
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next().Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(clean(a))
		return true
	})
	return h.next().Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.bind(binding{attrs: frozen(attrs)})
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.bind(binding{group: name})
}

// clean is a with its secrets masked: in its value (all of it under a
// key IsSecretKey names, a Secret's, the registered ones in any other) and
// in its key, which a program may take from data (a map of tokens by
// value). A value of any other kind is masked as the text read gives it;
// a duration logs as loggedDuration.
func clean(a slog.Attr) slog.Attr {
	key := Scrub(a.Key)
	if isSecret(a.Value) {
		return slog.Attr{Key: key, Value: a.Value.Resolve()}
	}
	v := read(a.Value)
	if IsSecretKey(a.Key) && v.Kind() != slog.KindGroup {
		return slog.String(key, Mask(v.String()))
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(key, Scrub(v.String()))
	case slog.KindDuration:
		return slog.Any(key, loggedDuration(v.Duration()))
	case slog.KindGroup:
		g := v.Group()
		c := make([]slog.Attr, len(g))
		for i, ga := range g {
			c[i] = clean(ga)
		}
		return slog.Attr{Key: key, Value: slog.GroupValue(c...)}
	}
	return slog.Attr{Key: key, Value: v}
}

// isSecret reports whether v is a Secret, which masks itself.
func isSecret(v slog.Value) bool {
	if v.Kind() != slog.KindLogValuer {
		return false
	}
	_, ok := v.Any().(Secret)
	return ok
}

// frozen is attrs as bound to a logger: read now (see read), as slog's
// own handlers read what they are given With, and not masked yet. A
// buffer or map the program changes afterwards, or a LogValuer, is not
// read again when the attributes are masked again.
func frozen(attrs []slog.Attr) []slog.Attr {
	c := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		c[i] = a
		if isSecret(a.Value) {
			continue
		}
		c[i].Value = read(a.Value)
		if c[i].Value.Kind() == slog.KindGroup {
			c[i].Value = slog.GroupValue(frozen(c[i].Value.Group())...)
		}
	}
	return c
}

// read is v resolved, with a value of any other kind than slog's own
// given as the text anyText reads in it. Nil is passed on as it is: the
// value of the empty Attr, which handlers leave out.
func read(v slog.Value) slog.Value {
	if v = v.Resolve(); v.Kind() == slog.KindAny && v.Any() != nil {
		return slog.StringValue(anyText(v.Any()))
	}
	return v
}

// anyText is x as text to mask: as it says it prints (an error's Error, a
// String), else as it says it marshals (MarshalText, MarshalJSON: a type
// may leave its secrets out), else a slice of bytes (a body, a
// json.RawMessage) as the text it holds, else as fmt prints it, with the
// slices and arrays of bytes it holds (a struct's body, a map of
// json.RawMessage) shown as text too, and the Secrets in fields fmt
// cannot ask to print themselves masked (see readable). A method that
// panics is said to have.
func anyText(x any) (text string) {
	defer func() {
		if r := recover(); r != nil {
			text = fmt.Sprintf("!PANIC: %v", r)
		}
	}()
	v := reflect.ValueOf(x)
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return fmt.Sprint(x)
	}
	var b []byte
	var err error
	switch m := x.(type) {
	case error:
		return m.Error()
	case fmt.Stringer, fmt.Formatter:
		return fmt.Sprint(x)
	case encoding.TextMarshaler:
		b, err = m.MarshalText()
	case json.Marshaler:
		b, err = m.MarshalJSON()
	default:
		if v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.Uint8 {
			return readable(v, fmt.Sprint(x))
		}
		b = v.Bytes()
	}
	if err != nil {
		return "!ERROR: " + err.Error()
	}
	return string(b)
}

// readable is printed, v as fmt prints it, with each slice or array of
// bytes fmt wrote as decimal numbers ([115 51 …]: unreadable, and no
// secret in it found) written as the text it holds, Go-quoted when it is
// not UTF-8 (as a secret is found quoted, and a log line stays UTF-8), and
// each Secret in a field fmt cannot ask to print itself (unexported: fmt
// writes the string it is) written as Mask writes it, wherever it shows.
// It looks where fmt does: through a struct's fields, exported or not, a
// map's keys and values, a slice's or array's elements, an interface's
// value, a pointer only at the top (fmt writes a nested one as its
// address), and into no value that prints by its own method. The text
// printed is read once, however many slices it holds (a provider's answer
// read into a map of json.RawMessage, with as many keys as it likes).
func readable(v reflect.Value, printed string) string {
	var pairs [][2]string // each slice as fmt wrote it, and as text; each Secret, and its mask
	written := map[string]bool{}
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if !v.IsValid() {
			return
		}
		if depth > 0 && v.CanInterface() {
			switch v.Interface().(type) {
			case error, fmt.Stringer, fmt.Formatter:
				return
			}
		}
		switch v.Kind() {
		case reflect.String:
			if s := v.String(); v.Type() == reflect.TypeFor[Secret]() && s != "" && !written[s] {
				written[s] = true
				pairs = append(pairs, [2]string{s, Mask(s)})
			}
		case reflect.Pointer:
			if depth == 0 {
				walk(v.Elem(), depth+1)
			}
		case reflect.Interface:
			walk(v.Elem(), depth+1)
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i), depth+1)
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(it.Key(), depth+1)
				walk(it.Value(), depth+1)
			}
		case reflect.Slice, reflect.Array:
			if v.Type().Elem().Kind() != reflect.Uint8 {
				for i := range v.Len() {
					walk(v.Index(i), depth+1)
				}
				return
			}
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			if len(b) == 0 {
				return
			}
			if numbers := fmt.Sprint(b); !written[numbers] {
				written[numbers] = true
				text := string(b)
				if !utf8.Valid(b) {
					text = strconv.Quote(text)
				}
				pairs = append(pairs, [2]string{numbers, text})
			}
		}
	}
	walk(v, 0)
	if len(pairs) == 0 {
		return printed
	}
	// Longest first: where two start alike, the replacer writes the
	// first given, and a Secret holding another is masked whole.
	slices.SortStableFunc(pairs, func(a, b [2]string) int { return len(b[0]) - len(a[0]) })
	oldNew := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		oldNew = append(oldNew, p[0], p[1])
	}
	return strings.NewReplacer(oldNew...).Replace(printed)
}

// loggedDuration is a duration as freshtoken logs it: in text as Go writes
// it ("1m30s"), in JSON (a handler that marshals it, a program's own
// slog.NewJSONHandler too) as a string of seconds ("90s", "0.25s") rather
// than the number of nanoseconds slog's JSON handler writes. Either reads
// back with time.ParseDuration, exactly.
type loggedDuration time.Duration

func (d loggedDuration) String() string { return time.Duration(d).String() }

// MarshalJSON implements json.Marshaler: d in seconds, with as many
// decimals as it needs and no more, counted in whole nanoseconds, as a
// float64 of seconds cannot hold a duration longer than about 104 days to
// the nanosecond.
func (d loggedDuration) MarshalJSON() ([]byte, error) {
	b, ns := append(make([]byte, 0, 24), '"'), uint64(d)
	if d < 0 {
		b, ns = append(b, '-'), -ns // the largest negative duration too
	}
	b = strconv.AppendUint(b, ns/1e9, 10)
	if frac := ns % 1e9; frac != 0 {
		// Nine digits, written after a 1 that is then overwritten by
		// the point, without the zeros they end with.
		at := len(b)
		b = strconv.AppendUint(b, 1e9+frac, 10)
		b[at] = '.'
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	return append(b, 's', '"'), nil
}
