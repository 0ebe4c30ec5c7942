package proxy_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
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

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// accessTTL is the dev provider's token lifetime in these tests; the fake
// clock makes its length irrelevant to how long they run.
const accessTTL = time.Hour

// fixture is a dev provider and a proxy in front of it, both on loopback,
// with two environments: "dev", and "idle", which is never logged in.
type fixture struct {
	provider   *devprovider.Provider
	api        string // the provider's URL, ending in "/"
	base       string // the proxy's URL, without a trailing "/"
	addr       string // the proxy's host:port
	proxy      *proxy.Proxy
	stop       func()           // stops the proxy; the test's end does too
	clock      *fakeclock.Clock // the provider's and the proxy's: a test moves both past an expiry at once
	configPath string
	logs       *testenv.Output
	logger     *slog.Logger
	tlsConfig  *tls.Config // for APIs served over HTTPS
}

// options are the proxy's options for a proxy at addr with the fixture's
// configuration; each proxy opens its own sources.
func (f *fixture) options(addr string, allowRemote bool) proxy.Options {
	return proxy.Options{
		Addr:        addr,
		AllowRemote: allowRemote,
		Config:      func() (*config.File, error) { return config.Load(f.configPath) },
		Open: func(ctx context.Context, env string) (*freshtoken.Source, error) {
			return config.Open(ctx, config.OpenOptions{Path: f.configPath, Env: env, Logger: f.logger, Clock: f.clock.Now})
		},
		Logger:    f.logger,
		Clock:     f.clock.Now,
		UserAgent: "freshtoken-test",
		TLSConfig: f.tlsConfig,
	}
}

// serve starts another proxy, with the fixture's configuration, on a
// loopback port of its own, and returns its URL.
func (f *fixture) serve(t testing.TB) string {
	t.Helper()
	return f.serveTuned(t, func(*proxy.Proxy) {})
}

// serveTuned is serve, with tune changing the proxy before it serves.
func (f *fixture) serveTuned(t testing.TB, tune func(*proxy.Proxy)) string {
	t.Helper()
	return "http://" + f.serveAt(t, "127.0.0.1:0", false, tune).String()
}

// serveAt starts another proxy, with the fixture's configuration, listening
// at listen (its port 0 for one of its own), tune changing it before it
// serves, and returns the address it listens at.
func (f *fixture) serveAt(t testing.TB, listen string, allowRemote bool, tune func(*proxy.Proxy)) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(f.options(ln.Addr().String(), allowRemote))
	if err != nil {
		t.Fatal(err)
	}
	tune(p)
	serve(t, p, ln)
	return ln.Addr().(*net.TCPAddr)
}

// serve runs p on ln, as `freshtoken proxy` does, until the test ends or
// the function it returns is called.
func serve(t testing.TB, p *proxy.Proxy, ln net.Listener) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// genericEnv is the configuration of an environment named env for an API at
// apiURL whose tokens come from the fixture's provider.
func genericEnv(f *fixture, env, apiURL string) string {
	return fmt.Sprintf(`
[env.%s]
provider = "generic"
api_url = "%s/"
auth_url = "%sv2/approve_app"
token_url = "%sv2/token_endpoint"
client_id = "dev-client-id"
client_secret = "dev-client-secret"
redirect_uri = "%s/callback"
`, env, apiURL, f.api, f.api, f.base)
}

// apiFixture is a fixture whose environment "api", logged in, is the API
// at apiURL; stopping is closed when the proxy, asked to stop, waits up to
// grace for the requests in flight.
func apiFixture(t testing.TB, apiURL string, grace time.Duration) (f *fixture, stopping <-chan struct{}) {
	t.Helper()
	waiting := make(chan struct{})
	f = newFixtureWith(t, fixtureOptions{autoApprove: true,
		tune: func(o *proxy.Options) {
			o.ShutdownGrace = grace
			o.Stopping = func(int, time.Duration) { close(waiting) }
		},
		moreConfig: func(f *fixture) string { return genericEnv(f, "api", apiURL) }})
	f.login(t, "api")
	return f, waiting
}

