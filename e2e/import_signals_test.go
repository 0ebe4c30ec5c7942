//go:build unix

package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
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
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			export := w.seedExport("aaa", "bbb")
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
			export := w.seedExport("bbb")
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

// TestSecondCtrlCWhileTheStoreTakesAnImport: `import postman` into Redis,
// which stalls (SIGSTOP) as the export's tokens for an environment are
// written, and Ctrl-C twice. The wait and the warning spoke of a log-in
// ("the tokens the log-in brought", "log-in abandoned … run `freshtoken
// login -e sand` again"), but an import issues nothing and loses nothing:
// the export still holds the tokens. They say the import is abandoned,
// and to run it again. Stalled at the second environment of an export,
// the warning said only that the configuration was not changed, though
// the first's tokens, stored, stay the export's in place of what the
// store held, not put back: it says so.
func TestSecondCtrlCWhileTheStoreTakesAnImport(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		keys      []string
		stalledAt string
		left      string // what the warning says stays as it is; "" nothing
	}{
		{"one environment", []string{"sand"}, "sand", ""},
		{"the second of two", []string{"aaa", "bbb"}, "bbb", ", but the tokens of aaa are the export's, not put back as they were: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := redistest.Start(t)
			paused := make(chan struct{})
			var once sync.Once
			relay := srv.Relay(t, func(args []string) {
				// A script (EVAL or EVALSHA, the script, its number of
				// keys, the keys…) on the record and two more keys: the
				// import's save.
				if len(args) >= 4 && strings.HasPrefix(strings.ToLower(args[0]), "eval") && args[2] == "3" && args[3] == "freshtoken:"+c.stalledAt {
					once.Do(func() {
						srv.Pause(t)
						t.Cleanup(func() { srv.Resume(t) })
						close(paused)
					})
				}
			})
			w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, "redis://"+relay+"/0?read_timeout=60s&write_timeout=60s", "")
			export := w.seedExport(c.keys...)
			run := w.watch("import", "postman", export)
			testenv.Receive(t, "the import's save to reach Redis", paused)
			run.cmd.Process.Signal(syscall.SIGINT)
			run.waitSaid(t, "freshtoken: storing the export's tokens for "+c.stalledAt+", then exiting")
			run.cmd.Process.Signal(syscall.SIGINT)
			stderr := run.waitExit(t, 130)
			said := "freshtoken: import abandoned while the export's tokens for " + c.stalledAt + " were being stored; the configuration was not changed"
			if c.left == "" {
				said += ": run the import again"
			} else {
				said += c.left + "run the import again"
			}
			if !strings.Contains(stderr, said) || strings.Contains(stderr, "log-in") || strings.Contains(stderr, " login") {
				t.Fatalf("stderr %q; want %q, with no word of a log-in", stderr, said)
			}
		})
	}
}

// seedExport writes a Postman export in the seed layout, of the world's
// client, with a refresh token for each of keys at the world's API, and
// returns its path.
func (w *world) seedExport(keys ...string) string {
	w.t.Helper()
	values := []string{`{"key": "ClientId", "value": "dev-client-id"}`, `{"key": "ClientSecret", "value": "dev-client-secret", "type": "secret"}`}
	for _, k := range keys {
		values = append(values, fmt.Sprintf(`{"key": "Resource_%s", "value": %q}`, k, w.api),
			fmt.Sprintf(`{"key": "RefreshToken_%s", "value": "rt-%s-0123456789abcdef"}`, k, k))
	}
	export := filepath.Join(w.dir, "export.json")
	if err := os.WriteFile(export, []byte(`{"name": "FreeAgent", "values": [`+strings.Join(values, ", ")+`]}`), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return export
}
