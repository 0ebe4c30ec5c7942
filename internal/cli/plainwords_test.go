package cli_test

import (
	"slices"
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

// TestShortStorePasswordIsHiddenWhereItStandsAsThePassword: a Redis
// password under 8 characters (many setups have `pw`) is kept, neither
// refused nor masked as a word wherever it appears (masking `dev` would
// mask the environment's name in every line, and say which word the
// password is); it is hidden where it stands as the password, in the
// store's URL wherever freshtoken shows it: the debug log, status, status
// --json, and store migrate's --to, moving the tokens, refused a wrong
// password and failing to reach its Redis.
func TestShortStorePasswordIsHiddenWhereItStandsAsThePassword(t *testing.T) {
	// Named apart from the passwords, which the tests' folders hold.
	for name, password := range map[string]string{"random": "Xq7", "the environment's name": "dev"} {
		t.Run(name, func(t *testing.T) {
			e := newDevEnv(t)
			at := func(pw string, srv *redistest.Server) string { return "redis://:" + pw + "@" + srv.Addr + "/0" }
			srv, other, gone := redistest.Start(t), redistest.Start(t), redistest.Start(t)
			srv.RequirePassword(t, password)
			other.RequirePassword(t, password)
			gone.Stop()
			e.useStore(t, at(password, srv))
			e.loginOutside(t)
			const wrong = "Zr9"
			for _, run := range []struct {
				args []string
				code int
			}{
				{[]string{"--debug", "token", "-e", "dev"}, 0},
				{[]string{"status"}, 0},
				{[]string{"status", "--json"}, 0},
				{[]string{"--debug", "store", "migrate", "--to", at(wrong, other)}, 2},
				{[]string{"--debug", "store", "migrate", "--to", at(password, gone)}, 5},
				{[]string{"--debug", "store", "migrate", "--to", at(password, other)}, 0},
				{[]string{"--debug", "token", "-e", "dev"}, 0},
				{[]string{"status", "--json"}, 0},
			} {
				ios, stdout, stderr := testStreams(false, false)
				code := e.run(ios, run.args...)
				said := stdout.String() + stderr.String()
				if code != run.code {
					t.Fatalf("%s: exit %d, want %d; said:\n%s", strings.Join(run.args, " "), code, run.code, said)
				}
				for _, pw := range []string{password, wrong} {
					if strings.Contains(said, ":"+pw+"@") || pw != "dev" && strings.Contains(said, pw) {
						t.Errorf("%s shows the password %s:\n%s", strings.Join(run.args, " "), pw, said)
					}
				}
				if password == "dev" && slices.Contains(run.args, "token") && !strings.Contains(stderr.String(), "env=dev") {
					t.Errorf("%s: the environment's name dev, also the password, is masked where it is no password:\n%s", strings.Join(run.args, " "), said)
				}
			}
		})
	}
}
