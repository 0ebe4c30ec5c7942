// Package oidcop is a strict OpenID provider built from zitadel/oidc's op
// package, for testing freshtoken against a second server nobody on its
// team wrote (the first is fosite, in package authserver).
//
// It serves discovery, the authorization code grant with PKCE S256 and an
// auto-approving login step, refresh-token rotation with reuse detection,
// client_credentials, the device authorization grant (RFC 8628), token
// revocation (RFC 7009), and a protected API. Each client is registered for
// one authentication method (client_secret_basic, client_secret_post, none
// or private_key_jwt) and any other is refused. Tests read what happened
// from its counters: token requests by grant type and outcome, revocations,
// grants ended by reuse or revocation, discovery fetches, device polls.
package oidcop

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/freshtoken/freshtoken/interop/internal/traffic"
)

// Paths the server answers on; the first five are op's defaults.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	AuthorizePath = "/authorize"
	TokenPath     = "/oauth/token"
	RevokePath    = "/revoke"
	DevicePath    = "/device_authorization"
	// VerificationPath is the page where the user enters the device grant's
	// user code; a POST with user_code and decision=approve|deny decides.
	VerificationPath = "/device"
	// LoginPath is the login step op redirects to; it approves at once.
	LoginPath = "/login"
	APIPath   = "/api/me"
)

// Subject is the user who logs in and approves, always.
const Subject = "interop-user"

// Client authentication methods, as registered (RFC 7591 names).
const (
	ClientSecretBasic = string(oidc.AuthMethodBasic)
	ClientSecretPost  = string(oidc.AuthMethodPost)
	None              = string(oidc.AuthMethodNone)
	PrivateKeyJWT     = string(oidc.AuthMethodPrivateKeyJWT)
)

// Grant types, as sent in grant_type.
const (
	GrantRefreshToken      = string(oidc.GrantTypeRefreshToken)
	GrantClientCredentials = string(oidc.GrantTypeClientCredentials)
	GrantDeviceCode        = string(oidc.GrantTypeDeviceCode)
)

// clientAuthNames are freshtoken's client_auth names for the methods.
var clientAuthNames = map[string]string{
	ClientSecretBasic: "basic",
	ClientSecretPost:  "body",
	None:              "none",
	PrivateKeyJWT:     "private_key_jwt",
}

// Client is a client registered with the provider. Clients with a secret
// may also use client_credentials; every client may use the authorization
// code (always with PKCE S256), refresh token and device grants.
type Client struct {
	ID          string
	Secret      string           // for ClientSecretBasic and ClientSecretPost
	AuthMethod  string           // one of the four methods; no other is accepted from this client
	RedirectURI string           // loopback http is allowed
	PublicKey   crypto.PublicKey // for PrivateKeyJWT
}

