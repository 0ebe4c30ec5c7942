package config_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
)

// metadataServer serves one discovery document at path, counting fetches;
// issuer and endpoints are under its own URL plus issuerPath.
type metadataServer struct {
	*httptest.Server
	fetches      atomic.Int32
	issuer       string
	cacheControl string
}

func newMetadataServer(t *testing.T, issuerPath string, wellKnown func(issuer string) string, tweak func(doc map[string]any)) *metadataServer {
	t.Helper()
	m := &metadataServer{}
	mux := http.NewServeMux()
	m.Server = testenv.NewServerOnFreePort(t, mux) // TestDiscoveryCache stops it: nothing may take its port then
	t.Cleanup(m.Close)
	m.issuer = m.URL + issuerPath
	doc := map[string]any{
		"issuer":                        m.issuer,
		"authorization_endpoint":        m.issuer + "/auth",
		"token_endpoint":                m.issuer + "/token",
		"revocation_endpoint":           m.issuer + "/revoke",
		"device_authorization_endpoint": m.issuer + "/device",
	}
	if tweak != nil {
		tweak(doc)
	}
	mux.HandleFunc("GET "+strings.TrimPrefix(wellKnown(m.issuer), m.URL), func(w http.ResponseWriter, r *http.Request) {
		m.fetches.Add(1)
		if m.cacheControl != "" {
			w.Header().Set("Cache-Control", m.cacheControl)
		}
		json.NewEncoder(w).Encode(doc)
	})
	return m
}

func rfc8414(issuer string) string {
	i := strings.Index(issuer[len("http://"):], "/") + len("http://")
	if i < len("http://") {
		return issuer + "/.well-known/oauth-authorization-server"
	}
	return issuer[:i] + "/.well-known/oauth-authorization-server" + issuer[i:]
}

func oidc(issuer string) string { return issuer + "/.well-known/openid-configuration" }

