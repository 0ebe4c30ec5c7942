// Package devprovider is a FreeAgent-like OAuth 2.0 provider and API that runs on a
// local address, with no account and no network. Tests use it in-process through
// httptest; `freshtoken dev-provider` and `freshtoken demo` serve it.
//
// It follows FreeAgent's layout and habits (paths under /v2/, HTTP Basic client
// authentication, rotating refresh tokens, per-user rate limits, Link pagination) and
// adds knobs FreeAgent does not have: short token lifetimes, strict or lenient reuse
// handling of rotated-out refresh tokens, injected faults on the token endpoint, an
// injected clock, and /_dev/ admin endpoints for tests that drive a separate process.
package devprovider

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// Options configures a Provider. The zero value is a FreeAgent-like provider with
// one-hour access tokens, twenty-day refresh tokens and FreeAgent's rate limits.
type Options struct {
	ClientID, ClientSecret string // defaults "dev-client-id", "dev-client-secret"

	// AccessTTL is the access token lifetime, sent as whole seconds in expires_in
	// (at least 1s, rounded down to the second); default 1h.
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime, sent in refresh_token_expires_in;
	// default 20 days. Every rotation starts a new lifetime.
	RefreshTTL time.Duration

	// AutoApprove makes approve_app redirect straight back with a code, no page.
	AutoApprove bool

	// ReuseGrace is how long a rotated-out refresh token is still accepted (Okta
	// style); such a request is answered with a fresh pair. Presenting a rotated-out
	// refresh token after the grace, or at all when ReuseGrace is 0, revokes the
	// whole grant: every access and refresh token issued under it.
	ReuseGrace time.Duration
	// ReuseRefusedOnly makes a rotated-out refresh token presented past the
	// grace refused (invalid_grant) without revoking the grant: the refresh
	// token that replaced it still works, as at providers that detect reuse
	// but do not end the grant for it.
	ReuseRefusedOnly bool

	// AuthStyle is how the token and revocation endpoints authenticate the
	// client: "basic" (HTTP Basic only), "body" (client_id and client_secret
	// in the form only), "" (either, FreeAgent's behaviour), "none" (a public
	// client: client_id in the form, and no credentials at all), or
	// "private_key_jwt" (a client assertion signed by the key whose public
	// half is ClientPublicKey, and no secret).
	AuthStyle string
	// ClientPublicKey verifies private_key_jwt assertions: an
	// *rsa.PublicKey or *ecdsa.PublicKey.
	ClientPublicKey crypto.PublicKey
	// ClientKeyID, when set, is the kid every assertion must name.
	ClientKeyID string
	// ClientCertificate, when set, is the certificate registered for
	// ClientPublicKey, which every assertion must name by its thumbprint,
	// x5t#S256 or x5t, as Microsoft Entra ID finds a client's key.
	ClientCertificate *x509.Certificate

	// RedirectURIs is the exact-match allow list for redirect_uri. Empty accepts any
	// http URL on 127.0.0.1, [::1] or localhost, with any port and path.
	RedirectURIs []string

	// RequirePKCE rejects an authorization request without code_challenge_method=S256.
	RequirePKCE bool

	// NamesIssuer makes every answer of the authorization endpoint name the
	// provider (iss, RFC 9207), and its discovery documents say so
	// (authorization_response_iss_parameter_supported), as Keycloak's do.
	NamesIssuer bool

	// RequestsPerMinute is the API limit per grant in a rolling minute; default 120,
	// and none when negative (for benchmarks).
	// Requests with the header X-RateLimit-Test: true count separately, limited to 5.
	RequestsPerMinute int
	// RefreshesPerMinute is the refresh_token grant limit per grant in a rolling
	// minute (and the client_credentials grant's); default 15, and none when
	// negative.
	RefreshesPerMinute int

	// Contacts is how many contacts /v2/contacts starts with; default 42, and none
	// when negative.
	Contacts int

	// SingleQuotedRels makes Link headers quote their relations with single
	// quotes, rel='next', as FreeAgent's API does; default rel="next" (RFC 8288).
	SingleQuotedRels bool

	// IdleLimit ends a grant whose refresh token has not been used for this
	// long, as providers that end unused grants do; 0: never.
	IdleLimit time.Duration

	// DeviceInterval is the wait between device-grant polls that the device
	// authorization endpoint asks for (whole seconds); default 5s, as RFC
	// 8628 says. A poll sooner than that is answered slow_down, and the
	// device code's interval grows by 5 s.
	DeviceInterval time.Duration
	// DeviceCodeTTL is how long a device code waits for the person before
	// it expires (expired_token); default 10 minutes.
	DeviceCodeTTL time.Duration

	// FixedRefreshExpiry keeps a grant's refresh tokens expiring when its
	// first one did, as providers with an absolute grant lifetime do: a
	// renewal then does not extend it. Default: each renewal gives
	// RefreshTTL again.
	FixedRefreshExpiry bool

	// OfflineScope, when set, is the scope a browser log-in must ask for to
	// be given a refresh token, as Xero's and Microsoft's offline_access:
	// without it the code is exchanged for an access token alone. Default:
	// every log-in gets one.
	OfflineScope string

	// TokenDelay is how long each token request waits before it is handled. A request
	// whose client gives up during the wait is dropped unhandled: nothing is issued
	// and no refresh token is rotated.
	TokenDelay time.Duration

	// OnTokenRequest, if set, is called with the grant type of each token
	// request as it arrives, before anything else is done with it: a test's
	// way to act at that moment.
	OnTokenRequest func(grantType string)

	// Clock is the time source for every expiry and rate-limit decision; default
	// time.Now. TokenDelay and FaultHang use real time.
	Clock func() time.Time

	// Logger receives one line per decision (grants issued, rotated, revoked; faults;
	// 401s and 429s). Token values are never logged, only grant ids. Default: no logs.
	Logger *slog.Logger
}

