package cli_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// storeAnotherConfigurations configures "dev" with a redirect URI on a
// free loopback port, and stores under its name the tokens of another
// configuration sharing the store: another client's, which CheckGrant
// refuses for dev.
func (e *devEnv) storeAnotherConfigurations(t *testing.T) {
	t.Helper()
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)})
	e.loginOutside(t)
	e.anotherClientStores(t)
}

// anotherClientStores stores under dev's name the tokens of another
// configuration sharing the store: another client's, which CheckGrant
// refuses for dev.
func (e *devEnv) anotherClientStores(t *testing.T) {
	t.Helper()
	rec := e.record(t, "dev")
	rec.Grant.ClientID = "another-client"
	e.save(t, "dev", rec)
}

// storeNewerFreshtokens configures "dev" as storeAnotherConfigurations
// does, and stores under its name tokens a newer freshtoken wrote, as
// newerRecord.
func (e *devEnv) storeNewerFreshtokens(t *testing.T) (path, newer string) {
	t.Helper()
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)})
	e.loginOutside(t)
	return e.newerRecord(t)
}

// newerRecord makes dev's record one a newer freshtoken wrote (format
// 99); it returns the record's path and what it holds.
func (e *devEnv) newerRecord(t *testing.T) (path, newer string) {
	t.Helper()
	path = filepath.Join(e.dir, "state", "dev.json")
	return path, storetest.WriteNewerFormat(t, path, 99)
}

// freeRedirectURI is a loopback redirect URI on a port nothing listens on.
func freeRedirectURI(t *testing.T) string {
	t.Helper()
	return "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/callback"
}

// approveAt is a browser opened at url, the dev provider's approve page,
// which approves the log-in: it asks for the page in the background, as a
// browser opens while login waits for the callback.
func approveAt(url string) error {
	go testenv.Visit(url)
	return nil
}

// TestLoginWithoutATerminalSaysItReplacesAnotherConfigurationsTokens: a
// script's login over another configuration's tokens goes on as before
// (PRODUCT.md: they are kept until login replaces them), but says so in one
// line before the browser opens; it said so only after they were gone, in a
// warning at the log level.
func TestLoginWithoutATerminalSaysItReplacesAnotherConfigurationsTokens(t *testing.T) {
	e := newDevEnv(t)
	e.storeAnotherConfigurations(t)
	var stderr bytes.Buffer
	var before string // stderr when the browser was opened
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &stderr},
		OpenBrowser: func(url string) error {
			before = stderr.String()
			return approveAt(url)
		},
	})
	root.SetArgs([]string{"--config", e.config, "login", "-e", "dev"})
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("login: %v\n%s", err, &stderr)
	}
	want := `freshtoken: dev: warning: the tokens stored for dev in ` + filepath.Join(e.dir, "state", "dev.json") + ` belong to client "another-client" at ` + e.api
	if !strings.Contains(before, want) || !strings.Contains(before, "this log-in replaces them once it succeeds") {
		t.Errorf("before the browser opened, stderr was:\n%s\nwant a line beginning %s, saying the log-in replaces them", before, want)
	}
	if rec := e.record(t, "dev"); rec.Grant.ClientID != "dev-client-id" {
		t.Errorf("the stored tokens are %s's; want dev-client-id's, the log-in's", rec.Grant.ClientID)
	}
}