// idpConfig writes a configuration into dir with one environment, "idp",
// of keys, and the store beside it; it returns the file's path.
func idpConfig(t *testing.T, dir, keys string) string {
	t.Helper()
	p := filepath.Join(dir, "config.toml")
	// A file URL, not "file://" and the path: a subtest's folder may have
	// a # in its name (TestDiscoveryCache/#00), which begins a fragment.
	text := fmt.Sprintf("[store]\nurl = %q\n\n[env.idp]\n", (&url.URL{Scheme: "file", Path: filepath.Join(dir, "state")}).String()) + keys
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// issuerConfig is idpConfig with an environment using issuer, and extra
// keys.
func issuerConfig(t *testing.T, dir, issuer, extra string) string {
	t.Helper()
	return idpConfig(t, dir, "api_url = \"https://api.example.com/\"\nclient_id = \"id\"\nclient_secret = \"s\"\nissuer = \""+issuer+"\"\n"+extra)
}

// openIdP opens environment "idp" as a new process would.
func openIdP(t *testing.T, path string, clock func() time.Time, log *slog.Logger) *freshtoken.Source {
	t.Helper()
	config.ForgetFetchedDiscoveries()
	src, err := config.Open(t.Context(), config.OpenOptions{Path: path, Env: "idp", Clock: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestDiscoveryDocuments: an RFC 8414 document (at the path-inserted URL
// for an issuer with a path) and an OpenID Connect one both fill every
// endpoint; the first needs no second URL tried.
func TestDiscoveryDocuments(t *testing.T) {
	for _, tc := range []struct {
		name       string
		issuerPath string
		wellKnown  func(string) string
	}{
		{"rfc8414 with path", "/realms/x", rfc8414},
		{"rfc8414 without path", "", rfc8414},
		{"oidc with path", "/realms/x", oidc},
		{"oidc without path", "", oidc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMetadataServer(t, tc.issuerPath, tc.wellKnown, nil)
			src := openIdP(t, issuerConfig(t, t.TempDir(), m.issuer, ""), nil, nil)
			ep, err := src.Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := freshtoken.Endpoints{AuthURL: m.issuer + "/auth", TokenURL: m.issuer + "/token", RevocationURL: m.issuer + "/revoke", DeviceAuthURL: m.issuer + "/device"}
			if ep != want {
				t.Fatalf("endpoints = %+v, want %+v", ep, want)
			}
			if !src.CanRevoke() {
				t.Error("CanRevoke = false with a discovered revocation endpoint")
			}
			if n := m.fetches.Load(); n != 1 {
				t.Errorf("%d fetches, want 1", n)
			}
		})
	}
}

// TestDiscoveryExplicitEndpointsWin: endpoints in the file are used as
// written; discovery fills only the others.
func TestDiscoveryExplicitEndpointsWin(t *testing.T) {
	m := newMetadataServer(t, "/realms/x", oidc, nil)
	src := openIdP(t, issuerConfig(t, t.TempDir(), m.issuer, "token_url = \"https://other.example.com/token\"\nrevocation_url = \"https://other.example.com/revoke\"\n"), nil, nil)
	ep, err := src.Endpoints(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ep.TokenURL != "https://other.example.com/token" || ep.RevocationURL != "https://other.example.com/revoke" || ep.AuthURL != m.issuer+"/auth" {
		t.Fatalf("endpoints = %+v", ep)
	}
}

// TestDiscoveryRefusals: a document naming another issuer, one that is
// not JSON, one that would send tokens in clear text over the network (an
// http endpoint not on this machine), and an issuer with no document are
// configuration errors naming the URL; nothing is cached.
func TestDiscoveryRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(map[string]any)
		want  string
	}{
		{"issuer mismatch", func(d map[string]any) { d["issuer"] = "https://evil.example.com" }, `is for issuer "https://evil.example.com"`},
		// Microsoft's document for common, organizations and consumers,
		// whose issuer is a template: no issuer key could match it.
		{"a template of an issuer", func(d map[string]any) { d["issuer"] = "https://login.microsoftonline.com/{tenantid}/v2.0" },
			`names a template of an issuer ("https://login.microsoftonline.com/{tenantid}/v2.0"), not one issuer; for Microsoft, use provider = "microsoft" with tenant instead of issuer`},
		{"no token endpoint", func(d map[string]any) { delete(d, "token_endpoint") }, "names no token_endpoint"},
		{"bad endpoint", func(d map[string]any) { d["token_endpoint"] = "javascript:alert(1)" }, "is not an http(s) URL"},
		{"too large", func(d map[string]any) { d["padding"] = strings.Repeat("x", 2<<20) }, "larger than 1 MiB"},
		// JSON all the same: it was said not to be.
		{"an endpoint that is not a string", func(d map[string]any) { d["token_endpoint"] = 443 }, "is JSON but not a discovery document (token_endpoint is not a string)"},
		{"token endpoint in clear text", func(d map[string]any) { d["token_endpoint"] = "http://login.example.com/token" }, "must use https"},
		{"authorization endpoint with a log-in's parameters", func(d map[string]any) {
			d["authorization_endpoint"] = d["issuer"].(string) + "/auth?redirect_uri=https%3A%2F%2Fevil.example%2F"
		}, "names an authorization_endpoint whose query holds redirect_uri, which freshtoken adds itself"},
		{"revocation endpoint in clear text", func(d map[string]any) { d["revocation_endpoint"] = "http://login.example.com/revoke" }, "must use https"},
		{"token endpoint with a password", func(d map[string]any) { d["token_endpoint"] = "https://me:s3cr3t@login.example.com/token" }, "has a user or password"},
		{"authorization endpoint with a fragment", func(d map[string]any) { d["authorization_endpoint"] = d["issuer"].(string) + "/auth#x" }, "has a fragment (#x), which is never sent"},
		// The log-in prints the authorization URL, and a browser opens it:
		// U+202E showed the rest of the line reversed, U+009B is a
		// terminal's control sequence introducer.
		{"authorization endpoint with a bidirectional control", func(d map[string]any) {
			d["authorization_endpoint"] = d["issuer"].(string) + "/auth/\u202egro.elgoog"
		}, "which a terminal would not show as it is"},
		{"authorization endpoint with a C1 control", func(d map[string]any) {
			d["authorization_endpoint"] = d["issuer"].(string) + "/auth/\u009b31m"
		}, "which a terminal would not show as it is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMetadataServer(t, "/realms/x", rfc8414, tc.tweak)
			dir := t.TempDir()
			_, err := openIdP(t, issuerConfig(t, dir, m.issuer, ""), nil, nil).Endpoints(t.Context())
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), rfc8414(m.issuer)) || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("err = %v; want ErrInvalid saying %q and naming the URL, and no password", err, tc.want)
			}
			if entries, _ := os.ReadDir(filepath.Join(dir, "discovery")); len(entries) > 0 {
				t.Errorf("a refused document was cached: %v", entries)
			}
		})
	}
	t.Run("no document", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		_, err := openIdP(t, issuerConfig(t, t.TempDir(), srv.URL+"/realms/x", ""), nil, nil).Endpoints(t.Context())
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), srv.URL+"/.well-known/oauth-authorization-server/realms/x") ||
			!strings.Contains(err.Error(), srv.URL+"/realms/x/.well-known/openid-configuration") {
			t.Fatalf("err = %v; want ErrInvalid naming both URLs tried", err)
		}
	})
}

