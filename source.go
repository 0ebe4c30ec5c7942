package freshtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/await"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/lockwait"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/resting"
	"github.com/freshtoken/freshtoken/internal/stallwatch"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/internal/wake"
	"github.com/freshtoken/freshtoken/store"
)

// Settings describe one environment's client and provider. A length of
// time left zero takes its default; New refuses a negative one.
type Settings struct {
	Env          string // the environment's name, used as the store key
	ClientID     string // as the provider issued it; required
	ClientSecret string // empty for a public client, or when ClientSecretFunc is set
	// ClientSecretFunc fetches the secret the first time a token request
	// needs it, so serving a valid token never runs a secret command, and
	// again after the provider has rejected the client, so that a secret
	// rotated since is taken up. Its error is returned as it came (by
	// Token too), nothing sent, and it is called again by the next token
	// request: phrase it for whoever reads it, as it matches none of this
	// package's sentinels unless it wraps one. A panic in it reaches the
	// caller waiting for it; once that caller has given up waiting (its
	// context ended), it ends the program, as a panic in a goroutine does.
	ClientSecretFunc func(ctx context.Context) (string, error)
	AuthURL          string
	TokenURL         string
	RevocationURL    string // RFC 7009; "" when the provider has none
	// RevocationURLFromProvider says RevocationURL is where the provider's
	// own documentation puts its revocation endpoint (a provider preset's,
	// or one a program copied from that documentation), not a URL a person
	// wrote: a revocation it refuses as malformed (invalid_request) is the
	// provider's failure then, as at the endpoint its discovery document
	// names, and not a setting to check.
	RevocationURLFromProvider bool
	// TokenURLSetting names, as the configuration holds it, the setting
	// that makes TokenURL, for the messages of a token endpoint that does
	// not answer as one ("api_url, from which the freeagent preset makes
	// the token endpoint"); "": token_url (or, with Issuer, its discovery).
	TokenURLSetting string
	// Grant is how the environment obtains tokens: GrantAuthorizationCode
	// (also when empty), GrantClientCredentials or GrantDeviceCode. Stored
	// records are bound to it. GrantDeviceCode needs DeviceAuthURL, set or
	// discovered.
	Grant         string
	DeviceAuthURL string // RFC 8628 device authorization; "" when the provider has none
	// Issuer names the authorization server whose discovery document gives
	// the endpoints left empty above; tokens are then bound to it, and to
	// TokenURL when it is set here rather than discovered (a token endpoint
	// other than the issuer's may be named), so that serving a stored token
	// needs no discovery.
	Issuer string
	// Discover, if set, returns the endpoints that the fields above leave
	// empty, held to what New holds those fields to; it needs Issuer. It is called when a token request or a revocation first needs
	// an endpoint, never to serve a stored token, and its first success is
	// kept for the Source's life. Its error is returned as it came (by
	// Token too): one of your own that should match ErrUnreachable is an
	// *Error of that kind.
	Discover func(ctx context.Context) (Endpoints, error)
	APIURL   string // tokens are only ever sent to this host; empty: the host of each request made, not one a redirect leads to
	Scopes   []string
	// AuthStyle is oauth2.AuthStyleInHeader or oauth2.AuthStyleInParams,
	// for a client that sets no ClientAuth. Auto-detection is refused: it
	// re-sends a failed refresh with the other style, spending a rotating
	// refresh token twice.
	AuthStyle oauth2.AuthStyle

	// ClientAuth is how the client authenticates (see ClientAuth); ""
	// means basic or body, as AuthStyle says.
	ClientAuth ClientAuth
	// ClientKey signs the assertions of private_key_jwt; nil otherwise.
	ClientKey *ClientKey
	// Audience (the audience parameter many providers take) and Resources
	// (RFC 8707) name the API the tokens are for. Both are sent on the
	// authorization request and on every token request, and stored records
	// are bound to them (Resources in any order), as to the client.
	Audience  string
	Resources []string
	// ScopeResources, at a provider that addresses each access token to
	// the API its scopes name (Microsoft's identity platform: a token asked
	// for with scope api://x/read is for api://x alone), are those APIs,
	// none for the provider's default one (Graph). Stored records are bound
	// to them as to Resources, when Resources names none; they are never
	// sent (the scopes say it).
	ScopeResources []string
	// AuthParams are added to the authorization request and TokenParams to
	// every token request, for providers that want more (Google's
	// access_type = "offline", prompt = "consent"). Neither may name a
	// parameter freshtoken sets itself (state, grant_type), nor one with a
	// setting of its own (scope, audience, resource), and AuthParams no
	// credential (client_secret): New refuses them.
	AuthParams  map[string]string
	TokenParams map[string]string

	// ConfigFile is the configuration file these settings were read from:
	// a log-in records it with its tokens (store.Record.LoggedInWith), so
	// that configurations sharing a record tell whose log-in it holds (see
	// store.ConfigFile.OtherThan). Zero for settings of no file.
	ConfigFile store.ConfigFile

	// RenewBefore is how long before expiry a token is renewed. A token whose
	// whole lifetime is under twice this is renewed at half its lifetime.
	RenewBefore time.Duration
	// KeepAccess has Plan and KeepAlive keep the access token itself fresh
	// too, renewing it RenewBefore ahead of expiry, for a token file that
	// tools read at any moment.
	KeepAccess bool
	// IdleLimit is how long the provider lets a grant go unused before it
	// ends it (zero: no limit); KeepAlive renews well within it.
	IdleLimit time.Duration
	// DefaultLifetime is how long a token is taken to live when the provider
	// gives no usable expires_in (missing, zero or negative): it is used
	// until the API refuses it, and renewed once this has passed (default 1h).
	DefaultLifetime time.Duration
	// Timeout bounds each request to the token endpoint, and a whole
	// revocation, every try of both tokens (default 30s).
	Timeout time.Duration
	// StoreCheckInterval is how often a process serving a valid token from
	// memory looks at the store, so a logout or a new login made elsewhere
	// takes effect within that time (default 10s). A look the store does
	// not answer within a second is given up until the next one.
	StoreCheckInterval time.Duration
	// RetryBackoff lists the waits before each retry of a token request that
	// failed for a passing reason; nil means DefaultRetryBackoff().
	RetryBackoff []time.Duration
	// MaxRetryAfter is the longest Retry-After the engine waits out on a 429
	// from the token endpoint before giving up (default 65s); one of a day
	// or more is never waited out.
	MaxRetryAfter time.Duration
}

// String shows the settings with the client secret masked, and the value
// of any parameter named as a secret (password=…, api_key=…), in AuthParams,
// TokenParams or a URL's query, so that a program may print or log them
// (%v, %+v, slog) without showing them.
func (s Settings) String() string { return s.printed().String() }

// GoString is String for %#v.
func (s Settings) GoString() string { return s.printed().GoString() }

// LogValue is String for slog, whose JSON handler would otherwise marshal
// the fields (and fail on the function ones).
func (s Settings) LogValue() slog.Value { return s.printed().LogValue() }

// MarshalJSON is the settings' fields, masked as String masks them, each
// function field shown as whether it is set: JSON has none, and slog's
// JSON handler, marshalling Settings held in a struct, a map or a slice,
// logged "!ERROR" in their place.
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		shownSettings
		ClientSecretFunc, Discover bool
	}{s.masked(), s.ClientSecretFunc != nil, s.Discover != nil})
}

// shownSettings is Settings without its methods, so that printing one
// cannot call String again.
type shownSettings Settings

// masked is s with its secrets masked, as String shows it.
func (s Settings) masked() shownSettings {
	s.ClientSecret = redact.MaskSet(s.ClientSecret)
	s.AuthParams, s.TokenParams = redact.MaskParams(s.AuthParams), redact.MaskParams(s.TokenParams)
	redact.MaskURLs(&s.APIURL, &s.AuthURL, &s.TokenURL, &s.RevocationURL, &s.DeviceAuthURL, &s.Issuer)
	return shownSettings(s)
}

func (s Settings) printed() redact.Printed {
	return redact.Printed{Name: "freshtoken.Settings", Shown: s.masked()}
}

// Endpoints are where a provider's OAuth 2.0 endpoints are.
type Endpoints struct {
	AuthURL       string
	TokenURL      string
	RevocationURL string // "" when the provider has none
	DeviceAuthURL string // "" when the provider has none
	// IssuerInAnswers says that the authorization endpoint names its
	// issuer (iss, RFC 9207) in every answer, as the provider's metadata
	// promises (authorization_response_iss_parameter_supported): a log-in
	// answer without iss is then not its own.
	IssuerInAnswers bool
}

// String shows the endpoints with a key in their query masked (an API
// gateway's ?subscription-key=…), as Settings does, so that a program may
// print or log what src.Endpoints found (%v, %+v, slog).
func (e Endpoints) String() string { return e.printed().String() }

// GoString is String for %#v.
func (e Endpoints) GoString() string { return e.printed().GoString() }

// LogValue is String for slog, whose JSON handler would otherwise marshal
// the fields, the URLs whole.
func (e Endpoints) LogValue() slog.Value { return e.printed().LogValue() }

// MarshalJSON is the endpoints' fields, masked as String masks them.
func (e Endpoints) MarshalJSON() ([]byte, error) { return e.printed().MarshalJSON() }

func (e Endpoints) printed() redact.Printed {
	type shown Endpoints
	redact.MaskURLs(&e.AuthURL, &e.TokenURL, &e.RevocationURL, &e.DeviceAuthURL)
	return redact.Printed{Name: "freshtoken.Endpoints", Shown: shown(e)}
}

// logTime is how debug lines show instants: to the millisecond, since the
// expiry arithmetic of short-lived tokens happens within seconds.
const logTime = "2006-01-02T15:04:05.000Z07:00"

// DefaultRetryBackoff is the waits used when Settings.RetryBackoff is nil:
// half a second, a second, then two. Each call returns a new slice, the
// caller's to change, as no Source shares it.
func DefaultRetryBackoff() []time.Duration {
	return []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}
}

// Options are a Source's collaborators.
type Options struct {
	Store store.Store
	// Logger is told the engine's decisions; nil: discard. A panic in its
	// handler, on a line logged as a call runs, reaches that call's
	// caller, as one in slog would, and leaves no renewal lock held; on a
	// line the engine logs from a timer of its own (a wait's warning), it
	// ends the program, as a panic in a goroutine does.
	Logger *slog.Logger
	// Clock is nil for time.Now. It is read as the wall clock alone, as
	// the store keeps times; its monotonic reading, where its times carry
	// one (time.Now's do; t.UTC, t.Local, t.In and t.Round(0) drop it),
	// also measures how long ago a token was first seen, so that a clock
	// set back does not keep an expired token in use.
	Clock func() time.Time
	// HTTPClient carries token requests; nil: a client with Settings.Timeout.
	// Token requests follow no redirect, whatever its CheckRedirect says:
	// one would re-send the refresh token wherever it pointed. Settings.Timeout
	// bounds them, whatever its Timeout says.
	HTTPClient *http.Client
	// Sending, if set, is called just before a token request whose answer
	// must be stored is sent, and the function it returns once that answer
	// is stored or the request failed, and the renewal lock the Source took
	// for it is released (so that a process may stop itself then); or, the
	// request not sent, once the caller's context is found ended after
	// Sending returns, so that no request starts after a program ends the
	// contexts of its calls and waits for those told. A program uses it to put off exiting
	// while an answer that may hold the only copy of a rotated refresh token
	// is still unstored. An answer the store refuses that rotated the
	// refresh token is kept and saved as soon as the store takes it: Sending
	// is called again for it, with Renewal.Unsaved set, and its function
	// once it is saved, or dropped for other tokens the store holds by then.
	// From the provider's answer until the store's first refusal of it (or
	// until it is stored), Sending is told of it with Renewal.Storing set,
	// and its function called then: the tokens are in hand, no longer
	// awaited. It may return nil, when it has nothing to do then. A panic
	// in the function it returns, or in Sending told of tokens in hand
	// (Renewal.Storing or Renewal.Unsaved), is recovered and logged as an
	// error: each is called amid the storing of tokens the provider
	// rotated, and with other such functions, none of which it may stop. A
	// panic in Sending told of a request not yet sent reaches the caller.
	Sending func(Renewal) (stored func())
	// Locking, if set, is called before the Source takes its store's
	// renewal lock, which it may have to wait for while another process
	// renews, and which every renewal takes before its token request (and
	// Sending); and before a read of the store that may wait (a store
	// across the network, a record another process is writing: see
	// store.Waiting). A program that handles signals only once a renewal
	// is under way, to start fast, starts handling them here, so that a
	// wait for another's renewal, or for a store that does not answer, is
	// interrupted as its own renewal would be.
	Locking func()
}

// MarshalJSON is the store's type, and which of the other collaborators
// are set: JSON has no functions, and slog's JSON handler, marshalling
// Options held in a struct, a map or a slice, logged "!ERROR" for them.
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Store                                       string
		Logger, Clock, HTTPClient, Sending, Locking bool
	}{fmt.Sprintf("%T", o.Store), o.Logger != nil, o.Clock != nil, o.HTTPClient != nil, o.Sending != nil, o.Locking != nil})
}

// Renewal describes a token request in flight, for Options.Sending.
type Renewal struct {
	Env      string
	TokenURL string
	Timeout  time.Duration // how long one request may take
	// Unsaved: the provider has answered, rotating the refresh token, and
	// the store refused the answer. The process keeps it, and tries again
	// until the store takes it; if the process ends first, the refresh
	// token is lost and a log-in is needed.
	Unsaved bool
	// Storing: the provider has answered, and the process is storing the
	// tokens; if it ends first, they are lost (the refresh token with them,
	// unless NothingToLose). Told in addition to the request's own
	// Renewal, from the answer until the store takes it or first refuses
	// it (then Unsaved), or, with LogIn, while a log-in's tokens are stored.
	Storing bool
	// NothingToLose: the grant has no refresh token (client credentials),
	// so abandoning the renewal costs only the token the next call
	// requests again; no log-in is needed.
	NothingToLose bool
	// LogIn: the request exchanges a log-in's code (a browser's or a
	// device's) for the grant's first tokens; abandoning it costs that
	// log-in, which is done again, not a grant in use.
	LogIn bool
}

// String shows the renewal with a key in its TokenURL's query masked (an
// API gateway's ?subscription-key=…), as Settings does, so that a program
// may print or log what its Sending is told of (%v, %+v, slog).
func (r Renewal) String() string { return r.printed().String() }

// GoString is String for %#v.
func (r Renewal) GoString() string { return r.printed().GoString() }

// LogValue is String for slog, whose JSON handler would otherwise marshal
// the fields, the URL whole.
func (r Renewal) LogValue() slog.Value { return r.printed().LogValue() }

// MarshalJSON is the renewal's fields, masked as String masks them.
func (r Renewal) MarshalJSON() ([]byte, error) { return r.printed().MarshalJSON() }

func (r Renewal) printed() redact.Printed {
	type shown Renewal
	redact.MaskURLs(&r.TokenURL)
	return redact.Printed{Name: "freshtoken.Renewal", Shown: shown(r)}
}

