package interop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/freshtoken/freshtoken/interop/oidcop"
)

// opAnswer is what the provider answered a client's POST.
type opAnswer struct {
	Status       int
	Error        string `json:"error"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	DeviceCode   string `json:"device_code"`
	UserCode     string `json:"user_code"`
	Interval     int    `json:"interval"`
}

// post sends form to one of the provider's endpoints as the fixture's
// client, authenticated as registered; a private_key_jwt client's form
// must carry its assertion already.
func (f *opFixture) post(t *testing.T, endpoint string, form url.Values) opAnswer {
	t.Helper()
	switch f.clientAuth {
	case "body":
		form.Set("client_id", f.client.ID)
		form.Set("client_secret", f.client.Secret)
	case "none":
		form.Set("client_id", f.client.ID)
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if f.clientAuth == "basic" {
		req.SetBasicAuth(url.QueryEscape(f.client.ID), url.QueryEscape(f.client.Secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := opAnswer{Status: resp.StatusCode}
	json.NewDecoder(resp.Body).Decode(&a)
	return a
}

// assertion is a private_key_jwt client assertion (RFC 7523) for clientID,
// signed with key, for the audience aud.
func assertion(t *testing.T, key *rsa.PrivateKey, clientID, aud string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{
		"iss": clientID, "sub": clientID, "aud": aud, "jti": rand.Text(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authorizeCode plays the browser through an authorization request with
// PKCE S256 and returns the code and its verifier.
func (f *opFixture) authorizeCode(t *testing.T) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	cb := followToCallback(t, f.oauth2Config().AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier)), f.client.RedirectURI)
	if cb.Query().Get("code") == "" {
		t.Fatalf("the provider refused the authorisation request: %s", cb)
	}
	return cb.Query().Get("code"), verifier
}

// decideDevice plays the user at the device grant's verification page:
// decision is "approve" or "deny".
func (f *opFixture) decideDevice(t *testing.T, userCode, decision string) {
	t.Helper()
	resp, err := http.PostForm(f.srv.VerificationURL(), url.Values{"user_code": {userCode}, "decision": {decision}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the verification page answered %s to %s", resp.Status, decision)
	}
}

// TestOPIsStrict shows that the OpenID provider refuses what a careless
// client would do, and that each grant works for a careful one, so the
// other tests passing means freshtoken does it right.
func TestOPIsStrict(t *testing.T) {
	t.Parallel()

	t.Run("PKCE S256 is required", func(t *testing.T) {
		t.Parallel()
		f := newOPFixture(t, opSetup{})
		conf := f.oauth2Config()
		verifier := oauth2.GenerateVerifier()
		for name, u := range map[string]string{
			"no PKCE": conf.AuthCodeURL("state-0123456789"),
			"plain PKCE": conf.AuthCodeURL("state-0123456789",
				oauth2.SetAuthURLParam("code_challenge_method", "plain"), oauth2.SetAuthURLParam("code_challenge", verifier)),
		} {
			cb := followToCallback(t, u, f.client.RedirectURI)
			if cb.Query().Get("error") == "" || cb.Query().Get("code") != "" {
				t.Errorf("an authorisation request with %s was granted: %s", name, cb)
			}
		}
	})

	t.Run("each client authenticates only as registered", func(t *testing.T) {
		t.Parallel()
		for _, auth := range []string{"basic", "body"} {
			f := newOPFixture(t, opSetup{clientAuth: auth})
			conf := f.oauth2Config()
			tok := codeFlow(t, conf)
			other := clientConfig(f.client.ID, f.client.Secret, map[string]string{"basic": "body", "body": "basic"}[auth], f.srv.AuthURL(), f.srv.TokenURL(), f.client.RedirectURI)
			if _, err := refresh(other, tok.RefreshToken); oauthError(err) != "invalid_client" {
				t.Errorf("%s client: a refresh authenticated the other way gave %v, want invalid_client", auth, err)
			}
			noSecret := clientConfig(f.client.ID, "", "none", f.srv.AuthURL(), f.srv.TokenURL(), f.client.RedirectURI)
			if _, err := refresh(noSecret, tok.RefreshToken); oauthError(err) != "invalid_client" {
				t.Errorf("%s client: a refresh with no secret gave %v, want invalid_client", auth, err)
			}
			if _, err := refresh(conf, tok.RefreshToken); err != nil {
				t.Errorf("%s client: the refresh token was spent by a refused request: %v", auth, err)
			}
		}
	})

	t.Run("a public client needs no secret", func(t *testing.T) {
		t.Parallel()
		f := newOPFixture(t, opSetup{clientAuth: "none"})
		tok := codeFlow(t, f.oauth2Config())
		if _, err := refresh(f.oauth2Config(), tok.RefreshToken); err != nil {
			t.Fatal(err)
		}
		for _, r := range f.srv.TokenRequests() {
			if r.ClientAuth != "none" || r.Status != http.StatusOK {
				t.Errorf("traffic:%s", f.srv.Summary())
			}
		}
	})

	t.Run("private_key_jwt needs an assertion signed with the registered key", func(t *testing.T) {
		t.Parallel()
		f := newOPFixture(t, opSetup{clientAuth: "private_key_jwt"})
		other, _, _ := writeKey(t)
		code, verifier := f.authorizeCode(t)
		exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {f.client.RedirectURI}}
		for name, jwt := range map[string]string{
			"another key":                    assertion(t, other, f.client.ID, f.srv.URL),
			"the token endpoint as audience": assertion(t, f.key, f.client.ID, f.srv.TokenURL()),
		} {
			form := url.Values{"client_assertion_type": {oidc.ClientAssertionTypeJWTAssertion}, "client_assertion": {jwt}}
			for k, v := range exchange {
				form[k] = v
			}
			if a := f.post(t, f.srv.TokenURL(), form); a.Status == http.StatusOK {
				t.Errorf("a client assertion with %s was accepted", name)
			}
		}
		secret := url.Values{"client_id": {f.client.ID}, "client_secret": {"guess"}}
		for k, v := range exchange {
			secret[k] = v
		}
		if a := f.post(t, f.srv.TokenURL(), secret); a.Error != "invalid_client" {
			t.Errorf("a private_key_jwt client sending a secret got %+v, want invalid_client", a)
		}
		form := url.Values{"client_assertion_type": {oidc.ClientAssertionTypeJWTAssertion}, "client_assertion": {assertion(t, f.key, f.client.ID, f.srv.URL)}}
		for k, v := range exchange {
			form[k] = v
		}
		a := f.post(t, f.srv.TokenURL(), form)
		if a.Status != http.StatusOK || a.RefreshToken == "" {
			t.Fatalf("a good assertion (audience: the issuer) was refused: %+v; traffic:%s", a, f.srv.Summary())
		}
	})

	t.Run("client_credentials with the registered method only", func(t *testing.T) {
		t.Parallel()
		for _, auth := range []string{"basic", "body"} {
			f := newOPFixture(t, opSetup{clientAuth: auth})
			cc := func(auth string) *clientcredentials.Config {
				c := clientConfig(f.client.ID, f.client.Secret, auth, "", f.srv.TokenURL(), "")
				return &clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.Endpoint.TokenURL, AuthStyle: c.Endpoint.AuthStyle, Scopes: []string{"read"}}
			}
			tok, err := cc(auth).Token(context.Background())
			if err != nil {
				t.Fatalf("%s: %v", auth, err)
			}
			if st := f.callAPI(t, tok.AccessToken); st != http.StatusOK || tok.RefreshToken != "" {
				t.Errorf("%s: the API answered %d to a client_credentials token (refresh token given: %t)", auth, st, tok.RefreshToken != "")
			}
			if _, err := cc(map[string]string{"basic": "body", "body": "basic"}[auth]).Token(context.Background()); oauthError(err) != "invalid_client" {
				t.Errorf("%s client: client_credentials authenticated the other way gave %v, want invalid_client", auth, err)
			}
		}
	})

	t.Run("device grant", func(t *testing.T) {
		t.Parallel()
		f := newOPFixture(t, opSetup{})
		start := func() opAnswer {
			t.Helper()
			a := f.post(t, f.srv.DeviceAuthorizationURL(), url.Values{"scope": {"offline_access read"}})
			if a.Status != http.StatusOK || a.DeviceCode == "" || a.UserCode == "" || a.Interval != 1 {
				t.Fatalf("device authorization: %+v", a)
			}
			return a
		}
		poll := func(a opAnswer) opAnswer {
			t.Helper()
			return f.post(t, f.srv.TokenURL(), url.Values{"grant_type": {oidcop.GrantDeviceCode}, "device_code": {a.DeviceCode}})
		}

		pending := start()
		if got := poll(pending).Error; got != "authorization_pending" {
			t.Errorf("first poll: %q, want authorization_pending", got)
		}
		if got := poll(pending).Error; got != "slow_down" || f.srv.TooFastPolls() != 1 {
			t.Errorf("a poll sooner than the interval: %q (too fast: %d), want slow_down", got, f.srv.TooFastPolls())
		}

		slow := start()
		f.srv.SlowDown(t, slow.UserCode, 1)
		if got := poll(slow).Error; got != "slow_down" {
			t.Errorf("a poll the test slowed down: %q, want slow_down", got)
		}

		approved := start()
		f.decideDevice(t, approved.UserCode, "approve")
		a := poll(approved)
		if a.Status != http.StatusOK || a.RefreshToken == "" {
			t.Fatalf("an approved device code: %+v", a)
		}
		if st := f.callAPI(t, a.AccessToken); st != http.StatusOK {
			t.Errorf("the API answered %d to the device grant's token", st)
		}

		denied := start()
		f.decideDevice(t, denied.UserCode, "deny")
		if got := poll(denied).Error; got != "access_denied" {
			t.Errorf("a denied device code: %q, want access_denied", got)
		}

		expired := start()
		f.srv.ExpireDevice(t, expired.UserCode)
		if got := poll(expired).Error; got != "expired_token" {
			t.Errorf("an expired device code: %q, want expired_token", got)
		}
	})
}
