package redact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// oldScrub is Scrub as it was before the index (3f857cc^1), the oracle of
// the differential tests: every registered value's pattern, longest first,
// applied in turn to the text as masked so far, passed over when the text
// holds none of its anchors. compile, find and replace are unchanged since.
func oldScrub(s string) string {
	registry.RLock()
	values := slices.Collect(func(yield func(string) bool) {
		for v := range registry.holders {
			if !yield(v) {
				return
			}
		}
	})
	registry.RUnlock()
	patterns := make([]*pattern, len(values))
	for i, v := range values {
		patterns[i] = compiledOnce(v)
	}
	slices.SortFunc(patterns, func(a, b *pattern) int {
		if before(a, b) {
			return -1
		}
		return 1
	})
	for _, p := range patterns {
		if p.anchors != nil && !slices.ContainsFunc(p.anchors, func(a string) bool { return strings.Contains(s, a) }) {
			continue
		}
		var read int
		s = p.replace(s, &read)
	}
	return s
}

// oracleCompiled keeps the oracle's patterns of values the index holds
// none for, whose expressions take longer to build than the texts take to
// scrub. compile is as it was, so a value the index holds is matched with
// its pattern, which the index may only have lost, not changed.
var oracleCompiled = map[string]*pattern{}

func compiledOnce(v string) *pattern {
	registry.RLock()
	p, ok := registry.found.patterns[v]
	registry.RUnlock()
	if ok {
		return p
	}
	if p, ok = oracleCompiled[v]; !ok {
		if len(oracleCompiled) > 1000 { // a fuzzing run's many values
			clear(oracleCompiled)
		}
		p = compile(v)
		oracleCompiled[v] = p
	}
	return p
}

// encoded is v as form (taken modulo the forms there are) writes it: the
// ways a provider, a client or a log quotes a secret.
func encoded(v string, form uint8) string {
	jsonOf := func(v string) string {
		b, _ := json.Marshal(v)
		return string(b[1 : len(b)-1])
	}
	forms := []func() string{
		func() string { return v },
		func() string { return url.QueryEscape(v) },
		func() string { return lowerEscapes(url.QueryEscape(v)) },
		func() string { return strings.ReplaceAll(url.QueryEscape(v), "+", "%20") },
		func() string { return url.PathEscape(v) },
		func() string { return jsonOf(v) },
		func() string { return strings.ReplaceAll(jsonOf(v), "/", `\/`) },
		func() string { return "Basic " + base64.StdEncoding.EncodeToString([]byte("client:"+v)) },
		func() string { return base64.URLEncoding.EncodeToString([]byte("a=" + url.QueryEscape(v) + "&b=1")) },
		func() string { return base64.RawStdEncoding.EncodeToString([]byte("xy" + v)) },
		func() string { return base64.RawURLEncoding.EncodeToString([]byte("z" + url.PathEscape(v))) },
		func() string { return fmt.Sprintf("%q", v) },
	}
	return forms[int(form)%len(forms)]()
}

// fuzzSecrets are the values one differential case registers: a and b,
// and the awkward relations between secrets built from them (one a prefix,
// a suffix, the other containing it, overlapping it, a repeated byte).
func fuzzSecrets(a, b string) []string {
	values := []string{a, b, a + b, b + a[len(a)/2:]}
	if len(a) >= minRegistered+1 {
		values = append(values, a[:minRegistered], a[len(a)-minRegistered:], a[1:])
	}
	if a != "" {
		// the last, repetitive, is matched as whole strings
		values = append(values, strings.Repeat(a[:1], minRegistered), strings.Repeat(a[:1], maxOverlap+2))
	}
	return values
}