// The grants an environment's tokens come from (Settings.Grant), spelled as
// the token endpoint's grant_type.
const (
	// GrantAuthorizationCode: a browser log-in, then refresh-token renewals.
	GrantAuthorizationCode = "authorization_code"
	// GrantClientCredentials: no log-in and no refresh token; a new token
	// is requested with the client's credentials whenever one is due.
	GrantClientCredentials = "client_credentials"
	// GrantDeviceCode: an RFC 8628 log-in on another device
	// (StartDeviceLogin), then refresh-token renewals.
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// DefaultRenewBefore is used when Settings.RenewBefore is zero.
const DefaultRenewBefore = time.Minute

// DefaultLifetime is used when Settings.DefaultLifetime is zero.
const DefaultLifetime = time.Hour

// minRenewalGap is the shortest time between two renewals of one
// environment that nobody forced, whatever lifetimes the provider gives.
const minRenewalGap = time.Second

// secretTimeout bounds a client-secret command, whatever the caller's context.
const secretTimeout = 30 * time.Second

// Source is a renewing oauth2.TokenSource for one environment. It is safe
// for concurrent use; a valid token is served from memory with no lock
// shared between callers, and no I/O but one look at the store every
// StoreCheckInterval, so a logout or login made elsewhere takes effect.
// Make one with New: the methods of the zero Source, or of a nil *Source,
// return an error saying so, and fetch or send nothing.
type Source struct {
	set Settings
	// tokenURL is Settings.TokenURL as given to New, before discovery
	// fills it in: the token endpoint the grant names (see grant).
	tokenURL string
	api      *url.URL // Settings.APIURL parsed once; nil when empty
	store    store.Store
	log      *slog.Logger
	now      func() time.Time // Options.Clock read as the wall clock alone (clock.Wall)
	// timers is Options.Clock as it reads, time.Now for none: Go's
	// monotonic reading, which such a reading carries, measures how long
	// ago a token was first seen (see byTimers).
	timers func() time.Time
	http   *http.Client
	// apiTransport is the transport Options.HTTPClient had when New was
	// called (proxy, trusted authorities), nil for none: it carries API
	// requests too, as it carries token requests. Not looked up at each
	// request: a program may then make that client its API client, with a
	// Transport of this Source, which would find itself.
	apiTransport http.RoundTripper
	// sending tells Options.Sending, if set, and returns the function to
	// call once the answer is stored: Options.Sending's, if any. Where
	// that is also once s releases its store's lock, call it through
	// whenUnlocked.
	sending func(Renewal) func()
	locking func() // Options.Locking; nil: none
	// lockMu guards locked, which is true while s holds its store's lock,
	// and afterUnlock, the functions to call once it releases it.
	lockMu      sync.Mutex
	locked      bool
	afterUnlock []func()
	// lockUnanswered is true from a Lock the store gave up unanswered
	// (store.ErrUnreachable), a stall of it told, until the store answers
	// a call of a Lock (store.WithStalled, store.WithAnswered):
	// a wait for the lock meanwhile is the same outage's, not warned of
	// again (see lockWarning).
	lockUnanswered atomic.Bool
	// pause waits between renewal tries, or until its context ends:
	// httpx.Wait, or a test's clock.
	pause func(context.Context, time.Duration) error

	cur       atomic.Pointer[store.Record]
	seen      atomic.Pointer[sighting] // the access token issue last seen first, and when (see byTimers)
	checkedAt atomic.Int64             // when cur was last compared with the store (UnixNano of s.now)
	// answered counts this Source's token requests answered with tokens
	// (see renewRejected).
	answered atomic.Int64
	// tokenWake and apiWake watch for a sleep of the machine before a
	// request through the TokenClient, and before one through a Transport:
	// the connections kept alive from before are closed, not tried.
	tokenWake, apiWake wake.Watch

	mu     sync.Mutex // guards flight, the rest and left
	flight *flight    // the renewal in progress in this process, if any
	// credMu guards secret and key, and is held while they are fetched:
	// a secret command or key loader that is slow to answer holds up only
	// those that need them, never callers waiting for a renewal (on mu),
	// who must be free to give up.
	credMu sync.Mutex
	secret *string     // the client secret, once fetched successfully
	key    *signingKey // the private_key_jwt key, once loaded successfully
	// restUntil, restLength and restErr hold renewals back after one gave
	// up (see restAfter); restErr is nil when none did since the last
	// success.
	restUntil  time.Time
	restLength time.Duration
	restErr    error
	// storeRestUntil and storeRestErr hold renewals back from a shared
	// store that could not be reached, for storeRest (see restStore);
	// storeRestErr is nil when none failed since.
	storeRestUntil time.Time
	storeRestErr   error
	// left holds the tries of a renewal abandoned during a wait, for the
	// next renewal to take up (see resumeTries); nil when none was.
	left *leftTries
	// warnMu guards warned, the message of the failure stillValid last
	// warned of since a success, and warnedAt, when.
	warnMu   sync.Mutex
	warned   string
	warnedAt time.Time

	// endpointsMu (a lock of one place) guards the endpoints in set, which
	// Discover fills once: read them under it (knownEndpoints), or after
	// Endpoints returned. Endpoints waits for it only as long as its context
	// lets it.
	endpointsMu     chan struct{}
	discovered      bool
	revocationFound bool // set.RevocationURL is the one Discover found
	issuerInAnswers bool // Endpoints.IssuerInAnswers of the AuthURL Discover found
}

// flight is one renewal that every caller arriving meanwhile shares, failure
// included, so N callers cause at most one renewal.
type flight struct {
	done chan struct{}
	rec  *store.Record
	err  error
	// stalled is closed once a call of the renewal to the store has gone
	// unanswered for store.StallNotice (see watch), store naming it then
	// and valid the token in memory that serves meanwhile, nil if none
	// did; sent, once a token request has gone out (see exchange).
	stalled   chan struct{}
	stallOnce sync.Once
	store     string
	valid     *store.Record
	sent      atomic.Bool
	// stallNow is the store a call of the renewal has left unanswered
	// for store.StallNotice, while it does ("" while none), and
	// stallSince when that call was sent. caller is the listener
	// (store.WithStalled) of the renewal's own caller, and joiners those
	// of the callers that joined it (see join), while they wait.
	stallMu    sync.Mutex
	stallNow   string
	stallSince time.Time
	caller     func(what string, stalled bool, since time.Time)
	joiners    map[*joiner]bool
}

// joiner is a caller waiting for a renewal another caller began, told of
// its stalls through tell until it leaves.
type joiner struct {
	tell func(what string, stalled bool, since time.Time)
}

// flightKey is the context key of the flight a renewal is, for exchange.
type flightKey struct{}

// watch is ctx for f's renewal, which s leads for a caller that is served
// the valid token at a stall if meanwhile (see waitFor): its calls to the
// store that stall close f.stalled, and its token requests set f.sent. A
// stall that serves the caller is not told to ctx's own listeners
// (store.WithStalled): a command at a terminal said it waited for Redis,
// and then that it used the valid token; a proxy whose timeout is under
// store.StallNotice answered 503 at the stall, racing the token served.
// The callers that join the renewal once that token no longer serves them
// are told instead (see join), each stall and its end.
func (f *flight) watch(ctx context.Context, s *Source, meanwhile bool) context.Context {
	ctx = context.WithValue(ctx, flightKey{}, f)
	f.caller = stallwatch.Listener(ctx)
	if f.caller == nil {
		f.caller = func(string, bool, time.Time) {}
	}
	return stallwatch.With(ctx, func(what string, stalled bool, since time.Time) {
		f.stallMu.Lock()
		defer f.stallMu.Unlock()
		if !stalled {
			if f.stallNow == what {
				f.stallNow = ""
				f.tellJoiners(what, false, since)
			}
			f.caller(what, false, since)
			return
		}
		f.stallNow, f.stallSince = what, since
		f.tellJoiners(what, true, since)
		r := s.cur.Load()
		serves := !f.sent.Load() && s.stillServes(r)
		f.stallOnce.Do(func() {
			f.store = what
			if serves {
				f.valid = r
			}
			close(f.stalled)
		})
		if !meanwhile || !serves {
			f.caller(what, true, since)
		}
	})
}

// join has the caller of ctx, which waits for f's renewal with no token to
// serve it meanwhile, told each stall of the renewal's calls to the store,
// and its end, until it calls leave, as it stops waiting: the stall under
// way at once, with when its call was sent (a proxy's environment keeps a
// stall it was told until its end). The renewal tells only its own
// caller's listener, and not at all a stall that served its caller the
// valid token (see watch): a proxy's request whose token expired since,
// bound by its timeout, waited for the store's own wait (20 s a try with
// a long read_timeout), and a library program's caller heard nothing. A
// caller that left is told nothing more, nor kept by the renewal.
func (f *flight) join(ctx context.Context) (leave func()) {
	tell := stallwatch.Listener(ctx)
	if tell == nil {
		return func() {}
	}
	j := &joiner{tell: tell}
	f.stallMu.Lock()
	defer f.stallMu.Unlock()
	if f.stallNow != "" {
		tell(f.stallNow, true, f.stallSince)
	}
	if f.joiners == nil {
		f.joiners = map[*joiner]bool{}
	}
	f.joiners[j] = true
	return func() {
		f.stallMu.Lock()
		defer f.stallMu.Unlock()
		delete(f.joiners, j)
	}
}

// tellJoiners tells the callers that joined f's renewal, and still wait
// for it, of a stall or its end. The caller holds stallMu.
func (f *flight) tellJoiners(what string, stalled bool, since time.Time) {
	for j := range f.joiners {
		j.tell(what, stalled, since)
	}
}

// ended tells the end of a stall of f's renewal that no answer ended, as
// the renewal ends (ctx is its own): a call the store left unanswered
// until it gave up, whose end store.WatchStall does not tell, the store
// perhaps stalled still. The renewal no longer waits for the store, and
// the next call to it tells whether it answers: a proxy kept the stall,
// and took it for that of every renewal after, answered or not. The
// renewal's caller is not told if its context ended the renewal, as a
// store's call ended by its caller is not.
func (f *flight) ended(ctx context.Context) {
	f.stallMu.Lock()
	defer f.stallMu.Unlock()
	what, since := f.stallNow, f.stallSince
	if what == "" {
		return
	}
	f.stallNow = ""
	f.tellJoiners(what, false, since)
	if ctx.Err() == nil {
		f.caller(what, false, since)
	}
}

// sentIn records that the renewal ctx is for (see watch), if any, has
// sent a token request.
func sentIn(ctx context.Context) {
	if f, _ := ctx.Value(flightKey{}).(*flight); f != nil {
		f.sent.Store(true)
	}
}

// errNotMade is what the methods of a nil or zero Source return, which
// have nothing to work with: only New makes a Source that does.
var errNotMade = errors.New("freshtoken: this Source is nil or the zero Source, which cannot fetch or renew tokens; use freshtoken.New to make one")

// unmade reports whether s was not made by New: nil, or the zero Source
// (New always gives it a store). Its exported methods then return
// errNotMade, or nothing, rather than panic.
func (s *Source) unmade() bool { return s == nil || s.store == nil }

// aroundSecret reports whether secret has white space before or after it,
// which no provider issues.
func aroundSecret(secret string) bool { return strings.TrimSpace(secret) != secret }

// nilStore reports whether st, an interface that is not nil, holds a nil
// pointer (or other nil value), whose methods would dereference it.
func nilStore(st store.Store) bool {
	v := reflect.ValueOf(st)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// settings is s's Settings, or the zero Settings of a nil or zero Source,
// for the accessors that answer "" then. It is a pointer: a caller reads
// the one field it wants, never a copy of the endpoints, which
// endpointsMu guards.
func (s *Source) settings() *Settings {
	if s.unmade() {
		return &Settings{}
	}
	return &s.set
}

// checkDurations refuses a negative length of time in s, as the
// configuration file refuses one: each was taken for its default (or, in
// RetryBackoff, for no wait), so a mistake went unseen.
func checkDurations(s Settings) error {
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"RenewBefore", s.RenewBefore}, {"IdleLimit", s.IdleLimit}, {"DefaultLifetime", s.DefaultLifetime},
		{"Timeout", s.Timeout}, {"StoreCheckInterval", s.StoreCheckInterval}, {"MaxRetryAfter", s.MaxRetryAfter},
	} {
		if d.d < 0 {
			return fmt.Errorf("freshtoken: Settings.%s is negative (%s); give a length of time, or zero for the default", d.name, d.d)
		}
	}
	for i, d := range s.RetryBackoff {
		if d < 0 {
			return fmt.Errorf("freshtoken: Settings.RetryBackoff[%d] is negative (%s); give the waits between retries, zero for none", i, d)
		}
	}
	return nil
}

// New returns a Source for s backed by o.Store. It reads and sends
// nothing: the store is first read, and the client secret first fetched,
// when a token is needed. Settings that could never work (no Env or
// ClientID, neither TokenURL nor Discover, a URL without scheme or host, an
// empty scope, a negative length of time, no client authentication style)
// are refused, the error naming the field.
func New(s Settings, o Options) (*Source, error) {
	// Copies of its own: a caller may reuse or change its maps and slices
	// (for another Source) while this one renews.
	s.Scopes, s.Resources, s.ScopeResources, s.RetryBackoff = slices.Clone(s.Scopes), slices.Clone(s.Resources), slices.Clone(s.ScopeResources), slices.Clone(s.RetryBackoff)
	s.AuthParams, s.TokenParams = maps.Clone(s.AuthParams), maps.Clone(s.TokenParams)
	if o.Store == nil {
		return nil, errors.New("freshtoken: Options.Store is required")
	}
	if nilStore(o.Store) {
		// A nil *filestore.Store, or what redisstore.New returned with its
		// error: every use would panic in the caller's goroutine.
		return nil, fmt.Errorf("freshtoken: Options.Store is a nil %T; give it a store its constructor made without an error", o.Store)
	}
	if s.Env == "" {
		return nil, errors.New("freshtoken: Settings.Env is required: the environment's name, under which the store keeps its tokens")
	}
	if s.TokenURL == "" && s.Discover == nil {
		return nil, errors.New("freshtoken: Settings.TokenURL is required, or Settings.Discover (with Settings.Issuer) to find it")
	}
	if err := store.ValidateEnvName(s.Env); err != nil {
		return nil, fmt.Errorf("freshtoken: Settings.Env: %w", err)
	}
	// An id no provider issued would be refused at every token request,
	// and would bind a record stored before grants were to that id.
	if s.ClientID == "" || strings.TrimSpace(s.ClientID) != s.ClientID {
		return nil, fmt.Errorf("freshtoken: Settings.ClientID %q is empty or has white space around it; give the client id the provider issued", s.ClientID)
	}
	// x/oauth2 joins the scopes with spaces: an empty one, or one with
	// white space around it, would send a stray space (or scope= alone),
	// a malformed scope some providers refuse every request for.
	for i, sc := range s.Scopes {
		if sc == "" || strings.TrimSpace(sc) != sc {
			return nil, fmt.Errorf("freshtoken: Settings.Scopes[%d] %q is empty or has white space around it, which the requests would carry as a stray space; give each scope trimmed, or leave it out", i, sc)
		}
	}
	// A secret read from a file or a command's output with its line ending
	// is refused by the provider as a wrong secret, which it looks right.
	if aroundSecret(s.ClientSecret) {
		return nil, errors.New("freshtoken: Settings.ClientSecret has white space around it (a line ending, read with it from a file?); give the secret the provider issued, trimmed")
	}
	for _, f := range []struct{ name, url string }{
		// An API URL that is not one matches no request: the token would
		// silently never be sent. An endpoint that is not one would fail
		// every request, as if the provider were down.
		{"APIURL", s.APIURL}, {"TokenURL", s.TokenURL}, {"AuthURL", s.AuthURL},
		{"RevocationURL", s.RevocationURL}, {"DeviceAuthURL", s.DeviceAuthURL},
	} {
		if fault := urlFault(f.name, f.url); fault != "" {
			return nil, fmt.Errorf("freshtoken: Settings.%s %s", f.name, fault)
		}
	}
	if s.Discover != nil && s.Issuer == "" {
		// Tokens are bound to the issuer: a token endpoint still to be
		// discovered cannot bind them.
		return nil, errors.New("freshtoken: Settings.Discover needs Settings.Issuer, to which the tokens are bound")
	}
	if err := checkClientAuth(&s); err != nil {
		return nil, err
	}
	if err := checkParams(&s); err != nil {
		return nil, err
	}
	if s.APIURL != "" && !strings.HasSuffix(s.APIURL, "/") && !strings.ContainsAny(s.APIURL, "?#") {
		s.APIURL += "/" // the root, as APIURL promises: APIURL() + "v2/…" is a path on it
	}
	switch s.Grant {
	case "":
		s.Grant = GrantAuthorizationCode
	case GrantAuthorizationCode, GrantClientCredentials, GrantDeviceCode:
	default:
		return nil, fmt.Errorf("freshtoken: Settings.Grant %q is not GrantAuthorizationCode, GrantClientCredentials or GrantDeviceCode", s.Grant)
	}
	if err := checkDurations(s); err != nil {
		return nil, err
	}
	if s.RenewBefore == 0 {
		s.RenewBefore = DefaultRenewBefore
	}
	if s.DefaultLifetime == 0 {
		s.DefaultLifetime = DefaultLifetime
	}
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	if s.StoreCheckInterval == 0 {
		s.StoreCheckInterval = 10 * time.Second
	}
	if s.RetryBackoff == nil {
		s.RetryBackoff = DefaultRetryBackoff()
	}
	if s.MaxRetryAfter == 0 {
		s.MaxRetryAfter = 65 * time.Second
	}
	src := &Source{set: s, tokenURL: s.TokenURL, endpointsMu: make(chan struct{}, 1), store: o.Store, log: o.Logger, now: func() time.Time { return clock.Wall(o.Clock) }, timers: o.Clock, http: o.HTTPClient, pause: httpx.Wait, locking: o.Locking}
	if src.timers == nil {
		src.timers = time.Now
	}
	if s.APIURL != "" {
		src.api, _ = url.Parse(s.APIURL) // checked above
	}
	// A program's own logger masks the secrets registered (tokens, the
	// client secret, keys in the endpoints' URLs) as the command line's
	// does: a store's error or a provider's words may quote them.
	src.log = redact.Logger(src.log).With("env", s.Env)
	if src.http == nil {
		src.http = &http.Client{Timeout: s.Timeout}
	}
	src.apiTransport = src.http.Transport
	src.tokenWake.Start()
	src.apiWake.Start()
	src.http = tokenerr.Lenient(src.http) // a copy: the caller's client is left as it is
	// Settings.Timeout bounds token requests, not a shorter Timeout the
	// caller's client has for its API calls: a renewal cut off after the
	// provider rotated the refresh token would have to spend it again.
	src.http.Timeout = s.Timeout
	var err error
	if src.http, err = src.tokenClient(src.http); err != nil {
		return nil, err
	}
	if _, err = authURL(&s, s.AuthURL); err != nil {
		return nil, err
	}
	src.sending = func(r Renewal) func() {
		var stored func()
		switch {
		case o.Sending == nil:
		case r.Storing || r.Unsaved: // tokens in hand, which nothing may keep from the store
			src.unpanicked("Options.Sending", func() { stored = o.Sending(r) })
		default: // nothing sent yet: the caller may be told
			stored = o.Sending(r)
		}
		if stored == nil {
			return func() {} // nothing to tell, as from a program that only logs
		}
		return func() { src.unpanicked("the function Options.Sending returned", stored) }
	}
	redact.Register(s.ClientSecret)
	redact.RegisterURLs(s.APIURL, s.AuthURL, s.TokenURL, s.RevocationURL, s.DeviceAuthURL, s.Issuer)
	return src, nil
}

// String names the Source's environment and store, and nothing of its
// settings: printing a Source (%v, %+v, slog) shows no client secret.
func (s *Source) String() string {
	if s == nil {
		return "freshtoken.Source(nil)"
	}
	if s.store == nil { // the zero Source
		return "freshtoken.Source()"
	}
	return "freshtoken.Source(" + s.set.Env + ", " + s.Location() + ")"
}

// GoString is String for %#v.
func (s *Source) GoString() string { return s.String() }

// LogValue is String for slog, whose JSON handler would otherwise log {}.
func (s *Source) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Env is the environment's name.
func (s *Source) Env() string { return s.settings().Env }

// ConfigFile is Settings.ConfigFile: the configuration file whose log-ins
// the record names.
func (s *Source) ConfigFile() store.ConfigFile { return s.settings().ConfigFile }

