package proxy_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// TestLogoutButtonWhoseDeleteFailsAfterTheRevocation: the provider revoked
// the grant, and then the store failed to delete the tokens (the record
// made readable by others meanwhile, which the store refuses; a Redis
// gone). The page said "Could not log out", and its Last problem showed
// the store's failure alone, its own failing read over what the log-out
// met: a person took the grant for alive, and a renewal with the tokens
// kept was refused and told as a grant ended. The page says that the grant
// was revoked at the provider, that the tokens could not be deleted, and
// the log-out to run once the store is fixed, and keeps saying so while
// the store still fails.
func TestLogoutButtonWhoseDeleteFailsAfterTheRevocation(t *testing.T) {
	var (
		record   atomic.Pointer[string] // the record's file, once logged in
		loosened atomic.Bool
	)
	revoker := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		if p := record.Load(); p != nil && !loosened.Swap(true) {
			if err := os.Chmod(*p, 0o644); err != nil {
				t.Error(err)
			}
		}
	}))
	t.Cleanup(revoker.Close)
	f := revFixture(t, func(*fixture) string { return revoker.URL + "/revoke" })
	f.login(t, "rev")
	where := f.source(t, "rev").Location()
	record.Store(&where)
	loc := f.logOutRev(t, "logout-revoked-kept")
	_, page := f.get(t, loc)
	said := html.UnescapeString(string(page))
	for _, want := range []string{
		"The grant of rev was revoked at the provider, but its tokens could not be deleted",
		"has mode 0644",
		"the provider revoked the grant, so the tokens kept are of no use: run `freshtoken logout --local -e rev` once that is fixed to delete them",
	} {
		if !strings.Contains(said, want) {
			t.Errorf("the page does not say %q:\n%s", want, page)
		}
	}
	if strings.Contains(said, "Could not log out") {
		t.Errorf("the page says it could not log out, though the grant was revoked:\n%s", page)
	}
	if _, page := f.get(t, "/"); !strings.Contains(html.UnescapeString(string(page)), "the provider revoked the grant, so the tokens kept are of no use") {
		t.Errorf("the page shown again, the store still failing, no longer says the grant was revoked:\n%s", page)
	}
}

// TestLogoutButtonRefusedWithTheProvidersOwnError: a revocation endpoint
// refusing the page's Log out with an error code of the provider's own
// (account_locked) was noted as a renewal refused so (renewal_refused),
// and as a configuration to fix: the page followed the provider's words
// with "to end the grant with Log out once that is fixed" and "fix it,
// then click Renew now", which fixes no log-out. It is a log-out's
// refusal (logout_refused), told as `freshtoken logout` tells it: the
// provider's words, the tokens kept, the grant that may still be valid,
// and what to do.
func TestLogoutButtonRefusedWithTheProvidersOwnError(t *testing.T) {
	locked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"account_locked","error_description":"the account is locked: call support"}`))
	}))
	t.Cleanup(locked.Close)
	f := revFixture(t, func(*fixture) string { return locked.URL + "/revoke" })
	f.login(t, "rev")
	loc := f.logOutRev(t, "logout-failed")
	if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec == nil {
		t.Fatalf("after Log out the store holds %+v, %v; want the tokens kept", rec, err)
	}
	_, page := f.get(t, loc)
	said := html.UnescapeString(string(page))
	for _, want := range []string{
		`refused to revoke the refresh token with an error of its own, which only its words explain (HTTP 400 Bad Request, account_locked: "the account is locked: call support")`,
		"the grant may still be valid at the provider: press Log out later to end it, or remove the app's access in your account at the provider and run `freshtoken logout --local -e rev` to forget them",
	} {
		if !strings.Contains(said, want) {
			t.Errorf("the page does not say %q:\n%s", want, page)
		}
	}
	for _, not := range []string{"then click Renew now", "once that is fixed"} {
		if strings.Contains(said, not) {
			t.Errorf("the page says %q of a log-out the provider refused:\n%s", not, page)
		}
	}
}
