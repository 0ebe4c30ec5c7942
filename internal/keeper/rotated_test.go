package keeper

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestNoticeAfterARotationSaysItIsStored: the provider's first answer to a
// renewal brought a new refresh token and no access token (stored, the one
// sent being spent), then it answered 503 for 20 minutes. The notice after
// 15 minutes said "the stored tokens are unchanged", so a person keeping a
// copy of the old refresh token (Postman's) took it for the live one; it
// now says the new refresh token is stored.
func TestNoticeAfterARotationSaysItIsStored(t *testing.T) {
	var n atomic.Int32
	k, st, clock := keepingAfterRotation(t, func(w http.ResponseWriter) {
		if n.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"","refresh_token":"refresh-token-rotated-once","token_type":"bearer","expires_in":3600}`))
			return
		}
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	for range 20 {
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if rec, err := st.Load(context.Background(), "dev"); err != nil || rec.RefreshToken != "refresh-token-rotated-once" {
		t.Fatalf("stored %+v, %v; want the rotated refresh token", rec, err)
	}
	got := k.Notify.Current()
	if len(got) != 1 || got[0].Event != notify.Unreachable || strings.Contains(got[0].Message, "unchanged") || !strings.Contains(got[0].Message, "new refresh token") {
		t.Fatalf("notices %+v; want renewals failing, saying the new refresh token is stored", got)
	}
}

// TestTokenFileIsRenewedSoonAfterAnAnswerWithoutAnAccessToken: every try
// of a renewal was answered with a new refresh token and no access token
// (the record holding none, the old one having expired), then the provider
// answered well. The keeper planned the next renewal after
// default_lifetime (an hour), as for a token of unknown lifetime, leaving
// the expired token in the token file, every script reading it met 401s;
// it now renews at its next looks, as for an expired token.
func TestTokenFileIsRenewedSoonAfterAnAnswerWithoutAnAccessToken(t *testing.T) {
	var n atomic.Int32
	k, _, clock := keepingAfterRotation(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		if i := n.Add(1); i <= 2 {
			fmt.Fprintf(w, `{"access_token":"","refresh_token":"refresh-token-rotated-%d","token_type":"bearer","expires_in":3600}`, i)
			return
		}
		w.Write([]byte(`{"access_token":"access-token-renewed","refresh_token":"refresh-token-renewed","token_type":"bearer","expires_in":3600}`))
	})
	for range 3 {
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if b, err := os.ReadFile(k.TokenFile("dev")); err != nil || string(b) != "access-token-renewed\n" {
		t.Fatalf("token file %q, %v, three minutes after the answers without an access token; want the renewed token", b, err)
	}
}

// keepingAfterRotation is a keeper, on a fake clock and with a notifier,
// of a "dev" environment whose token file is kept, whose stored access
// token has expired, and whose token endpoint answers as answer does; with
// its store and clock.
func keepingAfterRotation(t *testing.T, answer func(w http.ResponseWriter)) (*Keeper, *filestore.Store, *fakeclock.Clock) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { answer(w) }))
	t.Cleanup(srv.Close)
	clock := fakeclock.New()
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	grant := store.Grant{TokenURL: srv.URL + "/token", ClientID: "dev-client-id", Type: freshtoken.GrantAuthorizationCode}
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: grant.ClientID, ClientSecret: "s3cr3t-value",
		TokenURL: grant.TokenURL, AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true, RetryBackoff: []time.Duration{time.Millisecond}},
		freshtoken.Options{Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	if err := st.Save(context.Background(), "dev", &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
		IssuedAt: now.Add(-2 * time.Hour), Expiry: now.Add(-time.Hour), Grant: grant}); err != nil {
		t.Fatal(err)
	}
	k := keeping(src, filepath.Join(t.TempDir(), "token"))
	k.Now = clock.Now
	k.Notify = &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	return k, st, clock
}