// Issuer is Settings.Issuer: the authorization server the tokens are bound
// to, "" when the endpoints are set without one. A log-in's answer naming
// another (RFC 9207's iss) is not the answer of this environment's
// provider.
func (s *Source) Issuer() string { return s.settings().Issuer }

// APIURL is the environment's API root, ending in "/".
func (s *Source) APIURL() string { return s.settings().APIURL }

// Location says where the environment's tokens are stored.
func (s *Source) Location() string {
	if s.unmade() {
		return ""
	}
	return s.store.Location(s.set.Env)
}

// StuckLocks tells, for any environment kept in the Source's store, that
// its renewal lock is held by a process that cannot let it go until a
// person acts (one that is stopped: Ctrl-Z, SIGSTOP), and what to do, in
// one line that holds no secret, as a renewal waiting for it says it: "the
// renewal lock of ENV: process …"; "" when none is known, or the store
// cannot tell (see store.StuckHolderTeller: Redis cannot, nor can a system
// other than Linux). It looks once, now, for a caller asking of every
// environment, as status and the proxy's page do, and never waits for a
// lock.
func (s *Source) StuckLocks() func(env string) string {
	if s.unmade() {
		return func(string) string { return "" }
	}
	holder, ok := s.store.(store.StuckHolderTeller)
	if !ok {
		return func(string) string { return "" }
	}
	return holder.StuckHolders()
}

// TokenClient carries every request to the provider's token and revocation
// endpoints, a log-in's code exchange included: it adds the environment's
// token parameters and client assertion (see ClientAuth) whatever the grant.
// Pass it to x/oauth2 in the context (oauth2.HTTPClient). Each call returns
// a client of the caller's own, to set up as it likes (a Timeout, a
// CheckRedirect) without changing the Source's renewals. A nil or zero
// Source's sends nothing: each request fails, saying to use New.
func (s *Source) TokenClient() *http.Client {
	if s.unmade() {
		return &http.Client{Transport: failing{errNotMade}}
	}
	// A copy: the caller may set it up for its own log-in (a Timeout, a
	// CheckRedirect), which must not reach the renewals sent through the
	// Source's, bounded by Settings.Timeout and following no redirect.
	c := *s.http
	return &c
}

// OAuth2Config is the x/oauth2 configuration for this environment, with the
// client secret resolved (or under private_key_jwt, the key loaded). Its
// AuthURL asks for the environment's audience, resources and AuthParams;
// its token requests get the rest only when sent through TokenClient. For
// a log-in (a redirectURI given), the secret and key are read afresh: a
// person logging in again may have just fixed them.
func (s *Source) OAuth2Config(ctx context.Context, redirectURI string) (*oauth2.Config, error) {
	if s.unmade() {
		return nil, errNotMade
	}
	if redirectURI != "" {
		s.forgetClientCredentials()
	}
	ep, err := s.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	auth, err := authURL(&s.set, ep.AuthURL)
	if err != nil {
		return nil, err
	}
	secret, err := s.clientSecret(ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{
		ClientID:     s.set.ClientID,
		ClientSecret: secret,
		Endpoint:     oauth2.Endpoint{AuthURL: auth, TokenURL: ep.TokenURL, AuthStyle: s.set.AuthStyle},
		RedirectURL:  redirectURI,
		Scopes:       slices.Clone(s.set.Scopes), // the caller's to change, not the Source's
	}, nil
}

// urlExamples are what each URL of Settings looks like.
var urlExamples = map[string]string{
	"APIURL": "https://api.example.com/", "TokenURL": "https://login.example.com/token", "AuthURL": "https://login.example.com/authorize",
	"RevocationURL": "https://login.example.com/revoke", "DeviceAuthURL": "https://login.example.com/device",
}

// urlFault says what keeps u, Settings' field name or an endpoint
// Settings.Discover found for it, from being used (httpx.URLFault); ""
// when nothing does. A secret in the query of an endpoint is not shown:
// every message and debug line naming the URL would show it. (The API's
// requests mask such query values by name.)
func urlFault(name, u string) string {
	if u == "" {
		return ""
	}
	if fault := httpx.URLFault(u); fault != "" {
		return fault + "; give the URL alone, such as " + urlExamples[name]
	}
	if k := redact.SecretInQuery(u); name != "APIURL" && k != "" {
		return fmt.Sprintf("has %s in its query, a secret that every message naming the endpoint would show: the client authenticates as Settings.ClientAuth says; give the URL without it", k)
	}
	return ""
}

// Endpoints returns the provider's endpoints, discovering the ones Settings
// leave empty the first time they are needed. Endpoints set in Settings win.
// A failed discovery is tried again on the next call.
func (s *Source) Endpoints(ctx context.Context) (Endpoints, error) {
	if s.unmade() {
		return Endpoints{}, errNotMade
	}
	select {
	case s.endpointsMu <- struct{}{}:
	default:
		// A discovery under way (a renewal's, with its own timeout) holds
		// a caller that waits less (the proxy's check) no longer than it
		// would wait for the issuer itself.
		select {
		case s.endpointsMu <- struct{}{}:
		case <-ctx.Done():
			return Endpoints{}, fmt.Errorf("waiting for the discovery of the provider's endpoints: %w", ctx.Err())
		}
	}
	defer func() { <-s.endpointsMu }()
	if !s.discovered && s.set.Discover != nil {
		found, err := s.set.Discover(ctx)
		if err != nil {
			return Endpoints{}, err
		}
		fill := []struct {
			name  string
			set   *string
			found string
		}{
			{"AuthURL", &s.set.AuthURL, found.AuthURL}, {"TokenURL", &s.set.TokenURL, found.TokenURL},
			{"RevocationURL", &s.set.RevocationURL, found.RevocationURL}, {"DeviceAuthURL", &s.set.DeviceAuthURL, found.DeviceAuthURL},
		}
		// What a program's Discover found is held to what New holds
		// Settings to (the config's discovery checks more).
		for _, f := range fill {
			if fault := urlFault(f.name, f.found); *f.set == "" && fault != "" {
				return Endpoints{}, &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: fmt.Sprintf("the %s that Settings.Discover found %s", f.name, fault)}
			}
		}
		s.revocationFound = s.set.RevocationURL == "" && found.RevocationURL != ""
		// Of the endpoint found: one set in Settings may be another server's.
		s.issuerInAnswers = s.set.AuthURL == "" && found.IssuerInAnswers
		for _, f := range fill {
			if *f.set == "" {
				*f.set = f.found
				redact.RegisterURLs(f.found) // a key in its query, as New registers the configured ones
			}
		}
		if s.set.TokenURL == "" {
			return Endpoints{}, &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: "the provider's discovery document names no token endpoint; set token_url"}
		}
	}
	s.discovered = true
	return s.endpointsLocked(), nil
}

// knownEndpoints are the endpoints as known now, without discovering any.
func (s *Source) knownEndpoints() Endpoints {
	s.endpointsMu <- struct{}{}
	defer func() { <-s.endpointsMu }()
	return s.endpointsLocked()
}

func (s *Source) endpointsLocked() Endpoints {
	return Endpoints{AuthURL: s.set.AuthURL, TokenURL: s.set.TokenURL, RevocationURL: s.set.RevocationURL, DeviceAuthURL: s.set.DeviceAuthURL, IssuerInAnswers: s.issuerInAnswers}
}

// forgetClientCredentials drops the client secret and key kept from
// earlier requests once the provider has rejected the client, so that the
// next request fetches them again: a long-running process (the proxy, a
// service) takes up a secret rotated in the keychain or a certificate
// renewed in the key file, instead of sending the rejected one until it
// restarts.
func (s *Source) forgetClientCredentials() {
	s.credMu.Lock()
	s.secret, s.key = nil, nil
	s.credMu.Unlock()
}

// NoteClientRejected records, beside the environment's stored tokens of
// this client, that the provider rejected the client's credentials in a
// log-in (msg says how), as a renewal so rejected does: status and the
// proxy's page tell of it until a renewal or log-in succeeds. The tokens
// are kept; with none stored there is nowhere to note it, and a failure to
// note it is only logged. The client secret and key are read again for the
// next request.
func (s *Source) NoteClientRejected(ctx context.Context, msg string) {
	if s.unmade() {
		return
	}
	s.forgetClientCredentials()
	unlock, err := s.lock(ctx)
	if err != nil {
		return
	}
	defer unlock()
	if r, err := s.load(ctx); err == nil {
		s.note(ctx, r, r, store.ProblemClientRejected, msg)
	}
}

// clientSecret fetches the secret once it is first needed. Only a success
// is kept, until the provider rejects the client (forgetClientCredentials):
// a failed or interrupted secret command is tried again next time.
// A client that sends no secret has "", and under private_key_jwt its key
// is loaded instead, so that a key that cannot be used is reported before
// any request is sent. The wait for it ends with ctx, as nothing has been
// sent yet; the command or the key's loading runs on all the same (for
// secretTimeout at most), and a success is kept for the next caller.
func (s *Source) clientSecret(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		// Ended before anything was waited for: no secret is to blame.
		return "", fmt.Errorf("%s: gave up before any token request was sent: %w", s.set.Env, err)
	}
	secret, err := await.Result(ctx, func() (string, error) { return s.fetchClientSecret(context.WithoutCancel(ctx)) })
	if err != nil && ctx.Err() != nil {
		what := "the client secret"
		if s.set.ClientAuth == ClientAuthPrivateKeyJWT {
			what = "the client's key"
		}
		return "", fmt.Errorf("%s: gave up waiting for %s, before any token request was sent: %w", s.set.Env, what, ctx.Err())
	}
	return secret, err
}

// fetchClientSecret is clientSecret, waited for whatever ctx says.
func (s *Source) fetchClientSecret(ctx context.Context) (string, error) {
	s.credMu.Lock()
	defer s.credMu.Unlock()
	if s.set.ClientAuth == ClientAuthPrivateKeyJWT {
		_, err := s.clientKey(ctx)
		return "", err
	}
	if s.secret != nil {
		return *s.secret, nil
	}
	secret := s.set.ClientSecret
	if secret == "" && s.set.ClientSecretFunc != nil {
		s.log.Debug("fetching the client secret", "timeout", secretTimeout)
		cctx, cancel := context.WithTimeout(ctx, secretTimeout)
		defer cancel()
		var err error
		if secret, err = s.set.ClientSecretFunc(cctx); err != nil {
			return "", err
		}
		if aroundSecret(secret) {
			// The client's to fix, as the provider's refusal of it would
			// be: a program that keeps the tokens then keeps them.
			return "", &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: "Settings.ClientSecretFunc returned a client secret with white space around it (a line ending, read with it from a file or a command?), which the provider would refuse; nothing was sent: return it trimmed"}
		}
	}
	redact.Register(secret)
	s.secret = &secret
	return secret, nil
}

// Token returns a valid access token, renewing it first if needed. When
// it has none to give, its error says what happened to which environment
// and what to do: an *Error, whose Kind a program branches on with
// errors.Is (ErrLoginRequired: log in again; ErrUnreachable or
// store.ErrUnreachable: try again later; ErrClientRejected: mend the
// client's settings; see ExampleError), or, from a function of the
// program's own (Settings.ClientSecretFunc, Settings.Discover), that
// function's error as it came. A failure never loses the stored tokens.
func (s *Source) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext is Token with a context bounding the wait for a renewal:
// for the lock, for the client secret, and between tries. A token request
// already sent is waited for past ctx, up to Settings.Timeout, and its
// answer stored before TokenContext returns, so that a program that exits
// on ctx's error cannot lose the refresh token the provider rotated. A
// token due for renewal (Settings.RenewBefore) but still valid is served
// without waiting out a store that does not answer: once a call of the
// renewal to the store has gone unanswered for store.StallNotice, before
// any token request was sent, the renewal goes on without the caller, as
// long as ctx lasts: no token request starts once ctx has ended, so a
// program that ends ctx and then waits for the requests told to
// Options.Sending leaves none unstored. A stall so served is not told to
// the function store.WithStalled gave ctx (the caller is not kept
// waiting); a caller that joins the renewal with no valid token to serve
// it is told it.
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if s.unmade() {
		return nil, errNotMade
	}
	r, err := s.get(ctx, want{})
	if err != nil {
		if r = s.stillValid(err); r == nil {
			return nil, err
		}
	}
	return s.serve(r)
}

// stillValid is the token in use when its renewal, due some time before it
// expires (refresh_before), failed because the provider or the store could
// not be reached: until it expires, it serves better than an error. nil for
// other failures, or a token with no known expiry, or one expired.
func (s *Source) stillValid(err error) *store.Record {
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrUnusableToken) {
		return nil
	}
	r := s.cur.Load()
	if !s.stillServes(r) {
		return nil
	}
	level := slog.LevelDebug // said already: each caller meets the failure again while renewals rest
	if s.firstToWarn(err) {
		level = slog.LevelWarn
	}
	at, _ := s.expiry(r)
	s.log.Log(context.Background(), level, "could not renew the access token; it is still valid until "+at.UTC().Format(time.RFC3339)+", and is used until then",
		"expires_in", at.Sub(s.now()).Round(time.Second), "error", err.Error())
	return r
}

// stillServes reports whether r, the token in memory, may be served while
// its renewal fails or waits for the store: its grant not ended, and its
// access token valid, by a known expiry.
func (s *Source) stillServes(r *store.Record) bool {
	if r == nil || grantEnded(r) || r.AccessToken == "" {
		return false
	}
	at, known := s.expiry(r)
	return known && s.now().Before(at)
}

// firstToWarn reports whether err tells another failure than the last one
// a warning told of since a success, or the same one told over a minute
// ago, and records it: while renewals rest after one that gave up, and at
// each try after a rest while the provider or the store stays down, every
// caller meets that failure again, and a busy program (a proxy) would warn
// of it once a request, or once every few seconds.
func (s *Source) firstToWarn(err error) bool {
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	now := s.now()
	// A warning further on than now, the clock set back since, is not
	// moments ago: the failure went untold for as long as it was set back.
	if since := now.Sub(s.warnedAt); s.warned == err.Error() && since >= 0 && since < time.Minute {
		return false
	}
	s.warned, s.warnedAt = err.Error(), now
	return true
}

// TokenValidFor returns an access token that stays valid for at least d,
// renewing it first if less is left, and only then: a script that will run
// for ten minutes gets a token that lasts. When the provider's tokens live
// less than d (plus refresh_before), no renewal can meet d: the token is
// then renewed only once it is older than refresh_before, and returned as
// it is, so that callers asking too much get tokens as fresh as renewing
// makes them, not a renewal per call.
func (s *Source) TokenValidFor(ctx context.Context, d time.Duration) (*oauth2.Token, error) {
	if s.unmade() {
		return nil, errNotMade
	}
	r, err := s.get(ctx, want{lasting: d})
	if err == nil && !s.lasts(r, s.attainable(r, d)) { // another caller's renewal was shared: it may not last
		r, err = s.get(ctx, want{lasting: d})
	}
	if err != nil {
		return nil, err
	}
	return s.serve(r)
}

// Renew renews the token now, whatever its expiry: it returns a token
// issued after the call began, never the one stored as it began. Callers
// that force renewals at once share one: a renewal that another caller,
// process or machine completed while this one waited for it, its token
// request sent after this call began, is this call's, and no token request
// of its own is sent (each would spend a rotating refresh token, against a
// provider's limit on renewals), unless its token is already due for
// renewal; so is the failure of one that gave up meanwhile, resting
// renewals (a rest begun before the call does not hold it back, but for
// tokens put back in a store that lost them).
func (s *Source) Renew(ctx context.Context) (*oauth2.Token, error) {
	if s.unmade() {
		return nil, errNotMade
	}
	since := s.now()
	r, err := s.get(ctx, want{force: true, since: since, held: s.heldAsBegun(ctx)})
	if err != nil {
		return nil, err
	}
	return s.serve(r)
}

// renewRejected is what to do when the API answers 401 to the access token
// rejected: it returns a token to retry with, the store's if another renewer
// already replaced it, or else a new one; asked reports whether a token
// request of this Source was answered meanwhile, so that the token is
// likely one issued since the 401, not one taken as found. It returns
// errJustRenewed when rejected itself came from a 401's renewal too
// recently (rejectedQuiet): renewing again would not help, so pass the 401
// on. Transport is its one caller.
func (s *Source) renewRejected(ctx context.Context, rejected string) (tok *oauth2.Token, asked bool, err error) {
	before := s.answered.Load()
	r, err := s.get(ctx, want{rejected: rejected})
	if err != nil {
		return nil, false, err
	}
	tok, err = s.serve(r)
	return tok, s.answered.Load() != before, err
}

