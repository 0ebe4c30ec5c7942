package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/extraparams"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/paste"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/store"
)

// DefaultTimeout bounds each request to the token endpoint and the API.
const DefaultTimeout = 30 * time.Second

// preset is what a provider's own documentation says about it (see
// docs/providers.md for the pages): where its endpoints are, how it
// authenticates clients, how long it lets a grant go unused, and what it
// needs before it issues refresh tokens. Keys set in the file win.
type preset struct {
	apiURL string
	// endpoint derives the endpoints from the API root, so that overriding
	// api_url moves them too (FreeAgent).
	endpoint func(apiURL string) (authURL, tokenURL string)
	// Fixed endpoints; "{tenant}" in them is the environment's tenant.
	authURL, tokenURL, revocationURL, deviceAuthURL string
	clientAuth                                      string        // the style the provider documents; "" for basic
	idleLimit                                       time.Duration // grants unused this long end
	// scopes are always requested: without them the provider issues no
	// refresh token (offline_access) or no access to its API.
	scopes []string
	// needsScopes: the provider refuses an authorisation request without
	// a scope, and no one scope suits everybody.
	needsScopes bool
	// authParams go on the authorisation request, under the environment's
	// own auth_params: one it sets wins.
	authParams map[string]string
	// tenant: the endpoints hold "{tenant}", set by the tenant key.
	tenant bool
	// secretShown is where the provider shows a client's secret, for a
	// provider whose token endpoint refuses a client without one: a
	// configuration with no secret would send people through the browser
	// only for the code exchange to fail.
	secretShown string
}

// freeAgentSecret is where FreeAgent shows an app's client secret.
const freeAgentSecret = "FreeAgent's developer dashboard, https://dev.freeagent.com, shows it beside the OAuth identifier"

func freeAgentEndpoints(api string) (string, string) {
	return api + "v2/approve_app", api + "v2/token_endpoint"
}

// offlineAccess is the scope that asks for a refresh token.
const offlineAccess = "offline_access"

// multiTenants are the Microsoft tenants that are not one directory: they
// let people of many sign in, but no client acts as itself there.
var multiTenants = []string{"common", "organizations", "consumers"}

// DefaultTenant is the Microsoft tenant used when tenant is not set: any
// work, school or personal Microsoft account.
const DefaultTenant = "common"

const day = 24 * time.Hour

var quickBooks = preset{
	authURL:       "https://appcenter.intuit.com/connect/oauth2",
	tokenURL:      "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
	revocationURL: "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
	clientAuth:    "basic",
	idleLimit:     100 * day,
	scopes:        []string{"com.intuit.quickbooks.accounting"},
	secretShown:   "Intuit's developer portal, https://developer.intuit.com, shows it beside the client ID",
}

var presets = map[string]preset{
	"freeagent":         {apiURL: "https://api.freeagent.com/", endpoint: freeAgentEndpoints, secretShown: freeAgentSecret},
	"freeagent-sandbox": {apiURL: "https://api.sandbox.freeagent.com/", endpoint: freeAgentEndpoints, secretShown: freeAgentSecret},
	"generic":           {},
	"xero": {
		apiURL:        "https://api.xero.com/",
		authURL:       "https://login.xero.com/identity/connect/authorize",
		tokenURL:      "https://identity.xero.com/connect/token",
		revocationURL: "https://identity.xero.com/connect/revocation",
		clientAuth:    "basic",
		idleLimit:     60 * day,
		scopes:        []string{offlineAccess},
	},
	"quickbooks":         withAPI(quickBooks, "https://quickbooks.api.intuit.com/"),
	"quickbooks-sandbox": withAPI(quickBooks, "https://sandbox-quickbooks.api.intuit.com/"),
	"google": {
		apiURL:        "https://www.googleapis.com/",
		authURL:       "https://accounts.google.com/o/oauth2/v2/auth",
		tokenURL:      "https://oauth2.googleapis.com/token",
		revocationURL: "https://oauth2.googleapis.com/revoke",
		deviceAuthURL: "https://oauth2.googleapis.com/device/code",
		clientAuth:    "body",
		idleLimit:     180 * day,
		needsScopes:   true,
		authParams:    map[string]string{"access_type": "offline", "prompt": "consent"},
	},
	"microsoft": {
		apiURL:        "https://graph.microsoft.com/",
		authURL:       "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
		tokenURL:      "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
		deviceAuthURL: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
		clientAuth:    "body",
		idleLimit:     90 * day,
		scopes:        []string{offlineAccess},
		tenant:        true,
	},
}

