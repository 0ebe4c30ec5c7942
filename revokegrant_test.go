package freshtoken_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
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

// answerJSON answers with status and body, a JSON document, as a
// provider's error.
func answerJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(body))
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
				answerJSON(w, http.StatusBadRequest, `{"error":"invalid_token","error_description":"Token expired or revoked"}`)
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
		answerJSON(w, http.StatusBadRequest, `{"error":"invalid_request","error_description":"only refresh tokens are revoked"}`)
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

// TestRevocationTriedAgainWhileTheEndpointCannotAnswer: a revocation
// endpoint answering that it cannot answer now (a 503, a 429) was given up
// at the first answer, and logout forgot the tokens of a grant that lived
// on, with nothing left to end it. Revoking again is harmless (RFC 7009
// 2.2): it is tried again, as Settings.RetryBackoff says, or as long as
// Retry-After asks when that is longer, up to ten seconds; one asking for
// longer is given up at once, its wait told. A refusal, or a 4xx web page
// (a mistyped path's as often as a gateway's), is never tried again.
func TestRevocationTriedAgainWhileTheEndpointCannotAnswer(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failures int // answers of failing before it revokes
		fail     func(w http.ResponseWriter)
		waits    []time.Duration
		err      string // "": revoked
	}{
		{"503 twice", 2, func(w http.ResponseWriter) { http.Error(w, "down", http.StatusServiceUnavailable) },
			[]time.Duration{5 * time.Millisecond, 5 * time.Millisecond}, ""},
		{"503 asking to wait 3s", 1, func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3")
			http.Error(w, "down for a deploy", http.StatusServiceUnavailable)
		}, []time.Duration{3 * time.Second}, ""},
		{"429 asking to wait an hour", 1, func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, nil, "(HTTP 429 Too Many Requests, asking to wait 1h0m0s)"},
		{"503 at every try", 100, func(w http.ResponseWriter) { http.Error(w, "down", http.StatusServiceUnavailable) },
			[]time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}, "(HTTP 503 Service Unavailable, at each of 4 tries)"},
		{"404 web page", 100, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("<html><body>Not Found</body></html>"))
		}, nil, "(HTTP 404 Not Found)"},
		{"400 temporarily_unavailable", 1, func(w http.ResponseWriter) {
			answerJSON(w, http.StatusBadRequest, `{"error":"temporarily_unavailable"}`)
		}, []time.Duration{5 * time.Millisecond}, ""},
		{"client refused", 100, func(w http.ResponseWriter) {
			answerJSON(w, http.StatusUnauthorized, `{"error":"invalid_client"}`)
		}, nil, "(HTTP 401 Unauthorized, invalid_client)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			failures := tt.failures
			srv, seen := revocationEndpoint(t, func(w http.ResponseWriter, _ string) {
				if failures > 0 {
					failures--
					tt.fail(w)
				}
			})
			r, _ := loggedIn(t)
			revokeAt(r, srv.URL+"/revoke")
			src := r.source()
			var waits []time.Duration
			freshtoken.SetPause(src, func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			})
			err := src.Revoke(context.Background())
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("Revoke: %v; want it revoked once the endpoint answers", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("Revoke: %v; want an error saying %q", err, tt.err)
			}
			if !slices.Equal(waits, tt.waits) {
				t.Errorf("waited %v (requests %q); want %v", waits, seen(), tt.waits)
			}
		})
	}
}

// TestRefreshTokenRevocationUnsupported: a revocation endpoint that
// answers the refresh token 400 unsupported_token_type (RFC 7009 2.2.1: it
// revokes no refresh tokens) is a revocation endpoint taking the client:
// the failure is the provider's (ErrUnreachable: logout forgets the tokens
// and says the grant may live on), told with its code. It was taken for a
// rejected client ("check client_id, the client secret and client_auth"),
// and logout kept the tokens, exit 2, at every try.
func TestRefreshTokenRevocationUnsupported(t *testing.T) {
	srv, _ := revocationEndpoint(t, func(w http.ResponseWriter, _ string) {
		answerJSON(w, http.StatusBadRequest, `{"error":"unsupported_token_type"}`)
	})
	r, _ := loggedIn(t)
	revokeAt(r, srv.URL+"/revoke")
	err := r.source().Revoke(context.Background())
	if !errors.Is(err, freshtoken.ErrUnreachable) || errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "could not revoke the refresh token (HTTP 400 Bad Request, unsupported_token_type)") {
		t.Fatalf("Revoke: %v; want ErrUnreachable naming unsupported_token_type", err)
	}
}

