package cli_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
)

// TestLogoutRefusedAsAnInvalidRequest: a revocation endpoint answering
// 400 invalid_request refused the request as malformed, not the client.
// Logout told it as the client rejected ("check client_id, the client
// secret and client_auth"), kept the tokens and exited 2 at every try,
// though the endpoint was the one the provider's discovery document names
// and its token endpoint took the client: nothing in the configuration
// could fix it. From a discovered endpoint it is the provider's failure:
// the tokens are kept, for logout again or --local (exit 5); from a
// configured revocation_url (an endpoint of another kind answers so) they
// are kept and revocation_url is the setting named (exit 2). The error
// code is told, the description (which may quote the token) is not.
func TestLogoutRefusedAsAnInvalidRequest(t *testing.T) {
	for _, tc := range []struct {
		name       string
		discovered bool
		code       int
		want, not  []string
	}{
		{"discovered", true, cli.ExitUnreachable,
			[]string{"/v2/revoke could not revoke the refresh token (HTTP 400 Bad Request, invalid_request); nothing was deleted: the tokens are kept", "logout --local -e dev"},
			[]string{"check client_id", "check revocation_url", "Logged out"}},
		{"configured", false, cli.ExitUsage,
			[]string{"/v2/revoke could not revoke the refresh token (HTTP 400 Bad Request, invalid_request); check revocation_url; nothing was deleted: the tokens are kept"},
			[]string{"check client_id", "Logged out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnvAnswering(t, "/v2/revoke", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"error":"invalid_request","error_description":"malformed request"}`))
			})
			s := config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/revoke"}
			if tc.discovered {
				s.RevocationURL, s.Issuer = "", strings.TrimSuffix(e.api, "/")
			}
			e.configureWith(t, s)
			said := e.logoutRefused(t, tc.code)
			for _, w := range tc.want {
				if !strings.Contains(said, w) {
					t.Errorf("stderr %q; want %q in it", said, w)
				}
			}
			for _, n := range append(tc.not, "malformed request") {
				if strings.Contains(said, n) {
					t.Errorf("stderr %q; want no %q in it", said, n)
				}
			}
		})
	}
}

// TestLogoutRefusedWithTheProvidersOwnError: a revocation endpoint
// refusing with an error of the provider's own (400 account_locked) was
// told as a rejected client ("check client_id, the client secret and
// client_auth"), the provider's words, which said what to do, left out.
// It is now sorted as a renewal's refusal is (tokenerr.RefusalOf): the
// words quoted, any token sent in them masked, the tokens kept, exit 2.
func TestLogoutRefusedWithTheProvidersOwnError(t *testing.T) {
	sent := make(chan string, 2)
	e := newDevEnvAnswering(t, "/v2/revoke", func(w http.ResponseWriter, r *http.Request) {
		token := r.FormValue("token")
		sent <- token
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"account_locked","error_description":"account locked; call support (token ` + token + `)"}`))
	})
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/revoke"})
	said := e.logoutRefused(t, cli.ExitUsage)
	want := `/v2/revoke refused to revoke the refresh token with an error of its own, which only its words explain (HTTP 400 Bad Request, account_locked: "account locked; call support (token `
	if !strings.Contains(said, want) || !strings.Contains(said, "nothing was deleted: the tokens are kept") {
		t.Errorf("stderr %q; want %q in it, and the tokens kept", said, want)
	}
	if token := <-sent; strings.Contains(said, token) {
		t.Errorf("stderr %q shows the token sent", said)
	}
	for _, n := range []string{"check client_id", "rejected", "Logged out", "once that is fixed"} {
		if strings.Contains(said, n) {
			t.Errorf("stderr %q; want no %q in it", said, n)
		}
	}
}

// logoutRefused logs in to dev and runs logout, which its revocation
// endpoint refuses: it must exit with code, the tokens kept. It returns
// what logout said.
func (e *devEnv) logoutRefused(t *testing.T, code int) (said string) {
	t.Helper()
	e.loginOutside(t)
	ios, _, stderr := testStreams(false, false)
	if got := e.run(ios, "logout", "-e", "dev"); got != code {
		t.Errorf("logout: exit %d; want %d", got, code)
	}
	if e.record(t, "dev") == nil {
		t.Error("the tokens were deleted; want them kept")
	}
	return stderr.String()
}