// Record returns the stored record without renewing anything; nil when the
// environment has never logged in.
func (s *Source) Record(ctx context.Context) (*store.Record, error) {
	if s.unmade() {
		return nil, errNotMade
	}
	r, err := s.loadStored(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return r, err
}

// Restore puts r, this environment's record as the caller last read it
// (through this Source or another of the process on the same store), back
// into a store that lost it without anyone deleting it: a Redis restarted
// without persistence, or failed over to an empty replica (see
// store.Restorer). It takes the renewal lock, and returns the record the
// store holds now: r, or a later copy (the process's own, found or saved
// since r was read, or another machine's, put back first), or another
// log-in's. A record deleted on purpose (a log-out, FLUSHALL), a
// store that cannot tell, or one that is no store.Restorer, restores
// nothing, nor does r noting that the provider ended its grant (which
// would take the place of a log-in made elsewhere since, unseen here): an
// error wrapping store.ErrNotFound. A proxy's Source puts back
// the record it serves from by itself; a keeper that opens a Source at
// each look keeps the record it read, and calls this when the store holds
// none; it calls this too when the store holds an older copy of the
// log-in it holds (renewed fewer times, put back by a machine that read it
// before a renewal), which r then replaces.
func (s *Source) Restore(ctx context.Context, r *store.Record) (*store.Record, error) {
	if s.unmade() {
		return nil, errNotMade
	}
	if _, ok := s.store.(store.Restorer); !ok || r == nil {
		return nil, fmt.Errorf("%w: %s holds none", store.ErrNotFound, s.Location())
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	work := context.WithoutCancel(ctx)
	if stored, err := s.loadStored(work); err == nil && s.olderCopy(stored, r) {
		// An older copy of r's log-in, put back by another machine: r
		// goes in its place (see olderCopy).
		back, err := s.putLaterBackLocked(work, r)
		if err != nil {
			return nil, err
		}
		if cur := s.cur.Load(); s.olderCopy(cur, back) {
			s.cur.CompareAndSwap(cur, back)
		}
		return back, nil
	}
	return s.restoreLocked(work, r)
}

// putBackCopy is r as it is put back in a store that lost it: resting
// renewals a moment (resting.PutBack). The loss may have come while another
// machine's renewal was in flight, its lock and mark lost with the tokens,
// and its answer, which replaces this copy (see saveUnsaved), is stored
// within it; a renewal at once would send the refresh token that renewal
// spent.
func (s *Source) putBackCopy(r *store.Record) *store.Record {
	put := *r
	put.Rest = &store.Rest{Until: s.now().Add(resting.PutBack), PutBack: true, Message: "the token store lost the tokens without a log-out (Redis restarted without persistence, or failed over to an empty replica), and they were put back; renewals wait a moment, in case one in flight elsewhere is still to store its answer"}
	return &put
}

// restoreLocked is Restore under the renewal lock, which the caller holds.
func (s *Source) restoreLocked(ctx context.Context, r *store.Record) (*store.Record, error) {
	rs, ok := s.store.(store.Restorer)
	if !ok {
		return nil, fmt.Errorf("%w: %s holds none", store.ErrNotFound, s.Location())
	}
	if grantEnded(r) {
		// It serves no token, and a log-in elsewhere that this process has
		// not seen would be lost under it, taken by the machine holding
		// that log-in for newer tokens: the store stays empty for that
		// machine's put-back, or a log-in.
		s.log.Debug("the store holds no tokens; the record held notes that the provider ended the grant, so it is not put back", "store", s.Location())
		s.cur.CompareAndSwap(r, nil)
		return nil, fmt.Errorf("%w: %s holds none, and the tokens held are of a grant the provider ended", store.ErrNotFound, s.Location())
	}
	back, restored, err := rs.Restore(s.warnings(ctx), s.set.Env, s.putBackCopy(r))
	if err != nil {
		s.log.Debug("the store holds no tokens; none put back", "store", s.Location(), "why", err.Error())
		if errors.Is(err, store.ErrNotFound) {
			s.cur.CompareAndSwap(r, nil)
		}
		return nil, err
	}
	redact.Set(s.Location(), back.AccessToken, back.RefreshToken)
	switch {
	case restored:
		s.log.Warn("the token store lost the tokens without a log-out (Redis restarted without persistence, or failed over to an empty replica); they are stored again, and nothing is lost", "store", s.Location(), "renewals", back.Renewals)
	case back.LoggedInAt.Equal(r.LoggedInAt):
		s.log.Debug("the token store lost the tokens, and another process or machine put them back first; using them", "store", s.Location(), "renewals", back.Renewals)
	default:
		s.log.Info("the token store holds another log-in's tokens than those this process held; using those", "store", s.Location())
	}
	if s.cur.CompareAndSwap(r, back) {
		s.checkedAt.Store(s.now().UnixNano())
	}
	return back, nil
}

// olderCopy reports whether stored, read from a store that can lose its
// records and have them put back (store.Restorer), is an older copy of the
// log-in held than held: renewed fewer times (see store.RenewedLater). A
// store never goes back so but by a put-back from a machine that read the
// record before a renewal elsewhere, whose refresh token that renewal
// spent; sending it again would make a strict provider end the grant.
func (s *Source) olderCopy(stored, held *store.Record) bool {
	if _, ok := s.store.(store.Restorer); !ok || stored == nil || held == nil {
		return false
	}
	return store.LaterCopy(held, stored)
}

// putLaterBack stores held, this Source's later copy of the stored log-in,
// in place of the older copy the store holds (see olderCopy), under the
// renewal lock, and returns the record the store holds now.
func (s *Source) putLaterBack(ctx context.Context, held *store.Record) (*store.Record, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.putLaterBackLocked(context.WithoutCancel(ctx), held)
}

// putLaterBackLocked is putLaterBack under the renewal lock, which the
// caller holds: the store is read again, and held stored, resting renewals
// a moment as any copy put back does (putBackCopy), only if what it holds
// is still an older copy, and unchanged since read.
func (s *Source) putLaterBackLocked(ctx context.Context, held *store.Record) (*store.Record, error) {
	stored, err := s.load(ctx)
	if err != nil || !s.olderCopy(stored, held) {
		return stored, err
	}
	put := s.putBackCopy(held)
	if err := s.save(ctx, put, stored); err != nil {
		return nil, err
	}
	s.log.Warn("the token store held an older copy of these tokens, put back by another machine after the store lost them, whose refresh token a renewal since spent; the later copy this process holds is stored in its place", "store", s.Location(), "renewals", held.Renewals, "stored_renewals", stored.Renewals)
	return put, nil
}

// grant is the grant this environment's tokens must belong to. Its token
// endpoint is the one set, not one discovery found (it may be filling
// TokenURL in as this is read; the issuer names that one): with an issuer,
// a token_url set too is where the refresh tokens go (IssuerTokenURL), and
// two configurations of one issuer and client that send them to two token
// endpoints do not share them.
func (s *Source) grant() store.Grant {
	g := store.Grant{Issuer: s.set.Issuer, ClientID: s.set.ClientID, Type: s.set.Grant, Audience: s.set.Audience, Resource: store.Resources(s.set.Resources), Bound: true}
	if s.set.Issuer == "" {
		g.TokenURL = s.tokenURL
	} else {
		g.IssuerTokenURL = s.tokenURL
	}
	if len(s.set.Resources) == 0 {
		g.ScopeResource = store.Resources(s.set.ScopeResources)
	}
	return g
}

// adoptable reports whether g, the grant of a stored record, is taken for
// this environment's, and recorded as its own at the record's first use:
// g is from a record written before grants were recorded (it names
// nothing), or by a freshtoken that did not bind them (see
// store.Grant.Bound) and is otherwise this environment's: it records
// neither the token endpoint set beside an issuer nor the APIs scopes
// name, and when it names neither audience nor resource its tokens may
// have been requested for this environment's.
func (s *Source) adoptable(g store.Grant) bool {
	own := s.grant()
	switch {
	case g.IsZero():
		return true
	case g.Bound:
		return g == own
	}
	g.IssuerTokenURL, g.ScopeResource, g.Bound = own.IssuerTokenURL, own.ScopeResource, true
	if g.Audience == "" && g.Resource == "" {
		g.Audience, g.Resource = own.Audience, own.Resource
	}
	return g == own
}

// NeedsLogin reports whether the environment's grant begins with a person
// logging in; client credentials need none.
func (s *Source) NeedsLogin() bool { return !s.unmade() && s.set.Grant != GrantClientCredentials }

// OwnGrant is the grant this environment's tokens are bound to, as a record
// stores it: what CheckGrant compares a stored record's grant with.
func (s *Source) OwnGrant() store.Grant {
	if s.unmade() {
		return store.Grant{}
	}
	return s.grant()
}

// CheckGrant returns an error wrapping ErrLoginRequired when r's tokens
// belong to another client, provider, grant type, audience or resource than
// this environment's, as when two configurations use one environment name.
// Such tokens are never used or sent anywhere; a log-in replaces them. A
// record from before grants were recorded belongs to whichever environment
// first uses it, and so does one from before they named the audience and
// resources, to the first of this client's that names one. A record this
// freshtoken wrote for no audience or resource says so (store.Grant.Bound),
// and is no other environment's. A nil r (Record's answer when the
// environment has never logged in) holds no one's tokens: nil.
func (s *Source) CheckGrant(r *store.Record) error {
	if s.unmade() {
		return errNotMade
	}
	if r == nil {
		return nil
	}
	own := s.grant()
	if r.Grant == own || s.adoptable(r.Grant) {
		return nil
	}
	theirs, ours := r.Grant.String(), own.String()
	switch none := func(g store.Grant) bool { return g.Audience == "" && g.Resource == "" && g.ScopeResource == "" }; {
	case none(own) && !none(r.Grant):
		ours += " for no audience or resource"
	case none(r.Grant) && r.Grant.Bound && !none(own):
		theirs += " for no audience or resource"
	}
	return &Error{Env: s.set.Env, Kind: ErrLoginRequired, Msg: fmt.Sprintf(
		"the stored tokens belong to %s, not to this environment's %s; they were left untouched: a log-in replaces them, and a store of this environment's own keeps both",
		theirs, ours)}
}

// Logout forgets the environment's tokens. Tokens that belong to another
// client are left alone, and so are tokens a newer freshtoken stored
// (store.ErrNewerFormat), or that the store refuses to read (a record file
// others may read, store.ErrInsecure): this one cannot tell whose they
// are, nor revoke them, as the newer one, or this one once the file is
// mended, can. A corrupt record, no one's, is deleted. Only the record
// looked at is deleted (see store.DeleteIf): one stored in between, by a
// renewer or a log-in that took the lock while this one was paused past
// it (a Redis lock), is looked at again. A renewal's answer that the store
// refused, kept to be saved later, is forgotten with the tokens.
func (s *Source) Logout(ctx context.Context) error {
	return s.LogoutOf(ctx, nil)
}

// laterLogIn is the error of a log-out that found, in where, the tokens of
// a log-in made after the one it was asked to end: what wraps
// store.ErrChanged, did what it did of them.
func laterLogIn(where, did string) error {
	return fmt.Errorf("%w: %s holds the tokens of a log-in made since; %s", store.ErrChanged, where, did)
}

// LogoutOf is Logout of the log-in whose tokens loggedIn holds (Record's
// answer before a revocation), renewed since or not: tokens of a log-in
// made since (another terminal's, or the proxy page's, stored while a
// revocation held the renewal lock) are kept, with an error wrapping
// store.ErrChanged, as deleting them would leave that log-in's grant
// alive at the provider with nothing to end it. A nil loggedIn is Logout.
func (s *Source) LogoutOf(ctx context.Context, loggedIn *store.Record) error {
	return s.LogoutOfUnder(ctx, loggedIn, func(logout func() error) error { return logout() })
}

// LogoutOfUnder is LogoutOf run by within, which the renewal lock is held
// around: within is given the log-out to run, at most once, and does what
// must go with it under the same hold. A program that also edits a file
// of its own there takes that file's lock after the renewal lock, never
// before, so that another program taking both in that order (one moving
// the tokens to another store, which edits the file as it holds the
// renewal lock) is not waited for by a program it waits for.
func (s *Source) LogoutOfUnder(ctx context.Context, loggedIn *store.Record, within func(logout func() error) error) error {
	if s.unmade() {
		return errNotMade
	}
	unlock, err := s.lock(store.WithoutWrites(ctx))
	if err != nil {
		return err
	}
	defer unlock()
	return within(func() error { return s.forget(ctx, loggedIn) })
}

// forget is LogoutOf, the renewal lock held.
func (s *Source) forget(ctx context.Context, loggedIn *store.Record) error {
	for tries := 1; ; tries++ {
		r, err := s.loadStored(ctx)
		switch {
		case err == nil:
			if err := s.CheckGrant(r); err != nil {
				return err
			}
			if loggedIn != nil && !r.LoggedInAt.Equal(loggedIn.LoggedInAt) {
				return laterLogIn(s.Location(), "they were kept")
			}
		case !errors.Is(err, store.ErrNewerFormat) && (errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt)):
			r = nil // none, or one no one can read
		default: // a newer freshtoken's, one this user may not read (a file others may read), or no answer
			return storeError(s.set.Env, err, err.Error()+"; nothing was deleted")
		}
		s.cur.Store(nil)
		err = store.DeleteIf(s.warnings(ctx), s.store, s.set.Env, r)
		switch {
		case errors.Is(err, store.ErrChanged) && tries < maxLockTries:
			continue
		case errors.Is(err, store.ErrChanged):
			// Not ErrChanged itself, which callers take for a later
			// log-in kept.
			return &Error{Env: s.set.Env, Kind: ErrUnreachable, Msg: fmt.Sprintf(
				"the tokens in %s changed each of the %d times this log-out was about to delete them (another process renewed them past the renewal lock: one paused longer than the lock lasts, or a store that loses its locks); nothing was deleted, and they are kept: try again", s.Location(), tries)}
		case err != nil:
			return err
		}
		if u := s.unsavedNow(); u != nil { // it would replace the tokens deleted: no more tries to save it
			u.drop()
		}
		s.log.Debug("tokens deleted", "store", s.Location())
		return nil
	}
}

// SaveLogin stores the tokens a log-in obtained, in place of any stored
// for the environment; sentAt is when the code exchange was sent, from
// which the expiry is counted. A program that makes the log-in itself (one
// that sends its user to OAuth2Config's AuthCodeURL and exchanges the code
// with oauth2.Config.Exchange, its context holding TokenClient under
// oauth2.HTTPClient) calls it with the token Exchange returned; from then
// on the Source, and every program and machine sharing the store, renew
// it. It takes the renewal lock, so it waits for a renewal under way. A
// token with neither an access token nor a refresh token (or nil) is
// refused. On failure (the store refused, or ctx ended while it waited),
// nothing is stored, the tokens stored before are as they were, and the
// error says to log in again once the store is mended.
func (s *Source) SaveLogin(ctx context.Context, tok *oauth2.Token, sentAt time.Time) error {
	return s.SaveLoginIf(ctx, tok, sentAt, nil)
}

// LoginCheck says whether a log-in's tokens may replace those stored for
// the environment, given what Record would answer (nil and nil for none):
// an error refuses them. SaveLoginIf asks it under the renewal lock, so
// that a log-in that asked the person about the tokens it found keeps to
// their answer for tokens stored while it waited for the provider. It
// decides from what it is given, at once: every renewal of the environment
// (on every machine sharing the store) waits while it runs, so it asks no
// person, and calls nothing of the Source that takes the lock (Token,
// Renew, SaveLogin, Logout…), which would wait for it until their context
// ends. It is given a copy of the record, which it may change: the tokens
// are stored only over the record as stored.
type LoginCheck func(stored *store.Record, err error) error

// SaveLoginIf is SaveLogin, storing the tokens only if check (unless nil),
// asked under the renewal lock with the record stored then, agrees: its
// error is SaveLoginIf's, nothing stored. The tokens are stored over that
// record alone, compared and set in one step where the store can (see
// store.Swapper): a record stored after check saw it is checked in turn.
func (s *Source) SaveLoginIf(ctx context.Context, tok *oauth2.Token, sentAt time.Time, check LoginCheck) error {
	if s.unmade() {
		return errNotMade
	}
	return s.SaveLoginOf(ctx, s.set.ConfigFile, tok, sentAt, check)
}

// SaveLoginOf is SaveLoginIf for a log-in made for the configuration file
// file, which the record names (store.Record.LoggedInWith) in place of
// this Source's own (Settings.ConfigFile): a proxy completing the log-in
// that a `freshtoken login` with another file on this machine, sharing the
// record, asked it for.
func (s *Source) SaveLoginOf(ctx context.Context, file store.ConfigFile, tok *oauth2.Token, sentAt time.Time, check LoginCheck) error {
	if s.unmade() {
		return errNotMade
	}
	if tok == nil || tok.AccessToken == "" && tok.RefreshToken == "" {
		// It would replace the stored grant with a record holding nothing,
		// which every later read takes for a corrupt one.
		return fmt.Errorf("%s: the log-in brought no token (neither an access token nor a refresh token), so nothing was saved and the stored tokens are as they were", s.set.Env)
	}
	r := s.recordFrom(tok, nil, sentAt, "")
	if r.AccessToken == "" && r.RefreshToken == "" {
		// A log-in needed still: told so (exit 3), with the command to run.
		return s.loginError("the log-in brought no access token and a refresh token holding bytes that are not UTF-8 text, which cannot be stored or sent back as the provider wrote it, so nothing was saved and the stored tokens are as they were")
	}
	r.LoggedInAt, r.LoggedInWith = r.IssuedAt, file
	storing := s.inFlight()
	storing.LogIn, storing.Storing = true, true
	defer s.sending(storing)()
	ctx = context.WithValue(ctx, loggingIn{}, true)
	for tries := 1; ; tries++ {
		unlock, replaced, old, oldErr, err := s.lockToReplace(ctx, "client")
		if err != nil {
			return s.loginUnsaved(ctx, err)
		}
		defer unlock() // released below; this for a panic in check
		if errors.Is(oldErr, store.ErrNotFound) {
			oldErr = nil // as Record answers
		}
		if check != nil {
			if err := check(copyRecord(old), oldErr); err != nil { // a check that changes it changes nothing stored over
				unlock()
				return err
			}
		}
		err = s.save(ctx, r, old) // over the record checked alone
		unlock()
		switch {
		case err == nil:
			replaced()
			s.restAfter(0, nil) // new tokens begin afresh: the rest was for renewing the old
			s.remember(r)
			if r.RefreshToken != tok.RefreshToken && s.set.Grant != GrantClientCredentials {
				s.log.Warn("the provider's refresh token holds bytes that are not UTF-8 text, so it cannot be stored or sent back as it wrote it; the access token is used until it expires, then log in again")
			}
			s.warnNarrowed(r, nil)
			return nil
		case !errors.Is(err, errLockLost) && !errors.Is(err, store.ErrChanged) || tries == maxLockTries:
			return s.loginUnsaved(ctx, err)
		}
		// Another renewer stored tokens meanwhile, past a lock that
		// expired (Redis's): they are checked in turn.
	}
}

// loggingIn is the context key that says a log-in's tokens are being
// stored, for the words of the waits and failures on the way.
type loggingIn struct{}

// loginUnsaved is the error of a log-in whose tokens the store refused,
// or whose lock could not be taken, with err, in the log-in's words: the
// store's own speak of renewals, and of trying again, which for a log-in
// means logging in again. It wraps err.
func (s *Source) loginUnsaved(ctx context.Context, err error) error {
	what := strings.TrimPrefix(err.Error(), s.set.Env+": ")
	next := "fix the store, then "
	switch {
	case ctx.Err() != nil:
		next = "the wait for the store was given up; "
	case errors.Is(err, store.ErrDiskFull):
		// The store's words say which disk and what to do: "fix the
		// store" said nothing of a disk.
		what = strings.TrimPrefix(what, store.ErrWriteFailed.Error()+": ")
		return &logInAgainError{before: fmt.Sprintf("%s: the tokens the log-in brought could not be stored: %s, then ", s.set.Env, what), err: err}
	}
	return &logInAgainError{before: fmt.Sprintf("%s: the tokens the log-in brought could not be stored (%s); %s", s.set.Env, what, next), err: err}
}

// logInAgainError is a log-in that failed, told in a message whose step to
// take is logging in again, then after it, when ("later", or none): before
// and after are the message around that step, which LogInAgain gives a
// caller that names the log-in to run (the command line names its
// command). It wraps err.
type logInAgainError struct {
	before, after string
	err           error
}

// logInAgain is e, whose message ends on logging in again and after it
// (" later", or ""), told as a logInAgainError.
func logInAgain(e *Error, after string) error {
	before := e.Error()
	e.Msg += "log in again" + after
	return &logInAgainError{before: before, after: after, err: e}
}

func (e *logInAgainError) Error() string { return e.before + "log in again" + e.after }
func (e *logInAgainError) Unwrap() error { return e.err }

// LogInAgain is the message before its step, logging in again, and after.
func (e *logInAgainError) LogInAgain() (before, after string) { return e.before, e.after }

// LoginWithClientCredentials fetches a token with the client's credentials
// and stores it in place of whatever the store holds for the environment,
// another grant's tokens included, as SaveLogin does for a log-in. Client
// credentials need no log-in otherwise: this is how tokens of another grant
// (the environment used to log in another way) are replaced.
func (s *Source) LoginWithClientCredentials(ctx context.Context) error {
	if s.unmade() {
		return errNotMade
	}
	if s.set.Grant != GrantClientCredentials {
		return fmt.Errorf("freshtoken: %s does not use client credentials", s.set.Env)
	}
	unlock, replaced, _, _, err := s.lockToReplace(ctx, "grant")
	if err != nil {
		return err
	}
	defer unlock()
	if _, err = s.refresh(ctx, context.WithoutCancel(ctx), nil, store.RenewedOnRequest, false); err != nil {
		return err
	}
	replaced()
	return nil
}

// lockToReplace takes the renewal lock to store new tokens in place of
// whatever the store holds for the environment. replaced, called once they
// are stored, says so when the old ones belonged to another client or grant
// (other names which): said before, it told of tokens replaced when the
// token request then failed and the old ones stayed. old and oldErr are
// what the store holds, as loadStored reads it under the lock.
func (s *Source) lockToReplace(ctx context.Context, other string) (unlock, replaced func(), old *store.Record, oldErr, err error) {
	unlock, err = s.lock(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	returned := false
	defer func() {
		if !returned { // a panic in the program's Logger
			unlock()
		}
	}()
	replaced = func() {}
	old, oldErr = s.loadStored(ctx)
	switch {
	case oldErr == nil && s.CheckGrant(old) != nil:
		replaced = func() {
			s.log.Warn("replaced stored tokens that belonged to another "+other, "was", old.Grant.String(), "now", s.grant().String())
		}
	case errors.Is(oldErr, store.ErrNewerFormat):
		replaced = func() {
			s.log.Warn("replaced stored tokens a newer freshtoken wrote, which this one could neither read nor revoke", "store", s.Location())
		}
	}
	returned = true
	return unlock, replaced, old, oldErr, nil
}

// expiry is when r's access token expires, as far as renewal is concerned:
// the provider's word, or when its lifetime is unknown, DefaultLifetime
// after it was issued; sooner when this process's timers say so (see
// byTimers).
func (s *Source) expiry(r *store.Record) (at time.Time, known bool) {
	at, known = recordedExpiry(r, s.set.DefaultLifetime)
	return s.byTimers(r, at), known
}

// recordedExpiry is expiry as r records it, by the clock of the process
// that stored it.
func recordedExpiry(r *store.Record, defaultLifetime time.Duration) (at time.Time, known bool) {
	if !r.Expiry.IsZero() {
		return r.Expiry, true
	}
	return r.IssuedAt.Add(defaultLifetime), false
}

// sighting is an access token as issued at a time (a record's IssuedAt),
// and when this process first saw it so, on its timers. A provider may
// issue one access token again, its lifetime extended or counted down
// (a token cache): each issue is a sighting of its own, its lifetime
// counted from when this process first saw that issue.
type sighting struct {
	token  string
	issued time.Time
	at     time.Time
}

// timersTolerance is how much sooner than recorded the timers must put an
// expiry for byTimers to take their word: the two clocks' readings differ
// by moments at any time, and a token's expiry is not moved for that.
const timersTolerance = time.Second

// byTimers is at, the recorded expiry of r's access token, or sooner when
// less of its lifetime is left by this process's timers: the token was
// issued no later than this process first saw it (a renewal's, as its
// request was sent), so it expires within its lifetime of then, counted on
// the timers. Go's monotonic clock, which they read, stands still while
// the machine sleeps (the wall clock, which the store keeps, counts that)
// and does not move when the clock is set back: a token renewed, or first
// seen, while the clock ran ahead (then set back, by NTP or a person) was
// served until its expiry counted from the wrong time, as long after the
// provider refused it as the clock had run ahead. A token first seen long
// after it was issued keeps its recorded expiry, the sooner one.
func (s *Source) byTimers(r *store.Record, at time.Time) time.Time {
	life := at.Sub(r.IssuedAt)
	if r.AccessToken == "" || r.IssuedAt.IsZero() || life <= 0 {
		return at
	}
	if by := s.now().Add(life - s.seenFor(r)); by.Before(at.Add(-timersTolerance)) {
		return by
	}
	return at
}

// seenFor is how long ago, on the timers, this process first saw r's
// access token as issued at r.IssuedAt: none, the first time it asks.
func (s *Source) seenFor(r *store.Record) time.Duration {
	now := s.timers()
	seen := s.seen.Load()
	if seen == nil || seen.token != r.AccessToken || !seen.issued.Equal(r.IssuedAt) {
		s.seen.CompareAndSwap(seen, &sighting{token: r.AccessToken, issued: r.IssuedAt, at: now})
		return 0
	}
	return max(now.Sub(seen.at), 0)
}

// sawFirst records that this process saw r's access token first at, on
// its timers: as it sent the request that brought it.
func (s *Source) sawFirst(r *store.Record, at time.Time) {
	s.seen.Store(&sighting{token: r.AccessToken, issued: r.IssuedAt, at: at})
}

// skew is how long before its expiry r's access token is renewed:
// RenewBefore, or half the lifetime of a token that lives less than twice
// that.
func (s *Source) skew(r *store.Record) time.Duration {
	skew := s.set.RenewBefore
	at, _ := recordedExpiry(r, s.set.DefaultLifetime)
	if life := at.Sub(r.IssuedAt); !r.IssuedAt.IsZero() && life > 0 && life < 2*skew {
		skew = life / 2
	}
	return skew
}

// attainable is the most of d that renewing can give: d, or when r shows
// that the provider's tokens live less than d plus their renewal margin
// (skew), their lifetime less that margin. Asking for more than that would
// renew on every call and never get it.
func (s *Source) attainable(r *store.Record, d time.Duration) time.Duration {
	if r.IssuedAt.IsZero() {
		return d
	}
	at, _ := recordedExpiry(r, s.set.DefaultLifetime)
	life := at.Sub(r.IssuedAt)
	if most := life - s.skew(r); life > 0 && d > most {
		return most
	}
	return d
}

// lasts reports whether r's access token is valid for d from now.
func (s *Source) lasts(r *store.Record, d time.Duration) bool {
	at, known := s.expiry(r)
	return r.AccessToken != "" && (!s.now().Add(d).After(at) || s.lastsUntilRefused(r, known))
}

// lastsUntilRefused reports whether r's access token, of a lifetime known
// or not, is used until the API refuses it: its lifetime is unknown and
// nothing could renew it, there being no refresh token (GitHub's OAuth
// apps issue such tokens, which last until revoked). DefaultLifetime is
// when such a token would be renewed; with no refresh token, refusing it
// then would end a log-in that may well still be good.
func (s *Source) lastsUntilRefused(r *store.Record, lifetimeKnown bool) bool {
	return !lifetimeKnown && r.RefreshToken == "" && s.set.Grant != GrantClientCredentials
}

// want is what a caller of get needs.
type want struct {
	force    bool          // a new token, whatever the store holds (Renew)
	since    time.Time     // with force or now: when the call began, after which the token must be issued
	held     *store.Record // with force or now: the record stored as the call began, which it replaces (see renewedSince)
	rejected string        // not this token: the API refused it (renewRejected)
	lasting  time.Duration // a token valid for at least this long (TokenValidFor)
	keep     bool          // a grant that does not need keeping alive now (KeepAlive)
	ahead    time.Duration // with keep: nor within this long (KeepAliveAhead)
	now      bool          // with keep: kept alive now, whatever its plan (KeepAliveNow)
}

// good reports whether r serves w without a renewal, as read from why.
func (s *Source) good(r *store.Record, w want, why string) bool {
	return r != nil && !grantEnded(r) && r.AccessToken != w.rejected && s.fresh(r, why) && (w.lasting == 0 || s.lasts(r, s.attainable(r, w.lasting))) &&
		(!w.keep || !w.now && !s.dueWithin(r, w.ahead))
}

// grantEnded reports whether r notes that the provider ended its grant
// (store.ProblemGrantEnded): its access token is served to no one, however
// long it has left, as a strict provider revokes the access tokens with
// the grant, and status says a log-in is needed. A forced renewal still
// spends the refresh token kept (see endedMeanwhile); with client
// credentials, which need no log-in, a new token is requested instead.
func grantEnded(r *store.Record) bool {
	return r != nil && r.Problem != nil && r.Problem.Kind == store.ProblemGrantEnded
}

// endedError is the log-in needed that a record noting the grant ended
// (see grantEnded) gives a caller: when, and why, in the words noted (the
// provider's refusal, which names the provider). A time
// ahead of this clock (another machine's) is no time ago; a time not
// recorded (a program of the caller's own sharing the store) is not told.
func (s *Source) endedError(r *store.Record) error {
	when := ""
	if !r.Problem.At.IsZero() {
		when = fmt.Sprintf(" %s ago", max(s.now().Sub(r.Problem.At), 0).Round(time.Second))
	}
	return s.loginError(fmt.Sprintf("the grant ended%s: %s", when, r.Problem.Message))
}

// maxKeepMargin is the most a keep-alive renewal comes ahead of a deadline.
const maxKeepMargin = 24 * time.Hour

// KeepAlivePlan is when a grant must next be renewed so that it never lapses
// while unused, and why, as data: a caller words it in its own time format
// (Why). The zero plan plans nothing.
type KeepAlivePlan struct {
	At time.Time
	// Because is why, without the time it names: "the refresh token
	// expires" is followed by Deadline.
	Because string
	// Deadline is the moment Because names; zero when it names none.
	Deadline time.Time
	// IssuedAhead, when not zero, is an issue time stored by a clock
	// ahead of this one: the deadlines counted from it cannot be trusted,
	// so the renewal is now.
	IssuedAhead time.Time
	// Lapses is the first moment still to come when something the plan
	// keeps alive lapses (the token file's access token, the refresh
	// token, the grant unused for the idle limit): a renewal put off
	// until then lets it lapse. It is now when the times stored cannot be
	// trusted (IssuedAhead), and zero when every one has lapsed already.
	Lapses time.Time
	// Ahead is how far ahead of At a renewal may be made at no cost (see
	// KeepAliveAhead): a quarter of the time from the tokens' issue to At,
	// so that no token is renewed before three quarters of it. Zero where
	// renewing early costs something or At cannot be trusted: client
	// credentials (each renewal a new token, which some providers count), a
	// refresh token whose expiry renewing does not extend, a problem noted
	// (a rejected client), tokens stored by a clock ahead (IssuedAhead).
	Ahead time.Duration
}

// Why says why the plan is, writing its times with format, such as
// func(t time.Time) string { return t.Format(time.RFC3339) }.
func (p KeepAlivePlan) Why(format func(time.Time) string) string {
	why := p.Because
	if !p.Deadline.IsZero() {
		why += " " + format(p.Deadline)
	}
	if !p.IssuedAhead.IsZero() {
		why = "the tokens were stored by a clock ahead of this one (issued " + format(p.IssuedAhead) + "), so the deadline they give cannot be trusted: " + why
	}
	return why
}

// Reason is Why with its times in RFC 3339, in UTC, as JSON and logs
// write them.
func (p KeepAlivePlan) Reason() string {
	return p.Why(func(t time.Time) string { return t.UTC().Format(time.RFC3339) })
}

// Plan says when the grant in r must next be renewed so that it
// never lapses while unused, and why: a tenth of the refresh token's
// lifetime (at most a day) before it expires, and as far ahead of
// IdleLimit; never sooner than a second after the last renewal, as
// renewals nobody forced never come more often (KeepAlive sooner serves r
// as it is). Zero when nothing can be planned: no tokens, another client's
// or a grant that has ended; At is zero too for a refresh token whose
// expiry renewing did not extend, whose expiry is still in Lapses.
func (s *Source) Plan(r *store.Record) KeepAlivePlan {
	if s.unmade() {
		return KeepAlivePlan{}
	}
	var p KeepAlivePlan
	if s.set.Grant == GrantClientCredentials {
		p = s.planFetch(r)
	} else {
		p = s.planRenewal(r)
	}
	if floor := s.renewableAt(r); !p.At.IsZero() && p.At.Before(floor) {
		p.At = floor
	}
	return p
}

// planRenewal is Plan for grants renewed with a refresh token, before the
// floor of a second after the last renewal.
func (s *Source) planRenewal(r *store.Record) (p KeepAlivePlan) {
	if r == nil || r.RefreshToken == "" || s.CheckGrant(r) != nil || grantEnded(r) {
		return KeepAlivePlan{}
	}
	// A deadline counted from an issue time further ahead of this clock
	// than the plan's margin for it was counted by a clock ahead of this
	// one (another machine's, or this one's before it was set back): the
	// provider's deadline may be anywhere up to then, so the grant is
	// renewed now, once, and its times are this clock's again.
	ahead := r.IssuedAt.Sub(s.now())
	var lapses time.Time
	plan := func(deadline time.Time, margin time.Duration, because string, named time.Time) {
		next := KeepAlivePlan{At: deadline.Add(-margin), Because: because, Deadline: named}
		if ahead > margin {
			next.At, next.IssuedAhead = s.now(), r.IssuedAt
			deadline = s.now() // anywhere up to the one counted: now, for all it says
		} else if !deadline.After(s.now()) {
			deadline = time.Time{} // lapsed already
		}
		if !deadline.IsZero() && (lapses.IsZero() || deadline.Before(lapses)) {
			lapses = deadline
		}
		if p.At.IsZero() || next.At.Before(p.At) {
			p = next
		}
	}
	switch {
	case r.RefreshExpiry.IsZero() || r.IssuedAt.IsZero():
	case r.RefreshNotExtended:
		// Renewing does not put it off, so nothing is planned for it; but
		// a renewal held past it is never made, and what else the plan
		// keeps (the token file) lapses with it.
		if r.RefreshExpiry.After(s.now()) && (lapses.IsZero() || r.RefreshExpiry.Before(lapses)) {
			lapses = r.RefreshExpiry
		}
	default:
		life := r.RefreshExpiry.Sub(r.IssuedAt)
		plan(r.RefreshExpiry, min(life/10, maxKeepMargin), "the refresh token expires", r.RefreshExpiry)
	}
	if s.set.IdleLimit > 0 && !r.IssuedAt.IsZero() {
		plan(r.IssuedAt.Add(s.set.IdleLimit), min(s.set.IdleLimit/10, maxKeepMargin), "the provider ends grants unused for "+days(s.set.IdleLimit), time.Time{})
	}
	switch {
	case s.set.KeepAccess && r.AccessToken == "":
		// An answer that brought a new refresh token and no usable access
		// token left none: its token file is renewed now, not after
		// default_lifetime, which left the expired one there.
		plan(s.now(), 0, "its token file is kept fresh, and no access token is stored", time.Time{})
	case s.set.KeepAccess:
		exp, _ := s.expiry(r)
		plan(exp, s.skew(r), "its token file is kept fresh", time.Time{})
	}
	p.Lapses = lapses
	if !p.At.IsZero() && p.IssuedAhead.IsZero() && !r.IssuedAt.IsZero() && !r.RefreshNotExtended && r.Problem == nil {
		p.Ahead = max(p.At.Sub(r.IssuedAt)/4, 0)
	}
	return p
}

// days is d as a person counts a limit set in days ("60 days"), or as Go
// writes a duration when it is not a whole number of them.
func days(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// planFetch is Plan for client credentials: there is no grant to keep
// alive, as a new token can be had whenever one is wanted, so the only
// plan is a token file's: fetch when its token is due, or now when there is
// none yet.
func (s *Source) planFetch(r *store.Record) KeepAlivePlan {
	if !s.set.KeepAccess || r != nil && s.CheckGrant(r) != nil {
		return KeepAlivePlan{}
	}
	const why = "its token file is kept fresh"
	if r == nil {
		return KeepAlivePlan{At: s.now(), Because: why}
	}
	if grantEnded(r) { // its token is served to no one: a new one is had now
		return KeepAlivePlan{At: s.now(), Because: why + ", and the stored token's grant is noted as ended"}
	}
	exp, _ := s.expiry(r)
	p := KeepAlivePlan{At: exp.Add(-s.skew(r)), Because: why}
	if exp.After(s.now()) {
		p.Lapses = exp
	}
	return p
}

// renewableAt is when a renewal of r that nobody forced may next be made:
// a second after its last renewal, as renewals never come more often;
// zero when nothing holds it back so (no access token stored, a grant
// ended, a renewal stored by a clock ahead of this one). A renewal asked
// for sooner serves r as it is.
func (s *Source) renewableAt(r *store.Record) time.Time {
	if r == nil || r.AccessToken == "" || grantEnded(r) || r.RenewedAt.IsZero() || r.RenewedAt.After(s.now()) {
		return time.Time{}
	}
	return r.RenewedAt.Add(minRenewalGap)
}

// dueWithin reports whether r's grant needs keeping alive within d from
// now (0: now), d no longer than its Plan's Ahead.
func (s *Source) dueWithin(r *store.Record, d time.Duration) bool {
	p := s.Plan(r)
	return !p.At.IsZero() && !s.now().Add(min(d, p.Ahead)).Before(p.At)
}

// KeepAlive renews the grant if its Plan says it is due, under the lock
// like any renewal: another keeper that renewed meanwhile is seen, and its
// tokens used. It returns the record as it now stands, a copy the caller
// may change.
func (s *Source) KeepAlive(ctx context.Context) (*store.Record, error) {
	return s.KeepAliveAhead(ctx, 0)
}

// KeepAliveAhead is KeepAlive for a grant whose Plan falls due within d,
// or within its Plan's Ahead if that is shorter: it is renewed now, ahead
// of its plan, unless the record read under the lock plans nothing so
// soon, another process having renewed it meanwhile. So bounded, a d
// longer than the tokens' lifetime renews them no sooner than three
// quarters of it, and where renewing early costs something (client
// credentials), no sooner than KeepAlive. A keeper spreading renewals that
// would fall due together calls it.
func (s *Source) KeepAliveAhead(ctx context.Context, d time.Duration) (*store.Record, error) {
	if s.unmade() {
		return nil, errNotMade
	}
	r, err := s.get(ctx, want{keep: true, ahead: d})
	return copyRecord(r), err
}

// KeepAliveNow renews the grant now, ahead of its Plan, as a keep-alive
// (store.RenewedToKeepAlive): not as Renew, asked for by a person, but as a
// renewal nobody forced, it waits out what renewals rest after (a 429's
// Retry-After, a renewal that gave up), sends no refresh token of a grant
// that has ended, and comes no sooner than a second after the last
// renewal, returning the record as it stands then. A renewal stored since
// the call began (another process's) is taken for its own. A keeper trying
// again a client the provider refused, which a fix where the configuration
// does not show it (the keychain) may have mended, calls it. It returns the
// record as it now stands, a copy the caller may change.
func (s *Source) KeepAliveNow(ctx context.Context) (*store.Record, error) {
	if s.unmade() {
		return nil, errNotMade
	}
	since := s.now()
	r, err := s.get(ctx, want{keep: true, now: true, since: since, held: s.heldAsBegun(ctx)})
	return copyRecord(r), err
}

// copyRecord is a copy of r that shares nothing with it: the records the
// engine serves from memory are never handed out, for a caller that
// changes one (to blank its tokens before logging it) would change the
// token every other caller is served, and race with them.
func copyRecord(r *store.Record) *store.Record {
	if r == nil {
		return nil
	}
	c := *r
	if r.Problem != nil {
		p := *r.Problem
		c.Problem = &p
	}
	if r.Rest != nil {
		rest := *r.Rest
		c.Rest = &rest
	}
	return &c
}

// fresh reports whether r can be used now without renewal. The debug log
// explains the arithmetic, except for the memory hits of a busy process.
func (s *Source) fresh(r *store.Record, why string) bool {
	if r == nil || r.AccessToken == "" {
		return false
	}
	now := s.now()
	at, known := s.expiry(r)
	skew := s.skew(r)
	ok := now.Before(at.Add(-skew)) || s.lastsUntilRefused(r, known)
	if (!ok || why != "memory") && s.log.Enabled(context.Background(), slog.LevelDebug) {
		rule := "refresh_before"
		if skew != s.set.RenewBefore {
			rule = "half the lifetime, as it is shorter than twice refresh_before"
		}
		args := []any{"from", why,
			"issued", r.IssuedAt.Format(logTime), "expires", at.Format(logTime), "lifetime_known", known,
			"skew", skew, "skew_rule", rule, "now", now.Format(logTime), "remaining", at.Sub(now).Round(time.Millisecond),
			"renew", !ok}
		if recorded, _ := recordedExpiry(r, s.set.DefaultLifetime); !recorded.Equal(at) {
			args = append(args, "expires_recorded", recorded.Format(logTime), "expiry_rule", "its lifetime since this process first saw it, on the timers: the record was written by a clock ahead of this one (set back since, or another machine's)")
		}
		s.log.Debug("expiry check", args...)
	}
	return ok
}

// recentRenewal is how long after a renewal caused by a 401 another 401 for
// the renewed token is passed on rather than answered with another renewal,
// so an API that keeps answering 401 cannot cause a refresh per request.
// Each further such renewal in a row doubles it, up to maxRejectedQuiet, so
// an API that refuses every token costs a handful of refreshes an hour, not
// one every 15 seconds for ever.
const (
	recentRenewal    = 15 * time.Second
	maxRejectedQuiet = time.Hour
)

// rejectedQuiet is how long after the last of n renewals in a row caused by
// 401s (store.Record.RejectedInARow; 0 read as 1, from a record written
// before it was counted) another 401 for its token is passed on.
func rejectedQuiet(n int) time.Duration {
	n = min(max(n, 1), 10) // 15 s × 2⁹ is past the cap already
	return min(recentRenewal<<(n-1), maxRejectedQuiet)
}

// errJustRenewed means the token the API rejected came from a 401's renewal
// too recently (rejectedQuiet) and renewing again would not help; the 401 is
// the answer. It keeps an API that always answers 401 from causing a
// refresh per request.
var errJustRenewed = errors.New("the rejected token was renewed too recently")

// get returns a fresh token that is not rejected: from memory, else from the
// store, else from a renewal. Renewals are one flight per process: callers
// arriving while one is in progress wait for it and share its outcome.
// Every stall of the store told to ctx's listener ends, told, by the time
// get returns (stallwatch.Ending), a read given up unanswered included.
func (s *Source) get(ctx context.Context, w want) (*store.Record, error) {
	r := s.cur.Load()
	inMemory := !w.force && s.good(r, w, "memory")
	if inMemory && !s.checkDue() {
		return r, nil
	}
	ctx, end := stallwatch.Ending(ctx)
	defer end()
	if inMemory {
		return s.recheck(ctx, r, w)
	}
	if !w.force {
		if s.cur.Load() == nil {
			r, err := s.load(ctx)
			if err != nil {
				return nil, err
			}
			if r != nil && r.Grant != s.grant() {
				// load took it for this environment's (CheckGrant); a store
				// that cannot record that just now (a disk turned read-only,
				// a file size limit) leaves it served unrecorded, as status
				// and the keeper take it, rather than refusing a fresh token.
				adopted, err := s.adopt(ctx)
				switch {
				case err != nil && ctx.Err() != nil:
					return nil, err
				case errors.Is(err, ErrLoginRequired), errors.Is(err, store.ErrCorrupt):
					// Read again under the lock, the record is no longer
					// the one read: another configuration adopted it
					// first (it is theirs now), it was deleted, or it was
					// replaced by one this freshtoken cannot read.
					return nil, err
				case err != nil:
					s.log.Debug("could not record this environment's grant in the stored tokens; using them as they are", "error", err.Error())
				default:
					r = adopted
				}
			}
			if s.cur.CompareAndSwap(nil, r) {
				s.checkedAt.Store(s.now().UnixNano())
			}
			if s.good(r, w, "store") {
				return r, nil
			}
		}
	}
	// A token still valid, due for renewal (refresh_before), is served
	// rather than wait for a store that does not answer (see meanwhile).
	meanwhile := w == (want{}) && s.stillServes(s.cur.Load())
	for {
		s.mu.Lock()
		f, leader := s.flight, s.flight == nil
		if leader {
			f = &flight{done: make(chan struct{}), stalled: make(chan struct{})}
			s.flight = f
		}
		s.mu.Unlock()
		switch {
		case leader && !meanwhile:
			return s.lead(f.watch(ctx, s, false), f, w)
		case leader:
			go s.leadMeanwhile(f.watch(ctx, s, true), f, w)
		default:
			s.log.Debug("waiting for the renewal in flight")
		}
		if r := s.waitFor(ctx, f, leader, meanwhile); r != nil {
			return r, nil
		}
		if leader {
			return f.rec, f.err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue // the leader stopped waiting for the lock; this caller has not
		}
		if !s.serves(f, w) {
			continue // a renewal of its own, now that none is in flight
		}
		return f.rec, f.err
	}
}

// waitFor waits for flight f to end, or for ctx to end unless this caller
// leads it (its renewal ends with ctx, but for a token request sent, which
// it waits for). With meanwhile, once a call of f's renewal to the store
// has stalled before any token request went out (a Redis that takes
// connections and does not answer, whose own wait may last minutes), it
// returns the token in memory while it is still valid, saying so, and
// leaves the renewal to end without this caller; nil otherwise. A caller
// that joined the renewal and is not so served is told of its stalls
// while it waits (join).
func (s *Source) waitFor(ctx context.Context, f *flight, leader, meanwhile bool) *store.Record {
	leave := func() {}
	defer func() { leave() }()
	var stalled <-chan struct{}
	if meanwhile || !leader {
		stalled = f.stalled
	}
	var ended <-chan struct{}
	if !leader {
		ended = ctx.Done()
	}
	for {
		select {
		case <-f.done:
			return nil
		case <-ended:
			return nil
		case <-stalled:
			// The leader is served as its renewal's stall was told (see
			// watch); a caller that joined it, while its token serves.
			r := f.valid
			if !meanwhile || r == nil || f.sent.Load() || (!leader && !s.stillServes(r)) {
				stalled = nil // the answer is the renewal's to store, or nothing serves
				if !leader {
					leave = f.join(ctx)
				}
				continue
			}
			level := slog.LevelDebug // said already: each caller meets the stall while it lasts
			at, _ := s.expiry(r)
			msg := "the token store, " + f.store + ", has not answered the renewal for " + store.StallNotice.String() + "; the access token is still valid until " + at.UTC().Format(time.RFC3339) + ", and is used while the renewal waits for the store"
			if s.firstToWarn(errors.New(msg)) {
				level = slog.LevelWarn
			}
			s.log.Log(context.Background(), level, msg, "expires_in", at.Sub(s.now()).Round(time.Second))
			return r
		}
	}
}

// serves reports whether the outcome of flight f, which another caller led
// for what it wanted, serves a caller that waited for it wanting w: a
// failure is shared, and so is a token other than the one the caller set out
// to replace; but a forced renewal, or one asked for now (KeepAliveNow), is
// served only by a token issued after it began (see renewedSince: the leader
// may have found one in the store, renewed by another process long before,
// which this process had not yet seen, or its token request may have been
// sent before the call began), nor is any caller but one answering a 401
// served by errJustRenewed, which only tells it to pass the 401 on.
func (s *Source) serves(f *flight, w want) bool {
	switch {
	case errors.Is(f.err, errJustRenewed):
		return w.rejected != ""
	case f.err != nil:
		return true
	case w.force || w.now:
		return s.renewedSince(f.rec, w)
	case w.rejected != "":
		return f.rec.AccessToken != w.rejected
	}
	return true
}

// lead runs flight f's renewal and then releases its waiters, even if the
// renewal panics (net/http recovers a handler's panic; waiters must not hang),
// or a listener told of a stall's end as it ends does (see ended).
func (s *Source) lead(ctx context.Context, f *flight, w want) (*store.Record, error) {
	defer func() {
		s.mu.Lock()
		s.flight = nil
		s.mu.Unlock()
		close(f.done)
	}()
	defer f.ended(ctx)
	f.err = fmt.Errorf("%s: the renewal stopped unexpectedly; try again", s.set.Env) // what waiters see after a panic
	f.rec, f.err = s.renew(ctx, w)
	return f.rec, f.err
}

// leadMeanwhile is lead for a renewal left going without its caller, who
// was served the valid token (see waitFor). A panic in it (a bug, or one
// in a program's function it calls, such as Options.Sending) is logged
// and ends that renewal alone, its waiters told it stopped, as net/http
// ends a handler's: with no caller to pass it to, it ended the whole
// process, a proxy serving every other environment included.
func (s *Source) leadMeanwhile(ctx context.Context, f *flight, w want) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("the renewal left going in the background stopped unexpectedly (a bug: please report it); the next call renews again",
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	s.lead(ctx, f, w)
}

// renewedSince reports whether r serves the renewal w, forced or asked for
// now, as its own renewal would, with no token request: its token was issued
// after the call began (w.since, by this Source's clock: the issue time a
// renewal records is when its token request was sent), it is not the record
// stored as the call began (w.held), and no caller would renew it yet. An
// issue time later than now was recorded by a clock ahead of this one and
// says nothing of when the token was issued; so may one between the call's
// start and now, on the token stored as it began (the one the API refused,
// that the caller set out to replace), which is why that record never
// serves.
func (s *Source) renewedSince(r *store.Record, w want) bool {
	switch {
	case r == nil || grantEnded(r) || !r.IssuedAt.After(w.since) || r.IssuedAt.After(s.now()):
		return false
	case w.held != nil && r.AccessToken == w.held.AccessToken && r.IssuedAt.Equal(w.held.IssuedAt):
		return false
	}
	return s.fresh(r, "a renewal made meanwhile")
}

// restedSince reports whether r rests renewals after one that gave up
// since the forced renewal w began: the record stored as it began
// (w.held; unknown, none is taken) rested after no renewal, or another.
func restedSince(r *store.Record, w want) bool {
	return r != nil && r.Rest != nil && w.held != nil && (w.held.Rest == nil || !w.held.Rest.Until.Equal(r.Rest.Until))
}

// heldAsBegun is the record a forced renewal replaces, read as it begins:
// the store's, or when that cannot be read just now, the one in memory;
// nil for none. A store that cannot be reached rests renewals (restStore),
// as recheck's look does: the renewal then fails at once, rather than
// waiting for the store a second time (a Redis that is down takes 2 to 4 s
// to fail, a keychain nobody answers 3 s more).
func (s *Source) heldAsBegun(ctx context.Context) *store.Record {
	if s.storeResting() == nil {
		r, err := s.loadStored(ctx)
		if err == nil {
			return r
		}
		if errors.Is(err, store.ErrUnreachable) && ctx.Err() == nil {
			s.restStore(&Error{Env: s.set.Env, Kind: ErrUnreachable, Msg: err.Error(), Err: err})
		}
	}
	return s.cur.Load()
}

// remember makes r the token served from memory, as just read or written:
// a failure met again after it is warned of again.
func (s *Source) remember(r *store.Record) {
	s.cur.Store(r)
	s.checkedAt.Store(s.now().UnixNano())
	s.warnMu.Lock()
	s.warned = ""
	s.warnMu.Unlock()
}

// checkDue reports whether it is time to compare the memory token with the
// store, and if so claims that check for this caller alone.
func (s *Source) checkDue() bool {
	last := s.checkedAt.Load()
	now := s.now().UnixNano()
	// A clock set back since (NTP, the time corrected) makes it due at
	// once: waiting for the clock to pass the last check again held a
	// logout or log-in elsewhere unseen for as long as it was set back.
	since := now - last
	return (since >= int64(s.set.StoreCheckInterval) || since < 0) && s.checkedAt.CompareAndSwap(last, now)
}

// storeCheckWait bounds recheck's wait for the store: a look that a fresh
// token does not need holds no caller longer, whatever the store's own
// bounds (a Redis that is down takes 2 to 4 s to fail; a program's own
// store may hang).
const storeCheckWait = time.Second

// recheck compares the fresh memory token r with the store: a logout made
// elsewhere ends it, and a token stored by another process replaces it. A
// store that cannot be read just now, or within storeCheckWait, leaves r
// in use; the next check comes StoreCheckInterval later.
func (s *Source) recheck(ctx context.Context, r *store.Record, w want) (*store.Record, error) {
	if s.storeResting() != nil {
		return r, nil
	}
	cctx, cancel := context.WithTimeout(ctx, storeCheckWait)
	latest, err := await.Result(cctx, func() (*store.Record, error) { return s.loadStored(cctx) })
	cancel()
	if errors.Is(err, store.ErrUnreachable) {
		s.restStore(&Error{Env: s.set.Env, Kind: ErrUnreachable, Msg: err.Error(), Err: err})
	}
	if errors.Is(err, store.ErrNotFound) {
		// Lost with the store's data (a Redis restarted without
		// persistence), not deleted: r is put back. A put-back that
		// failed (the lock not taken, Redis gone again), or waited for
		// the lock longer than storeCheckWait (another machine's renewal
		// holds it), is tried at the next check; r is served meanwhile,
		// as it was lost, not ended.
		pctx, cancel := context.WithTimeout(ctx, storeCheckWait)
		back, rerr := s.Restore(pctx, r)
		cancel()
		switch {
		case rerr == nil:
			latest, err = back, nil
		case !errors.Is(rerr, store.ErrNotFound):
			s.log.Debug("could not put the tokens back in the store; keeping the token in memory", "error", rerr.Error())
			return r, nil
		}
	}
	if err == nil && s.olderCopy(latest, r) {
		// Another machine put back an older copy of this log-in after the
		// store lost it, its refresh token spent since by a renewal whose
		// answer r is: r goes back in its place, never the other way.
		// Its wait for the lock is bounded as the put-back's above.
		pctx, cancel := context.WithTimeout(ctx, storeCheckWait)
		back, perr := s.putLaterBack(pctx, r)
		cancel()
		if perr != nil {
			s.log.Debug("could not put the later tokens back over an older copy in the store; keeping the token in memory", "error", perr.Error())
			return r, nil
		}
		latest = back
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.log.Debug("the tokens were deleted from the store (logged out elsewhere)")
		s.cur.CompareAndSwap(r, nil)
		if s.set.Grant == GrantClientCredentials {
			return s.get(ctx, w) // a new token needs no log-in
		}
		return nil, s.loginError("not logged in (logged out elsewhere)")
	case err != nil:
		s.log.Debug("could not compare with the store; keeping the token in memory", "error", err.Error())
		return r, nil
	case latest.AccessToken == r.AccessToken && !grantEnded(latest):
		return r, nil
	}
	if err := s.CheckGrant(latest); err != nil {
		s.log.Debug("the store now holds another client's tokens (logged in with another configuration)")
		s.cur.CompareAndSwap(r, nil)
		return nil, err
	}
	if latest.Grant != s.grant() {
		// Written by a freshtoken that records less of the grant: read
		// again, and adopted, as on a first read.
		s.cur.CompareAndSwap(r, nil)
		return s.get(ctx, w)
	}
	redact.Set(s.Location(), latest.AccessToken, latest.RefreshToken)
	if grantEnded(latest) {
		// A renewal elsewhere was refused: the token in memory, the one
		// it renewed, is not served again.
		s.log.Debug("the store notes that the provider ended the grant (a renewal elsewhere was refused); the token in memory is no longer used")
		s.cur.CompareAndSwap(r, latest)
		return s.get(ctx, w)
	}
	s.log.Debug("the store holds newer tokens (renewed or logged in elsewhere); using them")
	s.cur.CompareAndSwap(r, latest)
	if s.good(latest, w, "store check") {
		return latest, nil
	}
	return s.get(ctx, w)
}

// renew takes the store's lock, re-reads the store, renews only if what it
// finds there still needs it, and stores the new tokens before releasing the
// lock or returning them. Only the wait for the lock ends with ctx: once the
// lock is held, the refresh and the store write run to completion (each
// request bounded by Settings.Timeout), since a refresh cut off after the
// provider rotated the refresh token would lose the grant.
//
// A lock that passed to another renewer before the token request was sent
// (its holder was paused past its time limit) is taken again, and the store
// re-read, a few times before giving up.
func (s *Source) renew(ctx context.Context, w want) (*store.Record, error) {
	if err := s.storeResting(); err != nil {
		return nil, err
	}
	refused := false // the last try's answer, which the store refused as its lock had gone
	for tries := 1; ; tries++ {
		r, err := s.renewLocked(ctx, w, refused)
		if errors.Is(err, store.ErrUnreachable) && ctx.Err() == nil {
			s.restStore(err)
		}
		if !errors.Is(err, errLockLost) {
			return r, err
		}
		answered := errors.Is(err, errSaveRefused)
		refused = answered
		switch {
		case tries == maxLockTries && answered:
			return nil, s.unsavedFailure(err)
		case tries == maxLockTries:
			// An earlier try's answer may have stored a new refresh token
			// (see exchange), remembered as it was stored.
			return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable, Msg: fmt.Sprintf(
				"the renewal lock at %s passed to another renewer before each of %d token requests could be sent; %s, try again", s.Location(), tries, tokenerr.Kept(s.cur.Load()))}
		case answered:
			s.log.Warn("the renewal lock passed to another renewer, or was deleted, before the provider's answer was stored (this process was paused longer than the lock lasts, or the store was emptied); the store refused it, so taking the lock again to keep whichever tokens are newer")
		default:
			s.log.Warn("the renewal lock passed to another renewer before the token request was sent (this process was paused longer than the lock lasts); nothing was sent, taking the lock again")
		}
	}
}

// storeRest is how long renewals leave a shared store alone after it
// could not be reached (Redis down, or not answering within its bound on
// each command): callers holding a token that is still valid are served it
// at once, and the others told of the failure at once, rather than each
// waiting seconds for the store to fail again, as every request of a proxy
// did. A renewal is never made without the store's lock, which would risk
// spending a rotating refresh token twice across machines: the first
// caller after the rest tries the store again.
const storeRest = 5 * time.Second

// restStore holds renewals back from the store for storeRest after err, a
// failure to reach it: renew answers err meanwhile.
func (s *Source) restStore(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storeRestUntil, s.storeRestErr = s.now().Add(storeRest), err
}

// storeResting is the failure to reach the store that renewals rest
// after, while they do; nil otherwise.
func (s *Source) storeResting() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heldBack(s.storeRestUntil, storeRest, s.storeRestErr, "the token store could not be reached moments ago; leaving it alone until then")
}

// heldBack is err, that renewals rest after for length until until, while
// they do, saying so (why); nil otherwise. The caller holds mu. A rest that
// ends further on than it lasts, the clock set back since it began (NTP,
// the time corrected), is over: followed until the clock reached its end
// again, it held renewals back for as long as the clock was set back, an
// hour's step an hour, the access token expiring meanwhile.
func (s *Source) heldBack(until time.Time, length time.Duration, err error, why string) error {
	if now := s.now(); err == nil || !now.Before(until) || until.Sub(now) > length {
		return nil
	}
	s.log.Debug(why, "until", until.Format(logTime))
	return err
}

// maxLockTries is how many times renew takes a lock that keeps passing to
// other renewers before the token request is sent.
const maxLockTries = 3

// renewLocked is one try of renew, under one taking of the lock; refused
// says that the try before had its answer refused by the store, the lock
// having gone.
func (s *Source) renewLocked(ctx context.Context, w want, refused bool) (*store.Record, error) {
	force, rejected := w.force, w.rejected
	unlock, err := s.lockWarning(ctx, s.lockWaitTold(w))
	if err != nil {
		return nil, err
	}
	defer unlock()
	work := context.WithoutCancel(ctx)
	r, err := s.load(ctx) // nothing is sent yet: the caller may still give up
	// No tokens at all where an answer was refused as the lock had gone:
	// the store was emptied (Redis's FLUSHALL, or a restart without
	// persistence), lock and tokens together, while the provider answered.
	// The answer holds the grant's only refresh token, and is stored again.
	wiped := refused && errors.Is(err, store.ErrNotFound)
	putBack := false
	if held := s.cur.Load(); errors.Is(err, store.ErrNotFound) && !wiped && held != nil {
		// Lost with the store's data, not deleted: the record in memory
		// is put back, if the store can tell (see store.Restorer).
		if back, rerr := s.restoreLocked(work, held); rerr == nil {
			r, err, putBack = back, s.CheckGrant(back), true
		}
	}
	if held := s.cur.Load(); err == nil && s.olderCopy(r, held) {
		// An older copy of this log-in put back by another machine after
		// the store lost it: the one held, later, goes back in its place
		// (see recheck).
		back, perr := s.putLaterBackLocked(work, held)
		switch {
		case errors.Is(perr, errSaveRefused):
			// Nothing was sent: the lock is taken again, and the store
			// read again (see renew).
			return nil, fmt.Errorf("%w (%v)", errLockLost, perr)
		case perr != nil:
			return nil, perr
		}
		r, putBack = back, true
	}
	if err != nil && !wiped {
		return nil, err
	}
	answer := s.unsavedNow()
	if r, err = s.saveUnsaved(work, r, wiped, true); err != nil {
		return nil, err
	}
	switch {
	case wiped && r == nil:
		return nil, s.loginError("not logged in")
	case refused && answer != nil && r == answer.rec:
		// The answer the try before was refused, stored now: what this
		// renewal asked for, forced or not.
		s.answered.Add(1)
		return r, nil
	}
	if (force || w.now) && s.renewedSince(r, w) {
		s.log.Debug("another renewal stored a token issued since this renewal, made whatever the plan, began; using it", "issued", r.IssuedAt.Format(logTime))
		s.remember(r)
		return r, nil
	}
	if !force && s.good(r, w, "store under lock") {
		s.log.Debug("another process renewed the token; using it", "renewed", r.RenewedAt.Format(logTime))
		s.remember(r)
		return r, nil
	}
	if !force && grantEnded(r) && s.set.Grant != GrantClientCredentials {
		// Whatever rests, and however long its access token has left:
		// only a log-in (or a forced renewal, should the provider have
		// kept the grant) brings a token.
		return nil, s.endedError(r)
	}
	if !force {
		if err := s.resting(); err != nil {
			return nil, err
		}
	}
	meanwhile := force && restedSince(r, w)
	if !force || meanwhile || putBack || r != nil && r.Rest != nil && r.Rest.PutBack {
		// Even forced, not with the refresh token just put back, here or
		// on another machine (see putBackCopy): the record read under the
		// lock says so; nor after a renewal that gave up while this forced
		// one waited, whose failure it shares, as it would its success
		// (see renewedSince).
		if err := s.restingElsewhere(r, meanwhile); err != nil {
			return nil, err
		}
	}
	if r == nil { // client credentials, none obtained yet
		return s.refresh(ctx, work, nil, store.RenewedForExpiry, false)
	}
	if rejected != "" && r.AccessToken == rejected && r.RenewedFor == store.RenewedForRejection && r.IssuedAt.Equal(r.RenewedAt) {
		// The renewal a 401 caused did not help: the API refuses for some
		// other reason than the token. Renew again only after a wait that
		// doubles with each such renewal in a row. A renewal further in the
		// future than recentRenewal was written by a clock ahead of this
		// one, or before this clock was set back: not moments ago. (An
		// access token issued before the last renewal, kept from an answer
		// cut off, is not one it brought.)
		quiet := rejectedQuiet(r.RejectedInARow)
		since := s.now().Sub(r.RenewedAt)
		if since > -recentRenewal && since < quiet {
			s.log.Debug("the API refused a token that a 401 renewed; passing this 401 on instead of renewing again yet",
				"renewed", r.RenewedAt.Format(logTime), "in_a_row", max(r.RejectedInARow, 1), "renew_after", quiet)
			return nil, errJustRenewed
		}
		s.log.Debug("the API refused a token that a 401 renewed; renewing once more, as the wait for it has passed",
			"renewed", r.RenewedAt.Format(logTime), "in_a_row", max(r.RejectedInARow, 1), "waited", quiet)
	}
	// Renewals for expiry come at most once a second, whatever lifetimes
	// the provider gives; a 401 is answered by the rule above instead.
	if !force && rejected == "" && s.now().Before(s.renewableAt(r)) {
		s.log.Debug("the token was renewed under a second ago; using it rather than renewing again", "renewed", r.RenewedAt.Format(logTime))
		s.remember(r)
		return r, nil
	}
	if r.RefreshToken == "" && s.set.Grant != GrantClientCredentials {
		switch {
		case rejected != "":
			return nil, s.loginError("the API refused the access token, which came with no refresh token to renew it")
		case force:
			return nil, s.loginError("the stored tokens came with no refresh token to renew them")
		case s.lasts(r, 0): // asked to last longer, or within RenewBefore of its expiry
			at, _ := s.expiry(r)
			left := at.Sub(s.now()).Round(time.Second)
			if w.lasting > 0 {
				return nil, s.loginError(fmt.Sprintf("the access token is valid for only %s, less than the %s asked for, and came with no refresh token to renew it", left, w.lasting))
			}
			return nil, s.loginError(fmt.Sprintf("the access token expires in %s, and came with no refresh token to renew it", left))
		}
		return nil, s.loginError("the stored tokens have expired and came with no refresh token")
	}
	reason := store.RenewedForExpiry
	switch {
	case w.keep && (w.now || s.dueWithin(r, w.ahead)):
		reason = store.RenewedToKeepAlive
	case force:
		reason = store.RenewedOnRequest
	case rejected != "" && r.AccessToken == rejected:
		reason = store.RenewedForRejection
	}
	return s.refresh(ctx, work, r, reason, reason == store.RenewedForExpiry && w.lasting == 0)
}

// load reads the environment's record under the rules for using it. With
// client credentials, no record is no error: nil, as a token request needs
// no log-in.
func (s *Source) load(ctx context.Context) (*store.Record, error) {
	r, err := s.loadStored(ctx)
	if errors.Is(err, store.ErrNotFound) && s.set.Grant == GrantClientCredentials {
		return nil, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		// Where it looked: a job whose state folder was not restored (another
		// $HOME) is told from one never logged in.
		return nil, &Error{Env: s.set.Env, Kind: ErrLoginRequired, Msg: "not logged in (no tokens in " + s.Location() + ")", Err: store.ErrNotFound}
	}
	if errors.Is(err, store.ErrUnreachable) {
		return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable, Msg: err.Error(), Err: err}
	}
	if err != nil {
		return nil, storeError(s.set.Env, err, err.Error())
	}
	if err := s.CheckGrant(r); err != nil {
		return nil, err
	}
	s.log.Debug("tokens read", "store", s.Location(), "renewals", r.Renewals)
	redact.Set(s.Location(), r.AccessToken, r.RefreshToken)
	return r, nil
}

