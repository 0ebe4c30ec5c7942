package freshtoken_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/store"
)

// TestARefusalIsToldByItsErrorCode: a renewal refused with invalid_request,
// invalid_scope or an error code of the provider's own was told as
// "rejected the client", with the step to check client_id, the client
// secret and client_auth, whatever the code said. Each is now told by what
// RFC 6749 §5.2 says its code means, the provider's words quoted, with a
// step that fits (the command line adds none of its own then); only
// invalid_client, unauthorized_client and no code at all are a rejected
// client: invalid_target (RFC 8707) is the resource asked for, and a code
// OAuth defines for another step (access_denied) is told in the
// provider's words, as a code of its own is; both were "rejected the
// client". A code of the provider's own is no configuration's fault known:
// it is its own kind, renewal_refused (exit 2, the proxy's 502, the
// notice's event, the problem status shows), not client_rejected. None is
// retried: one token request each.
func TestARefusalIsToldByItsErrorCode(t *testing.T) {
	for _, tc := range []struct {
		name, answer, want, next string
		kind                     failure.Kind // and the problem noted: renewal_refused for Refused, else client_rejected
	}{
		{"unknown code", `{"error":"account_locked","error_description":"locked; check nothing"}`,
			`refused the renewal with an error of its own, which only its words explain (HTTP 400 account_locked: "locked; check nothing"); check what they name, or log in again if they name the refresh token or the log-in`, "", failure.Refused},
		{"invalid_request", `{"error":"invalid_request","error_description":"resource not allowed"}`,
			`refused the renewal request as malformed (HTTP 400 invalid_request: "resource not allowed"); check client_auth, token_params, audience and resource`, "", failure.ClientRejected},
		{"invalid_scope", `{"error":"invalid_scope"}`, `refused the scope asked for (HTTP 400 invalid_scope); check scopes`, "", failure.ClientRejected},
		{"invalid_target", `{"error":"invalid_target"}`, `refused the resource asked for (HTTP 400 invalid_target); check resource`, "", failure.ClientRejected},
		{"a code OAuth defines for another step", `{"error":"access_denied","error_description":"account suspended"}`,
			`refused the renewal with an error of its own, which only its words explain (HTTP 400 access_denied: "account suspended"); check what they name, or log in again if they name the refresh token or the log-in`, "", failure.Refused},
		{"invalid_client", `{"error":"invalid_client"}`, `rejected the client (HTTP 400 invalid_client)`, "check client_id, the client secret and client_auth in the config", failure.ClientRejected},
		{"no code", `{}`, `rejected the client (HTTP 400 "{}")`, "check client_id, the client secret and client_auth in the config", failure.ClientRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, tries := refusedRenewals(t, tc.answer)
			_, err := r.source().Token()
			if !errors.Is(err, freshtoken.ErrClientRejected) || !strings.HasSuffix(err.Error(), tc.want) || tries.Load() != 1 {
				t.Fatalf("err = %v after %d tries; want, once, %q", err, tries.Load(), tc.want)
			}
			if next := failure.Next(err, "sandbox"); next != tc.next {
				t.Fatalf("next step %q; want %q", next, tc.next)
			}
			problem := store.ProblemClientRejected
			if tc.kind == failure.Refused {
				problem = store.ProblemRefused
			}
			if k, p := failure.Of(err), r.record().Problem; k != tc.kind || k.Row().Exit != 2 || p == nil || p.Kind != problem || !strings.HasSuffix(err.Error(), p.Message) {
				t.Fatalf("kind %v (%+v), problem noted %+v; want kind %v, exit 2, noted as %s", k, k.Row(), p, tc.kind, problem)
			}
		})
	}
}

