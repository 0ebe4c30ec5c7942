package devprovider

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// testRedirectURI is the redirect URI the tests register and send.
const testRedirectURI = "http://127.0.0.1:8787/callback"

// testProvider is a Provider served over real HTTP, on a fake clock unless opts
// brings its own.
type testProvider struct {
	*Provider
	srv   *httptest.Server
	clock *fakeclock.Clock
}

func start(t *testing.T, opts Options) *testProvider {
	t.Helper()
	clock := fakeclock.New()
	if opts.Clock == nil {
		opts.Clock = clock.Now
	}
	p := New(opts)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(p.Close) // runs first: srv.Close waits for hung requests
	return &testProvider{Provider: p, srv: srv, clock: clock}
}

// config is an x/oauth2 client of tp using HTTP Basic client authentication.
func (tp *testProvider) config() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     tp.opts.ClientID,
		ClientSecret: tp.opts.ClientSecret,
		RedirectURL:  testRedirectURI,
		Endpoint: oauth2.Endpoint{
			AuthURL:   tp.srv.URL + "/v2/approve_app",
			TokenURL:  tp.srv.URL + "/v2/token_endpoint",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// noRedirects is an HTTP client that returns redirects instead of following them.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// authorize visits authURL like a user who clicks Approve on the consent page, and
// returns the query of the URL the provider sends the user back to.
func (tp *testProvider) authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	resp := send(t, noRedirects, http.MethodGet, authURL, "", nil, nil)
	if resp.StatusCode == http.StatusOK {
		u, _ := url.Parse(authURL)
		form := u.Query()
		form.Set("decision", "approve")
		resp = send(t, noRedirects, http.MethodPost, tp.srv.URL+"/v2/approve_app", "",
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(form.Encode()))
	}
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, body %q; want a redirect", resp.StatusCode, resp.body)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// login runs the authorization code flow with PKCE through x/oauth2.
func (tp *testProvider) login(t *testing.T) *oauth2.Token {
	t.Helper()
	cfg := tp.config()
	verifier := oauth2.GenerateVerifier()
	back := tp.authorize(t, cfg.AuthCodeURL("some-state", oauth2.S256ChallengeOption(verifier)))
	tok, err := cfg.Exchange(t.Context(), back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// loggedIn starts a provider with opts, approving automatically, and logs
// in to it.
func loggedIn(t *testing.T, opts Options) (*testProvider, *oauth2.Token) {
	t.Helper()
	opts.AutoApprove = true
	tp := start(t, opts)
	return tp, tp.login(t)
}

// refresh spends refreshToken at the token endpoint through x/oauth2.
func (tp *testProvider) refresh(t *testing.T, refreshToken string) (*oauth2.Token, error) {
	t.Helper()
	return tp.config().TokenSource(t.Context(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// mustRefresh is refresh for a refresh that has to succeed.
func (tp *testProvider) mustRefresh(t *testing.T, refreshToken string) *oauth2.Token {
	t.Helper()
	tok, err := tp.refresh(t, refreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return tok
}

// refreshForm is the body of a refresh_token grant request without client credentials.
func refreshForm(refreshToken string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
}

// postToken sends form to the token endpoint as is, with HTTP Basic credentials
// when basic is set.
func (tp *testProvider) postToken(t *testing.T, form url.Values, basic bool) *response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, tp.srv.URL+"/v2/token_endpoint", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(tp.opts.ClientID, tp.opts.ClientSecret)
	}
	return do(t, http.DefaultClient, req)
}

// api calls the API at path with token as Bearer (none when token is "").
func (tp *testProvider) api(t *testing.T, method, path, token string, header http.Header, body io.Reader) *response {
	t.Helper()
	return send(t, noRedirects, method, tp.srv.URL+path, token, header, body)
}

// response is an HTTP response with its body read.
type response struct {
	*http.Response
	body []byte
}

// decode unmarshals r's body into v.
func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

func send(t *testing.T, client *http.Client, method, url, token string, header http.Header, body io.Reader) *response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, client, req)
}

func do(t *testing.T, client *http.Client, req *http.Request) *response {
	t.Helper()
	resp, body := testenv.Do(t, client, req)
	return &response{Response: resp, body: body}
}

// wantStatus fails the test unless r has the given status.
func (r *response) wantStatus(t *testing.T, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, body %q; want %d", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.body, status)
	}
}