// loadStored is the store's Load of the environment's record. A store that
// tells of no record with (nil, nil), as a program's own may, is taken to
// mean store.ErrNotFound.
func (s *Source) loadStored(ctx context.Context) (*store.Record, error) {
	var once sync.Once // a keychain reads a record in parts, each of which may wait
	ctx = store.WithWaiting(ctx, func() {
		once.Do(func() {
			if s.locking != nil {
				s.locking()
			}
			s.log.Debug("waiting for the store to read the tokens", "store", s.Location())
		})
	})
	r, err := s.store.Load(ctx, s.set.Env)
	if r == nil && err == nil {
		return nil, store.ErrNotFound
	}
	return r, err
}

// adopt records this environment's grant in a record written before grants
// were, or before they named the audience and resources, under the lock, so
// that from then on only this environment's configuration uses it.
func (s *Source) adopt(ctx context.Context) (*store.Record, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock() // released below; this for a panic in the program's Logger
	r, err := s.load(context.WithoutCancel(ctx))
	if err != nil || r == nil || r.Grant == s.grant() {
		unlock()
		return r, err
	}
	was := r.Grant
	r.Grant = s.grant()
	err = s.save(context.WithoutCancel(ctx), r, nil) // read under the lock, fenced by it
	unlock()
	switch {
	case errors.Is(err, errLockLost):
		return s.adopt(ctx) // another renewer may have stored newer tokens meanwhile
	case err != nil:
		return nil, err
	}
	was.IssuerTokenURL, was.ScopeResource, was.Bound = r.Grant.IssuerTokenURL, r.Grant.ScopeResource, true
	switch {
	case was == store.Grant{IssuerTokenURL: r.Grant.IssuerTokenURL, ScopeResource: r.Grant.ScopeResource, Bound: true}:
		s.log.Debug("the stored tokens had no grant recorded; they now belong to this environment's", "grant", r.Grant.String())
	case was == r.Grant:
		s.log.Debug("the stored tokens' grant was recorded by an older freshtoken; it now records all its tokens are bound to", "grant", r.Grant.String())
	default:
		s.log.Debug("the stored tokens' grant named no audience or resource; they now belong to this environment's", "was", was.String(), "grant", r.Grant.String())
	}
	return r, nil
}

