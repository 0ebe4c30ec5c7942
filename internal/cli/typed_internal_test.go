package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTypedSecretsEndsAtEveryVolumeRoot: the search for the path that
// exists at the start of an argument went up folder by folder until "." or
// the separator, and on Windows the folder of "Z:\", "Z:." or a share's
// root is itself: the command hung before its first line, inside the
// masker's lock. Each such argument, and one with no folder existing,
// ends.
func TestTypedSecretsEndsAtEveryVolumeRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone", "a1B2c3D4e5F6g7H8")
	for _, arg := range []string{
		`Z:\`, `Z:.`, `Z:`, `Z:\no\such\folder`, `\\host\share\`, `\\host\share\no\such`, `//host/share/`,
		"/", ".", "", string(filepath.Separator) + "no-such-folder-here",
		"--to=file:///no/such/folder", "@" + missing, missing,
	} {
		typedSecrets([]string{arg})
	}
	if got := longestExisting(missing); got != filepath.Dir(filepath.Dir(missing)) {
		t.Errorf("longestExisting(%q) = %q, want the test's folder %q", missing, got, filepath.Dir(filepath.Dir(missing)))
	}
	if _, err := os.Lstat(filepath.Dir(missing)); err == nil {
		t.Fatal("the folder meant to be missing exists")
	}
}
