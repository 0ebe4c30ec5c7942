package apiclient

import (
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
)

// rig is a dev provider on loopback HTTP, on a fake clock, with a client
// logged in to it.
type rig struct {
	provider *devprovider.Provider
	url      string // the provider's root, no trailing slash
	clock    *fakeclock.Clock
	http     *http.Client // adds the access token
}

func newRig(t *testing.T, opts devprovider.Options) *rig {
	t.Helper()
	p, base, clock := devserver.StartOnClock(t, opts)
	tok := login(t, base)
	return &rig{
		provider: p,
		url:      base,
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
	tok, err := devserver.Login(t.Context(), conf)
	if err != nil {
		t.Fatalf("log-in: %v", err)
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
