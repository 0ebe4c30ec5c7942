package interop

import (
	"net/http"
	"testing"
)

// TestConcurrentProcesses starts 20 `freshtoken token` processes at once on
// an expired token: one of them renews it, the others wait for the lock and
// use the token it stored, so fosite sees exactly one refresh. After the
// next expiry, 20 `freshtoken get` processes do the same.
func TestConcurrentProcesses(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"basic", "body"} {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, auth)
			f.login(t)
			old := f.record(t)
			f.waitExpired(t, old.AccessToken)

			const n = 20
			tokens := f.runAtOnce(t, n, "token")
			issued := f.srv.LastIssued(t)
			if len(tokens) != 1 || tokens[issued.AccessToken] != n {
				t.Errorf("the %d processes printed %d different tokens, want all the one fosite issued last", n, len(tokens))
			}
			if got := f.srv.RefreshGrants(); got != 1 {
				t.Errorf("fosite saw %d refreshes, want 1; token endpoint traffic:%s", got, f.srv.Summary())
			}
			f.checkClean(t)
			if rec := f.record(t); rec.RefreshToken != issued.RefreshToken || rec.Renewals != 1 {
				t.Errorf("the store does not hold the one rotated refresh token (renewals %d)", rec.Renewals)
			}
			if st := f.callAPI(t, issued.AccessToken); st != http.StatusOK {
				t.Errorf("the API answered %d to the renewed token", st)
			}

			// Again after the next expiry, with API calls instead.
			f.waitExpired(t, issued.AccessToken)
			for me := range f.runAtOnce(t, n, "get", "/api/me") {
				f.checkMe(t, me)
			}
			if got := f.srv.RefreshGrants(); got != 2 {
				t.Errorf("fosite saw %d refreshes in all, want 2; token endpoint traffic:%s", got, f.srv.Summary())
			}
			f.checkClean(t)
		})
	}
}
