package cli

import "testing"

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
