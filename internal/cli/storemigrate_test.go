package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestStoreMigrateReadsTheURLFromStdin: `store migrate --to -` takes the
// URL from stdin, so a store password never shows in the process list
// (where any user of the machine can read a command line); nothing on
// stdin is a usage error saying what to pipe in.
func TestStoreMigrateReadsTheURLFromStdin(t *testing.T) {
	e := newDevEnv(t, devprovider.Options{})
	e.login(t)
	target := filepath.Join(e.dir, "moved")
	ios, stdout, stderr := testStreams(false, false)
	ios.In = strings.NewReader("file://" + target + "\n")
	if code := e.run(ios, "store", "migrate", "--to", "-"); code != 0 {
		t.Fatalf("store migrate --to -: exit %d\n%s%s", code, stdout, stderr)
	}
	f, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if f.StoreURL != "file://"+target {
		t.Fatalf("[store] url = %q, want the URL given on stdin", f.StoreURL)
	}
	if _, err := os.Stat(filepath.Join(target, "dev.json")); err != nil {
		t.Fatalf("the record did not move: %v", err)
	}
	ios, _, stderr = testStreams(false, false)
	ios.In = strings.NewReader("\n")
	if code := e.run(ios, "store", "migrate", "--to", "-"); code != 2 || !strings.Contains(stderr.String(), "stdin") {
		t.Fatalf("--to - with nothing on stdin: exit %d, %s; want 2 saying what to pipe in", code, stderr)
	}
}
