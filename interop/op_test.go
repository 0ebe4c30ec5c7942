package interop

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/interop/oidcop"
)

// opEnv is the freshtoken environment the OpenID provider's tests configure.
const opEnv = "idp"

// opSetup says how a test configures the provider's client and freshtoken.
type opSetup struct {
	// clientAuth is freshtoken's client_auth, which the one client is
	// registered for: "basic" (the default), "body", "none" or
	// "private_key_jwt".
	clientAuth string
	// discovery configures `issuer` instead of endpoint URLs.
	discovery bool
	// grant is freshtoken's grant; "" leaves the default,
	// authorization_code.
	grant string
}

// opFixture is a zitadel/oidc provider with one client, and a freshtoken
// configuration for it: an environment named opEnv, a file store in a
// temporary folder, and a redirect URI on a free loopback port.
type opFixture struct {
	*harness
	srv        *oidcop.Server
	client     oidcop.Client
	clientAuth string
	keyFile    string          // the private key's PEM file, for private_key_jwt
	key        *rsa.PrivateKey // the client's key, for private_key_jwt
}

var opMethods = map[string]string{
	"basic":           oidcop.ClientSecretBasic,
	"body":            oidcop.ClientSecretPost,
	"none":            oidcop.None,
	"private_key_jwt": oidcop.PrivateKeyJWT,
}

func newOPFixture(t *testing.T, s opSetup) *opFixture {
	t.Helper()
	if s.clientAuth == "" {
		s.clientAuth = "basic"
	}
	f := &opFixture{clientAuth: s.clientAuth}
	f.client = oidcop.Client{
		ID:          "freshtoken-" + s.clientAuth,
		AuthMethod:  opMethods[s.clientAuth],
		RedirectURI: fmt.Sprintf("http://127.0.0.1:%d/callback", testenv.FreePort(t)),
	}
	var lines strings.Builder
	fmt.Fprintf(&lines, "client_id = %q\nclient_auth = %q\nredirect_uri = %q\nscopes = [\"offline_access\", \"read\"]\n",
		f.client.ID, s.clientAuth, f.client.RedirectURI)
	var secrets []string
	switch s.clientAuth {
	case "basic", "body":
		f.client.Secret = clientSecret
		fmt.Fprintf(&lines, "client_secret_env = %q\n", secretEnv)
		secrets = append(secrets, clientSecret)
	case "private_key_jwt":
		var pemKey string
		f.key, f.keyFile, pemKey = writeKey(t)
		f.client.PublicKey = &f.key.PublicKey
		fmt.Fprintf(&lines, "key_file = %q\n", f.keyFile)
		secrets = append(secrets, pemKey, strings.Split(pemKey, "\n")[1])
	}
	f.srv = oidcop.New(t, oidcop.Options{Clients: []oidcop.Client{f.client}})
	fmt.Fprintf(&lines, "api_url = %q\n", f.srv.URL+"/")
	if s.clientAuth == "private_key_jwt" {
		// zitadel/oidc accepts only its issuer as an assertion's audience.
		fmt.Fprintf(&lines, "assertion_audience = [%q]\n", f.srv.URL)
	}
	if s.discovery {
		fmt.Fprintf(&lines, "issuer = %q\n", f.srv.URL)
	} else {
		fmt.Fprintf(&lines, "provider = \"generic\"\nauth_url = %q\ntoken_url = %q\nrevocation_url = %q\n",
			f.srv.AuthURL(), f.srv.TokenURL(), f.srv.RevocationURL())
	}
	if s.grant != "" {
		fmt.Fprintf(&lines, "grant = %q\n", s.grant)
	}
	f.harness = newHarness(t, f.srv, opEnv, f.client.RedirectURI, lines.String(), secrets...)
	return f
}

