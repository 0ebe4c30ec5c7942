package oidcop

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage keeps everything the provider knows in memory: clients, pending
// authorizations, device authorizations, grants and their tokens. It is
// where the provider's strictness lives that op leaves to its storage:
// PKCE S256 on every authorization request, one-time refresh tokens whose
// reuse ends the grant, and revocation that ends a grant.
type storage struct {
	clients       map[string]*client
	signing       signingKey
	pollInterval  time.Duration
	pollTolerance time.Duration

	mu            sync.Mutex
	accessTTL     time.Duration
	authRequests  map[string]*authRequest  // by ID
	codes         map[string]string        // code → auth request ID
	accessTokens  map[string]*accessToken  // by ID
	refreshTokens map[string]*refreshToken // by the token itself
	devices       map[string]*device       // by device code
	userCodes     map[string]string        // user code → device code
	reuses        int
	revoked       int
}

// grant is one authorization: a login, a device approval, or a
// client_credentials request. Ending it retires all its tokens.
type grant struct {
	clientID string
	subject  string
	scopes   []string
	authTime time.Time
	ended    string // why the grant ended: "reuse" or "revocation"; "" while it lives
}

type accessToken struct {
	grant   *grant
	expires time.Time
	revoked bool
}

type refreshToken struct {
	grant   *grant
	retired bool // spent by a refresh: presenting it again is reuse
}

type device struct {
	clientID   string
	scopes     []string
	expires    time.Time
	approved   bool
	denied     bool
	used       bool
	interval   time.Duration // the shortest gap allowed between polls
	lastPoll   time.Time
	slowDowns  int // polls still to answer with slow_down, whatever their pace
	tooFast    int // polls answered slow_down for coming too soon
	approvedAt time.Time
}

func newStorage(clients map[string]*client, o Options, key signingKey) *storage {
	return &storage{
		clients:       clients,
		accessTTL:     o.AccessTokenLifetime,
		signing:       key,
		pollInterval:  o.PollInterval,
		pollTolerance: o.PollInterval / 10,
		authRequests:  map[string]*authRequest{},
		codes:         map[string]string{},
		accessTokens:  map[string]*accessToken{},
		refreshTokens: map[string]*refreshToken{},
		devices:       map[string]*device{},
		userCodes:     map[string]string{},
	}
}

func newID() string { return rand.Text() }

// errGrantEnded is the cause op's invalid_grant answers carry for a token
// of an ended grant.
var errGrantEnded = errors.New("the grant has ended")

// authRequest is an authorization request waiting for the user, then for
// its code to be exchanged.
type authRequest struct {
	id       string
	req      oidc.AuthRequest
	subject  string
	done     bool
	authTime time.Time
}

func (a *authRequest) GetID() string          { return a.id }
func (a *authRequest) GetACR() string         { return "" }
func (a *authRequest) GetAMR() []string       { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string  { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.authTime }
func (a *authRequest) GetClientID() string    { return a.req.ClientID }
func (a *authRequest) GetNonce() string       { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.req.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.req.Scopes }
func (a *authRequest) GetState() string       { return a.req.State }
func (a *authRequest) GetSubject() string     { return a.subject }
func (a *authRequest) Done() bool             { return a.done }
func (a *authRequest) GetResponseMode() oidc.ResponseMode {
	return a.req.ResponseMode
}
func (a *authRequest) GetResponseType() oidc.ResponseType {
	return a.req.ResponseType
}
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}

// refreshRequest is a grant as a refresh token presents it.
type refreshRequest struct {
	grant  grant
	scopes []string
}

func (r *refreshRequest) GetAMR() []string                 { return []string{"pwd"} }
func (r *refreshRequest) GetAudience() []string            { return []string{r.grant.clientID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.grant.authTime }
func (r *refreshRequest) GetClientID() string              { return r.grant.clientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.grant.subject }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// clientCredentialsRequest is a client asking for a token for itself.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
}

func (c *clientCredentialsRequest) GetSubject() string    { return c.clientID }
func (c *clientCredentialsRequest) GetAudience() []string { return []string{c.clientID} }
func (c *clientCredentialsRequest) GetScopes() []string   { return c.scopes }

