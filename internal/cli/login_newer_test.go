package cli_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestBrowserLoginMeetingANewerFreshtokensTokensStoresNothing: a newer
// freshtoken stores tokens while a browser log-in waits for the person
// (two versions sharing a store): the answer, approved, sends no code and
// stores nothing, and login says so in one line with what to do, exit 2.
// login asked about such tokens only when it began, and replaced these
// unasked, the newer freshtoken's grant lost.
func TestBrowserLoginMeetingANewerFreshtokensTokensStoresNothing(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)})
	e.loginOutside(t)
	sent := e.provider.Stats().TokenRequests
	e.loginMeetingNewer(t, approveAt)
	if n := e.provider.Stats().TokenRequests; n != sent {
		t.Errorf("%d token requests during the log-in; want the code never sent", n-sent)
	}
}

// TestDeviceLoginMeetingANewerFreshtokensTokensStoresNothing: a newer
// freshtoken stores tokens while a device log-in waits, and the person
// approves before the first poll: it sends no poll, which would spend the
// device code for tokens it may not store, stores nothing, and says so in
// one line with what to do, exit 2. It asked only after a poll answered
// pending, and so exchanged the code of a log-in approved before then (as
// this test did now and then on a busy machine, its approval, made once a
// poll arrived, sometimes in before that poll's answer).
func TestDeviceLoginMeetingANewerFreshtokensTokensStoresNothing(t *testing.T) {
	e := newDevEnvWith(t, devprovider.Options{DeviceInterval: time.Second})
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", Grant: "device_code", DeviceAuthURL: e.api + "v2/device_authorization"})
	e.loginOutside(t)
	sent := e.provider.Stats().TokenRequests
	e.loginMeetingNewer(t, func(page string) error {
		u, err := url.Parse(page)
		if err != nil {
			return err
		}
		return e.provider.DecideDevice(u.Query().Get("user_code"), true)
	})
	if n := e.provider.Stats().DeviceLogins; n != 0 {
		t.Errorf("%d device codes exchanged for tokens; want none", n)
	}
	if n := e.provider.Stats().TokenRequests; n != sent {
		t.Errorf("%d polls during the log-in; want none", n-sent)
	}
}

// TestManualLoginMeetingANewerFreshtokensTokensStoresNothing: the same
// for `login --manual`, whose answer is pasted after a newer freshtoken
// stored tokens: no code sent, nothing stored, and the command that
// replaces them is the manual log-in's.
func TestManualLoginMeetingANewerFreshtokensTokensStoresNothing(t *testing.T) {
	const postman = "https://oauth.pstmn.io/v1/callback"
	e := newDevEnvWith(t, devprovider.Options{RedirectURIs: []string{postman, "http://127.0.0.1:8787/callback"}}) // and loginOutside's
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: postman})
	e.loginOutside(t)
	sent := e.provider.Stats().TokenRequests
	ios, _, stderr := testStreams(false, false)
	var path, newer string
	// The person opens the URL printed, approves, and pastes where the
	// browser landed; a newer freshtoken stored tokens meanwhile.
	ios.In = pastedOnceApproved(stderr, func() { path, newer = e.newerRecord(t) })
	code := e.run(ios, "login", "--manual", "-e", "dev")
	want := "freshtoken: dev: a newer freshtoken stored tokens for dev while this log-in was under way, which that one can use and this one cannot read, so this log-in stored nothing and they are kept; upgrade freshtoken to use them, or run `freshtoken --config " + e.config + " login --manual -e dev --yes` to replace them\n"
	if code != 2 || !strings.HasSuffix(stderr.String(), want) {
		t.Fatalf("login --manual: exit %d\n%s\nwant exit 2, ending %q", code, stderr, want)
	}
	if got, _ := os.ReadFile(path); string(got) != newer {
		t.Errorf("the newer freshtoken's tokens, stored during the log-in, are now %s", got)
	}
	if n := e.provider.Stats().TokenRequests; n != sent {
		t.Errorf("%d token requests during the log-in; want the code never sent", n-sent)
	}
}

