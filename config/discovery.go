package config

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/extraparams"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
)

// How long a discovery document is kept: what its Cache-Control max-age
// says, within these bounds, else a day. At most a day, so that a provider
// that moves its endpoints is followed within a day whatever it promised
// (by new processes: a Source keeps the endpoints it found).
const (
	DefaultDiscoveryLifetime = 24 * time.Hour
	minDiscoveryLifetime     = 5 * time.Minute
	maxDiscoveryLifetime     = 24 * time.Hour
)

// maxDiscoveryDocument bounds the discovery document read (1 MiB).
const maxDiscoveryDocument = 1 << 20

// discoveryDocument is the part of an RFC 8414 or OpenID Connect
// discovery document freshtoken uses.
type discoveryDocument struct {
	Issuer                      string `json:"issuer"`
	AuthorizationEndpoint       string `json:"authorization_endpoint,omitempty"`
	TokenEndpoint               string `json:"token_endpoint"`
	RevocationEndpoint          string `json:"revocation_endpoint,omitempty"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint,omitempty"`
	// Read as it comes: only a warning is made of it (checkClientAuth),
	// so a provider writing it otherwise than as a list of strings has its
	// document taken all the same.
	TokenEndpointAuthMethods json.RawMessage `json:"token_endpoint_auth_methods_supported,omitempty"`
	// IssParameterSupported (RFC 9207) is the provider's promise to name
	// itself (iss) in every answer of its authorization endpoint. Read as
	// it comes: only a JSON true is the promise, and nothing else refuses
	// the document.
	IssParameterSupported json.RawMessage `json:"authorization_response_iss_parameter_supported,omitempty"`
}

