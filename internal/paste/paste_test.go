package paste

import "testing"

// TestTrimKeepsWhatWasMeant: what a paste brings along is taken off, and
// nothing of a real secret or client ID is: brackets and tildes (Microsoft
// Entra's secrets hold ~), the marks' text without the escape that begins
// them, characters inside the value.
func TestTrimKeepsWhatWasMeant(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b[200~Zx8Q~a.b_c\x1b[201~":  "Zx8Q~a.b_c",
		"\ufeff\u200bdev-client-id\r\n": "dev-client-id",
		" \u00a0secret\u2060\t":         "secret",
		"Zx8Q~a[200~b[201~c":            "Zx8Q~a[200~b[201~c",
		"[~]abc~":                       "[~]abc~",
		"a\u00a0b":                      "a\u00a0b",
	} {
		if got := Trim(in); got != want {
			t.Errorf("Trim(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUnmarkedTakesOffAMarkAtEitherEnd: a client ID copied with part of its
// quotes ("abc123, abc123') was written with the mark, as was one in
// quotes with a JSON file's comma; marks inside it are kept.
func TestUnmarkedTakesOffAMarkAtEitherEnd(t *testing.T) {
	for in, want := range map[string]string{
		`"abc123"`:    "abc123",
		`"abc123`:     "abc123",
		`abc123'`:     "abc123",
		"`abc123":     "abc123",
		`<abc123>`:    "abc123",
		`"abc123",`:   "abc123",
		`"<abc123>"`:  "abc123",
		`" abc123 "`:  "abc123",
		`abc123`:      "abc123",
		`a"b'c<d>e`:   `a"b'c<d>e`,
		`did:web:x.y`: "did:web:x.y",
	} {
		if got := Unmarked(in); got != want {
			t.Errorf("Unmarked(%q) = %q, want %q", in, got, want)
		}
	}
}
