package freshtoken_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
)

// TestRevocationRefusedWithTheProvidersOwnErrorIsALogOutsRefusal: a
// revocation endpoint refusing with an error code of the provider's own
// (account_locked) was sorted as a renewal refused so (renewal_refused):
// the proxy's page then followed the provider's words with "fix it, then
// click Renew now", of a log-out. It is a log-out's refusal, of its own
// code (logout_refused), exit 2 as a renewal's: the provider's words say
// what to do, and no try changes them.
func TestRevocationRefusedWithTheProvidersOwnErrorIsALogOutsRefusal(t *testing.T) {
	srv, seen := revocationEndpoint(t, func(w http.ResponseWriter, _ string) {
		answerJSON(w, http.StatusBadRequest, `{"error":"account_locked","error_description":"locked; call support"}`)
	})
	r, _ := loggedIn(t)
	revokeAt(r, srv.URL+"/revoke")
	err := r.source().Revoke(context.Background())
	kind := failure.Of(err)
	if row := kind.Row(); kind != failure.LogoutRefused || row.Code != "logout_refused" || row.Exit != 2 || row.Status != http.StatusBadGateway {
		t.Errorf("Revoke: %v, sorted as kind %d %+v; want logout_refused, exit 2, 502", err, kind, row)
	}
	if !errors.Is(err, tokenerr.ErrOwnRefusal) || !strings.Contains(err.Error(), `account_locked: "locked; call support"`) || len(seen()) != 1 {
		t.Errorf("Revoke: %v after %q; want the provider's words, told as its own refusal, tried once", err, seen())
	}
}

// TestARevocationRefusalQuotingTheTokenShowsItMasked: a revocation
// endpoint refusing with an error of its own whose description quotes the
// token it was sent shows it masked in the error's
// message, which a program reads and logout prints: the stored refresh
// token, an access token stored alone, tokens another process stored
// (as an older freshtoken wrote them), which this one only reads, as
// `freshtoken logout` does, and the refresh token of a renewal's answer
// that the store refused, which the revocation sends in place of the
// stored one. The redact registry masks each, as the source
// registers every token it stores or reads; the revocation no longer
// masks the token sent by hand as well.
func TestARevocationRefusalQuotingTheTokenShowsItMasked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(r *rig, src *freshtoken.Source, own *ownStore)
	}{
		{"the stored refresh token", func(*rig, *freshtoken.Source, *ownStore) {}},
		{"an access token stored alone", func(r *rig, _ *freshtoken.Source, _ *ownStore) {
			rec := r.record()
			rec.RefreshToken = ""
			if err := r.store.Save(context.Background(), r.settings.Env, rec); err != nil {
				t.Fatal(err)
			}
		}},
		{"tokens another process stored, as an older freshtoken wrote them", func(r *rig, _ *freshtoken.Source, _ *ownStore) {
			// Tokens this process never held, read only by the revocation:
			// `freshtoken logout` or `remove`, a process of their own.
			rec := r.record()
			rec.AccessToken, rec.RefreshToken, rec.Grant = "at-"+rand.Text(), "rt-"+rand.Text(), store.Grant{}
			if err := r.store.Save(context.Background(), r.settings.Env, rec); err != nil {
				t.Fatal(err)
			}
		}},
		{"the refresh token of an answer the store refused", func(_ *rig, src *freshtoken.Source, own *ownStore) {
			own.broken.Store(true)
			if _, err := src.Renew(context.Background()); err == nil {
				t.Fatal("a renewal whose answer the store refused succeeded")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.WaitFor(t, "earlier tests' saving goroutines to end", func() bool { return savingGoroutines() == 0 })
			sent := make(chan string, 2)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				token := req.PostFormValue("token")
				sent <- token
				body, _ := json.Marshal(map[string]string{"error": "account_locked", "error_description": "locked: token " + token})
				answerJSON(w, http.StatusBadRequest, string(body))
			}))
			defer srv.Close()
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			revokeAt(r, srv.URL+"/revoke")
			own := &ownStore{Store: r.store}
			src := r.sourceOn(own)
			r.login(src)
			saved := make(chan struct{})
			pauseUntil(src, saved) // the saving goroutine, if any, tries again once the check is done
			defer func() {
				own.broken.Store(false)
				close(saved)
				testenv.WaitFor(t, "the saving goroutine to end", func() bool { return savingGoroutines() == 0 })
			}()
			tc.prepare(r, src, own)
			err := src.Revoke(context.Background())
			var fe *freshtoken.Error
			if !errors.As(err, &fe) || !errors.Is(err, tokenerr.ErrOwnRefusal) {
				t.Fatalf("Revoke: %v; want the provider's own refusal, a *freshtoken.Error", err)
			}
			token := <-sent
			for _, said := range []string{fe.Msg, err.Error()} {
				if strings.Contains(said, token) || !strings.Contains(said, "locked: token "+redact.Mask(token)) {
					t.Errorf("the refusal says %q; want the token sent masked in it, %s", said, redact.Mask(token))
				}
			}
		})
	}
}
