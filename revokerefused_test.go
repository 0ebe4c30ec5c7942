package freshtoken_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
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