// withDefaults returns o with every zero field set to its documented default.
func (o Options) withDefaults() Options {
	if o.ClientID == "" {
		o.ClientID = "dev-client-id"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "dev-client-secret"
	}
	if o.AccessTTL == 0 {
		o.AccessTTL = time.Hour
	}
	o.AccessTTL = max(o.AccessTTL.Truncate(time.Second), time.Second)
	if o.RefreshTTL == 0 {
		o.RefreshTTL = 20 * 24 * time.Hour
	}
	o.RefreshTTL = max(o.RefreshTTL.Truncate(time.Second), time.Second)
	if o.RequestsPerMinute == 0 {
		o.RequestsPerMinute = 120
	}
	if o.DeviceInterval <= 0 {
		o.DeviceInterval = 5 * time.Second
	}
	o.DeviceInterval = max(o.DeviceInterval.Truncate(time.Second), time.Second)
	if o.DeviceCodeTTL <= 0 {
		o.DeviceCodeTTL = 10 * time.Minute
	}
	o.DeviceCodeTTL = max(o.DeviceCodeTTL.Truncate(time.Second), time.Second)
	if o.RefreshesPerMinute == 0 {
		o.RefreshesPerMinute = 15
	}
	if o.Contacts == 0 {
		o.Contacts = 42
	}
	o.Contacts = max(o.Contacts, 0)
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats counts what the provider has seen since New.
type Stats struct {
	TokenRequests int `json:"token_requests"` // every request to the token endpoint
	Exchanges     int `json:"exchanges"`      // successful authorization_code grants
	Refreshes     int `json:"refreshes"`      // successful refresh_token grants
	ReuseDetected int `json:"reuse_detected"` // rotated-out refresh token presented (grant not yet revoked)
	Revocations   int `json:"revocations"`    // requests to the revocation endpoint (RFC 7009)
	GrantsRevoked int `json:"grants_revoked"`
	APIRequests   int `json:"api_requests"` // every request to a /v2/ API endpoint
	RateLimited   int `json:"rate_limited"` // 429s sent (API and token endpoint)
	Unauthorized  int `json:"unauthorized"` // 401s sent by the API
	// ClientAssertions counts private_key_jwt assertions accepted.
	ClientAssertions int `json:"client_assertions"`
	Discoveries      int `json:"discoveries"` // discovery documents served
	// ClientCredentials counts successful client_credentials grants.
	ClientCredentials int `json:"client_credentials"`
	// DeviceAuthorizations counts user codes issued by the device
	// authorization endpoint; DeviceLogins, device codes exchanged for
	// tokens; SlowDowns, slow_down answers (real or injected).
	DeviceAuthorizations int `json:"device_authorizations"`
	DeviceLogins         int `json:"device_logins"`
	SlowDowns            int `json:"slow_downs"`
}

// Provider is a FreeAgent-like OAuth 2.0 provider and API. It is safe for concurrent
// use; all state lives in memory and is guarded by one mutex, which is never held
// while waiting or writing a response.
type Provider struct {
	opts    Options
	handler http.Handler

	closeOnce sync.Once
	closed    chan struct{} // closed by Close: hung and delayed requests end

	mu        sync.Mutex
	stats     Stats
	faults    []pendingFault           // applied to token requests, oldest first
	codes     map[string]*authCode     // unused authorization codes
	devices   map[string]*deviceAuth   // device codes not yet answered for good
	userCodes map[string]string        // user code → device code
	client    *grant                   // the client_credentials grant, once used
	grantSeq  int                      // grants issued so far; the next one is "g<grantSeq+1>"
	access    map[string]*accessToken  // every access token ever issued
	refresh   map[string]*refreshToken // every refresh token ever issued
	secrets   []string                 // every secret issued or received, in order, no duplicates
	secretSet map[string]bool
	contacts  []contact            // contact id n is contacts[n-1]
	received  []Received           // every authorization, token and revocation request
	jtis      map[string]time.Time // client assertions' jti, until they expire
}

// authCode is an authorization code waiting to be exchanged.
type authCode struct {
	redirectURI string
	challenge   string // S256 code_challenge, or "" when the request had none
	expires     time.Time
	offline     bool // the request's scope asked for a refresh token (Options.OfflineScope)
}

// grant is one authorisation: the tokens issued from one authorization code and all
// their rotations. Once revoked, none of its tokens is accepted again.
type grant struct {
	id      string
	revoked bool
	used    time.Time     // when it was last begun or renewed
	current *refreshToken // the one refresh token not yet rotated out

	refreshes window // refresh_token grants accepted in the last minute
	api       window // API requests accepted in the last minute
	apiTest   window // the same, for requests with X-RateLimit-Test: true
}

type accessToken struct {
	grant   *grant
	expires time.Time
	revoked bool // by RevokeAccessTokens
}

type refreshToken struct {
	grant     *grant
	expires   time.Time
	rotatedAt time.Time // zero while it is its grant's current refresh token
}

// New returns a provider configured by opts. It panics on an unknown AuthStyle.
func New(opts Options) *Provider {
	opts = opts.withDefaults()
	switch opts.AuthStyle {
	case "", "basic", "body", "none":
	case "private_key_jwt":
		if opts.ClientPublicKey == nil {
			panic("devprovider: AuthStyle private_key_jwt needs ClientPublicKey")
		}
	default:
		panic(fmt.Sprintf("devprovider: unknown AuthStyle %q (want \"basic\", \"body\", \"none\", \"private_key_jwt\" or \"\")", opts.AuthStyle))
	}
	p := &Provider{
		opts:      opts,
		closed:    make(chan struct{}),
		codes:     map[string]*authCode{},
		devices:   map[string]*deviceAuth{},
		userCodes: map[string]string{},
		access:    map[string]*accessToken{},
		refresh:   map[string]*refreshToken{},
		secretSet: map[string]bool{},
		jtis:      map[string]time.Time{},
		contacts:  seedContacts(opts.Contacts, opts.Clock()),
	}
	p.remember(opts.ClientSecret)
	p.handler = p.routes()
	return p
}

// Handler returns the provider's HTTP handler: the approve page, the token endpoint,
// the /v2/ API, the /_dev/ admin endpoints and an index page at /.
func (p *Provider) Handler() http.Handler { return p.handler }

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.handleIndex)

	mux.HandleFunc("GET /v2/approve_app", p.handleApprovePage)
	mux.HandleFunc("POST /v2/approve_app", p.handleApproveDecision)
	mux.HandleFunc("POST /v2/token_endpoint", p.handleToken)
	mux.HandleFunc("POST /v2/revoke", p.handleRevoke)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", p.handleDiscovery)
	mux.HandleFunc("GET /.well-known/openid-configuration", p.handleDiscovery)
	mux.HandleFunc("POST /v2/device_authorization", p.handleDeviceAuthorization)
	mux.HandleFunc("GET /v2/device", p.handleDevicePage)
	mux.HandleFunc("POST /v2/device", p.handleDeviceDecision)

	mux.Handle("GET /v2/company", p.api(fixed("company", "/v2/company", devCompany)))
	mux.Handle("GET /v2/users/me", p.api(fixed("user", "/v2/users/1", devUser)))
	mux.Handle("GET /v2/contacts", p.api(p.handleListContacts))
	mux.Handle("POST /v2/contacts", p.api(p.handleCreateContact))
	mux.Handle("GET /v2/contacts/{id}", p.api(p.handleGetContact))
	mux.Handle("/v2/dev/echo", p.api(handleEcho))
	mux.Handle("GET /v2/dev/download", p.api(handleDownload))
	mux.Handle("POST /v2/dev/upload", p.api(handleUpload))
	mux.Handle("GET /v2/dev/redirect", p.api(handleRedirect))

	// The admin endpoints, for tests that drive a separate process: each does
	// what the Provider method it names does.
	mux.HandleFunc("GET /_dev/stats", asJSON(p.Stats))
	mux.HandleFunc("POST /_dev/fault", p.handleFault)
	mux.HandleFunc("POST /_dev/revoke-access", noContent(p.RevokeAccessTokens))
	mux.HandleFunc("POST /_dev/revoke-grants", noContent(p.RevokeGrants))
	mux.HandleFunc("DELETE /_dev/fault", noContent(p.ClearFaults))
	mux.HandleFunc("POST /_dev/expire-devices", noContent(p.ExpireDevices))
	mux.HandleFunc("GET /_dev/secrets", asJSON(p.Secrets))
	return mux
}

