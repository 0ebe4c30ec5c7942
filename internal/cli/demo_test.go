package cli_test

import (
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/testdisk"
)

// TestDemoOnAFullDiskSaysSo: a demo whose temporary folder is on a full
// disk stops at its log-in saying so, naming the folder, and to free some
// space or set TMPDIR, exit 2, as a temporary folder it cannot make: it
// exited 5 saying to "fix the store, then log in again", no word of the
// disk, and its store is none of the person's.
func TestDemoOnAFullDiskSaysSo(t *testing.T) {
	dir := testdisk.SmallFolder(t, "128k")
	testdisk.Fill(t, dir)
	t.Setenv("TMPDIR", dir)
	ios, _, stderr := testStreams(false, false)
	code := cli.Main([]string{"demo", "--calls", "1", "--ttl", "1s"}, ios)
	msg := stderr.String()
	if code != 2 || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "freshtoken: the disk holding the demo's temporary folder "+dir+"/freshtoken-demo-") ||
		!strings.HasSuffix(msg, " is full, so the demo could not store its tokens; free some space there, or set TMPDIR to a folder on another disk\n") {
		t.Errorf("demo exited %d: %q; want exit 2 and one line saying the disk of its temporary folder is full, and what to do", code, msg)
	}
}
