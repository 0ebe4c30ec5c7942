package cli_test

import (
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestLogoutOfTokensTheProviderNoLongerKnows: a revocation endpoint that
// answers 400 invalid_token (Google's answer for a token revoked or expired
// already) revoked nothing. Logout forgets the tokens, as nothing is left
// to revoke, and tells the truth: the provider no longer knows them, in
// its own words. It said "the grant was revoked at the provider", which a
// misconfigured endpoint answering so for a live token made a lie.
func TestLogoutOfTokensTheProviderNoLongerKnows(t *testing.T) {
	revoker := testenv.TokenUnknownRevocation(t)
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: revoker})
	e.loginOutside(t)
	ios, _, stderr := testStreams(false, false)
	code := e.run(ios, "logout", "-e", "dev")
	said := stderr.String()
	if code != 0 || strings.Contains(said, "revoked at the provider") ||
		!strings.Contains(said, "Logged out of dev: the provider's revocation endpoint "+revoker+" answered that it no longer knows its tokens (invalid_token)") || strings.Contains(said, "Token expired or revoked") ||
		!strings.Contains(said, "nothing was revoked") {
		t.Fatalf("logout: exit %d, stderr %q; want 0, saying the provider no longer knows the tokens, not that it revoked them", code, said)
	}
	if e.record(t, "dev") != nil {
		t.Fatal("the tokens the provider no longer knows were kept")
	}
}

// TestLogoutWhereRevocationURLIsTheTokenEndpoint: a revocation_url that
// names the token endpoint (a copy-and-paste slip) revokes nothing, and
// whatever that endpoint answers (invalid_request for a missing
// grant_type, or an invalid_grant) says nothing of the grant. Logout sends
// it nothing, keeps the tokens and says to fix revocation_url (exit 2), as
// for any revocation_url where no revocation endpoint is. It deleted the
// tokens, exit 5, and the grant lived on with nothing left to end it.
func TestLogoutWhereRevocationURLIsTheTokenEndpoint(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/token_endpoint"})
	e.loginOutside(t)
	before := e.record(t, "dev")
	ios, _, stderr := testStreams(false, false)
	code := e.run(ios, "logout", "-e", "dev")
	said := stderr.String()
	if code != cli.ExitUsage || !strings.Contains(said, "is the token endpoint, not a revocation endpoint") || !strings.Contains(said, "check revocation_url; nothing was deleted") {
		t.Fatalf("logout: exit %d, stderr %q; want %d, saying revocation_url is the token endpoint and the tokens are kept", code, said, cli.ExitUsage)
	}
	if kept := e.record(t, "dev"); kept.RefreshToken != before.RefreshToken {
		t.Fatal("the tokens were not kept")
	}
}
