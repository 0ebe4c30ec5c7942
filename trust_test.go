package freshtoken_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestAnotherClientsTokensAreNeverUsed: two configurations give one
// environment name to different clients or providers. The second never
// sends, serves or deletes the first's tokens, and the first keeps working.
func TestAnotherClientsTokensAreNeverUsed(t *testing.T) {
	tests := []struct {
		name  string
		other func(s *freshtoken.Settings, elsewhere string)
	}{
		{"another client id", func(s *freshtoken.Settings, _ string) { s.ClientID = "someone-elses-client" }},
		{"another provider", func(s *freshtoken.Settings, elsewhere string) { s.TokenURL = elsewhere }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			first := r.loggedInSource()
			before := r.record()
			elsewhere, elsewhereHit := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "not expected", http.StatusTeapot)
			})
			set := r.settings
			tt.other(&set, elsewhere.URL+"/token")
			second := r.sourceWith(set)
			requests := r.provider.Stats().TokenRequests
			for _, call := range uses(second) {
				err := call()
				if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "belong to client") ||
					!strings.Contains(err.Error(), set.TokenURL) || !strings.Contains(err.Error(), r.settings.TokenURL) {
					t.Fatalf("err = %v; want log-in needed, naming both grants", err)
				}
				if strings.Contains(err.Error(), before.AccessToken) {
					t.Fatal("the error shows the other client's token")
				}
			}
			if err := second.CheckGrant(before); err == nil {
				t.Fatal("CheckGrant accepts another client's record")
			}
			if r.provider.Stats().TokenRequests != requests || elsewhereHit.Load() != 0 {
				t.Fatal("the other client's refresh token was sent somewhere")
			}
			if after := r.record(); after.AccessToken != before.AccessToken || after.RefreshToken != before.RefreshToken {
				t.Fatal("the other client's record was changed")
			}
			if tok, err := first.Renew(context.Background()); err != nil || tok.AccessToken == before.AccessToken {
				t.Fatalf("the first environment no longer works: %v", err)
			}
		})
	}
}

// TestRecordWithoutGrantIsAdopted: a record written before grants were
// recorded belongs to the first environment that uses it, and to no other.
func TestRecordWithoutGrantIsAdopted(t *testing.T) {
	r, _ := loggedIn(t)
	r.regrant(func(g *store.Grant) { *g = store.Grant{} })
	if _, err := r.source().Token(); err != nil {
		t.Fatal(err)
	}
	want := store.Grant{TokenURL: r.settings.TokenURL, ClientID: r.settings.ClientID, Type: "authorization_code", Bound: true}
	if got := r.record().Grant; got != want {
		t.Fatalf("grant %+v after first use, want %+v", got, want)
	}
	set := r.settings
	set.ClientID = "someone-elses-client"
	if _, err := r.sourceWith(set).Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("another client used an adopted record: %v", err)
	}
}

// uses are the calls by which src uses its environment's stored tokens:
// serving the access token, renewing, and logging out.
func uses(src *freshtoken.Source) []func() error {
	return []func() error{
		func() error { _, err := src.Token(); return err },
		func() error { _, err := src.Renew(context.Background()); return err },
		func() error { return src.Logout(context.Background()) },
	}
}

// countingServer is a server on loopback that answers with handle and
// counts the requests it gets.
func countingServer(t *testing.T, handle http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n.Add(1)
		handle(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// tokenServer answers every refresh with body, its %d filled with a counter
// so that each answer carries new tokens.
func tokenServer(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		i := n.Add(1)
		if strings.Contains(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		} else { // as GitHub answers
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, body, i, i)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestUnknownLifetimes: an expires_in that is missing, zero or negative is
// a lifetime unknown: the token is used, not renewed per call and not kept
// forever, but renewed once DefaultLifetime has passed.
func TestUnknownLifetimes(t *testing.T) {
	for _, field := range []string{``, `,"expires_in":0`, `,"expires_in":-30`, `,"expires_in":"-5"`} {
		t.Run(strings.TrimPrefix(field, ","), func(t *testing.T) {
			body := `{"access_token":"access-token-number-%d","refresh_token":"refresh-token-number-%d","token_type":"bearer"` + field + `}`
			srv, refreshes := tokenServer(t, http.StatusOK, body)
			r := newRig(t, devprovider.Options{})
			r.settings.TokenURL = srv.URL
			r.settings.DefaultLifetime = 10 * time.Minute
			src := r.source()
			old := &store.Record{AccessToken: "old-access-token", RefreshToken: "old-refresh-token",
				IssuedAt: r.clock.Now().Add(-time.Hour), Expiry: r.clock.Now().Add(-time.Minute)}
			if err := r.store.Save(context.Background(), "sandbox", old); err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				tok, err := src.Token()
				if err != nil {
					t.Fatal(err)
				}
				if tok.AccessToken != "access-token-number-1" {
					t.Fatalf("call %d got %q; want the one renewal's token", i, tok.AccessToken)
				}
				r.clock.Advance(20 * time.Second) // 20 calls span 6m40s, within the default lifetime
			}
			if n := refreshes.Load(); n != 1 {
				t.Fatalf("%d refreshes; want 1 for 20 calls", n)
			}
			if rec := r.record(); !rec.Expiry.IsZero() {
				t.Fatalf("stored expiry %s; want none (unknown)", rec.Expiry)
			}
			r.clock.Advance(4 * time.Minute) // past the default lifetime, less RenewBefore
			if tok, err := src.Token(); err != nil || tok.AccessToken != "access-token-number-2" {
				t.Fatalf("after the default lifetime: %v, %v; want a renewal", tok, err)
			}
		})
	}
}

// TestUnknownLifetimeWithoutARefreshToken: a log-in that gave an access
// token of no stated lifetime and no refresh token (GitHub's OAuth apps:
// tokens that last until revoked) is served past DefaultLifetime, as
// nothing could renew it and nothing says it has expired; the API's 401 is
// what ends it. It was refused once DefaultLifetime (less RenewBefore) had
// passed, as "expired", and a log-in asked for, however valid it still was.
func TestUnknownLifetimeWithoutARefreshToken(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	r.settings.DefaultLifetime = 10 * time.Minute
	src := r.source()
	if err := src.SaveLogin(context.Background(), &oauth2.Token{AccessToken: "lasting-access-token", TokenType: "bearer"}, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(24 * time.Hour)
	for _, get := range []func() (*oauth2.Token, error){src.Token, func() (*oauth2.Token, error) { return src.TokenValidFor(context.Background(), 10*time.Minute) }} {
		if tok, err := get(); err != nil || tok.AccessToken != "lasting-access-token" {
			t.Fatalf("a day later: %v, %v; want the token served, no renewal being possible", tok, err)
		}
	}
	if n := r.provider.Stats().TokenRequests; n != 0 {
		t.Fatalf("%d token requests; want none", n)
	}
	resp, err := src.Client().Get(r.url + "/v2/company") // the provider knows no such token
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("the API refusing it: %v; want a log-in needed, saying the API refused the token", err)
	}
}

// TestStillValidWithoutARefreshToken: an access token that came with no
// refresh token, asked for within RenewBefore of its expiry, needs a
// log-in, and the error says how long it is still valid: it said the
// tokens had expired.
func TestStillValidWithoutARefreshToken(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	src := r.source()
	if err := src.SaveLogin(context.Background(), &oauth2.Token{AccessToken: "short-access-token", TokenType: "bearer", ExpiresIn: 3600}, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour - 30*time.Second)
	_, err := src.Token()
	if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "the access token expires in 30s, and came with no refresh token to renew it") {
		t.Fatalf("30 s before expiry: %v; want a log-in needed, saying the token expires in 30s", err)
	}
	r.clock.Advance(time.Minute)
	if _, err := src.Token(); err == nil || !strings.Contains(err.Error(), "the stored tokens have expired and came with no refresh token") {
		t.Fatalf("once expired: %v", err)
	}
}

// TestRenewalsAtMostOncePerSecond: tokens that live a second are not renewed
// on every call, whatever the arithmetic says; a forced renewal still is.
func TestRenewalsAtMostOncePerSecond(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Second})
	src := r.loggedInSource()
	if _, err := src.Renew(context.Background()); err != nil { // a log-in is not a renewal; this is
		t.Fatal(err)
	}
	for range 3 {
		r.clock.Advance(300 * time.Millisecond) // half the lifetime has passed after the second step
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.provider.Stats().Refreshes; n != 1 {
		t.Fatalf("%d refreshes within a second of the first; want just that one", n)
	}
	r.clock.Advance(200 * time.Millisecond)
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := r.provider.Stats().Refreshes; n != 3 {
		t.Fatalf("%d refreshes; want the first, one due after a second and one forced", n)
	}
}

// storeWatcher is a log handler that fails the test if anything is logged
// after the provider answered a refresh and before the answer was stored:
// a log line that cannot be written (a closed pipe) may end the process.
type storeWatcher struct {
	t        *testing.T
	r        *rig
	answered *atomic.Bool
	oldToken string
	lines    *atomic.Int32
}