// TestRevocationAnsweredWithAnother2xx: a revocation endpoint answering
// 204 No Content (or 202 Accepted) has revoked the token, as one answering
// 200 has; RFC 7009 names 200, and HTTP any 2xx. Revoke took such an
// answer for the provider's failure: logout said it could not revoke the
// refresh token and that the grant may live on (exit 5), of a grant it had
// ended. The token endpoint already takes any 2xx as an answer.
func TestRevocationAnsweredWithAnother2xx(t *testing.T) {
	for _, status := range []int{http.StatusNoContent, http.StatusAccepted} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv, seen := revocationEndpoint(t, func(w http.ResponseWriter, _ string) { w.WriteHeader(status) })
			r, _ := loggedIn(t)
			revokeAt(r, srv.URL+"/revoke")
			unknown, err := r.source().RevokeGrant(context.Background())
			if err != nil || unknown != "" || len(seen()) != 2 {
				t.Fatalf("RevokeGrant = %q, %v after %q; want both tokens revoked", unknown, err, seen())
			}
		})
	}
}

// TestPresetRevocationEndpointRefusingAsAnInvalidRequest: an invalid_request
// from a revocation endpoint that a provider preset names
// (Settings.RevocationURLFromProvider: Google's, Xero's, QuickBooks') is the
// provider's failure (ErrUnreachable: logout forgets the tokens, saying the
// grant may live on), as from one its discovery document names: it was
// told as the configuration's ("check revocation_url", ErrClientRejected:
// logout kept the tokens, exit 2, at every try), of a setting the person
// never wrote. From a revocation_url the person wrote it still is.
func TestPresetRevocationEndpointRefusingAsAnInvalidRequest(t *testing.T) {
	for _, preset := range []bool{true, false} {
		t.Run(fmt.Sprintf("preset %t", preset), func(t *testing.T) {
			srv, _ := revocationEndpoint(t, func(w http.ResponseWriter, _ string) {
				answerJSON(w, http.StatusBadRequest, `{"error":"invalid_request","error_description":"malformed"}`)
			})
			r, _ := loggedIn(t)
			revokeAt(r, srv.URL+"/revoke")
			r.settings.RevocationURLFromProvider = preset
			err := r.source().Revoke(context.Background())
			toCheck := strings.Contains(fmt.Sprint(err), "check revocation_url")
			if errors.Is(err, freshtoken.ErrClientRejected) != !preset || errors.Is(err, freshtoken.ErrUnreachable) != preset || toCheck == preset {
				t.Fatalf("Revoke: %v; want the provider's failure (ErrUnreachable) %t, the configuration's (ErrClientRejected, check revocation_url) %t", err, preset, !preset)
			}
		})
	}
}

// TestRevocationHasOneDeadline: a revocation endpoint answering 503
// slowly held a log-out (and the renewal lock) for a time-out's worth of
// each try, four tries for each token, as the limit on waits between
// tries was all there was. The whole revocation now ends within
// Settings.Timeout: the try the deadline cuts short is the last, the
// access token is not sent once no time is left, and the error says the
// time ran out.
func TestRevocationHasOneDeadline(t *testing.T) {
	srv, seen := revocationEndpoint(t, func(w http.ResponseWriter, _ string) {
		time.Sleep(600 * time.Millisecond) // the slow endpoint the test is about, not a wait for anything
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	r, _ := loggedIn(t)
	revokeAt(r, srv.URL+"/revoke")
	r.settings.Timeout = time.Second
	src := r.source()
	freshtoken.SetPause(src, func(context.Context, time.Duration) error { return nil })
	err := src.Revoke(context.Background())
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "within 1s (timeout)") {
		t.Errorf("Revoke: %v; want the provider's failure, saying the time-out ran out", err)
	}
	if len(seen()) > 2 {
		t.Errorf("requests %q; want at most two tries of the refresh token within the time-out", seen())
	}
}

// TestInterruptedRevocationSaysTheGrantWasRevoked: a revocation given up
// (its context ended) as the access token's waits, once the provider has
// answered that it revoked the refresh token, wraps ErrGrantRevoked beside
// the context's error: the grant has ended, and logout says so rather
// than that the provider "may" have revoked the tokens. Given up before
// that answer, it does not. Its message is one line (errors.Join had the
// sentinel's text and the context's on two).
func TestInterruptedRevocationSaysTheGrantWasRevoked(t *testing.T) {
	for _, tt := range []struct {
		silent  string // the hint whose revocation is not answered
		revoked bool
	}{
		{"refresh_token", false},
		{"access_token", true},
	} {
		t.Run(tt.silent, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			srv, _ := revocationEndpoint(t, func(w http.ResponseWriter, hint string) {
				if hint == tt.silent {
					cancel() // Ctrl-C as the endpoint takes its time
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			})
			r, _ := loggedIn(t)
			revokeAt(r, srv.URL+"/revoke")
			err := r.source().Revoke(ctx)
			if !errors.Is(err, context.Canceled) || errors.Is(err, freshtoken.ErrGrantRevoked) != tt.revoked || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Revoke: %q; want one line, context.Canceled, and ErrGrantRevoked %t", err, tt.revoked)
			}
		})
	}
}