// checkAgainstOracle registers values for an owner, scrubs text with the
// index and with the oracle, and wants the same text from both: the index
// masks every secret the old registry did, in the same order, and nothing
// else. The fragments left (maskFragments), which the old registry did
// not look for, are not compared.
func checkAgainstOracle(t *testing.T, values []string, text string) {
	t.Helper()
	Set("differential", values...)
	defer func() { Set("differential"); Set("differential") }()
	var compared int
	got, want := scrubWhole(text, &compared), oldScrub(text)
	if got != want {
		t.Fatalf("secrets %q in %q:\nindex:  %q\noracle: %q", values, text, got, want)
	}
}

// FuzzScrubMasksWhatTheOldRegistryDid: the index (a secret's anchors
// looked up by their first bytes, a filter of those, expressions compiled
// on first need, the line read once) must mask every secret the registry
// searched secret by secret did, in every encoding, for secrets that make
// anchors awkward: at the registry's minimum length, one byte repeated
// (and so long that it is matched as whole strings),
// not ASCII, a prefix, a suffix or a part of another, equal to common
// text, at the very start or end of the text.
func FuzzScrubMasksWhatTheOldRegistryDid(f *testing.F) {
	seeds := []struct {
		a, b, before, between, after string
		forms                        uint8
	}{
		{"abcdefgh", "cdefghij", "", " ", "", 0},
		{"aaaaaaaaaaaa", "aaaaaaaa", "xaaa", "", "aaaa", 0x10},
		{"pässwörter-ünd-mehr", "密码密码密码密码", "token=", "&x=", "", 0x21},
		{"0123456789abcdef0123456789abcdef", "0123456789abcdef", "Authorization: ", " ", "\n", 0x77},
		{"refresh_token", "access_token", "grant_type=refresh_token&refresh_token=", "&", "", 0x12},
		{"a b+c/d=e&f?g\"h\\i", "x/y+z=w", "", `"`, `"`, 0x56},
		{"AbC1/2+3", "abc1/2+3", "level=DEBUG msg=", " body=", "", 0x98},
		{"---------", "________", "", "", "", 0xab},
		{"ab1ab1ab1ab1ab1", "1ab1ab1a", "ab", "b1", "ab", 0x3c},
		{"x\x00y\xffz\u202eabcd", "\xe2\x80\xa6(32 chars)", "", "", "", 0x4d},
		{"AAAAAAAAAAAAAAAAAAAAAAx+y=z'<", "AAAAAAAAAAAAAAAAAAAAAAAA", "t=", "&u=", "", 0x95},
	}
	for _, s := range seeds {
		f.Add(s.a, s.b, s.before, s.between, s.after, s.forms)
	}
	f.Fuzz(func(t *testing.T, a, b, before, between, after string, forms uint8) {
		if len(a) > 200 || len(b) > 200 || len(before)+len(between)+len(after) > 2000 {
			t.Skip("longer than a case needs")
		}
		text := before + encoded(a, forms) + between + encoded(b, forms>>4) + after
		checkAgainstOracle(t, fuzzSecrets(a, b), text)
	})
}

// TestScrubMasksWhatTheOldRegistryDidOnRandomSecrets runs the differential
// check on random secrets from a small alphabet (so that they share
// anchors, prefixes and overlaps) in random texts, many at a time, and on
// a line of a megabyte holding them at its start, its end and within, and
// on a value too long for an expression, with its start and end.
func TestScrubMasksWhatTheOldRegistryDidOnRandomSecrets(t *testing.T) {
	// One goroutine: under the race detector, which slows the expressions
	// some twentyfold and has TestScrubWhileSecretsComeAndGo for itself, a
	// tenth of the random cases, so that none of the checks is left out.
	cases := 200
	if raceDetector {
		cases = 20
	}
	r := rand.New(rand.NewChaCha8([32]byte{'i', 'y'}))
	alphabets := []string{"ab", "abc1", "aB3-_.~+/= %", "xyz\u00e9\u00fc\u5bc6"}
	word := func(alphabet string, n int) string {
		rs := []rune(alphabet)
		var b strings.Builder
		for range n {
			b.WriteRune(rs[r.IntN(len(rs))])
		}
		return b.String()
	}
	for i := range cases {
		alphabet := alphabets[i%len(alphabets)]
		values := make([]string, 1+r.IntN(12))
		for j := range values {
			values[j] = word(alphabet, minRegistered+r.IntN(30))
		}
		var text strings.Builder
		for range 1 + r.IntN(8) {
			text.WriteString(word(alphabet, r.IntN(20)))
			text.WriteString(encoded(values[r.IntN(len(values))], uint8(r.Uint32())))
		}
		checkAgainstOracle(t, values, text.String())
	}
	values := []string{"Huge1ine-Secret-0123456789", "Huge1ine-Secret-01234567", "ine-Secret-0123456789"}
	huge := values[0] + strings.Repeat("huge line ", 50_000) + values[1] + strings.Repeat("x", 1<<19) + values[2]
	checkAgainstOracle(t, values, huge)
	long := strings.Repeat("L0ng/t0ken+", maxPatterned/10) // found as whole strings, not by an expression
	values = []string{long, long[:40], long[len(long)-40:]}
	for form := range uint8(12) {
		checkAgainstOracle(t, values, "a "+encoded(long, form)+" b "+encoded(values[1], form)+encoded(values[2], form))
	}
}