func (h storeWatcher) Enabled(context.Context, slog.Level) bool { return true }
func (h storeWatcher) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h storeWatcher) WithGroup(string) slog.Handler            { return h }
func (h storeWatcher) Handle(_ context.Context, rec slog.Record) error {
	if h.answered.Load() {
		h.lines.Add(1)
		if h.r.record().RefreshToken == h.oldToken {
			h.t.Errorf("%q was logged after the provider answered, before its tokens were stored", rec.Message)
		}
	}
	return nil
}

type answeredTransport struct{ answered *atomic.Bool }

func (a answeredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	a.answered.Store(err == nil)
	return resp, err
}

func TestAnswerStoredBeforeAnythingIsLogged(t *testing.T) {
	r, _ := loggedIn(t)
	var answered atomic.Bool
	var lines atomic.Int32
	old := r.record().RefreshToken
	log := slog.New(storeWatcher{t: t, r: r, answered: &answered, oldToken: old, lines: &lines})
	var sent, stored atomic.Int32
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, Logger: log,
		HTTPClient: &http.Client{Transport: answeredTransport{&answered}},
		Sending: func(rn freshtoken.Renewal) func() {
			if rn.Env != "sandbox" || rn.TokenURL != r.settings.TokenURL {
				t.Errorf("Sending told of %+v", rn)
			}
			sent.Add(1)
			return func() {
				if r.record().RefreshToken == old {
					t.Error("Sending's stored() was called before the answer was stored")
				}
				stored.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lines.Load() == 0 {
		t.Fatal("nothing was logged after the answer; the test proves nothing")
	}
	if sent.Load() != 2 || stored.Load() != 2 { // the request, and its answer in hand
		t.Fatalf("Sending called %d times, stored %d; want 2 and 2", sent.Load(), stored.Load())
	}
}

// TestTokenValidFor: a token is renewed first when less than the time asked
// for is left, and only then; another process's renewal that lasts is used.
func TestTokenValidFor(t *testing.T) {
	r, src := loggedIn(t)
	other := r.source() // another process on the same store
	r.clock.Advance(45 * time.Minute)
	ctx := context.Background()
	if _, err := src.TokenValidFor(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := r.provider.Stats().Refreshes; n != 0 {
		t.Fatalf("%d refreshes with 15 minutes left and 10 asked for; want 0", n)
	}
	tok, err := src.TokenValidFor(ctx, 20*time.Minute)
	if err != nil || tok.Expiry.Sub(r.clock.Now()) < 20*time.Minute {
		t.Fatalf("asked for 20 minutes: %v, %v", tok, err)
	}
	if _, err := other.TokenValidFor(ctx, 20*time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := r.provider.Stats().Refreshes; n != 1 {
		t.Fatalf("%d refreshes; want one, used by both processes", n)
	}
	// No token of the provider's lasts two hours: a script asking for
	// that in a loop, a process per call, gets tokens as fresh as renewing
	// makes them (renewed once refresh_before has passed since one was
	// issued), not a renewal per call.
	for i := range 10 {
		r.clock.Advance(10 * time.Second)
		tok, err := r.source().TokenValidFor(ctx, 2*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if left := tok.Expiry.Sub(r.clock.Now()); left < 59*time.Minute {
			t.Fatalf("call %d: a token with %s left; want at least the lifetime less refresh_before", i, left)
		}
	}
	if n := r.provider.Stats().Refreshes; n != 2 {
		t.Fatalf("%d refreshes in 10 calls 10 s apart asking for 2h of 1h tokens; want 2: one once refresh_before (60s) had passed since the last", n)
	}
}

// TestOddLifetimesNeverLoseTheRotation: a provider that rotates the refresh
// token and writes expires_in in a way x/oauth2 cannot read (a fraction,
// text, a number too large) must not have its answer thrown away: the new
// refresh token is stored from the one request, and the lifetime is read
// as well as it can be.
func TestOddLifetimesNeverLoseTheRotation(t *testing.T) {
	for _, tt := range []struct {
		field string
		known bool
	}{
		{`"expires_in":3600.5`, true},
		{`"expires_in":"3600"`, true},
		{`"expires_in":"abc"`, false},
		{`"expires_in":1e308`, true},
		{`"expires_in":99999999999999999999`, true},
		{`"expires_in":3600,"refresh_token_expires_in":86400.9`, true},
		{`"expires_in":3600,"refresh_token_expires_in":"never"`, true},
		// Form-encoded answers, which x/oauth2 reads without mending.
		{`expires_in=99999999999999999`, true},
		{`expires_in=3600&refresh_token_expires_in=99999999999999999`, true},
	} {
		t.Run(tt.field, func(t *testing.T) {
			body := `{"access_token":"access-token-number-%d","refresh_token":"refresh-token-number-%d","token_type":"bearer",` + tt.field + `}`
			if !strings.HasPrefix(tt.field, `"`) {
				body = "access_token=access-token-number-%d&refresh_token=refresh-token-number-%d&token_type=bearer&" + tt.field
			}
			rec := renewOnceFrom(t, http.StatusOK, body)
			if known := !rec.Expiry.IsZero(); known != tt.known {
				t.Fatalf("expiry %s known %t; want known %t", rec.Expiry, known, tt.known)
			}
			// A lifetime too large to add to the issue time must not wrap
			// round into the past: the token would be renewed on every call.
			for what, at := range map[string]time.Time{"access": rec.Expiry, "refresh": rec.RefreshExpiry} {
				if !at.IsZero() && !at.After(rec.IssuedAt) {
					t.Errorf("the %s token expires %s, before it was issued (%s)", what, at, rec.IssuedAt)
				}
			}
		})
	}
}

// TestIntuitsRefreshTokenLifetimeIsRead: QuickBooks (Intuit) names the
// refresh token's lifetime x_refresh_token_expires_in; it was not read, so
// status showed the refresh token's expiry as unknown and the keeper could
// not renew before it (Intuit caps refresh tokens at five years). The
// standard name wins where both are given.
func TestIntuitsRefreshTokenLifetimeIsRead(t *testing.T) {
	for _, tt := range []struct {
		field string
		want  time.Duration
	}{
		{`"x_refresh_token_expires_in":8726400`, 8726400 * time.Second},
		{`"x_refresh_token_expires_in":"8726400"`, 8726400 * time.Second},
		{`"refresh_token_expires_in":86400,"x_refresh_token_expires_in":8726400`, 86400 * time.Second},
	} {
		t.Run(tt.field, func(t *testing.T) {
			rec := renewOnceFrom(t, http.StatusOK, `{"access_token":"access-token-number-%d","refresh_token":"refresh-token-number-%d","token_type":"bearer","expires_in":3600,`+tt.field+`}`)
			if got := rec.RefreshExpiry.Sub(rec.IssuedAt); got != tt.want {
				t.Fatalf("refresh token lives %s; want %s", got, tt.want)
			}
		})
	}
}

// TestAnswerWithAByteOrderMarkIsRead: a JSON answer that starts with a
// UTF-8 byte order mark, as some servers write it, is read, and its
// rotated refresh token stored; x/oauth2 refused it as malformed, and the
// retries spent the old refresh token again, which a provider detecting
// reuse answers by ending the grant.
//
// x/oauth2 takes any 2xx status as an answer, so a 201 Created is mended as
// a 200 is: a byte order mark or a fractional expires_in in it made
// x/oauth2 refuse it the same way. An error starting with a byte order mark
// is read as well.
func TestAnswerWithAByteOrderMarkIsRead(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusCreated} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			rec := renewOnceFrom(t, status, "\ufeff"+`{"access_token":"access-token-number-%d","refresh_token":"refresh-token-number-%d","token_type":"bearer","expires_in":3600.5}`)
			if rec.Expiry.IsZero() {
				t.Fatal("the answer's expires_in was not read")
			}
		})
	}
	// An error written so is read too: its invalid_grant is a grant that
	// ended, not a client the provider rejected.
	srv, _ := tokenServer(t, http.StatusBadRequest, "\ufeff"+`{"error":"invalid_grant","error_description":"refresh token %d of %d revoked"}`)
	if _, _, err := renewAt(t, srv); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("err = %v; want ErrLoginRequired for the grant that ended", err)
	}
}

// TestInteractionRequiredNeedsLogin: Microsoft answers a refresh with
// interaction_required when a person must sign in again (multi-factor
// authentication, consent, a conditional-access policy), and some providers
// with OpenID Connect's login_required or consent_required. Each needs a
// log-in, once, like invalid_grant: it was taken for the client being
// rejected, a configuration error sending the user to check client_id and
// the secret, and noted as such for status and notifications.
func TestInteractionRequiredNeedsLogin(t *testing.T) {
	for _, code := range []string{"interaction_required", "login_required", "consent_required"} {
		t.Run(code, func(t *testing.T) {
			srv, hits := tokenServer(t, http.StatusBadRequest, `{"error":"`+code+`","error_description":"AADSTS50076: you must use multi-factor authentication (%d of %d)"}`)
			r, _, err := renewAt(t, srv)
			if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "multi-factor") {
				t.Fatalf("err = %v; want ErrLoginRequired with the provider's reason", err)
			}
			if n := hits.Load(); n != 1 {
				t.Fatalf("%d token requests; want one", n)
			}
			if p := r.record().Problem; p == nil || p.Kind != store.ProblemGrantEnded {
				t.Fatalf("problem %+v; want a log-in needed noted", p)
			}
		})
	}
}