// TestLoginWithoutATerminalKeepsANewerFreshtokensTokens: a script's login
// over tokens a newer freshtoken wrote is refused in one line, exit 2,
// before anything is sent or a browser opens, saying a newer freshtoken
// wrote them, to upgrade, or to run login --yes; --yes says so and logs
// in. login replaced them with no word before, and the newer freshtoken's
// grant was gone.
func TestLoginWithoutATerminalKeepsANewerFreshtokensTokens(t *testing.T) {
	e := newDevEnv(t)
	path, newer := e.storeNewerFreshtokens(t)
	sent := e.provider.Stats()
	login := func(args ...string) (stderrText string, opened bool, err error) {
		var stderr bytes.Buffer
		root := cli.NewRootCmd(&cli.Factory{
			IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &stderr},
			OpenBrowser: func(url string) error {
				opened = true
				return approveAt(url)
			},
		})
		root.SetArgs(append([]string{"--config", e.config, "login", "-e", "dev"}, args...))
		err = root.ExecuteContext(t.Context())
		return stderr.String(), opened, err
	}
	stderr, opened, err := login()
	want := "dev: the tokens stored for dev in " + path + " were written by a newer freshtoken, which can use them and this one cannot read; nothing was sent and nothing changed: upgrade freshtoken to use them, or run `freshtoken --config " + e.config + " login -e dev --yes` to replace them"
	if err == nil || cli.ExitCode(err) != 2 || err.Error() != want || opened {
		t.Fatalf("login: %v (exit %d), browser opened %v, stderr %q; want exit 2 before a browser opens:\n%s", err, cli.ExitCode(err), opened, stderr, want)
	}
	if got, _ := os.ReadFile(path); string(got) != newer {
		t.Fatalf("the record is now %s; want the newer freshtoken's, kept", got)
	}
	if st := e.provider.Stats(); st.TokenRequests != sent.TokenRequests {
		t.Fatalf("stats %+v; want nothing sent", st)
	}
	stderr, _, err = login("--yes")
	if err != nil || !strings.Contains(stderr, "freshtoken: dev: warning: the tokens stored for dev in "+path+" were written by a newer freshtoken") {
		t.Fatalf("login --yes: %v, stderr %q; want a warning, then logged in", err, stderr)
	}
	if rec := e.record(t, "dev"); rec.Grant.ClientID != "dev-client-id" {
		t.Fatalf("login --yes: the stored tokens are %s's; want this log-in's", rec.Grant.ClientID)
	}
}

// TestClientCredentialsLoginOverANewerFreshtokensTokens: login of a
// client-credentials environment whose store holds tokens a newer
// freshtoken wrote refuses without a terminal as a browser log-in does,
// and with --yes replaces them with a token fetched with the client's
// credentials. It said no log-in was needed, though every token command
// then refused the record, saying to upgrade.
func TestClientCredentialsLoginOverANewerFreshtokensTokens(t *testing.T) {
	e := newDevEnv(t)
	e.clientCredentialsToken(t)
	path, newer := e.newerRecord(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "login"); code != 2 || !strings.Contains(stderr.String(), "were written by a newer freshtoken, which can use them") {
		t.Fatalf("login: exit %d, stderr %q; want 2, saying a newer freshtoken wrote them", code, stderr)
	}
	if got, _ := os.ReadFile(path); string(got) != newer {
		t.Fatalf("the record is now %s; want the newer freshtoken's, kept", got)
	}
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "login", "--yes"); code != 0 || !strings.Contains(stderr.String(), "the tokens a newer freshtoken stored for it were replaced") {
		t.Fatalf("login --yes: exit %d, stderr %q; want 0, saying they were replaced", code, stderr)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "token"); code != 0 {
		t.Fatalf("token after login --yes exited %d\n%s%s", code, stdout, stderr)
	}
}

// clientCredentialsToken configures "dev" for client credentials and
// stores a token fetched with them.
func (e *devEnv) clientCredentialsToken(t *testing.T) {
	t.Helper()
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", Grant: "client_credentials"})
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "token"); code != 0 {
		t.Fatalf("token exited %d\n%s%s", code, stdout, stderr)
	}
}

