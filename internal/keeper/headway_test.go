package keeper

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestRenewalsThatGainNothingAreNotRepeatedAtOnce: a provider whose
// renewals bring an access token that expires no later than the one it
// replaced (one that hands back its cached token until it expires), or
// within a second of its arrival (a token lasting a second, or expired as
// a slow answer arrives), left the token file's plan due again at once:
// the keeper renewed about once a second (the engine's floor), 60 a
// minute where FreeAgent allows 15, and looked several times a second.
// A renewal that gained nothing is repeated a minute later at the soonest,
// and the log says so once.
func TestRenewalsThatGainNothingAreNotRepeatedAtOnce(t *testing.T) {
	for _, tt := range []struct {
		name string
		// answer is the access token's expires_in for a renewal sent at
		// now, the first token expiring at first; slow is how long of the
		// clock the answer takes.
		answer func(now, first time.Time) int
		slow   time.Duration
		// most is the most renewals in the ten minutes after the plan.
		most int
	}{
		{"no later than the last", func(now, first time.Time) int {
			if left := int(first.Sub(now) / time.Second); left > 0 {
				return left
			}
			return 3600 // a new token once the cached one has expired
		}, 0, 2},
		{"lasting a second", func(time.Time, time.Time) int { return 1 }, 0, 11},
		{"expired as it arrives", func(time.Time, time.Time) int { return 1 }, 2 * time.Second, 11},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := fakeclock.New()
			first := clock.Now().Add(time.Hour)
			var renewals atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := renewals.Add(1)
				expiresIn := tt.answer(clock.Now(), first)
				clock.Advance(tt.slow)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":"access-token-renewed-%d","refresh_token":"refresh-token-1234567890","token_type":"bearer","expires_in":%d}`, n, expiresIn)
			}))
			t.Cleanup(srv.Close)
			st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
			grant := store.Grant{TokenURL: srv.URL + "/token", ClientID: "dev-client-id", Type: freshtoken.GrantAuthorizationCode}
			src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: grant.ClientID, ClientSecret: "s3cr3t-value",
				TokenURL: grant.TokenURL, AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true},
				freshtoken.Options{Store: st, Clock: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Save(context.Background(), "dev", &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
				IssuedAt: clock.Now(), Expiry: first, Grant: grant}); err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			k := keeping(src, filepath.Join(t.TempDir(), "token"))
			k.Now, k.Logger = clock.Now, slog.New(slog.NewTextHandler(&logs, nil))
			plan := first.Add(-time.Minute)
			sent := runAsWatches(context.Background(), k, clock, []string{"dev"}, plan.Add(10*time.Minute), func() int { return int(renewals.Load()) })
			t.Logf("renewals in each minute after the plan: %v", perMinute(sent))
			if len(sent) == 0 || len(sent) > tt.most {
				t.Errorf("%d renewals in the ten minutes after the plan (%v a minute); want 1 to %d", len(sent), perMinute(sent), tt.most)
			}
			if n := strings.Count(logs.String(), "gained nothing"); n != 1 {
				t.Errorf("the log says %d times that a renewal gained nothing; want once:\n%s", n, logs.String())
			}
		})
	}
}