// keyID is the key ID the provider gives a private_key_jwt client's key:
// its RFC 7638 thumbprint. Assertions may name it in kid, or name no key.
func keyID(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// Options configure a Server.
type Options struct {
	Clients []Client
	// AccessTokenLifetime is how long access tokens live (default 2s).
	// expires_in is rounded down, so 2s is announced as 1.
	AccessTokenLifetime time.Duration
	// DeviceCodeLifetime is how long a device code waits for the user
	// (default 1 minute).
	DeviceCodeLifetime time.Duration
	// PollInterval is the device grant's interval (default 1s).
	PollInterval time.Duration
}

// Revocation is one request to the revocation endpoint.
type Revocation struct {
	TokenTypeHint string
	ClientAuth    string
	Status        int
}

// Server is a running OpenID provider and protected API on 127.0.0.1.
type Server struct {
	// URL is the issuer: the server's root, without a trailing slash.
	URL string

	// Log has what the provider saw: authorisation and token requests, the
	// tokens it issued, and the secrets it issued or received.
	traffic.Log

	provider *op.Provider
	storage  *storage
	http     *httptest.Server

	revocations traffic.List[Revocation]

	discoveries          atomic.Int64
	deviceAuthorizations atomic.Int64
}

// SetAccessTokenLifetime sets how long the access tokens issued from now on
// live; those issued before keep theirs.
func (s *Server) SetAccessTokenLifetime(d time.Duration) {
	s.storage.mu.Lock()
	defer s.storage.mu.Unlock()
	s.storage.accessTTL = d
}

// New starts a provider for t, closed when t ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.AccessTokenLifetime <= 0 {
		o.AccessTokenLifetime = 2 * time.Second
	}
	if o.DeviceCodeLifetime <= 0 {
		o.DeviceCodeLifetime = time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	s := &Server{}
	mux := http.NewServeMux()
	s.http = httptest.NewServer(s.frontDoor(mux)) // on 127.0.0.1
	t.Cleanup(s.http.Close)
	s.URL = s.http.URL

	clients := map[string]*client{}
	for _, c := range o.Clients {
		if _, ok := clientAuthNames[c.AuthMethod]; !ok {
			t.Fatalf("client %s: unknown authentication method %q", c.ID, c.AuthMethod)
		}
		cl := &client{Client: c, loginURL: s.URL + LoginPath}
		if c.PublicKey != nil {
			var err error
			if cl.keyID, err = keyID(c.PublicKey); err != nil {
				t.Fatal(err)
			}
		}
		clients[c.ID] = cl
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s.storage = newStorage(clients, o, signingKey{id: newID(), key: key})
	config := &op.Config{
		AuthMethodPost:          true,
		AuthMethodPrivateKeyJWT: true,
		GrantTypeRefreshToken:   true,
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     o.DeviceCodeLifetime,
			PollInterval: o.PollInterval,
			UserFormPath: VerificationPath,
			UserCode:     op.UserCodeBase20,
		},
	}
	rand.Read(config.CryptoKey[:])
	s.provider, err = op.NewProvider(config, s.storage, op.StaticIssuer(s.URL), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET "+LoginPath, s.login)
	mux.HandleFunc(VerificationPath, s.verification)
	mux.HandleFunc("GET "+APIPath, s.me)
	mux.Handle("/", s.provider)
	return s
}

// AuthURL is the authorization endpoint.
func (s *Server) AuthURL() string { return s.URL + AuthorizePath }

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.URL + TokenPath }

// RevocationURL is the revocation endpoint (RFC 7009).
func (s *Server) RevocationURL() string { return s.URL + RevokePath }

// DeviceAuthorizationURL is the device authorization endpoint (RFC 8628).
func (s *Server) DeviceAuthorizationURL() string { return s.URL + DevicePath }

// VerificationURL is the page where the user enters a user code.
func (s *Server) VerificationURL() string { return s.URL + VerificationPath }

// APIURL is the protected API, which answers 200 with JSON to a live
// access token and 401 otherwise.
func (s *Server) APIURL() string { return s.URL + APIPath }