// TestLoginOnAFullDiskSaysSo: a first log-in into a token folder whose
// disk is full (no reserve made yet, no record to write over) fails in one
// line saying the disk holding the folder is full, what to do, and to log
// in again, exit 5 as any token store that could not write, before the
// browser opens: the person approved, and the tokens the log-in brought
// were thrown away, with the code spent. It said
// "token store could not write: save tokens in …: write
// …/.dev.json.tmp-538276154: no space left on device); fix the store, then
// log in again", no word of a disk. A disk with no file left for the
// renewal lock is said so too (it said "open …/dev.lock: no space left on
// device, then log in again"), saying to remove some files: "free some
// space" sent the person to `df -h`, which shows space free.
func TestLoginOnAFullDiskSaysSo(t *testing.T) {
	t.Run("of data", func(t *testing.T) {
		dir := testdisk.SmallFolder(t, "128k")
		testdisk.Fill(t, dir)
		loginOnAFullDisk(t, dir, "free some space")
	})
	t.Run("of files", func(t *testing.T) {
		dir := testdisk.NoFilesLeft(t)
		loginOnAFullDisk(t, dir, "remove some files (every inode on that disk is taken: see `df -i`)")
	})
	// One file left, where a first save makes two: the renewal lock's
	// file and the record's temp file. The check made one, and passed.
	t.Run("of files but one", func(t *testing.T) {
		dir := testdisk.FilesLeft(t, 1)
		loginOnAFullDisk(t, dir, "remove some files (every inode on that disk is taken: see `df -i`)")
	})
	// A disk that takes the write and fails it at the sync (thin-provisioned
	// storage; NFS at the sync or the close): the check, unsynced, passed.
	t.Run("failing at the sync", func(t *testing.T) {
		loginOnAFullDisk(t, testdisk.Thin(t), "free some space")
	})
	// The default folder, which no [store] url names, is moved by
	// $XDG_STATE_HOME too, and said so.
	t.Run("the default folder", func(t *testing.T) {
		state := testdisk.NoFilesLeft(t)
		t.Setenv("XDG_STATE_HOME", state)
		e := newDevEnv(t)
		if err := os.WriteFile(e.config, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)})
		ios, _, stderr := testStreams(false, false)
		want := "; remove some files (every inode on that disk is taken: see `df -i`), or set [store] url (or $XDG_STATE_HOME) to a folder on another disk, then run `freshtoken --config " + shellquote.Word(e.config) + " login -e dev`\n"
		if code := e.run(ios, "login", "-e", "dev"); code != 5 || !strings.HasSuffix(stderr.String(), want) {
			t.Fatalf("login: exit %d\n%s\nwant exit 5, ending %q", code, stderr, want)
		}
	})
}

// loginOnAFullDisk logs in to dev with its token folder dir on a full
// disk, and checks login fails before the browser opens, free saying what
// to free. [store] url names the folder, which $XDG_STATE_HOME does not
// move: it was said to, and "then log in" named no command.
func loginOnAFullDisk(t *testing.T, dir, free string) {
	t.Helper()
	loginRefusedBeforeTheBrowser(t, dir, "full (no space left on device); "+free+", or set [store] url to a folder on another disk")
}

// loginRefusedBeforeTheBrowser logs in to dev with its token folder dir,
// and checks login fails before the browser opens, exit 5, saying the disk
// holding the folder is as disk says, then the command to run again.
func loginRefusedBeforeTheBrowser(t *testing.T, dir, disk string) {
	t.Helper()
	opened := false
	e, stderr, err := loginStoringIn(t, dir, func() { opened = true })
	want := "dev: token store could not write: the disk holding the token folder " + dir + " is " + disk + ", then run `freshtoken --config " + shellquote.Word(e.config) + " login -e dev`"
	if err == nil || err.Error() != want || cli.ExitCode(err) != 5 || opened {
		t.Fatalf("login: %v (exit %d, the browser opened: %v)\n%s\nwant exit 5 and %q, the browser never opened", err, cli.ExitCode(err), opened, stderr, want)
	}
}

// loginStoringIn runs `freshtoken login -e dev` with dev's token folder
// dir, its browser calling opening before it approves the log-in, and
// returns the devEnv, what login wrote to its standard error, and its
// error.
func loginStoringIn(t *testing.T, dir string, opening func()) (e *devEnv, stderr *bytes.Buffer, err error) {
	t.Helper()
	e = newDevEnv(t)
	if err := os.WriteFile(e.config, []byte("[store]\nurl = "+strconv.Quote("file://"+dir)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)})
	stderr = &bytes.Buffer{}
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr},
		OpenBrowser: func(url string) error {
			opening()
			return approveAt(url)
		},
	})
	root.SetArgs([]string{"--config", e.config, "login", "-e", "dev"})
	return e, stderr, root.ExecuteContext(t.Context())
}

