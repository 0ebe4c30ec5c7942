package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/cli"
)

// TestLogoutWithoutATerminalSaysItEndsAnotherFilesLogIn: two configuration
// files on this machine share dev's record (one store, one name, one
// client), and the work one logged in. A script's logout with the
// personal one (--local too) says in one line that the tokens are the work
// file's, which shares them and will have to log in again, and goes on, as
// login does over them; it forgot them without a word, and the work
// configuration found itself logged out. A log-out of the file's own
// log-in says nothing of it.
func TestLogoutWithoutATerminalSaysItEndsAnotherFilesLogIn(t *testing.T) {
	for _, local := range []bool{false, true} {
		t.Run(map[bool]string{false: "logout", true: "logout --local"}[local], func(t *testing.T) {
			e := newTwoFiles(t)
			logout := func(config string) string {
				t.Helper()
				args := []string{"--config", config, "logout", "-e", "dev"}
				if local {
					args = append(args, "--local")
				}
				ios, _, stderr := testStreams(false, false)
				if code := cli.Main(args, ios); code != 0 {
					t.Fatalf("logout with %s exited %d: %s", config, code, stderr)
				}
				return stderr.String()
			}
			said := logout(e.personal)
			want := "freshtoken: dev: warning: the tokens stored for dev in " + filepath.Join(e.dir, "state", "dev.json") + " were logged in with " + e.work + ", another configuration, which shares them; this log-out ends them for it too, and it will have to log in again\n"
			if !strings.HasPrefix(said, want) {
				t.Fatalf("logout with the personal configuration said:\n%s\nwant it to begin with %q", said, want)
			}
			if rec := e.record(t, "dev"); rec != nil {
				t.Fatalf("after the log-out the store holds tokens logged in with %s; want none", rec.LoggedInWith.Path)
			}
			e.loginOutside(t)
			if said := logout(e.config); strings.Contains(said, "warning") {
				t.Fatalf("logout of the work configuration's own log-in said:\n%s\nwant no warning", said)
			}
		})
	}
}

// TestRemoveKeepsAnotherFilesLogIn: two configuration files on this
// machine share dev's record, and the work one logged in. remove -e dev
// with the personal one takes dev out of that file and keeps the tokens,
// saying whose log-in they are and how to end them, as it keeps another
// client's: it deleted them, and the work configuration found itself
// logged out.
func TestRemoveKeepsAnotherFilesLogIn(t *testing.T) {
	e := newTwoFiles(t)
	ios, _, stderr := testStreams(false, false)
	if code := cli.Main([]string{"--config", e.personal, "remove", "-e", "dev", "--yes"}, ios); code != 0 {
		t.Fatalf("remove with the personal configuration exited %d: %s", code, stderr)
	}
	want := "its tokens in " + filepath.Join(e.dir, "state", "dev.json") + " were kept, as " + e.work + " logged in with them and shares them (run `freshtoken --config " + e.work + " logout -e dev` to end them)."
	if !strings.Contains(stderr.String(), want) {
		t.Fatalf("remove said:\n%s\nwant %q", stderr, want)
	}
	if rec := e.record(t, "dev"); rec == nil || rec.LoggedInWith.Path != e.work {
		t.Fatalf("after remove with the personal configuration the stored tokens are %+v; want the work configuration's, kept", rec)
	}
}
