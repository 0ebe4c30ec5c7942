package cli_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenTypedWhereAPathOrAnAddressGoesIsNotSaidBack: a token pasted
// where a store's URL, an address or a file's path goes (store migrate
// --to, proxy --listen, --log-file, --config, -d @FILE, import postman
// FILE) was said back whole in the one line saying what is wrong with it,
// which a terminal's scroll-back, a CI log or a bug report keeps. Such a
// part of what was typed is masked wherever a message says it; a path of
// words a person chose is shown as typed.
func TestTokenTypedWhereAPathOrAnAddressGoesIsNotSaidBack(t *testing.T) {
	const (
		token = "dev_at_8U5hG4kTzQ9pL2xWm7RvB1nY3cJ6dF0sA5eK8iO2uH"
		jwt   = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	)
	e := newDevEnv(t)
	e.configure(t)
	e.loginOutside(t)
	missing := filepath.Join(e.dir, "missing")
	for _, secret := range []string{token, jwt} {
		for _, args := range [][]string{
			{"store", "migrate", "--to", secret},
			{"store", "migrate", "--to=" + secret},
			{"proxy", "--listen", secret},
			{"proxy", "--listen", "127.0.0.1:" + secret},
			{"--log-file", filepath.Join(missing, secret), "status"},
			{"--log-format", "json", "--config", filepath.Join(missing, secret), "status"},
			{"-e", "dev", "post", "/v2/contacts", "-d", "@" + secret},
			{"-e", "dev", "post", "/v2/contacts", "-d", "@" + filepath.Join(missing, secret)},
			{"import", "postman", secret},
		} {
			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, args...)
			said := stdout.String() + stderr.String()
			if code != 2 || strings.Contains(said, secret) || strings.Count(said, "\n") != 1 {
				t.Errorf("%s: exit %d, said:\n%s\nwant exit 2, one line, and no token", strings.Join(args, " "), code, said)
			}
		}
	}
	// A path of words is said as typed (relative: the test's folder is
	// named after the test, with random digits), in capitals and with
	// digits too (FreeText took FreeAgentProduction2024.toml for a secret:
	// the message named neither the file nor a command that runs).
	for _, shown := range []string{
		filepath.Join("no-such-folder", "freeagent-prod-2024.toml"),
		filepath.Join("no-such-folder", "FreeAgentProductionConfig2024.toml"),
		"MyCompanyProductionEnvironment2024.toml",
	} {
		ios, _, stderr := testStreams(false, false)
		if code := e.run(ios, "--config", shown, "status"); code != 2 || !strings.Contains(stderr.String(), "`freshtoken --config "+shown+" init`") {
			t.Errorf("--config %s: exit %d, said:\n%s\nwant exit 2 naming the file", shown, code, stderr)
		}
	}
}

// TestTokenTypedIsMaskedInTheLogToo: a token pasted into an API path (a
// variable mixed up: `get /v2/contacts/$TOKEN`) was masked in the last
// word saying the API answered 404, and shown whole in the --debug line
// just above it naming the request's URL, on stderr and in --log-file,
// which a bug report carries. It is masked in both, in text and JSON; the
// rest of the URL is shown.
func TestTokenTypedIsMaskedInTheLogToo(t *testing.T) {
	const token = "dev_at_Qm3xV8kPz2Lr7TnW4yHc9Bf6Jd1Gs5Ke0UaXo"
	e := newDevEnv(t)
	e.configure(t)
	e.loginOutside(t)
	logFile := filepath.Join(e.dir, "freshtoken.log")
	for _, args := range [][]string{
		{"--debug", "-e", "dev", "get", "/v2/contacts/" + token},
		{"--debug", "--log-format", "json", "-e", "dev", "get", "/v2/contacts/" + token},
		{"--debug", "--log-file", logFile, "-e", "dev", "get", "/v2/contacts/" + token},
	} {
		ios, stdout, stderr := testStreams(false, false)
		code := e.run(ios, args...)
		logged, err := os.ReadFile(logFile)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		said := stdout.String() + stderr.String() + string(logged)
		if code != 4 || strings.Contains(said, token) || !strings.Contains(said, "/v2/contacts/"+token[:8]+"…") {
			t.Errorf("%s: exit %d, said:\n%s\nwant exit 4, the URL shown with the token masked", strings.Join(args, " "), code, said)
		}
	}
}
