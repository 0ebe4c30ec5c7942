package cli_test

import (
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
	// named after the test, with random digits).
	ios, _, stderr := testStreams(false, false)
	shown := filepath.Join("no-such-folder", "freeagent-prod-2024.toml")
	if code := e.run(ios, "--config", shown, "status"); code != 2 || !strings.Contains(stderr.String(), "`freshtoken --config "+shown+" init`") {
		t.Errorf("--config %s: exit %d, said:\n%s\nwant exit 2 naming the file", shown, code, stderr)
	}
}