// TestInterruptedRevocationForgetsOnceTheGrantEnded: a log-out
// (RevokeAndLogoutOf, as logout and the proxy's page use it)
// interrupted as the access token's revocation waits, once the provider
// has revoked the refresh token or answered that it no longer knows it,
// forgets the tokens, in a file store and in Redis alike, its context
// ended: the grant has ended. They were kept, for a log-out again to
// revoke a grant no longer there. Interrupted before the refresh token's
// answer, the tokens are kept: the grant may live on.
func TestInterruptedRevocationForgetsOnceTheGrantEnded(t *testing.T) {
	for _, tt := range []struct {
		name   string
		silent string // the hint whose revocation is not answered
		gone   bool   // the refresh token is answered invalid_token
		kept   bool
	}{
		{"refresh token unanswered", "refresh_token", false, true},
		{"refresh token revoked", "access_token", false, false},
		{"refresh token no longer known", "access_token", true, false},
	} {
		for _, where := range []string{"file", "redis"} {
			t.Run(tt.name+" in "+where, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				srv, _ := revocationEndpoint(t, func(w http.ResponseWriter, hint string) {
					switch {
					case hint == tt.silent:
						cancel() // Ctrl-C as the endpoint takes its time
						w.WriteHeader(http.StatusServiceUnavailable)
					case tt.gone:
						answerJSON(w, http.StatusBadRequest, `{"error":"invalid_token"}`)
					}
				})
				r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
				revokeAt(r, srv.URL+"/revoke")
				src := r.source()
				if where == "redis" {
					src = r.sourceOn(redistest.OpenStore(t, redistest.Start(t).URL))
				}
				r.login(src)
				rec, err := src.Record(context.Background())
				if err != nil || rec == nil {
					t.Fatalf("logged in: %+v, %v", rec, err)
				}
				_, kept, revokeErr, err := src.RevokeAndLogoutOf(ctx, rec)
				if err != nil || kept != tt.kept || !errors.Is(revokeErr, context.Canceled) || errors.Is(revokeErr, freshtoken.ErrGrantRevoked) == tt.kept {
					t.Fatalf("RevokeAndLogoutOf: kept %t, revocation %v, log-out %v; want it given up, ErrGrantRevoked %t", kept, revokeErr, err, !tt.kept)
				}
				if after, err := src.Record(context.Background()); err != nil || (after != nil) != tt.kept {
					t.Fatalf("the store holds %+v, %v; want the tokens kept: %t", after, err, tt.kept)
				}
			})
		}
	}
}