// writeKey makes an RSA key and writes it as a PKCS #8 PEM file, mode 0600.
func writeKey(t *testing.T) (key *rsa.PrivateKey, path, pemKey string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	path = filepath.Join(t.TempDir(), "client-key.pem")
	if err := os.WriteFile(path, []byte(pemKey), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, path, pemKey
}

// oauth2Config is an x/oauth2 client for the fixture's client, bypassing
// freshtoken, to spend or reuse tokens behind its back.
func (f *opFixture) oauth2Config() *oauth2.Config {
	return clientConfig(f.client.ID, f.client.Secret, f.clientAuth, f.srv.AuthURL(), f.srv.TokenURL(), f.client.RedirectURI)
}

// checkMe checks an answer of the provider's protected API.
func (f *opFixture) checkMe(t *testing.T, body string) {
	t.Helper()
	checkMe(t, body, oidcop.Subject, f.client.ID)
}

// checkClean fails the test if the provider ended a grant, or refused a
// token request, or saw the client authenticate other than as configured.
func (f *opFixture) checkClean(t *testing.T) {
	t.Helper()
	f.checkTraffic(t, f.clientAuth, f.srv.ReuseDetections())
}

// checkAuthorization checks the one authorisation request.
func (f *opFixture) checkAuthorization(t *testing.T) {
	t.Helper()
	checkAuthorization(t, f.srv.Authorizations(), f.client.ID, f.client.RedirectURI)
}

// TestOPRotation logs in to the OpenID provider with code and PKCE, then
// two freshtoken processes meet the expired token at once: one renews, the
// other uses what it stored, so the provider sees one refresh and no
// reuse, and the grant lives on. Presenting the retired refresh token again
// (behind freshtoken's back) then ends the grant, which shows the provider
// would have caught a second refresh.
func TestOPRotation(t *testing.T) {
	eachClientAuth(t, secretAuths, func(t *testing.T, auth string) {
		f := newOPFixture(t, opSetup{clientAuth: auth})
		f.login(t)
		f.checkAuthorization(t)
		first, issued := f.record(t), f.srv.LastIssued(t)
		if first.AccessToken != issued.AccessToken || first.RefreshToken != issued.RefreshToken || issued.RefreshToken == "" {
			t.Fatal("the store does not hold the tokens the provider issued")
		}
		f.checkMe(t, f.mustRun(t, "get", "/api/me")) // renews if the machine is slow: expires_in is 1

		cur := f.record(t)
		f.waitExpired(t, cur.AccessToken)
		before := f.srv.TokenRequestsFor(oidcop.GrantRefreshToken)
		tokens := f.runAtOnce(t, 2, "token")
		renewed := f.srv.LastIssued(t)
		if tokens[renewed.AccessToken] != 2 {
			t.Errorf("the two processes printed %d different tokens, want both the renewed one", len(tokens))
		}
		if n := f.srv.TokenRequestsFor(oidcop.GrantRefreshToken) - before; n != 1 {
			t.Fatalf("%d refreshes for two processes at expiry, want 1; traffic:%s", n, f.srv.Summary())
		}
		f.checkClean(t)
		rec := f.record(t)
		if rec.RefreshToken != renewed.RefreshToken || rec.RefreshToken == cur.RefreshToken || rec.Renewals != cur.Renewals+1 {
			t.Fatalf("the store does not hold the one rotated refresh token (renewals %d, before %d)", rec.Renewals, cur.Renewals)
		}

		// The grant lives on: the rotated refresh token works.
		tok := strings.TrimSpace(f.mustRun(t, "token", "--force"))
		if tok != f.srv.LastIssued(t).AccessToken || tok == renewed.AccessToken {
			t.Errorf("token --force printed %q, not the new token the provider issued", tok)
		}
		f.checkMe(t, f.mustRun(t, "get", "/api/me"))
		f.checkClean(t)

		// The retired refresh token, presented again, ends the grant.
		if _, err := refresh(f.oauth2Config(), first.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Fatalf("the retired refresh token presented again gave %v, want invalid_grant", err)
		}
		if n := f.srv.ReuseDetections(); n != 1 {
			t.Errorf("ReuseDetections = %d after a reuse, want 1", n)
		}
		if st := f.callAPI(t, tok); st != http.StatusUnauthorized {
			t.Errorf("the API answered %d to the ended grant's access token, want 401", st)
		}
		r := f.freshtoken(t, "token", "--force")
		if r.code != 3 || !strings.Contains(r.stderr, " login -e "+opEnv+"`") {
			t.Errorf("after the grant ended: want exit 3 naming `freshtoken login -e %s`; got %v", opEnv, r)
		}
	})
}

// TestOPLogout logs out: freshtoken revokes the refresh token, then the
// access token, at the provider's revocation endpoint, authenticated as at
// the token endpoint, and forgets them; the old refresh token is refused
// afterwards. With --local nothing reaches the provider and the grant
// stays alive.
func TestOPLogout(t *testing.T) {
	eachClientAuth(t, secretAuths, func(t *testing.T, auth string) {
		f := newOPFixture(t, opSetup{clientAuth: auth})
		f.login(t)
		before := f.record(t)
		r := f.freshtoken(t, "logout")
		if r.code != 0 || !strings.Contains(r.stderr, "revoked") {
			t.Fatalf("want exit 0 saying the grant was revoked; got %v", r)
		}
		revs := f.srv.Revocations()
		if len(revs) != 2 || revs[0].TokenTypeHint != "refresh_token" || revs[1].TokenTypeHint != "access_token" {
			t.Fatalf("want the refresh token, then the access token, revoked; traffic:%s", f.srv.Summary())
		}
		for _, rv := range revs {
			if rv.Status != http.StatusOK || rv.ClientAuth != auth {
				t.Errorf("a revocation failed or was authenticated other than with %s; traffic:%s", auth, f.srv.Summary())
			}
		}
		if n := f.srv.GrantsRevoked(); n != 1 {
			t.Errorf("GrantsRevoked = %d, want 1", n)
		}
		if !f.forgotten(t) {
			t.Error("the tokens are still stored after logout")
		}
		if _, err := refresh(f.oauth2Config(), before.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Errorf("the revoked refresh token gave %v, want invalid_grant", err)
		}
		if st := f.callAPI(t, before.AccessToken); st != http.StatusUnauthorized {
			t.Errorf("the API answered %d to the revoked access token, want 401", st)
		}
		if n := f.srv.ReuseDetections(); n != 0 {
			t.Errorf("ReuseDetections = %d, want 0: the grant was revoked, not reused", n)
		}
		if r := f.freshtoken(t, "token"); r.code != 3 {
			t.Errorf("token after logout: want exit 3 (log-in needed); got %v", r)
		}
	})

	t.Run("local", func(t *testing.T) {
		t.Parallel()
		f := newOPFixture(t, opSetup{})
		f.login(t)
		before := f.record(t)
		if r := f.freshtoken(t, "logout", "--local"); r.code != 0 {
			t.Fatalf("%v", r)
		}
		if revs := f.srv.Revocations(); len(revs) != 0 {
			t.Errorf("logout --local sent %d revocation requests, want none", len(revs))
		}
		if !f.forgotten(t) {
			t.Error("the tokens are still stored after logout --local")
		}
		if _, err := refresh(f.oauth2Config(), before.RefreshToken); err != nil {
			t.Errorf("after logout --local the grant should live on at the provider; refresh: %v", err)
		}
	})
}
