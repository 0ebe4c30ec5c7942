package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/redistest"
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
