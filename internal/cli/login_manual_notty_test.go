package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

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
	if !strings.HasPrefix(last, "freshtoken: dev: that is not the address your browser landed on") || !strings.Contains(last, "login --manual -e dev` again") {
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