// TestDiscoveryEndpointRefusalsSayWhatToSet: an endpoint the document
// names that cannot be used is refused naming the document's key and the
// configuration's key to set instead; once that key is set, the document's
// other endpoints are used. The refusal named the endpoint alone, said to
// "write the URL without" what the provider wrote, and setting the key did
// not help: the document was refused for the endpoint no longer taken
// from it, so no log-in or renewal could begin.
func TestDiscoveryEndpointRefusalsSayWhatToSet(t *testing.T) {
	for _, tc := range []struct {
		name, docKey, set string
		bad               func(issuer string) any // nil: the key is left out
	}{
		{"no token endpoint", "token_endpoint", "token_url", nil},
		{"token endpoint not http", "token_endpoint", "token_url", func(string) any { return "javascript:alert(1)" }},
		{"token endpoint in clear text", "token_endpoint", "token_url", func(string) any { return "http://login.example.com/token" }},
		{"token endpoint with a password", "token_endpoint", "token_url", func(string) any { return "https://me:s3cr3t@login.example.com/token" }},
		{"token endpoint with a secret in its query", "token_endpoint", "token_url", func(i string) any { return i + "/token?client_secret=s3cr3t" }},
		{"authorization endpoint with a fragment", "authorization_endpoint", "auth_url", func(i string) any { return i + "/auth#x" }},
		{"authorization endpoint with a log-in's parameters", "authorization_endpoint", "auth_url", func(i string) any { return i + "/auth?state=x" }},
		{"authorization endpoint with a C1 control", "authorization_endpoint", "auth_url", func(i string) any { return i + "/auth/\u009b31m" }},
		{"revocation endpoint in clear text", "revocation_endpoint", "revocation_url", func(string) any { return "http://login.example.com/revoke" }},
		{"device endpoint not a URL", "device_authorization_endpoint", "device_auth_url", func(string) any { return "device" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMetadataServer(t, "/realms/x", rfc8414, func(d map[string]any) {
				if tc.bad == nil {
					delete(d, tc.docKey)
				} else {
					d[tc.docKey] = tc.bad(d["issuer"].(string))
				}
			})
			_, err := openIdP(t, issuerConfig(t, t.TempDir(), m.issuer, ""), nil, nil).Endpoints(t.Context())
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.docKey) || !strings.Contains(err.Error(), "set "+tc.set) ||
				strings.Contains(err.Error(), "write the URL") || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v; want ErrInvalid naming %s and saying to set %s, with no password", err, tc.docKey, tc.set)
			}
			own := "https://own.example.com/" + tc.set
			src := openIdP(t, issuerConfig(t, t.TempDir(), m.issuer, tc.set+" = \""+own+"\"\n"), nil, nil)
			ep, err := src.Endpoints(t.Context())
			if err != nil {
				t.Fatalf("with %s set: %v", tc.set, err)
			}
			got := map[string]string{"token_url": ep.TokenURL, "auth_url": ep.AuthURL, "revocation_url": ep.RevocationURL, "device_auth_url": ep.DeviceAuthURL}
			for key, u := range got {
				want := m.issuer + map[string]string{"token_url": "/token", "auth_url": "/auth", "revocation_url": "/revoke", "device_auth_url": "/device"}[key]
				if key == tc.set {
					want = own
				}
				if u != want {
					t.Errorf("%s = %q; want %q", key, u, want)
				}
			}
		})
	}
}

// TestDiscoveryUnreachable: a provider that cannot be reached is
// ErrUnreachable, in one line naming the URL.
func TestDiscoveryUnreachable(t *testing.T) {
	issuer := fmt.Sprintf("http://127.0.0.1:%d/realms/x", testenv.FreePort(t)) // a port nothing takes meanwhile
	_, err := openIdP(t, issuerConfig(t, t.TempDir(), issuer, ""), nil, nil).Endpoints(t.Context())
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "the discovery document at "+rfc8414(issuer)+" could not be fetched") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v; want ErrUnreachable naming the URL, on one line", err)
	}
}

