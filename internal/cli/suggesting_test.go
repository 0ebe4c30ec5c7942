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
