package cli_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestImportPostmanPutsBackTokensOfTheOldClientAsTheirs: a failed import
// --force of an export for another client puts back the tokens it
// replaced bound to the grant they were stored for (the old client's),
// which the configuration, left unchanged, still names. They were put back
// through the import's view of the configuration, bound to the export's
// client: the unchanged configuration found tokens of another client, and
// the environment needed a browser log-in, its grant lost to it.
func TestImportPostmanPutsBackTokensOfTheOldClientAsTheirs(t *testing.T) {
	e := newDevEnv(t)
	e.configureAs(t, "prod", "old-client", config.EnvSettings{ClientSecret: "old-secret"})
	src := e.loginOutsideAs(t, "prod")
	before, err := src.Record(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// sand's tokens, imported after prod's, cannot be stored: its lock
	// file's name is a folder's.
	if err := os.MkdirAll(filepath.Join(e.dir, "state", "sand.lock"), 0o700); err != nil {
		t.Fatal(err)
	}
	kept := e.configKept(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod", "sand"), "--force"); code == 0 {
		t.Fatalf("import with sand's store unwritable succeeded: %s", stderr)
	}
	if !strings.Contains(stderr.String(), "the tokens of prod were put back as they were") {
		t.Fatalf("stderr = %q; want it to say prod's tokens were put back", stderr)
	}
	kept("the import failed")
	after, err := src.Record(t.Context())
	if err != nil || after == nil {
		t.Fatalf("prod's record after the failed import: %+v, %v", after, err)
	}
	if after.RefreshToken != before.RefreshToken || after.Grant != before.Grant {
		t.Errorf("prod's record after the failed import holds refresh token %q for %v; want %q for %v, as before", after.RefreshToken, after.Grant, before.RefreshToken, before.Grant)
	}
	if err := src.CheckGrant(after); err != nil {
		t.Errorf("the unchanged configuration cannot use prod's tokens put back: %v", err)
	}
}

// TestImportPostmanPutBackTellsOfADeletionNotYetOnAReplica: a failed
// import's put-back on a Redis primary whose replica lags (here, the
// deletion of the tokens it stored for prod, which had none) stands, and
// says it is not yet on a replica, as a log-out does: a failover before a
// replica copies it brings the export's tokens back. The put-back wrote
// through the store alone, and its warning went to no one.
func TestImportPostmanPutBackTellsOfADeletionNotYetOnAReplica(t *testing.T) {
	e := newDevEnv(t)
	primary, _, link := redistest.StartReplicated(t)
	// sand's tokens, imported after prod's, cannot be stored: the user
	// may write prod's key alone.
	primary.SetUser(t, "importer", "on", ">pw", "%R~*", "~freshtoken:prod", "~freshtoken:*:lock", "~freshtoken:*:renewing", "+@all")
	e.useStore(t, "redis://importer:pw@"+primary.Addr+"/0")
	link.Hold()
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod", "sand")); code == 0 {
		t.Fatalf("import with sand's key unwritable succeeded: %s", stderr)
	}
	msg := stderr.String()
	if !strings.Contains(msg, "the tokens of prod were put back as they were") || !strings.Contains(msg, "freshtoken:prod), on the primary, but the deletion is not yet on a replica") {
		t.Fatalf("stderr = %q; want prod's tokens put back, with a warning that the deletion is not yet on a replica", msg)
	}
	if got := primary.Get(t, "freshtoken:prod"); got != "" {
		t.Fatalf("the primary holds %q for prod after the put-back; want none", got)
	}
}