// frontDoor records every request the tests assert on, and refuses a
// client that authenticates other than as registered (op alone accepts any
// method a client has credentials for).
func (s *Server) frontDoor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		switch {
		case r.Method == http.MethodGet && path == DiscoveryPath:
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.status() == http.StatusOK {
				s.discoveries.Add(1)
			}
			return
		case r.Method == http.MethodGet && path == AuthorizePath:
			s.AddAuthorization(r.URL.Query())
		case r.Method == http.MethodGet && path == AuthorizePath+"/callback":
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if loc, err := url.Parse(rec.Header().Get("Location")); err == nil && loc.Query().Get("code") != "" {
				s.AddSecrets(loc.Query().Get("code"))
			}
			return
		case r.Method == http.MethodPost && (path == TokenPath || path == RevokePath || path == DevicePath):
			s.clientEndpoint(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientEndpoint serves the endpoints where clients authenticate.
func (s *Server) clientEndpoint(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	form := r.PostForm
	method, clientID := clientAuth(r)
	if _, pass, ok := r.BasicAuth(); ok {
		if p, err := url.QueryUnescape(pass); err == nil {
			s.AddSecrets(p)
		}
	}
	for _, k := range []string{"code", "code_verifier", "refresh_token", "client_secret", "client_assertion", "device_code", "token"} {
		s.AddSecrets(form.Get(k))
	}
	rec := &recorder{ResponseWriter: w, body: &bytes.Buffer{}}
	if c, ok := s.storage.clients[clientID]; ok && clientAuthNames[c.Client.AuthMethod] != method {
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(rec).Encode(map[string]string{
			"error":             "invalid_client",
			"error_description": fmt.Sprintf("client %s is registered for %s, not %s", clientID, c.Client.AuthMethod, method),
		})
	} else {
		next.ServeHTTP(rec, r)
	}
	var answer struct {
		Error        string `json:"error"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		DeviceCode   string `json:"device_code"`
	}
	json.Unmarshal(rec.body.Bytes(), &answer)
	s.AddSecrets(answer.AccessToken, answer.RefreshToken, answer.DeviceCode)
	switch r.URL.Path {
	case TokenPath:
		grantType := form.Get("grant_type")
		s.AddTokenRequest(traffic.TokenRequest{Time: time.Now(), GrantType: grantType, ClientAuth: method, Status: rec.status(), Error: answer.Error},
			traffic.Issued{GrantType: grantType, AccessToken: answer.AccessToken, RefreshToken: answer.RefreshToken})
	case RevokePath:
		s.revocations.Add(Revocation{TokenTypeHint: form.Get("token_type_hint"), ClientAuth: method, Status: rec.status()})
	case DevicePath:
		if rec.status() == http.StatusOK {
			s.deviceAuthorizations.Add(1)
		}
	}
}

// clientAuth says how a request, its form parsed, authenticated its
// client, in freshtoken's words, and which client it names. The client of
// an assertion is read without checking the signature; op checks it.
func clientAuth(r *http.Request) (method, clientID string) {
	if id, _, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		return "basic", id
	}
	form := r.PostForm
	switch {
	case form.Get("client_assertion_type") == oidc.ClientAssertionTypeJWTAssertion:
		var claims struct {
			Issuer string `json:"iss"`
		}
		if parts := strings.Split(form.Get("client_assertion"), "."); len(parts) == 3 {
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			json.Unmarshal(payload, &claims)
		}
		return "private_key_jwt", claims.Issuer
	case form.Get("client_secret") != "":
		return "body", form.Get("client_id")
	}
	return "none", form.Get("client_id")
}

// recorder keeps a response's status, and a copy of its body if body is set.
type recorder struct {
	http.ResponseWriter
	code int
	body *bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if r.body != nil {
		r.body.Write(p)
	}
	return r.ResponseWriter.Write(p)
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// login is the login step op sends the browser to: the user logs in as
// Subject and allows everything, and the browser goes back to op.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if err := s.storage.approve(id, Subject); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := op.ContextWithIssuer(r.Context(), s.URL)
	http.Redirect(w, r, op.AuthCallbackURL(s.provider)(ctx, id), http.StatusFound)
}

// verification is the device grant's page: GET shows a form, POST with
// user_code and decision (approve or deny) decides.
func (s *Server) verification(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form method="post"><input name="user_code" value="%s"><button name="decision" value="approve">Allow</button><button name="decision" value="deny">Deny</button></form>`,
			html.EscapeString(r.URL.Query().Get("user_code")))
	case http.MethodPost:
		code := strings.ToUpper(strings.TrimSpace(r.PostFormValue("user_code")))
		decision := r.PostFormValue("decision")
		if decision != "approve" && decision != "deny" {
			http.Error(w, "decision must be approve or deny", http.StatusBadRequest)
			return
		}
		if err := s.storage.decideDevice(code, decision == "approve"); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%sd; you can return to your device.\n", decision)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// me is the protected API: the bearer token must be a live access token.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	var g *grant
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if plain, err := s.provider.Crypto().Decrypt(token); ok && err == nil {
		if id, _, found := strings.Cut(plain, ":"); found {
			g = s.storage.liveGrant(id)
		}
	}
	if g == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token"})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"subject": g.subject, "client_id": g.clientID, "scopes": g.scopes})
}

// SlowDown makes the provider answer the next n polls for userCode with
// slow_down, however slow they come.
func (s *Server) SlowDown(t testing.TB, userCode string, n int) {
	t.Helper()
	if err := s.storage.updateDevice(userCode, func(d *device) error { d.slowDowns += n; return nil }); err != nil {
		t.Fatal(err)
	}
}

// ExpireDevice lets the device code of userCode expire now.
func (s *Server) ExpireDevice(t testing.TB, userCode string) {
	t.Helper()
	if err := s.storage.updateDevice(userCode, func(d *device) error { d.expires = time.Now().Add(-time.Second); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TooFastPolls counts the device grant polls that came sooner than the
// interval (as grown by slow_down) allowed.
func (s *Server) TooFastPolls() int {
	s.storage.mu.Lock()
	defer s.storage.mu.Unlock()
	n := 0
	for _, d := range s.storage.devices {
		n += d.tooFast
	}
	return n
}

// DeviceAuthorizations counts the device codes issued.
func (s *Server) DeviceAuthorizations() int { return int(s.deviceAuthorizations.Load()) }

// Revocations returns every request to the revocation endpoint, in order.
func (s *Server) Revocations() []Revocation { return s.revocations.All() }

// GrantsRevoked counts the grants ended through the revocation endpoint.
func (s *Server) GrantsRevoked() int {
	s.storage.mu.Lock()
	defer s.storage.mu.Unlock()
	return s.storage.revoked
}

// ReuseDetections counts the grants ended because a retired refresh token
// was presented again.
func (s *Server) ReuseDetections() int {
	s.storage.mu.Lock()
	defer s.storage.mu.Unlock()
	return s.storage.reuses
}

// DiscoveryFetches counts the discovery documents served.
func (s *Server) DiscoveryFetches() int { return int(s.discoveries.Load()) }

// Summary describes the token and revocation endpoints' traffic, for
// failure messages.
func (s *Server) Summary() string {
	var b strings.Builder
	b.WriteString(s.Log.Summary())
	for _, r := range s.Revocations() {
		fmt.Fprintf(&b, "\n  revoke %s auth=%s status=%d", r.TokenTypeHint, r.ClientAuth, r.Status)
	}
	return b.String()
}

// client is a registered Client as op sees it.
type client struct {
	Client
	keyID    string
	loginURL string
}

func (c *client) GetID() string                       { return c.ID }
func (c *client) RedirectURIs() []string              { return []string{c.RedirectURI} }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) LoginURL(id string) string           { return c.loginURL + "?id=" + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return time.Minute }
func (c *client) DevMode() bool                       { return false }
func (c *client) IsScopeAllowed(scope string) bool {
	return scope == "read" || scope == "write"
}
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) AuthMethod() oidc.AuthMethod          { return oidc.AuthMethod(c.Client.AuthMethod) }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

// ApplicationType is native for a public client, which op then holds to
// PKCE and loopback redirects, and web for the others.
func (c *client) ApplicationType() op.ApplicationType {
	if c.Client.AuthMethod == None {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *client) GrantTypes() []oidc.GrantType {
	grants := []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
	if c.Secret != "" {
		grants = append(grants, oidc.GrantTypeClientCredentials)
	}
	return grants
}

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// signingKey signs the provider's ID tokens; publicKey publishes it.
type signingKey struct {
	id  string
	key *ecdsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }
