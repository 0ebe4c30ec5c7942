package config_test

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestEditingMistakesAreToldInOneLineWithoutTheSecret makes the mistakes of
// a person editing the file by hand, at random (a fixed seed): characters
// pasted from a web page or a chat (curly quotes, non-breaking and
// zero-width spaces), other formats' syntax (a colon, //, ;), quotes, brackets
// and backslashes added or taken away, mostly on the client_secret's line.
// Each file loads or is refused in one line that never shows the secret:
// the parser's words quoted a value back, and of a secret the secret
// ("expected four hexadecimal digits after '\u', but got \"hunter2\\uz\"").
func TestEditingMistakesAreToldInOneLineWithoutTheSecret(t *testing.T) {
	const base = "default_env = \"a\"\n[store]\nurl = \"file:///tmp/x\"\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\nclient_secret = \"hunter2zz\"\nscopes = [\"read\", \"write\"]\nauth_params = { prompt = \"consent\" }\n[notify]\ndesktop = true\n"
	pieces := []string{"\u201c", "\u201d", "\u00a0", "\u200b", ":", "=", "[", "]", "{", "}", "\"", "'", "\\", "\\u", "//", ";", "~", "\n", "\r", "#", ".", ",", " ", "env", "0", "9x", "\ufeff", "[[", "]]", "= \"x\"", "env = \"a\"\n"}
	p := filepath.Join(t.TempDir(), "config.toml")
	r := rand.New(rand.NewSource(1))
	for range 3000 {
		s := []rune(base)
		for range 1 + r.Intn(3) {
			at := r.Intn(len(s) + 1)
			if lo := strings.Index(string(s), "client_secret"); lo >= 0 && r.Intn(4) != 0 {
				lo = len([]rune(string(s)[:lo]))
				at = lo + r.Intn(min(27, len(s)-lo))
			}
			if r.Intn(3) == 0 && at < len(s) {
				s = append(s[:at], s[at+1:]...)
			} else {
				s = append(s[:at], append([]rune(pieces[r.Intn(len(pieces))]), s[at:]...)...)
			}
		}
		text := string(s)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(p)
		if err != nil && (strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "unter2")) {
			t.Fatalf("error %q, in more than one line or showing the secret, for:\n%s", err, text)
		}
	}
}