// TestLoginNotStoredNamesTheCommand: a log-in whose tokens could not be
// stored once the person approved (the disk filled meanwhile) ends naming
// the command to run again, on the same file, exit 5 as a store that could
// not write; a device log-in's too, and a manual one's, whose command is
// the manual log-in. It ended "then log in again", the engine's words,
// which name no command, and a person with a --config of their own ran the
// plain `freshtoken login` on the default file.
func TestLoginNotStoredNamesTheCommand(t *testing.T) {
	const postman = "https://oauth.pstmn.io/v1/callback"
	for _, how := range []string{"browser", "device", "manual"} {
		t.Run(how, func(t *testing.T) {
			dir := testdisk.SmallFolder(t, "128k")
			opts := devprovider.Options{DeviceInterval: time.Second}
			if how == "manual" {
				opts.RedirectURIs = []string{postman}
			}
			e := newDevEnvWith(t, opts)
			if err := os.WriteFile(e.config, []byte("[store]\nurl = "+strconv.Quote("file://"+dir)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			s := config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)}
			args := []string{"--config", e.config, "login", "-e", "dev"}
			switch how {
			case "device":
				s.Grant, s.DeviceAuthURL = "device_code", e.api+"v2/device_authorization"
			case "manual":
				s.RedirectURI = postman
				args = append(args, "--manual")
			}
			e.configureWith(t, s)
			stderr := testenv.NewOutput()
			ios := &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr}
			if how == "manual" {
				// The person opens the URL printed, approves, and pastes
				// where the browser landed; the disk filled meanwhile.
				ios.In = pastedOnceApproved(stderr, func() { testdisk.Fill(t, dir) })
			}
			root := cli.NewRootCmd(&cli.Factory{
				IO: ios,
				OpenBrowser: func(page string) error {
					testdisk.Fill(t, dir) // after login's check for room, before the tokens come
					if how == "browser" {
						return approveAt(page)
					}
					u, err := url.Parse(page)
					if err != nil {
						return err
					}
					return e.provider.DecideDevice(u.Query().Get("user_code"), true)
				},
			})
			root.SetArgs(args)
			err := root.ExecuteContext(t.Context())
			cmd := map[string]string{"manual": " login --manual -e dev`"}[how]
			want := ", then run `freshtoken --config " + shellquote.Word(e.config) + cmp.Or(cmd, " login -e dev`")
			if err == nil || !strings.HasPrefix(err.Error(), "dev: the tokens the log-in brought could not be stored") || !strings.HasSuffix(err.Error(), want) || cli.ExitCode(err) != 5 {
				t.Fatalf("login: %v (exit %d)\n%s\nwant exit 5, the tokens not stored, ending %q", err, cli.ExitCode(err), stderr, want)
			}
		})
	}
}

// TestDeviceLoginTroubleNamesTheCommand: a device log-in that the token
// endpoint's trouble ends (a 429 asking for an hour) says to run the
// log-in's command, on the same file, when it asks: it said "log in again
// then", which names no command, and the plain `freshtoken login` ran on
// the default file.
func TestDeviceLoginTroubleNamesTheCommand(t *testing.T) {
	e := newDevEnvBehindWith(t, devprovider.Options{DeviceInterval: time.Second}, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/token_endpoint" {
				provider.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		})
	})
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", Grant: "device_code", DeviceAuthURL: e.api + "v2/device_authorization"})
	root := cli.NewRootCmd(&cli.Factory{
		IO:          &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard},
		OpenBrowser: func(string) error { return nil },
	})
	root.SetArgs([]string{"--config", e.config, "login", "-e", "dev"})
	err := root.ExecuteContext(t.Context())
	want := "; run `freshtoken --config " + shellquote.Word(e.config) + " login -e dev` then"
	if err == nil || !strings.HasPrefix(err.Error(), "dev: the token endpoint is rate limiting the log-in and asks to wait ") || !strings.HasSuffix(err.Error(), want) || cli.ExitCode(err) != 5 {
		t.Fatalf("login: %v (exit %d); want exit 5, the rate limit told, ending %q", err, cli.ExitCode(err), want)
	}
}

