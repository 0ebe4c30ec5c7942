package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestStatusOfManyEnvironmentsLooksAtTheLocksOnce: status, telling of a
// stopped process holding an environment's renewal lock, looks at who
// holds the system's locks (/proc/locks) once, not once for each
// environment: 2000 environments, each with a lock file, on a system
// holding 300 locks took 1.5 s more, asked of each. Counted in
// allocations, not time: the system holding 500 more locks adds few to
// each environment's.
func TestStatusOfManyEnvironmentsLooksAtTheLocksOnce(t *testing.T) {
	const n = 200
	e := newDevEnv(t)
	state := filepath.Join(e.dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[store]\nurl = %q\n\n", "file://"+state)
	for i := range n {
		fmt.Fprintf(&b, "[env.e%d]\nprovider = \"freeagent\"\nclient_id = \"client-%d\"\nclient_secret_env = \"MANY_SECRET\"\n\n", i, i)
		if err := os.WriteFile(filepath.Join(state, fmt.Sprintf("e%d.lock", i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(e.config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MANY_SECRET", "s3cr3t")
	perEnv := func() uint64 {
		ios, stdout, stderr := testStreams(false, false)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		code := e.run(ios, "status")
		runtime.ReadMemStats(&after)
		if code != 0 || !strings.Contains(stdout.String(), fmt.Sprintf("e%d", n-1)) {
			t.Fatalf("status: exit %d, %s%s", code, stdout, stderr)
		}
		return (after.Mallocs - before.Mallocs) / n
	}
	few := perEnv()
	testenv.HoldLocks(t, 500)
	if many := perEnv(); many > few+50 {
		t.Errorf("status of %d environments made %d allocations for each with 500 more locks held, %d without; want a few more at most (the locks looked at once)", n, many, few)
	}
}
