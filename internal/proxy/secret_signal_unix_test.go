//go:build unix

package proxy_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestProxyWhoseSecretCommandASignalEnded: a request whose renewal's
// client_secret_cmd is ended by a signal sent to it alone (a kill by hand,
// a password manager's own time-out) is answered as the set-up's failure,
// invalid_configuration, naming the signal: it was answered "failed", the
// code of a bug in freshtoken. The proxy serves on, and renews once the
// command gives the secret again.
func TestProxyWhoseSecretCommandASignalEnded(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	f.editConfig(t, `client_secret = "dev-client-secret"`, `client_secret_cmd = "kill -TERM $$"`)
	f.clock.Advance(accessTTL)
	resp, body := f.get(t, "/dev/v2/company")
	var pr struct{ Error, Message string }
	if err := json.Unmarshal(body, &pr); err != nil || resp.StatusCode != http.StatusInternalServerError || pr.Error != "invalid_configuration" ||
		!strings.Contains(pr.Message, "its client_secret_cmd was stopped by a signal (terminated)") {
		t.Fatalf("a request whose client_secret_cmd a signal ended got %d %s; want 500 invalid_configuration naming the signal", resp.StatusCode, body)
	}
	f.editConfig(t, `client_secret_cmd = "kill -TERM $$"`, `client_secret_cmd = "echo dev-client-secret"`)
	if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Errorf("once the command gave the secret, a request got %d %s; want 200", resp.StatusCode, body)
	}
}