// beginStop begins to stop f's proxy, and returns once the stop has
// begun (stopping, unless nil, is closed) and the proxy accepts no more
// connections; stopped is closed when the stop has ended.
func (f *fixture) beginStop(t testing.TB, stopping <-chan struct{}) (stopped <-chan struct{}) {
	t.Helper()
	done := make(chan struct{})
	go func() { f.stop(); close(done) }()
	if stopping != nil {
		<-stopping
	}
	testenv.WaitFor(t, "the proxy to stop accepting", func() bool {
		c, err := net.Dial("tcp", f.addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	return done
}

// letGo is a func that closes release, which an API's handler waits for,
// at its first call, and at the test's end if not called before. Made
// once the API's Close is registered, it is called before that Close,
// which waits for the request the API holds.
func letGo(t testing.TB, release chan struct{}) (let func()) {
	var once sync.Once
	let = func() { once.Do(func() { close(release) }) }
	t.Cleanup(let)
	return let
}

// heldInFlight sends a request for /api/hold through f's proxy in the
// background, and returns once arrived is closed, the API holding it;
// answered, called once the API lets it go, fails the test unless the
// request was answered.
func (f *fixture) heldInFlight(t *testing.T, arrived <-chan struct{}) (answered func()) {
	held := make(chan error, 1)
	go func() {
		resp, err := http.Get(f.base + "/api/hold")
		if err == nil {
			resp.Body.Close()
		}
		held <- err
	}()
	<-arrived
	return func() {
		t.Helper()
		if err := <-held; err != nil {
			t.Errorf("the request in flight as the proxy stopped: %v", err)
		}
	}
}

// secretVarFixture is a fixture with the environment "env-secret" as
// well, whose client secret comes from $FRESHTOKEN_TEST_SECRET, set for
// the test to the dev provider's.
func secretVarFixture(t *testing.T) *fixture {
	t.Helper()
	t.Setenv("FRESHTOKEN_TEST_SECRET", "dev-client-secret")
	return newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return fmt.Sprintf(`
[env.env-secret]
provider = "freeagent"
api_url = %q
client_id = "dev-client-id"
client_secret_env = "FRESHTOKEN_TEST_SECRET"
redirect_uri = "%s/callback"
`, f.api, f.base)
	}})
}

type fixtureOptions struct {
	autoApprove bool
	quiet       bool // log warnings only, as the proxy does without --debug
	// moreConfig adds to the configuration file, given the fixture's
	// provider and proxy addresses.
	moreConfig func(f *fixture) string
	tlsConfig  *tls.Config // the proxy's, for APIs served over HTTPS
	// tune changes the fixture proxy's options before it starts.
	tune     func(*proxy.Options)
	storeURL string // the token store; "" means a folder of the test's
	// defaultStore: no [store] url, the tokens in the default folder
	// ($XDG_STATE_HOME/freshtoken).
	defaultStore bool
	// onTokenRequest is the provider's OnTokenRequest.
	onTokenRequest func(grantType string)
	// namesIssuer is the provider's NamesIssuer (RFC 9207's iss).
	namesIssuer bool
}

func newFixture(t testing.TB) *fixture {
	return newFixtureWith(t, fixtureOptions{autoApprove: true})
}

