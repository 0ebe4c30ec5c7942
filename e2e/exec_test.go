package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/redistest"
)

// TestExecLeavesNoDescriptorToTheCommand: the command exec puts in
// freshtoken's place inherits its descriptors, so none that freshtoken
// opened (the log file, the store's lock, a Redis or keychain connection,
// the provider's) may outlive the exec: the command has none of them,
// whichever store, after a renewal and with a log file.
func TestExecLeavesNoDescriptorToTheCommand(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to list the descriptors")
	}
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"file store", func(*testing.T) string { return "" }},
		{"redis store", func(t *testing.T) string { return redistest.Start(t).URL }},
		{"keychain", func(t *testing.T) string {
			keyringtest.Start(t)
			t.Setenv("XDG_STATE_HOME", t.TempDir())
			return "keyring://"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, tc.store(t), "")
			w.login()
			log := filepath.Join(w.dir, "freshtoken.log")
			// The shell's descriptors, listed by ls from outside it; --min-valid
			// 2h: a renewal first.
			r := w.mustRun("--debug", "--log-file", log, "exec", "--min-valid", "2h", "--", "sh", "-c", `ls -l /proc/$$/fd`)
			for _, line := range strings.Split(r.stdout, "\n") {
				if strings.Contains(line, "socket:") || strings.Contains(line, "anon_inode:") || strings.Contains(line, filepath.Dir(w.dir)) {
					t.Errorf("the command inherited freshtoken's %s", line)
				}
			}
			if s := w.provider.Stats(); s.Refreshes != 1 {
				t.Fatalf("provider stats %+v; want the renewal done first", s)
			}
		})
	}
}
