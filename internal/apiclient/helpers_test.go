package apiclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// fakeClock is a Clock whose Sleep moves time on at once. The dev provider
// shares it, so a minute's wait for a rate limit takes no real time.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
	// afterSleep, when set, runs after each Sleep has moved the time on.
	afterSleep func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept += d
	hook := c.afterSleep
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

func (c *fakeClock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// rig is a dev provider on loopback HTTP, on a fake clock, with a client
// logged in to it.
type rig struct {
	provider *devprovider.Provider
	url      string // the provider's root, no trailing slash
	clock    *fakeClock
	http     *http.Client // adds the access token
}

func newRig(t *testing.T, opts devprovider.Options) *rig {
	t.Helper()
	clock := newFakeClock()
	opts.Clock = clock.Now
	opts.AutoApprove = true
	p := devprovider.New(opts)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(p.Close)
	tok := login(t, srv.URL)
	return &rig{
		provider: p,
		url:      srv.URL,
		clock:    clock,
		http:     oauth2.NewClient(t.Context(), oauth2.StaticTokenSource(tok)),
	}
}

// login gets tokens from the dev provider with x/oauth2, as any OAuth client
// would: the auto-approving provider redirects straight back with a code.
func login(t *testing.T, base string) *oauth2.Token {
	t.Helper()
	conf := &oauth2.Config{
		ClientID:     "dev-client-id",
		ClientSecret: "dev-client-secret",
		RedirectURL:  "http://127.0.0.1:8787/callback",
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + "/v2/approve_app",
			TokenURL:  base + "/v2/token_endpoint",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
	verifier := oauth2.GenerateVerifier()
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirects.Get(conf.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("approve_app answered %s without a redirect", resp.Status)
	}
	tok, err := conf.Exchange(t.Context(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// get builds a GET for path on the rig's provider.
func (r *rig) get(t *testing.T, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, r.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
