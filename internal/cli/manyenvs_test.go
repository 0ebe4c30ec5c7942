package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestManyEnvironmentsReadTheConfigurationOnce: status and store migrate of
// a configuration of many environments (an accountant's, one per client
// company) read the file once, not once more for each environment: 2000
// environments took status 133 s. Counted in allocations, not time.
func TestManyEnvironmentsReadTheConfigurationOnce(t *testing.T) {
	const n = 400
	e := newDevEnv(t)
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[env.e%d]\nprovider = \"freeagent\"\nclient_id = \"client-%d\"\nclient_secret_env = \"MANY_SECRET\"\n\n", i, i)
	}
	if err := os.WriteFile(e.config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MANY_SECRET", "s3cr3t")
	for _, args := range [][]string{{"status"}, {"store", "migrate", "--to", "file://" + filepath.Join(e.dir, "moved")}} {
		ios, stdout, stderr := testStreams(false, false)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		code := e.run(ios, args...)
		runtime.ReadMemStats(&after)
		if code != 0 || !strings.Contains(stdout.String()+stderr.String(), "e399") {
			t.Fatalf("%s: exit %d, %s%s", args, code, stdout, stderr)
		}
		if perEnv := (after.Mallocs - before.Mallocs) / n; perEnv > 2000 {
			t.Errorf("%s of %d environments made %d allocations for each; want under 2000 (the file read once)", strings.Join(args, " "), n, perEnv)
		}
	}
}
