// Package authserver is a strict OAuth 2.0 authorization server built from
// ory/fosite, for testing freshtoken against code nobody on its team wrote.
//
// It enforces what a careful production server enforces: the authorization
// code grant needs PKCE with S256 (plain is refused), each client must
// authenticate with the one method it is registered for, every refresh
// rotates the refresh token, and presenting a rotated-out refresh token is
// treated as theft: fosite revokes the whole grant, access and refresh
// tokens alike. Tests read what happened from the server's counters: how
// many refresh grants reached the token endpoint, which tokens it issued, and
// whether it ever revoked a grant.
package authserver

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/storage"
	"golang.org/x/crypto/bcrypt"

	"github.com/freshtoken/freshtoken/interop/internal/traffic"
)

// Paths the server answers on.
const (
	AuthorizePath = "/oauth2/auth"
	TokenPath     = "/oauth2/token"
	APIPath       = "/api/me"
)

// Subject is the user the authorize endpoint approves for, playing the part
// of a person who always clicks "Allow".
const Subject = "interop-user"

// Client authentication methods, as registered with the server (RFC 7591
// names). freshtoken's client_auth "basic" is ClientSecretBasic and "body"
// is ClientSecretPost.
const (
	ClientSecretBasic = "client_secret_basic"
	ClientSecretPost  = "client_secret_post"
)

// Client is an OAuth client registered with the server.
type Client struct {
	ID          string
	Secret      string
	AuthMethod  string // ClientSecretBasic or ClientSecretPost; nothing else is accepted
	RedirectURI string
}

// Options configure a Server.
type Options struct {
	Clients []Client
	// AccessTokenLifetime is how long access tokens live (default 2s, so
	// tests see renewals within seconds).
	AccessTokenLifetime time.Duration
}

// Server is a running authorization server and protected API on 127.0.0.1.
type Server struct {
	// URL is the server's root, without a trailing slash.
	URL string

	// Log has what the server saw: authorisation and token requests, the
	// tokens it issued, and the secrets it issued or received.
	traffic.Log

	provider fosite.OAuth2Provider
	store    *revocationRecorder
	http     *httptest.Server
	lifetime *atomic.Int64 // of the access tokens issued from now on

	apiStatuses traffic.List[int]
}

// New starts a server for t, closed when t ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.AccessTokenLifetime <= 0 {
		o.AccessTokenLifetime = 2 * time.Second
	}
	mem := storage.NewMemoryStore()
	lifetime := new(atomic.Int64)
	lifetime.Store(int64(o.AccessTokenLifetime))
	for _, c := range o.Clients {
		hash, err := bcrypt.GenerateFromPassword([]byte(c.Secret), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		mem.Clients[c.ID] = &settableLifetimeClient{lifetime: lifetime, DefaultOpenIDConnectClient: &fosite.DefaultOpenIDConnectClient{
			DefaultClient: &fosite.DefaultClient{
				ID:            c.ID,
				Secret:        hash,
				RedirectURIs:  []string{c.RedirectURI},
				GrantTypes:    []string{"authorization_code", "refresh_token"},
				ResponseTypes: []string{"code"},
				Scopes:        []string{"offline_access", "read"},
			},
			TokenEndpointAuthMethod: c.AuthMethod,
		}}
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	config := &fosite.Config{
		AccessTokenLifespan:            o.AccessTokenLifetime,
		RefreshTokenLifespan:           time.Hour,
		AuthorizeCodeLifespan:          time.Minute,
		GlobalSecret:                   secret,
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		SendDebugMessagesToClients:     true,
	}
	rec := &revocationRecorder{MemoryStore: mem}
	s := &Server{
		store:    rec,
		lifetime: lifetime,
		provider: compose.Compose(config, rec, compose.NewOAuth2HMACStrategy(config),
			compose.OAuth2AuthorizeExplicitFactory,
			compose.OAuth2RefreshTokenGrantFactory,
			compose.OAuth2TokenIntrospectionFactory,
			compose.OAuth2PKCEFactory,
		),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+AuthorizePath, s.authorize)
	mux.HandleFunc("POST "+TokenPath, s.token)
	mux.HandleFunc("GET "+APIPath, s.me)
	s.http = httptest.NewServer(mux) // on 127.0.0.1
	t.Cleanup(s.http.Close)
	s.URL = s.http.URL
	return s
}

// SetAccessTokenLifetime sets how long the access tokens issued from now on
// live; those issued before keep theirs.
func (s *Server) SetAccessTokenLifetime(d time.Duration) { s.lifetime.Store(int64(d)) }

// settableLifetimeClient is a registered client whose access tokens live
// as long as its server says at the time they are issued.
type settableLifetimeClient struct {
	*fosite.DefaultOpenIDConnectClient
	lifetime *atomic.Int64
}

// GetEffectiveLifespan gives access tokens the server's current lifetime,
// and everything else fosite's configured one.
func (c *settableLifetimeClient) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	if tt == fosite.AccessToken {
		return time.Duration(c.lifetime.Load())
	}
	return fallback
}

