package config

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// OpenOptions say which configured environment to open.
type OpenOptions struct {
	// Path is the TOML file; "" means $FRESHTOKEN_CONFIG, else
	// freshtoken/config.toml in the user's config folder.
	Path string
	// Env is the environment; "" means $FRESHTOKEN_ENV, else default_env,
	// else the only one configured.
	Env    string
	Logger *slog.Logger     // nil: discard
	Clock  func() time.Time // nil: time.Now
	// Sending is freshtoken.Options.Sending.
	Sending func(freshtoken.Renewal) (stored func())
	// Locking is freshtoken.Options.Locking.
	Locking func()
}

// Path resolves the configuration file: named if set (an
// OpenOptions.Path, the command line's --config), else $FRESHTOKEN_CONFIG,
// else DefaultPath. It reads nothing. Its error matches ErrInvalid: a
// relative path while the working folder is gone, a path under a ~ no
// shell expanded, or no config folder to find the default in.
func Path(named string) (string, error) {
	if named != "" {
		return inThisFolder(named)
	}
	if p := os.Getenv("FRESHTOKEN_CONFIG"); p != "" {
		return inThisFolder(p)
	}
	return DefaultPath()
}

// inThisFolder returns p, refusing a relative path while the current
// folder no longer exists (a script's temporary folder, deleted): no file
// can be found or written there. A path under a ~ (or ~NAME) that no shell
// made a home folder (quoted, in a .env file or a service's settings) is
// refused too: init would make a folder named ~ in the current one.
func inThisFolder(p string) (string, error) {
	if _, _, ok := underTilde(p); ok {
		return "", &invalid{msg: "the configuration file " + notAbsolute(p, ""), flag: configfile.PathFlag}
	}
	if !filepath.IsAbs(p) {
		if _, err := os.Getwd(); err != nil {
			return "", Invalidf("%s: the current folder no longer exists (%v); cd into one that does, or give the config file's full path", p, configfile.Cause(err))
		}
	}
	return p, nil
}

// Open returns the token source for a configured environment, in one call.
// It reads only the configuration: the store is first touched, and the
// client secret first fetched, when a token is needed. Nothing of ctx is
// kept: the Source serves on after ctx ends, each wait bounded by the
// context its own methods are given (TokenContext's, a request's), which is
// also where a context of WithSecretCommandNotice goes. The sources it
// returns share their HTTP connections, so a program may open one for each
// job or request. Its error is one line to show as it is, saying what to
// do; a configuration that cannot be used (a mistake in the file, named
// with its file, key and line; an environment not configured; a file
// missing, or that others may write) matches ErrInvalid.
func Open(ctx context.Context, o OpenOptions) (*freshtoken.Source, error) {
	path, err := Path(o.Path)
	if err != nil {
		return nil, err
	}
	f, err := Load(path)
	if err != nil {
		return nil, err
	}
	return f.Open(ctx, o)
}

// Open is the package's Open for a configuration already loaded: o.Path
// is not read, and nothing of ctx is kept.
func (f *File) Open(ctx context.Context, o OpenOptions) (*freshtoken.Source, error) {
	path := f.Path
	e, err := f.Select(o.Env)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(f.StoreURL)
	if err != nil {
		return nil, Invalidf("%s: token store: %v", path, err)
	}
	log := redact.Logger(o.Logger) // a program's own masks secrets too
	// Its URLs masked here: the keys in them are registered as secrets
	// only once the source is made, after this first line (and a
	// program's own logger masks nothing).
	log.Debug("configuration", "config", path, "env", e.Name, "provider", e.Provider, "api_url", redact.URL(e.APIURL),
		"token_url", redact.URL(e.TokenURL), "issuer", redact.URL(e.Issuer), "grant", e.Grant, "client_auth", e.ClientAuth, "refresh_before", e.RefreshBefore,
		"ca_file", e.CAFile, "store", st.Location(e.Name))
	t, err := e.sharedTransport()
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: e.Timeout, Transport: httpx.ExplainTLS(t)}
	set := e.Settings()
	set.ConfigFile = configFile(path)
	if set.Discover != nil {
		d := &discovery{env: e, http: discoveryClient(hc), log: log.With("env", e.Name), now: o.Clock}
		if d.now == nil {
			d.now = time.Now
		}
		set.Discover = d.endpoints
	}
	return freshtoken.New(set, freshtoken.Options{Store: st, Logger: log, Clock: o.Clock, Sending: o.Sending, Locking: o.Locking, HTTPClient: hc})
}

// configFile is the configuration file at path as a log-in records it
// (store.ConfigFile): this host's name and the file's absolute path, its
// symbolic links resolved (its folder's, for a file not yet written);
// zero when the host has no name to tell it by.
func configFile(path string) store.ConfigFile {
	host, err := os.Hostname()
	if err != nil || host == "" || path == "" {
		return store.ConfigFile{}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return store.ConfigFile{}
	}
	if p, err := filepath.EvalSymlinks(abs); err == nil {
		abs = p
	} else if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	return store.ConfigFile{Host: host, Path: abs}
}

