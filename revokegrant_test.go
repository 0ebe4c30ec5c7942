package freshtoken_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// revocationEndpoint answers each revocation request with answer(hint),
// and records the hints and URLs it was sent.
func revocationEndpoint(t *testing.T, answer func(w http.ResponseWriter, hint string)) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		mu.Lock()
		seen = append(seen, req.URL.RawQuery+" "+req.PostForm.Get("token_type_hint"))
		mu.Unlock()
		answer(w, req.PostForm.Get("token_type_hint"))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

// TestRevokeGrantSaysUnknownOnlyWhenNothingWasRevoked: RevokeGrant's
// unknown tells a program that nothing was revoked, as the provider no
// longer knew the tokens. A provider that no longer knew the refresh token
// (invalid_token) but revoked the access token still valid has revoked
// something: unknown is "". It was "invalid_token", and logout said
// "nothing was revoked" of an access token the provider had just revoked.
func TestRevokeGrantSaysUnknownOnlyWhenNothingWasRevoked(t *testing.T) {
	for _, tt := range []struct {
		name        string
		accessKnown bool
		want        string
	}{
		{"access token revoked", true, ""},
		{"neither known", false, "invalid_token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := revocationEndpoint(t, func(w http.ResponseWriter, hint string) {
				if hint == "access_token" && tt.accessKnown {
					return // 200: revoked
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"error":"invalid_token","error_description":"Token expired or revoked"}`))
			})
			r, _ := loggedIn(t)
			revokeAt(r, srv.URL+"/revoke")
			unknown, err := r.source().RevokeGrant(context.Background())
			if err != nil || unknown != tt.want {
				t.Fatalf("RevokeGrant = %q, %v; want %q, nil", unknown, err, tt.want)
			}
		})
	}
}

// TestRevocationEndpointSharingTheTokenEndpointsPath: a provider whose
// revocation endpoint is its token endpoint's path with another query
// (?action=revoke) is a revocation endpoint: RevokeGrant sends it the
// tokens, and only a revocation_url that is the token URL exactly is
// refused as the token endpoint.
func TestRevocationEndpointSharingTheTokenEndpointsPath(t *testing.T) {
	srv, seen := revocationEndpoint(t, func(http.ResponseWriter, string) {})
	r, _ := loggedIn(t)
	tokenAt(r, srv.URL+"/oauth?action=token")
	revokeAt(r, srv.URL+"/oauth?action=revoke")
	if unknown, err := r.source().RevokeGrant(context.Background()); err != nil || unknown != "" {
		t.Fatalf("RevokeGrant = %q, %v; want the tokens revoked", unknown, err)
	}
	if got := seen(); len(got) != 2 || got[0] != "action=revoke refresh_token" || got[1] != "action=revoke access_token" {
		t.Fatalf("revocation requests %q; want the refresh token, then the access token, sent to ?action=revoke", got)
	}
	revokeAt(r, srv.URL+"/oauth?action=token")
	_, err := r.source().RevokeGrant(context.Background())
	var fe *freshtoken.Error
	if !errors.As(err, &fe) || !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "is the token endpoint") || len(seen()) != 2 {
		t.Fatalf("RevokeGrant at the token URL itself = %v, %d requests; want an *Error refusing it, nothing sent", err, len(seen()))
	}
}

// TestTokenEndpointRefusedHoweverSpelled: a revocation_url that is the
// token endpoint spelled another way (its scheme's default port written
// out, the scheme in capitals) is refused as the token endpoint itself is,
// nothing sent. It was sent the tokens, and a token endpoint answering
// invalid_grant had them taken for tokens the provider no longer knew, and
// forgotten while the grant lived on.
func TestTokenEndpointRefusedHoweverSpelled(t *testing.T) {
	for _, revocation := range []string{"http://127.0.0.1:80/oauth/token", "HTTP://127.0.0.1:0080/oauth/token"} {
		t.Run(revocation, func(t *testing.T) {
			r, _ := loggedIn(t)
			tokenAt(r, "http://127.0.0.1/oauth/token")
			revokeAt(r, revocation)
			_, err := r.source().RevokeGrant(context.Background())
			if !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "is the token endpoint") {
				t.Fatalf("RevokeGrant = %v; want it refused as the token endpoint, nothing sent", err)
			}
		})
	}
}

// TestRevocationTimeoutIsToldPlainly: a revocation endpoint silent past
// the environment's timeout was told as Go's bare "context deadline
// exceeded"; it is "did not answer within 300ms (timeout)", a provider
// unreachable (logout's exit 5), its URL's key masked.
func TestRevocationTimeoutIsToldPlainly(t *testing.T) {
	r, _ := loggedIn(t)
	revokeAt(r, testenv.SilentServer(t).URL+"/revoke?api_key=hush-hush-key")
	r.settings.Timeout = 300 * time.Millisecond
	_, err := r.source().RevokeGrant(context.Background())
	if msg := fmt.Sprint(err); !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(msg, "did not answer within 300ms (timeout)") ||
		strings.Contains(msg, "deadline") || strings.Contains(msg, "hush-hush-key") {
		t.Fatalf("RevokeGrant: %v; want ErrUnreachable saying the revocation endpoint did not answer within 300ms (timeout), its URL masked", err)
	}
}

// TestAccessTokenRefusedAsAnInvalidRequestOnceTheGrantEnded: a discovered
// revocation endpoint that revokes the refresh token, ending the grant, and
// answers the access token with invalid_request (a provider that revokes
// refresh tokens only, and takes no access token) has ended the grant:
// RevokeGrant succeeds, as for any refusal of the access token then.
func TestAccessTokenRefusedAsAnInvalidRequestOnceTheGrantEnded(t *testing.T) {
	srv, seen := revocationEndpoint(t, func(w http.ResponseWriter, hint string) {
		if hint == "refresh_token" {
			return // 200: revoked
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_request","error_description":"only refresh tokens are revoked"}`))
	})
	r := newRig(t, devprovider.Options{})
	tokenURL := r.settings.TokenURL
	r.settings.TokenURL, r.settings.Issuer = "", r.url
	r.settings.Discover = func(context.Context) (freshtoken.Endpoints, error) {
		return freshtoken.Endpoints{TokenURL: tokenURL, RevocationURL: srv.URL + "/revoke"}, nil
	}
	unknown, err := r.loggedInSource().RevokeGrant(context.Background())
	if err != nil || unknown != "" || len(seen()) != 2 {
		t.Fatalf("RevokeGrant = %q, %v after %q; want the grant ended, both tokens sent", unknown, err, seen())
	}
}
