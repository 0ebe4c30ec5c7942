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

// TestSettingIsOneTypoAway: a setting's name written with other joins or
// case, or a few letters off, finds the setting; another last word (a
// later freshtoken's key) finds none, nor does a name as near to two.
func TestSettingIsOneTypoAway(t *testing.T) {
	names := []string{"client_id", "client_secret", "client_secret_env", "revocation_url", "token_url", "auth_url"}
	for typo, want := range map[string]string{
		"client-id":       "client_id",
		"clientId":        "client_id",
		"ClientID":        "client_id",
		"clinet_id":       "client_id",
		"client secret":   "client_secret",
		"tokn_url":        "token_url",
		"revocation_hint": "",
		"bogus":           "",
		"url":             "",
	} {
		if got := Setting(typo, names); got != want {
			t.Errorf("Setting(%q) = %q, want %q", typo, got, want)
		}
	}
}
