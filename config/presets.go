package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/freshtoken/freshtoken/store"
)

// IsEnvVarName reports whether s can name an environment variable: a letter
// or underscore, then letters, digits and underscores (ASCII).
func IsEnvVarName(s string) bool {
	for i, c := range s {
		letter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// DefaultTimeout bounds each request to the token endpoint and the API.
const DefaultTimeout = 30 * time.Second

// preset fills the URLs of a known provider. For FreeAgent the endpoints hang
// off the API root, so overriding api_url moves them too.
type preset struct {
	apiURL   string
	endpoint func(apiURL string) (authURL, tokenURL string)
}

func freeAgentEndpoints(api string) (string, string) {
	return api + "v2/approve_app", api + "v2/token_endpoint"
}

var presets = map[string]preset{
	"freeagent":         {apiURL: "https://api.freeagent.com/", endpoint: freeAgentEndpoints},
	"freeagent-sandbox": {apiURL: "https://api.sandbox.freeagent.com/", endpoint: freeAgentEndpoints},
	"generic":           {},
}

// Presets lists the provider names `provider =` accepts.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsFreeAgent reports whether the environment talks to FreeAgent (either
// preset), whose API wants a User-Agent and Accept: application/json.
func (e *Env) IsFreeAgent() bool { return strings.HasPrefix(e.Provider, "freeagent") }

// nonProduction are words in an API host or an environment name that say
// its data is not the real thing.
var nonProduction = []string{"sandbox", "sand", "staging", "stage", "test", "dev", "demo", "local"}

// IsProduction reports whether the environment may hold real data: true
// unless its API is on this machine, or its API host or its name says
// sandbox, staging, test, dev, demo or local. Doubt counts as production,
// so that nobody mistakes live books for a sandbox.
func (e *Env) IsProduction() bool {
	u, err := url.Parse(e.APIURL)
	if err != nil {
		return true
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" {
		return false
	}
	name := strings.ToLower(e.Name)
	for _, w := range nonProduction {
		if strings.Contains(host, w) || strings.Contains(name, w) {
			return false
		}
	}
	return true
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
		Provider:        r.Provider,
		APIURL:          strings.TrimSpace(r.APIURL),
		AuthURL:         strings.TrimSpace(r.AuthURL),
		TokenURL:        strings.TrimSpace(r.TokenURL),
		ClientID:        strings.TrimSpace(r.ClientID),
		ClientSecret:    r.ClientSecret,
		ClientSecretEnv: strings.TrimSpace(r.ClientSecretEnv),
		ClientSecretCmd: r.ClientSecretCmd,
		RedirectURI:     strings.TrimSpace(r.RedirectURI),
		Scopes:          r.Scopes,
		ClientAuth:      r.ClientAuth,
		RefreshBefore:   DefaultRefreshBefore,
		Timeout:         DefaultTimeout,
	}
	if e.Provider == "" {
		e.Provider = "generic"
	}
	p, ok := presets[e.Provider]
	if !ok {
		return nil, bad("provider", "unknown provider %q; use one of %s", e.Provider, strings.Join(Presets(), ", "))
	}
	if e.APIURL == "" {
		e.APIURL = p.apiURL
	}
	if e.APIURL != "" && !strings.HasSuffix(e.APIURL, "/") {
		e.APIURL += "/"
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
	for _, u := range []struct{ key, val string }{{"api_url", e.APIURL}, {"auth_url", e.AuthURL}, {"token_url", e.TokenURL}} {
		if u.val == "" && u.key == "auth_url" && !needsAuthURL(r) {
			continue
		}
		if u.val == "" {
			return nil, bad(u.key, "missing; the generic provider needs api_url, auth_url and token_url")
		}
		if err := checkHTTPURL(u.val); err != nil {
			return nil, bad(u.key, "%v", err)
		}
	}
	if e.ClientID == "" {
		return nil, bad("client_id", "missing; copy the OAuth identifier of your app into it, or run `freshtoken init -e %s`", name)
	}
	sources := 0
	for _, s := range []string{e.ClientSecret, e.ClientSecretEnv, e.ClientSecretCmd} {
		if s != "" {
			sources++
		}
	}
	if e.ClientSecretEnv != "" && !IsEnvVarName(e.ClientSecretEnv) {
		return nil, bad("client_secret_env", "must be the name of an environment variable (letters, digits and _), not its value; to write the secret itself, use client_secret")
	}
	if sources > 1 {
		return nil, bad("client_secret", "set only one of client_secret, client_secret_env and client_secret_cmd")
	}
	if err := resolveClientAuth(e, r, bad); err != nil {
		return nil, err
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
	if ru := strings.TrimSpace(r.RevocationURL); ru != "" {
		if err := checkHTTPURL(ru); err != nil {
			return nil, bad("revocation_url", "%v", err)
		}
		e.RevocationURL = ru
	}
	if tf := strings.TrimSpace(r.TokenFile); tf != "" {
		if !filepath.IsAbs(tf) {
			return nil, bad("token_file", "%q is not an absolute path", tf)
		}
		e.TokenFile = filepath.Clean(tf)
	}
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
	if err := resolveGrant(e, r); err != nil {
		return nil, err
	}
	return e, nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL such as https://api.example.com/", s)
	}
	return nil
}

func checkRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL such as %s", s, DefaultRedirectURI)
	}
	return nil
}