// TestDiscoveryCache: a second process reads the cached document (mode
// 0600) without a fetch; once its lifetime (Cache-Control max-age, within
// bounds, else a day) has passed it is fetched again; and when the
// provider cannot be reached then, the stale copy is used and the debug
// log says so.
func TestDiscoveryCache(t *testing.T) {
	for _, tc := range []struct {
		cacheControl string
		lifetime     time.Duration
	}{
		{"", config.DefaultDiscoveryLifetime},
		{"public, max-age=600", 10 * time.Minute},
		{"max-age=1", 5 * time.Minute},       // at least five minutes
		{"max-age=99999999", 24 * time.Hour}, // at most a day
	} {
		t.Run(tc.cacheControl, func(t *testing.T) {
			clock := fakeclock.New()
			m := newMetadataServer(t, "/realms/x", oidc, nil)
			m.cacheControl = tc.cacheControl
			dir := t.TempDir()
			path := issuerConfig(t, dir, m.issuer, "")
			if _, err := openIdP(t, path, clock.Now, nil).Endpoints(t.Context()); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "discovery", "*.json"))
			if len(files) != 1 {
				t.Fatalf("cache files: %v", files)
			}
			if fi, err := os.Stat(files[0]); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("cache file: %v, %v; want mode 0600", fi.Mode(), err)
			}
			clock.Advance(tc.lifetime - time.Second)
			if _, err := openIdP(t, path, clock.Now, nil).Endpoints(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := m.fetches.Load(); n != 1 {
				t.Fatalf("%d fetches within the lifetime, want 1", n)
			}
			clock.Advance(2 * time.Second)
			if _, err := openIdP(t, path, clock.Now, nil).Endpoints(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := m.fetches.Load(); n != 2 {
				t.Fatalf("%d fetches after the lifetime, want 2", n)
			}
			clock.Advance(tc.lifetime + time.Second)
			m.Close()
			var log bytes.Buffer
			ep, err := openIdP(t, path, clock.Now, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))).Endpoints(t.Context())
			if err != nil || ep.TokenURL != m.issuer+"/token" {
				t.Fatalf("stale cache not used: %+v, %v", ep, err)
			}
			if !strings.Contains(log.String(), "using the stale cached document") {
				t.Errorf("debug log does not say the stale copy was used:\n%s", log.String())
			}
		})
	}
}

// forgedCache has the document of a new provider cached beside a
// configuration in a new folder, then names another token endpoint in the
// cached copy, as someone who may write there could. It returns the
// provider, the folder, the configuration's path and the cached copy's.
func forgedCache(t *testing.T) (m *metadataServer, dir, path, cached string) {
	t.Helper()
	m = newMetadataServer(t, "/realms/x", oidc, nil)
	dir = t.TempDir()
	path = issuerConfig(t, dir, m.issuer, "")
	if _, err := openIdP(t, path, nil, nil).Endpoints(t.Context()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "discovery", "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files: %v", files)
	}
	doc, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.ReplaceAll(string(doc), m.issuer+"/token", "https://tokens.example.net/token")
	if err := os.WriteFile(files[0], []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	return m, dir, path, files[0]
}

// TestDiscoveryCacheInAFolderOthersCanWriteIsNotUsed: a cached document
// decides where the client secret and refresh token go, and was read
// after checks of the file alone (yours, not writable by others): in a
// folder another user may write (the configuration's, a team's; or the
// cache's own), they could put a document of theirs in its place between
// the checks and the reading, naming their own token endpoint. Such a
// cache is not used (here one changed in place stands for the document put
// there): the document is fetched again.
func TestDiscoveryCacheInAFolderOthersCanWriteIsNotUsed(t *testing.T) {
	for _, folder := range []string{"the configuration's folder", "the cache's folder"} {
		t.Run(folder, func(t *testing.T) {
			m, dir, path, cached := forgedCache(t)
			open := dir
			if folder == "the cache's folder" {
				open = filepath.Dir(cached)
			}
			if err := os.Chmod(open, 0o777); err != nil {
				t.Fatal(err)
			}
			ep, err := openIdP(t, path, nil, nil).Endpoints(t.Context())
			if err != nil || ep.TokenURL != m.issuer+"/token" {
				t.Fatalf("Endpoints = %+v, %v; want the fetched token endpoint %s/token", ep, err, m.issuer)
			}
			if n := m.fetches.Load(); n != 2 {
				t.Fatalf("%d fetches, want 2: the cache in a folder others can write not used", n)
			}
		})
	}
}