func (s *Source) lock(ctx context.Context) (func(), error) { return s.lockWarning(ctx, slowWait) }

// lockWaitTold is how long a renewal for w waits for the lock before the
// wait is told: slowWait, or for a caller that the token in memory serves
// if the renewal fails (TokenContext: see stillValid), long enough for a
// store that cannot be reached to have failed within its bound on each
// command, so that its failure is told once, with the token's validity,
// not twice.
func (s *Source) lockWaitTold(w want) time.Duration {
	if w == (want{}) && s.stillServes(s.cur.Load()) {
		return 5 * slowWait
	}
	return slowWait
}

// lockWarning is lock, telling a wait longer than told. The function it
// returns releases the lock once, however often it is called, so that a
// caller may defer it and still release the lock sooner.
func (s *Source) lockWarning(ctx context.Context, told time.Duration) (func(), error) {
	if s.locking != nil {
		s.locking()
	}
	start := time.Now()
	s.log.Debug("waiting for the renewal lock", "store", s.Location())
	// A store slow to answer makes the wait as long as a lock held by
	// another renewer does; the warning cannot tell which.
	waiting := "waiting for the renewal lock of " + s.set.Env + ": another process or machine is renewing it, or the store is slow to answer"
	if ctx.Value(loggingIn{}) != nil {
		waiting = "waiting for the renewal lock of " + s.set.Env + " to store the log-in's tokens: another process or machine is renewing the old ones, or the store is slow to answer"
	}
	// A store that left the last Lock's call unanswered (it told a stall
	// of it) and answers none of this one's is the same outage: its wait
	// was warned of (a proxy's log said it again at each renewal, every
	// few seconds, for as long as Redis was silent). A store that tells
	// no stalls tells no answers either (a program's own, the file store
	// out of file descriptors): each of its waits is warned of.
	var stalled atomic.Bool
	ctx = store.WithStalled(ctx, func(_ string, told bool, _ time.Time) {
		if told {
			stalled.Store(true)
		}
	})
	ctx = store.WithAnswered(ctx, func(string) {
		stalled.Store(false)
		s.lockUnanswered.Store(false)
	})
	defer s.sayLockWaitAfter(told, waiting)()
	unlock, err := s.store.Lock(ctx, s.set.Env)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", s.set.Env, callerGaveUp(ctx, err))
		}
		if errors.Is(err, store.ErrUnreachable) {
			if stalled.Load() {
				s.lockUnanswered.Store(true)
			}
			return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable, Msg: err.Error(), Err: err}
		}
		return nil, fmt.Errorf("%s: %w", s.set.Env, err)
	}
	if unlock == nil { // a program's own store, with nothing to release
		unlock = func() {}
	}
	if !s.holdsAlone() {
		unlock()
		return nil, fmt.Errorf("%s: the token store's Lock let this renewer in while another of this process held it, or another store gives the same Location (%s), so nothing was sent: a store.Store's Lock must exclude every other renewer until it is released, and stores that keep different records must give different Locations (see store.Store)", s.set.Env, s.Location())
	}
	s.lockMu.Lock()
	s.locked = true
	s.lockMu.Unlock()
	held := sync.OnceFunc(func() {
		s.release()
		unlock()
		s.lockMu.Lock()
		after := s.afterUnlock
		s.locked, s.afterUnlock = false, nil
		s.lockMu.Unlock()
		for _, f := range after {
			f()
		}
	})
	// A panic before the caller has the lock to release (a program's
	// Logger that panics) must not leave it held: every renewer of the
	// environment, in this process and any other, would wait for it.
	returned := false
	defer func() {
		if !returned {
			held()
		}
	}()
	s.log.Debug("renewal lock held", "waited", time.Since(start).Round(time.Microsecond))
	returned = true
	return held, nil
}

