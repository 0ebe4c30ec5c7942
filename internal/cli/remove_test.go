package cli_test

import (
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/shellquote"
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
// it now says default_env is removed and the command that sets another
// (which, run, sets it), or which environment commands without -e use when
// one is left.
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
	want := "dev was the default environment; default_env is removed, so commands without -e need -e NAME or $FRESHTOKEN_ENV: to set another, run freshtoken --config " + shellquote.Word(e.config) + " init -e NAME --default (configured: staging, test)."
	if said := remove("dev"); !strings.Contains(said, want) {
		t.Fatalf("remove of the default said:\n%s\nwant:\n%s", said, want)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "init", "-e", "test", "--default"); code != 0 {
		t.Fatalf("the command remove said to run: exit %d\n%s%s", code, stdout, stderr)
	}
	if conf, err := config.Load(e.config); err != nil {
		t.Fatalf("after the command remove said to run: %v", err)
	} else if conf.DefaultEnv != "test" {
		t.Fatalf("after the command remove said to run, default_env is %q", conf.DefaultEnv)
	}
	want = "test was the default environment; default_env is removed, and commands without -e now use staging, the only one left."
	if said := remove("test"); !strings.Contains(said, want) {
		t.Fatalf("remove of the default said:\n%s\nwant:\n%s", said, want)
	}
}
