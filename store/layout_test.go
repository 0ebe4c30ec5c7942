package store_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/store"
)

// TestNewerFormatOfAnotherShapeIsNewer: a newer freshtoken's record whose
// layout gives a field another JSON type (a time as a number, the grant as
// a string) is a newer freshtoken's (store.ErrNewerFormat: exit 2,
// upgrade), as one of the same shape is: it was "not valid JSON", corrupt,
// so `logout --local` and `remove` deleted it, and a fleet machine rolled
// back told every person to log in over it. A record of this format whose
// JSON has another shape says what is wrong in words, not Go's ("cannot
// unmarshal array into Go value of type store.stored").
func TestNewerFormatOfAnotherShapeIsNewer(t *testing.T) {
	full, err := store.Marshal("sandbox", storetest.Full())
	if err != nil {
		t.Fatal(err)
	}
	reshaped := func(version int, key string, value any) []byte {
		var m map[string]any
		if err := json.Unmarshal(full, &m); err != nil {
			t.Fatal(err)
		}
		m["version"] = version
		m[key] = value
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, tc := range []struct {
		key   string
		value any
	}{{"expiry", 1234567890}, {"grant", "https://id.example/token"}, {"access_token", map[string]any{"value": "x"}}} {
		_, err := store.Unmarshal(reshaped(2, tc.key, tc.value), "/state/sandbox.json")
		if !errors.Is(err, store.ErrNewerFormat) || !strings.Contains(err.Error(), "newer freshtoken (format 2)") {
			t.Errorf("format 2 with %s as %T: %v; want store.ErrNewerFormat", tc.key, tc.value, err)
		}
		_, err = store.Unmarshal(reshaped(1, tc.key, tc.value), "/state/sandbox.json")
		if !errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrNewerFormat) || !strings.Contains(err.Error(), "/state/sandbox.json is not a record freshtoken wrote") || strings.Contains(err.Error(), "Go ") {
			t.Errorf("format 1 with %s as %T: %v; want store.ErrCorrupt saying it is not a record freshtoken wrote, in words", tc.key, tc.value, err)
		}
	}
	for _, data := range []string{`[]`, `"tokens"`, `{"version": "1"}`} {
		_, err := store.Unmarshal([]byte(data), "/state/sandbox.json")
		if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "/state/sandbox.json is not a record freshtoken wrote") || strings.Contains(err.Error(), "Go ") {
			t.Errorf("Unmarshal of %s: %v; want store.ErrCorrupt saying it is not a record freshtoken wrote, in words", data, err)
		}
	}
	// A time is said in words, and what the record holds there is not
	// repeated (Go's words did: a refresh token pasted there was shown).
	for _, expiry := range []any{1234567890, "rt-pasted-where-the-expiry-goes"} {
		_, err := store.Unmarshal(reshaped(1, "expiry", expiry), "/state/sandbox.json")
		if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "(a time in it is not written as freshtoken writes times)") || strings.Contains(err.Error(), "Time") || strings.Contains(err.Error(), "rt-pasted") {
			t.Errorf("format 1 with the expiry %v: %v; want store.ErrCorrupt saying a time in it is not written as freshtoken writes times, in words, without the value", expiry, err)
		}
	}
	if _, err := store.Unmarshal([]byte(`{"version": 1,`), "/state/sandbox.json"); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "is not valid JSON") {
		t.Errorf("Unmarshal of JSON cut short: %v; want store.ErrCorrupt saying it is not valid JSON", err)
	}
}
