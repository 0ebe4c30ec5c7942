package config

import "testing"

// TestShortPlainWords: a Redis password is refused as a word or a short
// phrase when it is of 8 to 15 characters of lowercase letters, - and _
// alone; a longer phrase, one with a digit, a capital or another sign, or
// one too short to be masked anywhere (pw, as many tests' fleets have), is
// not.
func TestShortPlainWords(t *testing.T) {
	for pw, want := range map[string]bool{
		"freshtoken":                    true,
		"redis":                         false,
		"pw":                            false,
		"redis-password":                true,
		"horse_battery-x":               true,  // 15
		"horse_battery-xy":              false, // 16
		"correct-horse-battery-staple":  false,
		"redis-pass-7":                  false,
		"Freshtoken":                    false,
		"hunter2!hunter":                false,
		"a-long-random-password-0f3a9c": false,
		"":                              false,
	} {
		if got := shortPlainWords(pw); got != want {
			t.Errorf("shortPlainWords(%q) = %v, want %v", pw, got, want)
		}
	}
}