// TestDiscoveryWithoutAConfigFileReadsNoCache: an environment a Go program
// makes itself, read from no configuration file, has no cache folder; it
// took a file in the working directory named as a cached document for
// its issuer as the document, naming whatever token endpoint was written
// there. Its document is fetched, and nothing is written there.
func TestDiscoveryWithoutAConfigFileReadsNoCache(t *testing.T) {
	m := newMetadataServer(t, "/realms/x", oidc, nil)
	dir := t.TempDir()
	t.Chdir(dir)
	sum := sha256.Sum256([]byte(m.issuer))
	forged := fmt.Sprintf(`{"url": %q, "fetched_at": %q, "expires_at": %q, "document": {"issuer": %q, "token_endpoint": "https://tokens.example.net/token"}}`,
		oidc(m.issuer), time.Now().Format(time.RFC3339), time.Now().Add(time.Hour).Format(time.RFC3339), m.issuer)
	if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:16])+".json"), []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	config.ForgetFetchedDiscoveries()
	env := &config.Env{Name: "idp", ClientID: "id", ClientAuth: "none", Issuer: m.issuer, Timeout: 5 * time.Second}
	ep, err := env.Settings().Discover(t.Context())
	if err != nil || ep.TokenURL != m.issuer+"/token" {
		t.Fatalf("Discover = %+v, %v; want the fetched token endpoint %s/token", ep, err, m.issuer)
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Errorf("the working directory holds %d files; want only the one put there", len(files))
	}
}

// TestDiscoveryOnlyWhenNeeded: serving a stored valid token fetches no
// document, and tokens are bound to the issuer; renewals use the dev
// provider's discovered endpoints, fetched once per process, even by
// another source in it when the cache file is gone.
func TestDiscoveryOnlyWhenNeeded(t *testing.T) {
	p, base := devserver.Start(t, devprovider.Options{AutoApprove: true})
	dir := t.TempDir()
	path := idpConfig(t, dir, "api_url = \""+base+"/\"\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nissuer = \""+base+"\"\n")
	src := openIdP(t, path, nil, nil)
	rec, err := loginAtDevProvider(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Stats().Discoveries; got != 1 {
		t.Fatalf("%d discoveries for the log-in, want 1", got)
	}
	os.RemoveAll(filepath.Join(dir, "discovery"))

	again := openIdP(t, path, nil, nil)
	tok, err := again.Token()
	if err != nil || tok.AccessToken != rec.AccessToken {
		t.Fatalf("stored token not served: %v", err)
	}
	if got := p.Stats().Discoveries; got != 1 {
		t.Fatalf("serving a stored token fetched the discovery document (%d fetches)", got)
	}
	for range 2 {
		if _, err := again.Renew(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if st := p.Stats(); st.Discoveries != 2 || st.Refreshes != 2 {
		t.Fatalf("stats %+v; want one more discovery for two renewals", st)
	}
	os.RemoveAll(filepath.Join(dir, "discovery"))
	third, err := config.Open(t.Context(), config.OpenOptions{Path: path, Env: "idp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := third.Renew(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Discoveries != 2 || st.Refreshes != 3 {
		t.Fatalf("stats %+v; want no second discovery in this process", st)
	}
	r, err := again.Record(t.Context())
	if err != nil || r.Grant.Issuer != base || r.Grant.TokenURL != "" {
		t.Fatalf("grant %+v, %v; want bound to the issuer", r.Grant, err)
	}
}

// TestDiscoveryFromSettingsSharedBySources: a program that takes the pieces
// (Env.Settings, OpenStore) once and builds a Source for each job from
// them shares one discovery among those Sources; their renewals at once
// discover race-free (go test -race): each set up the discovery's HTTP
// client for itself, unguarded.
func TestDiscoveryFromSettingsSharedBySources(t *testing.T) {
	_, base := devserver.Start(t, devprovider.Options{AutoApprove: true})
	path := idpConfig(t, t.TempDir(), "api_url = \""+base+"/\"\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nissuer = \""+base+"\"\n")
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.Select("idp")
	if err != nil {
		t.Fatal(err)
	}
	st, err := config.OpenStore(f.StoreURL)
	if err != nil {
		t.Fatal(err)
	}
	set := e.Settings()
	var wg sync.WaitGroup
	for range 8 {
		src, err := freshtoken.New(set, freshtoken.Options{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if ep, err := src.Endpoints(t.Context()); err != nil || ep.TokenURL == "" {
				t.Errorf("Endpoints: %+v, %v; want the discovered token endpoint", ep, err)
			}
		})
	}
	wg.Wait()
}

// loginAtDevProvider logs in at the dev provider (which approves at once)
// with src's discovered endpoints, and stores the tokens through src.
func loginAtDevProvider(t *testing.T, src *freshtoken.Source) (*oauth2.Token, error) {
	t.Helper()
	conf, err := src.OAuth2Config(t.Context(), "http://127.0.0.1:1/callback")
	if err != nil {
		return nil, err
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(conf.AuthCodeURL("state"))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		return nil, err
	}
	sent := time.Now()
	tok, err := conf.Exchange(t.Context(), loc.Query().Get("code"))
	if err != nil {
		return nil, err
	}
	return tok, src.SaveLogin(t.Context(), tok, sent)
}

// TestDiscoveryClientAuthWarning: a document that lists other client
// authentication methods than the configured one gets a warning, and the
// configured one is still used.
func TestDiscoveryClientAuthWarning(t *testing.T) {
	m := newMetadataServer(t, "", oidc, func(d map[string]any) { d["token_endpoint_auth_methods_supported"] = []string{"client_secret_post"} })
	var log bytes.Buffer
	src := openIdP(t, issuerConfig(t, t.TempDir(), m.issuer, "client_auth = \"basic\"\n"), nil, slog.New(slog.NewTextHandler(&log, nil)))
	if _, err := src.Endpoints(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "lists client_secret_post for its token endpoint, not client_secret_basic") {
		t.Fatalf("no warning:\n%s", log.String())
	}
	conf, err := src.OAuth2Config(t.Context(), "")
	if err != nil || conf.Endpoint.AuthStyle != oauth2.AuthStyleInHeader {
		t.Fatalf("client auth changed: %v, %v", conf.Endpoint.AuthStyle, err)
	}
}

// TestDiscoveryRedirectToClearText: an https issuer whose well-known URL
// redirects to http is refused, since whoever answers in clear text could
// name any token endpoint; the document served there is not used.
func TestDiscoveryRedirectToClearText(t *testing.T) {
	ca := corpnet.NewCA(t)
	var issuer string
	var servedInClear atomic.Int32
	clear := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		servedInClear.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "token_endpoint": issuer + "/token"})
	}))
	t.Cleanup(clear.Close)
	secure := ca.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, clear.URL+r.URL.Path, http.StatusFound)
	}), "localhost")
	base := corpnet.URL(secure, "localhost")
	issuer = base + "/realms/x"
	dir := t.TempDir()
	_, err := openIdP(t, issuerConfig(t, dir, issuer, "ca_file = \""+ca.File+"\"\n"), nil, nil).Endpoints(t.Context())
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "redirects to "+clear.URL) || !strings.Contains(err.Error(), base+"/.well-known/oauth-authorization-server/realms/x") {
		t.Fatalf("err = %v; want ErrInvalid naming the URL and the redirect", err)
	}
	if n := servedInClear.Load(); n != 0 {
		t.Errorf("the redirect to http was followed %d times", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "discovery")); len(entries) > 0 {
		t.Errorf("a document fetched in clear text was cached: %v", entries)
	}
}