// TestLoginTroubleNamesTheCommand: a browser log-in, and a manual one,
// that the provider's trouble ends (the token endpoint failing the code
// with a 503, the authorization endpoint refusing the request as
// misconfigured) says to run the log-in's command, on the same file: it
// said "log in again later" or "then log in again", which names no
// command, and the plain `freshtoken login` ran on the default file. The
// command keeps the flags that shape the log-in, as every other it names
// (loginArgs): it dropped --timeout (and --no-browser). So does one whose
// code's answer was lost (the connection cut): internal/login named
// `freshtoken login -e dev` itself, without the flags, and named a command
// on the proxy's page too.
func TestLoginTroubleNamesTheCommand(t *testing.T) {
	const postman = "https://oauth.pstmn.io/v1/callback"
	for _, c := range []struct {
		name, trouble string
		manual        bool
		exit          int
		says, then    string
	}{
		{"browser exchange 503", "exchange", false, 5, "dev: the token endpoint ", "; no tokens were stored: run `%s` later"},
		{"manual exchange 503", "exchange", true, 5, "dev: the token endpoint ", "; no tokens were stored: run `%s` later"},
		{"browser invalid_scope", "authorize", false, 2, "dev: the provider refused the log-in request: it answered invalid_scope", ", auth_url and auth_params in the config, then run `%s`"},
		{"manual invalid_scope", "authorize", true, 2, "dev: the provider refused the log-in request: it answered invalid_scope", ", auth_url and auth_params in the config, then run `%s`"},
		{"browser answer lost", "lost", false, 5, "dev: the token endpoint ", "; the provider may have spent the code, which works once: run `%s`"},
		{"manual answer lost", "lost", true, 5, "dev: the token endpoint ", "; the provider may have spent the code, which works once: run `%s`"},
		{"browser denied", "denied", false, 3, "dev: access was not approved: the provider answered access_denied", "; run `%s` and approve access in the browser"},
		{"manual denied", "denied", true, 3, "dev: access was not approved: the provider answered access_denied", "; run `%s` and approve access in the browser"},
		{"browser code refused", "code", false, 3, "dev: the provider refused the login code (HTTP 400 invalid_grant", "; run `%s` and approve access in the browser"},
		{"manual code refused", "code", true, 3, "dev: the provider refused the login code (HTTP 400 invalid_grant", "; run `%s` and approve access in the browser"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts devprovider.Options
			if c.manual {
				opts.RedirectURIs = []string{postman}
			}
			e := newDevEnvBehindWith(t, opts, func(provider http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch {
					case c.trouble == "exchange" && r.URL.Path == "/v2/token_endpoint":
						http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
					case c.trouble == "lost" && r.URL.Path == "/v2/token_endpoint":
						if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
							conn.Close()
						}
					case c.trouble == "code" && r.URL.Path == "/v2/token_endpoint":
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusBadRequest)
						io.WriteString(w, `{"error":"invalid_grant"}`)
					case (c.trouble == "authorize" || c.trouble == "denied") && r.URL.Path == "/v2/approve_app":
						code := map[string]string{"authorize": "invalid_scope", "denied": "access_denied"}[c.trouble]
						q := r.URL.Query()
						http.Redirect(w, r, q.Get("redirect_uri")+"?error="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
					default:
						provider.ServeHTTP(w, r)
					}
				})
			})
			s := config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)}
			args, cmd := []string{"--config", e.config, "login", "--timeout", "30s", "-e", "dev"}, " login --timeout 30s -e dev"
			stderr := testenv.NewOutput()
			ios := &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr}
			if c.manual {
				s.RedirectURI = postman
				args, cmd = append(args, "--manual"), " login --manual --timeout 30s -e dev"
				ios.In = pastedOnceApproved(stderr, func() {})
			}
			e.configureWith(t, s)
			root := cli.NewRootCmd(&cli.Factory{IO: ios, OpenBrowser: approveAt})
			root.SetArgs(args)
			err := root.ExecuteContext(t.Context())
			want := fmt.Sprintf(c.then, "freshtoken --config "+shellquote.Word(e.config)+cmd)
			if err == nil || !strings.HasPrefix(err.Error(), c.says) || !strings.HasSuffix(err.Error(), want) || cli.ExitCode(err) != c.exit {
				t.Fatalf("login: %v (exit %d)\n%s\nwant exit %d, saying %q, ending %q", err, cli.ExitCode(err), stderr, c.exit, c.says, want)
			}
			// The command's last word adds no other log-in to run.
			if next := failure.Next(err, "dev"); next != "" {
				t.Fatalf("login: %v; then %q: want no other step", err, next)
			}
		})
	}
}