// AuthURL is the authorize endpoint.
func (s *Server) AuthURL() string { return s.URL + AuthorizePath }

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.URL + TokenPath }

// APIURL is the protected API endpoint, which answers 200 with JSON to a
// valid access token and 401 otherwise.
func (s *Server) APIURL() string { return s.URL + APIPath }

// authorize approves every valid request at once, as if the user clicked
// "Allow", and redirects to the client's callback; fosite refuses invalid
// ones (no PKCE, plain PKCE, unknown redirect URI) with an error redirect.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.AddAuthorization(r.URL.Query())
	ar, err := s.provider.NewAuthorizeRequest(ctx, r)
	if err != nil {
		s.provider.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	for _, scope := range ar.GetRequestedScopes() {
		ar.GrantScope(scope)
	}
	resp, err := s.provider.NewAuthorizeResponse(ctx, ar, &fosite.DefaultSession{Subject: Subject})
	if err != nil {
		s.provider.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	s.AddSecrets(resp.GetCode())
	s.provider.WriteAuthorizeResponse(ctx, w, ar, resp)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.ParseForm()
	req := traffic.TokenRequest{Time: time.Now(), GrantType: r.PostForm.Get("grant_type"), ClientAuth: clientAuth(r)}
	var issued traffic.Issued
	ar, err := s.provider.NewAccessRequest(ctx, r, &fosite.DefaultSession{})
	if err == nil {
		var resp fosite.AccessResponder
		resp, err = s.provider.NewAccessResponse(ctx, ar)
		if err == nil {
			refresh, _ := resp.GetExtra("refresh_token").(string)
			issued = traffic.Issued{GrantType: req.GrantType, AccessToken: resp.GetAccessToken(), RefreshToken: refresh}
			s.provider.WriteAccessResponse(ctx, w, ar, resp)
		}
	}
	if err != nil {
		rfc := fosite.ErrorToRFC6749Error(err)
		req.Status, req.Error = rfc.StatusCode(), rfc.ErrorField
		s.provider.WriteAccessError(ctx, w, ar, err)
	} else {
		req.Status = http.StatusOK
	}
	for _, k := range []string{"code", "code_verifier", "refresh_token", "client_secret"} {
		s.AddSecrets(r.PostForm.Get(k))
	}
	s.AddSecrets(issued.AccessToken, issued.RefreshToken)
	s.AddTokenRequest(req, issued)
}

// clientAuth says how a token request, its form parsed, carried its client
// secret.
func clientAuth(r *http.Request) string {
	if _, _, ok := r.BasicAuth(); ok {
		return "basic"
	}
	if r.PostForm.Get("client_secret") != "" {
		return "body"
	}
	return "none"
}

// me is the protected API: it introspects the bearer token with fosite.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Content-Type", "application/json")
	_, ar, err := s.provider.IntrospectToken(ctx, fosite.AccessTokenFromRequest(r), fosite.AccessToken, &fosite.DefaultSession{})
	status := http.StatusOK
	if err != nil {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	s.apiStatuses.Add(status)
	w.WriteHeader(status)
	if err != nil {
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token"})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"subject":   ar.GetSession().GetSubject(),
		"client_id": ar.GetClient().GetID(),
		"scopes":    ar.GetGrantedScopes(),
	})
}

// RevokeAccessToken revokes the grant's current access token only, as a
// provider does when it ends a session early; its refresh token stays
// valid. It is not counted by GrantsRevoked.
func (s *Server) RevokeAccessToken(t testing.TB, accessToken string) {
	t.Helper()
	ctx := context.Background()
	_, ar, err := s.provider.IntrospectToken(ctx, accessToken, fosite.AccessToken, &fosite.DefaultSession{})
	if err != nil {
		t.Fatalf("revoke access token: %v", err)
	}
	if err := s.store.MemoryStore.RevokeAccessToken(ctx, ar.GetID()); err != nil {
		t.Fatalf("revoke access token: %v", err)
	}
}

// RefreshGrants counts the refresh_token grant requests received,
// successful or not.
func (s *Server) RefreshGrants() int { return s.TokenRequestsFor("refresh_token") }

// APIStatuses returns the status of every answer of the protected API.
func (s *Server) APIStatuses() []int { return s.apiStatuses.All() }

// GrantsRevoked counts the grants fosite revoked on its own, each time it
// saw a refresh token (or an authorization code) presented twice. Routine
// rotation does not count.
func (s *Server) GrantsRevoked() int {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.refreshRevocations
}

// revocationRecorder counts the grant revocations fosite's handlers ask
// for. Rotation retires the old tokens through MemoryStore's own methods and
// is not seen here; only reuse detection calls RevokeRefreshToken through
// the storage interface (this server serves no revocation endpoint).
type revocationRecorder struct {
	*storage.MemoryStore

	mu                 sync.Mutex
	refreshRevocations int
}

func (r *revocationRecorder) RevokeRefreshToken(ctx context.Context, requestID string) error {
	r.mu.Lock()
	r.refreshRevocations++
	r.mu.Unlock()
	return r.MemoryStore.RevokeRefreshToken(ctx, requestID)
}
