package proxy_test

import (
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
