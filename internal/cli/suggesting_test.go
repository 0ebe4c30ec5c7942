package cli_test

import (
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestSuggestedCommandsNameTheConfigurationOnce: a message that already
// writes its commands with --config (as commandLine does: logout's kept
// tokens, import's refusals) has them written so once, not twice: the
// last word wrote --config into them again, `freshtoken --config FILE
// --config FILE logout --local -e dev`, and the doubled path pushed the
// end of the line (what to run) past the length a message is cut at.
func TestSuggestedCommandsNameTheConfigurationOnce(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/nowhere"})
	e.loginOutside(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "logout", "-e", "dev"); code != 2 {
		t.Fatalf("logout at a revocation_url where no endpoint is exited %d, want 2: %s", code, stderr)
	}
	msg := stderr.String()
	if want := "`freshtoken --config " + e.config + " logout --local -e dev`"; !strings.Contains(msg, want) {
		t.Errorf("stderr = %q; want it to suggest %s", msg, want)
	}
	if strings.Contains(msg, "--config "+e.config+" --config") {
		t.Errorf("stderr = %q names the configuration twice", msg)
	}
}

// TestMistypedCommandSuggestsItRunnable: a command mistyped at the top
// level suggests the one meant with the --config and -e given, wherever
// on the line they stood, so that it runs as shown: cobra fails before
// the flags are read, and the suggestion named neither (`freshtoken
// status`), which runs on the default configuration and environment.
func TestMistypedCommandSuggestsItRunnable(t *testing.T) {
	e := newDevEnv(t)
	for _, args := range [][]string{{"-e", "dev", "stauts"}, {"stauts", "-e", "dev"}, {"--env=dev", "stauts"}} {
		ios, _, stderr := testStreams(false, false)
		if code := e.run(ios, args...); code != 2 {
			t.Fatalf("%q exited %d, want 2: %s", args, code, stderr)
		}
		if want := "did you mean `freshtoken --config " + e.config + " status -e dev`?"; !strings.Contains(stderr.String(), want) {
			t.Errorf("%q: stderr = %q; want it to say %s", args, stderr, want)
		}
	}
}

// TestMistypedCommandSuggestionHidesASecretEnv: a token typed after -e
// by mistake is not said back in the command a mistyped one suggests, as
// no message says it back (redact.Name): the suggestion wrote it whole,
// `freshtoken token -e eyJ…`, on stderr and in the --log-file.
func TestMistypedCommandSuggestionHidesASecretEnv(t *testing.T) {
	e := newDevEnv(t)
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ"
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "-e", token, "tokn"); code != 2 {
		t.Fatalf("exited %d, want 2: %s", code, stderr)
	}
	said := stderr.String()
	if strings.Contains(said, token[:16]) || !strings.Contains(said, "did you mean `freshtoken --config "+e.config+" token -e NAME`?") {
		t.Errorf("stderr = %q; want the suggestion without the token after -e", said)
	}
}
