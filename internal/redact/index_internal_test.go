package redact

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// manySecrets holds n random tokens as owners' secrets (two each, as an
// environment's access and refresh tokens), forgotten when t ends.
func manySecrets(t testing.TB, n int) []string {
	t.Helper()
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	values := make([]string, n)
	for i := range values {
		values[i] = randomToken(r, 30)
	}
	t.Cleanup(func() {
		for i := 0; i < n; i += 2 {
			owner := fmt.Sprintf("many-%d", i)
			Set(owner)
			Set(owner)
		}
	})
	return values
}

// randomToken is n bytes of r in base64url, unpadded, as tokens are.
func randomToken(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// setManySecrets is manySecrets, each pair set as its owner's access and
// refresh tokens, each access token after prefix (the header of a JWT a
// fleet's tokens share, or "").
func setManySecrets(t testing.TB, n int, prefix string) []string {
	t.Helper()
	values := manySecrets(t, n)
	for i := 0; i < n; i += 2 {
		Set(fmt.Sprintf("many-%d", i), prefix+values[i], values[i+1])
	}
	return values
}

// TestScrubOfManySecretsReadsTheTextOnce: an accountant's proxy of 2000
// environments holds thousands of secrets, and every log line was
// searched for each of their anchors in turn, thousands of searches a
// line. The line is now read once for the anchors it holds; counted in
// anchors compared, not time.
func TestScrubOfManySecretsReadsTheTextOnce(t *testing.T) {
	const n = 6000
	values := setManySecrets(t, n, "")
	line := `time=2026-12-06T21:10:00Z level=DEBUG msg="API request" component=proxy env=e1234 method=GET url=https://api.sandbox.freeagent.com/v2/contacts?page=2&per_page=100 status=200 duration=183ms`
	var compared int
	if got := scrub(line, &compared); got != line {
		t.Fatalf("a line without a secret changed:\n%s", got)
	}
	t.Logf("a line without a secret: %d anchors compared", compared)
	if compared > 100 {
		t.Errorf("a log line was compared with %d anchors of %d secrets; want under 100 (one reading of the line)", compared, n)
	}
	secret := values[4321]
	basic := base64.StdEncoding.EncodeToString([]byte("client-id:" + secret))
	for _, shown := range []string{secret, "Basic " + basic, "refresh_token=" + strings.ReplaceAll(secret, "-", "%2D")} {
		compared = 0
		got := scrub("sent "+shown+" to the provider", &compared)
		if strings.Contains(got, secret[8:]) || strings.Contains(got, basic) || !strings.Contains(got, Mask(secret)) {
			t.Errorf("not masked: %s", got)
		}
		if compared > 100 {
			t.Errorf("%q: compared with %d anchors; want under 100", got, compared)
		}
	}
}

// TestRegisteringManySecretsCostsTheSameEach: each secret registered made
// the next log line rebuild the whole registry, so that opening 2000
// environments one after another (each registering its secrets, then
// logging) allocated 4 GB, and a proxy of 2000 environments grew to
// hundreds of megabytes. Registering one more now costs the same however
// many there are; counted in bytes allocated, not time.
func TestRegisteringManySecretsCostsTheSameEach(t *testing.T) {
	const n = 4000
	values := manySecrets(t, n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i += 2 {
		Set(fmt.Sprintf("many-%d", i), values[i], values[i+1])
		Scrub("environment opened")
	}
	runtime.ReadMemStats(&after)
	each := (after.TotalAlloc - before.TotalAlloc) / n
	t.Logf("%d bytes for each secret", each)
	if each > 20<<10 {
		t.Errorf("registering %d secrets, each followed by a log line, allocated %d bytes for each; want under 20 KiB", n, each)
	}
}

// TestIndexFollowsRotations: an environment's tokens replaced many times
// (a long-running proxy renewing) leave the index holding the last two
// generations alone, every one of them found (a fragment too), the ones
// before not.
func TestIndexFollowsRotations(t *testing.T) {
	values := manySecrets(t, 2000)
	for i := 0; i+1 < len(values); i += 2 {
		Set("many-0", values[i], values[i+1])
		Scrub("renewed") // indexes them
	}
	last := len(values) - 4
	for i, v := range values {
		masked := !strings.Contains(Scrub("sent "+v[3:]), v[3:])
		if want := i >= last; masked != want {
			t.Errorf("value %d of %d: masked %v, want %v", i, len(values), masked, want)
		}
	}
	registry.RLock()
	defer registry.RUnlock()
	checkFilterCounts(t)
}

// TestFragmentsIgnoreTextManySecretsShare: the environments of a fleet
// hold JWTs of one issuer, whose header every token shares. A line
// holding one such token, masked (its mask shows the header's first
// bytes), compared it with every token of the fleet for fragments, and
// an ID token of that issuer, registered nowhere, had its header masked
// as a fragment of another environment's token. Text more than
// maxSharing secrets share is not looked up; each token's own fragments
// are masked as before. Counted in pieces compared, not time.
func TestFragmentsIgnoreTextManySecretsShare(t *testing.T) {
	const header = "eyJhbGciOiJSUzI1NiIsImtpZCI6IkZsZWV0MSJ9."
	values := setManySecrets(t, 800, header)
	token := header + values[432]
	for _, tc := range []struct {
		text string
		kept string
	}{
		{"sent Bearer " + token, ""},
		{`answered {"id_token":"` + header + `eyJzdWIiOiJtZSJ9.c2lnbmF0dXJl"}`, header},
		{"refused " + token[len(header)+3:], ""},
	} {
		var anchors, compared int
		whole := scrubWhole(tc.text, &anchors)
		got := maskFragments(whole, &compared)
		if strings.Contains(got, values[432][3:19]) || tc.kept != "" && !strings.Contains(got, tc.kept) {
			t.Errorf("%q scrubbed as %q; want %q kept and the token's own characters masked", tc.text, got, tc.kept)
		}
		if compared > 20 {
			t.Errorf("%q: compared with %d pieces; want under 20", got, compared)
		}
	}
}

// TestAFleetsTokensOfOneIssuerAreNotEachCandidates: the environments of
// a fleet hold JWTs of one issuer, whose header, the longest run of
// letters and digits of each, anchored them all: a line holding any one
// token, or an ID token of the issuer, made every token of the fleet a
// candidate, its expression compiled and run. A token is anchored by its
// last long run, its own random characters. Counted in candidates, not
// time.
func TestAFleetsTokensOfOneIssuerAreNotEachCandidates(t *testing.T) {
	const header = "eyJhbGciOiJSUzI1NiIsImtpZCI6IkZsZWV0MjIyMjIyMjIyMjIyMjIyMiJ9."
	values := setManySecrets(t, 400, header)
	token := header + values[232]
	for _, text := range []string{
		"sent Bearer " + token,
		"sent " + base64.StdEncoding.EncodeToString([]byte(`{"access_token":"`+token+`"}`)),
		`answered {"id_token":"` + header + `eyJzdWIiOiJtZSJ9.c2lnbmF0dXJl"}`,
	} {
		var compared int
		found := candidates(text, nil, &compared)
		if len(found) > 2 {
			t.Errorf("%.60q…: %d candidates; want the token's own", text, len(found))
		}
		if got := scrub(text, &compared); strings.Contains(got, values[232][:12]) {
			t.Errorf("%.60q… scrubbed as %q", text, got)
		}
	}
}

// checkFilterCounts checks, the registry read-locked, that each of the
// index's filters counts the entries it holds: the anchors and the pieces.
func checkFilterCounts(t *testing.T) {
	t.Helper()
	longs := 0
	for _, entries := range registry.found.long {
		longs += len(entries)
	}
	if longs != registry.found.longFilter.n {
		t.Errorf("the index counts %d anchors and holds %d", registry.found.longFilter.n, longs)
	}
	pieces := len(registry.found.pieces)
	for _, more := range registry.found.shared {
		pieces += len(more)
	}
	if pieces != registry.found.pieceFilter.n {
		t.Errorf("the index counts %d pieces and holds %d", registry.found.pieceFilter.n, pieces)
	}
	for key, first := range registry.found.pieces {
		for _, e := range append([]piece{first}, registry.found.shared[key]...) {
			p := registry.found.byID[e.id]
			if p == nil || registry.found.patterns[p.value] != p {
				t.Errorf("a piece names value %d, which the index does not hold", e.id)
				continue
			}
			if form, at := p.formAt(e.at); at+pieceLen > len(form) || packed(form[at:at+pieceLen]) != key {
				t.Errorf("a piece of %.20q is not where it says it is (%d)", p.value, e.at)
			}
		}
	}
}

// TestAJWTHoldsLittleOfTheHeap: a proxy of 2000 environments whose
// provider issues JWTs of 1.25 KB holds two generations of an access and a
// refresh token each, 8000 secrets, and the registry held 25 KB for each
// (200 MB): its pieces keyed by strings, each in a slice of its own, and
// the three base64 encodings of each token held whole by their anchors. Its
// pieces are now numbers in one map, and its anchors short. Measured in
// the heap after a collection, the tokens' own bytes included.
func TestAJWTHoldsLittleOfTheHeap(t *testing.T) {
	const owners = 250
	each := heapHeld(func() {
		setJWTs(t, owners)
		Scrub("compile what is pending")
	}) / (4 * owners)
	t.Logf("%d bytes for each JWT of 1.25 KB", each)
	if each > 10<<10 {
		t.Errorf("the registry holds %d bytes for each JWT of 1.25 KB; want under 10 KiB", each)
	}
}

// TestAHugeTokenCostsTheIndexLittle: a hostile provider's token of a
// megabyte had its fragments indexed all along, some 18 MiB of index. Its
// pieces are cut from its first maxCut bytes: a run of those is masked, as
// it is whole.
func TestAHugeTokenCostsTheIndexLittle(t *testing.T) {
	token := randomToken(rand.New(rand.NewChaCha8([32]byte{4})), 3<<18)
	Scrub("compile what is pending")
	registry.RLock()
	held := registry.found.pieceFilter.n // the pieces of the values other tests registered
	registry.RUnlock()
	Set("huge", token)
	t.Cleanup(func() { Set("huge"); Set("huge") })
	for _, text := range []string{"sent " + token + " back", "sent " + token[1000:1040] + " back", "sent " + token[maxCut-40:maxCut-20] + " back"} {
		if got := Scrub(text); strings.Contains(got, text[8:28]) || !strings.Contains(got, Mask(token)) {
			t.Errorf("%.60q… scrubbed as %.60q…", text, got)
		}
	}
	registry.RLock()
	defer registry.RUnlock()
	if n, most := registry.found.pieceFilter.n-held, maxCut/(fragmentRun(len(token))-pieceLen+1)+1; n > most {
		t.Errorf("a token of %d bytes has %d pieces in the index; want %d at most", len(token), n, most)
	}
	checkFilterCounts(t)
}

// TestEachFormOfAHugeTokenHasItsRunsMasked: a value's pieces were cut from
// its first maxCut bytes of all its forms one after the other, in the
// order the forms sort in, so a hex token of lower-case letters longer
// than maxCut, whose upper-case form sorts first, had no run masked as it
// is written, and one of half of maxCut none of the second half of its
// other form. Each form's first maxCut bytes are cut.
func TestEachFormOfAHugeTokenHasItsRunsMasked(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{5}))
	for _, size := range []int{maxCut * 5 / 8, maxCut + maxCut/4} {
		b := make([]byte, size)
		for i := range b {
			b[i] = "0123456789abcdef"[r.IntN(16)]
			if i%4 == 0 { // no piece of digits alone (see TestAHexTokensRunIsFoundFromItsOwnForm)
				b[i] = "abcdef"[r.IntN(6)]
			}
		}
		token := string(b)
		Set("huge-hex", token)
		for _, at := range []int{100, min(size, maxCut) - 40} {
			for _, run := range []string{token[at : at+20], strings.ToUpper(token[at : at+20])} {
				if got := Scrub("sent " + run + " back"); strings.Contains(got, run[:16]) || !strings.Contains(got, Mask(token)) {
					t.Errorf("a run at %d of a hex token of %d bytes, %q, scrubbed as %q", at, size, run, got)
				}
			}
		}
		Set("huge-hex")
		Set("huge-hex")
	}
	registry.RLock()
	defer registry.RUnlock()
	checkFilterCounts(t)
}

