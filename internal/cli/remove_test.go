package cli_test

import (
	"os"
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

// TestRemoveOfTheDefaultSaysDefaultEnvWentWithIt: `remove` of the
// environment default_env names takes that line out too, and said nothing
// of it, so the next command without -e failed asking which environment;
// it now says default_env is removed and the line to write to set another
// (which, written, the configuration takes), or which environment commands
// without -e use when one is left.
func TestRemoveOfTheDefaultSaysDefaultEnvWentWithIt(t *testing.T) {
	e := newDevEnv(t)
	for _, name := range []string{"dev", "staging", "test", "demo"} { // dev, the first, is the default
		e.configureAs(t, name, "dev-client-id", config.EnvSettings{ClientSecret: "s"})
	}
	remove := func(name string) string {
		t.Helper()
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, "remove", "-e", name, "--yes"); code != 0 {
			t.Fatalf("remove -e %s: exit %d\n%s%s", name, code, stdout, stderr)
		}
		return stderr.String()
	}
	if said := remove("demo"); strings.Contains(said, "default") {
		t.Fatalf("remove of demo, not the default, said:\n%s", said)
	}
	want := `dev was the default environment; default_env is removed, so commands without -e need -e NAME or $FRESHTOKEN_ENV: to set another, add a line default_env = "NAME" to ` + e.config + `, above every [env.NAME] table (configured: staging, test).`
	if said := remove("dev"); !strings.Contains(said, want) {
		t.Fatalf("remove of the default said:\n%s\nwant:\n%s", said, want)
	}
	old, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, append([]byte(`default_env = "test"`+"\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	if conf, err := config.Load(e.config); err != nil {
		t.Fatalf("with the line remove said to write: %v", err)
	} else if conf.DefaultEnv != "test" {
		t.Fatalf("with the line remove said to write, default_env is %q", conf.DefaultEnv)
	}
	want = "test was the default environment; default_env is removed, and commands without -e now use staging, the only one left."
	if said := remove("test"); !strings.Contains(said, want) {
		t.Fatalf("remove of the default said:\n%s\nwant:\n%s", said, want)
	}
}