// CreateAuthRequest refuses an authorization request without PKCE S256,
// which op alone would let through for confidential clients.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method S256 is required")
	}
	a := &authRequest{id: newID(), req: *req}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authRequests[a.id] = a
	return a, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authRequests[id]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no authorization request %q", id)
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authRequests[s.codes[code]]; ok {
		return a, nil
	}
	return nil, oidc.ErrInvalidGrant().WithDescription("unknown or spent code")
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once the code is exchanged, which makes the
// code single-use.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// approve plays the user who logs in as subject and allows the request.
func (s *storage) approve(id, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok {
		return fmt.Errorf("no authorization request %q", id)
	}
	a.subject, a.done, a.authTime = subject, true, time.Now()
	return nil
}

// newGrant records a new grant for whatever request op is answering.
func (s *storage) newGrant(request op.TokenRequest) *grant {
	g := &grant{subject: request.GetSubject(), scopes: request.GetScopes(), authTime: time.Now()}
	switch r := request.(type) {
	case *authRequest:
		g.clientID, g.authTime = r.GetClientID(), r.authTime
	case *op.DeviceAuthorizationState:
		g.clientID, g.authTime = r.ClientID, r.AuthTime
	case *clientCredentialsRequest:
		g.clientID = r.clientID
	}
	return g
}

func (s *storage) newAccessToken(g *grant) (string, time.Time) {
	id, exp := newID(), time.Now().Add(s.accessTTL)
	s.accessTokens[id] = &accessToken{grant: g, expires: exp}
	return id, exp
}

func (s *storage) CreateAccessToken(_ context.Context, request op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, exp := s.newAccessToken(s.newGrant(request))
	return id, exp, nil
}

// CreateAccessAndRefreshTokens rotates: the refresh token presented is
// retired and a new one issued in the same grant. A refresh token retired
// meanwhile (two refreshes racing with one token) is reuse, and ends the
// grant.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, request op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *grant
	if current == "" {
		g = s.newGrant(request)
	} else {
		rt, ok := s.refreshTokens[current]
		if !ok {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(op.ErrInvalidRefreshToken)
		}
		if err := s.checkRefreshToken(rt); err != nil {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(err)
		}
		rt.retired = true
		g = rt.grant
	}
	refresh := rand.Text() + rand.Text()
	s.refreshTokens[refresh] = &refreshToken{grant: g}
	id, exp := s.newAccessToken(g)
	return id, refresh, exp, nil
}

// checkRefreshToken refuses a token of an ended grant, and ends the grant
// of a retired one: the token was spent before, so one of its holders is
// not who the grant was for.
func (s *storage) checkRefreshToken(rt *refreshToken) error {
	switch {
	case rt.grant.ended != "":
		return errGrantEnded
	case rt.retired:
		s.endGrant(rt.grant, "reuse")
		s.reuses++
		return errors.New("refresh token reused: the grant has ended")
	}
	return nil
}

func (s *storage) endGrant(g *grant, why string) {
	g.ended = why
	for _, at := range s.accessTokens {
		if at.grant == g {
			at.revoked = true
		}
	}
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[token]
	if !ok {
		return nil, op.ErrInvalidRefreshToken
	}
	if err := s.checkRefreshToken(rt); err != nil {
		return nil, err
	}
	return &refreshRequest{grant: *rt.grant, scopes: rt.grant.scopes}, nil
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken revokes a refresh token (ending its grant, access tokens
// included) or an access token, if it was issued to clientID. Unknown
// tokens are no error (RFC 7009 section 2.2).
func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *grant
	if rt, ok := s.refreshTokens[tokenOrID]; ok {
		g = rt.grant
	} else if at, ok := s.accessTokens[tokenOrID]; ok {
		if at.grant.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
		}
		at.revoked = true
		return nil
	} else {
		return nil
	}
	if g.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
	}
	if g.ended == "" {
		s.endGrant(g, "revocation")
		s.revoked++
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.grant.subject, token, nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.signing, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.signing.SignatureAlgorithm()}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.signing}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if c, ok := s.clients[id]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("no client %q", id)
}

