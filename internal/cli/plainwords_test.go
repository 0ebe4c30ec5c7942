package cli_test

import (
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/redistest"
)

// TestStorePasswordOfPlainWordsIsRefused: a Redis password that is a word
// or a short phrase of lowercase words (here freshtoken, as a team named
// it) is refused as a configuration mistake (exit 2), in one line that
// says why and what to do, the password itself never written: easy to
// guess, and masked wherever it appeared, it turned `freshtoken login` in
// every message into "…(10 chars) login" (here the debug log's store
// keys, freshtoken:dev), which showed which word it is. A long phrase of
// such words (correct-horse-battery-staple), which fleets use and no
// message of freshtoken's holds, works as it did: refusing it stopped
// working fleets on upgrade.
func TestStorePasswordOfPlainWordsIsRefused(t *testing.T) {
	for _, c := range []struct {
		password string
		code     int
	}{
		{"freshtoken", 2},
		{"redis-password", 2},
		{"correct-horse-battery-staple", 0},
	} {
		t.Run(c.password, func(t *testing.T) {
			e := newDevEnv(t)
			srv := redistest.Start(t)
			srv.RequirePassword(t, c.password)
			e.useStore(t, strings.Replace(srv.URL, "redis://", "redis://:"+c.password+"@", 1))
			if c.code == 0 {
				e.loginOutside(t)
			}
			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, "--debug", "token", "-e", "dev")
			said := stderr.String()
			if code != c.code {
				t.Fatalf("token with the Redis password %s: exit %d, want %d; stderr:\n%s", c.password, code, c.code, said)
			}
			// A refused password is "freshtoken" or like it, which every line
			// begins with: looked for where a URL holds it.
			if strings.Contains(said, ":"+c.password+"@") || c.code == 0 && strings.Contains(said, c.password) {
				t.Errorf("stderr shows the password:\n%s", said)
			}
			if c.code == 0 {
				if stdout.Len() == 0 {
					t.Error("token printed nothing")
				}
				return
			}
			if want := "config.toml: token store: the Redis password in the store's URL is a word or a short phrase of lowercase words (under 16 characters, only a-z, - and _), which is easy to guess, and which freshtoken could not hide in its messages without showing which word it is; give Redis a password of 16 characters or more, or a random one (openssl rand -hex 24), and write it in the URL\n"; !strings.HasPrefix(said, "freshtoken: ") || !strings.HasSuffix(said, want) || strings.Count(said, "\n") != 1 {
				t.Errorf("stderr:\n%s\nwant one line, naming the configuration and ending:\n%s", said, want)
			}
		})
	}
}
