package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// twoFiles is a work configuration and a personal one on this machine,
// each with an environment "dev" of the same client at the same provider,
// both keeping their tokens in the same folder: they share dev's record.
// The work configuration has logged in.
type twoFiles struct {
	*devEnv
	work, personal string // the configuration files, symbolic links resolved
	redirect       string // dev's redirect_uri in both
}

func newTwoFiles(t *testing.T) *twoFiles {
	t.Helper()
	e := newDevEnv(t)
	redirect := freeRedirectURI(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: redirect})
	e.loginOutside(t)
	text, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	personal := filepath.Join(e.dir, "personal.toml")
	if err := os.WriteFile(personal, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return &twoFiles{devEnv: e, work: resolved(t, e.config), personal: resolved(t, personal), redirect: redirect}
}

func resolved(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loginWith runs login -e dev, without a terminal, with the configuration
// file config and args, the browser approving; it returns what stderr held
// when the browser opened (nothing when it never did), and stderr in all.
func loginWith(t *testing.T, config string, args ...string) (before, stderrText string, err error) {
	t.Helper()
	var stderr bytes.Buffer
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &stderr},
		OpenBrowser: func(url string) error {
			before = stderr.String()
			return approveAt(url)
		},
	})
	root.SetArgs(append([]string{"--config", config, "login", "-e", "dev"}, args...))
	err = root.ExecuteContext(t.Context())
	return before, stderr.String(), err
}

