package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
)

// TestLogoutKeepsARecordItMayNotRead: `logout` of a record file others may
// read (mode 0644, a copy restored from a backup) deleted it without
// reading it: its tokens went unrevoked, whatever grant they held (another
// configuration's too, which a log-in refuses to replace unseen), and it
// said it had logged out, or that the record should be made private (a
// file it had just deleted). As `remove` does, it now refuses: exit 2, one
// line saying how to make the file private, nothing sent, the file kept.
func TestLogoutKeepsARecordItMayNotRead(t *testing.T) {
	for _, args := range [][]string{{"-e", "dev", "logout"}, {"-e", "dev", "logout", "--local"}} {
		t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
			e := newDevEnv(t)
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/revoke"})
			e.loginOutside(t)
			path := filepath.Join(e.dir, "state", "dev.json")
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			ios, _, stderr := testStreams(false, false)
			code := e.run(ios, args...)
			said := stderr.String()
			if code != cli.ExitUsage || strings.Count(said, "\n") != 1 || !strings.Contains(said, "chmod 600") || !strings.Contains(said, "nothing was revoked or deleted") {
				t.Errorf("%v of a record of mode 0644: exit %d, said %q; want exit 2, one line saying to chmod it and that nothing was done", args, code, said)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("the record after %v: %v; want it kept", args, err)
			}
			if n := e.provider.Stats().Revocations; n != 0 {
				t.Errorf("%v sent %d revocations; want none", args, n)
			}
		})
	}
}