// TestImportPostmanPutsBackAWriteWhoseAnswerNeverCame: an import whose
// save was sent to a Redis that then stalled (SIGSTOP here), and stopped
// there by Ctrl-C, left that save out of its put-back, saying "the import
// stopped before the tokens of sand were stored": the stalled Redis, once
// it ran again, held the export's tokens for sand, which the
// configuration, left unchanged, does not name. The put-back now looks at
// that write too: when the store holds what it wrote, it is put back
// (here, deleted); when the store cannot be asked, the error says that it
// may hold the export's tokens, and what to run.
func TestImportPostmanPutsBackAWriteWhoseAnswerNeverCame(t *testing.T) {
	for _, answers := range []bool{true, false} {
		t.Run(map[bool]string{true: "Redis runs again", false: "Redis stalled still"}[answers], func(t *testing.T) {
			e := newDevEnv(t)
			srv := redistest.Start(t)
			export := e.seedExport(t, "sand")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var paused, resumed atomic.Bool
			t.Cleanup(func() {
				if paused.Load() && !resumed.Load() {
					srv.Resume(t)
				}
			})
			relay := srv.Relay(t, func(args []string) {
				// The import's save: EVAL, the script, its number of keys,
				// the keys, then its arguments.
				save := len(args) >= 4 && strings.EqualFold(args[0], "eval") && args[2] == "3" && args[3] == "freshtoken:sand"
				switch {
				case save && paused.CompareAndSwap(false, true):
					// The import's save (the script itself: this Redis
					// answered its SHA-1 NOSCRIPT, as it had yet to learn
					// it), sent to a Redis that stalls; the user presses
					// Ctrl-C while it waits.
					srv.Pause(t)
					cancel()
				case answers && paused.Load() && resumed.CompareAndSwap(false, true):
					// The first command sent since, once the import
					// has given up on the save (its letting go of its
					// lock, or the HELLO of the connection that comes
					// on: the save's, which timed out, was not put
					// back, and may have been the pool's only one):
					// Redis runs again, and takes the save it was sent.
					// (Waiting for a lock script alone, a new
					// connection's HELLO was left unanswered, and
					// Redis never ran again.)
					srv.Resume(t)
					testenv.WaitFor(t, "Redis to take the save it was sent", func() bool {
						return srv.Get(t, "freshtoken:sand") != ""
					})
				}
			})
			// A second: every answer of a Redis that runs, before the pause
			// and after it, must come within it on a loaded machine.
			msg := e.importStopped(t, ctx, "redis://"+relay+"/0?read_timeout=1s", export, &paused).Error()
			if answers {
				resumed.Store(true)
				if !strings.Contains(msg, "the tokens of sand were put back as they were: nothing was imported") {
					t.Fatalf("%s\nwant sand's tokens put back, and nothing imported", msg)
				}
				if got := srv.Get(t, "freshtoken:sand"); got != "" {
					t.Fatalf("Redis holds %s for sand after the put-back; want none, as before the import", got)
				}
				return
			}
			for _, want := range []string{"may hold the export's tokens for sand", "could not be asked again", "run the import again, or `freshtoken --config " + e.config + " login -e sand`"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%s\nwant it to say %q", msg, want)
				}
			}
			if strings.Contains(msg, "nothing was imported") {
				t.Errorf("%s\nwant it not to say that nothing was imported", msg)
			}
		})
	}
}

// importStopped imports export with ctx into the store at storeURL, which
// e's configuration then names alone, and returns the import's error:
// stopped says that its save was stopped (ctx cancelled), which the
// import must fail at, leaving the configuration unchanged.
func (e *devEnv) importStopped(t *testing.T, ctx context.Context, storeURL, export string, stopped *atomic.Bool) error {
	t.Helper()
	if err := os.WriteFile(e.config, fmt.Appendf(nil, "[store]\nurl = %q\n", storeURL), 0o600); err != nil {
		t.Fatal(err)
	}
	kept := e.configKept(t)
	root := cli.NewRootCmd(&cli.Factory{IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}})
	root.SetArgs([]string{"--config", e.config, "import", "postman", export})
	err := root.ExecuteContext(ctx)
	if err == nil || !stopped.Load() {
		t.Fatalf("import stopped while its save was on its way: %v (stopped there: %v); want it failed", err, stopped.Load())
	}
	kept("the import failed")
	return err
}