// TestErrorsAnsweredWith200: GitHub answers a refused token request with
// 200 OK and an error code of its own. A refresh token it no longer takes
// (bad_refresh_token) needs a log-in, and wrong client credentials
// (incorrect_client_credentials) are a configuration error, each after one
// request: both were taken for passing trouble, retried with the same
// request, and reported as a provider that could not be reached (exit 5).
func TestErrorsAnsweredWith200(t *testing.T) {
	for _, tc := range []struct {
		body string
		want error
	}{
		{`{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired (%d of %d)."}`, freshtoken.ErrLoginRequired},
		{`error=bad_refresh_token&error_description=The+refresh+token+passed+is+incorrect+or+expired+%d+%d`, freshtoken.ErrLoginRequired},
		{`{"error":"incorrect_client_credentials","error_description":"The client_id and/or client_secret passed are incorrect (%d of %d)."}`, freshtoken.ErrClientRejected},
	} {
		t.Run(tc.body, func(t *testing.T) {
			srv, hits := tokenServer(t, http.StatusOK, tc.body)
			if _, _, err := renewAt(t, srv); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "incorrect") {
				t.Fatalf("err = %v; want %v with the provider's reason", err, tc.want)
			}
			if n := hits.Load(); n != 1 {
				t.Fatalf("%d token requests; want one", n)
			}
		})
	}
}

// TestPassingTroubleIsRetriedWhateverItsStatus: a token endpoint saying
// temporarily_unavailable or server_error (Microsoft lists the first among
// its token endpoint's answers) is busy, not refusing the client, whatever
// 4xx status it sends with it: the renewal is tried again and succeeds.
// It was taken for a rejected client, a configuration error noted for
// status and notifications, and never retried.
func TestPassingTroubleIsRetriedWhateverItsStatus(t *testing.T) {
	for _, code := range []string{"temporarily_unavailable", "server_error"} {
		t.Run(code, func(t *testing.T) {
			var n atomic.Int32
			srv, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if n.Add(1) == 1 {
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprintf(w, `{"error":%q,"error_description":"AADSTS90033: try again"}`, code)
					return
				}
				w.Write([]byte(`{"access_token":"access-token-after-trouble","refresh_token":"refresh-token-after-trouble","token_type":"bearer","expires_in":3600}`))
			})
			r, _, err := renewAt(t, srv)
			if err != nil {
				t.Fatalf("Renew = %v; want the second try's tokens", err)
			}
			if rec := r.record(); hits.Load() != 2 || rec.RefreshToken != "refresh-token-after-trouble" || rec.Problem != nil {
				t.Fatalf("%d requests, stored %q, problem %+v; want the renewal retried and stored", hits.Load(), rec.RefreshToken, rec.Problem)
			}
		})
	}
}

// TestJSONAnswerLabelledAsPlainText: a token endpoint writing its JSON
// answers as text/plain (as some do, ssoready's and kanidm's among them) is
// read as JSON. x/oauth2 reads text/plain as form-encoded: a JSON answer
// holding rotated tokens came out with no access token, and the retries
// spent the rotated-out refresh token again; a JSON invalid_grant came out
// without its error code, taken for the client being rejected (a
// configuration error) instead of the grant having ended. A JSON answer so
// labelled and cut off after its rotated refresh token was read as a form,
// which held none.
func TestJSONAnswerLabelledAsPlainText(t *testing.T) {
	answer := func(status int, body string) http.HandlerFunc {
		var n atomic.Int32
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			i := n.Add(1)
			fmt.Fprintf(w, body, i, i)
		}
	}
	t.Run("tokens", func(t *testing.T) {
		srv, hits := countingServer(t, answer(http.StatusOK, `{"access_token":"access-token-number-%d","refresh_token":"refresh-token-number-%d","token_type":"bearer","expires_in":3600}`))
		r, _, err := renewAt(t, srv)
		if err != nil {
			t.Fatal(err)
		}
		if rec := r.record(); hits.Load() != 1 || rec.RefreshToken != "refresh-token-number-1" || rec.Expiry.IsZero() {
			t.Fatalf("%d requests, stored %q expiring %s; want the one answer's rotated refresh token and its lifetime", hits.Load(), rec.RefreshToken, rec.Expiry)
		}
	})
	t.Run("tokens cut off", func(t *testing.T) {
		// Every answer cut off: each try spends the refresh token the last
		// one saved, a second apart, until the tries run out.
		srv, hits := countingServer(t, answer(http.StatusOK, `{"refresh_token":"refresh-token-number-%d","access_token":"access-token-number-%d","token_ty`))
		r, _ := loggedIn(t)
		r.moveTokenEndpoint(srv.URL)
		src := r.source()
		freshtoken.SetPause(src, r.clock.Sleep)
		tries := int32(1 + len(freshtoken.DefaultRetryBackoff()))
		if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnusableToken) {
			t.Fatalf("err = %v; want the provider's unusable answer", err)
		}
		if rec := r.record(); hits.Load() != tries || rec.RefreshToken != fmt.Sprintf("refresh-token-number-%d", tries) {
			t.Fatalf("%d requests, stored %q; want %d, the last cut-off answer's rotated refresh token stored", hits.Load(), rec.RefreshToken, tries)
		}
		if slept := r.clock.Slept(); slept != time.Duration(tries-1)*time.Second {
			t.Fatalf("waited %s between tries; want a second before each retry", slept)
		}
	})
	t.Run("invalid_grant", func(t *testing.T) {
		srv, _ := countingServer(t, answer(http.StatusBadRequest, `{"error":"invalid_grant","error_description":"refresh token %d of %d revoked"}`))
		if _, _, err := renewAt(t, srv); !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("err = %v; want ErrLoginRequired for the grant that ended", err)
		}
	})
}

// renewAt logs a rig in, moves its token endpoint to srv and renews there
// once; it returns the rig, the record before the renewal, and the
// renewal's error.
func renewAt(t *testing.T, srv *httptest.Server) (*rig, *store.Record, error) {
	t.Helper()
	r, _ := loggedIn(t)
	before := r.record()
	r.moveTokenEndpoint(srv.URL)
	_, err := r.source().Renew(context.Background())
	return r, before, err
}

// renewOnceFrom is renewFrom, checking that the one request stored the
// answer's rotated refresh token.
func renewOnceFrom(t *testing.T, status int, body string) *store.Record {
	t.Helper()
	rec := renewFrom(t, status, body)
	if rec.RefreshToken != "refresh-token-number-1" {
		t.Fatalf("stored %q; want the one answer's rotated refresh token", rec.RefreshToken)
	}
	return rec
}

// TestTokenEndpointRedirectIsNotFollowed: a token endpoint answering a
// refresh with a redirect does not get the request re-sent where it points
// (Go's client re-sends a POST's body on 307 and 308, and that body holds
// the refresh token and, with body authentication, the client secret);
// the redirect is reported as a configuration error naming where it led,
// and the stored tokens are kept.
func TestTokenEndpointRedirectIsNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			thirdParty, leaked := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "thanks", http.StatusTeapot)
			})
			redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				http.Redirect(w, req, thirdParty.URL+"/collect", status)
			}))
			defer redirecting.Close()
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			r.settings.AuthStyle = oauth2.AuthStyleInParams
			r.login(r.source())
			before := r.record()
			r.moveTokenEndpoint(redirecting.URL + "/v2/token_endpoint")
			src := r.source()
			r.clock.Advance(2 * time.Hour)
			_, err := src.Token()
			if n := leaked.Load(); n != 0 {
				t.Fatalf("the redirect was followed: the third party got %d requests", n)
			}
			if err == nil || !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), thirdParty.URL+"/collect") {
				t.Fatalf("err = %v; want one naming the redirect and where it led", err)
			}
			if !errors.Is(err, freshtoken.ErrClientRejected) {
				t.Errorf("err = %v; want a configuration error, not one to retry", err)
			}
			if got := r.record(); got.RefreshToken != before.RefreshToken {
				t.Error("the stored refresh token changed")
			}
		})
	}
}

