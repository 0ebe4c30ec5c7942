package cli_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestDeviceLoginRefusesAVerificationPageInClearText: a device log-in
// whose provider names a verification page in plain http on another
// machine, where the person would type the user code into a page anyone on
// the way could change, is refused in one line (exit 2, as an endpoint in
// clear text in a discovery document is), nothing of the answer shown. It
// was printed as the provider gave it.
func TestDeviceLoginRefusesAVerificationPageInClearText(t *testing.T) {
	e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/device_authorization") {
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"device_code": "the-device-code-0123456789", "user_code": "WDJB-MJHT",
					"verification_uri": "http://login.example.com/device", "verification_uri_complete": "http://login.example.com/device?user_code=WDJB-MJHT", "expires_in": 600})
				return
			}
			provider.ServeHTTP(w, r)
		})
	})
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", Grant: "device_code", DeviceAuthURL: e.api + "v2/device_authorization"})
	t.Setenv("BROWSER", "false")
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "login", "-e", "dev"); code != 2 {
		t.Errorf("login exited %d; want 2\n%s", code, stderr)
	}
	msg := strings.TrimSuffix(stderr.String(), "\n")
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "http://login.example.com/device") || !strings.Contains(msg, "plain http to another machine") || !strings.Contains(msg, "over https") {
		t.Errorf("stderr = %q; want one line refusing the page in clear text, saying to have it served over https", stderr)
	}
	if strings.Contains(stdout.String()+stderr.String(), "WDJB-MJHT") || strings.Contains(stderr.String(), "enter the code") {
		t.Errorf("the user code was shown: %q", stderr)
	}
}