// TestScrubMasksEveryRunOfRandomSecrets checks the fragment index (pieces
// keyed by their bytes packed, the values they are cut from by number,
// the runs read from there) against the rule it keeps, read the slow way:
// random secrets, some sharing a start with each other and with the
// generations before and after them, of lengths on either side of
// fragmentRun's steps, quoted in random texts in runs of random lengths
// and places (adjacent, overlapping, cut at either end), leave no run of
// fragmentRun bytes or more of any of them that reads as a token's part,
// and a text holding none such is left as it is.
func TestScrubMasksEveryRunOfRandomSecrets(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	r := rand.New(rand.NewChaCha8([32]byte{'r', 'u', 'n'}))
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	var shared string
	var previous []string // held as long as the values after them, and quoted too
	for c := range 300 {
		values := make([]string, 1+r.IntN(maxSharing/2))
		if c%4 == 0 { // kept by the generations after, as the one that held it first leaves
			shared = random(r.IntN(24))
		}
		for i := range values {
			values[i] = random(minFragmented + r.IntN(50))
			if r.IntN(3) == 0 {
				values[i] = shared + values[i]
			}
		}
		Set("runs", values...)
		held := slices.Concat(values, previous)
		previous = values
		var text strings.Builder
		for range 1 + r.IntN(6) {
			text.WriteString(strings.Repeat(" ", r.IntN(3)) + random(r.IntN(10)))
			v := held[r.IntN(len(held))]
			start := r.IntN(len(v))
			text.WriteString(v[start : start+r.IntN(len(v)-start+1)])
		}
		if r.IntN(3) == 0 {
			text.WriteString(" " + shared) // a run of each that shares it, if long enough
		}
		in := text.String()
		got := Scrub(in)
		quoted := false
		for _, v := range held {
			if run := longestRun(in, v); len(run) >= fragmentRun(len(v)) && machineMade(run) {
				quoted = true
			}
			if run := longestRun(got, v); len(run) >= fragmentRun(len(v)) && machineMade(run) {
				t.Errorf("secrets %q in %q: scrubbed as %q, %q of %q left", held, in, got, run, v)
			}
		}
		if !quoted && got != in {
			t.Errorf("secrets %q: %q holds no run of them, scrubbed as %q", held, in, got)
		}
	}
	Set("runs")
	Set("runs")
}

// longestRun is the longest run of v that s holds and that reads as a
// token's part (machineMade), or else the longest run.
func longestRun(s, v string) string {
	var best, made string
	for i := range v {
		for j := len(v); j > i; j-- {
			if run := v[i:j]; strings.Contains(s, run) {
				if len(run) > len(best) {
					best = run
				}
				if len(run) > len(made) && machineMade(run) {
					made = run
				}
				break
			}
		}
	}
	if made != "" {
		return made
	}
	return best
}
