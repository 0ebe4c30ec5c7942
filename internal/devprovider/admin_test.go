package devprovider

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestAdminEndpoints drives the provider the way a test of a separate process does.
func TestAdminEndpoints(t *testing.T) {
	tp, tok := loggedIn(t, Options{})
	admin := func(method, path string) *response {
		return send(t, http.DefaultClient, method, tp.srv.URL+path, "", nil, nil)
	}

	admin("POST", "/_dev/fault?kind=5xx&n=2").wantStatus(t, http.StatusNoContent)
	admin("POST", "/_dev/fault?kind=flaky").wantStatus(t, http.StatusBadRequest)
	admin("POST", "/_dev/fault?kind=html&n=two").wantStatus(t, http.StatusBadRequest)
	for range 2 {
		tp.postToken(t, refreshForm(tok.RefreshToken), true).wantStatus(t, http.StatusServiceUnavailable)
	}

	admin("POST", "/_dev/revoke-access").wantStatus(t, http.StatusNoContent)
	tp.api(t, "GET", "/v2/company", tok.AccessToken, nil, nil).wantStatus(t, http.StatusUnauthorized)

	var stats Stats
	admin("GET", "/_dev/stats").decode(t, &stats)
	if want := (Stats{TokenRequests: 3, Exchanges: 1, APIRequests: 1, Unauthorized: 1}); stats != want {
		t.Errorf("stats %+v\nwant  %+v", stats, want)
	}

	var secrets []string
	admin("GET", "/_dev/secrets").decode(t, &secrets)
	if !slices.Contains(secrets, tok.AccessToken) || !slices.Contains(secrets, tok.RefreshToken) {
		t.Errorf("/_dev/secrets lacks the tokens issued")
	}
}

func TestIndexPage(t *testing.T) {
	tp := start(t, Options{})
	resp := send(t, http.DefaultClient, http.MethodGet, tp.srv.URL+"/", "", nil, nil)
	resp.wantStatus(t, http.StatusOK)
	for _, want := range []string{"/v2/token_endpoint", "/v2/approve_app", "/_dev/fault", tp.srv.URL + "/", "dev-client-id"} {
		if !strings.Contains(string(resp.body), want) {
			t.Errorf("the index page lacks %q", want)
		}
	}
	if strings.Contains(string(resp.body), tp.opts.ClientSecret) {
		t.Error("the index page shows the client secret")
	}
}