func withAPI(p preset, apiURL string) preset {
	p.apiURL = apiURL
	return p
}

// isTenantName reports whether s can be what the tenant key takes: a
// tenant's ID (a GUID), one of its domain names, or common, organizations
// or consumers: ASCII letters and digits, then also dots and hyphens.
func isTenantName(s string) bool {
	for i, c := range s {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '-') {
			return false
		}
	}
	return s != ""
}

// Presets lists the provider names `provider =` accepts.
func Presets() []string {
	return slices.Sorted(maps.Keys(presets))
}

// IsFreeAgent reports whether the environment talks to FreeAgent (either
// preset), whose API wants a User-Agent and Accept: application/json.
func (e *Env) IsFreeAgent() bool { return strings.HasPrefix(e.Provider, "freeagent") }

// nonProduction are words in an API host or an environment name that say
// its data is not the real thing.
var nonProduction = []string{"sandbox", "sand", "staging", "stage", "test", "testing", "dev", "development", "demo", "local"}

// IsProduction reports whether the environment may hold real data: true
// unless its API is on this machine, or its API host or its name has
// sandbox, staging, test, dev, demo or local as a word (not within one:
// devon is a name, latest no test). A preset's production API is
// production whatever the environment is called. Doubt counts as
// production, so that nobody mistakes live books for a sandbox.
func (e *Env) IsProduction() bool {
	u, err := url.Parse(e.APIURL)
	if err != nil {
		return true
	}
	host := strings.ToLower(u.Hostname())
	if httpx.IsLoopback(host) {
		return false
	}
	for name, p := range presets {
		if pu, err := url.Parse(p.apiURL); err == nil && p.apiURL != "" && !strings.HasSuffix(name, "-sandbox") && pu.Hostname() == host {
			return true
		}
	}
	return !saysNotProduction(host) && !saysNotProduction(e.Name)
}

// saysNotProduction reports whether s has one of nonProduction as a word,
// words being its runs of letters (sandbox2 and acme-sandbox have one).
func saysNotProduction(s string) bool {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r < 'a' || r > 'z' })
	return slices.ContainsFunc(words, func(w string) bool { return slices.Contains(nonProduction, w) })
}

