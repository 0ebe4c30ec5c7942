package cli_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestRemoveOfTheLastEnvironmentLeavesNoReserve: `remove` of the last
// environment with tokens in the token folder left the folder's disk-space
// reserve (.reserve, 64 KiB, kept for renewals' answers on a full disk)
// there for good, with no record left for it to serve, as `store migrate`
// out of the folder does not. It goes with the last record; the folder
// stays, and so does the reserve while another environment's record is
// there.
func TestRemoveOfTheLastEnvironmentLeavesNoReserve(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	e.configureAs(t, "staging", "dev-client-id", config.EnvSettings{ClientSecret: "s"})
	e.loginOutsideAs(t, "staging")
	state := filepath.Join(e.dir, "state")
	for i, env := range []string{"staging", "dev"} {
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, "-e", env, "remove", "--yes"); code != 0 {
			t.Fatalf("remove -e %s: exit %d\n%s%s", env, code, stdout, stderr)
		}
		names := testenv.Names(t, state)
		if i == 0 && !slices.Equal(names, []string{".reserve", "dev.json", "dev.lock"}) {
			t.Fatalf("after remove -e %s, the token folder holds %q; want dev's record, lock file and the reserve, nothing of staging's", env, names)
		}
		if i == 1 && len(names) != 0 {
			t.Fatalf("after remove -e %s, the last, the token folder holds %q; want nothing", env, names)
		}
	}
}