// Stats returns the counters so far.
func (p *Provider) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Secrets returns every secret the provider has issued or received so far, oldest
// first: the client secret, authorization codes, access and refresh tokens, and PKCE
// verifiers. Tests assert that none of them appears in a log.
func (p *Provider) Secrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.secrets)
}

// SetAccessTTL changes the lifetime of the access tokens issued from now
// on (FreeAgent's "may change": a client must go by expires_in).
func (p *Provider) SetAccessTTL(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts.AccessTTL = max(d.Truncate(time.Second), time.Second)
}

// RevokeAccessTokens makes every access token issued so far answer 401. Refresh
// tokens stay valid, and access tokens issued afterwards work.
func (p *Provider) RevokeAccessTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.access {
		t.revoked = true
	}
	p.opts.Logger.Info("access tokens revoked", "issued_so_far", len(p.access))
}

// RevokeGrants ends every grant issued so far, as a provider does when the
// user disconnects the app: their refresh tokens answer invalid_grant and
// their access tokens 401. Grants begun afterwards work.
func (p *Provider) RevokeGrants() {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, t := range p.refresh {
		if !t.grant.revoked {
			t.grant.revoked = true
			n++
		}
	}
	for _, t := range p.access {
		t.revoked = true
	}
	p.opts.Logger.Info("grants revoked", "grants", n)
}

// ClearFaults forgets every fault injected and not yet used.
func (p *Provider) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
	p.opts.Logger.Info("faults cleared")
}

// Close releases requests held by FaultHang or TokenDelay; they are answered 503.
// The provider keeps serving afterwards, but never holds a request again. Close it
// before closing an httptest.Server, whose Close waits for every request to end.
func (p *Provider) Close() {
	p.closeOnce.Do(func() { close(p.closed) })
}

// newSecret returns a fresh random token with the given prefix and remembers it.
// The caller holds p.mu.
func (p *Provider) newSecret(prefix string) string {
	s := prefix + httpx.RandomToken()
	p.remember(s)
	return s
}

// remember records s as a secret. The caller holds p.mu (or owns p exclusively).
func (p *Provider) remember(s string) {
	if s == "" || p.secretSet[s] {
		return
	}
	p.secretSet[s] = true
	p.secrets = append(p.secrets, s)
}
