package redact

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestScrubWhileSecretsComeAndGo: a proxy renews tokens in many
// environments at once while its requests log. Secrets joining and leaving
// the index from many goroutines (sharing anchors, prefixes and whole
// values with the ones held throughout, so that the filter is rebuilt and
// reference counts reach zero while lines are scrubbed) must never unmask
// a secret held throughout, nor an owner's current or previous value
// (the two generations Set keeps). Run it under -race.
func TestScrubWhileSecretsComeAndGo(t *testing.T) {
	stable := []string{
		"Stable-Access-Token-0123456789abcdef",
		"Stable-Refresh-Token-fedcba9876543210",
		"stbl+/=&secret",
		"Stable-Access-Token-0123",
	}
	Set("stable", stable...)
	defer func() { Set("stable"); Set("stable") }()
	iterations := 100
	if testing.Short() {
		iterations = 30
	}
	var wg sync.WaitGroup
	// Churners hold, under owners of their own, values sharing anchors
	// with the stable ones, and the stable values themselves, then let
	// them go: each leaves the index when its count reaches zero, the
	// stable ones never.
	for c := range 4 {
		wg.Go(func() {
			owner := fmt.Sprintf("churn-%d", c)
			defer func() { Set(owner); Set(owner) }()
			for i := range iterations {
				var values []string
				for _, s := range stable {
					values = append(values, s, fmt.Sprintf("%s-%d-%d", s[:len(s)-2], c, i), fmt.Sprintf("%d%s", i, s[3:]))
				}
				for k := range 20 {
					values = append(values, fmt.Sprintf("churn%02d%04dAnchorFiller%d", c, i, k))
				}
				Set(owner, values...)
				Scrub("renewed " + values[len(values)-1])
				if i%3 == 0 {
					Set(owner)
					Set(owner)
				}
			}
		})
	}
	// Rotators replace their own tokens and log both generations at once.
	for r := range 3 {
		wg.Go(func() {
			owner := fmt.Sprintf("rotate-%d", r)
			defer func() { Set(owner); Set(owner) }()
			token := func(gen int) string { return fmt.Sprintf("Rotating-%d-Token-%06d-xyz", r, gen) }
			for gen := 1; gen <= iterations; gen++ {
				Set(owner, token(gen))
				previous, current := token(gen-1), encoded(token(gen), uint8(gen))
				got := Scrub("renewed " + previous + " to " + current)
				if strings.Contains(got, current) || !strings.Contains(got, Mask(token(gen))) || gen > 1 && strings.Contains(got, previous) {
					t.Errorf("a current or previous token shows: %q", got)
					return
				}
			}
		})
	}
	// Loggers scrub lines holding the stable values in every encoding.
	for l := range 3 {
		wg.Go(func() {
			for i := range iterations * 4 {
				s := stable[i%len(stable)]
				got := Scrub("request " + encoded(s, uint8(i+l)) + " done")
				if strings.Contains(got, encoded(s, uint8(i+l))) || !strings.Contains(got, Mask(s)) {
					t.Errorf("a secret held throughout shows: %q", got)
					return
				}
			}
		})
	}
	wg.Wait()
	checkIndexHoldsWhatIsHeld(t)
}

// checkIndexHoldsWhatIsHeld fails t unless the index holds a pattern for
// each value held and compiled, and none for any other, and counts the
// anchors it holds.
func checkIndexHoldsWhatIsHeld(t *testing.T) {
	t.Helper()
	registry.RLock()
	defer registry.RUnlock()
	for v := range registry.found.patterns {
		if registry.holders[v] == 0 {
			t.Errorf("the index holds %q, which no one holds", v)
		}
	}
	for v := range registry.holders {
		_, pending := registry.pending[v]
		if _, indexed := registry.found.patterns[v]; indexed == pending {
			t.Errorf("%q held: indexed %v, pending %v", v, indexed, pending)
		}
	}
	checkFilterCounts(t)
}