// TestTokenClientIsTheCallers: the *http.Client TokenClient returns, for a
// program's own log-in, is the program's to set up (a redirect policy, a
// shorter Timeout for its log-in page): it was the one the Source sends
// its renewals through, so that a CheckRedirect set on it had the next
// renewal follow a token endpoint's redirect, re-sending the refresh token
// and client secret where it pointed, and a Timeout cut renewals short of
// Settings.Timeout. OAuth2Config's Scopes are the caller's too.
func TestTokenClientIsTheCallers(t *testing.T) {
	thirdParty, leaked := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "thanks", http.StatusTeapot)
	})
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, thirdParty.URL+"/collect", http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.AuthStyle = oauth2.AuthStyleInParams
	r.settings.Scopes = []string{"read"}
	r.settings.Timeout = time.Minute
	r.login(r.source())
	r.moveTokenEndpoint(redirecting.URL + "/v2/token_endpoint")
	src := r.source()

	tc := src.TokenClient()
	tc.CheckRedirect = func(*http.Request, []*http.Request) error { return nil } // follow them all
	tc.Timeout = time.Second
	if again := src.TokenClient(); again.CheckRedirect == nil || again.Timeout != time.Minute {
		t.Errorf("TokenClient after the caller set up its own: Timeout %s, CheckRedirect %v; want the Source's, Settings.Timeout and no redirect followed", again.Timeout, again.CheckRedirect != nil)
	}
	conf, err := src.OAuth2Config(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	conf.Scopes[0] = "admin"
	if again, _ := src.OAuth2Config(context.Background(), ""); again.Scopes[0] != "read" {
		t.Errorf("OAuth2Config's scopes after the caller changed its own: %v; want [read]", again.Scopes)
	}

	r.clock.Advance(2 * time.Hour)
	_, err = src.Token()
	if n := leaked.Load(); n != 0 {
		t.Fatalf("the renewal followed the redirect, as the caller's CheckRedirect said: the third party got %d requests", n)
	}
	if !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v; want the redirect refused, as a configuration error", err)
	}
}

// TestWebPagesFromTheTokenEndpointAreRetried: a web page in place of a
// token answer, whatever its status (a gateway's 403, a maintenance 404),
// is retried and then reported as the provider failing (exit 5), as
// PRODUCT.md has it, and not as the client being rejected; the stored
// tokens are kept, and a 404 asks whether the URL is right, as a 200 does
// (a single-page app serving every path of its host at a mistyped token
// URL), which was told as "oauth2: cannot parse json: invalid character
// '<' looking for beginning of value".
func TestWebPagesFromTheTokenEndpointAreRetried(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest, http.StatusOK} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(status)
				fmt.Fprint(w, "<!doctype html><title>Just a moment…</title>")
			})
			r, before, err := renewAt(t, srv)
			if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "web page") {
				t.Fatalf("err = %v; want ErrUnreachable telling of a web page", err)
			}
			if n := hits.Load(); n != 4 {
				t.Fatalf("%d token requests; want 4 tries", n)
			}
			if (status == http.StatusNotFound || status == http.StatusOK) && !strings.Contains(err.Error(), "web page rather than an OAuth answer: is the endpoint's URL right?") {
				t.Fatalf("err = %v; want it to ask whether the URL is right", err)
			}
			if after := r.record(); after.RefreshToken != before.RefreshToken || after.AccessToken != before.AccessToken {
				t.Fatal("the failure changed the stored tokens")
			}
		})
	}
}

// TestTokenEndpointThatIsNotThere: a token URL where no token endpoint is
// (a mistyped path: a 404 or 405 that is not a web page and carries no
// OAuth error, or a redirect, never followed) is a configuration error, asked once, that says to check
// token_url; the stored tokens are kept, and the problem noted for status
// says so too. It said the token endpoint "rejected the client" and to
// check client_id, the client secret and client_auth, which were right.
func TestTokenEndpointThatIsNotThere(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		location                string
	}{
		{"a redirect", "", "", http.StatusTemporaryRedirect, "/v2/token_endpoint"},
		{"Go's 404", "text/plain; charset=utf-8", "404 page not found\n", http.StatusNotFound, ""},
		{"405", "text/plain; charset=utf-8", "Method Not Allowed\n", http.StatusMethodNotAllowed, ""},
		{"a framework's JSON 404", "application/json", `{"timestamp":"2026-01-01T00:00:00Z","status":404,"error":"Not Found","path":"/oauth/tokn"}`, http.StatusNotFound, ""},
		{"Keycloak's unknown realm", "application/json", `{"error":"Realm does not exist"}`, http.StatusNotFound, ""},
		{"nothing", "", "", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				if tc.location != "" {
					w.Header().Set("Location", tc.location)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			r, before, err := renewAt(t, srv)
			if !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "check token_url") ||
				strings.Contains(err.Error(), "rejected the client") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v; want ErrClientRejected saying to check token_url, not that the client was rejected", err)
			}
			if n := hits.Load(); n != 1 {
				t.Fatalf("%d token requests; want 1", n)
			}
			after := r.record()
			if after.RefreshToken != before.RefreshToken || after.AccessToken != before.AccessToken {
				t.Fatal("the failure changed the stored tokens")
			}
			if after.Problem == nil || !strings.Contains(after.Problem.Message, "check token_url") {
				t.Fatalf("problem noted: %+v; want one saying to check token_url, for status", after.Problem)
			}
		})
	}
}

// TestTokenEndpointHostWithNoAddress: a token URL whose host name has no
// address (a mistyped token_url, the name servers answering that no such
// host exists) is still retried, a name server may say so for a while,
// and then says to check token_url, for a renewal and for a device
// log-in's polls alike; the stored tokens are kept. It said the endpoint
// kept failing and to try again later, which no try changes.
func TestTokenEndpointHostWithNoAddress(t *testing.T) {
	const at = "http://token.invalid/token"
	r, _ := loggedIn(t)
	r.settings.RetryBackoff = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	before := r.record()
	r.moveTokenEndpoint(at)
	_, err := r.source().Renew(context.Background())
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "kept failing after 4 tries (") ||
		!strings.Contains(err.Error(), "no such host); check token_url; your stored tokens are unchanged") {
		t.Fatalf("Renew = %v; want ErrUnreachable after 4 tries, saying to check token_url", err)
	}
	if after := r.record(); after.RefreshToken != before.RefreshToken || after.AccessToken != before.AccessToken {
		t.Fatal("the failure changed the stored tokens")
	}

	answer := map[string]any{"user_code": "WDJB-MJHT", "verification_uri": "https://example.com/device", "interval": 1}
	h := newHostileDevice(t, answer, func(s *freshtoken.Settings) { s.TokenURL = at })
	d, err := h.src.StartDeviceLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err = d.Wait(context.Background(), nil)
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "no such host); check token_url; ") {
		t.Fatalf("Wait = %v; want ErrUnreachable saying to check token_url", err)
	}
}

// rotatingEndpoint is a token endpoint that rotates the refresh token at
// every renewal and, as strict providers do, ends the whole grant when a
// rotated-out refresh token comes back. Its first answer is first, given
// the new refresh token (%s) and labelled as JSON when it holds a "{",
// its connection lost where it holds connectionLost; later answers are
// whole.
type rotatingEndpoint struct {
	*httptest.Server
	mu        sync.Mutex
	current   string
	presented []string // the refresh tokens sent, in order
	revoked   bool
}

