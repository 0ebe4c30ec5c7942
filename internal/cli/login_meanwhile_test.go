package cli_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestLoginKeepsTokensStoredAsTheProviderAnswers: tokens stored for the
// environment after a log-in's last look at the store, before it stores
// its own (the provider answering its code, or the device poll that
// brings them), are kept or replaced as those found when it began would
// have been: a newer freshtoken's are kept (exit 2, one line naming the
// very log-in to run again with --yes), or replaced with --yes, with a
// warning; another configuration's are kept on a terminal (exit 2), and
// replaced, saying so, without one; tokens it cannot read (a newer
// freshtoken's, their file made readable by others) are kept, as they stop
// a log-in when found as it begins, --yes or not (exit 2), naming the
// log-in to run once they can be read (it said "log in again"). The log-in
// replaced them all unasked, in the window its last look left open (under
// a second for a browser log-in, up to a poll interval for a device
// log-in); the unreadable ones it replaced there still, unseen.
func TestLoginKeepsTokensStoredAsTheProviderAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		device bool
		other  bool // another configuration's tokens; else a newer freshtoken's
		// otherFile: tokens of this grant, logged in with another
		// configuration file on this machine (OTHER).
		otherFile bool
		loose     bool // their file readable by others: tokens login cannot read
		tty, yes  bool
		want      string // the error; "" for a log-in that stores its tokens
	}{
		{name: "browser, newer", want: "a newer freshtoken stored tokens for dev while this log-in was under way, which that one can use and this one cannot read, so this log-in stored nothing and they are kept; upgrade freshtoken to use them, or run `freshtoken --config CONFIG login --timeout 30s -e dev --yes` to replace them"},
		{name: "device, newer", device: true, want: "a newer freshtoken stored tokens for dev while this log-in was under way, which that one can use and this one cannot read, so this log-in stored nothing and they are kept; upgrade freshtoken to use them, or run `freshtoken --config CONFIG login --timeout 30s -e dev --yes` to replace them"},
		{name: "browser, newer, --yes", yes: true},
		{name: "browser, another configuration's, terminal", other: true, tty: true, want: `tokens of client "another-client" at URLv2/token_endpoint by authorization code (another configuration's) were stored for dev in STORE while this log-in was under way, so this log-in stored nothing and they are kept; give this configuration a store of its own ([store] url), or run ` + "`freshtoken --config CONFIG login --timeout 30s -e dev --yes` to replace them"},
		{name: "device, another configuration's, terminal", device: true, other: true, tty: true, want: `tokens of client "another-client" at URLv2/token_endpoint by device code (another configuration's) were stored for dev in STORE while this log-in was under way, so this log-in stored nothing and they are kept; give this configuration a store of its own ([store] url), or run ` + "`freshtoken --config CONFIG login --timeout 30s -e dev --yes` to replace them"},
		{name: "browser, another configuration's, no terminal", other: true},
		{name: "browser, another file's, terminal", otherFile: true, tty: true, want: `tokens of client "dev-client-id" at URLv2/token_endpoint by authorization code logged in with OTHER (another configuration's) were stored for dev in STORE while this log-in was under way, so this log-in stored nothing and they are kept; give this configuration a store of its own ([store] url), or run ` + "`freshtoken --config CONFIG login --timeout 30s -e dev --yes` to replace them"},
		{name: "browser, another file's, no terminal", otherFile: true},
		{name: "browser, unreadable, --yes", loose: true, yes: true, want: "tokens stored for dev in STORE while this log-in was under way cannot be read (STORE has mode 0644, which lets other users read your tokens; run `chmod 600 STORE`), so this log-in stored nothing over them, as they may be a newer freshtoken's or another configuration's; run `freshtoken --config CONFIG login --timeout 30s -e dev` once they can be read"},
		{name: "device, unreadable", device: true, loose: true, want: "tokens stored for dev in STORE while this log-in was under way cannot be read (STORE has mode 0644, which lets other users read your tokens; run `chmod 600 STORE`), so this log-in stored nothing over them, as they may be a newer freshtoken's or another configuration's; run `freshtoken --config CONFIG login --timeout 30s -e dev` once they can be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				meanwhile func()
				armed     atomic.Bool // once the environment is logged in
				once      sync.Once
			)
			e := newDevEnvBehindWith(t, devprovider.Options{DeviceInterval: time.Second}, func(provider http.Handler) http.Handler {
				return storingAsItAnswers(provider, func() {
					if armed.Load() {
						once.Do(meanwhile)
					}
				})
			})
			s := config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)}
			if tc.device {
				s.Grant, s.DeviceAuthURL = "device_code", e.api+"v2/device_authorization"
			}
			e.configureWith(t, s)
			e.loginOutside(t)
			path := filepath.Join(e.dir, "state", "dev.json")
			var theirs string
			other := filepath.Join(e.dir, "other.toml")
			if err := os.WriteFile(other, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			other = resolved(t, other)
			meanwhile = func() {
				if tc.otherFile {
					rec := e.record(t, "dev")
					rec.LoggedInWith.Path = other
					e.save(t, "dev", rec)
					b, _ := os.ReadFile(path)
					theirs = string(b)
				} else if tc.other {
					e.anotherClientStores(t)
					b, _ := os.ReadFile(path)
					theirs = string(b)
				} else {
					_, theirs = e.newerRecord(t)
				}
				if tc.loose {
					if err := os.Chmod(path, 0o644); err != nil {
						t.Error(err)
					}
				}
			}
			armed.Store(true)
			stderr := testenv.NewOutput() // written by the log-in's callback too, on the server's goroutine
			root := cli.NewRootCmd(&cli.Factory{
				IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr, InTTY: tc.tty},
				OpenBrowser: func(page string) error {
					if !tc.device {
						return approveAt(page)
					}
					u, err := url.Parse(page)
					if err != nil {
						return err
					}
					return e.provider.DecideDevice(u.Query().Get("user_code"), true)
				},
			})
			args := []string{"--config", e.config, "login", "-e", "dev", "--timeout", "30s"}
			if tc.yes {
				args = append(args, "--yes")
			}
			root.SetArgs(args)
			err := root.ExecuteContext(t.Context())
			got, _ := os.ReadFile(path)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("login: %v (exit %d)\n%s", err, cli.ExitCode(err), stderr)
				}
				if theirs == "" || string(got) == theirs {
					t.Errorf("the tokens stored meanwhile (%t) are kept; want them replaced", theirs != "")
				}
				if !strings.Contains(stderr.String(), "warning: ") || !strings.Contains(stderr.String(), "replaces them") {
					t.Errorf("stderr:\n%s\nwant a warning that they are replaced", stderr)
				}
				return
			}
			want := strings.NewReplacer("CONFIG", e.config, "URL", e.api, "STORE", path, "OTHER", other).Replace("dev: " + tc.want)
			if err == nil || err.Error() != want || cli.ExitCode(err) != 2 {
				t.Fatalf("login: %v (exit %d)\n%s\nwant exit 2 and %q", err, cli.ExitCode(err), stderr, want)
			}
			if theirs == "" || string(got) != theirs {
				t.Errorf("the tokens stored as the provider answered are now %s", got)
			}
		})
	}
}

