package filemode_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/freshtoken/freshtoken/internal/filemode"
)

// TestOctalShowsWhatChmodSet: a folder's mode is shown as chmod set it,
// its sticky, setgid and setuid bits included: /tmp's 1777 was shown as
// 0777, dropping the sticky bit that keeps others from replacing a file.
func TestOctalShowsWhatChmodSet(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	for _, mode := range []os.FileMode{0o700, 0o755, 0o777 | os.ModeSticky, 0o775 | os.ModeSetgid, 0o755 | os.ModeSetuid} {
		dir := filepath.Join(t.TempDir(), "d")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := map[os.FileMode]string{0o700: "0700", 0o755: "0755", 0o777 | os.ModeSticky: "1777", 0o775 | os.ModeSetgid: "2775", 0o755 | os.ModeSetuid: "4755"}[mode]
		if got := fmt.Sprintf("%04o", filemode.Octal(fi.Mode())); got != want {
			t.Errorf("a folder chmod %s is shown as mode %s", want, got)
		}
	}
}
