package clock_test

import (
	"os/exec"
	"testing"

	"github.com/freshtoken/freshtoken/internal/clock"
)

// TestOnlyTheTaggedBuildHasTheTestClock: the test clock (testclock.go),
// which lets whoever sets $FRESHTOKEN_TESTCLOCK move the binary's time on,
// is built only with the tag clock.Tag, as e2e builds the binary; a build
// without it (the release's, `go install`'s) has Now read the system's
// clock alone.
func TestOnlyTheTaggedBuildHasTheTestClock(t *testing.T) {
	for tags, want := range map[string]string{"": "clock.go now.go", clock.Tag: "clock.go testclock.go"} {
		out, err := exec.Command("go", "list", "-tags", tags, "-f", "{{join .GoFiles \" \"}}", ".").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(out); got != want+"\n" {
			t.Errorf("built with tags %q: %q; want %q", tags, got, want)
		}
	}
}
