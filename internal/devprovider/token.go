package devprovider

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// tokenResponse is the token endpoint's answer to a successful grant.
type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	TokenType             string `json:"token_type"`
	ExpiresIn             int    `json:"expires_in"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	RefreshTokenExpiresIn int    `json:"refresh_token_expires_in,omitempty"`
}

// oauthError is an RFC 6749 §5.2 error answer, sent with status.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func invalidGrant(description string) error {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_grant", Description: description}
}

func invalidRequest(description string) error {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Description: description}
}

// errRefreshRateLimited is answered with a plain-text 429, not an OAuth error.
var errRefreshRateLimited = errors.New("refresh rate limit exceeded")

// handleToken is POST /v2/token_endpoint. In order: the request is counted, is
// shown to OnTokenRequest, waits TokenDelay, fails with a pending fault, is
// refused without valid client credentials, and only then is its grant looked
// at.
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.stats.TokenRequests++
	p.mu.Unlock()

	// net/http notices a client that goes away (and cancels the request context)
	// only once the body has been read, so it is read before the request waits.
	formErr := r.ParseForm()
	p.mu.Lock()
	p.record("token", r.PostForm)
	p.mu.Unlock()
	if p.opts.OnTokenRequest != nil {
		p.opts.OnTokenRequest(r.PostForm.Get("grant_type"))
	}

	if p.opts.TokenDelay > 0 {
		delay := time.NewTimer(p.opts.TokenDelay)
		defer delay.Stop()
		if !p.hold(r.Context(), delay.C) {
			p.opts.Logger.Info("token request dropped during TokenDelay: client gone or provider closed")
			http.Error(w, "devprovider: closed", http.StatusServiceUnavailable)
			return
		}
	}

	p.mu.Lock()
	fault, faulted := p.takeFault()
	p.mu.Unlock()
	if faulted {
		p.opts.Logger.Info("token request fails with injected fault", "kind", fault)
		p.writeFault(w, r, fault)
		return
	}

	w.Header().Set("Cache-Control", "no-store")
	if formErr != nil {
		writeJSON(w, http.StatusBadRequest, invalidRequest("the body is not a form: "+formErr.Error()))
		return
	}
	usedBasic, problem := p.authenticateClient(r)
	if problem != "" {
		p.opts.Logger.Info("client authentication failed", "reason", problem)
		if usedBasic {
			// As FreeAgent's Rails answers it: one line of text, labelled
			// text/html all the same.
			w.Header().Set("WWW-Authenticate", `Basic realm="Application"`)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "HTTP Basic: Access denied.\n")
		} else {
			writeJSON(w, http.StatusUnauthorized, &oauthError{Code: "invalid_client", Description: problem})
		}
		return
	}

	p.mu.Lock()
	resp, err := p.runGrant(r.PostForm)
	p.mu.Unlock()

	var oe *oauthError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, resp)
	case errors.As(err, &oe):
		p.opts.Logger.Info("token request refused", "error", oe.Code, "description", oe.Description)
		writeJSON(w, oe.status, oe)
	default:
		writeRateLimited(w)
	}
}

// runGrant runs the grant a token request asks for. The caller holds p.mu.
func (p *Provider) runGrant(form url.Values) (tokenResponse, error) {
	switch grantType := form.Get("grant_type"); grantType {
	case "authorization_code":
		return p.exchange(form)
	case "refresh_token":
		return p.refreshGrant(form)
	case "client_credentials":
		return p.clientGrant()
	case "urn:ietf:params:oauth:grant-type:device_code":
		return p.deviceGrant(form)
	case "":
		return tokenResponse{}, invalidRequest("grant_type is missing")
	default:
		return tokenResponse{}, &oauthError{status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: fmt.Sprintf("grant_type %q is not supported", grantType)}
	}
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// exchange runs the authorization_code grant and starts a new grant. A code is spent
// the first time it is presented, whatever the outcome. The caller holds p.mu.
func (p *Provider) exchange(form url.Values) (tokenResponse, error) {
	now := p.opts.Clock()
	verifier := form.Get("code_verifier")
	p.remember(verifier)
	code := form.Get("code")
	if code == "" {
		return tokenResponse{}, invalidRequest("code is missing")
	}
	c, ok := p.codes[code]
	delete(p.codes, code)
	switch {
	case !ok:
		return tokenResponse{}, invalidGrant("unknown or already used authorization code")
	case !now.Before(c.expires):
		return tokenResponse{}, invalidGrant("authorization code expired")
	case form.Get("redirect_uri") != c.redirectURI:
		return tokenResponse{}, invalidGrant("redirect_uri does not match the one in the authorization request")
	case c.challenge != "" && verifier == "":
		return tokenResponse{}, invalidGrant("code_verifier is missing, and the authorization request had a code_challenge")
	case c.challenge != "" && s256(verifier) != c.challenge:
		return tokenResponse{}, invalidGrant("code_verifier does not match the code_challenge")
	}
	p.grantSeq++
	g := &grant{id: fmt.Sprintf("g%d", p.grantSeq)}
	p.stats.Exchanges++
	p.opts.Logger.Info("authorization code exchanged: new grant", "grant", g.id, "refresh_token", c.offline)
	resp := p.issue(g, now)
	if !c.offline {
		delete(p.refresh, resp.RefreshToken)
		g.current = nil
		resp.RefreshToken, resp.RefreshTokenExpiresIn = "", 0
	}
	return resp, nil
}

// s256 is the PKCE S256 transformation of a code verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// refreshGrant runs the refresh_token grant with rotation: a successful refresh
// retires the grant's current refresh token and issues a new access and refresh
// token. A rotated-out refresh token is accepted within ReuseGrace of its rotation;
// otherwise presenting it revokes the grant. A rate-limited request changes nothing
// but the rate-limit window. The caller holds p.mu.
func (p *Provider) refreshGrant(form url.Values) (tokenResponse, error) {
	now := p.opts.Clock()
	presented := form.Get("refresh_token")
	if presented == "" {
		return tokenResponse{}, invalidRequest("refresh_token is missing")
	}
	rt, ok := p.refresh[presented]
	if !ok {
		return tokenResponse{}, invalidGrant("unknown refresh token")
	}
	g := rt.grant
	if g.revoked {
		return tokenResponse{}, invalidGrant("the grant of this refresh token was revoked")
	}
	if !g.refreshes.allow(now, p.opts.RefreshesPerMinute) {
		p.stats.RateLimited++
		p.opts.Logger.Info("refresh rate limited", "grant", g.id, "limit_per_minute", p.opts.RefreshesPerMinute)
		return tokenResponse{}, errRefreshRateLimited
	}
	if !now.Before(rt.expires) {
		return tokenResponse{}, invalidGrant("refresh token expired")
	}
	if p.opts.IdleLimit > 0 && now.Sub(g.used) >= p.opts.IdleLimit {
		g.revoked = true
		return tokenResponse{}, invalidGrant("the grant went unused too long and has ended")
	}
	if !rt.rotatedAt.IsZero() {
		p.stats.ReuseDetected++
		since := now.Sub(rt.rotatedAt)
		if since >= p.opts.ReuseGrace && p.opts.ReuseRefusedOnly {
			p.opts.Logger.Warn("a rotated-out refresh token was presented; refused, the grant kept", "grant", g.id, "rotated_ago", since)
			return tokenResponse{}, invalidGrant("refresh token reused after rotation")
		}
		if since >= p.opts.ReuseGrace {
			g.revoked = true
			p.stats.GrantsRevoked++
			p.opts.Logger.Warn("grant revoked: a rotated-out refresh token was presented", "grant", g.id, "rotated_ago", since)
			return tokenResponse{}, invalidGrant("refresh token reused after rotation; the grant is revoked")
		}
		p.opts.Logger.Info("rotated-out refresh token accepted within the reuse grace", "grant", g.id, "rotated_ago", since)
	}
	g.current.rotatedAt = now
	p.stats.Refreshes++
	p.opts.Logger.Info("refresh token rotated", "grant", g.id)
	return p.issue(g, now), nil
}

// issue creates a new access token and a new current refresh token for g. The
// caller holds p.mu and has retired g's previous current refresh token, if any.
func (p *Provider) issue(g *grant, now time.Time) tokenResponse {
	access := p.newSecret("dev_at_")
	refresh := p.newSecret("dev_rt_")
	p.access[access] = &accessToken{grant: g, expires: now.Add(p.opts.AccessTTL)}
	g.used = now
	expires := now.Add(p.opts.RefreshTTL)
	if p.opts.FixedRefreshExpiry && g.current != nil {
		expires = g.current.expires // renewing does not extend the grant
	}
	g.current = &refreshToken{grant: g, expires: expires}
	p.refresh[refresh] = g.current
	return tokenResponse{
		AccessToken:           access,
		TokenType:             "bearer",
		ExpiresIn:             int(p.opts.AccessTTL / time.Second),
		RefreshToken:          refresh,
		RefreshTokenExpiresIn: int(expires.Sub(now).Round(time.Second) / time.Second),
	}
}

// handleRevoke is POST /v2/revoke, RFC 7009: the client authenticates as
// at the token endpoint, and a refresh token ends its whole grant, an
// access token just itself. An unknown token is no error (200), as the
// RFC says.
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, invalidRequest("the body is not a form: "+err.Error()))
		return
	}
	p.mu.Lock()
	p.record("revoke", r.PostForm)
	p.mu.Unlock()
	if _, problem := p.authenticateClient(r); problem != "" {
		writeJSON(w, http.StatusUnauthorized, &oauthError{Code: "invalid_client", Description: problem})
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeJSON(w, http.StatusBadRequest, invalidRequest("token is missing"))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Revocations++
	if rt, ok := p.refresh[token]; ok {
		rt.grant.revoked = true
		p.opts.Logger.Info("grant revoked at the client's request", "grant", rt.grant.id)
	}
	if at, ok := p.access[token]; ok {
		at.revoked = true
	}
	w.WriteHeader(http.StatusOK)
}