func newFixtureWith(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{clock: fakeclock.New(), logs: testenv.NewOutput(), tlsConfig: o.tlsConfig}
	now := f.clock.Now
	f.provider = devprovider.New(devprovider.Options{
		AccessTTL:         accessTTL,
		AutoApprove:       o.autoApprove,
		RequirePKCE:       true,
		RequestsPerMinute: -1,
		DeviceInterval:    time.Second,
		Clock:             now,
		OnTokenRequest:    o.onTokenRequest,
		NamesIssuer:       o.namesIssuer,
	})
	api := httptest.NewServer(f.provider.Handler())
	t.Cleanup(api.Close)
	t.Cleanup(f.provider.Close) // runs first
	f.api = api.URL + "/"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.base = "http://" + f.addr

	dir := t.TempDir()
	f.configPath = filepath.Join(dir, "config.toml")
	storeURL := o.storeURL
	if storeURL == "" {
		storeURL = "file://" + filepath.Join(dir, "store")
	}
	storeTable := fmt.Sprintf("[store]\nurl = %q\n", storeURL)
	if o.defaultStore {
		storeTable = ""
	}
	conf := fmt.Sprintf(`default_env = "dev"

%s
[env.dev]
provider = "freeagent"
api_url = %q
client_id = "dev-client-id"
client_secret = "dev-client-secret"
redirect_uri = "%s/callback"

[env.idle]
provider = "freeagent"
api_url = %q
client_id = "dev-client-id"
client_secret = "dev-client-secret"
redirect_uri = "%s/callback"
`, storeTable, f.api, f.base, f.api, f.base)
	if o.moreConfig != nil {
		conf += o.moreConfig(f)
	}
	if err := os.WriteFile(f.configPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	level := slog.LevelDebug
	if o.quiet {
		level = slog.LevelWarn
	}
	logger := slog.New(redact.NewHandler(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: level})))
	f.logger = logger
	po := f.options(f.addr, false)
	if o.tune != nil {
		o.tune(&po)
	}
	f.proxy, err = proxy.New(po)
	if err != nil {
		t.Fatal(err)
	}
	f.stop = serve(t, f.proxy, ln)
	t.Cleanup(func() { f.checkNoSecretsLogged(t) })
	return f
}

// port is the port the proxy listens on.
func (f *fixture) port() string {
	_, port, _ := net.SplitHostPort(f.addr)
	return port
}

// checkNoSecretsLogged fails the test if any secret the provider issued or
// received appears in the proxy's logs.
func (f *fixture) checkNoSecretsLogged(t testing.TB) {
	t.Helper()
	logs := f.logs.String()
	for _, s := range f.provider.Secrets() {
		if strings.Contains(logs, s) {
			t.Errorf("the proxy's log contains a secret (%.8s…)", s)
		}
	}
}

// login logs env in the way `freshtoken login` does when the proxy holds
// its redirect address: a browser opens the proxy's log-in link and the
// auto-approving provider sends it back. It returns where the browser ended.
func (f *fixture) login(t testing.TB, env string) *url.URL {
	t.Helper()
	ended := browse(t, f.vouched(t, env, proxy.LoginURL(f.base, env, "", "", "", 0)))
	if done := ended.Query().Get("done"); done != "logged-in" {
		t.Fatalf("the log-in of %s ended at %s", env, ended)
	}
	return ended
}

// browse opens link as a browser does, following its redirects (a log-in's
// page at the auto-approving provider sends it back to the proxy), and
// returns where it ended.
func browse(t testing.TB, link string) *url.URL {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Request.URL
}