func newRotatingEndpoint(t *testing.T, first, refreshToken string) *rotatingEndpoint {
	t.Helper()
	e := &rotatingEndpoint{current: refreshToken}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		e.mu.Lock()
		defer e.mu.Unlock()
		rt := req.PostForm.Get("refresh_token")
		e.presented = append(e.presented, rt)
		if e.revoked || rt != e.current {
			e.revoked = true
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"refresh token reused; the grant is revoked"}`))
			return
		}
		n := len(e.presented)
		e.current = fmt.Sprintf("rotated-refresh-token-%d", n)
		body := fmt.Sprintf(`{"access_token":"access-token-%d","refresh_token":%q,"token_type":"bearer","expires_in":3600}`, n, e.current)
		if n == 1 {
			body = fmt.Sprintf(first, e.current)
		}
		if strings.Contains(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if before, _, cut := strings.Cut(body, connectionLost); cut {
			// The length promises the whole answer; the connection ends
			// after the part before the mark.
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			body = before
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(e.Close)
	return e
}

// atRotatingEndpoint points r at a new rotatingEndpoint whose first answer
// is first, and stores r's tokens of its grant, issued at issued and
// expiring at expiry, with the refresh token it takes first: it returns
// the endpoint and the tokens stored.
func (r *rig) atRotatingEndpoint(first string, issued, expiry time.Time) (*rotatingEndpoint, *store.Record) {
	r.t.Helper()
	e := newRotatingEndpoint(r.t, first, "first-refresh-token")
	r.settings.TokenURL = e.URL
	old := &store.Record{AccessToken: "old-access-token", TokenType: "bearer", RefreshToken: "first-refresh-token", IssuedAt: issued, Expiry: expiry,
		Grant: store.Grant{TokenURL: e.URL, ClientID: r.settings.ClientID, Type: freshtoken.GrantAuthorizationCode}}
	if err := r.store.Save(context.Background(), r.settings.Env, old); err != nil {
		r.t.Fatal(err)
	}
	return e, old
}

// connectionLost marks where rotatingEndpoint's first answer is cut off.
const connectionLost = "<connection lost>"

// sent is what the endpoint saw: the refresh tokens sent, and whether it
// ended the grant.
func (e *rotatingEndpoint) sent() ([]string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.presented), e.revoked
}

// TestAnswerWithoutAnAccessTokenKeepsTheRotation: a provider answers a
// renewal with a new refresh token but no access token (or an empty one).
// x/oauth2 refuses such an answer ("server response missing access_token"),
// and the engine took it for a passing failure and tried again with the old
// refresh token, which a rotating provider answers by ending the grant. The
// new refresh token is stored at once, nothing is sent again with the old
// one, the old access token is kept only while it is valid, the failure is
// the provider's unusable answer (exit 5), and the next renewal spends the
// new refresh token. So too for an answer cut off after its refresh token
// (its JSON unfinished, or its connection lost): it was taken for a
// passing failure, and the retry spent the rotated-out refresh token.
//
// The renewal then tries again a second later, with the new refresh token:
// it gave up and rested 30 seconds, as after a provider down, though the
// token it needed was saved, so a proxy answered every request with an
// error for half a minute after one broken answer.
func TestAnswerWithoutAnAccessTokenKeepsTheRotation(t *testing.T) {
	for _, tt := range []struct {
		name, first string
		oldValid    bool
	}{
		{"missing", `{"refresh_token":%q,"token_type":"bearer","expires_in":3600}`, false},
		{"empty", `{"access_token":"","refresh_token":%q,"token_type":"bearer","expires_in":3600,"refresh_token_expires_in":86400}`, false},
		{"form-encoded", `refresh_token=%s&token_type=bearer&expires_in=3600`, false},
		{"old access token still valid", `{"refresh_token":%q}`, true},
		{"JSON cut off", `{"refresh_token":%q,"access_token":"a1","token_type":"bearer","expires_in":36`, false},
		{"connection lost", `{"access_token":"a1","refresh_token":%q,"token_type":"bea` + connectionLost + `rer","expires_in":3600}`, false},
		{"connection lost in a nested value", `{"refresh_token":%q,"user":{"refresh_token":"not-this-one","name":"Jo` + connectionLost + `e"}}`, false},
		{"form-encoded, connection lost", `refresh_token=%s&access_token=a1&token_type=bea` + connectionLost + `rer`, false},
		{"longer than an answer is read", `{"refresh_token":%q,"access_token":"a1","token_type":"bearer","padding":"` + strings.Repeat("x", 1<<20) + `"}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{})
			issued, expiry := r.clock.Now().Add(-2*time.Hour), r.clock.Now().Add(-time.Hour)
			if tt.oldValid {
				issued, expiry = r.clock.Now().Add(-time.Minute), r.clock.Now().Add(time.Hour)
			}
			e, old := r.atRotatingEndpoint(tt.first, issued, expiry)
			src := r.source()
			wantAccess := ""
			if tt.oldValid {
				wantAccess = old.AccessToken
			}
			var between *store.Record // the store as the retry finds it
			freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error {
				between = r.record()
				return r.clock.Sleep(ctx, d)
			})
			tok, err := src.Renew(context.Background())
			if err != nil || tok.AccessToken != "access-token-2" {
				t.Fatalf("Renew = %v, %v; want access-token-2 from the retry with the saved refresh token", tok, err)
			}
			if sent, revoked := e.sent(); len(sent) != 2 || sent[0] != "first-refresh-token" || sent[1] != "rotated-refresh-token-1" || revoked {
				t.Fatalf("refresh tokens sent %q, grant revoked %t; want the first, then the rotated one", sent, revoked)
			}
			if between == nil || between.RefreshToken != "rotated-refresh-token-1" || between.AccessToken != wantAccess {
				t.Fatalf("stored before the retry: %+v; want the rotated refresh token and access token %q", between, wantAccess)
			}
			if got := r.clock.Slept(); got != time.Second {
				t.Fatalf("waited %s before the retry; want a second, renewals coming at most once a second", got)
			}
		})
	}
}

// TestSuccessCarryingAnErrorIsASuccess: a 2xx answer that carries an
// access token and also an "error" member (invalid_grant) is a success
// (RFC 6749 5.1; an error answer is a 400). x/oauth2 took it for a
// refusal: the access token it brought was thrown away, and a second
// refresh token spent on a retry, at every renewal. Its tokens are used and
// stored from that one request, and nothing is noted against the grant.
func TestSuccessCarryingAnErrorIsASuccess(t *testing.T) {
	for _, tt := range []struct{ name, first string }{
		{"JSON", `{"access_token":"access-token-1","refresh_token":%q,"token_type":"bearer","expires_in":3600,"error":"invalid_grant","error_description":"the grant has ended"}`},
		{"form-encoded", `access_token=access-token-1&refresh_token=%s&token_type=bearer&expires_in=3600&error=invalid_grant`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{})
			e, _ := r.atRotatingEndpoint(tt.first, r.clock.Now().Add(-2*time.Hour), r.clock.Now().Add(-time.Hour))
			src := r.source()
			freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error { return r.clock.Sleep(ctx, d) })
			tok, err := src.Renew(context.Background())
			if err != nil || tok.AccessToken != "access-token-1" {
				t.Fatalf("Renew = %v, %v; want the answer's access-token-1", tok, err)
			}
			if sent, _ := e.sent(); len(sent) != 1 {
				t.Fatalf("refresh tokens sent %q; want one request", sent)
			}
			if rec := r.record(); rec.RefreshToken != "rotated-refresh-token-1" || rec.AccessToken != "access-token-1" || rec.Problem != nil {
				t.Fatalf("stored %+v; want the answer's tokens and no problem noted", rec)
			}
		})
	}
}

// TestFreeAgentsAccessDeniedIsARejectedClient: FreeAgent answers wrong
// client credentials with Rails' "401 HTTP Basic: Access denied.", which
// Rails labels text/html though it is one line of text. That is the client
// rejected (exit 2, never retried), not a web page from a gateway: it was
// retried four times, reported as the provider failing (exit 5), and
// renewals rested as after an outage.
func TestFreeAgentsAccessDeniedIsARejectedClient(t *testing.T) {
	srv, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("WWW-Authenticate", `Basic realm="Application"`)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "HTTP Basic: Access denied.\n")
	})
	r, _ := loggedIn(t)
	r.moveTokenEndpoint(srv.URL)
	_, err := r.source().Renew(context.Background())
	if !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "Access denied") {
		t.Fatalf("err = %v; want ErrClientRejected quoting the answer", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d token requests; want 1, never retried", n)
	}
}

// TestAnotherAudiencesTokensAreNeverUsed: two configurations give one
// environment name to one client at one token endpoint, for two APIs (one
// Auth0 tenant and client, two audiences or resources). The second never
// serves, renews with or deletes the tokens issued for the first's API, and
// says log-in needed naming both; its log-in replaces them, saying so, and
// from then on the first refuses the second's. Only the grant's client, token
// endpoint and type were compared: the second was served the token addressed
// to the first's API, and sent it to its own. And a first that names no
// audience or resource lost its tokens to a second that names one, which
// took them for a record written before grants named them.
func TestAnotherAudiencesTokensAreNeverUsed(t *testing.T) {
	tests := []struct {
		name          string
		first, second func(s *freshtoken.Settings)
		names         [2]string
	}{
		{"another audience",
			func(s *freshtoken.Settings) { s.Audience = "https://a.example/" },
			func(s *freshtoken.Settings) { s.Audience = "https://b.example/" },
			[2]string{`for audience "https://a.example/"`, `for audience "https://b.example/"`}},
		{"another resource",
			func(s *freshtoken.Settings) { s.Resources = []string{"https://a.example/"} },
			func(s *freshtoken.Settings) { s.Resources = []string{"https://b.example/", "https://a.example/"} },
			[2]string{"for resource https://a.example/", "for resource https://a.example/ and https://b.example/"}},
		{"an audience, and none",
			func(s *freshtoken.Settings) { s.Audience = "https://a.example/" },
			func(s *freshtoken.Settings) {},
			[2]string{`for audience "https://a.example/"`, "for no audience or resource"}},
		// The tokens of a grant that names no audience or resource are
		// for the provider's default API; a record of this freshtoken's
		// says so (bound), and cannot be taken for one written before
		// grants named them (TestRecordWithoutAudienceIsAdopted).
		{"none, and an audience",
			func(s *freshtoken.Settings) {},
			func(s *freshtoken.Settings) { s.Audience = "https://a.example/" },
			[2]string{"for no audience or resource", `for audience "https://a.example/"`}},
		{"none, and a resource",
			func(s *freshtoken.Settings) {},
			func(s *freshtoken.Settings) { s.Resources = []string{"https://a.example/"} },
			[2]string{"for no audience or resource", "for resource https://a.example/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			tt.first(&r.settings)
			first := r.loggedInSource()
			before := r.record()
			set := r.settings
			set.Audience, set.Resources = "", nil
			tt.second(&set)
			logs := testenv.NewOutput()
			second, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
				Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err != nil {
				t.Fatal(err)
			}
			requests := r.provider.Stats().TokenRequests
			for _, call := range append(uses(second), func() error { return second.CheckGrant(before) }) {
				err := call()
				if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "belong to client") ||
					!strings.Contains(err.Error(), tt.names[0]+", not to this environment's") || !strings.Contains(err.Error(), tt.names[1]) {
					t.Fatalf("err = %v; want log-in needed, naming both grants (%q, %q)", err, tt.names[0], tt.names[1])
				}
				if strings.Contains(err.Error(), before.AccessToken) {
					t.Fatal("the error shows the other configuration's token")
				}
			}
			if at := second.Plan(before).At; !at.IsZero() {
				t.Fatal("the other configuration's grant was planned to be kept alive")
			}
			if r.provider.Stats().TokenRequests != requests {
				t.Fatal("the other configuration's refresh token was sent")
			}
			if after := r.record(); after.AccessToken != before.AccessToken || after.RefreshToken != before.RefreshToken || after.Grant != before.Grant {
				t.Fatal("the other configuration's record was changed")
			}
			r.settings = set
			r.login(second)
			if n := strings.Count(logs.String(), "replaced stored tokens that belonged to another client"); n != 1 {
				t.Fatalf("the log-in warned %d times that it replaced another's tokens; want once:\n%s", n, logs)
			}
			if tok, err := second.Token(); err != nil || tok.AccessToken == before.AccessToken {
				t.Fatalf("after its log-in: %v", err)
			}
			if g := r.record().Grant; g.Audience != set.Audience || g.Resource != store.Resources(set.Resources) || g == before.Grant {
				t.Fatalf("the second's log-in stored grant %+v", g)
			}
			if _, err := first.Renew(context.Background()); !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), tt.names[1]+", not to this environment's") {
				t.Fatalf("the first configuration, after the second's log-in: %v; want log-in needed, naming both", err)
			}
		})
	}
}

