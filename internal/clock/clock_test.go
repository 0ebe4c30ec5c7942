package clock_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/clock"
)

// TestOnlyTheTaggedBuildHasTheTestClock: the test clock (testclock.go),
// which lets whoever sets $FRESHTOKEN_TESTCLOCK move the binary's time on,
// is built only with the tag clock.Tag, as e2e builds the binary; a build
// without it (the release's, `go install`'s) has Now read the system's
// clock alone. The binary is checked as well as the package's files: one
// built without the tag holds not even the variable's name, so nothing in
// it (another package reading it, say) can look the variable up.
func TestOnlyTheTaggedBuildHasTheTestClock(t *testing.T) {
	for tags, want := range map[string]string{"": "clock.go now.go", clock.Tag: "clock.go testclock.go"} {
		out, err := exec.Command("go", "list", "-tags", tags, "-f", "{{join .GoFiles \" \"}}", ".").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(out); got != want+"\n" {
			t.Errorf("built with tags %q: %q; want %q", tags, got, want)
		}
		bin := filepath.Join(t.TempDir(), "freshtoken")
		build := exec.Command("go", "build", "-tags", tags, "-o", bin, "github.com/freshtoken/freshtoken/cmd/freshtoken")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building freshtoken with tags %q: %v\n%s", tags, err, out)
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if has := bytes.Contains(b, []byte(clock.Env)); has != (tags == clock.Tag) {
			t.Errorf("freshtoken built with tags %q holds %s: %t; want %t", tags, clock.Env, has, tags == clock.Tag)
		}
	}
}

// TestWall: Wall reads the clock it is given, or time.Now with none, as the
// wall clock alone: time.Now's reading of the timers' clock, which stands
// still while the machine sleeps, dropped, as the engine, the proxy, the
// keeper and the notifier compare times kept in memory with times stored.
func TestWall(t *testing.T) {
	set := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for name, now := range map[string]func() time.Time{"nil": nil, "time.Now": time.Now, "clock.Now": clock.Now} {
		if got := clock.Wall(now); got.IsZero() || got != got.Round(0) {
			t.Errorf("Wall(%s) = %s; want the wall clock alone", name, got)
		}
	}
	if got := clock.Wall(func() time.Time { return set }); !got.Equal(set) {
		t.Errorf("Wall of a clock set to %s = %s", set, got)
	}
}