func resolve(name string, r EnvSettings) (*Env, error) {
	bad := func(key, format string, args ...any) error {
		return &Error{Key: "env." + name + "." + key, Msg: fmt.Sprintf(format, args...)}
	}
	if err := store.ValidateEnvName(name); err != nil {
		return nil, &Error{Key: "env." + name, Msg: err.Error()}
	}
	e := &Env{
		Name:            name,
		Provider:        strings.TrimSpace(r.Provider),
		APIURL:          strings.TrimSpace(r.APIURL),
		AuthURL:         strings.TrimSpace(r.AuthURL),
		TokenURL:        strings.TrimSpace(r.TokenURL),
		ClientID:        strings.TrimSpace(r.ClientID),
		ClientSecret:    r.ClientSecret,
		ClientSecretEnv: strings.TrimSpace(r.ClientSecretEnv),
		ClientSecretCmd: r.ClientSecretCmd,
		RedirectURI:     strings.TrimSpace(r.RedirectURI),
		ClientAuth:      strings.TrimSpace(r.ClientAuth),
		RefreshBefore:   freshtoken.DefaultRenewBefore,
		Timeout:         DefaultTimeout,
	}
	// A string of scopes separated by spaces is as many scopes, as the
	// request carries them: "openid email" is two.
	e.Scopes = nil
	for _, sc := range r.Scopes {
		if strings.ContainsFunc(sc, func(c rune) bool { return unicode.IsControl(c) && !unicode.IsSpace(c) }) {
			return nil, bad("scopes", "%q holds a control character; write each scope as its own string, such as scopes = [\"read\", \"write\"]", sc)
		}
		e.Scopes = append(e.Scopes, strings.Fields(sc)...)
	}
	if e.Provider == "" {
		e.Provider = "generic"
	}
	p, ok := presets[e.Provider]
	if !ok {
		// As its company writes it (FreeAgent, QuickBooks Sandbox).
		meant := strings.NewReplacer(" ", "-", "_", "-").Replace(strings.ToLower(e.Provider))
		if _, ok := presets[meant]; ok {
			return nil, bad("provider", "unknown provider %q; write %q", e.Provider, meant)
		}
		return nil, bad("provider", "unknown provider %q; use one of %s", e.Provider, strings.Join(Presets(), ", "))
	}
	if e.APIURL == "" {
		e.APIURL = p.apiURL
	}
	if strings.ContainsAny(e.APIURL, "?#") { // nowhere else in a URL
		return nil, bad("api_url", "%q has a query or a fragment; api_url is the root that each request's path is joined to (a query there would be lost, and the endpoints a provider derives from it broken): write the root alone, and the query in each request's path", httpx.WithoutSecretQuery(e.APIURL))
	}
	// The proxy confines an environment to its api_url's path, which a
	// dot segment leaves to each server to resolve.
	if u, err := url.Parse(e.APIURL); err == nil && httpx.HasDotSegment(u.EscapedPath()) {
		fix := ", without it"
		if resolved := u.ResolveReference(&url.URL{}); !httpx.HasDotSegment(resolved.EscapedPath()) {
			resolved.Path = strings.TrimSuffix(resolved.Path, "/") + "/"
			fix = ": " + resolved.Redacted()
		}
		return nil, bad("api_url", "%q holds a . or .. segment in its path (plain or encoded, such as %%2e%%2e), which each server resolves its own way; write the address it leads to%s", u.Redacted(), fix)
	}
	if e.APIURL != "" && !strings.HasSuffix(e.APIURL, "/") {
		e.APIURL += "/"
	}
	if root, ok := strings.CutSuffix(e.APIURL, "/v2/"); ok && e.IsFreeAgent() {
		return nil, bad("api_url", "%q ends in /v2, which FreeAgent's paths carry themselves (/v2/contacts); write the host root: %s/", r.APIURL, root)
	}
	// The setting a token endpoint that fails is checked in: the one the
	// person wrote, not token_url where a preset made it from api_url.
	switch {
	case e.TokenURL != "":
		e.tokenURLSetting = "token_url"
	case p.endpoint != nil && strings.TrimSpace(r.APIURL) != "":
		e.tokenURLSetting = fmt.Sprintf("api_url, from which the %s preset makes the token endpoint (token_url sets another)", e.Provider)
	case p.endpoint != nil || p.tokenURL != "":
		e.tokenURLSetting = fmt.Sprintf("provider (the %s preset names the token endpoint; token_url sets another)", e.Provider)
	case strings.TrimSpace(r.Issuer) != "":
		e.tokenURLSetting = "issuer, whose discovery document names the token endpoint (token_url sets another)"
	}
	if p.endpoint != nil && e.APIURL != "" {
		auth, tok := p.endpoint(e.APIURL)
		if e.AuthURL == "" {
			e.AuthURL = auth
		}
		if e.TokenURL == "" {
			e.TokenURL = tok
		}
	}
	e.Tenant = strings.TrimSpace(r.Tenant)
	switch {
	case e.Tenant != "" && !p.tenant:
		return nil, bad("tenant", "only the microsoft provider takes a tenant; remove it")
	case e.Tenant == "" && p.tenant:
		e.Tenant = DefaultTenant
	case e.Tenant != "" && !isTenantName(e.Tenant):
		return nil, bad("tenant", "%q is not a tenant ID, one of its domain names, or common, organizations or consumers", e.Tenant)
	}
	e.RevocationURL = strings.TrimSpace(r.RevocationURL)
	e.revocationPreset = e.RevocationURL == "" && p.revocationURL != ""
	e.DeviceAuthURL = strings.TrimSpace(r.DeviceAuthURL)
	for _, f := range []struct {
		dst  *string
		from string
	}{
		{&e.AuthURL, p.authURL}, {&e.TokenURL, p.tokenURL}, {&e.RevocationURL, p.revocationURL}, {&e.DeviceAuthURL, p.deviceAuthURL},
	} {
		if *f.dst == "" {
			*f.dst = strings.ReplaceAll(f.from, "{tenant}", e.Tenant)
		}
	}
	if e.Issuer = strings.TrimSpace(r.Issuer); e.Issuer != "" {
		if err := checkIssuer(e.Issuer); err != nil {
			return nil, bad("issuer", "%v", err)
		}
	}
	if err := resolveGrant(e, r); err != nil {
		return nil, err
	}
	if p.tenant && e.Grant == GrantClientCredentials && slices.Contains(multiTenants, strings.ToLower(e.Tenant)) {
		return nil, bad("tenant", "client credentials need your organisation's own directory, not %q: set tenant to its ID or domain name, such as \"contoso.onmicrosoft.com\"", e.Tenant)
	}
	for _, u := range []struct {
		key, val string
		needed   bool
	}{
		{"api_url", e.APIURL, true}, {"auth_url", e.AuthURL, e.Issuer == "" && e.Grant == GrantAuthorizationCode}, {"token_url", e.TokenURL, e.Issuer == ""},
		{"revocation_url", e.RevocationURL, false}, {"device_auth_url", e.DeviceAuthURL, false},
	} {
		if u.val == "" {
			if u.needed {
				return nil, bad(u.key, "missing; the generic provider needs api_url, and issuer or auth_url and token_url")
			}
			continue
		}
		if err := CheckURL(u.val); err != nil {
			return nil, bad(u.key, "%v", err)
		}
	}
	if own, endpoint := extraparams.OwnInAuthURL(e.AuthURL); len(own) > 0 {
		return nil, bad("auth_url", "its query holds %s, the parameters of one log-in (copied from a browser?), which freshtoken adds itself; write the authorization endpoint alone, such as %q",
			strings.Join(own, ", "), endpoint)
	}
	for _, u := range []struct{ key, val string }{{"auth_url", e.AuthURL}, {"token_url", e.TokenURL}, {"revocation_url", e.RevocationURL}, {"device_auth_url", e.DeviceAuthURL}} {
		if k := redact.SecretInQuery(u.val); k != "" {
			return nil, bad(u.key, "its query holds %s, a secret that every message naming the endpoint would show (the client authenticates as client_auth says); write the URL without it", k)
		}
	}
	if p.needsScopes && len(e.Scopes) == 0 {
		return nil, bad("scopes", "missing; the %s provider needs the scopes of the APIs you call, such as scopes = [\"openid\", \"email\"]", e.Provider)
	}
	for _, sc := range p.scopes {
		if sc == offlineAccess && e.Grant == GrantClientCredentials {
			continue // no refresh token to ask for; Microsoft refuses the scope here
		}
		if !slices.Contains(e.Scopes, sc) {
			e.Scopes = append(slices.Clone(e.Scopes), sc)
		}
	}
	if ca := strings.TrimSpace(r.CAFile); ca != "" {
		if err := checkCAFile(ca); err != nil {
			return nil, bad("ca_file", "%v", err)
		}
		e.CAFile = ca
	}
	if e.ClientID == "" {
		return nil, bad("client_id", "missing; copy the OAuth identifier of your app into it, or run `freshtoken init -e %s`", name)
	}
	// A client id written with the label the provider's page shows, or the
	// secret in its place, would go to the provider, the browser's address
	// bar and the debug log as the client id. The secret is never repeated,
	// nor what may hold it (paste.Alone).
	label, value := paste.Labelled(e.ClientID)
	switch {
	case paste.SecretLabel(label):
		return nil, bad("client_id", "is labelled %q: it holds the client secret (not shown), not the client id; write the app's client id (OAuth identifier) here, and the secret in client_secret_env, client_secret_cmd or client_secret", label)
	case paste.SecretForAnID(e.Provider, e.ClientID):
		return nil, bad("client_id", "holds what is shaped as a %s client secret (not shown), not a client id; write the app's client id (OAuth identifier) here, and the secret in client_secret_env, client_secret_cmd or client_secret", e.Provider)
	case paste.IDLabel(label) && !paste.Alone(value):
		return nil, bad("client_id", "begins with the label %q, which is not part of the client id, and holds more after the client id (not shown, as it may be the secret); write the client id alone", label)
	case paste.IDLabel(label):
		return nil, bad("client_id", "begins with the label %q, which is not part of the client id; write client_id = %q", label, paste.Unmarked(value))
	}
	// A client id is printable ASCII (RFC 6749 appendix A.1); a control
	// character would also reach the keychain's command line on macOS.
	if strings.Contains(e.ClientID, "\u2026") { // the docs' examples: client_id = "…"
		return nil, bad("client_id", "is the docs' placeholder (\u2026); write your app's client id (OAuth identifier), from the provider's developer dashboard")
	}
	if i := strings.IndexFunc(e.ClientID, httpx.NotPrintableASCII); i >= 0 {
		return nil, bad("client_id", "holds %q, which no client id has (printable ASCII only); copy the identifier again from the provider", []rune(e.ClientID[i:])[0])
	}
	if id := paste.Unmarked(e.ClientID); id != e.ClientID && !paste.Alone(e.ClientID) {
		return nil, bad("client_id", "holds quote marks or brackets, and more than the client id (not shown, as it may be the secret); write the client id alone")
	} else if id != e.ClientID {
		return nil, bad("client_id", "is %s, with quote marks or brackets at its ends, which the provider would take as part of the client id; write client_id = %q", e.ClientID, id)
	}
	// A client secret is printable ASCII (RFC 6749 appendix A.2): in double
	// quotes, a backslash in it started an escape (\e), and the provider
	// refused the secret taken. Neither the secret nor its character is shown.
	if secret := strings.TrimSpace(e.ClientSecret); strings.ContainsFunc(secret, unicode.IsControl) {
		return nil, bad("client_secret", `holds a control character, which no client secret has: in double quotes a backslash starts an escape (\e, \t, \n); write the secret in single quotes, client_secret = '…'`)
	} else if strings.ContainsFunc(secret, httpx.NotPrintableASCII) {
		return nil, bad("client_secret", "holds a character no client secret has (printable ASCII only); copy the secret again from the provider")
	}
	sources := 0
	for _, s := range []string{e.ClientSecret, e.ClientSecretEnv, e.ClientSecretCmd} {
		if s != "" {
			sources++
		}
	}
	if e.ClientSecretKeyring = r.ClientSecretKeyring; e.ClientSecretKeyring {
		sources++
	}
	if e.ClientSecretEnv != "" && !configfile.IsEnvVarName(e.ClientSecretEnv) {
		return nil, bad("client_secret_env", "must be the name of an environment variable (letters, digits and _), not its value; to write the secret itself, use client_secret")
	}
	if configfile.SecretForAName(e.ClientSecretEnv) {
		return nil, bad("client_secret_env", `looks like the secret itself (not shown), not the name of a variable that holds it; export the secret in a variable (export FREEAGENT_SECRET=…) and write its name here: client_secret_env = "FREEAGENT_SECRET"`)
	}
	if sources > 1 {
		return nil, bad("client_secret", "set only one of client_secret, client_secret_env, client_secret_cmd and client_secret_keyring")
	}
	if e.ClientAuth == "" {
		e.ClientAuth = p.clientAuth
	}
	if err := resolveClientAuth(e, r, bad); err != nil {
		return nil, err
	}
	// The preset's authorization parameters, under the environment's own.
	for k, v := range p.authParams {
		if _, set := e.AuthParams[k]; !set {
			if e.AuthParams == nil {
				e.AuthParams = map[string]string{}
			}
			e.AuthParams[k] = v
		}
	}
	if e.RedirectURI == "" {
		e.RedirectURI = DefaultRedirectURI
	} else if err := checkRedirectURI(e.RedirectURI); err != nil {
		return nil, bad("redirect_uri", "%v", err)
	}
	if r.RefreshBefore.set {
		e.RefreshBefore = r.RefreshBefore.d
	}
	if r.Timeout.set {
		if r.Timeout.d <= 0 {
			return nil, bad("timeout", "must be more than zero")
		}
		e.Timeout = r.Timeout.d
	}
	if tf := strings.TrimSpace(r.TokenFile); tf != "" {
		if !filepath.IsAbs(tf) {
			return nil, bad("token_file", "%s", notAbsolute(tf, ""))
		}
		e.TokenFile = filepath.Clean(tf)
	}
	e.IdleLimit = p.idleLimit
	if r.IdleLimit.set {
		if r.IdleLimit.d < time.Minute {
			return nil, bad("refresh_idle_limit", "must be at least a minute, such as \"60d\"")
		}
		e.IdleLimit = r.IdleLimit.d
	}
	if r.DefaultLifetime.set {
		if r.DefaultLifetime.d < time.Second {
			return nil, bad("default_lifetime", "must be at least a second")
		}
		e.DefaultLifetime = r.DefaultLifetime.d
	}
	return e, nil
}

