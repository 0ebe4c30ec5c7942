package interop

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/store"
)

// oauth2Config is an x/oauth2 client for the fixture's client, bypassing
// freshtoken, to show what the server does with a careless client.
func (f *fixture) oauth2Config() *oauth2.Config {
	return clientConfig(f.client.ID, f.client.Secret, f.clientAuth, f.srv.AuthURL(), f.srv.TokenURL(), f.client.RedirectURI)
}

// clientConfig is an x/oauth2 client that authenticates as freshtoken's
// client_auth says: "basic" in the header, "body" or "none" (no secret) in
// the form.
func clientConfig(id, secret, clientAuth, authURL, tokenURL, redirectURI string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if clientAuth != "basic" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     id,
		ClientSecret: secret,
		Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: style},
		RedirectURL:  redirectURI,
		Scopes:       []string{"offline_access"},
	}
}

// codeFlow logs in with x/oauth2 and PKCE S256, playing the browser.
func codeFlow(t *testing.T, conf *oauth2.Config) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	cb := followToCallback(t, conf.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier)), conf.RedirectURL)
	tok, err := conf.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tok
}

// refresh spends refreshToken once, as x/oauth2 does.
func refresh(conf *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	return conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

func oauthError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// TestServerIsStrict shows that the server refuses what a careless client
// would do, so the other tests passing means freshtoken does none of it.
func TestServerIsStrict(t *testing.T) {
	t.Parallel()

	t.Run("PKCE is required", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, "basic")
		cb := followToCallback(t, f.oauth2Config().AuthCodeURL("state-0123456789"), f.client.RedirectURI)
		if cb.Query().Get("error") == "" || cb.Query().Get("code") != "" {
			t.Errorf("an authorisation request without PKCE was granted: %s", cb)
		}
	})

	t.Run("plain PKCE is refused", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, "basic")
		verifier := oauth2.GenerateVerifier()
		u := f.oauth2Config().AuthCodeURL("state-0123456789",
			oauth2.SetAuthURLParam("code_challenge_method", "plain"), oauth2.SetAuthURLParam("code_challenge", verifier))
		cb := followToCallback(t, u, f.client.RedirectURI)
		if cb.Query().Get("error") == "" || cb.Query().Get("code") != "" {
			t.Errorf("an authorisation request with plain PKCE was granted: %s", cb)
		}
	})

	t.Run("the other client authentication method is refused", func(t *testing.T) {
		t.Parallel()
		for _, auth := range []string{"basic", "body"} {
			f := newFixture(t, auth)
			conf := f.oauth2Config()
			tok := codeFlow(t, conf)
			if conf.Endpoint.AuthStyle == oauth2.AuthStyleInHeader {
				conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
			} else {
				conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
			}
			if _, err := refresh(conf, tok.RefreshToken); oauthError(err) != "invalid_client" {
				t.Errorf("%s client: a refresh authenticated the other way gave %v, want invalid_client", auth, err)
			}
		}
	})

	t.Run("a rotated-out refresh token revokes the grant", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, "basic")
		conf := f.oauth2Config()
		first := codeFlow(t, conf)
		second, err := refresh(conf, first.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Fatal("the refresh token was not rotated")
		}
		if st := f.callAPI(t, second.AccessToken); st != http.StatusOK {
			t.Fatalf("the API answered %d to a fresh token", st)
		}
		if _, err := refresh(conf, first.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Fatalf("reusing a rotated-out refresh token gave %v, want invalid_grant", err)
		}
		if n := f.srv.GrantsRevoked(); n != 1 {
			t.Errorf("GrantsRevoked = %d after a reuse, want 1", n)
		}
		if st := f.callAPI(t, second.AccessToken); st != http.StatusUnauthorized {
			t.Errorf("after the reuse the API answered %d to the grant's access token, want 401", st)
		}
		if _, err := refresh(conf, second.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Errorf("after the reuse the grant's newest refresh token gave %v, want invalid_grant", err)
		}
	})
}

// TestRotatedOutRefreshToken has another client spend freshtoken's refresh
// token behind its back. freshtoken's next renewal presents a rotated-out
// token, fosite revokes the grant (the counter the other tests check sees
// it), and freshtoken exits 3 telling the user to log in again, with the
// store left as it was.
func TestRotatedOutRefreshToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "body")
	f.login(t)
	before := f.record(t)
	if _, err := refresh(f.oauth2Config(), before.RefreshToken); err != nil {
		t.Fatal(err)
	}
	r := f.freshtoken(t, "token", "--force")
	if r.code != 3 || !strings.Contains(r.stderr, " login -e "+envName+"`") {
		t.Errorf("want exit 3 naming `freshtoken login -e %s`; got %v", envName, r)
	}
	if n := f.srv.GrantsRevoked(); n != 1 {
		t.Errorf("GrantsRevoked = %d, want 1", n)
	}
	keptWithProblem(t, before, f.record(t))
}

// TestAccessTokenRevokedEarly revokes the access token before it expires:
// the API answers 401, and freshtoken renews once and retries once.
func TestAccessTokenRevokedEarly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "basic")
	f.login(t)
	f.srv.RevokeAccessToken(t, f.record(t).AccessToken)
	f.checkMe(t, f.mustRun(t, "get", "/api/me"))
	if got := f.srv.APIStatuses(); len(got) != 2 || got[0] != http.StatusUnauthorized || got[1] != http.StatusOK {
		t.Errorf("API statuses %v, want a 401 then a 200", got)
	}
	if n := f.srv.RefreshGrants(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	f.checkClean(t)
}

// TestWrongClientAuth configures the other client authentication method
// than the one the client is registered for. freshtoken sends one refresh
// request, authenticated as configured, and reports a configuration error
// (exit 2) instead of retrying the other way, which would spend the refresh
// token twice with a server that checks the client after the token. The
// grant survives: with client_auth fixed, renewal works.
func TestWrongClientAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "basic")
	f.login(t)
	before := f.record(t)
	f.editConfig(t, `client_auth = "basic"`, `client_auth = "body"`)
	r := f.freshtoken(t, "token", "--force")
	if r.code != 2 || !strings.Contains(r.stderr, "client_auth") {
		t.Errorf("want exit 2 mentioning client_auth; got %v", r)
	}
	reqs := f.srv.TokenRequests()
	if n := f.srv.RefreshGrants(); n != 1 || reqs[len(reqs)-1].ClientAuth != "body" {
		t.Errorf("want one refresh request, authenticated in the body; token endpoint traffic:%s", f.srv.Summary())
	}
	keptWithProblem(t, before, f.record(t))

	f.editConfig(t, `client_auth = "body"`, `client_auth = "basic"`)
	if tok := strings.TrimSpace(f.mustRun(t, "token", "--force")); tok != f.srv.LastIssued(t).AccessToken {
		t.Error("after fixing client_auth, renewal did not store fosite's new token")
	}
	if n := f.srv.GrantsRevoked(); n != 0 {
		t.Errorf("GrantsRevoked = %d, want 0", n)
	}
}

// keptWithProblem checks that a refused renewal left the stored tokens as
// they were, and recorded beside them the problem that needs a person, for
// status to show.
func keptWithProblem(t *testing.T, before, after *store.Record) {
	t.Helper()
	if after.Problem == nil {
		t.Error("the refused renewal recorded no problem in the store")
	}
	tokens := *after
	tokens.Problem = before.Problem
	if tokens != *before {
		t.Error("a refused renewal changed the stored tokens")
	}
}
