package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestNotLoggedInSaysWhereItLooked: with no tokens stored, the one line
// says where they were looked for, so a CI job whose state folder was not
// restored (another $HOME, no $XDG_STATE_HOME) can be told from one that
// was never logged in; it said only "not logged in; run `freshtoken
// login`", which a runner cannot do.
func TestNotLoggedInSaysWhereItLooked(t *testing.T) {
	e := newDevEnv(t)
	e.configure(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "token"); code != 3 {
		t.Fatalf("exit %d; want 3: %s", code, stderr)
	}
	want := "not logged in (no tokens in " + filepath.Join(e.dir, "state", "dev.json") + "); run `freshtoken"
	if !strings.Contains(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("stderr %q; want one line saying %q", stderr, want)
	}
}
