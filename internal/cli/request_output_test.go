package cli

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
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
	if !bytes.Equal(out.Bytes(), append(body, '\n')) { // its last line ended on the terminal
		t.Fatalf("a %d-byte JSON body, over maxPretty, reached the terminal changed (%d bytes)", len(body), out.Len())
	}
}

// TestWriteBodyDoesNotIndentWhatIndentingWouldSwell: a small JSON body
// nested deep (30 KB: 5,000 brackets around 10,000 numbers) is shown as it
// came, not indented: indented, each of its lines began with up to 10,000
// spaces, and the 30 KB became 150 MB on the terminal and near a gigabyte
// of memory, so that a 16 MiB answer (under maxPretty) could take
// freshtoken's memory a thousandfold. A body that indents to a modest size
// is still indented.
func TestWriteBodyDoesNotIndentWhatIndentingWouldSwell(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	deep := []byte(strings.Repeat("[", 5000) + strings.Repeat("1,", 10000) + "1" + strings.Repeat("]", 5000))
	var out bytes.Buffer
	f := &Factory{IO: &IOStreams{Out: &out, OutTTY: true}}
	if err := writeBody(f, "application/json", bytes.NewReader(deep)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), append(deep, '\n')) {
		t.Fatalf("a %d-byte JSON body nested %d deep reached the terminal as %d bytes; want it as it came", len(deep), 5000, out.Len())
	}
	out.Reset()
	if err := writeBody(f, "application/json", strings.NewReader(`[[1,{"a":[2]}]]`)); err != nil {
		t.Fatal(err)
	}
	if want := "[\n  [\n    1,\n    {\n      \"a\": [\n        2\n      ]\n    }\n  ]\n]\n"; out.String() != want {
		t.Errorf("a small body nested a little was shown as %q, want %q", out.String(), want)
	}
}

// TestTermSafeAcrossWrites: a character, or a CR LF, that a write cuts in
// two is shown as whole (a body comes in pieces of any size); a lone CR,
// or a character cut short, at the very end is shown as what it is, and
// the last line, left unfinished, is ended (a line already ended is not:
// see TestTerminalIsShownAnAPIsControlCharacters).
func TestTermSafeAcrossWrites(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"é\u202e\u009b\r\nx\ry\x1b", "é<U+202E><U+009B>\r\nx^My^[\n"},
		{"end\r", "end^M\n"},
		{"cut \xe2\x80", "cut <E2><80>\n"},
		{"日本\xff語\x00", "日本<FF>語^@\n"},
	} {
		var out bytes.Buffer
		safe := newTermSafe(&out)
		if err := copySafe(safe, iotest.OneByteReader(strings.NewReader(tt.in))); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("%q written a byte at a time was shown as %q, want %q", tt.in, out.String(), tt.want)
		}
		out.Reset()
		if err := copySafe(newTermSafe(&out), strings.NewReader(tt.in)); err != nil || out.String() != tt.want {
			t.Errorf("%q written at once was shown as %q (%v), want %q", tt.in, out.String(), err, tt.want)
		}
	}
}