// Transport is a new transport for the environment's requests to its
// provider and its API: through the proxy HTTPS_PROXY or HTTP_PROXY names
// unless NO_PROXY exempts the host, trusting ca_file beside the system's
// roots. A request over it to a server whose certificate this machine
// does not trust fails with net/http's error, as it would without
// freshtoken; the sources Open returns say in one line whose certificate
// it was, what is wrong with it, and what to do.
func (e *Env) Transport() (*http.Transport, error) { return e.transport(httpx.NewTransport) }

// sharedTransport is Transport's, shared by every Source Open makes in the
// process (see httpx.SharedTransport): a program that opens one for each job
// reuses the connections the earlier ones left idle.
func (e *Env) sharedTransport() (*http.Transport, error) { return e.transport(httpx.SharedTransport) }

// A ca_file is checked again here, as it is now: a long-running process
// opens sources from a configuration read once while the file is
// unchanged, and a ca_file made writable by others since, or replaced by
// another user's, would be trusted.
func (e *Env) transport(newTransport func(caFile string) (*http.Transport, error)) (*http.Transport, error) {
	if e.CAFile != "" {
		if err := checkCAFile(e.CAFile); err != nil {
			return nil, Invalidf("environment %s: ca_file: %v", e.Name, err)
		}
	}
	t, err := newTransport(e.CAFile)
	var proxyErr *httpx.ProxyEnvError
	switch {
	case errors.As(err, &proxyErr):
		return nil, Invalidf("environment %s: %v", e.Name, err)
	case err != nil:
		return nil, Invalidf("environment %s: ca_file: %v", e.Name, err)
	}
	return t, nil
}

// Settings are the engine's settings for e. With an issuer, endpoints
// not set are discovered when first needed, the document cached beside
// the configuration file.
func (e *Env) Settings() freshtoken.Settings {
	s := freshtoken.Settings{
		Env:             e.Name,
		ClientID:        e.ClientID,
		AuthURL:         e.AuthURL,
		TokenURL:        e.TokenURL,
		RevocationURL:   e.RevocationURL,
		DeviceAuthURL:   e.DeviceAuthURL,
		Issuer:          e.Issuer,
		APIURL:          e.APIURL,
		Scopes:          e.Scopes,
		RenewBefore:     e.RefreshBefore,
		Timeout:         e.Timeout,
		DefaultLifetime: e.DefaultLifetime,
		IdleLimit:       e.IdleLimit,
		KeepAccess:      e.TokenFile != "",
		Grant:           engineGrant(e.Grant),
	}
	s.RevocationURLFromProvider = e.revocationPreset
	s.TokenURLSetting = e.TokenURLSetting()
	if e.Issuer != "" {
		s.Discover = (&discovery{env: e, log: slog.New(slog.DiscardHandler), now: time.Now}).endpoints
	}
	if len(e.Resources) == 0 {
		s.ScopeResources = e.BoundResources()
	}
	e.clientAuthSettings(&s)
	return s
}

// TokenURLSetting names the setting of e to check when its token endpoint
// cannot be reached or answers as none: token_url where the file sets it,
// else what the endpoint comes from, as the person wrote it (api_url, from
// which a preset such as FreeAgent's makes it; the provider preset; the
// issuer, by discovery). It said token_url where the file has none.
func (e *Env) TokenURLSetting() string {
	if e.tokenURLSetting == "" {
		return "token_url"
	}
	return e.tokenURLSetting
}

// BoundResources are the APIs, besides the audience, that e's stored tokens
// are bound to: its resource indicators, or where it sets none and the
// provider addresses each token to the API its scopes name (Microsoft's
// identity platform), those APIs, Graph, its default, left out.
func (e *Env) BoundResources() []string {
	if len(e.Resources) > 0 {
		return e.Resources
	}
	if e.addressesTokensByScope() {
		return scopeResources(e.Scopes)
	}
	return nil
}

// microsoftLogins are the hosts of Microsoft's identity platform (Entra
// ID, its national clouds, and consumer accounts through them), and the
// host suffixes of Azure AD B2C and External ID tenants.
var (
	microsoftLogins       = []string{"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn", "login.chinacloudapi.cn"}
	microsoftLoginDomains = []string{".b2clogin.com", ".ciamlogin.com"}
)

