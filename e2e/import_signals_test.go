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
			if !strings.HasPrefix(last, stoppedBy(sig)) || !strings.Contains(last, "nothing was imported") || strings.Contains(last, "could not") {
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

// TestSignalWhileImportAsksTheKeptSecretCommand: `import postman --force`
// over an environment of another client whose client_secret_cmd is run to
// compare its secret with the export's, and a signal (SIGTERM, Ctrl-C, a
// closed terminal) reaches freshtoken alone while the command waits (a
// password manager asking). The command was ended, and the import said
// "interrupted: … which could not be read here, … pass --client-secret-env
// NAME …", blaming the source; it now says it was interrupted and nothing
// was imported, exit 128+N, the configuration unchanged.
func TestSignalWhileImportAsksTheKeptSecretCommand(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t, devprovider.Options{}, "")
			asking := filepath.Join(w.dir, "asking")
			if err := syscall.Mkfifo(asking, 0o600); err != nil {
				t.Fatal(err)
			}
			conf, err := os.OpenFile(w.config, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conf, "\n[env.bbb]\nprovider = \"freeagent\"\napi_url = %q\nclient_id = \"old-client\"\nclient_secret_cmd = %q\n",
				w.api, fmt.Sprintf("echo asking > %s; exec sleep 60", asking))
			conf.Close()
			export := filepath.Join(w.dir, "export.json")
			data := fmt.Sprintf(`{"name": "FreeAgent", "values": [
		{"key": "ClientId", "value": "dev-client-id"},
		{"key": "ClientSecret", "value": "dev-client-secret", "type": "secret"},
		{"key": "Resource_bbb", "value": %q},
		{"key": "RefreshToken_bbb", "value": "rt-bbb-0123456789abcdef"}
	]}`, w.api)
			if err := os.WriteFile(export, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			before := w.readConfig()
			run := w.watch("import", "postman", "--force", export)
			if _, err := os.ReadFile(asking); err != nil { // returns once the command has said it is asking
				t.Fatal(err)
			}
			run.cmd.Process.Signal(sig)
			stderr := run.waitExit(t, 128+int(sig))
			if !strings.HasPrefix(stderr, stoppedBy(sig)) || !strings.Contains(stderr, "nothing was imported") ||
				strings.Contains(stderr, "could not be read") || strings.Contains(stderr, "--client-secret") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("stderr = %q; want one line saying the import was interrupted and nothing imported", stderr)
			}
			if got := w.readConfig(); got != before {
				t.Errorf("the configuration changed:\n%s", got)
			}
			if _, err := os.Stat(filepath.Join(w.store, "bbb.json")); !os.IsNotExist(err) {
				t.Errorf("the interrupted import stored tokens for bbb: %v", err)
			}
		})
	}
}