// whenUnlocked calls stored, an Options.Sending function, once s does not
// hold its store's lock: a process that stops itself there (Ctrl-Z, once the
// renewal is stored) must not leave every other renewer waiting on it.
func (s *Source) whenUnlocked(stored func()) {
	s.lockMu.Lock()
	if s.locked {
		s.afterUnlock = append(s.afterUnlock, stored)
		s.lockMu.Unlock()
		return
	}
	s.lockMu.Unlock()
	stored()
}

// callerGaveUp is err, the failure of a store's Lock once ctx has ended, as
// the end of ctx, whatever words the store told it in: the callers waiting
// for this renewal must see that its caller gave up, and go on (see get),
// not fail with it.
func callerGaveUp(ctx context.Context, err error) error {
	if errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w (%v)", ctx.Err(), err)
}

// heldLocks are the renewal locks held in the process, by where the record
// they guard is stored (Source.unsavedKey), so that a store whose Lock
// excludes nobody is caught before two renewers spend one refresh token.
// Locks that can pass to another holder (store.LockChecker) are left out:
// the engine asks those stores instead.
var (
	heldMu    sync.Mutex
	heldLocks = map[string]bool{}
)

// holdsAlone records that s now holds its store's lock, and reports whether
// no one else in the process does.
func (s *Source) holdsAlone() bool {
	if _, ok := s.store.(store.LockChecker); ok {
		return true
	}
	heldMu.Lock()
	defer heldMu.Unlock()
	if heldLocks[s.unsavedKey()] {
		return false
	}
	heldLocks[s.unsavedKey()] = true
	return true
}