// CheckURL accepts a URL freshtoken sends requests to, as written in the
// configuration or given to init: http(s), with a host, and no user,
// password or fragment; its error says which, and what to write instead.
func CheckURL(s string) error {
	if fault := httpx.URLFault(s); fault != "" {
		return errors.New(fault + "; write the whole URL as the provider documents it (https://…), with no user, password or fragment")
	}
	return nil
}

// checkIssuer accepts what RFC 8414 allows an issuer to be: an https URL
// with no query or fragment (http only on this machine, for the dev
// provider and tests).
func checkIssuer(s string) error {
	u, err := url.Parse(s)
	switch {
	case strings.HasPrefix(httpx.URLFault(s), "has a user or password"): // not shown: it may hold a password, in a URL that parses or not
		return errors.New("has a user or password, which an issuer never has; write it as the provider names it, such as https://login.example.com/realms/x")
	case err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q is not an https URL such as https://login.example.com/realms/x", httpx.WithoutSecretQuery(s))
	case u.Scheme == "http" && !httpx.IsLoopback(u.Hostname()):
		return fmt.Errorf("%q must use https: the endpoints it names are trusted with your tokens", httpx.WithoutSecretQuery(s))
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#"):
		return fmt.Errorf("%q has a query or a fragment, which an issuer may not have; write it as the provider names it", httpx.WithoutSecretQuery(s))
	}
	return nil
}

