package cli_test

import (
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
)

// TestClientSecretKeyringPerProvider: two environments at different
// providers that happen to use one client id (as self-hosted identity
// providers often do) keep a client secret each in the keychain: the
// second `init --client-secret-keyring` does not replace the first's, so
// neither provider is ever sent the other's secret.
func TestClientSecretKeyringPerProvider(t *testing.T) {
	keyringtest.Start(t)
	e := newDevEnv(t, devprovider.Options{})
	for _, env := range []string{"work", "home"} {
		ios, _, stderr := testStreams(false, false)
		ios.In = strings.NewReader(env + "-secret\n")
		if code := e.run(ios, "init", "-e", env, "--provider", "generic", "--client-id", "cli", "--client-secret-keyring",
			"--api-url", "https://api."+env+".example/", "--auth-url", "https://login."+env+".example/auth",
			"--token-url", "https://login."+env+".example/token"); code != 0 {
			t.Fatalf("init -e %s: exit %d: %s", env, code, stderr)
		}
		if !strings.Contains(stderr.String(), `account "client_secret:cli at https://login.`+env+`.example/token"`) {
			t.Errorf("init -e %s does not say where it kept the secret: %s", env, stderr)
		}
	}
	f, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"work", "home"} {
		if got, err := f.Envs[env].ClientSecretValue(t.Context()); err != nil || got != env+"-secret" {
			t.Errorf("%s's client secret = %q, %v; want %q", env, got, err, env+"-secret")
		}
		if where := f.Envs[env].ClientSecretWhere(); !strings.Contains(where, "login."+env+".example") {
			t.Errorf("%s's client secret is said to be at %s, which does not name its provider", env, where)
		}
	}
}
