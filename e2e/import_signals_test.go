//go:build unix

package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestSignalDuringAnImportPutsBackWhatItStored: `import postman` of two
// environments is stopped (SIGTERM, Ctrl-C, a closed terminal) while the
// second's tokens wait for their renewal lock, the first's stored. The
// first's are taken back, the configuration is unchanged, and one line
// says nothing was imported, exit 128+N. The putting back used the
// cancelled context and failed, leaving the export's tokens stored for an
// environment the configuration does not name (in place of any it had),
// with the words "the earlier ones could not be put back (… context
// canceled): run `freshtoken import` again once the store is fixed".
func TestSignalDuringAnImportPutsBackWhatItStored(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			export := filepath.Join(w.dir, "export.json")
			data := fmt.Sprintf(`{"name": "FreeAgent", "values": [
		{"key": "ClientId", "value": "dev-client-id"},
		{"key": "ClientSecret", "value": "dev-client-secret", "type": "secret"},
		{"key": "Resource_aaa", "value": %q},
		{"key": "RefreshToken_aaa", "value": "rt-aaa-0123456789abcdef"},
		{"key": "Resource_bbb", "value": %q},
		{"key": "RefreshToken_bbb", "value": "rt-bbb-0123456789abcdef"}
	]}`, w.api, w.api)
			if err := os.WriteFile(export, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			before := w.readConfig()
			unlock, err := filestore.New(w.store).Lock(context.Background(), "bbb")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			run := w.watch("import", "postman", export)
			run.waitSaid(t, "waiting for the renewal lock of bbb")
			run.cmd.Process.Signal(sig)
			stderr := run.waitExit(t, 128+int(sig))
			last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
			if !strings.HasPrefix(last, "freshtoken: interrupted") || !strings.Contains(last, "nothing was imported") || strings.Contains(last, "could not") {
				t.Errorf("last line %q; want it to say the import was interrupted and nothing imported", last)
			}
			if _, err := os.Stat(filepath.Join(w.store, "aaa.json")); !os.IsNotExist(err) {
				t.Errorf("the first environment's tokens were left in the store: %v", err)
			}
			if got := w.readConfig(); got != before {
				t.Errorf("the configuration changed:\n%s", got)
			}
		})
	}
}