// TestLoginOnAReadOnlyDiskSaysSo: a log-in into a token folder whose disk
// is read-only (the system remounted it after errors) fails in one line
// saying so, what to do, and to log in again, exit 5, before the browser
// opens: the check looked for room alone, the person approved, and the
// save refused the tokens, the code spent.
func TestLoginOnAReadOnlyDiskSaysSo(t *testing.T) {
	dir := testdisk.SmallFolder(t, "256k")
	testdisk.ReadOnly(t, dir)
	loginRefusedBeforeTheBrowser(t, dir, "read-only (read-only file system); make the disk writable again (a system turns a disk read-only after errors on it: check the disk)")
}

// TestManualLoginFromAPipeAsksNothingOfATerminal: `printf 'junk\n' |
// freshtoken login --manual` (standard input no terminal) says to write the
// URL to the standard input, and ends with one line saying what to do
// (exit 2); it printed the question to press Enter (Ctrl-C to stop) just
// before its error, to no terminal.
func TestManualLoginFromAPipeAsksNothingOfATerminal(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: "https://oauth.pstmn.io/v1/callback"})
	ios, stdout, stderr := testStreams(false, false)
	ios.In = bytes.NewBufferString("junk\n")
	if code := e.run(ios, "login", "--manual", "-e", "dev"); code != 2 {
		t.Errorf("login --manual exited %d; want 2\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if strings.Contains(stderr.String(), "press Enter") || strings.Contains(stderr.String(), "Ctrl-C") {
		t.Errorf("stderr = %q; want nothing said of a terminal's keys", stderr)
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "freshtoken: dev: that is not the address your browser landed on") || !strings.HasSuffix(last, "login --manual -e dev`") {
		t.Errorf("last line = %q; want the one-line error saying to run the manual log-in again", last)
	}
	if len(lines) != 4 || lines[2] != "Then write the whole URL your browser landed on to the standard input, as one line:" {
		t.Errorf("stderr = %q; want the URL to open, where to write where it landed, and the error", stderr)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q", stdout)
	}
	if n := e.provider.Stats().TokenRequests; n != 0 {
		t.Errorf("%d token requests", n)
	}
}

// TestDeviceLoginRefusesAVerificationPageInClearText: a device log-in
// whose provider names a verification page in plain http on another
// machine, where the person would type the user code into a page anyone on
// the way could change, is refused in one line (exit 2, as an endpoint in
// clear text in a discovery document is), nothing of the answer shown. It
// was printed as the provider gave it.
func TestDeviceLoginRefusesAVerificationPageInClearText(t *testing.T) {
	e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/device_authorization") {
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"device_code": "the-device-code-0123456789", "user_code": "WDJB-MJHT",
					"verification_uri": "http://login.example.com/device", "verification_uri_complete": "http://login.example.com/device?user_code=WDJB-MJHT", "expires_in": 600})
				return
			}
			provider.ServeHTTP(w, r)
		})
	})
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", Grant: "device_code", DeviceAuthURL: e.api + "v2/device_authorization"})
	t.Setenv("BROWSER", "false")
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "login", "-e", "dev"); code != 2 {
		t.Errorf("login exited %d; want 2\n%s", code, stderr)
	}
	msg := strings.TrimSuffix(stderr.String(), "\n")
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "http://login.example.com/device") || !strings.Contains(msg, "plain http to another machine") || !strings.Contains(msg, "over https") {
		t.Errorf("stderr = %q; want one line refusing the page in clear text, saying to have it served over https", stderr)
	}
	if strings.Contains(stdout.String()+stderr.String(), "WDJB-MJHT") || strings.Contains(stderr.String(), "enter the code") {
		t.Errorf("the user code was shown: %q", stderr)
	}
}