// TestRecordWithoutAudienceIsAdopted: a record written before grants named
// the audience and resources (its grant names neither, and is not bound) is
// used by the first environment of its client that names one, which records
// its own in it, bound, so that from then on an environment of another
// audience, or of none, is refused it. A record of an environment that
// names neither is stored as before but for "bound": true.
func TestRecordWithoutAudienceIsAdopted(t *testing.T) {
	r, _ := loggedIn(t)
	old := r.record()
	if old.Grant.Audience != "" || old.Grant.Resource != "" || !old.Grant.Bound {
		t.Fatalf("an environment that names no audience or resource stored grant %+v", old.Grant)
	}
	data, err := os.ReadFile(r.store.Location("sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "audience") || strings.Contains(string(data), "resource\"") || !strings.Contains(string(data), `"bound": true`) {
		t.Fatalf("the record of an environment without audience or resource changed its layout:\n%s", data)
	}
	if _, err := r.source().Renew(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.regrant(func(g *store.Grant) { g.Bound = false }) // as a freshtoken that did not bind grants wrote it
	r.settings.Audience, r.settings.Resources = "https://a.example/", []string{"https://a.example/v2/"}
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	held := r.record()
	tok, err := src.Token()
	if err != nil || tok.AccessToken != held.AccessToken {
		t.Fatalf("the environment with an audience was not served the record without one: %v", err)
	}
	want := store.Grant{TokenURL: r.settings.TokenURL, ClientID: r.settings.ClientID, Type: "authorization_code",
		Audience: "https://a.example/", Resource: "https://a.example/v2/", Bound: true}
	if got := r.record(); got.Grant != want || got.RefreshToken != held.RefreshToken {
		t.Fatalf("grant %+v after first use, want %+v", got.Grant, want)
	}
	if !strings.Contains(logs.String(), "named no audience or resource") {
		t.Fatalf("the adoption was not logged:\n%s", logs)
	}
	set := r.settings
	set.Audience = "https://b.example/"
	if _, err := r.sourceWith(set).Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("another audience used an adopted record: %v", err)
	}
	set.Audience, set.Resources = "", nil
	if _, err := r.sourceWith(set).Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("an environment with no audience used an adopted record: %v", err)
	}
	if _, err := src.Renew(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := r.record().Grant; got != want {
		t.Fatalf("grant %+v after a renewal, want %+v", got, want)
	}
}

// TestRecordWithoutAudienceFoundLaterIsAdopted: a process serving a token
// from memory finds that the store now holds tokens whose grant names no
// audience (an older freshtoken renewed them, forgetting it): it adopts
// them as a first read does, rather than serving them unbound.
func TestRecordWithoutAudienceFoundLaterIsAdopted(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.Audience = "https://a.example/"
	src := r.loggedInSource()
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	older := r.record()
	older.AccessToken += "-renewed-by-an-older-freshtoken"
	older.Grant.Audience, older.Grant.Bound = "", false
	if err := r.store.Save(t.Context(), "sandbox", older); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(11 * time.Second) // past StoreCheckInterval
	tok, err := src.Token()
	if err != nil || tok.AccessToken != older.AccessToken {
		t.Fatalf("got %v; want the tokens the store now holds", err)
	}
	if g := r.record().Grant; g.Audience != "https://a.example/" || !g.Bound {
		t.Fatalf("grant %+v after they were served; want them adopted, naming the audience, bound", g)
	}
}

// TestRecordWithoutAudienceOnReadOnlyDiskIsServed: a fresh record written
// before grants named the audience, in a token folder on a disk turned
// read-only, is served to the environment of its client that names one, as
// CheckGrant (status, the keeper) takes it for that environment's; its
// adoption is written at a later use. It was refused: the adoption's lock
// failed with EROFS, and every call failed with it, where the token (and
// the same record before the upgrade) served.
func TestRecordWithoutAudienceOnReadOnlyDiskIsServed(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	dir := testdisk.Small(t, "1m")
	r.store = filestore.New(dir)
	r.login(r.source())
	r.regrant(func(g *store.Grant) { g.Bound = false }) // as a freshtoken that did not bind grants wrote it
	held := r.record()
	testdisk.ReadOnly(t, dir)
	r.settings.Audience = "https://a.example/"
	src := r.source()
	if err := src.CheckGrant(held); err != nil {
		t.Fatalf("CheckGrant: %v; want the record taken for this environment's", err)
	}
	tok, err := src.Token()
	if err != nil || tok.AccessToken != held.AccessToken {
		t.Fatalf("Token on a read-only disk: %v; want the stored, still fresh token", err)
	}
	if g := r.record().Grant; g != held.Grant {
		t.Fatalf("grant %+v on a read-only disk; want it as it was", g)
	}
}

// TestAnIssuersTokensAreNotAnotherTokenEndpoints: two configurations name
// one issuer for one client, and one of them sets token_url itself, to
// another endpoint than the issuer's discovery names. Their tokens are of
// two grants: neither configuration sends the other's refresh token to
// its own token endpoint.
func TestAnIssuersTokensAreNotAnotherTokenEndpoints(t *testing.T) {
	elsewhere, elsewhereHit := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not expected", http.StatusTeapot)
	})
	tests := []struct {
		name string
		// The first's token_url, "" for the issuer's; and the second's,
		// "" for the issuer's as its discovery finds it.
		first, second, found string
	}{
		{"discovered, then set", "", elsewhere.URL + "/token", ""},
		{"set, then discovered", "dev", "", elsewhere.URL + "/token"},
		{"set, then set to another", "dev", elsewhere.URL + "/token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			found := freshtoken.Endpoints{AuthURL: r.settings.AuthURL, TokenURL: r.settings.TokenURL}
			if tt.first == "" {
				r.settings.TokenURL = ""
			}
			r.settings.Issuer = "https://issuer.example/realms/x"
			r.settings.Discover = func(context.Context) (freshtoken.Endpoints, error) { return found, nil }
			first := r.loggedInSource()
			before := r.record()
			set := r.settings
			set.TokenURL = tt.second
			if tt.found != "" {
				// The issuer's own endpoint, where the first's token_url
				// names a gateway to it, say.
				found := freshtoken.Endpoints{AuthURL: r.settings.AuthURL, TokenURL: tt.found}
				set.Discover = func(context.Context) (freshtoken.Endpoints, error) { return found, nil }
			}
			second, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := second.Endpoints(context.Background()); err != nil {
				t.Fatal(err)
			}
			requests := r.provider.Stats().TokenRequests
			for _, call := range append(uses(second), func() error { return second.CheckGrant(before) }) {
				if err := call(); !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "belong to client") {
					t.Fatalf("err = %v; want log-in needed, naming both grants", err)
				}
			}
			if r.provider.Stats().TokenRequests != requests || elsewhereHit.Load() != 0 {
				t.Fatal("the first configuration's refresh token was sent to the second's token endpoint")
			}
			if after := r.record(); after.RefreshToken != before.RefreshToken || after.Grant != before.Grant {
				t.Fatal("the first configuration's record was changed")
			}
			if _, err := first.Renew(context.Background()); err != nil {
				t.Fatalf("the first configuration no longer works: %v", err)
			}
		})
	}
}