// cachedDiscovery is a discovery document as cached beside the config.
type cachedDiscovery struct {
	URL       string            `json:"url"` // where it was fetched
	FetchedAt time.Time         `json:"fetched_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	Document  discoveryDocument `json:"document"`
}

// freshAt reports whether c may still be used at now without a fetch: it
// has not expired, and expires no later than a document fetched now would.
// One cached while the clock was ahead (a virtual machine's clock not yet
// set) would otherwise be kept until the date written then, a year on.
func (c *cachedDiscovery) freshAt(now time.Time) bool {
	return now.Before(c.ExpiresAt) && c.ExpiresAt.Sub(now) <= maxDiscoveryLifetime
}

// fetchedDocuments are the documents this process fetched, by cache path,
// so that it fetches each at most once while it is fresh even where the
// cache cannot be written.
var fetchedDocuments sync.Map // string → *cachedDiscovery

// discovery finds an environment's endpoints from its issuer's discovery
// document. The document is read from the cache while it is fresh, else
// fetched once and cached; when the provider cannot be reached, a stale
// cached copy is used rather than nothing.
type discovery struct {
	env *Env
	// mu guards http, which endpoints makes when Open gave none: every
	// Source built from one Settings shares this discovery.
	mu   sync.Mutex
	http *http.Client
	log  *slog.Logger
	now  func() time.Time
}

// wellKnownURLs are where issuer's discovery document may be, in the order
// tried: RFC 8414's, with the well-known part inserted before the issuer's
// path, then OpenID Connect's, appended to it.
func wellKnownURLs(issuer string) []string {
	u, _ := url.Parse(issuer) // checked by checkIssuer
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	root := u.Scheme + "://" + u.Host
	rfc8414 := root + "/.well-known/oauth-authorization-server" + path
	oidc := root + path + "/.well-known/openid-configuration"
	return []string{rfc8414, oidc}
}

// discoveryDir is where e's discovery documents are cached: a folder
// beside the configuration file; "" for an environment read from none.
func (e *Env) discoveryDir() string {
	if e.configPath == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(e.configPath), "discovery")
}

// cachePath is the file issuer's document is cached in.
func (d *discovery) cachePath() string {
	sum := sha256.Sum256([]byte(d.env.Issuer))
	return filepath.Join(d.env.discoveryDir(), hex.EncodeToString(sum[:16])+".json")
}

// endpoints is freshtoken.Settings.Discover for the environment.
func (d *discovery) endpoints(ctx context.Context) (freshtoken.Endpoints, error) {
	d.mu.Lock()
	if d.http == nil {
		t, err := d.env.sharedTransport()
		if err != nil {
			d.mu.Unlock()
			return freshtoken.Endpoints{}, err
		}
		d.http = discoveryClient(&http.Client{Timeout: d.env.Timeout, Transport: httpx.ExplainTLS(t)})
	}
	d.mu.Unlock()
	doc, err := d.document(ctx)
	if err != nil {
		return freshtoken.Endpoints{}, err
	}
	d.checkClientAuth(doc.TokenEndpointAuthMethods)
	return freshtoken.Endpoints{
		AuthURL:         doc.AuthorizationEndpoint,
		TokenURL:        doc.TokenEndpoint,
		RevocationURL:   doc.RevocationEndpoint,
		DeviceAuthURL:   doc.DeviceAuthorizationEndpoint,
		IssuerInAnswers: string(doc.IssParameterSupported) == "true",
	}, nil
}

// discoveryClient is c for discovery requests: it follows no redirect from
// https to http, where whoever answers in clear text could name any token
// endpoint for the issuer.
func discoveryClient(c *http.Client) *http.Client {
	dc := *c
	dc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return &clearTextRedirect{to: (&url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path}).String()}
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &dc
}

// clearTextRedirect is an https discovery URL redirecting to http.
type clearTextRedirect struct{ to string }

func (e *clearTextRedirect) Error() string { return "redirected to " + e.to }

func (d *discovery) document(ctx context.Context) (*discoveryDocument, error) {
	cached := d.readCache()
	now := d.now()
	if cached != nil && cached.freshAt(now) {
		d.log.Debug("discovery document from the cache", "issuer", d.env.Issuer, "fetched", cached.FetchedAt.Format(time.RFC3339), "expires", cached.ExpiresAt.Format(time.RFC3339))
		return &cached.Document, nil
	}
	if v, ok := fetchedDocuments.Load(d.cachePath()); ok && v.(*cachedDiscovery).freshAt(now) {
		// Checked again for this environment: another one of the same
		// issuer, which fetched it, may set an endpoint this one takes
		// from the document.
		c := v.(*cachedDiscovery)
		if err := d.check(&c.Document, c.URL); err != nil {
			return nil, err
		}
		d.log.Debug("discovery document fetched earlier by this process", "issuer", d.env.Issuer)
		return &c.Document, nil
	}
	fetched, err := d.fetch(ctx)
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil, ctx.Err() // its caller gave up (a signal): nothing failed
	}
	if err != nil {
		if cached != nil && errors.Is(err, freshtoken.ErrUnreachable) {
			d.log.Debug("discovery failed; using the stale cached document", "issuer", d.env.Issuer,
				"fetched", cached.FetchedAt.Format(time.RFC3339), "expired", cached.ExpiresAt.Format(time.RFC3339), "error", err.Error())
			return &cached.Document, nil
		}
		return nil, err
	}
	fetchedDocuments.Store(d.cachePath(), fetched)
	d.writeCache(fetched)
	return &fetched.Document, nil
}

// readCache returns the cached document for the issuer, fresh or stale;
// nil when there is none, or none this user can trust.
func (d *discovery) readCache() *cachedDiscovery {
	if !d.cacheTrusted() {
		return nil
	}
	path := d.cachePath()
	info, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if !info.Mode().IsRegular() {
		d.log.Warn("discovery cache is not a regular file; ignoring it", "path", path)
		return nil
	}
	if err := configfile.CheckFile(path, info); err != nil {
		d.log.Warn("discovery cache ignored", "error", err.Error())
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var c cachedDiscovery
	if err := json.Unmarshal(data, &c); err != nil || c.Document.Issuer != d.env.Issuer || d.check(&c.Document, c.URL) != nil {
		d.log.Debug("discovery cache unreadable; fetching again", "path", path)
		return nil
	}
	return &c
}

// cacheTrusted reports whether the cache's folder, and the
// configuration's folder it is in, are ones no other user may put a file
// in (a folder of the user's private group is the user's alone, see
// configfile.OthersMayWrite): in one they may (a team's folder, /tmp), they
// could put a document of theirs in place of the cached one, between its
// checks and its reading, naming their own token endpoint. Such a cache is
// neither read nor written; the document is fetched, as it is for an
// environment read from no configuration file, which has no cache.
func (d *discovery) cacheTrusted() bool {
	dir := d.env.discoveryDir()
	if dir == "" {
		return false
	}
	for _, dir := range []string{filepath.Dir(dir), dir} {
		if why := configfile.FolderOthersCanChange(dir); why != "" {
			d.log.Debug("discovery cache not used, as another user could put a document in its place", "folder", why)
			return false
		}
	}
	return true
}

func (d *discovery) writeCache(c *cachedDiscovery) {
	if !d.cacheTrusted() {
		return
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err == nil {
		err = os.MkdirAll(d.env.discoveryDir(), 0o700)
	}
	if err == nil {
		err = atomicfile.Write(d.cachePath(), append(data, '\n'), atomicfile.Options{})
	}
	if err != nil {
		d.log.Debug("discovery document not cached", "path", d.cachePath(), "error", err.Error())
		return
	}
	d.log.Debug("discovery document cached", "path", d.cachePath(), "expires", c.ExpiresAt.Format(time.RFC3339))
}

// fetch tries each well-known URL until one has the issuer's document.
// A wrong answer at one is reported only when none has it.
func (d *discovery) fetch(ctx context.Context) (*cachedDiscovery, error) {
	urls := wellKnownURLs(d.env.Issuer)
	var missing []string
	var wrong error
	for _, u := range urls {
		c, found, err := d.fetchOne(ctx, u)
		var w wrongAnswer
		if errors.As(err, &w) {
			d.log.Debug("discovery answer is not the issuer's document; trying the next URL", "url", u, "error", w.Error())
			wrong = cmp.Or(wrong, w.error)
			continue
		}
		if err != nil {
			return nil, err
		}
		if found {
			return c, nil
		}
		missing = append(missing, u)
	}
	if wrong != nil {
		return nil, wrong
	}
	return nil, Invalidf("%s: issuer %s has no discovery document (neither %s answered with one); check issuer, or set auth_url and token_url instead",
		d.env.Name, d.env.Issuer, strings.Join(missing, " nor "))
}

// wrongAnswer is an answer at a well-known URL that is not the issuer's
// document: a page a web app serves for every path, or the document of
// another issuer on the same host. The next URL may still have it.
type wrongAnswer struct{ error }

// fetchOne fetches the document at u; found is false when u has none (a
// 4xx answer), so the next URL is tried, as it is after a wrongAnswer.
func (d *discovery) fetchOne(work context.Context, u string) (c *cachedDiscovery, found bool, err error) {
	unreachable := func(why string) error {
		return &freshtoken.Error{Env: d.env.Name, Kind: freshtoken.ErrUnreachable,
			Msg: fmt.Sprintf("the discovery document at %s could not be fetched (%s); check issuer and your network, or set auth_url and token_url", u, why)}
	}
	ctx, cancel := context.WithTimeout(work, d.env.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", "application/json")
	d.log.Debug("discovery request", "url", u)
	sent := d.now()
	resp, err := d.http.Do(req)
	var downgrade *clearTextRedirect
	if errors.As(err, &downgrade) {
		return nil, false, Invalidf("%s: the discovery document at %s redirects to %s, in clear text, where anyone on the way could name another token endpoint; ask the provider for an https address, or set auth_url and token_url",
			d.env.Name, u, redact.OneLine(downgrade.to, 200))
	}
	if err != nil {
		return nil, false, unreachable(redact.OneLine(tokenerr.TimedOut(work, d.env.Timeout, httpx.UnwrapURLError(err)).Error(), 200))
	}
	defer httpx.Drain(resp)
	d.log.Debug("discovery answer", "url", u, "status", resp.StatusCode)
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return nil, false, unreachable("HTTP " + strconv.Itoa(resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return nil, false, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryDocument+1))
	if err != nil {
		return nil, false, unreachable(redact.OneLine(tokenerr.TimedOut(work, d.env.Timeout, err).Error(), 200))
	}
	if len(body) > maxDiscoveryDocument {
		return nil, false, Invalidf("%s: the discovery document at %s is larger than 1 MiB, far more than any provider's; check issuer, or set auth_url and token_url", d.env.Name, u)
	}
	var doc discoveryDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			// JSON, of which a member freshtoken reads is of another type.
			return nil, false, wrongAnswer{Invalidf("%s: the discovery document at %s is JSON but not a discovery document (%s is not a %s); check issuer",
				d.env.Name, u, redact.OneLine(typeErr.Field, 100), jsonKind(typeErr.Type))}
		}
		return nil, false, wrongAnswer{Invalidf("%s: the discovery document at %s is not JSON (%s); check issuer", d.env.Name, u, redact.OneLine(err.Error(), 100))}
	}
	if err := d.check(&doc, u); err != nil {
		if doc.Issuer != d.env.Issuer {
			err = wrongAnswer{err}
		}
		return nil, false, err
	}
	return &cachedDiscovery{URL: u, FetchedAt: sent, ExpiresAt: sent.Add(lifetime(resp.Header.Get("Cache-Control"))), Document: doc}, true, nil
}

// check refuses a document for another issuer (RFC 8414 section 3.3), and
// one whose endpoints, of those the environment takes from it, cannot be
// used: no token endpoint, or one that is not an https URL (http only on
// this machine, for an http issuer). An endpoint the configuration sets is
// not taken from the document, and not checked there: setting it is what
// the refusal says to do.
func (d *discovery) check(doc *discoveryDocument, u string) error {
	if doc.Issuer != d.env.Issuer && strings.Contains(doc.Issuer, "{") {
		return Invalidf("%s: the discovery document at %s names a template of an issuer (%q), not one issuer; for Microsoft, use provider = \"microsoft\" with tenant instead of issuer, or the issuer of one tenant",
			d.env.Name, u, redact.OneLine(doc.Issuer, 200))
	}
	if doc.Issuer != d.env.Issuer {
		return Invalidf("%s: the discovery document at %s is for issuer %q, not %q; set issuer exactly as the provider writes it (a trailing slash counts)",
			d.env.Name, u, redact.OneLine(doc.Issuer, 200), d.env.Issuer)
	}
	if doc.TokenEndpoint == "" && d.env.TokenURL == "" {
		return Invalidf("%s: the discovery document at %s names no token_endpoint; set token_url", d.env.Name, u)
	}
	iss, err := url.Parse(d.env.Issuer)
	httpsIssuer := err == nil && iss.Scheme == "https"
	for _, e := range []struct{ key, found, set, setKey string }{
		{"authorization_endpoint", doc.AuthorizationEndpoint, d.env.AuthURL, "auth_url"},
		{"token_endpoint", doc.TokenEndpoint, d.env.TokenURL, "token_url"},
		{"revocation_endpoint", doc.RevocationEndpoint, d.env.RevocationURL, "revocation_url"},
		{"device_authorization_endpoint", doc.DeviceAuthorizationEndpoint, d.env.DeviceAuthURL, "device_auth_url"},
	} {
		if e.found == "" || e.set != "" {
			continue
		}
		if err := checkDiscoveredEndpoint(e.found, httpsIssuer); err != nil {
			return Invalidf("%s: the discovery document at %s names a %s that %v; set %s to the provider's endpoint instead, or tell the provider",
				d.env.Name, u, e.key, err, e.setKey)
		}
	}
	if d.env.AuthURL != "" {
		return nil
	}
	if own, _ := extraparams.OwnInAuthURL(doc.AuthorizationEndpoint); len(own) > 0 {
		return Invalidf("%s: the discovery document at %s names an authorization_endpoint whose query holds %s, which freshtoken adds itself; set auth_url",
			d.env.Name, u, strings.Join(own, ", "))
	}
	return nil
}

// clientAuthMethods are the token_endpoint_auth_methods_supported names of
// each client_auth.
var clientAuthMethods = map[string]string{
	"basic": "client_secret_basic", "body": "client_secret_post", "none": "none", "private_key_jwt": "private_key_jwt",
}

// checkClientAuth warns when the provider says its token endpoint does not
// take the configured client authentication. It never changes it: the
// style is chosen in the configuration, not guessed. A list that is not one
// of strings says nothing.
func (d *discovery) checkClientAuth(raw json.RawMessage) {
	var supported []string
	if len(raw) > 0 && json.Unmarshal(raw, &supported) != nil {
		d.log.Debug("token_endpoint_auth_methods_supported is not a list of strings; ignored", "issuer", d.env.Issuer)
		return
	}
	method, ok := clientAuthMethods[d.env.ClientAuth]
	if !ok || len(supported) == 0 || slices.Contains(supported, method) {
		return
	}
	d.log.Warn(fmt.Sprintf("%s: the provider's discovery document lists %s for its token endpoint, not %s (client_auth = %q); if token requests are refused, change client_auth",
		d.env.Name, redact.OneLine(strings.Join(supported, ", "), 200), method, d.env.ClientAuth))
}

// jsonKind names the JSON value a member read into t must be.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "list"
	}
	return t.String()
}

// lifetime is how long a document is kept: its Cache-Control max-age,
// within bounds, else a day.
func lifetime(cacheControl string) time.Duration {
	for _, directive := range strings.Split(cacheControl, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(directive), "=")
		if !strings.EqualFold(k, "max-age") {
			continue
		}
		if n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64); err == nil && n >= 0 {
			return min(max(time.Duration(min(n, int64(maxDiscoveryLifetime/time.Second)))*time.Second, minDiscoveryLifetime), maxDiscoveryLifetime)
		}
	}
	return DefaultDiscoveryLifetime
}
