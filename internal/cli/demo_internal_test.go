package cli

import "testing"

// TestDemoNamesTheTempDirVariableOfItsSystem: a demo that cannot make or
// fill its temporary folder says to set the variable os.TempDir reads on
// the system it runs on: %TMP% on Windows, where its words said TMPDIR,
// which Windows does not read; $TMPDIR elsewhere.
func TestDemoNamesTheTempDirVariableOfItsSystem(t *testing.T) {
	for goos, want := range map[string]string{"windows": "TMP", "linux": "TMPDIR", "darwin": "TMPDIR", "freebsd": "TMPDIR"} {
		if got := tempDirVariable(goos); got != want {
			t.Errorf("on %s the demo says to set %s; want %s", goos, got, want)
		}
	}
}
