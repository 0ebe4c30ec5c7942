package configfile

import (
	"slices"
	"strings"
	"testing"
)

// TestOutsideStrings: the lines a multi-line string holds are the string's
// text, wherever its quotes open and close, and a quote in a one-line
// string or comment opens none.
func TestOutsideStrings(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"a = \"\"\"\n[x]\n\"\"\"\n[y]", "a = \"\"\"|\"|\"|[y]"},
		{"a = '''\n# c\n'''\n# d", "a = '''|\"|\"|# d"},
		{"a = \"\"\"x\"\"\"\n[y]", "a = \"\"\"x\"\"\"|[y]"},
		{"a = \"\"\"x\\\"\"\"\n[z]\n\"\"\"\n[y]", "a = \"\"\"x\\\"\"\"|\"|\"|[y]"},    // an escaped quote does not close it
		{"a = \"\"\"\nx\"\"\"\"\"\n[y]", "a = \"\"\"|\"|[y]"},                         // quotes before the closing ones are the string's
		{"a = \"'''\" # '''\n[y]", "a = \"'''\" # '''|[y]"},                           // no multi-line string in a string or a comment
		{"a = 'x\\'\nb = \"\"\"\n[z]\n\"\"\"\n[y]", "a = 'x\\'|b = \"\"\"|\"|\"|[y]"}, // a literal string has no escapes
	} {
		got := strings.Join(OutsideStrings(strings.Split(tc.text, "\n")), "|")
		if got != tc.want {
			t.Errorf("OutsideStrings(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
	if got := OutsideStrings(nil); !slices.Equal(got, []string{}) {
		t.Errorf("OutsideStrings(nil) = %q", got)
	}
}