// storingAsItAnswers passes requests on to provider, and once the token
// endpoint has tokens for a log-in (a code, or an approved device code),
// calls meanwhile before they go back: tokens stored after the log-in's
// last look at the store, before it stores its own.
func storingAsItAnswers(provider http.Handler, meanwhile func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if g := r.PostForm.Get("grant_type"); g != "authorization_code" && g != freshtoken.GrantDeviceCode {
			provider.ServeHTTP(w, r)
			return
		}
		answer := httptest.NewRecorder()
		provider.ServeHTTP(answer, r)
		if answer.Code == http.StatusOK {
			meanwhile()
		}
		maps.Copy(w.Header(), answer.Header())
		w.WriteHeader(answer.Code)
		w.Write(answer.Body.Bytes())
	})
}

// TestLoginSaysItReplacesTokensStoredMeanwhileOnlyOnceItSucceeds: without
// a terminal, another configuration's tokens stored while the person
// approves are told of as replaced once the log-in succeeds, as those
// found when it begins are; the provider then refusing the code leaves
// them stored, and nothing said they were gone. It said "this log-in
// replaces them, and that configuration will have to log in again" before
// the code went out, and a person reading a script's log logged that
// configuration in again for nothing.
func TestLoginSaysItReplacesTokensStoredMeanwhileOnlyOnceItSucceeds(t *testing.T) {
	var refusing atomic.Bool // once the environment is logged in
	e := newDevEnvBehindWith(t, devprovider.Options{}, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			if r.PostForm.Get("grant_type") == "authorization_code" && refusing.Load() {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"invalid_grant","error_description":"the code expired"}`)
				return
			}
			provider.ServeHTTP(w, r)
		})
	})
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)})
	e.loginOutside(t)
	refusing.Store(true)
	path := filepath.Join(e.dir, "state", "dev.json")
	var theirs []byte
	stderr := testenv.NewOutput()
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr},
		OpenBrowser: func(page string) error {
			e.anotherClientStores(t) // as the person approves
			theirs, _ = os.ReadFile(path)
			return approveAt(page)
		},
	})
	root.SetArgs([]string{"--config", e.config, "login", "-e", "dev", "--timeout", "30s"})
	err := root.ExecuteContext(t.Context())
	if err == nil || cli.ExitCode(err) != 3 {
		t.Fatalf("login whose code the provider refused: %v (exit %d)\n%s", err, cli.ExitCode(err), stderr)
	}
	if got, _ := os.ReadFile(path); len(theirs) == 0 || string(got) != string(theirs) {
		t.Fatalf("the other configuration's tokens are now %s", got)
	}
	if said := stderr.String(); !strings.Contains(said, "another configuration's") || strings.Contains(said, "this log-in replaces them,") {
		t.Errorf("stderr:\n%s\nwant the other configuration's tokens told of as replaced once the log-in succeeds, not as replaced", said)
	}
}

// TestLoginStoresNothingWhereTheConfigurationNoLongerHasIt: `freshtoken
// remove -e dev` in another terminal while dev's log-in waited for the
// browser took dev out of the configuration (finding no tokens to
// delete), or `freshtoken store migrate` pointed [store] url elsewhere
// (finding none to move), and the log-in then stored its tokens where it
// began and said "Logged in to dev": a live grant's tokens under a name no
// configuration had, or in a store it no longer used, which no command
// could use or log out of (status said not logged in). The log-in stores
// nothing, exchanges no code, and says what changed and what to run
// (exit 2).
func TestLoginStoresNothingWhereTheConfigurationNoLongerHasIt(t *testing.T) {
	for _, tc := range []struct {
		name      string
		meanwhile []string // the other terminal's command; MOVED is a folder
		want      string
	}{
		{"remove", []string{"remove", "-e", "dev", "--yes"}, "dev was taken out of CONFIG while this log-in was under way, so it stored nothing; run `freshtoken --config CONFIG init -e dev` to add it again, then log in"},
		{"store migrate", []string{"store", "migrate", "--to", "file://MOVED"}, "[store] url in CONFIG was changed (by `freshtoken store migrate`, or an edit) to file://MOVED while this log-in was under way, so it stored nothing; run `freshtoken --config CONFIG login --timeout 30s -e dev` again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)})
			moved := filepath.Join(e.dir, "moved")
			stderr := testenv.NewOutput() // written by the log-in's callback too, on the server's goroutine
			root := cli.NewRootCmd(&cli.Factory{
				IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr},
				OpenBrowser: func(page string) error {
					ios, _, otherErr := testStreams(false, false)
					args := strings.Split(strings.ReplaceAll(strings.Join(tc.meanwhile, " "), "MOVED", moved), " ")
					if code := e.run(ios, args...); code != 0 {
						t.Errorf("%s while the log-in waits: exit %d\n%s", tc.name, code, otherErr)
					}
					return approveAt(page)
				},
			})
			root.SetArgs([]string{"--config", e.config, "login", "-e", "dev", "--timeout", "30s"})
			err := root.ExecuteContext(t.Context())
			want := "dev: " + strings.NewReplacer("CONFIG", e.config, "MOVED", moved).Replace(tc.want)
			if err == nil || err.Error() != want || cli.ExitCode(err) != 2 {
				t.Fatalf("login: %v (exit %d)\n%s\nwant exit 2 and %q", err, cli.ExitCode(err), stderr, want)
			}
			for _, dir := range []string{filepath.Join(e.dir, "state"), moved} {
				if _, err := os.Stat(filepath.Join(dir, "dev.json")); !os.IsNotExist(err) {
					t.Fatalf("tokens stored in %s (%v)", dir, err)
				}
			}
			if n := e.provider.Stats().Exchanges; n != 0 {
				t.Errorf("%d codes exchanged; want none", n)
			}
		})
	}
}