// checkDiscoveredEndpoint accepts an endpoint a discovery document names:
// an https URL (http only on this machine, and only for an http issuer, a
// provider on this machine), since each is sent tokens, client secrets or
// codes, of printable ASCII, since a log-in prints the authorization URL
// for a person to open (a bidirectional control would show it otherwise
// than it is, a C1 control is a terminal's escape).
// What is wrong is said of a URL the provider wrote, not the person
// reading: its caller says what they can do.
func checkDiscoveredEndpoint(s string, httpsIssuer bool) error {
	if fault := httpx.URLFault(s); fault != "" {
		return errors.New(fault)
	}
	u, _ := url.Parse(s)
	switch {
	case !httpx.PrintableASCII(s):
		return fmt.Errorf("%q holds characters other than printable ASCII (controls, bidirectional marks), which a terminal would not show as it is", redact.URL(s))
	case redact.SecretInQuery(s) != "": // not shown, as in the configuration
		return fmt.Errorf("has %s in its query, a secret that every message naming the endpoint would show", redact.SecretInQuery(s))
	}
	if u.Scheme == "http" && (httpsIssuer || !httpx.IsLoopback(u.Hostname())) {
		return fmt.Errorf("%q must use https: it would be sent your tokens in clear text", redact.URL(s))
	}
	return nil
}

