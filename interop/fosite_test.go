package interop

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLogin logs in through fosite's authorize endpoint with each client
// authentication method, then uses the stored tokens.
func TestLogin(t *testing.T) {
	eachClientAuth(t, secretAuths, func(t *testing.T, auth string) {
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

// TestRenewals lets the access token expire three times in a row, calling
// the API after each expiry: every renewal rotates the refresh token, the
// store always holds the newest one, and fosite never detects a reuse.
func TestRenewals(t *testing.T) {
	eachClientAuth(t, secretAuths, func(t *testing.T, auth string) {
		f := newFixture(t, auth)
		f.login(t)
		prev := f.record(t)
		for i := 1; i <= 3; i++ {
			f.waitExpired(t, prev.AccessToken)
			f.checkMe(t, f.mustRun(t, "get", "/api/me"))

			rec, issued := f.record(t), f.srv.LastIssued(t)
			if n := f.srv.RefreshGrants(); n != i {
				t.Fatalf("expiry %d: %d refreshes, want %d; token endpoint traffic:%s", i, n, i, f.srv.Summary())
			}
			if rec.RefreshToken != issued.RefreshToken || rec.RefreshToken == prev.RefreshToken {
				t.Fatalf("expiry %d: the store does not hold the rotated refresh token fosite issued", i)
			}
			if rec.AccessToken != issued.AccessToken || rec.Renewals != i {
				t.Fatalf("expiry %d: the store holds another access token, or %d renewals", i, rec.Renewals)
			}
			f.checkClean(t)
			prev = rec
		}

		// The last rotated refresh token is still live.
		tok := strings.TrimSpace(f.mustRun(t, "token", "--force"))
		if tok != f.srv.LastIssued(t).AccessToken || tok == prev.AccessToken {
			t.Errorf("token --force printed %q, not a new token fosite issued", tok)
		}
		if st := f.callAPI(t, tok); st != http.StatusOK {
			t.Errorf("the API answered %d to the final token", st)
		}
		if n := f.srv.RefreshGrants(); n != 4 {
			t.Errorf("%d refreshes, want 4", n)
		}
		f.checkClean(t)
	})
}

// TestConcurrentProcesses starts 20 `freshtoken token` processes at once on
// an expired token: one of them renews it, the others wait for the lock and
// use the token it stored, so fosite sees exactly one refresh. After the
// next expiry, 20 `freshtoken get` processes do the same. The renewed
// tokens live an hour, as FreeAgent's do: with two seconds, a process still
// waiting for the lock a second later rightly renews again (half-life), and
// a busy machine made the count the machine's.
func TestConcurrentProcesses(t *testing.T) {
	eachClientAuth(t, secretAuths, func(t *testing.T, auth string) {
		f := newFixture(t, auth)
		f.login(t)
		old := f.record(t)
		f.waitExpired(t, old.AccessToken)
		f.srv.SetAccessTokenLifetime(time.Hour)

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
		} else if left := time.Until(rec.Expiry); left < 50*time.Minute {
			t.Errorf("the renewed token lives %s more; the server was told to issue tokens of an hour", left)
		}
		if st := f.callAPI(t, issued.AccessToken); st != http.StatusOK {
			t.Errorf("the API answered %d to the renewed token", st)
		}

		// Again after the next expiry, with API calls instead: a token that
		// lives two seconds, forced, to see expire.
		f.srv.SetAccessTokenLifetime(2 * time.Second)
		f.mustRun(t, "token", "--force")
		f.waitExpired(t, f.srv.LastIssued(t).AccessToken)
		f.srv.SetAccessTokenLifetime(time.Hour)
		for me := range f.runAtOnce(t, n, "get", "/api/me") {
			f.checkMe(t, me)
		}
		if got := f.srv.RefreshGrants(); got != 3 {
			t.Errorf("fosite saw %d refreshes in all, want 3 (one forced between the two crowds); token endpoint traffic:%s", got, f.srv.Summary())
		}
		f.checkClean(t)
	})
}
