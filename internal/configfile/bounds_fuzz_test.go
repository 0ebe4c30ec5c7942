package configfile

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzTooDeep: a file the TOML decoder accepts, nested no deeper than
// maxNesting, is never refused as too deep, whatever brackets and quotes its
// strings (basic, literal, multi-line, escaped), keys and comments hold.
// Run with go test -fuzz FuzzTooDeep ./internal/configfile/.
func FuzzTooDeep(f *testing.F) {
	for _, s := range []string{
		"a = \"\"\"x]]]\"\"\"\n",
		"a = '''x[[[''''\n",
		"a = 'x[\\'\nb = [[[1]]]\n",
		"a = \"\\\"[[\"\n",
		"a = \"\\\\\" # [[\n",
		"[[a.b]]\nc = [{d = [1]}]\n",
		"a = \"\"\"\\\n  [[[\"\"\"\r\n",
		"\"a[\".'b[' = 1 # [[[\n",
		"a = [ # [[[\n 1, # ]\n]\n",
		"a = ''\nb = [[]]\n",
		"a = \"\"\"\"\"\"\nb = 1\n",
		"a = '''''x'''''\n",
		"a = \"\"\"a\\\"\"\"[[\"\"\"\n",
	} {
		f.Add(s)
	}
	// A list as deep as may be, after s, is refused if the scanner took a
	// bracket in s for nesting.
	deepest := "\nnesting_probe = " + strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting) + "\n"
	f.Fuzz(func(t *testing.T, s string) {
		for _, text := range []string{s, s + deepest} {
			var m map[string]any
			if _, err := toml.Decode(text, &m); err != nil {
				continue
			}
			depth := nesting(m) - 1 // the file's own table is no nesting
			if line := tooDeep([]byte(text)); line > 0 && depth <= maxNesting {
				t.Fatalf("tooDeep = %d for TOML the decoder takes, nested %d deep: %q", line, depth, text)
			}
		}
	})
}

// nesting is how deep v's tables and lists nest: no less than their
// brackets and braces in the text it was decoded from.
func nesting(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, nesting(e))
		}
		return d + 1
	case []map[string]any:
		for _, e := range x {
			d = max(d, nesting(e))
		}
		return d + 2
	case []any:
		for _, e := range x {
			d = max(d, nesting(e))
		}
		return d + 1
	}
	return 0
}