// notAbsolute says of path, not absolute, what to write instead: its
// whole path, such as example ("": path in the home folder); of a ~, which
// only a shell makes the home folder, the home folder's path.
func notAbsolute(path, example string) string {
	if whole, tilde, ok := underTilde(path); ok {
		return fmt.Sprintf("%q: %s only to a shell; write the whole path, such as %s", path, tilde, whole)
	}
	if example == "" {
		example = filepath.Join(homeFolder(), path)
	}
	return fmt.Sprintf("%q is not an absolute path; write the file's whole path, such as %s", path, example)
}

// underTilde says whether path is under a ~ that only a shell makes a home
// folder: ~ or ~/x (~\x) the user's own, ~NAME or ~NAME/x that of NAME, a
// user of this machine (a shell leaves ~NAME of no user as it is). It
// returns the path a shell makes of it, and what the ~ is, for people.
func underTilde(path string) (whole, tilde string, ok bool) {
	after, ok := strings.CutPrefix(path, "~")
	if !ok {
		return "", "", false
	}
	name, rest := after, ""
	if i := strings.IndexAny(after, "/\\"); i >= 0 {
		name, rest = after[:i], after[i:]
	}
	if name == "" {
		return filepath.Join(homeFolder(), rest), "~ is your home folder", true
	}
	u, err := user.Lookup(name)
	if err != nil || !filepath.IsAbs(u.HomeDir) {
		return "", "", false
	}
	return filepath.Join(u.HomeDir, rest), "~" + name + " is the home folder of " + name, true
}