// readerFunc is an io.Reader that reads by calling itself.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// pastedOnceApproved is a person at `login --manual` asked for the address
// the browser lands on: they open the URL printed (the second line of
// stderr), the provider answers (an auto-approving one approves, a
// troubled one sends back an error), meanwhile runs, and they paste where
// the browser landed.
func pastedOnceApproved(stderr fmt.Stringer, meanwhile func()) io.Reader {
	return readerFunc(func(b []byte) (int, error) {
		_, authURL, _ := strings.Cut(stderr.String(), "\n")
		authURL, _, _ = strings.Cut(authURL, "\n")
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(authURL)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		meanwhile()
		return copy(b, resp.Header.Get("Location")+"\n"), io.EOF
	})
}

// loginMeetingNewer runs login -e dev, whose browser, as it opens, finds
// that a newer freshtoken has stored tokens for dev, and approves as
// approve does; it checks that login said in one line, exit 2, that a
// newer freshtoken stored tokens while it was under way, to be upgraded to
// or replaced with the same log-in (its --timeout too) and --yes, and that
// they are kept.
func (e *devEnv) loginMeetingNewer(t *testing.T, approve func(url string) error) {
	t.Helper()
	stderr := testenv.NewOutput() // written by the log-in's callback too, on the server's goroutine
	var path, newer string
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr},
		OpenBrowser: func(url string) error {
			path, newer = e.newerRecord(t) // while the person approves
			return approve(url)
		},
	})
	root.SetArgs([]string{"--config", e.config, "login", "-e", "dev", "--timeout", "30s"})
	err := root.ExecuteContext(t.Context())
	want := "dev: a newer freshtoken stored tokens for dev while this log-in was under way, which that one can use and this one cannot read, so this log-in stored nothing and they are kept; upgrade freshtoken to use them, or run `freshtoken --config " + e.config + " login --timeout 30s -e dev --yes` to replace them"
	if err == nil || err.Error() != want || cli.ExitCode(err) != 2 {
		t.Fatalf("login: %v (exit %d)\n%s\nwant exit 2 and %q", err, cli.ExitCode(err), stderr, want)
	}
	if got, _ := os.ReadFile(path); string(got) != newer {
		t.Errorf("the newer freshtoken's tokens, stored during the log-in, are now %s", got)
	}
}

// TestLoginYesReplacesANewerFreshtokensTokensStoredMeanwhile: `login
// --yes`, which replaces a newer freshtoken's tokens found when it begins,
// replaces those stored while the person approves too, with the same
// warning, and exits 0. It stored nothing and exited 2, telling the script
// to run the very `login -e dev --yes` it had run.
func TestLoginYesReplacesANewerFreshtokensTokensStoredMeanwhile(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)})
	e.loginOutside(t)
	stderr := testenv.NewOutput() // written by the log-in's callback too, on the server's goroutine
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr},
		OpenBrowser: func(url string) error {
			e.newerRecord(t) // while the person approves
			return approveAt(url)
		},
	})
	root.SetArgs([]string{"--config", e.config, "login", "-e", "dev", "--yes", "--timeout", "30s"})
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("login --yes: %v (exit %d)\n%s", err, cli.ExitCode(err), stderr)
	}
	if want := "warning: the tokens stored for dev in "; strings.Count(stderr.String(), want) != 1 || !strings.Contains(stderr.String(), "were written by a newer freshtoken") {
		t.Errorf("stderr:\n%s\nwant one warning that a newer freshtoken's tokens are replaced", stderr)
	}
	if rec := e.record(t, "dev"); rec == nil || rec.AccessToken == "" {
		t.Errorf("dev's record after login --yes: %+v; want the log-in's tokens", rec)
	}
}
