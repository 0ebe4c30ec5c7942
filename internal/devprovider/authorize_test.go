package devprovider

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// authURL is an approve_app URL for the default client with params changed; a
// param set to "" is left out.
func authURL(tp *testProvider, changes map[string]string) string {
	q := url.Values{
		"client_id":     {"dev-client-id"},
		"response_type": {"code"},
		"redirect_uri":  {testRedirectURI},
		"state":         {"st4te"},
	}
	for k, v := range changes {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return tp.srv.URL + "/v2/approve_app?" + q.Encode()
}

func TestApprovePage(t *testing.T) {
	tp := start(t, Options{})
	page := send(t, noRedirects, http.MethodGet, authURL(tp, nil), "", nil, nil)
	page.wantStatus(t, http.StatusOK)
	for _, want := range []string{
		"Allow dev-client-id to access your (dev) FreeAgent account?",
		`id="approve"`,
		`id="deny"`,
		`<input type="hidden" name="state" value="st4te">`,
		`<input type="hidden" name="redirect_uri" value="http://127.0.0.1:8787/callback">`,
	} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("the approve page lacks %s", want)
		}
	}

	u, _ := url.Parse(authURL(tp, nil))
	form := u.Query()
	form.Set("decision", "deny")
	resp := send(t, noRedirects, http.MethodPost, tp.srv.URL+"/v2/approve_app", "",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(form.Encode()))
	resp.wantStatus(t, http.StatusFound)
	loc, _ := resp.Location()
	if q := loc.Query(); q.Get("error") != "access_denied" || q.Get("state") != "st4te" || q.Has("code") {
		t.Errorf("Deny redirected to %s; want error=access_denied and the state, no code", loc)
	}
}

func TestAuthorizationRequestChecks(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		changes   map[string]string
		wantError string // "" expects a 400 page, else the error sent back to redirect_uri
	}{
		{"unknown client_id", Options{}, map[string]string{"client_id": "someone-else"}, ""},
		{"redirect_uri not loopback", Options{}, map[string]string{"redirect_uri": "http://example.com/callback"}, ""},
		{"redirect_uri https", Options{}, map[string]string{"redirect_uri": "https://127.0.0.1:8787/callback"}, ""},
		{"redirect_uri missing", Options{}, map[string]string{"redirect_uri": ""}, ""},
		{"redirect_uri not registered exactly", Options{RedirectURIs: []string{testRedirectURI}},
			map[string]string{"redirect_uri": testRedirectURI + "/"}, ""},
		{"response_type token", Options{}, map[string]string{"response_type": "token"}, "unsupported_response_type"},
		{"PKCE required", Options{RequirePKCE: true}, nil, "invalid_request"},
		{"PKCE plain", Options{}, map[string]string{"code_challenge": "abc", "code_challenge_method": "plain"}, "invalid_request"},
		{"PKCE method without challenge", Options{}, map[string]string{"code_challenge_method": "S256"}, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := start(t, tt.opts)
			resp := send(t, noRedirects, http.MethodGet, authURL(tp, tt.changes), "", nil, nil)
			if tt.wantError == "" {
				resp.wantStatus(t, http.StatusBadRequest)
				return
			}
			resp.wantStatus(t, http.StatusFound)
			loc, _ := resp.Location()
			if q := loc.Query(); q.Get("error") != tt.wantError || q.Get("state") != "st4te" {
				t.Errorf("redirected to %s; want error=%s and the state", loc, tt.wantError)
			}
		})
	}
}

func TestAutoApproveKeepsRedirectQuery(t *testing.T) {
	registered := "http://localhost:9000/cb?tenant=a"
	tp := start(t, Options{AutoApprove: true, RedirectURIs: []string{registered}})
	resp := send(t, noRedirects, http.MethodGet, authURL(tp, map[string]string{"redirect_uri": registered}), "", nil, nil)
	resp.wantStatus(t, http.StatusFound)
	loc, _ := resp.Location()
	if q := loc.Query(); loc.Host != "localhost:9000" || q.Get("tenant") != "a" || q.Get("code") == "" || q.Get("state") != "st4te" {
		t.Errorf("redirected to %s; want the registered URI with code and state added", loc)
	}
}