// TestDiscoveryHTTPSIssuerNamesNoClearTextEndpoint: an https issuer's
// document naming an http endpoint, even on this machine, is refused: the
// token requests would leave TLS for whatever listens on that port (another
// user's process, on a shared machine). Only an http issuer, a provider
// running on this machine, may name http endpoints here.
func TestDiscoveryHTTPSIssuerNamesNoClearTextEndpoint(t *testing.T) {
	ca := corpnet.NewCA(t)
	var issuer string
	secure := ca.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "token_endpoint": "http://127.0.0.1:1/token"})
	}), "localhost")
	issuer = corpnet.URL(secure, "localhost") + "/realms/x"
	_, err := openIdP(t, issuerConfig(t, t.TempDir(), issuer, "ca_file = \""+ca.File+"\"\n"), nil, nil).Endpoints(t.Context())
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), `"http://127.0.0.1:1/token" must use https`) {
		t.Fatalf("err = %v; want ErrInvalid refusing the clear-text endpoint", err)
	}
}

// TestDiscoveryTriesOpenIDConnectAfterAWrongAnswer: a provider whose
// RFC 8414 URL answers 200 with something other than its document (a web
// app's page served for every path, or the document of the issuer at the
// host's root) but whose OpenID Connect URL has its document is found
// there; discovery used to stop at the first answer. When neither URL has
// the document, the wrong answer is the one reported.
func TestDiscoveryTriesOpenIDConnectAfterAWrongAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, root string)
		want   string
	}{
		{"a web page for every path", func(w http.ResponseWriter, root string) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!doctype html><title>Sign in</title>"))
		}, "is not JSON"},
		{"the root issuer's document", func(w http.ResponseWriter, root string) {
			json.NewEncoder(w).Encode(map[string]any{"issuer": root, "token_endpoint": root + "/token"})
		}, "is for issuer"},
	} {
		for _, oidcServed := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/openid configuration served %v", tc.name, oidcServed), func(t *testing.T) {
				var srv *httptest.Server
				srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					issuer := srv.URL + "/realms/x"
					if oidcServed && r.URL.Path == "/realms/x/.well-known/openid-configuration" {
						json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "token_endpoint": issuer + "/token"})
						return
					}
					tc.answer(w, srv.URL)
				}))
				t.Cleanup(srv.Close)
				issuer := srv.URL + "/realms/x"
				ep, err := openIdP(t, issuerConfig(t, t.TempDir(), issuer, ""), nil, nil).Endpoints(t.Context())
				if !oidcServed {
					if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), rfc8414(issuer)) {
						t.Fatalf("err = %v; want ErrInvalid saying %q of %s", err, tc.want, rfc8414(issuer))
					}
					return
				}
				if err != nil || ep.TokenURL != issuer+"/token" {
					t.Fatalf("endpoints = %+v, %v; want the OpenID Connect document's", ep, err)
				}
			})
		}
	}
}