// TestManualLogInsNameTheLogInAsRun: a log-in whose redirect URI is not on
// this machine, run without --manual, and a manual log-in given something
// other than the address landed on, or nothing, end naming the manual
// log-in with the flags it was run with (--timeout, and --config for a
// path with a space and a quote), exactly as a shell takes it:
// internal/login wrote `freshtoken login --manual -e ENV` itself, which
// dropped --timeout.
func TestManualLogInsNameTheLogInAsRun(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: "https://oauth.pstmn.io/v1/callback"})
	dir := filepath.Join(e.dir, "my files", "it's")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "config.toml")
	if err := os.Rename(e.config, conf); err != nil {
		t.Fatal(err)
	}
	cmd := "freshtoken --config " + shellquote.Word(conf) + " login --manual --timeout 2m -e dev`"
	for _, c := range []struct {
		name, in string
		flags    []string
		exit     int
		ends     string
	}{
		{"not on this machine", "", []string{"--no-browser"}, 2, cmd + " and paste the URL you land on"},
		{"words pasted", "junk\n", []string{"--manual"}, 2, "starting with http; run `" + cmd},
		{"nothing pasted", "", []string{"--manual"}, 2, "(it is not a terminal); run `" + cmd + " in a terminal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ios, _, stderr := testStreams(false, false)
			ios.In = strings.NewReader(c.in)
			args := append([]string{"--config", conf, "login", "--timeout", "2m", "-e", "dev"}, c.flags...)
			code := cli.Main(args, ios)
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; code != c.exit || !strings.HasSuffix(last, c.ends) || strings.Count(last, "freshtoken") != 2 || strings.Contains(last, "again") {
				t.Errorf("login %s exited %d, last line %q; want exit %d, ending %q, naming one command and no \"again\"", strings.Join(c.flags, " "), code, last, c.exit, c.ends)
			}
		})
	}
}

// TestLoginTroubleNamesTheSettingWritten: a log-in whose token endpoint
// answers as none (a web page in place of the tokens) says which setting
// to check as the configuration file has it: api_url, from which the
// freeagent preset makes the token endpoint, where token_url is not
// written; token_url where it is. It said "check token_url (or issuer,
// when discovery finds the endpoint)" of a file that has neither.
func TestLoginTroubleNamesTheSettingWritten(t *testing.T) {
	for _, c := range []struct {
		name, check string
		written     bool // token_url is in the file
	}{
		{"made from api_url", "check api_url, from which the freeagent preset makes the token endpoint (token_url sets another), then run `", false},
		{"token_url written", "check token_url, then run `", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/v2/token_endpoint" {
						w.Header().Set("Content-Type", "text/html")
						io.WriteString(w, "<html><body>Welcome</body></html>")
						return
					}
					provider.ServeHTTP(w, r)
				})
			})
			s := config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)}
			if c.written {
				s.TokenURL = e.api + "v2/token_endpoint"
			}
			e.configureWith(t, s)
			stderr := testenv.NewOutput()
			root := cli.NewRootCmd(&cli.Factory{IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr}, OpenBrowser: approveAt})
			root.SetArgs([]string{"--config", e.config, "login", "-e", "dev"})
			err := root.ExecuteContext(t.Context())
			if err == nil || !strings.Contains(err.Error(), "answered the log-in without tokens freshtoken can read") || !strings.Contains(err.Error(), c.check) || strings.Contains(err.Error(), "issuer") {
				t.Fatalf("login: %v\n%s\nwant the setting to check named as %q, and no issuer", err, stderr, c.check)
			}
		})
	}
}