// homeFolder is the user's home folder, for examples; /home/me without one.
func homeFolder() string {
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return h
	}
	return "/home/me"
}

// checkCAFile accepts an absolute path to a PEM file holding at least one
// certificate, that only its owner (this user, or root) can change.
func checkCAFile(path string) error {
	if !filepath.IsAbs(path) {
		return errors.New(notAbsolute(path, "/etc/ssl/corp-ca.pem"))
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot read %s (%v); write the whole path of the PEM file of your network's certificate authority, or take ca_file out", shellquote.Word(path), errors.Unwrap(err))
	}
	if err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file; ca_file names a PEM file of certificates", shellquote.Word(path))
		}
		if msg := configfile.CheckAuthorityFile(path, fi); msg != "" {
			return fmt.Errorf("%s %s", shellquote.Word(path), msg)
		}
	}
	return httpx.AppendPEMFile(x509.NewCertPool(), path)
}

func checkRedirectURI(s string) error {
	u, err := url.Parse(s)
	shown := httpx.WithoutSecretQuery(s)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		return fmt.Errorf("%q is not an absolute URL such as %s", shown, DefaultRedirectURI)
	case u.Port() != "" && strings.Trim(u.Port(), "0") == "":
		return fmt.Errorf("%q names port 0, where the browser cannot come back; give the port registered with the provider, such as %s", shown, DefaultRedirectURI)
	case strings.Contains(s, "#"): // an empty fragment too
		// RFC 6749 §3.1.2: providers refuse the log-in of one that has.
		_, frag, _ := strings.Cut(shown, "#")
		return fmt.Errorf("%q has a fragment (#%s), which a redirect URI may not have; write it without", shown, frag)
	case shown != s:
		return fmt.Errorf("%q holds a log-in's code or another secret in its query (the address a browser showed after a log-in?); write the redirect URI registered with the provider, such as %s", shown, DefaultRedirectURI)
	}
	return nil
}