// TestDiscoveryDocumentCheckedForEachEnvironment: two environments of one
// configuration share an issuer, one with its own token_url, so the
// document's clear-text token_endpoint is not taken (nor checked) for it.
// The other, opened later in the same process (the proxy serves both),
// must still refuse the document: it used to take it unchecked from the
// documents this process had fetched, and would have sent the refresh
// token and the client secret in clear text to the endpoint it named.
func TestDiscoveryDocumentCheckedForEachEnvironment(t *testing.T) {
	m := newMetadataServer(t, "/realms/x", oidc, func(d map[string]any) { d["token_endpoint"] = "http://login.example.com/token" })
	dir := t.TempDir()
	common := "api_url = \"https://api.example.com/\"\nclient_id = \"id\"\nclient_secret = \"s\"\nissuer = \"" + m.issuer + "\"\n"
	path := idpConfig(t, dir, common+"token_url = \"https://login.example.com/token\"\n\n[env.other]\n"+common)
	config.ForgetFetchedDiscoveries()
	for _, env := range []string{"idp", "other"} {
		src, err := config.Open(t.Context(), config.OpenOptions{Path: path, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		ep, err := src.Endpoints(t.Context())
		switch env {
		case "idp":
			if err != nil || ep.TokenURL != "https://login.example.com/token" {
				t.Fatalf("%s: endpoints %+v, %v; want its own token_url", env, ep, err)
			}
		case "other":
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), `"http://login.example.com/token" must use https`) {
				t.Fatalf("%s: endpoints %+v, err = %v; want ErrInvalid refusing the clear-text token_endpoint", env, ep, err)
			}
		}
	}
}

// TestDiscoveryCacheFromAClockAhead: a document cached while this
// machine's clock was far ahead (a year: a virtual machine's clock not yet
// set) is kept no longer than a day from now once the clock is right. It
// was kept until the date written then, so a provider that moved its
// endpoints was not followed for a year.
func TestDiscoveryCacheFromAClockAhead(t *testing.T) {
	var tokenEndpoint atomic.Pointer[string]
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "token_endpoint": *tokenEndpoint.Load()})
	}))
	t.Cleanup(srv.Close)
	old, moved := srv.URL+"/token", srv.URL+"/v2/token"
	tokenEndpoint.Store(&old)
	path := issuerConfig(t, t.TempDir(), srv.URL, "")
	clock := fakeclock.New()
	ahead := func() time.Time { return clock.Now().Add(365 * 24 * time.Hour) }
	if ep, err := openIdP(t, path, ahead, nil).Endpoints(t.Context()); err != nil || ep.TokenURL != old {
		t.Fatalf("endpoints %+v, %v", ep, err)
	}
	tokenEndpoint.Store(&moved)
	clock.Advance(config.DefaultDiscoveryLifetime + time.Minute)
	if ep, err := openIdP(t, path, clock.Now, nil).Endpoints(t.Context()); err != nil || ep.TokenURL != moved {
		t.Fatalf("a day after the clock was set right: endpoints %+v, %v; want the moved token endpoint %s", ep, err, moved)
	}
}

