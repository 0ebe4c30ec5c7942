package config

import "testing"

// TestShortPlainWords: a Redis password is refused as a word or a short
// phrase at 8 to 15 characters of what redact.PlainWords takes (its own
// test has which those are); one too short to be masked anywhere, or
// longer, or one PlainWords rejects, is not.
func TestShortPlainWords(t *testing.T) {
	for pw, want := range map[string]bool{
		"horse_b":                      false, // 7: masked nowhere, kept
		"horse_ba":                     true,  // 8
		"horse_battery-x":              true,  // 15
		"horse_battery-xy":             false, // 16
		"correct-horse-battery-staple": false,
		"redis-pass-7":                 false, // not PlainWords
	} {
		if got := shortPlainWords(pw); got != want {
			t.Errorf("shortPlainWords(%q) = %v, want %v", pw, got, want)
		}
	}
}
