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

// TestUnwrappedTakesOffTheMarksAValueWasCopiedIn: the quotes or angle
// brackets a value was copied in are taken off, pairs within pairs too, and
// the comma after a JSON file's value; a value without them, or with one
// mark alone, is kept as it is. A JSON value with its comma ("abc123",)
// was taken whole as the client ID, and "<abc123>" was said to be <abc123>
// without its marks.
func TestUnwrappedTakesOffTheMarksAValueWasCopiedIn(t *testing.T) {
	for in, want := range map[string]string{
		`"abc123"`:               "abc123",
		`'abc123'`:               "abc123",
		"`abc123`":               "abc123",
		"<https://h/cb?code=x>":  "https://h/cb?code=x",
		`"abc123",`:              "abc123",
		`"<abc123>"`:             "abc123",
		`" abc123 "`:             "abc123",
		"abc123":                 "abc123",
		"abc123,":                "abc123,",
		`"a"b"`:                  `a"b`,
		`""`:                     `""`,
		`"abc123`:                `"abc123`,
		"https://h/cb?a=1&b=2,3": "https://h/cb?a=1&b=2,3",
	} {
		if got := Unwrapped(in); got != want {
			t.Errorf("Unwrapped(%q) = %q, want %q", in, got, want)
		}
	}
}