// TestRecordWithoutGrantAdoptedMeanwhileIsNotServed: two configurations
// find a record stored before grants were, at once; the other adopts it
// while this one waits for the lock to adopt it too. This one then finds
// it the other's, and neither serves nor keeps its token: it served the
// token it had read, to its own API, and kept it in memory for as long as
// it lasted.
func TestRecordWithoutGrantAdoptedMeanwhileIsNotServed(t *testing.T) {
	r, _ := loggedIn(t)
	r.regrant(func(g *store.Grant) { *g = store.Grant{} })
	set := r.settings
	set.ClientID = "someone-elses-client"
	other, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	this, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, Locking: func() {
		once.Do(func() {
			if _, err := other.Token(); err != nil {
				t.Errorf("the other configuration: %v", err)
			}
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second from memory, if the first kept it there
		tok, err := this.Token()
		if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "someone-elses-client") {
			t.Fatalf("token %v, err %v; want log-in needed, naming the other's client", tok != nil, err)
		}
	}
	if got := r.record().Grant.ClientID; got != "someone-elses-client" {
		t.Fatalf("the record's grant is %q's; want the other's, who adopted it first", got)
	}
}

// TestTokensOfAnotherScopesAPIAreNeverUsed: at a provider that addresses
// each access token to the API its scopes name (Microsoft's identity
// platform: scope api://x/read asks for a token for api://x alone), two
// configurations of one client, tenant and environment name, one for the
// provider's default API (Graph) and one for the programmer's own, do not
// share tokens: the second sent the first's Graph token to its own API.
// The APIs the scopes name are bound like resources, and never sent.
func TestTokensOfAnotherScopesAPIAreNeverUsed(t *testing.T) {
	for _, tt := range []struct {
		name          string
		first, second []string
		names         [2]string
	}{
		{"the default API, then another", nil, []string{"api://x"}, [2]string{"for no audience or resource", "for resource api://x"}},
		{"an API, then the default", []string{"api://x"}, nil, [2]string{"for resource api://x", "for no audience or resource"}},
		{"two APIs", []string{"api://x"}, []string{"https://y.example"}, [2]string{"for resource api://x", "for resource https://y.example"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			r.settings.ScopeResources = tt.first
			first := r.loggedInSource()
			before := r.record()
			set := r.settings
			set.ScopeResources = tt.second
			second, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			requests := r.provider.Stats().TokenRequests
			for _, call := range append(uses(second), func() error { return second.CheckGrant(before) }) {
				err := call()
				if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), tt.names[0]+", not to this environment's") || !strings.Contains(err.Error(), tt.names[1]) {
					t.Fatalf("err = %v; want log-in needed, naming both (%q, %q)", err, tt.names[0], tt.names[1])
				}
			}
			if r.provider.Stats().TokenRequests != requests {
				t.Fatal("the first configuration's refresh token was sent")
			}
			if after := r.record(); after.AccessToken != before.AccessToken || after.Grant != before.Grant {
				t.Fatal("the first configuration's record was changed")
			}
			if _, err := first.Renew(context.Background()); err != nil {
				t.Fatalf("the first configuration no longer works: %v", err)
			}
			for _, got := range r.provider.Received() {
				if got.Params.Has("resource") || got.Params.Has("audience") {
					t.Fatalf("the APIs the scopes name were sent (%s): %v", got.Endpoint, got.Params)
				}
			}
		})
	}
}

// TestUnboundRecordOfAnIssuerIsAdopted: a record written before grants
// named the token_url set beside an issuer and the APIs scopes name (its
// grant is not "bound"), or renewed since by such a freshtoken, which drops
// what it does not know, is used with no log-in by the environment it is
// otherwise the grant of, which records its own in it, bound; then a
// configuration of the issuer alone is refused it. A freshtoken from before
// reads the bound grant as it read its own: the fields it knows are as it
// wrote them.
func TestUnboundRecordOfAnIssuerIsAdopted(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	found := freshtoken.Endpoints{AuthURL: r.settings.AuthURL, TokenURL: r.settings.TokenURL}
	r.settings.Issuer = "https://issuer.example/realms/x"
	r.settings.Discover = func(context.Context) (freshtoken.Endpoints, error) { return found, nil }
	r.login(r.source())
	bound := r.regrant(func(g *store.Grant) { g.IssuerTokenURL, g.ScopeResource, g.Bound = "", "", false })
	if bound.TokenURL != "" || bound.IssuerTokenURL != r.settings.TokenURL || !bound.Bound {
		t.Fatalf("stored grant %+v; want the token_url beside the issuer, bound", bound)
	}
	if _, err := r.source().Token(); err != nil {
		t.Fatalf("the environment, after an older freshtoken saved its record: %v", err)
	}
	if got := r.record().Grant; got != bound {
		t.Fatalf("grant %+v after first use; want %+v", got, bound)
	}
	set := r.settings
	set.TokenURL = ""
	alone, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alone.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("a configuration of the issuer alone, after the adoption: %v; want log-in needed", err)
	}
}

// TestFailureAfterARotationSaysItIsStored: a renewal whose first answer
// brought a new refresh token and no usable access token (stored, the one
// sent being spent) and whose later tries failed otherwise (a 503, the
// same answer again, a 429) said "your stored tokens are unchanged": a
// person keeping a copy of the old refresh token (Postman's) was told it
// was still the one stored. It now says the new refresh token is stored.
func TestFailureAfterARotationSaysItIsStored(t *testing.T) {
	rotated := `{"access_token":"","refresh_token":"refresh-token-rotated-once","token_type":"bearer","expires_in":3600}`
	for name, then := range map[string]func(w http.ResponseWriter){
		"then 503": func(w http.ResponseWriter) { http.Error(w, "down for maintenance", http.StatusServiceUnavailable) },
		"then the same answer": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(rotated))
		},
		"then 429": func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int32
			srv, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(rotated))
					return
				}
				then(w)
			})
			r, _ := loggedIn(t)
			r.moveTokenEndpoint(srv.URL)
			r.clock.Advance(time.Minute) // a renewal comes after the log-in
			src := r.source()
			freshtoken.SetPause(src, r.clock.Sleep)
			_, err := src.Renew(context.Background())
			if err == nil {
				t.Fatal("Renew succeeded; want it to fail")
			}
			if rec := r.record(); rec.RefreshToken != "refresh-token-rotated-once" {
				t.Fatalf("stored %q; want the rotated refresh token", rec.RefreshToken)
			}
			if msg := err.Error(); strings.Contains(msg, "unchanged") || !strings.Contains(msg, "new refresh token") {
				t.Fatalf("err = %v; want it to say the new refresh token is stored, not that the stored tokens are unchanged", err)
			}
		})
	}
}

// TestAnswerCutOffByTheTimeoutIsToldAsBegun: an answer whose new refresh
// token came before the timeout cut it off is stored (see
// TestAnswerWithoutAnAccessTokenKeepsTheRotation), and the error says the
// answer began and did not finish in time; it said the token endpoint "did
// not answer" in the sentence saying it answered with a new refresh token.
func TestAnswerCutOffByTheTimeoutIsToldAsBegun(t *testing.T) {
	var n atomic.Int32
	done := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"refresh_token":"refresh-token-cut-off-%d","access_token":"a`, n.Add(1))
		w.(http.Flusher).Flush()
		select {
		case <-req.Context().Done():
		case <-done:
		}
	})
	t.Cleanup(func() { close(done) }) // before the server closes
	r, _ := loggedIn(t)
	r.settings.Timeout = 200 * time.Millisecond
	r.moveTokenEndpoint(srv.URL)
	src := r.source()
	freshtoken.SetPause(src, r.clock.Sleep)
	_, err := src.Renew(context.Background())
	if !errors.Is(err, freshtoken.ErrUnusableToken) || !strings.Contains(err.Error(), "began to answer") {
		t.Fatalf("err = %v; want the unusable answer, saying it began to come and did not finish in time", err)
	}
	if rec := r.record(); !strings.HasPrefix(rec.RefreshToken, "refresh-token-cut-off-") {
		t.Fatalf("stored %q; want the last cut-off answer's refresh token", rec.RefreshToken)
	}
}