// addressesTokensByScope reports whether e's provider addresses each access
// token to the API its scopes name, as Microsoft's identity platform does
// (the microsoft preset, or its token endpoint or issuer written out): the
// scopes then say which API the stored tokens are for.
func (e *Env) addressesTokensByScope() bool {
	if e.Tenant != "" {
		return true // only the microsoft preset has one
	}
	for _, raw := range []string{e.TokenURL, e.Issuer} {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			continue
		}
		host := strings.ToLower(u.Hostname())
		if slices.Contains(microsoftLogins, host) || slices.ContainsFunc(microsoftLoginDomains, func(d string) bool { return strings.HasSuffix(host, d) }) {
			return true
		}
	}
	return false
}

// graphResources are the names of Microsoft Graph, the API of scopes that
// name none (User.Read), in each cloud: its tokens are those of the
// provider's default API.
var graphResources = []string{"https://graph.microsoft.com", "https://graph.microsoft.us", "https://dod-graph.microsoft.us",
	"https://microsoftgraph.chinacloudapi.cn", "00000003-0000-0000-c000-000000000000"}

// scopeResources are the APIs that scopes name at Microsoft's identity
// platform, other than Graph: each scope's part before its last slash
// (api://x for api://x/read and api://x/.default). A scope without one
// (User.Read) is Graph's, and the OpenID Connect scopes are no API's.
func scopeResources(scopes []string) []string {
	var res []string
	for _, sc := range scopes {
		i := strings.LastIndex(sc, "/")
		if i <= 0 {
			continue // User.Read, openid, offline_access
		}
		api := strings.TrimRight(sc[:i], "/")
		if !slices.ContainsFunc(graphResources, func(g string) bool { return strings.EqualFold(g, api) }) {
			res = append(res, api)
		}
	}
	return res
}

// redisStores are the Redis stores opened so far, by URL: one client, and
// its pool of connections, serves every opening of one URL in the process.
// A long-running proxy opens an environment again at each of its keeper's
// looks and after each edit of the file; a client of its own for each kept
// a connection open for the process's life, until Redis refused clients.
var (
	redisMu     sync.Mutex
	redisStores = map[string]*redisstore.Store{}
)

// sharedRedis is the Redis store at storeURL, opened once per process.
func sharedRedis(storeURL string) (*redisstore.Store, error) {
	redisMu.Lock()
	defer redisMu.Unlock()
	if st := redisStores[storeURL]; st != nil {
		return st, nil
	}
	st, err := redisstore.New(storeURL)
	if err != nil {
		return nil, err
	}
	redisStores[storeURL] = st
	return st, nil
}

// OpenStore returns the store [store] url names: a folder by default, a
// Redis database that many machines share, or the system keychain. A Redis
// store is shared by every opening of its URL in the process: do not
// Close it (redisstore.New makes one of your own to close). A URL it
// cannot open is an error naming the URL (without its password) and the
// forms it takes.
func OpenStore(storeURL string) (store.Store, error) {
	if IsKeyringURL(storeURL) {
		return openKeyringStore(storeURL)
	}
	if IsRedisURL(storeURL) {
		if u, err := url.Parse(storeURL); err == nil {
			if pw, ok := u.User.Password(); ok {
				if shortPlainWords(pw) {
					return nil, Invalidf("the Redis password in the store's URL is a word or a short phrase of lowercase words (under %d characters, only a-z, - and _), which is easy to guess, and which freshtoken could not hide in its messages without showing which word it is; give Redis a password of %d characters or more, or a random one (openssl rand -hex 24), and write it in the URL", plainWordsMin, plainWordsMin)
				}
				// Whole only, as it goes to no provider that might quote a
				// part of it.
				redact.RegisterWhole(pw)
			}
		}
		return sharedRedis(storeURL)
	}
	files, err := folderStore(storeURL)
	if err != nil {
		return nil, err
	}
	return files, nil
}

// plainWordsMin is how long a Redis password made of lowercase words must
// be (see shortPlainWords).
const plainWordsMin = 16

// shortPlainWords reports whether pw, a Redis password, is a word or a
// short phrase that masking would make show (redact.PlainWords: a word of
// 8 characters or more, lowercase, or words joined by '-' or '_', which
// freshtoken's own messages and the names in them may hold, masked there
// as "…(10 chars) login") and that is easy to guess besides: under
// plainWordsMin characters (freshtoken, redis-password). A longer phrase
// (correct-horse-battery-staple) is neither, and is kept.
func shortPlainWords(pw string) bool {
	return len(pw) < plainWordsMin && redact.PlainWords(pw)
}

// folderStore is the file store of the folder storeURL names, or why it
// names none (a Redis or keychain URL, a mistake).
func folderStore(storeURL string) (*filestore.Store, error) {
	dir, err := StoreDir(storeURL)
	switch {
	case err != nil:
		return nil, err
	case storeURL == "": // the default folder, which $XDG_STATE_HOME moves too
		return filestore.NewDefault(dir), nil
	}
	return filestore.New(dir), nil
}
