package cli_test

import (
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestRemoveSaysTheClientSecretStaysInTheKeychain: `remove` of an
// environment whose client secret is in the keychain leaves it there (other
// configurations of the client may read it), and says so, naming where it
// is: it said only that the environment and its tokens went, and the client
// secret stayed in the keychain unknown to the user.
func TestRemoveSaysTheClientSecretStaysInTheKeychain(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecretKeyring: true})
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "remove", "-e", "dev", "--yes"); code != 0 {
		t.Fatalf("remove: exit %d\n%s%s", code, stdout, stderr)
	}
	said := stderr.String()
	if !strings.Contains(said, `client_secret:dev-client-id at `) || !strings.Contains(said, "stays in the system keychain") {
		t.Fatalf("remove said:\n%s\nwant where the client secret it left in the keychain is", said)
	}
	if strings.Count(strings.TrimSpace(said), "\n") != 1 {
		t.Fatalf("remove said:\n%s\nwant two lines: what was removed, and the client secret left", said)
	}
}
