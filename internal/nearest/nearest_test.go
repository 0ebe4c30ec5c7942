package nearest

import "testing"

// TestWordIsOneTypoAway: a typo finds the word it was meant to be, two
// letters swapped counting as one edit, letters compared without case;
// a word too far, one the typo is all edits of, or two as near, finds
// nothing.
func TestWordIsOneTypoAway(t *testing.T) {
	words := []string{"env", "force", "json", "min-valid", "dev", "client-secret-cmd", "client-secret-env"}
	for typo, want := range map[string]string{
		"evn":       "env",
		"froce":     "force",
		"JSON":      "json",
		"min-vaild": "min-valid",
		"dve":       "dev",
		"bogus":     "",
		"e":         "",
		"x":         "",
		// As near to two: no guess.
		"client-secret": "",
	} {
		if got := Word(typo, words); got != want {
			t.Errorf("Word(%q) = %q, want %q", typo, got, want)
		}
	}
}