// TestLoginRecordsItsConfigurationFile: a log-in records which
// configuration file logged in (this host's name, the file's path with
// symbolic links resolved), and renewals keep it, whichever configuration
// renews: it is what tells status, and the next log-in, whose account the
// shared tokens are.
func TestLoginRecordsItsConfigurationFile(t *testing.T) {
	e := newTwoFiles(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	want := store.ConfigFile{Host: host, Path: e.work}
	if got := e.record(t, "dev").LoggedInWith; got != want {
		t.Fatalf("after the work configuration's log-in, the record says %+v; want %+v", got, want)
	}
	for _, conf := range []string{e.config, e.personal} {
		ios, _, stderr := testStreams(false, false)
		if code := cli.Main([]string{"--config", conf, "token", "--force", "-e", "dev"}, ios); code != 0 {
			t.Fatalf("token --force with %s exited %d: %s", conf, code, stderr)
		}
		if got := e.record(t, "dev"); got.LoggedInWith != want || got.Renewals == 0 {
			t.Fatalf("renewed with %s, the record says %+v, %d renewals; want %+v kept", conf, got.LoggedInWith, got.Renewals, want)
		}
	}
}

// TestLoginOverAnotherFilesNamesThisOneAsTheRecordDoes: the warning of a
// log-in over another configuration file's names this configuration's file
// as the record names files (absolute, symbolic links resolved), as it
// names the other: it named it as typed (a relative path, a link), and two
// spellings of one file read as two files.
func TestLoginOverAnotherFilesNamesThisOneAsTheRecordDoes(t *testing.T) {
	e := newTwoFiles(t)
	link := filepath.Join(t.TempDir(), "linked.toml")
	if err := os.Symlink(e.personal, link); err != nil {
		t.Fatal(err)
	}
	before, _, err := loginWith(t, link)
	if err != nil {
		t.Fatalf("login with the personal configuration by a link: %v", err)
	}
	want := " were logged in with " + e.work + ", not with this configuration (" + e.personal + "): the two share them"
	if !strings.Contains(before, want) {
		t.Fatalf("before the browser opened, stderr was:\n%s\nwant it to name this configuration as the record does: %s", before, want)
	}
	if got := e.record(t, "dev").LoggedInWith.Path; got != e.personal {
		t.Fatalf("the record says it was logged in with %s; want %s", got, e.personal)
	}
}

// TestLoginWithoutATerminalSaysItReplacesAnotherFilesLogIn: two
// configuration files on this machine share dev's record (one store, one
// name, one client). A script's log-in with the personal one over the
// work one's says so in one line before the browser opens, naming both
// files and that work then uses the account this log-in chooses, and goes
// on, as over another client's tokens; it replaced them silently (the same
// grant), and the work configuration then used the personal account. A
// log-in over the file's own, over a record that names no file (written
// before records did), over one logged in on another host (a fleet's
// machines share one record on purpose), over one of a file no longer
// there or of a path no file can have (one naming a file as a folder, as
// a fleet's machines of one name may record: that error was taken for a
// file there), or with another path to the same file (a symbolic or hard link,
// as a service and a shell may name it) says nothing.
func TestLoginWithoutATerminalSaysItReplacesAnotherFilesLogIn(t *testing.T) {
	e := newTwoFiles(t)
	before, _, err := loginWith(t, e.personal)
	if err != nil {
		t.Fatalf("login with the personal configuration: %v", err)
	}
	want := "freshtoken: dev: warning: the tokens stored for dev in " + filepath.Join(e.dir, "state", "dev.json") + " were logged in with " + e.work + ", not with this configuration (" + e.personal + "): the two share them"
	if !strings.Contains(before, want) || !strings.Contains(before, "this log-in replaces them once it succeeds, and "+e.work+" will then use the account this log-in chooses") {
		t.Fatalf("before the browser opened, stderr was:\n%s\nwant a line beginning %s, saying what it does to the work configuration", before, want)
	}
	if got := e.record(t, "dev").LoggedInWith.Path; got != e.personal {
		t.Fatalf("the record says it was logged in with %s; want %s, the log-in's", got, e.personal)
	}

	link := filepath.Join(t.TempDir(), "linked.toml")
	hard := filepath.Join(e.dir, "hard.toml")
	for _, tc := range []struct {
		name   string
		config string
		spoil  func(r *store.Record)
	}{
		{"its own", e.personal, nil},
		{"by a symbolic link", link, nil},
		{"by a hard link", hard, nil},
		{"a record naming no file", e.personal, func(r *store.Record) { r.LoggedInWith = store.ConfigFile{} }},
		{"another host's", e.personal, func(r *store.Record) { r.LoggedInWith = store.ConfigFile{Host: "fleet-machine-2", Path: e.work} }},
		{"a file no longer there", e.personal, func(r *store.Record) { r.LoggedInWith.Path = filepath.Join(e.dir, "gone.toml") }},
		{"a path through a file", e.personal, func(r *store.Record) { r.LoggedInWith.Path = filepath.Join(e.work, "config.toml") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Symlink(e.personal, link); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
			if err := os.Link(e.personal, hard); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
			if tc.spoil != nil {
				rec := e.record(t, "dev")
				tc.spoil(rec)
				e.save(t, "dev", rec)
			}
			before, _, err := loginWith(t, tc.config)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if strings.Contains(before, "warning") {
				t.Fatalf("before the browser opened, stderr was:\n%s\nwant no warning", before)
			}
		})
	}
}

// TestStatusSaysWhichOtherFileLoggedIn: status, text and --json, of a
// configuration whose environment shares its tokens with another
// configuration file on this machine that logged in says which file
// (logged_in_with), so a person sees the sharing before a log-in with
// either switches both to another account; that file's own status, and
// one of a record that names no file, say nothing of it.
func TestStatusSaysWhichOtherFileLoggedIn(t *testing.T) {
	e := newTwoFiles(t)
	status := func(config string, args ...string) string {
		t.Helper()
		ios, stdout, stderr := testStreams(false, false)
		if code := cli.Main(append([]string{"--config", config, "status"}, args...), ios); code != 0 {
			t.Fatalf("status with %s exited %d: %s", config, code, stderr)
		}
		return stdout.String()
	}
	withIn := func(config string) string {
		t.Helper()
		var got []struct {
			LoggedInWith *string `json:"logged_in_with"`
		}
		if err := json.Unmarshal([]byte(status(config, "--json")), &got); err != nil || len(got) != 1 {
			t.Fatalf("status --json with %s: %v, %d environments", config, err, len(got))
		}
		if got[0].LoggedInWith == nil {
			return "(none)"
		}
		return *got[0].LoggedInWith
	}
	if got := withIn(e.personal); got != e.work {
		t.Errorf("status --json with the personal configuration: logged_in_with %s; want %s", got, e.work)
	}
	if text, want := status(e.personal), "  logged in with: "+e.work+", another configuration, which shares these tokens"; !strings.Contains(text, want) {
		t.Errorf("status with the personal configuration:\n%s\nwant a line %q", text, want)
	}
	if got := withIn(e.config); got != "(none)" {
		t.Errorf("status --json with the work configuration: logged_in_with %s; want none, its own log-in", got)
	}
	if text := status(e.config); strings.Contains(text, "logged in with") {
		t.Errorf("status with the work configuration:\n%s\nwant no line naming another", text)
	}
	rec := e.record(t, "dev")
	rec.LoggedInWith = store.ConfigFile{}
	e.save(t, "dev", rec)
	if got := withIn(e.personal); got != "(none)" {
		t.Errorf("status --json of a record naming no file: logged_in_with %s; want none, as before", got)
	}
}

// TestLoggedInWithOfNoFileNameIsShownNowhere: a record in a shared store
// (Redis, written by any machine that can reach it) whose logged_in_with
// names this host and a file whose name holds terminal escapes (any user
// of the machine can make one in /tmp) is no other configuration's log-in:
// status shows no "logged in with" row and a script's log-in says nothing
// of it. The name reached the terminal as it was stored, escapes and all.
func TestLoggedInWithOfNoFileNameIsShownNowhere(t *testing.T) {
	e := newTwoFiles(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	hostile := filepath.Join(e.dir, "\x1b]0;owned\x07\x1b[2J.toml")
	if err := os.WriteFile(hostile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rec := e.record(t, "dev")
	rec.LoggedInWith = store.ConfigFile{Host: host, Path: hostile}
	e.save(t, "dev", rec)
	ios, stdout, stderr := testStreams(false, false)
	if code := cli.Main([]string{"--config", e.personal, "status"}, ios); code != 0 {
		t.Fatalf("status exited %d: %s", code, stderr)
	}
	if text := stdout.String() + stderr.String(); strings.Contains(text, "\x1b") || strings.Contains(text, "logged in with") {
		t.Errorf("status printed:\n%q\nwant no escape and no \"logged in with\" row", text)
	}
	before, _, err := loginWith(t, e.personal)
	if err != nil || strings.Contains(before, "warning") {
		t.Fatalf("login: %v; before the browser opened, stderr was %q; want no warning", err, before)
	}
}

// TestImportForceOverAnotherFilesLogIn: import postman into a
// configuration whose environment's record another configuration file on
// this machine logged in (the same client) refuses without --force, as over
// another client's tokens, naming that file; with --force it stores the
// export's tokens. It said it "kept the stored tokens, renewed since the
// export": the other configuration's, perhaps another account's.
func TestImportForceOverAnotherFilesLogIn(t *testing.T) {
	e := newDevEnv(t)
	e.configureAs(t, "sand", "dev-client-id", config.EnvSettings{ClientSecret: "dev-client-secret"})
	e.loginOutsideAs(t, "sand")
	personal := filepath.Join(e.dir, "personal.toml")
	if err := os.WriteFile(personal, []byte("[store]\nurl = "+`"`+fileURL(filepath.Join(e.dir, "state"))+`"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	export := e.seedExport(t, "sand")
	ios, _, stderr := testStreams(false, false)
	if code := cli.Main([]string{"--config", personal, "import", "postman", export}, ios); code != 2 || !strings.Contains(stderr.String(), "logged in with "+resolved(t, e.config)) {
		t.Fatalf("import without --force: exit %d, stderr %q; want 2, naming the work configuration's log-in", code, stderr)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := cli.Main([]string{"--config", personal, "import", "postman", export, "--force"}, ios); code != 0 || strings.Contains(stdout.String(), "kept the stored tokens") {
		t.Fatalf("import --force: exit %d, stdout %q, stderr %q; want 0, the export's tokens stored", code, stdout, stderr)
	}
	if rec := e.record(t, "sand"); rec.LoggedInWith.Path != resolved(t, personal) {
		t.Fatalf("after import --force the record says it was logged in with %q; want %s, the import's", rec.LoggedInWith.Path, personal)
	}
}

// TestImportOfAnExportAnotherFileImportedKeepsItsRenewal: the work
// configuration imported a Postman export, and renewed its tokens since;
// the personal one, sharing the store, imports the same export. Those
// tokens are the export's account's, renewed from it: the import keeps
// them, with or without --force, and both configurations renew on. It
// refused them without --force as another file's log-in, and --force
// stored the export's spent refresh token over them, which the provider
// took for a stolen one at the next renewal, ending the grant for both.
func TestImportOfAnExportAnotherFileImportedKeepsItsRenewal(t *testing.T) {
	e := newDevEnv(t)
	tok, issued, err := loginOutside(t.Context(), e.api, "dev-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	export := e.tokensExport(t, tok, issued, fmt.Sprint(tok.ExpiresIn))
	personal := filepath.Join(e.dir, "personal.toml")
	if err := os.WriteFile(personal, []byte("[store]\nurl = "+`"`+fileURL(filepath.Join(e.dir, "state"))+`"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(want int, args ...string) string {
		t.Helper()
		ios, stdout, stderr := testStreams(false, false)
		if code := cli.Main(args, ios); code != want {
			t.Fatalf("%s: exit %d, stderr %q; want %d", strings.Join(args, " "), code, stderr, want)
		}
		return stdout.String()
	}
	run(0, "--config", e.config, "import", "postman", export)
	run(0, "--config", e.config, "token", "--force", "-e", "sand")
	renewed := e.record(t, "sand").RefreshToken
	for _, args := range [][]string{{}, {"--force"}} {
		out := run(0, append([]string{"--config", personal, "import", "postman", export}, args...)...)
		if rec := e.record(t, "sand"); rec.RefreshToken != renewed || !strings.Contains(out, "kept the stored tokens") {
			t.Fatalf("import %v with the personal configuration printed %q, the work configuration's renewed refresh token stored still: %v; want it kept", args, out, rec.RefreshToken == renewed)
		}
	}
	run(0, "--config", personal, "token", "--force", "-e", "sand")
	run(0, "--config", e.config, "token", "--force", "-e", "sand")
}

// startWorkProxy runs the work configuration's proxy on dev's redirect
// address until the test ends: the personal configuration's login then
// goes through it.
func (e *twoFiles) startWorkProxy(t *testing.T) {
	t.Helper()
	addr, err := login.LoopbackAddr(e.redirect)
	if err != nil {
		t.Fatal(err)
	}
	startProxy(t, e.config, addr)
}

// startProxy runs `freshtoken --config config proxy --listen addr` until
// the test ends, and returns once it listens.
func startProxy(t *testing.T, config, addr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	root := cli.NewRootCmd(&cli.Factory{IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}})
	root.SetArgs([]string{"--config", config, "proxy", "--listen", addr})
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() { cancel(); testenv.Receive(t, "the proxy's end", done) })
	testenv.WaitFor(t, "the proxy to listen", func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
}

// TestLoginThroughAProxyOfAnotherFileRecordsItsOwn: the work
// configuration's proxy holds the redirect address that the personal
// configuration, sharing the record, logs in through. The record names the
// personal file, whose `login` it was: it named the proxy's, so the work
// configuration's next log-in replaced the personal account unasked, and
// the personal configuration's status said the work file had logged in.
func TestLoginThroughAProxyOfAnotherFileRecordsItsOwn(t *testing.T) {
	e := newTwoFiles(t)
	e.startWorkProxy(t)
	_, said, err := loginWith(t, e.personal)
	if err != nil || !strings.Contains(said, "Logged in to dev through the freshtoken proxy") {
		t.Fatalf("login with the personal configuration through the work one's proxy: %v\n%s", err, said)
	}
	if got := e.record(t, "dev").LoggedInWith.Path; got != e.personal {
		t.Fatalf("after the personal configuration's log-in through the work one's proxy, the record says it was logged in with %s; want %s", got, e.personal)
	}
}

// TestLoginThroughAProxyKeepsAnotherFilesLogInStoredMeanwhile: a login at
// a terminal with the personal configuration, through the work
// configuration's proxy, over the personal file's own log-in; as the
// person approves, the work file logs in. The work log-in is kept and the
// command stores nothing (exit 2), as it does without the proxy: the proxy
// replaced it, and the command took it for its own success.
func TestLoginThroughAProxyKeepsAnotherFilesLogInStoredMeanwhile(t *testing.T) {
	e := newTwoFiles(t)
	if _, _, err := loginWith(t, e.personal); err != nil {
		t.Fatal(err)
	}
	e.startWorkProxy(t)
	stderr := testenv.NewOutput()
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr, InTTY: true},
		OpenBrowser: func(link string) error {
			rec := e.record(t, "dev")
			// The work configuration's log-in, stored as the person approves.
			rec.LoggedInWith.Path, rec.LoggedInAt = e.work, time.Now()
			e.save(t, "dev", rec)
			return testenv.Visit(link) // through the proxy's callback
		},
	})
	root.SetArgs([]string{"--config", e.personal, "login", "-e", "dev", "--timeout", "20s"})
	err := root.ExecuteContext(t.Context())
	if err == nil || cli.ExitCode(err) != 2 {
		t.Fatalf("login: %v (exit %d)\n%s\nwant exit 2, the work configuration's log-in kept", err, cli.ExitCode(err), stderr)
	}
	if got := e.record(t, "dev").LoggedInWith.Path; got != e.work {
		t.Fatalf("the record says it was logged in with %s; want %s's log-in, kept", got, e.work)
	}
}

// TestLoginThroughAProxyReplacesTheFileThePersonConfirmed: a login at a
// terminal with the personal configuration, through the work
// configuration's proxy, over the work file's log-in: answered y, the
// proxy replaces that log-in, which the link names as confirmed, and the
// record names the personal file.
func TestLoginThroughAProxyReplacesTheFileThePersonConfirmed(t *testing.T) {
	e := newTwoFiles(t)
	e.startWorkProxy(t)
	stderr := testenv.NewOutput()
	root := cli.NewRootCmd(&cli.Factory{
		IO:          &cli.IOStreams{In: strings.NewReader("y\n"), Out: io.Discard, ErrOut: stderr, InTTY: true},
		OpenBrowser: testenv.Visit, // through the proxy's callback
	})
	root.SetArgs([]string{"--config", e.personal, "login", "-e", "dev", "--timeout", "20s"})
	if err := root.ExecuteContext(t.Context()); err != nil || !strings.Contains(stderr.String(), "Logged in to dev through the freshtoken proxy") {
		t.Fatalf("login answered y: %v\n%s", err, stderr)
	}
	if got := e.record(t, "dev").LoggedInWith.Path; got != e.personal {
		t.Fatalf("the record says it was logged in with %s; want %s, this log-in's", got, e.personal)
	}
}
