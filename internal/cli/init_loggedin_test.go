package cli_test

import (
	"strings"
	"testing"
)

// TestInitOfALoggedInEnvironment: init that changes what leaves the tokens
// serving (the redirect URI) says the environment is still logged in,
// rather than "Then run: freshtoken login" (which sent people through a
// browser log-in for nothing); one that changes the scopes (which only a
// log-in grants) or the client (whose tokens then no longer serve) still
// says to log in.
func TestInitOfALoggedInEnvironment(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)

	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "init", "-e", "dev", "--redirect-uri", "http://127.0.0.1:48999/callback"); code != 0 {
		t.Fatalf("init exit %d: %s", code, stderr)
	}
	if got := stderr.String(); strings.Contains(got, "Then run:") || !strings.Contains(got, "dev is logged in") {
		t.Errorf("init of a logged-in environment, its client unchanged, said:\n%s\nwant that it is logged in, and no log-in to run", got)
	}
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "token"); code != 0 {
		t.Fatalf("token after init exit %d: %s", code, stderr)
	}

	// Other scopes, or another client, take a new log-in.
	for _, flags := range [][]string{{"--scopes", "read"}, {"--client-id", "another-client"}} {
		ios, _, stderr = testStreams(false, false)
		if code := e.run(ios, append([]string{"init", "-e", "dev"}, flags...)...); code != 0 {
			t.Fatalf("init %v exit %d: %s", flags, code, stderr)
		}
		if got := stderr.String(); !strings.Contains(got, "Then run: freshtoken --config "+e.config+" login -e dev") {
			t.Errorf("init %v said:\n%s\nwant the log-in to run", flags, got)
		}
	}
}