// TestIndexFollowsRotationsOfHexTokens: a hex token's piece of digits
// alone is kept for each of its forms (see TestAHexTokensRunIsFoundFromItsOwnForm),
// so one value holds a piece twice; tokens of either case, sharing halves
// with each other, some holding a percent-escape (a third form), set and
// replaced by several owners, leave the index holding exactly the pieces
// of what is held, each where it says it is, and nothing once forgotten.
func TestIndexFollowsRotationsOfHexTokens(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{6}))
	hex := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "0123456789abcdef"[r.IntN(16)]
			if r.IntN(3) == 0 { // pieces of digits alone
				b[i] = "0123456789"[r.IntN(10)]
			}
		}
		return string(b)
	}
	Scrub("compile what is pending")
	registry.RLock()
	before := registry.found.pieceFilter.n // the pieces of the values other tests registered
	registry.RUnlock()
	var held []string
	for round := range 500 {
		values := make([]string, 1+r.IntN(3))
		for i := range values {
			values[i] = hex(16 + r.IntN(80))
			if len(held) > 0 && r.IntN(2) == 0 {
				other := held[r.IntN(len(held))]
				values[i] = other[:len(other)/2] + values[i]
			}
			if r.IntN(3) == 0 {
				values[i] = strings.ToUpper(values[i])
			}
			if r.IntN(5) == 0 {
				values[i] += "%41" + values[i][:10]
			}
		}
		held = append(held, values...)
		Set(fmt.Sprintf("hex-%d", r.IntN(6)), values...)
		Scrub("renewed") // indexes them
		if round%50 == 0 {
			registry.RLock()
			checkFilterCounts(t)
			registry.RUnlock()
		}
	}
	for i := range 6 {
		Set(fmt.Sprintf("hex-%d", i))
		Set(fmt.Sprintf("hex-%d", i))
	}
	registry.RLock()
	defer registry.RUnlock()
	checkFilterCounts(t)
	if left := registry.found.pieceFilter.n; left != before {
		t.Errorf("the index holds %d pieces once the tokens are forgotten; want the %d it held before them", left, before)
	}
}
