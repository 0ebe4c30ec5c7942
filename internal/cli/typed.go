package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// typedSecrets are the parts of a command line's arguments that read as
// secrets by their shape (see redact.Shaped): a token pasted where a
// path, an address or a URL goes (--to, --listen, --config, -d @FILE, an
// import's file), which a message saying what is wrong with it would say
// back, or the --debug log show in a URL. They are masked whole only, as
// the secrets registered with redact.RegisterWhole are. The parts of a path
// that exists are none: a folder named at random (mktemp's, a test's) is
// no secret, and a command suggested with it must still run.
func typedSecrets(args []string) []string {
	var found []string
	for _, arg := range args {
		existing := existingParts(arg)
		for part := range strings.FieldsFuncSeq(arg, notInAToken) {
			if len(part) >= 8 && !existing[part] && !chosenFileName(part) && !slices.Contains(found, part) && redact.Shaped(part) {
				found = append(found, part)
			}
		}
	}
	return found
}

// existingParts are the parts of the longest path that exists at the start
// of arg, whole, after a flag's '=' or -d's '@', or from its first '/' (a
// file:// URL).
func existingParts(arg string) map[string]bool {
	parts := map[string]bool{}
	candidates := []string{arg, strings.TrimPrefix(arg, "@")}
	if _, v, ok := strings.Cut(arg, "="); ok {
		candidates = append(candidates, v)
	}
	if i := strings.IndexByte(arg, '/'); i > 0 {
		candidates = append(candidates, arg[i:])
	}
	for _, c := range candidates {
		for part := range strings.FieldsFuncSeq(longestExisting(c), notInAToken) {
			parts[part] = true
		}
	}
	return parts
}

// longestExisting is the longest path at the start of c that exists, ""
// when none does. It ends at the root of c's volume, which is its own
// folder ("/", and on Windows "Z:\", "Z:." or a share's "\\host\share\").
func longestExisting(c string) string {
	for p := filepath.Clean(c); ; {
		if _, err := os.Lstat(p); err == nil {
			return p
		}
		parent := filepath.Dir(p)
		if parent == p {
			return ""
		}
		p = parent
	}
}

// chosenFileName reports whether part reads as the name of a file a
// person chose: words (redact.ReadsAsWords) and an extension of a few
// letters (FreeAgentProduction2024.toml, a --config or --log-file to be
// made), which FreeText takes for a random-looking secret; masked, the
// message said neither which file it was nor a command that runs.
func chosenFileName(part string) bool {
	i := strings.LastIndexByte(part, '.')
	if i <= 0 {
		return false
	}
	ext := part[i+1:]
	return ext != "" && len(ext) <= 5 && strings.Trim(ext, "abcdefghijklmnopqrstuvwxyz") == "" && redact.ReadsAsWords(part[:i])
}

// notInAToken reports whether r is no character of a token's (base64,
// base64url, a JWT's dots; not its padding): what separates the parts of
// a path, a URL or an address.
func notInAToken(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._~+-", r))
}
