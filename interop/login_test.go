package interop

import (
	"net/http"
	"strings"
	"testing"
)

// TestLogin logs in through fosite's authorize endpoint with each client
// authentication method, then uses the stored tokens.
func TestLogin(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"basic", "body"} {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, auth)
			res := f.login(t)
			if res.pageErr != nil || !strings.Contains(res.page, "Logged in to "+envName) {
				t.Errorf("the browser did not get the success page: %v\n%s", res.pageErr, res.page)
			}

			checkAuthorization(t, f.srv.Authorizations(), f.client.ID, f.client.RedirectURI)
			reqs := f.srv.TokenRequests()
			if len(reqs) != 1 || reqs[0].GrantType != "authorization_code" {
				t.Fatalf("want one code exchange; token endpoint traffic:%s", f.srv.Summary())
			}
			f.checkClean(t)

			issued := f.srv.LastIssued(t)
			rec := f.record(t)
			if rec.AccessToken != issued.AccessToken || rec.RefreshToken != issued.RefreshToken || issued.RefreshToken == "" {
				t.Errorf("the store does not hold the tokens fosite issued")
			}
			if got := strings.TrimSpace(f.mustRun(t, "token")); got != issued.AccessToken {
				t.Errorf("freshtoken token printed %q, want the access token fosite issued", got)
			}
			f.checkMe(t, f.mustRun(t, "get", "/api/me"))
			if got := f.srv.APIStatuses(); len(got) != 1 || got[0] != http.StatusOK {
				t.Errorf("API statuses %v, want one 200", got)
			}
			if n := f.srv.RefreshGrants(); n != 0 {
				t.Errorf("%d refreshes right after login, want 0", n)
			}
		})
	}
}