// TestRevokeAndLogoutOfKeepsTheTokensOfAFailedRevocation: the engine, not
// its callers, keeps the tokens when their revocation failed (a refused
// client here), for the log-out to be tried again, and says so (kept);
// revoked, or no longer known to the provider, they are forgotten; a later
// log-in's, found in their place, is sent nothing and kept, but not for
// the revocation's sake. logout and the proxy's page each passed this rule
// as a keep function of their own.
func TestRevokeAndLogoutOfKeepsTheTokensOfAFailedRevocation(t *testing.T) {
	for _, tt := range []struct {
		name       string
		status     int
		body       string
		laterLogIn bool
		kept       bool   // for the revocation's failure
		revokeErr  error  // what it wraps
		unknown    string // the provider's answer that it no longer knew them
		stored     bool   // tokens left in the store
	}{
		{name: "revoked", status: http.StatusOK},
		{name: "no longer known", status: http.StatusBadRequest, body: `{"error":"invalid_token"}`, unknown: "invalid_token"},
		{name: "client refused", status: http.StatusUnauthorized, body: `{"error":"invalid_client"}`, kept: true, revokeErr: freshtoken.ErrClientRejected, stored: true},
		{name: "a later log-in", status: http.StatusOK, laterLogIn: true, revokeErr: store.ErrChanged, stored: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := revocationEndpoint(t, func(w http.ResponseWriter, hint string) {
				answerJSON(w, tt.status, tt.body)
			})
			r := newRig(t, devprovider.Options{})
			revokeAt(r, srv.URL+"/revoke")
			src := r.loggedInSource()
			rec, err := src.Record(context.Background())
			if err != nil || rec == nil {
				t.Fatalf("logged in: %+v, %v", rec, err)
			}
			if tt.laterLogIn {
				r.clock.Advance(time.Minute)
				r.login(src)
			}
			unknown, kept, revokeErr, err := src.RevokeAndLogoutOf(context.Background(), rec)
			if kept != tt.kept || unknown != tt.unknown || (tt.revokeErr == nil) != (revokeErr == nil) || !errors.Is(revokeErr, tt.revokeErr) {
				t.Fatalf("RevokeAndLogoutOf: unknown %q, kept %t, revocation %v; want unknown %q, kept %t, revocation wrapping %v", unknown, kept, revokeErr, tt.unknown, tt.kept, tt.revokeErr)
			}
			if tt.laterLogIn != errors.Is(err, store.ErrChanged) || !tt.laterLogIn && err != nil {
				t.Fatalf("RevokeAndLogoutOf's log-out: %v; want store.ErrChanged %t", err, tt.laterLogIn)
			}
			if tt.laterLogIn && len(seen()) != 0 {
				t.Fatalf("sent %q for a later log-in's tokens; want nothing sent", seen())
			}
			if after, err := src.Record(context.Background()); err != nil || (after != nil) != tt.stored {
				t.Fatalf("the store holds %+v, %v; want tokens stored: %t", after, err, tt.stored)
			}
		})
	}
}

// TestAccessTokenFailingOnceTheGrantEnded: once the provider has revoked
// the refresh token (or answered that it no longer knows it), the grant
// has ended, and an access token whose revocation then fails (a 503 at
// every try, the connection closed) lasts until it expires, as one it
// refuses does: Revoke succeeds. It was the provider's failure
// (ErrUnreachable), and logout said that the grant may still be valid at
// the provider, of a grant just ended.
func TestAccessTokenFailingOnceTheGrantEnded(t *testing.T) {
	for _, tt := range []struct {
		name    string
		refresh func(w http.ResponseWriter) // the refresh token's answer
		access  func(w http.ResponseWriter) // the access token's
		unknown string
	}{
		{"revoked, then 503", func(http.ResponseWriter) {}, func(w http.ResponseWriter) { http.Error(w, "down", http.StatusServiceUnavailable) }, ""},
		{"revoked, then the connection closed", func(http.ResponseWriter) {}, func(w http.ResponseWriter) {
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				c.Close()
			}
		}, ""},
		{"no longer known, then 503", func(w http.ResponseWriter) {
			answerJSON(w, http.StatusBadRequest, `{"error":"invalid_token"}`)
		}, func(w http.ResponseWriter) { http.Error(w, "down", http.StatusServiceUnavailable) }, "invalid_token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := revocationEndpoint(t, func(w http.ResponseWriter, hint string) {
				if hint == "refresh_token" {
					tt.refresh(w)
					return
				}
				tt.access(w)
			})
			r, _ := loggedIn(t)
			revokeAt(r, srv.URL+"/revoke")
			src := r.source()
			freshtoken.SetPause(src, func(context.Context, time.Duration) error { return nil })
			unknown, err := src.RevokeGrant(context.Background())
			if err != nil || unknown != tt.unknown {
				t.Fatalf("RevokeGrant = %q, %v after %q; want %q, the grant ended", unknown, err, seen(), tt.unknown)
			}
		})
	}
}
