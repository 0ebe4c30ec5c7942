//go:build unix

package cli_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
)

// TestRequestWhoseSecretCommandASignalEnded: `get` with an expired access
// token, whose renewal's client_secret_cmd is ended by a signal sent to it
// alone (a kill by hand, a password manager's own time-out). It is the
// command's failure, exit 2, one line naming the signal, as for `token`
// and `logout`: net/http wrapped the engine's error, and it was told as
// an API that could not be reached, exit 5, "check your connection and
// api_url", though nothing was sent to the API.
func TestRequestWhoseSecretCommandASignalEnded(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecretCmd: "kill -TERM $$"})
	e.loginOutside(t)
	rec := e.record(t, "dev")
	rec.Expiry = time.Now().Add(-time.Minute)
	e.save(t, "dev", rec)
	tokenRequests := e.provider.Stats().TokenRequests
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "get", "v2/company")
	msg := stderr.String()
	if code != 2 || stdout.Len() != 0 || strings.Count(msg, "\n") != 1 || strings.Contains(msg, "could not be reached") ||
		!strings.Contains(msg, "its client_secret_cmd was stopped by a signal (terminated)") || !strings.Contains(msg, "came to the command alone, not to freshtoken") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one line naming the signal sent to the command alone", code, stdout, msg)
	}
	if n := e.provider.Stats().TokenRequests - tokenRequests; n != 0 {
		t.Errorf("%d token requests sent; want none", n)
	}
}

// TestLoginWhoseSecretCommandASignalEnded: `login`, which reads the client
// secret before it opens the browser, whose client_secret_cmd is ended by
// a signal sent to it alone: exit 2, one line naming the signal, nothing
// stored, as for `token` and `logout`.
func TestLoginWhoseSecretCommandASignalEnded(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecretCmd: "kill -TERM $$"})
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "login", "-e", "dev", "--no-browser")
	msg := stderr.String()
	if code != 2 || stdout.Len() != 0 || strings.Count(msg, "\n") != 1 || strings.Contains(msg, "interrupted") ||
		!strings.Contains(msg, "its client_secret_cmd was stopped by a signal (terminated)") || !strings.Contains(msg, "came to the command alone, not to freshtoken") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one line naming the signal sent to the command alone", code, stdout, msg)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "state", "dev.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the store holds tokens for dev (%v); want none", err)
	}
}
