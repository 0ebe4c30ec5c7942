package cli_test

import (
	"bytes"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/devprovider"
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
// freshtoken stores tokens while a device log-in waits for approval: it
// polls no more once it sees them, stores nothing, and says so in one
// line with what to do, exit 2. It went on polling, and once approved
// replaced them unasked.
func TestDeviceLoginMeetingANewerFreshtokensTokensStoresNothing(t *testing.T) {
	e := newDevEnvWith(t, devprovider.Options{DeviceInterval: time.Second})
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", Grant: "device_code", DeviceAuthURL: e.api + "v2/device_authorization"})
	e.loginOutside(t)
	e.loginMeetingNewer(t, func(page string) error {
		u, err := url.Parse(page)
		if err != nil {
			return err
		}
		polls := e.provider.Stats().TokenRequests
		go func() {
			// Approved once a poll has seen the log-in pending, and the
			// newer freshtoken's tokens stored.
			for e.provider.Stats().TokenRequests == polls {
				time.Sleep(10 * time.Millisecond)
			}
			e.provider.DecideDevice(u.Query().Get("user_code"), true)
		}()
		return nil
	})
	if n := e.provider.Stats().DeviceLogins; n != 0 {
		t.Errorf("%d device codes exchanged for tokens; want none", n)
	}
}

// loginMeetingNewer runs login -e dev, whose browser, as it opens, finds
// that a newer freshtoken has stored tokens for dev, and approves as
// approve does; it checks that login said in one line, exit 2, that a
// newer freshtoken stored tokens while it was under way, to be upgraded to
// or replaced with login --yes, and that they are kept.
func (e *devEnv) loginMeetingNewer(t *testing.T, approve func(url string) error) {
	t.Helper()
	var stderr bytes.Buffer
	var path, newer string
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &stderr},
		OpenBrowser: func(url string) error {
			path, newer = e.newerRecord(t) // while the person approves
			return approve(url)
		},
	})
	root.SetArgs([]string{"--config", e.config, "login", "-e", "dev", "--timeout", "30s"})
	err := root.ExecuteContext(t.Context())
	want := "dev: a newer freshtoken stored tokens for dev while this log-in was under way, which that one can use and this one cannot read, so this log-in stored nothing and they are kept; upgrade freshtoken to use them, or run `freshtoken --config " + e.config + " login -e dev --yes` to replace them"
	if err == nil || err.Error() != want || cli.ExitCode(err) != 2 {
		t.Fatalf("login: %v (exit %d)\n%s\nwant exit 2 and %q", err, cli.ExitCode(err), &stderr, want)
	}
	if got, _ := os.ReadFile(path); string(got) != newer {
		t.Errorf("the newer freshtoken's tokens, stored during the log-in, are now %s", got)
	}
}
