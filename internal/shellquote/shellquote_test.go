package shellquote_test

import (
	"os/exec"
	"strings"
	"testing"
	"unicode"

	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestWordIsOneWordOnOneLine: a path is quoted so that a shell reads
// it back as it is, and on one line, so a message suggesting a command with
// it stays one line (a line break or a tab in it was written as it was).
func TestWordIsOneWordOnOneLine(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		testenv.Missing(t, "bash: %v", err)
	}
	for _, path := range []string{"plain/c.toml", "my  configs/c.toml", "it's $HOME `x`", "line\nbreak", "tab\tand\r\x7f\x01", "q'\n\\x41 é\u0085", "bad\xffbyte", ""} {
		q := shellquote.Word(path)
		if strings.IndexFunc(q, unicode.IsControl) >= 0 {
			t.Errorf("Word(%q) = %q, which has a control character", path, q)
		}
		out, err := exec.Command(bash, "-c", "printf %s "+q).Output()
		if err != nil || string(out) != path {
			t.Errorf("Word(%q) = %s, which bash reads as %q (%v)", path, q, out, err)
		}
	}
}
