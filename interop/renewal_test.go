package interop

import (
	"net/http"
	"strings"
	"testing"
)

// TestRenewals lets the access token expire three times in a row, calling
// the API after each expiry: every renewal rotates the refresh token, the
// store always holds the newest one, and fosite never detects a reuse.
func TestRenewals(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"basic", "body"} {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
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
}