// release records that s is about to release its store's lock.
func (s *Source) release() {
	if _, ok := s.store.(store.LockChecker); !ok {
		heldMu.Lock()
		delete(heldLocks, s.unsavedKey())
		heldMu.Unlock()
	}
}

// slowWait is how long a wait goes before the user is told of it.
var slowWait = time.Second

// sayIfSlow warns with msg and args if the wait it starts lasts longer than
// slowWait; the function it returns ends the wait, and once it has
// returned the warning is on the log or never will be: none comes after
// what the wait led to.
func (s *Source) sayIfSlow(msg string, args ...any) (done func()) {
	return s.sayIfSlowAfter(slowWait, msg, args...)
}

// sayIfSlowAfter is sayIfSlow for a wait told once it lasts longer than d.
func (s *Source) sayIfSlowAfter(d time.Duration, msg string, args ...any) (done func()) {
	var mu sync.Mutex
	ended := false
	t := time.AfterFunc(d, func() {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			s.log.Warn(msg, args...)
		}
	})
	return func() {
		t.Stop()
		mu.Lock()
		defer mu.Unlock()
		ended = true
	}
}

// sayLockWaitAfter is sayIfSlowAfter for a wait for the renewal lock: with
// a store that can tell a stuck holder (store.StuckHolderTeller), the
// warning names it instead (see lockwait.Notice).
func (s *Source) sayLockWaitAfter(told time.Duration, waiting string) (done func()) {
	var stuck func() string
	if _, tells := s.store.(store.StuckHolderTeller); tells {
		stuck = func() string { return s.StuckLocks()(s.set.Env) }
	}
	n := lockwait.New(told, stuck, func(holder string) {
		switch {
		case holder != "":
			s.log.Warn("waiting for "+holder, "store", s.Location())
		case !s.lockUnanswered.Load():
			s.log.Warn(waiting, "store", s.Location())
		}
	})
	n.Start()
	return n.Stop
}

// saveRetryFor is how long save keeps trying a shared store that cannot be
// reached: the record may hold the only copy of a rotated refresh token.
const saveRetryFor = 30 * time.Second

// save writes r durably; with read, only if the store still holds read,
// the record the caller read under the lock (see store.Swapper). A shared
// store that cannot be reached is tried again, with growing waits, for up
// to saveRetryFor; any other failure is tried once more, except a refusal
// because the renewal lock, which the caller took, passed to another
// renewer meanwhile, or because the record changed since it was read:
// those wrap errSaveRefused, as another renewer's newer tokens, or its
// note that the grant ended, may be stored. What the store says of a save
// it took (a shared store's replicas yet to copy it) is a warning.
func (s *Source) save(ctx context.Context, r, read *store.Record) error {
	return s.saveRefused(ctx, r, read, func() {})
}

// saveRefused is save, calling refused once, when the store first refuses
// r and save tries again.
func (s *Source) saveRefused(ctx context.Context, r, read *store.Record, refused func()) error {
	redact.Set(s.Location(), r.AccessToken, r.RefreshToken)
	ctx = s.warnings(ctx)
	giveUp := time.Now().Add(saveRetryFor)
	wait := 100 * time.Millisecond
	saveOnce := func() error {
		err := s.saveIf(ctx, r, read)
		if errors.Is(err, store.ErrReserveUsed) { // saved, on a full disk
			s.log.Warn(err.Error())
			return nil
		}
		return err
	}
	err := saveOnce()
	for tries := 1; err != nil; tries++ {
		if errors.Is(err, store.ErrChanged) {
			return &changedError{err}
		}
		if !errors.Is(err, store.ErrUnreachable) && s.lockLost(ctx) {
			// The store refused it for that: another renewer's tokens,
			// newer, may be stored (see store.LockChecker).
			return fmt.Errorf("%w (%v)", errSaveRefused, err)
		}
		if tries == 1 {
			refused() // before the warning, which tells the user of it
		}
		if errors.Is(err, store.ErrUnreachable) {
			if time.Now().Add(wait).After(giveUp) {
				break
			}
			if tries == 1 {
				s.log.Warn("the token store cannot be reached; keeping the new tokens and trying to save them again", "for", saveRetryFor, "error", err.Error())
			}
		} else if tries > 1 {
			break
		}
		s.log.Debug("saving the tokens failed; trying again", "after", wait, "error", err.Error())
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
		err = saveOnce()
	}
	if err != nil {
		return err
	}
	s.log.Debug("tokens saved", "store", s.Location(), "expires", r.Expiry.Format(logTime), "renewals", r.Renewals)
	return nil
}

// warnings is ctx with which the store's calls log what they say of a
// write they made all the same (store.Warn: a shared store's replicas yet
// to copy it), as a warning.
func (s *Source) warnings(ctx context.Context) context.Context {
	return store.WithWarning(ctx, func(msg string) { s.log.Warn(msg) })
}

// saveIf is the store's Save of r, or with read its SaveIf (see
// store.Swapper); a store that is not a Swapper is read again and
// compared first, under the lock the caller holds.
func (s *Source) saveIf(ctx context.Context, r, read *store.Record) error {
	if read == nil {
		return s.store.Save(ctx, s.set.Env, r)
	}
	if sw, ok := s.store.(store.Swapper); ok {
		return sw.SaveIf(ctx, s.set.Env, r, read)
	}
	cur, err := s.loadStored(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt):
		return fmt.Errorf("%w: %s holds no tokens it held when read; nothing was written", store.ErrChanged, s.Location())
	case err != nil:
		return err
	case !store.Unchanged(cur, read):
		return fmt.Errorf("%w: %s was changed by another renewer or a log-in; nothing was written", store.ErrChanged, s.Location())
	}
	return s.store.Save(ctx, s.set.Env, r)
}

// changedError is a save refused because the stored record changed since
// the caller read it under the renewal lock: another renewer took the lock
// while this one was paused past it (a lock with a time limit, Redis's),
// or a program that does not take the lock wrote, and stored newer tokens
// or noted that the provider ended the grant. It wraps errSaveRefused and
// the store's error.
type changedError struct{ err error }

func (e *changedError) Error() string {
	return "another writer changed the stored tokens before these were stored: a renewer that took the renewal lock while this one was paused past it, or a program that does not take the lock (" + e.err.Error() + ")"
}

func (e *changedError) Unwrap() []error { return []error{errSaveRefused, e.err} }

func (s *Source) loginError(what string) error {
	return &Error{Env: s.set.Env, Kind: ErrLoginRequired, Msg: what}
}

// recordFrom builds the record for tok, received for a request sent at
// sentAt; prev is the record it renews (nil for a login), for the reason
// given. A response without a refresh token keeps prev's. An expires_in
// that is missing, zero or negative leaves the expiry unknown.
func (s *Source) recordFrom(tok *oauth2.Token, prev *store.Record, sentAt time.Time, reason string) *store.Record {
	sentAt = sentAt.Round(0) // the wall clock's, as stored (see clock.Wall)
	r := &store.Record{
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		RefreshToken: tok.RefreshToken,
		IssuedAt:     sentAt,
		Grant:        s.grant(),
	}
	if r.TokenType == "" {
		r.TokenType = "Bearer"
	}
	expiresIn := tok.ExpiresIn
	if expiresIn == 0 { // x/oauth2's client credentials keep it only among the extras
		expiresIn = extraSeconds(tok, "expires_in")
	}
	if expiresIn > 0 {
		r.Expiry = sentAt.Add(time.Duration(expiresIn) * time.Second)
	} else if expiresIn == 0 && tok.Expiry.After(sentAt) {
		r.Expiry = tok.Expiry.Round(0)
	}
	if secs := extraSeconds(tok, "refresh_token_expires_in"); secs > 0 {
		r.RefreshExpiry = sentAt.Add(time.Duration(secs) * time.Second)
	}
	if prev != nil && reason == store.RenewedForRejection {
		r.RejectedInARow = 1
		if prev.RenewedFor == store.RenewedForRejection {
			r.RejectedInARow = max(prev.RejectedInARow, 1) + 1
		}
	}
	r.Scope = grantedScope(tok)
	if prev != nil {
		r.LoggedInAt, r.LoggedInWith = prev.LoggedInAt, prev.LoggedInWith
		if r.Scope == "" {
			r.Scope = prev.Scope
		}
	}
	if s.set.Grant == GrantClientCredentials {
		// Every token is had with the client's credentials; a refresh
		// token some providers add anyway is not kept, so none is ever spent.
		r.RefreshToken, r.RefreshExpiry = "", time.Time{}
		r.RenewedAt, r.RenewedFor = sentAt, reason
		if prev != nil {
			r.Renewals = prev.Renewals + 1
		}
		return r
	}
	if prev == nil && !storableRefreshToken(r.RefreshToken) {
		// A log-in's, mangled, could never be sent back (see SaveLoginIf).
		r.RefreshToken, r.RefreshExpiry = "", time.Time{}
	}
	if prev != nil {
		r.Renewals = prev.Renewals + 1
		r.RenewedAt = sentAt
		r.RenewedFor = reason
		switch {
		case !storableRefreshToken(r.RefreshToken):
			// The provider's, mangled, could never be sent back: the one
			// before it may still be taken (see exchange's warning).
			r.RefreshToken, r.RefreshExpiry = prev.RefreshToken, prev.RefreshExpiry
		case r.RefreshToken == "" || r.RefreshToken == prev.RefreshToken:
			r.RefreshToken = prev.RefreshToken
			if r.RefreshExpiry.IsZero() {
				r.RefreshExpiry = prev.RefreshExpiry
			}
		}
		// A renewal to keep the grant alive that left the refresh token's
		// expiry where it was shows that renewing cannot extend it; unless
		// the expiry it had was counted by a clock ahead of this one (see
		// Plan), which puts the new one before it whatever the provider does.
		r.RefreshNotExtended = prev.RefreshNotExtended ||
			reason == store.RenewedToKeepAlive && !prev.RefreshExpiry.IsZero() && !prev.IssuedAt.After(sentAt) && !r.RefreshExpiry.After(prev.RefreshExpiry)
	}
	return r
}

// storableRefreshToken reports whether a refresh token can be stored and
// sent back as the provider wrote it: text, as every store keeps it (in
// JSON), without bytes that are not UTF-8 nor U+FFFD, which encoding/json's
// reading of a JSON answer puts in their place.
func storableRefreshToken(rt string) bool {
	return !strings.ContainsRune(rt, utf8.RuneError)
}

// extraSeconds is tok's lifetime key in whole seconds, read as the token
// endpoint's JSON answers are mended (tokenerr.WholeSeconds): a fraction
// cut, a value too large kept within an int32, so that adding it to a time
// cannot wrap round into the past; 0 when it holds no number. A
// form-encoded answer, which x/oauth2 reads as it is, gives it as a string.
func extraSeconds(tok *oauth2.Token, key string) int64 {
	var raw string
	switch v := tok.Extra(key).(type) {
	case float64:
		raw = strconv.FormatFloat(v, 'g', -1, 64)
	case int64:
		raw = strconv.FormatInt(v, 10)
	case string:
		raw = v
	default:
		return 0
	}
	secs, _ := tokenerr.WholeSeconds(json.RawMessage(raw))
	return secs
}

// serve is r's token for a caller, refused when no HTTP header can carry
// it: an access token from the provider holding a line break or another
// control character would forge headers, or drive the terminal it is
// printed on. (The token type is never sent or shown: see token.) The
// record stays stored, its refresh token with it: a renewal may bring a
// usable access token.
func (s *Source) serve(r *store.Record) (*oauth2.Token, error) {
	if !httpx.PrintableASCII(r.AccessToken) {
		return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable, Err: ErrUnusableToken,
			Msg: "the provider issued an access token holding control or non-ASCII characters, which no HTTP header can carry, so it is neither sent nor shown; the grant is kept"}
	}
	if boundToAKey(r.TokenType) {
		return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable, Err: ErrUnusableToken,
			Msg: fmt.Sprintf("the provider issued an access token of type %q, bound to a key: it is accepted only with a proof of possession, which freshtoken does not make, so it is neither sent nor shown; the grant is kept; have the provider issue bearer tokens to this client", strings.TrimSpace(r.TokenType))}
	}
	return s.token(r), nil
}

// Unusable returns why r's access token can be neither sent nor shown (an
// *Error wrapping ErrUnusableToken), or nil when it can, or r holds none:
// one holding control or non-ASCII characters, or bound to a key. Every
// use of it fails so; a log-in that brought it can say so at once.
func (s *Source) Unusable(r *store.Record) error {
	if s.unmade() {
		return errNotMade
	}
	if r == nil || r.AccessToken == "" {
		return nil
	}
	_, err := s.serve(r)
	return err
}

// boundToAKey reports whether tokenType names a token that an API accepts
// only with a proof that the sender holds a key (RFC 9449's DPoP, the MAC
// and PoP drafts), which freshtoken does not make. White space around it
// does not make it a bearer token.
func boundToAKey(tokenType string) bool {
	tokenType = strings.TrimSpace(tokenType)
	for _, t := range []string{"DPoP", "MAC", "PoP"} {
		if strings.EqualFold(tokenType, t) {
			return true
		}
	}
	return false
}

// token is r as x/oauth2 shows it. The refresh token stays inside the
// engine: a caller spending it independently would break rotation.
func (s *Source) token(r *store.Record) *oauth2.Token {
	// Bearer whatever the provider calls it (Slack's "bot" and "user"
	// tokens are bearer tokens): x/oauth2 writes any other type into the
	// Authorization header as it is, and the API refuses it.
	t := &oauth2.Token{AccessToken: r.AccessToken, TokenType: "Bearer"}
	if at, known := s.expiry(r); known {
		t.Expiry, t.ExpiresIn = at, max(int64(at.Sub(s.now()).Seconds()), 0)
	}
	return t
}

// storeSentinels are package store's sentinels, an *Error's Kind for a
// store's failure that wraps one; ErrNewerFormat before the ErrCorrupt it
// wraps.
var storeSentinels = []error{store.ErrNewerFormat, store.ErrCorrupt, store.ErrInsecure, store.ErrDenied,
	store.ErrWriteFailed, store.ErrReservedName, store.ErrClosed, store.ErrUnreachable, store.ErrNotFound}

// storeError is the *Error of a store's failure err, saying msg: its Kind
// the sentinel of package store that err wraps, err underneath; a failure
// that wraps none (a store of a program's own) is its own Kind.
func storeError(env string, err error, msg string) *Error {
	for _, kind := range storeSentinels {
		if errors.Is(err, kind) {
			return &Error{Env: env, Kind: kind, Msg: msg, Err: err}
		}
	}
	return &Error{Env: env, Kind: err, Msg: msg}
}

// unpanicked calls f, a program's function (named what), and logs a panic
// in it as an error, with its stack, rather than let it unwind the engine:
// f is called amid the storing of tokens the provider has sent, and beside
// the program's other such functions, none of which it may stop.
func (s *Source) unpanicked(what string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error(what+" panicked (a bug in the program); the renewal and the program's other such functions go on",
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	f()
}
