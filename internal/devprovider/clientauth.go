package devprovider

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// assertionType is the client_assertion_type of a JWT (RFC 7523 §2.2).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLife is the longest exp-iat a client assertion may claim:
// it is meant for one request.
const maxAssertionLife = 10 * time.Minute

// assertionLeeway is how far apart the client's clock and ours may be.
const assertionLeeway = 5 * time.Second

// Received is one request the provider received, for tests that check what
// a client sent. Values of parameters that are secrets are replaced by
// "(secret)".
type Received struct {
	Endpoint string     // "authorize", "token" or "revoke"
	Params   url.Values // the query (authorize) or the form
}

// secretParams are the parameters Received never keeps.
var secretParams = []string{"client_secret", "client_assertion", "code", "code_verifier", "refresh_token", "token", "device_code"}

// record keeps what a request to endpoint carried. The caller holds p.mu.
func (p *Provider) record(endpoint string, params url.Values) {
	kept := url.Values{}
	for k, v := range params {
		if slices.Contains(secretParams, k) {
			v = []string{"(secret)"}
		}
		kept[k] = slices.Clone(v)
	}
	p.received = append(p.received, Received{Endpoint: endpoint, Params: kept})
	if len(p.received) > maxReceived {
		p.received = slices.Delete(p.received, 0, len(p.received)-maxReceived)
	}
}

// maxReceived bounds what Received keeps, for a provider that runs long.
const maxReceived = 1000

// Received returns every authorization, token and revocation request so
// far, oldest first.
func (p *Provider) Received() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.received)
}

// LastReceived is the latest request to endpoint; ok is false when there
// was none.
func (p *Provider) LastReceived(endpoint string) (r Received, ok bool) {
	all := p.Received()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Endpoint == endpoint {
			return all[i], true
		}
	}
	return r, false
}

// authenticateClient checks the client credentials of a parsed token or
// revocation request as AuthStyle says. usedBasic reports whether the
// request carried HTTP Basic credentials, which decides the shape of a 401;
// problem is "" when the client is authenticated and otherwise says why
// not, without repeating a credential.
func (p *Provider) authenticateClient(r *http.Request) (usedBasic bool, problem string) {
	id, secret, usedBasic := r.BasicAuth()
	form := r.PostForm
	switch {
	case p.opts.AuthStyle == "none":
		if usedBasic || form.Has("client_secret") || form.Has("client_assertion") {
			return usedBasic, "this client is public: it has no credentials, and sends none"
		}
		if !equal(form.Get("client_id"), p.opts.ClientID) {
			return false, "wrong or missing client_id"
		}
		return false, ""
	case p.opts.AuthStyle == "private_key_jwt":
		if usedBasic || form.Has("client_secret") {
			return usedBasic, "this client authenticates with private_key_jwt alone: send client_assertion and no secret"
		}
		return false, p.checkAssertion(r)
	case usedBasic && p.opts.AuthStyle == "body":
		return true, "HTTP Basic credentials sent, but this provider takes client credentials in the body only"
	case !usedBasic && p.opts.AuthStyle == "basic":
		return false, "no HTTP Basic credentials, and this provider takes client credentials by HTTP Basic only"
	case usedBasic:
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before encoding.
		var idErr, secretErr error
		id, idErr = url.QueryUnescape(id)
		secret, secretErr = url.QueryUnescape(secret)
		if idErr != nil || secretErr != nil {
			return true, "HTTP Basic credentials are not form-urlencoded"
		}
	default:
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if !equal(id, p.opts.ClientID) || !equal(secret, p.opts.ClientSecret) {
		return usedBasic, "wrong client_id or client_secret"
	}
	return usedBasic, ""
}

// checkAssertion verifies a private_key_jwt client assertion (RFC 7523
// §3, OpenID Connect Core §9): signed by ClientPublicKey (with kid
// ClientKeyID when that is set), iss and sub the client id, aud the token
// endpoint's URL, unexpired, short-lived, and with a jti never seen
// before. It returns "" when the assertion is good, else why not.
func (p *Provider) checkAssertion(r *http.Request) string {
	form := r.PostForm
	a := form.Get("client_assertion")
	p.mu.Lock()
	p.remember(a)
	p.mu.Unlock()
	switch {
	case form.Get("client_assertion_type") != assertionType:
		return "client_assertion_type must be " + assertionType
	case a == "":
		return "client_assertion is missing"
	case form.Has("client_id") && form.Get("client_id") != p.opts.ClientID:
		return "client_id names another client than the assertion's"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	tok, err := jwt.Parse(a, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); p.opts.ClientKeyID != "" && kid != p.opts.ClientKeyID {
			return nil, jwt.ErrTokenUnverifiable
		}
		if c := p.opts.ClientCertificate; c != nil {
			s256, s1 := sha256.Sum256(c.Raw), sha1.Sum(c.Raw)
			x5tS256, _ := t.Header["x5t#S256"].(string)
			x5t, _ := t.Header["x5t"].(string)
			if x5tS256 != base64.RawURLEncoding.EncodeToString(s256[:]) && x5t != base64.RawURLEncoding.EncodeToString(s1[:]) {
				return nil, fmt.Errorf("%w: the header names no registered certificate (x5t#S256 or x5t)", jwt.ErrTokenUnverifiable)
			}
		}
		return p.opts.ClientPublicKey, nil
	},
		jwt.WithValidMethods([]string{"RS256", "PS256", "ES256", "ES384"}),
		jwt.WithIssuer(p.opts.ClientID), jwt.WithSubject(p.opts.ClientID),
		jwt.WithAudience(scheme+"://"+r.Host+"/v2/token_endpoint"),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(p.opts.Clock), jwt.WithLeeway(assertionLeeway))
	if err != nil {
		return "client_assertion refused: " + err.Error()
	}
	claims := tok.Claims.(jwt.MapClaims)
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	jti, _ := claims["jti"].(string)
	switch {
	case iat == nil || exp.Sub(iat.Time) > maxAssertionLife:
		return "client_assertion must have an iat, and an exp at most 10 minutes after it"
	case jti == "":
		return "client_assertion has no jti"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.opts.Clock()
	for j, until := range p.jtis {
		if now.After(until.Add(assertionLeeway)) {
			delete(p.jtis, j)
		}
	}
	if _, seen := p.jtis[jti]; seen {
		return "client_assertion replayed: its jti was used before"
	}
	p.jtis[jti] = exp.Time
	p.stats.ClientAssertions++
	return ""
}