// TestARefusalRestsRenewals: after the token endpoint refused a renewal
// (a code of the provider's own, a rejected client), every later call of
// the same Source sent a token request of its own, however soon: a proxy
// whose clients sent 30 requests made 32 token requests within a second,
// a refresh storm against the provider's limit on renewals (15 a minute at
// FreeAgent), each refused alike. Renewals now rest after a refusal as
// after an endpoint that kept failing: callers meanwhile get the same
// refusal with no token request, and a forced renewal (status's `token
// --force`, the page's Renew now) still asks.
func TestARefusalRestsRenewals(t *testing.T) {
	for _, answer := range []string{
		`{"error":"account_locked","error_description":"locked"}`,
		`{"error":"invalid_client"}`,
	} {
		t.Run(answer, func(t *testing.T) {
			r, tries := refusedRenewals(t, answer)
			src := r.source()
			_, first := src.Token()
			for range 5 {
				r.clock.Advance(2 * time.Second)
				if _, err := src.Token(); err == nil || err.Error() != first.Error() || failure.Of(err) != failure.Of(first) {
					t.Fatalf("a call after the refusal: %v; want the refusal again, %v", err, first)
				}
			}
			if n := tries.Load(); n != 1 {
				t.Fatalf("%d token requests for 6 calls in 10 s after a refusal; want 1", n)
			}
			if _, err := src.Renew(t.Context()); err == nil || tries.Load() != 2 {
				t.Fatalf("a forced renewal: %v after %d token requests; want it refused by a second request", err, tries.Load())
			}
		})
	}
}

// refusedRenewals is a rig logged in, its tokens expired, whose token
// endpoint refuses every request with answer (a 400), and the count of the
// token requests it has had.
func refusedRenewals(t *testing.T, answer string) (*rig, *atomic.Int32) {
	t.Helper()
	r, _ := loggedIn(t)
	tries := new(atomic.Int32)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tries.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, answer)
	}))
	t.Cleanup(front.Close)
	r.moveTokenEndpoint(front.URL + "/v2/token_endpoint")
	r.clock.Advance(2 * time.Hour)
	return r, tries
}

// TestADeviceLogInsRefusalIsToldByItsErrorCode: a device log-in's poll
// refused with a code of the provider's own (account_locked), or with
// invalid_scope, invalid_target or invalid_request, was told as the token
// endpoint having "rejected the client", to be fixed in client_id, the
// client secret and client_auth. It is now sorted as a renewal's refusal
// is (tokenerr.RefusalOf): the provider's own words quoted, kind
// renewal_refused, or the setting to check; invalid_client is the client
// rejected still. None is polled again. Its words are a browser log-in's
// (tokenerr.Refused): the provider's own code ended "or log in again if
// they name the refresh token or the log-in", a renewal's words, naming
// a refresh token the log-in has not got and no command.
func TestADeviceLogInsRefusalIsToldByItsErrorCode(t *testing.T) {
	for _, tc := range []struct {
		code, want, next string
		kind             failure.Kind
	}{
		{"account_locked", `refused the log-in with an error of its own, which only its words explain (HTTP 400 account_locked: "AADSTS70000: the user refused"); check what they name`, "", failure.Refused},
		{"invalid_scope", `refused the scope asked for (HTTP 400 invalid_scope: "AADSTS70000: the user refused"); check scopes`, "", failure.ClientRejected},
		{"invalid_target", `refused the resource asked for (HTTP 400 invalid_target: "AADSTS70000: the user refused"); check resource`, "", failure.ClientRejected},
		{"invalid_request", `refused the log-in request as malformed (HTTP 400 invalid_request: "AADSTS70000: the user refused"); check client_auth, token_params, audience and resource`, "", failure.ClientRejected},
		{"invalid_client", `rejected the client (HTTP 400 invalid_client: "AADSTS70000: the user refused")`, "check client_id, the client secret and client_auth in the config", failure.ClientRejected},
	} {
		t.Run(tc.code, func(t *testing.T) {
			h := newHostileDevice(t, map[string]any{"user_code": "WDJB-MJHT", "verification_uri": "https://login.example.com/device", "expires_in": 900})
			d, err := h.src.StartDeviceLogin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			h.refusal.Store(&tc.code)
			err = d.Wait(t.Context(), nil)
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) || h.polls.Load() != 1 {
				t.Fatalf("Wait = %v after %d polls; want, after one, %q", err, h.polls.Load(), tc.want)
			}
			if k, next := failure.Of(err), failure.Next(err, "tv"); k != tc.kind || k.Row().Exit != 2 || next != tc.next {
				t.Fatalf("kind %v, next step %q; want kind %v, exit 2, next step %q", k, next, tc.kind, tc.next)
			}
		})
	}
}