// TestDiscoveryCarelessAuthMethods: a document whose
// token_endpoint_auth_methods_supported is not a list of strings (one
// string, a number), of which only a warning is made, is taken all the
// same. The whole document was refused as "not JSON", and no log-in or
// renewal could begin.
func TestDiscoveryCarelessAuthMethods(t *testing.T) {
	for _, v := range []any{"client_secret_basic", 7, map[string]any{"basic": true}, []any{"client_secret_basic", 3}} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			m := newMetadataServer(t, "/realms/x", oidc, func(d map[string]any) { d["token_endpoint_auth_methods_supported"] = v })
			dir := t.TempDir()
			path := issuerConfig(t, dir, m.issuer, "")
			for range 2 { // fetched, then from the cache
				ep, err := openIdP(t, path, nil, nil).Endpoints(t.Context())
				if err != nil || ep.TokenURL != m.issuer+"/token" {
					t.Fatalf("endpoints %+v, %v; want the document's", ep, err)
				}
			}
			if n := m.fetches.Load(); n != 1 {
				t.Errorf("%d fetches; want 1, then the cache", n)
			}
		})
	}
}

// TestDiscoveryErrorsMaskKeysAndTellTimeouts: a discovery document naming
// an endpoint in clear text, or with characters a terminal would not show,
// whose query holds a key (an API gateway's subscription-key=, api_key=),
// is refused without quoting the key, raw, URL-encoded or base64: the
// refusal quoted the endpoint whole. A provider silent past the
// environment's timeout is told as such, still ErrUnreachable: it read
// "context deadline exceeded".
func TestDiscoveryErrorsMaskKeysAndTellTimeouts(t *testing.T) {
	for name, key := range map[string]string{"raw": "Gw7kQpZx2", "url-encoded": "Gw7k%2FQp%3DZx2", "base64": "R3c3a1FwWngyCg=="} {
		for _, endpoint := range []string{"http://login.example.com/token?subscription-key=", "https://login.example.com/tok\u009ben?api_key="} {
			t.Run(name, func(t *testing.T) {
				m := newMetadataServer(t, "/realms/x", rfc8414, func(d map[string]any) { d["token_endpoint"] = endpoint + key })
				_, err := openIdP(t, issuerConfig(t, t.TempDir(), m.issuer, ""), nil, nil).Endpoints(t.Context())
				if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "set token_url") {
					t.Fatalf("err = %v; want ErrInvalid saying to set token_url", err)
				}
				plain, _ := url.QueryUnescape(key)
				for _, s := range []string{key, plain, "R3c3a1FwWngy", "Gw7k"} {
					if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v", err), s) {
						t.Fatalf("err = %v; shows the key (%s)", err, s)
					}
				}
			})
		}
	}
	t.Run("time-out", func(t *testing.T) {
		silent := testenv.SilentServer(t)
		_, err := openIdP(t, issuerConfig(t, t.TempDir(), silent.URL+"/realms/x", "timeout = \"300ms\"\n"), nil, nil).Endpoints(t.Context())
		if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "did not answer within 300ms (timeout)") ||
			strings.Contains(err.Error(), "deadline") || strings.Contains(err.Error(), "Client.Timeout") {
			t.Fatalf("err = %v; want ErrUnreachable saying it did not answer within 300ms (timeout)", err)
		}
	})
}

// TestDiscoveryIssuerInAnswers: a document's
// authorization_response_iss_parameter_supported (RFC 9207) is the
// provider's promise to name itself in every log-in answer, which a log-in
// then holds it to (login.Flow.IssuerInAnswers): read from the document
// fetched and from the cache alike, only a JSON true is the promise, and
// a value of another type does not refuse the document. The promise is of
// the document's authorization endpoint: an auth_url set in its place is
// held to none.
func TestDiscoveryIssuerInAnswers(t *testing.T) {
	for _, tc := range []struct {
		value any
		extra string
		want  bool
	}{
		{true, "", true},
		{false, "", false},
		{nil, "", false},
		{"true", "", false},
		{1, "", false},
		{true, "auth_url = \"https://elsewhere.example.com/auth\"\n", false},
	} {
		t.Run(fmt.Sprint(tc.value, tc.extra != ""), func(t *testing.T) {
			m := newMetadataServer(t, "/realms/x", oidc, func(d map[string]any) {
				if tc.value != nil {
					d["authorization_response_iss_parameter_supported"] = tc.value
				}
			})
			path := issuerConfig(t, t.TempDir(), m.issuer, tc.extra)
			for range 2 { // fetched, then from the cache
				ep, err := openIdP(t, path, nil, nil).Endpoints(t.Context())
				if err != nil || ep.TokenURL != m.issuer+"/token" || ep.IssuerInAnswers != tc.want {
					t.Fatalf("endpoints %+v, %v; want the document's, IssuerInAnswers %v", ep, err, tc.want)
				}
			}
			if n := m.fetches.Load(); n != 1 {
				t.Errorf("%d fetches; want 1, then the cache", n)
			}
		})
	}
}
