// Package nearest finds the word a typo was meant to be: an environment's
// name, a setting in the config file, a flag.
package nearest

import "strings"

// Word is the word of words nearest to typo, as a typo of it: one edit, or
// up to a third of the word's length, letters compared without case; ""
// when none is, or when two are as near: a guess between them may be the
// wrong one (--client-secret-cmd for init's --client-secret, given the
// secret, which is no command).
func Word(typo string, words []string) string {
	return nearestOf(typo, words, strings.ToLower, 3)
}

// Setting is Word for the name of a setting, words joined by '_'
// (client_id): written with other joins, or none, in any case (client-id,
// clientId, ClientID) it is the same, and a typo is up to a quarter of its
// length off, so that another last word (revocation_hint, a later
// freshtoken's key) is not taken for a typo of it (revocation_url).
func Setting(typo string, names []string) string {
	return nearestOf(typo, names, foldSetting, 4)
}

// foldSetting is name without case, '_', '-' or spaces.
func foldSetting(name string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(name))
}

// nearestOf is the word of words nearest to typo, both folded, no more
// edits apart than the word's length over part (one at least); "" when
// none is, or two are as near.
func nearestOf(typo string, words []string, fold func(string) string, part int) string {
	typo = fold(typo)
	best, bestD, tied := "", 0, false
	for _, w := range words {
		f := fold(w)
		d := Distance(typo, f)
		switch {
		case d > max(1, len(w)/part) || d >= len(f):
		case best == "" || d < bestD:
			best, bestD, tied = w, d, false
		case d == bestD:
			tied = true
		}
	}
	if tied {
		return ""
	}
	return best
}

// Distance is the number of edits that turn a into b: a letter added,
// taken out, changed, or two side by side swapped ("dve" for "dev", one
// typo, not two).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	before, prev := make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev = prev, cur
	}
	return prev[len(rb)]
}
