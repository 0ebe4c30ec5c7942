package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestColorJSON(t *testing.T) {
	const (
		k = colorKey
		s = colorString
		n = colorNumber
		b = colorBool
		z = colorNull
		r = colorReset
	)
	tests := []struct{ in, want string }{
		{`{"a": 1}`, `{` + k + `"a"` + r + `: ` + n + `1` + r + `}`},
		{`["a", "b"]`, `[` + s + `"a"` + r + `, ` + s + `"b"` + r + `]`},
		{`{"say \"hi\"" : "x\\"}`, `{` + k + `"say \"hi\""` + r + ` : ` + s + `"x\\"` + r + `}`},
		{`[-1.5e+3, true, false, null]`, `[` + n + `-1.5e+3` + r + `, ` + b + `true` + r + `, ` + b + `false` + r + `, ` + z + `null` + r + `]`},
		{"{\n  \"k\": {\n    \"t\": \"{\\\"x\\\": 1}\"\n  }\n}", "{\n  " + k + `"k"` + r + ": {\n    " + k + `"t"` + r + ": " + s + `"{\"x\": 1}"` + r + "\n  }\n}"},
	}
	for _, tt := range tests {
		if got := string(colorJSON([]byte(tt.in))); got != tt.want {
			t.Errorf("colorJSON(%s)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestWriteBodyPassesALargeJSONBodyThrough: JSON to a terminal is indented
// only up to maxPretty; a larger body (an endless one, a gzip bomb) passes
// through as it comes instead of being gathered in memory until the
// process dies.
func TestWriteBodyPassesALargeJSONBodyThrough(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	body := []byte(`[` + strings.Repeat(`1,`, maxPretty/2) + `1]`)
	var out bytes.Buffer
	f := &Factory{IO: &IOStreams{Out: &out, OutTTY: true}}
	if err := writeBody(f, "application/json", bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), body) {
		t.Fatalf("a %d-byte JSON body, over maxPretty, reached the terminal changed (%d bytes)", len(body), out.Len())
	}
}
