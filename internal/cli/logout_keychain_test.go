//go:build linux

package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
)

// TestLogoutKeepsTheTokensWhenTheKeychainCannotGiveTheSecret: logout of an
// environment whose client secret is in the system keychain, when the
// keychain cannot be read (locked, no Secret Service), sends nothing and
// keeps the tokens, saying so and how to forget them with --local, as it
// does for a secret that cannot be read from a variable or a command; once
// the keychain can be read again, logout revokes them. It deleted them
// unrevoked (exit 5, "the grant may still be valid"), leaving nothing to
// end the grant with once the keychain was unlocked.
func TestLogoutKeepsTheTokensWhenTheKeychainCannotGiveTheSecret(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, b *keyringtest.Bus)
		exit  int
	}{
		{"locked", func(t *testing.T, b *keyringtest.Bus) { b.Lock(t) }, 5},
		{"no Secret Service", func(t *testing.T, _ *keyringtest.Bus) { keyringtest.StartBus(t) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			b := keyringtest.Start(t)
			s := config.EnvSettings{ClientSecretKeyring: true, RevocationURL: e.api + "v2/revoke"}
			e.configureWith(t, s)
			env, err := config.NewEnv("dev", config.EnvSettings{Provider: "freeagent", APIURL: e.api, ClientID: "dev-client-id", ClientSecretKeyring: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := env.KeepClientSecret(t.Context(), "dev-client-secret"); err != nil {
				t.Fatal(err)
			}
			e.loginOutside(t)
			stored := filepath.Join(e.dir, "state", "dev.json")
			before, err := os.ReadFile(stored)
			if err != nil {
				t.Fatal(err)
			}
			tc.spoil(t, b)

			ios, _, stderr := testStreams(false, false)
			code := e.run(ios, "logout", "-e", "dev")
			if code != tc.exit || strings.Contains(stderr.String(), "Logged out") {
				t.Fatalf("logout with a keychain that cannot give the secret exited %d, want %d: %s", code, tc.exit, stderr)
			}
			msg := stderr.String()
			for _, want := range []string{"nothing was sent to the provider", "nothing was deleted: the tokens are kept in ", "logout --local -e dev"} {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr = %q; want it to say %q", msg, want)
				}
			}
			if strings.Contains(msg, "dev-client-secret") {
				t.Errorf("stderr = %q shows the secret", msg)
			}
			after, err := os.ReadFile(stored)
			if err != nil || string(after) != string(before) {
				t.Fatalf("the tokens were not kept as they were (%v)", err)
			}
		})
	}
}