// vouched is link, a log-in link to env (or its path), carrying the key
// that the proxy's grant answer gives programs on this machine, as
// `freshtoken login` opens it.
func (f *fixture) vouched(t testing.TB, env, link string) string {
	t.Helper()
	resp, err := http.Get(proxy.GrantURL(f.base, env))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g struct {
		Key string `json:"login_key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&g); err != nil || g.Key == "" {
		t.Fatalf("the grant answer for %s (%d) gives no login_key: %v", env, resp.StatusCode, err)
	}
	return proxy.WithLoginKey(link, g.Key)
}

// turnedAway sends the browser's answer query to /callback and asserts
// that the proxy turns it away as belonging to no log-in it waits for,
// without exchanging its code; what describes the answer.
func (f *fixture) turnedAway(t *testing.T, query, what string) {
	t.Helper()
	before := f.provider.Stats().TokenRequests
	if resp, page := f.get(t, "/callback?"+query); !staleAnswer(resp, page) {
		t.Errorf("%s: got %d (%q); want it turned away", what, resp.StatusCode, resp.Header.Get("Location"))
	}
	if f.provider.Stats().TokenRequests != before {
		t.Errorf("%s: its code was exchanged", what)
	}
}

// staleAnswer reports whether resp, with its body page, turns away a
// browser's answer as belonging to no log-in the proxy waits for: the
// status page saying so in place (400), not a redirect, so that the
// answer stays in the address bar for a `freshtoken login --manual`.
func staleAnswer(resp *http.Response, page []byte) bool {
	return resp.StatusCode == http.StatusBadRequest && resp.Header.Get("Location") == "" && bytes.Contains(page, []byte(`data-done="stale-login"`))
}

// unsigned is loc, the proxy's redirect to its status page with a notice,
// without the signature that makes the page show it.
func unsigned(loc string) string {
	before, _, _ := strings.Cut(loc, "&sig=")
	return before
}

// startLogin opens the proxy's log-in link for env without following it,
// and returns the state of the log-in it began and the provider's page it
// sends the browser to.
func (f *fixture) startLogin(t testing.TB, env string) (state, authURL string) {
	t.Helper()
	return f.startAttempt(t, env, "", 0)
}

// startAttempt is startLogin as the `freshtoken login` named attempt,
// waiting as long as wait (0: the proxy's own time), opens the link.
func (f *fixture) startAttempt(t testing.TB, env, attempt string, wait time.Duration) (state, authURL string) {
	t.Helper()
	resp, _ := f.openLogin(t, env, attempt, wait)
	auth, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther || auth.Query().Get("state") == "" {
		t.Fatalf("the log-in link answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return auth.Query().Get("state"), auth.String()
}

// openLogin opens the proxy's log-in link for env as the `freshtoken
// login` named attempt, waiting as long as wait (0: the proxy's own
// time), does, without following where it sends the browser, and returns
// the answer with its body read.
func (f *fixture) openLogin(t testing.TB, env, attempt string, wait time.Duration) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.vouched(t, env, proxy.LoginURL(f.base, env, "", "", attempt, wait)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Do(t, noRedirects, req)
}

// attemptAnswer is the proxy's answer to a `freshtoken login` asking after
// the log-in it began.
type attemptAnswer struct {
	Held     bool   `json:"held"`
	Answered bool   `json:"answered"`
	Failed   bool   `json:"failed"`
	Code     string `json:"error"`
}

// attempt asks the proxy, as the `freshtoken login` named attempt does,
// after the log-in it began; it returns the answer and its body.
func (f *fixture) attempt(t *testing.T, env, attempt string) (attemptAnswer, []byte) {
	t.Helper()
	_, body := f.get(t, strings.TrimPrefix(proxy.AttemptURL(f.base, env, attempt), f.base))
	return decode[attemptAnswer](t, body), body
}

// source opens an environment as another freshtoken process would.
func (f *fixture) source(t testing.TB, env string) *freshtoken.Source {
	t.Helper()
	src, err := config.Open(context.Background(), config.OpenOptions{Path: f.configPath, Env: env, Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// stopInBackground stops the fixture's proxy in a goroutine, and then
// tells whether env's tokens were stored by the time Serve returned.
func (f *fixture) stopInBackground(t testing.TB, env string) <-chan bool {
	src := f.source(t, env)
	stored := make(chan bool, 1)
	go func() {
		f.stop()
		rec, _ := src.Record(context.Background())
		stored <- rec != nil
	}()
	return stored
}

// shortenTimeout gives env the timeout d from now on, as a person editing
// the configuration while the proxy runs. A test that means to see the API
// cut off logs in first, with the default: an exchange, or a refresh,
// cannot be counted on to be answered within a limit that short on a
// loaded machine.
func (f *fixture) shortenTimeout(t testing.TB, env string, d time.Duration) {
	t.Helper()
	f.editConfig(t, "[env."+env+"]\n", fmt.Sprintf("[env.%s]\ntimeout = %q\n", env, d.String()))
}

// apiWithTimeout is a fixture whose environment env, logged in, is served
// by the API at apiURL and gives it d to answer. The log-in comes first:
// the timeout bounds its code exchange too.
func apiWithTimeout(t *testing.T, env, apiURL string, d time.Duration) *fixture {
	t.Helper()
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string { return genericEnv(f, env, apiURL) }})
	f.login(t, env)
	f.shortenTimeout(t, env, d)
	return f
}

// serveWithTimeout is apiWithTimeout for an API that api serves.
func serveWithTimeout(t *testing.T, env string, d time.Duration, api http.HandlerFunc) *fixture {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return apiWithTimeout(t, env, srv.URL, d)
}

// tellClosed waits, in an API's handler, until the connection of r
// closes, and then says so on closed, unless nobody listens any more.
func tellClosed(r *http.Request, closed chan<- struct{}) {
	<-r.Context().Done()
	select {
	case closed <- struct{}{}:
	default: // a failing test stopped waiting
	}
}

// editConfig replaces the first old in the configuration file with new, as
// a person editing it while the proxy runs.
func (f *fixture) editConfig(t testing.TB, old, new string) {
	t.Helper()
	conf, err := os.ReadFile(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(conf), old, new, 1)
	if changed == string(conf) {
		t.Fatalf("the configuration holds no %q", old)
	}
	if err := os.WriteFile(f.configPath, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
}

// moveDev starts another provider and points env.dev (the first
// environment with the fixture's api_url) at it, returning it and its URL.
func (f *fixture) moveDev(t testing.TB) (*devprovider.Provider, string) {
	t.Helper()
	other := devprovider.New(devprovider.Options{AccessTTL: accessTTL, AutoApprove: true, RequirePKCE: true, RequestsPerMinute: -1, Clock: f.clock.Now})
	srv := httptest.NewServer(other.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(other.Close)
	f.editConfig(t, fmt.Sprintf("api_url = %q", f.api), fmt.Sprintf("api_url = %q", srv.URL+"/"))
	return other, srv.URL
}

// stored is the store the configuration names, and env's record in it.
func (f *fixture) stored(t testing.TB, env string) (store.Store, *store.Record) {
	t.Helper()
	c, err := config.Load(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := config.OpenStore(c.StoreURL)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.Load(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	return st, rec
}

// storedToken is the access token in the store now.
func (f *fixture) storedToken(t testing.TB) string {
	t.Helper()
	rec, err := f.source(t, "dev").Record(context.Background())
	if err != nil || rec == nil {
		t.Fatalf("no stored record: %v", err)
	}
	return rec.AccessToken
}

// do sends a request to the proxy and returns the answer with its body read.
func (f *fixture) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	return testenv.Do(t, noRedirects, req)
}

func (f *fixture) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, req)
}

// noRedirects returns redirects rather than following them. Each request
// has a connection of its own, so that no test depends on another's.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableKeepAlives: true},
}

// echo is what the provider's /v2/dev/echo saw.
type echo struct {
	Method  string            `json:"method"`
	Host    string            `json:"host"`
	Path    string            `json:"path"`
	Query   string            `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not the JSON expected: %v\n%s", err, body)
	}
	return v
}

// problemBody is the JSON of the proxy's own answers.
type problemBody struct {
	Error      string   `json:"error"`
	Env        string   `json:"env"`
	Message    string   `json:"message"`
	Configured []string `json:"configured"`
	StatusPage string   `json:"status_page"`
}

// lanProxy is a proxy of f's configuration listening on a LAN address with
// --allow-remote, and a way to send it a request from the address remote,
// with an Origin and a body (JSON or a form) if not "".
func lanProxy(t *testing.T, f *fixture) (lan string, serve func(method, path, remote, origin, body string) *httptest.ResponseRecorder) {
	t.Helper()
	lan = "10.1.2.3:" + f.port()
	p, err := proxy.New(f.options(lan, true))
	if err != nil {
		t.Fatal(err)
	}
	return lan, func(method, path, remote, origin, body string) *httptest.ResponseRecorder {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, "http://"+lan+path, rd)
		req.RemoteAddr = remote
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if strings.HasPrefix(body, "{") {
			req.Header.Set("Content-Type", "application/json")
		} else if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		return w
	}
}

// officeProxy starts an HTTP proxy (an office network's, say) that takes a
// request for any host to api, and returns its URL, for
// Options.UpstreamProxy, and the host it was last asked for.
func officeProxy(t *testing.T, api *httptest.Server) (*url.URL, func() string) {
	t.Helper()
	var asked atomic.Value
	office := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.URL.Host)
		r.URL.Host = api.Listener.Addr().String()
		r.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		maps.Copy(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(office.Close)
	officeURL, _ := url.Parse(office.URL)
	return officeURL, func() string {
		host, _ := asked.Load().(string)
		return host
	}
}