// AuthorizeClientIDSecret accepts a client's secret only from a client
// registered to authenticate with one.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.clients[id]
	if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return errors.New("wrong client id or secret")
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, _, subject, _ string) error {
	info.Subject = subject
	return nil
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, in *oidc.IntrospectionResponse, _, subject, clientID string) error {
	in.Active, in.Subject, in.ClientID = true, subject, clientID
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID gives the public key a private_key_jwt client
// registered. An assertion naming another key ID is refused.
func (s *storage) GetKeyByIDAndClientID(_ context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, ok := s.clients[clientID]
	if !ok || c.PublicKey == nil {
		return nil, fmt.Errorf("client %q has no registered key", clientID)
	}
	if keyID != "" && keyID != c.keyID {
		return nil, fmt.Errorf("client %q has no key %q", clientID, keyID)
	}
	return &jose.JSONWebKey{Key: c.PublicKey, KeyID: c.keyID, Use: "sig"}, nil
}

func (s *storage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return scopes, nil
}

func (s *storage) Health(context.Context) error { return nil }

// ClientCredentials authenticates a client_credentials request; op has
// already taken the secret from the Basic header or the body, and the
// server's front door has checked the method against the registration.
func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, id, secret); err != nil {
		return nil, err
	}
	return s.clients[id], nil
}

func (s *storage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	return &clientCredentialsRequest{clientID: id, scopes: scopes}, nil
}

func (s *storage) StoreDeviceAuthorization(_ context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.userCodes[userCode]; ok {
		return op.ErrDuplicateUserCode
	}
	s.devices[deviceCode] = &device{clientID: clientID, scopes: scopes, expires: expires, interval: s.pollInterval}
	s.userCodes[userCode] = deviceCode
	return nil
}

// errSlowDown makes op answer a poll with slow_down.
var errSlowDown = fmt.Errorf("polling too fast: %w", context.DeadlineExceeded)

// GetDeviceAuthorizatonState answers a poll of the device grant. A poll
// sooner than the interval allows, or one the test asked to slow down, is
// answered slow_down, and the interval grows by 5 seconds (RFC 8628
// section 3.5). An approved device code is spent by the poll that gets the
// tokens.
func (s *storage) GetDeviceAuthorizatonState(_ context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[deviceCode]
	if !ok || d.clientID != clientID || d.used {
		return nil, errors.New("unknown or spent device code")
	}
	now := time.Now()
	early := !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval-s.pollTolerance
	d.lastPoll = now
	if early || d.slowDowns > 0 {
		if early {
			d.tooFast++
		} else {
			d.slowDowns--
		}
		d.interval += 5 * time.Second
		return nil, errSlowDown
	}
	state := &op.DeviceAuthorizationState{
		ClientID: d.clientID, Scopes: d.scopes, Expires: d.expires,
		Done: d.approved, Denied: d.denied, AMR: []string{"pwd"},
	}
	if d.approved {
		state.Subject, state.AuthTime = Subject, d.approvedAt
		d.used = true
	}
	return state, nil
}

// updateDevice applies change to the device authorization of userCode.
func (s *storage) updateDevice(userCode string, change func(*device) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[s.userCodes[userCode]]
	if !ok {
		return fmt.Errorf("no device authorization with user code %q", userCode)
	}
	return change(d)
}

// decideDevice plays the user at the verification page.
func (s *storage) decideDevice(userCode string, approve bool) error {
	return s.updateDevice(userCode, func(d *device) error {
		if time.Now().After(d.expires) {
			return errors.New("the code has expired")
		}
		d.approved, d.denied, d.approvedAt = approve, !approve, time.Now()
		return nil
	})
}

// liveGrant returns a copy of the grant of the access token with this ID,
// or nil if the token is unknown, expired or revoked.
func (s *storage) liveGrant(id string) *grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.accessTokens[id]
	if !ok || at.revoked || time.Now().After(at.expires) {
		return nil
	}
	g := *at.grant
	return &g
}
