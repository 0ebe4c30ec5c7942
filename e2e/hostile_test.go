//go:build unix

package e2e_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// hostileProvider is a provider and API, on loopback, that hears every
// secret a client holds and, while the test makes it fail, quotes them
// back in its answers: how is each test's own (echoing, fragmenting).
// Its approval page grants at once; its token endpoint issues tokens
// holding the characters encodings write differently, and accepts only the
// refresh token it last issued; its API names a company, and its
// revocation endpoint (the API's answer) takes any token.
type hostileProvider struct {
	url          string
	clientSecret string
	mu           sync.Mutex
	seen         []string // every secret it was sent or issued
	fault        string   // how its answers fail, in its test's words
	access       string
	refresh      string
	turn         int // answers given
}

// startHostileProvider serves, until the test ends, a hostileProvider
// whose clients hold clientSecret, answering as quoting makes it answer.
func startHostileProvider(t *testing.T, clientSecret string, quoting func(*hostileProvider) http.HandlerFunc) *hostileProvider {
	t.Helper()
	p := &hostileProvider{clientSecret: clientSecret}
	p.saw(clientSecret)
	srv := httptest.NewServer(quoting(p))
	t.Cleanup(srv.Close)
	p.url = srv.URL + "/"
	return p
}

// newHostileToken is a long token of kind holding + / = % & and a space.
func newHostileToken(kind string) string {
	return kind + "+/" + rand.Text() + "/" + rand.Text() + "%41=&x y"
}

// world is a new world whose environment logs in to p, calls its API and
// revokes its tokens there (revocation_url), the client secret read from
// the environment; p holds no tokens and does not fail, as a provider a
// new world has not used.
func (p *hostileProvider) world(t *testing.T) *world {
	t.Helper()
	p.mu.Lock()
	p.fault, p.access, p.refresh = "", "", ""
	p.mu.Unlock()
	w := newWorld(t, devprovider.Options{}, "")
	w.env = append(w.env, "E2E_HOSTILE_SECRET="+p.clientSecret)
	setSecretSource(t, w, `client_secret_env = "E2E_HOSTILE_SECRET"`)
	w.writeConfig(strings.Replace(w.readConfig(), fmt.Sprintf("api_url = %q", w.api), fmt.Sprintf("api_url = %q\nrevocation_url = %q", p.url, p.url+"v2/revoke"), 1))
	return w
}

func (p *hostileProvider) saw(values ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range values {
		if len(v) >= 8 && !slices.Contains(p.seen, v) {
			p.seen = append(p.seen, v)
		}
	}
}

// secrets are those p was sent or issued.
func (p *hostileProvider) secrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

func (p *hostileProvider) setFault(f string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// hear returns the secrets the client holds when it sends r (the client
// secret, the tokens p last issued, and those r carries: not a code or
// verifier of an earlier log-in, which a later process never knew), the
// fault in force, and which answer this is.
func (p *hostileProvider) hear(r *http.Request) (held []string, fault string, turn int) {
	r.ParseForm()
	p.mu.Lock()
	held = []string{p.clientSecret, p.access, p.refresh}
	fault = p.fault
	p.turn++
	turn = p.turn
	p.mu.Unlock()
	for _, name := range []string{"code", "code_verifier", "refresh_token", "client_secret"} {
		held = append(held, r.Form[name]...)
	}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		held = append(held, bearer)
	}
	p.saw(held...)
	return held, fault, turn
}

// answer answers r as the provider p is when it does not fail, a refusal
// of a stale refresh token quoting quote.
func (p *hostileProvider) answer(w http.ResponseWriter, r *http.Request, quote string) {
	switch {
	case r.URL.Path == "/v2/approve_app":
		code := newHostileToken("code")
		p.saw(code)
		http.Redirect(w, r, r.FormValue("redirect_uri")+"?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(r.FormValue("state")), http.StatusFound)
	case strings.HasSuffix(r.URL.Path, "/token_endpoint"):
		p.mu.Lock()
		if r.FormValue("grant_type") == "refresh_token" && r.FormValue("refresh_token") != p.refresh {
			p.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"could not process %s"}`, strings.ReplaceAll(quote, `"`, `\"`))
			return
		}
		p.access, p.refresh = newHostileToken("at"), newHostileToken("rt")
		access, refresh := p.access, p.refresh
		p.mu.Unlock()
		p.saw(access, refresh)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": 3600})
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"company":{"name":"Hostile Ltd"}}`)
	}
}