// TestLaterFailuresAfterARotationSayItIsStored: a renewal all of whose
// answers brought a new refresh token and no access token gave up, and the
// next renewal met a provider down (503): its error, and the rest that
// status and the proxy page show, said "your stored tokens are unchanged"
// while the refresh token stored was the last one the provider sent, the
// one a person kept in Postman spent. They now say it is stored.
func TestLaterFailuresAfterARotationSayItIsStored(t *testing.T) {
	var n atomic.Int32
	down := atomic.Bool{}
	srv, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"","refresh_token":"refresh-token-rotated-%d","token_type":"bearer","expires_in":3600}`, n.Add(1))
	})
	r, _ := loggedIn(t)
	r.moveTokenEndpoint(srv.URL)
	r.clock.Advance(2 * time.Hour) // the access token has expired
	src := r.source()
	freshtoken.SetPause(src, r.clock.Sleep)
	if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnusableToken) {
		t.Fatalf("first renewal: %v; want the unusable answer", err)
	}
	down.Store(true)
	_, err := src.Renew(context.Background())
	if err == nil || strings.Contains(err.Error(), "unchanged") || !strings.Contains(err.Error(), "new refresh token the provider sent is stored") {
		t.Fatalf("second renewal: %v; want it to say the new refresh token is stored", err)
	}
	rec := r.record()
	if want := fmt.Sprintf("refresh-token-rotated-%d", n.Load()); rec.RefreshToken != want {
		t.Fatalf("stored %q; want %q, the last one sent", rec.RefreshToken, want)
	}
	if rec.Rest == nil || strings.Contains(rec.Rest.Message, "unchanged") || !strings.Contains(rec.Rest.Message, "new refresh token the provider sent is stored") {
		t.Fatalf("rest %+v; want it to say the new refresh token is stored", rec.Rest)
	}
}

// TestRefreshTokenNotTextKeepsTheOneBefore: an answer whose new refresh
// token holds bytes that are not UTF-8 (raw in JSON, or %FF in a form) was
// stored with U+FFFD in their place (encoding/json's reading, or the
// store's JSON), a refresh token the provider never issued, over one it
// may still take: every later renewal was refused as a grant that ended.
// The access token is stored, the refresh token before it kept, and a
// warning says so; an answer with no access token is not one whose
// rotation is stored.
func TestRefreshTokenNotTextKeepsTheOneBefore(t *testing.T) {
	for _, tc := range []struct{ name, contentType, body string }{
		{"JSON", "application/json", "{\"access_token\":\"access-token-new\",\"refresh_token\":\"refresh-\xff\xfe-new\",\"token_type\":\"bearer\",\"expires_in\":3600}"},
		{"JSON, a lone surrogate", "application/json", `{"access_token":"access-token-new","refresh_token":"refresh-\udc80-new","token_type":"bearer","expires_in":3600}`},
		{"form", "application/x-www-form-urlencoded", "access_token=access-token-new&refresh_token=refresh-%FF-new&token_type=bearer&expires_in=3600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.Write([]byte(tc.body))
			})
			r, _ := loggedIn(t)
			r.moveTokenEndpoint(srv.URL)
			before := r.record()
			logs := testenv.NewOutput()
			src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.Renew(context.Background()); err != nil {
				t.Fatalf("Renew: %v", err)
			}
			rec := r.record()
			if rec.AccessToken != "access-token-new" || rec.RefreshToken != before.RefreshToken {
				t.Fatalf("stored access %q, refresh %q; want the new access token and the refresh token before", rec.AccessToken, rec.RefreshToken)
			}
			if !strings.Contains(logs.String(), "not UTF-8 text") {
				t.Fatalf("logs %q; want a warning that the refresh token could not be stored", logs.String())
			}
		})
	}
	t.Run("no access token", func(t *testing.T) {
		srv, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{\"access_token\":\"\",\"refresh_token\":\"refresh-\xff-new\",\"token_type\":\"bearer\",\"expires_in\":3600}"))
		})
		r, _ := loggedIn(t)
		r.moveTokenEndpoint(srv.URL)
		before := r.record()
		src := r.source()
		freshtoken.SetPause(src, r.clock.Sleep)
		if _, err := src.Renew(context.Background()); err == nil || errors.Is(err, freshtoken.ErrUnusableToken) {
			t.Fatalf("Renew: %v; want the provider's answer refused, not a rotation stored", err)
		}
		if rec := r.record(); rec.RefreshToken != before.RefreshToken {
			t.Fatalf("stored refresh %q; want the one before", rec.RefreshToken)
		}
	})
}

// TestLogInWithARefreshTokenNotTextStoresNone: a log-in whose refresh
// token holds bytes that are not UTF-8 stored it with U+FFFD in their
// place, a token the provider never issued: the first renewal was refused
// as a grant that ended. The access token is stored alone, and a warning
// says why; a log-in that brought nothing else saves nothing.
func TestLogInWithARefreshTokenNotTextStoresNone(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	now := r.clock.Now()
	err = src.SaveLogin(context.Background(), &oauth2.Token{RefreshToken: "refresh-\xff-new"}, now)
	if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "not UTF-8 text") {
		t.Fatalf("a log-in with only such a refresh token: %v; want it refused as a log-in still needed (exit 3, naming the command), saying why", err)
	}
	if _, err := r.store.Load(context.Background(), r.settings.Env); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the refused log-in the store holds: %v; want nothing", err)
	}
	if err := src.SaveLogin(context.Background(), &oauth2.Token{AccessToken: "access-token-new", RefreshToken: "refresh-\xff-new", Expiry: now.Add(time.Hour)}, now); err != nil {
		t.Fatal(err)
	}
	if rec := r.record(); rec.AccessToken != "access-token-new" || rec.RefreshToken != "" {
		t.Fatalf("stored access %q, refresh %q; want the access token alone", rec.AccessToken, rec.RefreshToken)
	}
	if !strings.Contains(logs.String(), "not UTF-8 text") {
		t.Fatalf("logs %q; want a warning that the refresh token could not be stored", logs.String())
	}
}

// TestLockCheckAfterARotationSaysItIsStored: a renewal's first answer
// brought a new refresh token and no access token (stored), then, before
// its next try, the check that it still held the renewal lock failed: the
// store could not be reached, or the lock had passed to another renewer
// at every taking of it. Each error said "your stored tokens are
// unchanged" (the second, "nothing was sent" too), so a person keeping the
// old refresh token (Postman's) took it for the live one; they now say the
// new refresh token is stored.
func TestLockCheckAfterARotationSaysItIsStored(t *testing.T) {
	for name, after := range map[string]func() (bool, error){
		"store unreachable": func() (bool, error) {
			return false, fmt.Errorf("the program's database is down: %w", store.ErrUnreachable)
		},
		"lock passed": func() (bool, error) { return false, nil },
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"access_token":"","refresh_token":"refresh-token-rotated","token_type":"bearer","expires_in":3600}`))
			})
			r, _ := loggedIn(t)
			r.moveTokenEndpoint(srv.URL)
			r.clock.Advance(2 * time.Hour) // the access token has expired
			checks := 0
			src := r.sourceOn(lockChecked{r.store, func() (bool, error) {
				if checks++; checks == 1 { // before the first try, which is answered
					return true, nil
				}
				return after()
			}})
			freshtoken.SetPause(src, r.clock.Sleep)
			_, err := src.Renew(context.Background())
			if err == nil || strings.Contains(err.Error(), "unchanged") || !strings.Contains(err.Error(), "new refresh token the provider sent is stored") {
				t.Fatalf("Renew: %v; want it to say the new refresh token is stored", err)
			}
			if rec := r.record(); rec.RefreshToken != "refresh-token-rotated" {
				t.Fatalf("stored %q; want the rotated refresh token", rec.RefreshToken)
			}
		})
	}
}

// lockChecked is a program's own store.LockChecker whose HoldsLock answers
// as holds does.
type lockChecked struct {
	store.Store
	holds func() (bool, error)
}

func (l lockChecked) HoldsLock(context.Context, string) (bool, error) { return l.holds() }

// TestRefreshTokenRotatedInTheSameTickIsToldAsNew: an answer with a new
// refresh token and no access token, to a renewal sent in the same tick of
// the clock as the stored access token was issued (a forced renewal, or
// one a 401 caused, right after the last), while that token is valid. The
// record kept that access token, whose issue time equals the renewal's,
// which is how a renewal that brought an access token reads: the renewal
// failing after it (here a token endpoint that then fails) said "your
// stored tokens are unchanged", though the provider had rotated the
// refresh token, and a copy of the one before it (Postman's) was spent.
// The new refresh token is told as stored.
func TestRefreshTokenRotatedInTheSameTickIsToldAsNew(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) > 1 {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"refresh_token":"rotated-refresh-token"}`))
	}))
	t.Cleanup(srv.Close)
	r.settings.TokenURL = srv.URL
	now := r.clock.Now()
	old := &store.Record{AccessToken: "access-token", TokenType: "bearer", RefreshToken: "first-refresh-token",
		IssuedAt: now, RenewedAt: now, Renewals: 1, Expiry: now.Add(time.Hour),
		Grant: store.Grant{TokenURL: srv.URL, ClientID: r.settings.ClientID, Type: freshtoken.GrantAuthorizationCode}}
	if err := r.store.Save(context.Background(), "sandbox", old); err != nil {
		t.Fatal(err)
	}
	src := r.source()
	freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error { return r.clock.Sleep(ctx, d) })
	_, err := src.Renew(context.Background())
	if err == nil || strings.Contains(err.Error(), "unchanged") || !strings.Contains(err.Error(), tokenerr.NewRefreshTokenKept) {
		t.Fatalf("Renew: %v; want the failure to say the new refresh token is stored", err)
	}
	if rec := r.record(); rec.RefreshToken != "rotated-refresh-token" || !tokenerr.RefreshedOnly(rec) {
		t.Fatalf("stored %+v; want the rotated refresh token, read as a renewal that brought no access token", rec)
	}
}

// TestDefaultRetryBackoffIsTheCallers: the waits between a token request's
// retries that a Source without Settings.RetryBackoff uses were a slice
// exported as a variable, which every such Source shared: a program
// changing it (to shorten its own tests' waits) changed the waits of every
// Source in the process, those renewing at that moment too. Each call now
// gives a slice of the caller's own.
func TestDefaultRetryBackoffIsTheCallers(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.RetryBackoff = nil
	src := r.loggedInSource()
	freshtoken.SetPause(src, r.clock.Sleep)
	freshtoken.DefaultRetryBackoff()[0] = time.Hour
	r.provider.Fault(devprovider.Fault5xx, 1)
	before := r.clock.Slept()
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if slept := r.clock.Slept() - before; slept != 500*time.Millisecond {
		t.Errorf("a renewal retried once after the caller changed DefaultRetryBackoff's slice waited %s; want the default 500ms", slept)
	}
	if again := freshtoken.DefaultRetryBackoff(); again[0] != 500*time.Millisecond {
		t.Errorf("DefaultRetryBackoff after a caller changed its slice: %v; want [500ms 1s 2s]", again)
	}
}
