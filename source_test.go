package freshtoken_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
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
	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/keyringstore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

func TestValidTokenServedWithoutRefresh(t *testing.T) {
	r, _ := loggedIn(t)
	src := r.source() // a fresh process: one store read, no refresh
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != r.record().AccessToken {
		t.Fatalf("served %q, stored %q", tok.AccessToken, r.record().AccessToken)
	}
	if n := r.provider.Stats().Refreshes; n != 0 {
		t.Fatalf("refreshes = %d, want 0 for a valid token", n)
	}
}

func TestRenewalTiming(t *testing.T) {
	tests := []struct {
		name        string
		ttl, before time.Duration
		quiet, due  time.Duration // no renewal at quiet; renewal at due
	}{
		{"renews RenewBefore ahead of expiry", time.Hour, time.Minute, 58*time.Minute + 59*time.Second, 59*time.Minute + time.Second},
		{"short token renews at half its lifetime", time.Minute, time.Minute, 29 * time.Second, 31 * time.Second},
		{"lifetime exactly twice RenewBefore", 2 * time.Minute, time.Minute, 59 * time.Second, 61 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: tt.ttl})
			r.settings.RenewBefore = tt.before
			src := r.loggedInSource()
			first := r.record()
			r.clock.Advance(tt.quiet)
			if tok, err := src.Token(); err != nil || tok.AccessToken != first.AccessToken {
				t.Fatalf("at %s: got %v, %v; want the first token unchanged", tt.quiet, tok, err)
			}
			if n := r.provider.Stats().Refreshes; n != 0 {
				t.Fatalf("at %s: refreshes = %d, want 0", tt.quiet, n)
			}
			r.clock.Advance(tt.due - tt.quiet)
			tok, err := src.Token()
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken == first.AccessToken {
				t.Fatalf("at %s: token not renewed", tt.due)
			}
			if n := r.provider.Stats().Refreshes; n != 1 {
				t.Fatalf("at %s: refreshes = %d, want 1", tt.due, n)
			}
		})
	}
}

func TestRotationStoredAcrossExpiries(t *testing.T) {
	r, src := loggedIn(t)
	seen := map[string]bool{r.record().RefreshToken: true}
	for i := 1; i <= 3; i++ {
		r.clock.Advance(time.Hour)
		tok, err := src.Token()
		if err != nil {
			t.Fatalf("expiry %d: %v", i, err)
		}
		rec := r.record()
		if rec.AccessToken != tok.AccessToken {
			t.Fatalf("expiry %d: the token returned was not the one stored", i)
		}
		if seen[rec.RefreshToken] {
			t.Fatalf("expiry %d: the rotated refresh token was not stored", i)
		}
		seen[rec.RefreshToken] = true
		if rec.Renewals != i || !rec.RenewedAt.Equal(r.clock.Now()) {
			t.Fatalf("expiry %d: renewals %d renewed %s", i, rec.Renewals, rec.RenewedAt)
		}
		if want := r.clock.Now().Add(time.Hour); !rec.Expiry.Equal(want) {
			t.Fatalf("expiry %d: stored expiry %s, want %s", i, rec.Expiry, want)
		}
	}
	if st := r.provider.Stats(); st.Refreshes != 3 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v: want 3 refreshes, no reuse", st)
	}
}

// TestExpiryCountsFromRequestSent: a slow token endpoint must not make the
// stored expiry later than the provider's.
func TestExpiryCountsFromRequestSent(t *testing.T) {
	r, _ := loggedIn(t)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.clock.Advance(20 * time.Second) // the request takes 20 s
		r.provider.Handler().ServeHTTP(w, req)
	}))
	defer slow.Close()
	r.moveTokenEndpoint(slow.URL + "/v2/token_endpoint")
	src := r.source()
	r.clock.Advance(time.Hour)
	sent := r.clock.Now()
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if got := r.record().Expiry; !got.Equal(sent.Add(time.Hour)) {
		t.Fatalf("expiry %s, want %s (sent time + expires_in)", got, sent.Add(time.Hour))
	}
}

func TestKeepsRefreshTokenWhenNoneReturned(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"new-access-token-0123456789","token_type":"bearer","expires_in":3600}`))
	}))
	defer srv.Close()
	r := newRig(t, devprovider.Options{})
	r.settings.TokenURL = srv.URL
	src := r.source()
	old := &store.Record{AccessToken: "old-access", RefreshToken: "keep-this-refresh-token", Expiry: r.clock.Now().Add(-time.Minute),
		RefreshExpiry: r.clock.Now().Add(24 * time.Hour), Grant: store.Grant{TokenURL: srv.URL, ClientID: "dev-client-id", Type: "authorization_code"}}
	if err := r.store.Save(context.Background(), "sandbox", old); err != nil {
		t.Fatal(err)
	}
	// A store that refuses this answer loses nothing: the stored refresh
	// token still works, and the error says so rather than ask for a log-in.
	broken := &ownStore{Store: r.store}
	broken.broken.Store(true)
	if _, err := r.sourceOn(broken).Token(); err == nil || !strings.Contains(err.Error(), "still work") || strings.Contains(err.Error(), "log-in") {
		t.Fatalf("err = %v; want it to say the stored tokens still work", err)
	}
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	rec := r.record()
	if rec.AccessToken != "new-access-token-0123456789" || rec.RefreshToken != old.RefreshToken || !rec.RefreshExpiry.Equal(old.RefreshExpiry) {
		t.Fatalf("stored %+v; want the new access token with the old refresh token and its expiry", rec)
	}
}

func TestGoroutinesAtExpiryCauseOneRefresh(t *testing.T) {
	r, src := loggedIn(t)
	r.clock.Advance(time.Hour)
	tokenAtOnce(t, 50, src)
	if n := r.provider.Stats().Refreshes; n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
}

// TestSourcesSharingAStoreRenewOnce: two Sources (as two processes would)
// find the other's renewal under the lock instead of spending the refresh
// token again.
func TestSourcesSharingAStoreRenewOnce(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	a, b := r.source(), r.source()
	r.login(a)
	if _, err := b.Token(); err != nil { // b caches the first token
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour)
	ta, err := a.Token()
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Token()
	if err != nil {
		t.Fatal(err)
	}
	if ta.AccessToken != tb.AccessToken {
		t.Fatal("b renewed again instead of using a's stored renewal")
	}
	if st := r.provider.Stats(); st.Refreshes != 1 || st.ReuseDetected != 0 {
		t.Fatalf("stats %+v: want one refresh, no reuse", st)
	}
}

// TestStillValidTokenOutlivesAFailedRenewal: the provider is down when the
// token is due for renewal (refresh_before ahead of its expiry). The token
// is still good for those seconds: Token serves it rather than an error,
// until it expires; a caller that asked for a token lasting longer, or a
// forced renewal, is told of the failure.
func TestStillValidTokenOutlivesAFailedRenewal(t *testing.T) {
	r, src := loggedIn(t)
	before := r.record()
	r.clock.Advance(time.Hour - 30*time.Second) // 30 s left, within refresh_before
	r.provider.Fault(devprovider.Fault5xx, 4)
	tok, err := src.Token()
	if err != nil || tok.AccessToken != before.AccessToken {
		t.Fatalf("Token() = %v, %v; want the token still valid for 30 s", tok, err)
	}
	if n := r.provider.Stats().TokenRequests; n != 1+4 {
		t.Fatalf("%d token requests; want the exchange and 4 tries of the renewal", n)
	}
	if _, err := src.TokenValidFor(context.Background(), 10*time.Minute); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("TokenValidFor(10m) = %v; want ErrUnreachable, as the token lasts 30 s", err)
	}
	r.provider.Fault(devprovider.Fault5xx, 4)
	if _, err := src.Renew(context.Background()); err == nil {
		t.Fatal("Renew succeeded while the provider is down")
	}
	r.provider.Fault(devprovider.Fault5xx, 8)
	r.clock.Advance(30 * time.Second) // expired now
	if _, err := src.Token(); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("Token() after expiry = %v; want ErrUnreachable", err)
	}
}

// TestStillValidTokenWarnsOncePerFailure: while renewals rest after one
// that gave up, a token still valid serves every caller, and the warning
// that it is used until it expires comes once for that failure, and again
// for the next: it came at every call, once a request in a busy program.
func TestStillValidTokenWarnsOncePerFailure(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.RenewBefore = 10 * time.Minute
	src, logs := r.loggedInLoggingAt(slog.LevelWarn)
	r.clock.Advance(55 * time.Minute) // due, and valid for 5 minutes more
	for failure := 1; failure <= 2; failure++ {
		r.provider.Fault(devprovider.Fault5xx, 4)
		for range 20 {
			if _, err := src.Token(); err != nil {
				t.Fatal(err)
			}
		}
		if n := strings.Count(logs.String(), "could not renew the access token; it is still valid until"); n != failure {
			t.Fatalf("%d warnings after %d failures; want one each:\n%s", n, failure, logs.String())
		}
		r.clock.Advance(time.Minute) // the rest is over: the next call renews, and fails anew
	}
}

// TestRestIsSharedThroughTheStore: after a renewal gave up on a failing
// token endpoint, another process (here another Source on the same store)
// rests too, instead of sending a volley of token requests of its own, as a
// script running freshtoken in a loop would; a forced renewal still asks,
// and once the rest is over, renewals go on.
func TestRestIsSharedThroughTheStore(t *testing.T) {
	r, _ := gaveUp(t)
	requests := r.provider.Stats().TokenRequests
	for range 3 { // three more runs of a script
		_, err := r.source().Token()
		if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "kept failing after 4 tries") || !strings.Contains(err.Error(), "renewals rest") {
			t.Fatalf("Token() from another process = %v; want the failure that began the rest, and the rest", err)
		}
	}
	if n := r.provider.Stats().TokenRequests; n != requests {
		t.Fatalf("%d more token requests while renewals rest; want none", n-requests)
	}
	if _, err := r.source().Renew(context.Background()); err != nil {
		t.Fatalf("a forced renewal during the rest: %v", err)
	}
	if rec := r.record(); rec.Rest != nil {
		t.Fatalf("the renewed record keeps the rest %+v", rec.Rest)
	}
	r.clock.Advance(time.Hour) // expired again; the next failure rests anew
	r.provider.Fault(devprovider.Fault5xx, 4)
	r.source().Token()
	r.clock.Advance(31 * time.Second)
	if _, err := r.source().Token(); err != nil {
		t.Fatalf("after the rest: %v", err)
	}
}

// gaveUp is a logged-in rig whose Source's renewal gave up: the token had
// expired, and the token endpoint failed every try.
func gaveUp(t *testing.T) (*rig, *freshtoken.Source) {
	t.Helper()
	r, src := loggedIn(t)
	r.clock.Advance(time.Hour)
	r.provider.Fault(devprovider.Fault5xx, 4)
	if _, err := src.Token(); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	return r, src
}

// TestSaveLoginOfNoTokenKeepsTheGrant: SaveLogin given no token (nil, as
// from an exchange whose error a program did not check, or a token with
// neither an access token nor a refresh token) is refused, and the grant
// stored stays: the empty token replaced it, losing its refresh token, and
// nil panicked.
func TestSaveLoginOfNoTokenKeepsTheGrant(t *testing.T) {
	r, src := loggedIn(t)
	before := r.record().RefreshToken
	for _, tok := range []*oauth2.Token{nil, {}, {TokenType: "Bearer", Expiry: r.clock.Now().Add(time.Hour)}} {
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panicked: %v", p)
				}
			}()
			return src.SaveLogin(t.Context(), tok, r.clock.Now())
		}()
		if err == nil || strings.Contains(err.Error(), "panicked") || !strings.Contains(err.Error(), "sandbox") {
			t.Errorf("SaveLogin(%+v): %v; want an error naming the environment", tok, err)
		}
		if got := r.record().RefreshToken; got != before {
			t.Fatalf("SaveLogin(%+v) replaced the grant: refresh token %q, was %q", tok, got, before)
		}
	}
	if _, err := src.Renew(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestLogInEndsTheRest: a log-in is answered by the token endpoint, so
// the rest after a renewal that gave up ends with it: a proxy whose Log in
// button was pressed during the rest went on refusing to renew the new
// tokens, once they expired, with the outage that had ended.
func TestLogInEndsTheRest(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: 10 * time.Second})
	src := r.loggedInSource()
	r.clock.Advance(10 * time.Second)
	r.provider.Fault(devprovider.Fault5xx, 4)
	if _, err := src.Token(); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("Token() = %v; want ErrUnreachable", err)
	}
	r.login(src) // the proxy's Log in button, during the 30 s rest
	r.clock.Advance(10 * time.Second)
	if _, err := src.Token(); err != nil {
		t.Fatalf("Token() once the new tokens expired = %v; want them renewed", err)
	}
}

// TestRestFromAClockAheadIsIgnored: a rest written into the store by a
// machine whose clock runs a day ahead would hold back every other
// machine's renewals for that day, long after their tokens expired; no
// renewal rests longer than an hour, so a rest that ends later than that
// came from such a clock and is not followed.
func TestRestFromAClockAheadIsIgnored(t *testing.T) {
	r, src := loggedIn(t)
	rec := r.record()
	rec.Rest = &store.Rest{Until: r.clock.Now().Add(24*time.Hour + 30*time.Second), Message: "the token endpoint kept failing"}
	if err := r.store.Save(context.Background(), "sandbox", rec); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour)
	if _, err := src.Token(); err != nil {
		t.Fatalf("Token() with a rest a day long in the store = %v; want a renewal", err)
	}
	if got := r.record(); got.Rest != nil || got.Renewals != rec.Renewals+1 {
		t.Fatalf("stored record %+v; want renewed, with no rest", got)
	}
}

// TestRejectionRenewedByAClockAheadIsRenewedAgain: a machine whose clock
// runs ten minutes ahead renews for a 401 and stores that renewal's time,
// ten minutes in this machine's future. When the API refuses that token
// here too (revoked again), this machine renews once more and retries: it
// took the future time for "renewed moments ago" and passed every 401 on,
// for as long as its clock was behind.
func TestRejectionRenewedByAClockAheadIsRenewedAgain(t *testing.T) {
	r, here := loggedIn(t)
	ahead, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: func() time.Time { return r.clock.Now().Add(10 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	company := r.url + "/v2/company"
	r.provider.RevokeAccessTokens()
	if code := getStatus(t, ahead, company); code != http.StatusOK {
		t.Fatalf("the machine ahead got %d; want its 401 renewed and retried", code)
	}
	r.clock.Advance(time.Minute)
	r.provider.RevokeAccessTokens()
	if code := getStatus(t, here, company); code != http.StatusOK {
		t.Fatalf("this machine got %d; want its 401 renewed and retried", code)
	}
	if st := r.provider.Stats(); st.Refreshes != 2 {
		t.Fatalf("stats %+v: want one renewal on each machine", st)
	}
}

func TestForceRenew(t *testing.T) {
	r, src := loggedIn(t)
	first := r.record()
	tok, err := src.Renew(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == first.AccessToken || r.record().AccessToken != tok.AccessToken {
		t.Fatal("Renew did not renew and store a new token")
	}
}

func TestFaultsAreRetriedThenReported(t *testing.T) {
	for _, fault := range []devprovider.Fault{devprovider.Fault5xx, devprovider.FaultHTML, devprovider.FaultMalformedJSON, devprovider.FaultHang} {
		// Only a hung request waits for the time limit, which then must
		// still leave an answered one time enough on a loaded machine,
		// where a pause of a few hundred milliseconds happens: one cut off
		// after the provider rotated the refresh token ends the grant.
		timeout := 30 * time.Second
		if fault == devprovider.FaultHang {
			timeout = time.Second
		}
		t.Run(string(fault)+" once recovers", func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			r.settings.Timeout = timeout
			src := r.loggedInSource()
			r.clock.Advance(time.Hour)
			r.provider.Fault(fault, 2)
			tok, err := src.Token()
			if err != nil {
				t.Fatalf("after 2 faults: %v", err)
			}
			if r.record().AccessToken != tok.AccessToken {
				t.Fatal("renewed token not stored")
			}
			if st := r.provider.Stats(); st.TokenRequests != 1+3 || st.Refreshes != 1 {
				t.Fatalf("stats %+v: want the exchange, 2 failed tries and 1 refresh", st)
			}
		})
		t.Run(string(fault)+" for good fails with store unchanged", func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			r.settings.Timeout = timeout
			src := r.loggedInSource()
			before := *r.record()
			r.clock.Advance(time.Hour)
			r.provider.Fault(fault, 4) // every try fails
			_, err := src.Token()
			if !errors.Is(err, freshtoken.ErrUnreachable) {
				t.Fatalf("err = %v, want ErrUnreachable", err)
			}
			if !strings.Contains(err.Error(), "sandbox") || !strings.Contains(err.Error(), "unchanged") {
				t.Fatalf("message %q should name the environment and say the tokens are unchanged", err)
			}
			if n := r.provider.Stats().TokenRequests; n != 1+4 {
				t.Fatalf("token requests = %d, want the exchange and 4 tries", n)
			}
			after := *r.record()
			if after.Rest == nil {
				t.Fatal("the rest after the failure is not in the store, for other processes")
			}
			if after.Rest = nil; !reflect.DeepEqual(before, after) {
				t.Fatalf("a failed renewal changed the stored tokens: %+v, then %+v", before, after)
			}
			r.clock.Advance(30 * time.Second) // renewals rest after one gave up
			if _, err := src.Token(); err != nil {
				t.Fatalf("after the faults end: %v", err)
			}
		})
	}
}

func TestInvalidGrantNeedsLogin(t *testing.T) {
	r, src := loggedIn(t)
	before := r.record()
	r.clock.Advance(time.Hour)
	r.provider.Fault(devprovider.FaultInvalidGrant, 1)
	_, err := src.Token()
	if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "grant has ended") || strings.Contains(err.Error(), "freshtoken login") {
		t.Fatalf("err = %v; want ErrLoginRequired saying the grant ended, with no command-line hint (the CLI adds it)", err)
	}
	after := r.record()
	if after.AccessToken != before.AccessToken || after.RefreshToken != before.RefreshToken || after.Renewals != before.Renewals {
		t.Fatal("invalid_grant changed the stored tokens")
	}
	if after.Problem == nil || after.Problem.Kind != store.ProblemGrantEnded || !after.Problem.At.Equal(r.clock.Now()) {
		t.Fatalf("problem %+v; want grant_ended recorded now", after.Problem)
	}
	// The ended grant is not tried again: the next call says so without a request.
	requests := r.provider.Stats().TokenRequests
	if _, err := r.source().Token(); !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "the grant ended 0s ago: the provider refused") {
		t.Fatalf("second call: %v; want the recorded ended grant", err)
	}
	if r.provider.Stats().TokenRequests != requests {
		t.Fatal("an ended grant was sent to the provider again")
	}
	// A log-in clears the problem.
	r.clock.Advance(2 * time.Second)
	r.login(src)
	if p := r.record().Problem; p != nil {
		t.Fatalf("problem %+v kept after a log-in", p)
	}
}

// TestInvalidGrantRereadsStore: a writer that ignores the lock renewed while
// our request was in flight; its token is used instead of asking for a login.
func TestInvalidGrantRereadsStore(t *testing.T) {
	r, _ := loggedIn(t)
	r.clock.Advance(time.Hour)
	theirs := &store.Record{AccessToken: "their-fresh-access-token", RefreshToken: "their-refresh-token-123",
		IssuedAt: r.clock.Now(), Expiry: r.clock.Now().Add(time.Hour)}
	racer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := r.store.Save(context.Background(), "sandbox", theirs); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_grant"}`))
	}))
	defer racer.Close()
	r.moveTokenEndpoint(racer.URL)
	tok, err := r.source().Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != theirs.AccessToken {
		t.Fatalf("got %q, want the token the other writer stored", tok.AccessToken)
	}
}

func TestClientRejectedIsNotRetried(t *testing.T) {
	t.Run("invalid_client", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
		src := r.loggedInSource()
		r.clock.Advance(time.Hour)
		r.provider.Fault(devprovider.FaultInvalidClient, 1)
		_, err := src.Token()
		if !errors.Is(err, freshtoken.ErrClientRejected) {
			t.Fatalf("err = %v, want ErrClientRejected", err)
		}
		if n := r.provider.Stats().TokenRequests; n != 2 {
			t.Fatalf("token requests = %d, want the exchange and exactly one refresh try", n)
		}
	})
	// The provider accepts only body credentials; freshtoken configured for
	// basic must fail once, never re-send with the other style.
	t.Run("wrong auth style is not auto-detected", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour, AuthStyle: "body"})
		r.settings.AuthStyle = oauth2.AuthStyleInParams
		r.loggedInSource()
		r.settings.AuthStyle = oauth2.AuthStyleInHeader
		src := r.source()
		r.clock.Advance(time.Hour)
		_, err := src.Token()
		if !errors.Is(err, freshtoken.ErrClientRejected) {
			t.Fatalf("err = %v, want ErrClientRejected", err)
		}
		if st := r.provider.Stats(); st.TokenRequests != 2 || st.ReuseDetected != 0 {
			t.Fatalf("stats %+v: want a single refresh try and no reuse", st)
		}
	})
}

// TestFailedRenewalRestsBeforeTheNext: once a renewal has given up (the
// token endpoint kept failing, or asked to wait longer than is waited),
// the callers that come next, such as a proxy's clients, get its error
// without another token request until the rest is over: 30 s, or as long
// as the provider asked. Each client request of a proxy made four token
// requests while the provider was down, a refresh storm. A forced renewal
// is not held back, nor is a token another process stored meanwhile.
func TestFailedRenewalRestsBeforeTheNext(t *testing.T) {
	t.Run("kept failing", func(t *testing.T) {
		r, src := gaveUp(t)
		tries := r.provider.Stats().TokenRequests
		for range 10 {
			r.clock.Advance(time.Second)
			if _, err := src.Token(); !errors.Is(err, freshtoken.ErrUnreachable) {
				t.Fatalf("while resting: err = %v, want the failure again", err)
			}
		}
		if n := r.provider.Stats().TokenRequests - tries; n != 0 {
			t.Fatalf("%d token requests within 10 s of a renewal that gave up", n)
		}
		r.clock.Advance(20 * time.Second)
		if _, err := src.Token(); err != nil {
			t.Fatalf("after the rest: %v", err)
		}
	})
	t.Run("asked to wait", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: 30 * time.Second, RefreshesPerMinute: 1})
		r.settings.MaxRetryAfter = time.Second
		src := r.loggedInSource()
		if _, err := src.Renew(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable: the provider allows one renewal a minute", err)
		}
		tries := r.provider.Stats().TokenRequests
		r.clock.Advance(40 * time.Second) // the token expired, past the 30 s rest, not the minute asked
		if _, err := src.Token(); !errors.Is(err, freshtoken.ErrUnreachable) || r.provider.Stats().TokenRequests != tries {
			t.Fatalf("err = %v after %d more token requests; want none before the wait the provider asked for", err, r.provider.Stats().TokenRequests-tries)
		}
		if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) || r.provider.Stats().TokenRequests == tries {
			t.Fatalf("err = %v; want a forced renewal to ask again (and meet the limit)", err)
		}
	})
}

func TestRateLimitedRefreshGivesUp(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshesPerMinute: 1})
	r.settings.MaxRetryAfter = time.Second
	src := r.loggedInSource()
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := r.record()
	_, err := src.Renew(context.Background())
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "rate limiting") {
		t.Fatalf("err = %v; want ErrUnreachable about rate limiting", err)
	}
	if r.record().RefreshToken != before.RefreshToken {
		t.Fatal("a refused renewal changed the store")
	}
}

// TestNotLoggedIn: no record is a log-in needed, also from a program's own
// store that tells of none with (nil, nil) rather than store.ErrNotFound,
// whether a new process finds none or a long-running one sees a log-out.
func TestNotLoggedIn(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.StoreCheckInterval = time.Second
	for name, st := range map[string]store.Store{"file store": r.store, "own store": &ownStore{Store: r.store, nilForNone: true}} {
		t.Run(name, func(t *testing.T) {
			_, err := r.sourceOn(st).Token()
			if !errors.Is(err, freshtoken.ErrLoginRequired) || !strings.Contains(err.Error(), "not logged in") {
				t.Fatalf("err = %v, want ErrLoginRequired", err)
			}
			running := r.sourceOn(st)
			r.login(running)
			if err := r.source().Logout(context.Background()); err != nil {
				t.Fatal(err)
			}
			r.clock.Advance(2 * time.Second)
			if _, err := running.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
				t.Fatalf("after a log-out elsewhere: %v, want ErrLoginRequired", err)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	src := r.loggedInSource()
	if err := src.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("after logout: %v, want ErrLoginRequired", err)
	}
	if _, err := os.Stat(r.store.Location("sandbox")); !os.IsNotExist(err) {
		t.Fatalf("token file still there: %v", err)
	}
}

// TestLogoutKeepsANewerFreshtokensRecord: tokens stored by a newer
// freshtoken (an upgrade rolled back) are not deleted, as the status page's
// Log out did: this one could neither revoke them nor tell whose they are.
func TestLogoutKeepsANewerFreshtokensRecord(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	src := r.loggedInSource()
	path := r.store.Location("sandbox")
	newer := storetest.WriteNewerFormat(t, path, 2)
	if err := src.Logout(context.Background()); !errors.Is(err, store.ErrNewerFormat) || !strings.HasSuffix(err.Error(), "nothing was deleted") {
		t.Fatalf("Logout: %v; want store.ErrNewerFormat, saying nothing was deleted", err)
	}
	if kept, err := os.ReadFile(path); err != nil || string(kept) != newer {
		t.Fatalf("the newer record was not kept as it was: %v", err)
	}
}

// TestLoginOverANewerFreshtokensRecordSaysSo: a log-in replaces tokens a
// newer freshtoken stored (an upgrade rolled back), as it replaces another
// client's, and says so as it does for those: it replaced them silently,
// leaving a grant nobody could revoke any more.
func TestLoginOverANewerFreshtokensRecordSaysSo(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	r.login(r.source())
	storetest.WriteNewerFormat(t, r.store.Location("sandbox"), 2)
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src)
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "newer freshtoken") {
		t.Fatalf("logs %q; want a warning that the tokens of a newer freshtoken were replaced", logs.String())
	}
}

// TestRevokeWhereAccessTokensCannotBeRevoked: a revocation endpoint that
// revokes the refresh token and answers unsupported_token_type for the
// access token (RFC 7009 2.2.1: it does not revoke access tokens) has ended
// the grant; that is no failure, and certainly not the client's.
func TestRevokeWhereAccessTokensCannotBeRevoked(t *testing.T) {
	revokeAnswered(t, http.StatusBadRequest, `{"error":"unsupported_token_type"}`, "access_token")
}

// revokeAnswered logs in and revokes at an endpoint that answers the
// revocation of the tokens of the hints given with status and body, and
// revokes the others: Revoke must succeed, having asked for both, the
// refresh token first.
func revokeAnswered(t *testing.T, status int, body string, hints ...string) {
	t.Helper()
	var revoked []string
	srv, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		hint := req.PostForm.Get("token_type_hint")
		revoked = append(revoked, hint)
		if slices.Contains(hints, hint) {
			w.Header().Set("Content-Type", "application/json")
			if !strings.HasPrefix(body, "{") {
				w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			}
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
	})
	r := newRig(t, devprovider.Options{})
	r.settings.RevocationURL = srv.URL + "/revoke"
	src := r.loggedInSource()
	if err := src.Revoke(context.Background()); err != nil {
		t.Fatalf("Revoke: %v; want success", err)
	}
	if !slices.Equal(revoked, []string{"refresh_token", "access_token"}) {
		t.Fatalf("revoked %q; want the refresh token, then the access token", revoked)
	}
}

// TestRevokeWhereTheAccessTokenIsRefusedAfterTheRefreshToken: a provider
// that revokes the refresh token (ending the grant) and then refuses the
// access token at the same endpoint, with the same client (a 404 of its
// own for a token it has already invalidated with the grant, or a refusal
// of the client for access tokens), has ended the grant: Revoke succeeds,
// as for unsupported_token_type. It returned ErrClientRejected ("no
// revocation endpoint answers", or a refused client), and logout kept the
// tokens of the ended grant, exit 2, and did so at every log-out after it
// (the refresh token revoked again, the access token refused again) until
// --local.
func TestRevokeWhereTheAccessTokenIsRefusedAfterTheRefreshToken(t *testing.T) {
	for name, answer := range map[string]struct {
		status int
		body   string
	}{
		"404 of its own": {http.StatusNotFound, `{"error":"token_not_found"}`},
		"client refused": {http.StatusUnauthorized, `{"error":"invalid_client"}`},
	} {
		t.Run(name, func(t *testing.T) { revokeAnswered(t, answer.status, answer.body, "access_token") })
	}
	// Refused at the refresh token by an answer that says nothing of it
	// (a framework's 404 for a path it has no route for), nothing was
	// revoked: still the configuration's to fix.
	srv, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"Not Found"}`))
	})
	r := newRig(t, devprovider.Options{})
	r.settings.RevocationURL = srv.URL + "/revoke"
	src := r.loggedInSource()
	if err := src.Revoke(context.Background()); !errors.Is(err, freshtoken.ErrClientRejected) {
		t.Fatalf("Revoke refused at the refresh token: %v; want ErrClientRejected", err)
	}
}

// TestRevokeOfTokensTheProviderNoLongerKnows: a revocation endpoint that
// answers 404 or 400 with an OAuth error about the token itself
// (invalid_token, invalid_grant, token_not_found: revoked or expired
// already) is there, and has nothing left to revoke; RFC 7009 answers such
// a token with a 200. Revoke succeeds, having sent both tokens, and logout
// forgets them. It was told as "no revocation endpoint answers at
// revocation_url", and logout kept the dead tokens at every try. The
// answer is read as a token endpoint's is (tokenerr.Retrieved): a
// form-encoded one was read as no error code, a rejected client, and
// logout kept the dead tokens, saying to check client_id and the client
// secret.
func TestRevokeOfTokensTheProviderNoLongerKnows(t *testing.T) {
	for _, answer := range []struct {
		status int
		body   string
	}{
		{http.StatusNotFound, `{"error":"invalid_token"}`},
		{http.StatusNotFound, `{"error":"token_not_found","error_description":"unknown token"}`},
		{http.StatusBadRequest, `{"error":"invalid_grant"}`},
		{http.StatusBadRequest, "error=invalid_token&error_description=revoked+already"},
	} {
		t.Run(fmt.Sprintf("%d %s", answer.status, answer.body), func(t *testing.T) {
			revokeAnswered(t, answer.status, answer.body, "refresh_token", "access_token")
		})
	}
}

// TestRevokeAnsweredByAWebPage: a revocation_url answered 200 with a web
// page (a mistyped path on a server that answers every path with its
// sign-in page or its single-page app) revoked nothing: Revoke says no
// revocation endpoint answers there, a configuration error (logout: exit
// 2, check revocation_url). It took the 200 for a revocation, and logout
// said the grant was revoked at the provider while it lived on. So is a
// 404 or 405 web page (a web server's own, for a path it does not serve),
// which was taken for a gateway's passing fault: logout forgot the tokens,
// and with them the means to end the grant once the URL was corrected. An
// empty 200, labelled text/html or not, as providers answer, is still one,
// and so is one of XML.
func TestRevokeAnsweredByAWebPage(t *testing.T) {
	page := "<!doctype html>\n<html><head><title>Sign in</title></head><body>…</body></html>"
	srv, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/empty":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			return
		case "/xml":
			w.Header().Set("Content-Type", "application/xml")
			w.Write([]byte(`<?xml version="1.0"?><revoked/>`))
			return
		case "/unlabelled":
			w.Write([]byte("\n<HTML><body>Sign in</body></HTML>"))
			return
		case "/404", "/405":
			// A web server's own page for a path it does not serve (nginx's).
			status, _ := strconv.Atoi(req.URL.Path[1:])
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			w.Write([]byte("<html>\n<head><title>404 Not Found</title></head>\n<body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>"))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})
	r := newRig(t, devprovider.Options{})
	r.settings.RevocationURL = srv.URL + "/oauth/revoke"
	src := r.loggedInSource()
	err := src.Revoke(context.Background())
	if !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "no revocation endpoint answers at "+srv.URL+"/oauth/revoke (HTTP 200 OK, a web page") || !strings.Contains(err.Error(), "check revocation_url") {
		t.Fatalf("Revoke: %v; want ErrClientRejected: no revocation endpoint answers there (a web page), check revocation_url", err)
	}
	if strings.Contains(err.Error(), "Sign in") {
		t.Errorf("Revoke: %v; the page itself is not for the error", err)
	}
	r.settings.RevocationURL = srv.URL + "/unlabelled"
	if err := r.source().Revoke(context.Background()); !errors.Is(err, freshtoken.ErrClientRejected) {
		t.Fatalf("Revoke answered by a page labelled as no page: %v; want ErrClientRejected", err)
	}
	for _, status := range []int{http.StatusNotFound, http.StatusMethodNotAllowed} {
		r.settings.RevocationURL = srv.URL + "/" + strconv.Itoa(status)
		if err := r.source().Revoke(context.Background()); !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "check revocation_url") {
			t.Fatalf("Revoke answered %d with a web page: %v; want ErrClientRejected, check revocation_url", status, err)
		}
	}
	r.login(r.source())
	for _, path := range []string{"/empty", "/xml"} {
		r.settings.RevocationURL = srv.URL + path
		if err := r.source().Revoke(context.Background()); err != nil {
			t.Fatalf("Revoke answered 200 at %s: %v; want success", path, err)
		}
	}
}

// TestRevokeSendsNothingInClearText: a revocation endpoint that is plain
// http to another machine is sent neither token nor the client's
// credentials (they crossed the network readable, through any office proxy
// or Wi-Fi on the way: here an HTTP proxy, which sees every request), and
// the tokens stay stored; one on this machine is sent them.
func TestRevokeSendsNothingInClearText(t *testing.T) {
	onTheWay, seen := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {})
	through := &http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse(onTheWay.URL) }}}
	r := newRig(t, devprovider.Options{})
	r.settings.RevocationURL = "http://idp.example.net/revoke"
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: through})
	if err != nil {
		t.Fatal(err)
	}
	r.login(r.source())
	before := r.record()
	err = src.Revoke(context.Background())
	if !errors.Is(err, freshtoken.ErrClearText) || !strings.Contains(err.Error(), "http://idp.example.net/revoke is plain http to another machine") {
		t.Fatalf("Revoke: %v; want ErrClearText naming the endpoint", err)
	}
	if n := seen.Load(); n != 0 {
		t.Fatalf("%d requests crossed the network in clear text; want none", n)
	}
	if rec := r.record(); rec == nil || rec.RefreshToken != before.RefreshToken {
		t.Fatal("the tokens were not kept")
	}
	local, revoked := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {})
	r.settings.RevocationURL = strings.Replace(local.URL, "127.0.0.1", "localhost", 1) + "/revoke"
	if err := r.source().Revoke(context.Background()); err != nil || revoked.Load() != 2 {
		t.Fatalf("Revoke on this machine: %v, %d requests; want both tokens revoked", err, revoked.Load())
	}
}

// TestRevokeFailuresAreErrors: a revocation that fails is an *Error whose
// Kind says whose the failure is (a provider that failed or could not be
// reached: ErrUnreachable; a client refused, or no endpoint at the URL:
// ErrClientRejected), and whose message masks a key in the revocation
// endpoint's query (an API gateway's), as every Error does. They were plain
// errors that showed the key, and one that could not reach the endpoint
// matched no sentinel.
func TestRevokeFailuresAreErrors(t *testing.T) {
	const key = "gw-key-0123456789abcdef"
	srv, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/busy":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/refused":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client"}`))
		case "/nowhere":
			w.WriteHeader(http.StatusNotFound)
		}
	})
	for _, c := range []struct {
		name, url string
		kind      error
	}{
		{"a provider failing", srv.URL + "/busy", freshtoken.ErrUnreachable},
		{"a client refused", srv.URL + "/refused", freshtoken.ErrClientRejected},
		{"no endpoint there", srv.URL + "/nowhere", freshtoken.ErrClientRejected},
		{"an endpoint not reached", "http://127.0.0.1:1/revoke", freshtoken.ErrUnreachable},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{})
			r.settings.RevocationURL = c.url + "?subscription-key=" + key
			src := r.loggedInSource()
			err := src.Revoke(context.Background())
			var fe *freshtoken.Error
			if !errors.As(err, &fe) || fe.Kind != c.kind || !strings.Contains(err.Error(), "subscription-key=") {
				t.Fatalf("Revoke: %v; want an *Error of kind %v naming the endpoint", err, c.kind)
			}
			if strings.Contains(err.Error(), key[3:]) {
				t.Errorf("the error shows the key in the revocation endpoint's query: %v", err)
			}
		})
	}
	// An endpoint Settings.Discover found is masked as a configured one
	// is: its key was registered for configured URLs alone.
	t.Run("an endpoint discovered", func(t *testing.T) {
		const key = "gw-key-discovered-fedcba9876543210" // registered by nothing before
		r := newRig(t, devprovider.Options{})
		tokenURL := r.settings.TokenURL
		r.settings.TokenURL, r.settings.Issuer = "", "https://issuer.example"
		r.settings.Discover = func(context.Context) (freshtoken.Endpoints, error) {
			return freshtoken.Endpoints{TokenURL: tokenURL, RevocationURL: srv.URL + "/busy?subscription-key=" + key}, nil
		}
		src := r.loggedInSource()
		err := src.Revoke(context.Background())
		if err == nil || !strings.Contains(err.Error(), "subscription-key=") {
			t.Fatalf("Revoke: %v; want an error naming the discovered endpoint", err)
		}
		if strings.Contains(err.Error(), key[3:]) {
			t.Errorf("the error shows the key in the discovered revocation endpoint's query: %v", err)
		}
	})
	t.Run("a caller that gave up", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		waiting, _ := countingServer(t, func(_ http.ResponseWriter, req *http.Request) {
			io.Copy(io.Discard, req.Body) // read whole, so that the server sees the client hang up
			cancel()                      // the caller gives up, the request sent
			<-req.Context().Done()
		})
		r := newRig(t, devprovider.Options{})
		r.settings.RevocationURL = waiting.URL + "/revoke?subscription-key=" + key
		src := r.loggedInSource()
		err := src.Revoke(ctx)
		var fe *freshtoken.Error
		if !errors.Is(err, context.Canceled) || errors.As(err, &fe) || strings.Contains(err.Error(), key[3:]) {
			t.Fatalf("Revoke: %v; want the context's error, not an *Error of the provider, without the key", err)
		}
	})
}

// TestNoRenewalWhileRevoking: a renewal by another process while logout
// revokes the grant waits until the revocation is over. It renewed in
// between, and logout then deleted the new tokens, whose refresh token
// the provider was never asked to revoke (it may outlive the one revoked,
// rotated out), and said the grant was revoked.
func TestNoRenewalWhileRevoking(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	var elsewhere atomic.Pointer[freshtoken.Source]
	var renewedMeanwhile []error
	srv, _ := countingServer(t, func(_ http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 300*time.Millisecond)
		defer cancel()
		_, err := elsewhere.Load().Renew(ctx)
		renewedMeanwhile = append(renewedMeanwhile, err)
	})
	r.settings.RevocationURL = srv.URL + "/revoke"
	src := r.loggedInSource()
	elsewhere.Store(r.source())
	before := r.record()
	if err := src.Revoke(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(renewedMeanwhile) != 2 {
		t.Fatalf("%d revocation requests; want the refresh token's and the access token's", len(renewedMeanwhile))
	}
	for i, err := range renewedMeanwhile {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("renewal %d during the revocation: %v; want it still waiting for the lock when its caller gave up", i+1, err)
		}
	}
	if r.record().RefreshToken != before.RefreshToken {
		t.Fatal("the stored refresh token is no longer the one revoked")
	}
}

func TestNewRefusesAutoDetect(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	r.settings.AuthStyle = oauth2.AuthStyleAutoDetect
	if _, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store}); err == nil {
		t.Fatal("New accepted AuthStyleAutoDetect")
	}
}

// TestNewRefusesWhatCouldNeverWork: settings that would fail on every call,
// or silently send the token nowhere (an API URL without a scheme or host
// matches no request), are refused by New, naming the setting. An endpoint
// without one was reported at each renewal as a provider that kept
// failing, to be tried again later.
//
// A client id that is empty or has white space around it (an unset
// environment variable, a line pasted with its newline) matches no client:
// its token requests are refused, and a record
// stored before grants were recorded was bound to that id, so the program,
// once mended, was told its tokens belonged to another client. An empty
// scope, or one with white space around it, was sent as a stray space in
// the scope parameter (or scope= alone), a malformed scope.
func TestNewRefusesWhatCouldNeverWork(t *testing.T) {
	for _, c := range []struct {
		field string
		set   func(*freshtoken.Settings)
		not   string // a field set, which the error must not name
	}{
		{"Settings.APIURL", func(s *freshtoken.Settings) { s.APIURL = "api.example.com/" }, ""},
		{"Settings.Env", func(s *freshtoken.Settings) { s.Env = "my env" }, ""},
		{"Settings.TokenURL", func(s *freshtoken.Settings) { s.TokenURL = "login.example.com/token" }, ""},
		{"Settings.AuthURL", func(s *freshtoken.Settings) { s.AuthURL = "ftp://login.example.com/authorize" }, ""},
		{"Settings.RevocationURL", func(s *freshtoken.Settings) { s.RevocationURL = "https:///revoke" }, ""},
		{"Settings.DeviceAuthURL", func(s *freshtoken.Settings) { s.DeviceAuthURL = "/device" }, ""},
		{"Settings.ClientID", func(s *freshtoken.Settings) { s.ClientID = "" }, ""},
		{"Settings.ClientID", func(s *freshtoken.Settings) { s.ClientID = "dev-client-id\n" }, ""},
		// x/oauth2 joins scopes with spaces: "read " or "scope=" alone.
		{`Settings.Scopes[1] ""`, func(s *freshtoken.Settings) { s.Scopes = []string{"read", ""} }, ""},
		{`Settings.Scopes[0] " "`, func(s *freshtoken.Settings) { s.Scopes = []string{" "} }, ""},
		{`Settings.Scopes[1] "write\n"`, func(s *freshtoken.Settings) { s.Scopes = []string{"read", "write\n"} }, ""},
		// Only what is missing is named: a program that set Env was told
		// Env was required too.
		{"Settings.Env", func(s *freshtoken.Settings) { s.Env = "" }, "Settings.TokenURL"},
		{"Settings.TokenURL", func(s *freshtoken.Settings) { s.TokenURL = "" }, "Settings.Env"},
		{"Settings.TokenURL", func(s *freshtoken.Settings) { s.TokenURL, s.Issuer = "", "https://login.example.com" }, "Settings.Env"},
	} {
		r := newRig(t, devprovider.Options{})
		c.set(&r.settings)
		_, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store})
		if err == nil || !strings.Contains(err.Error(), c.field) || c.not != "" && strings.Contains(err.Error(), c.not) {
			t.Errorf("New: %v; want an error naming %s alone", err, c.field)
		}
	}
}

// TestNewRefusesNegativeDurations: a negative length of time in Settings
// is refused by New, naming the field, as the configuration file refuses
// one. Each was taken for its default, a RetryBackoff wait for none: a
// RenewBefore of -time.Minute renewed a minute ahead of expiry, silently.
func TestNewRefusesNegativeDurations(t *testing.T) {
	for _, c := range []struct {
		field string
		set   func(*freshtoken.Settings)
	}{
		{"Settings.RenewBefore", func(s *freshtoken.Settings) { s.RenewBefore = -time.Minute }},
		{"Settings.IdleLimit", func(s *freshtoken.Settings) { s.IdleLimit = -time.Hour }},
		{"Settings.DefaultLifetime", func(s *freshtoken.Settings) { s.DefaultLifetime = -time.Hour }},
		{"Settings.Timeout", func(s *freshtoken.Settings) { s.Timeout = -time.Second }},
		{"Settings.StoreCheckInterval", func(s *freshtoken.Settings) { s.StoreCheckInterval = -time.Second }},
		{"Settings.MaxRetryAfter", func(s *freshtoken.Settings) { s.MaxRetryAfter = -time.Second }},
		{"Settings.RetryBackoff[1]", func(s *freshtoken.Settings) { s.RetryBackoff = []time.Duration{0, -time.Second} }},
	} {
		r := newRig(t, devprovider.Options{})
		c.set(&r.settings)
		_, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store})
		if err == nil || !strings.Contains(err.Error(), c.field+" is negative") {
			t.Errorf("New: %v; want an error saying %s is negative", err, c.field)
		}
	}
}

// TestURLsWithCredentialsAreRefused: an endpoint or API URL written with a
// user and password (https://id:secret@login.example.com/token, as curl
// takes them) is refused by New without showing the password: it was shown
// in every message and debug line naming the endpoint, and net/http sent
// it as HTTP Basic beside the client authentication chosen.
func TestURLsWithCredentialsAreRefused(t *testing.T) {
	const u = "https://dev-client-id:s3cr3t@login.example.com/x"
	for field, set := range map[string]func(*freshtoken.Settings){
		"APIURL":        func(s *freshtoken.Settings) { s.APIURL = u },
		"TokenURL":      func(s *freshtoken.Settings) { s.TokenURL = u },
		"AuthURL":       func(s *freshtoken.Settings) { s.AuthURL = u },
		"RevocationURL": func(s *freshtoken.Settings) { s.RevocationURL = u },
		"DeviceAuthURL": func(s *freshtoken.Settings) { s.DeviceAuthURL = u },
	} {
		r := newRig(t, devprovider.Options{})
		set(&r.settings)
		_, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store})
		if err == nil || !strings.Contains(err.Error(), "Settings."+field+" has a user or password") || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("New with %s holding a password: %v; want it refused, naming the field and not the password", field, err)
		}
	}
}

// TestURLsWithAFragmentAreRefused: a URL of Settings with a fragment (#…)
// is refused by New, as the configuration refuses it. It was taken: the
// fragment is never sent, and a log-in's parameters, written after it,
// went into it, so the provider saw an authorization request with none.
func TestURLsWithAFragmentAreRefused(t *testing.T) {
	for field, set := range map[string]func(*freshtoken.Settings, string){
		"APIURL":  func(s *freshtoken.Settings, u string) { s.APIURL = u },
		"AuthURL": func(s *freshtoken.Settings, u string) { s.AuthURL = u },
	} {
		r := newRig(t, devprovider.Options{})
		set(&r.settings, r.url+"/x#section")
		_, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store})
		if err == nil || !strings.Contains(err.Error(), "Settings."+field+" ") || !strings.Contains(err.Error(), "has a fragment (#section)") {
			t.Errorf("New with %s holding a fragment: %v; want it refused, naming the field and the fragment", field, err)
		}
	}
}

// TestDiscoveredEndpointsAreCheckedAsSettingsAre: the endpoints a
// program's Settings.Discover returns are held to what New holds Settings
// to: an http(s) URL with a host, no user or password, no secret in the
// query. They were used as they came: a password went out as HTTP Basic
// beside the client's authentication and into every message naming the
// endpoint, and a URL of another scheme failed every renewal as a provider
// that kept failing (exit 5).
func TestDiscoveredEndpointsAreCheckedAsSettingsAre(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"a password", "https://dev-client-id:s3cr3t@login.example.com/token", "has a user or password"},
		{"a secret in the query", "https://login.example.com/token?client_secret=s3cr3t", "client_secret in its query"},
		{"another scheme", "javascript:alert(1)", "not an http(s) URL"},
		{"no host", "https:///token", "not an http(s) URL"},
		{"a fragment", "https://login.example.com/token#x", "has a fragment (#x)"},
	} {
		for _, field := range []string{"TokenURL", "AuthURL", "RevocationURL", "DeviceAuthURL"} {
			t.Run(tc.name+"/"+field, func(t *testing.T) {
				r := newRig(t, devprovider.Options{})
				good := freshtoken.Endpoints{TokenURL: r.settings.TokenURL, AuthURL: r.settings.AuthURL}
				r.settings.TokenURL, r.settings.AuthURL = "", ""
				r.settings.Issuer = r.url
				r.settings.Discover = func(context.Context) (freshtoken.Endpoints, error) {
					ep := good
					switch field {
					case "TokenURL":
						ep.TokenURL = tc.url
					case "AuthURL":
						ep.AuthURL = tc.url
					case "RevocationURL":
						ep.RevocationURL = tc.url
					case "DeviceAuthURL":
						ep.DeviceAuthURL = tc.url
					}
					return ep, nil
				}
				_, err := r.source().Endpoints(t.Context())
				if !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("Endpoints = %v; want ErrClientRejected naming %s and saying it %s, without the secret", err, field, tc.want)
				}
			})
		}
	}
}

// TestEndpointsWithASecretInTheQueryAreRefused: an endpoint written with a
// secret in its query (…/token?client_secret=…, ?password=…) is refused by
// New without showing it: every error naming the endpoint showed it (a
// token endpoint that kept failing, or rejected the client), and every
// debug line of a token request, to whatever logger the program gave.
func TestEndpointsWithASecretInTheQueryAreRefused(t *testing.T) {
	for field, set := range map[string]func(*freshtoken.Settings, string){
		"TokenURL":      func(s *freshtoken.Settings, q string) { s.TokenURL += q },
		"AuthURL":       func(s *freshtoken.Settings, q string) { s.AuthURL += q },
		"RevocationURL": func(s *freshtoken.Settings, q string) { s.RevocationURL = "https://login.example.com/revoke" + q },
		"DeviceAuthURL": func(s *freshtoken.Settings, q string) { s.DeviceAuthURL = "https://login.example.com/device" + q },
	} {
		for _, q := range []string{"?client_secret=s3cr3t", "?tenant=x&Password=s3cr3t", "?access_token=s3cr3t"} {
			r := newRig(t, devprovider.Options{})
			set(&r.settings, q)
			_, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store})
			if err == nil || !strings.Contains(err.Error(), "Settings."+field+" has ") || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("New with %s ending %s: %v; want it refused, naming the field and not the secret", field, q, err)
			}
		}
	}
	r := newRig(t, devprovider.Options{})
	r.settings.TokenURL += "?tenant=x" // a query of no secret is the provider's own
	if _, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store}); err != nil {
		t.Fatal(err)
	}
}

// TestAPIURLEndsInASlash: an API URL given without its final slash is the
// same root: APIURL ends in "/", as documented, so APIURL() + "v2/company"
// is a path on the API's host, not a request to the host "…v2".
func TestAPIURLEndsInASlash(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.APIURL = r.url
	src := r.loggedInSource()
	if got := src.APIURL(); got != r.url+"/" {
		t.Fatalf("APIURL() = %q; want %q", got, r.url+"/")
	}
	if status := getStatus(t, src, src.APIURL()+"v2/company"); status != http.StatusOK {
		t.Fatalf("status %d; want 200", status)
	}
}

// TestNewRefusesDiscoverWithoutIssuer: tokens of a discovering environment
// are bound to its issuer; without one they would be bound to a token
// endpoint not known until discovery, so a stored token could not be served
// before it.
func TestNewRefusesDiscoverWithoutIssuer(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	r.settings.TokenURL = ""
	r.settings.Discover = func(context.Context) (freshtoken.Endpoints, error) {
		return freshtoken.Endpoints{TokenURL: r.url + "/v2/token_endpoint"}, nil
	}
	if _, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store}); err == nil || !strings.Contains(err.Error(), "Settings.Issuer") {
		t.Fatalf("New accepted Discover without Issuer (err %v)", err)
	}
}

// TestDiscoveryWhileServing: endpoints that discovery fills while other
// goroutines serve the stored token, renew it and ask for the endpoints are
// read safely (this test is for -race); a stored token is served without
// discovery, and the document is asked for once.
func TestDiscoveryWhileServing(t *testing.T) {
	r, _ := loggedIn(t)
	rec := r.record()
	rec.Grant.TokenURL, rec.Grant.Issuer = "", "https://issuer.example"
	if err := r.store.Save(context.Background(), r.settings.Env, rec); err != nil {
		t.Fatal(err)
	}
	var discoveries atomic.Int32
	ep := freshtoken.Endpoints{AuthURL: r.settings.AuthURL, TokenURL: r.settings.TokenURL, RevocationURL: r.url + "/v2/revoke"}
	r.settings.Issuer = "https://issuer.example"
	r.settings.AuthURL, r.settings.TokenURL = "", ""
	r.settings.Discover = func(context.Context) (freshtoken.Endpoints, error) {
		discoveries.Add(1)
		return ep, nil
	}
	src := r.source()
	if _, err := src.Token(); err != nil || discoveries.Load() != 0 {
		t.Fatalf("serving the stored token: %v, %d discoveries; want none", err, discoveries.Load())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, f := range []func(context.Context) error{
		func(ctx context.Context) error { _, err := src.TokenContext(ctx); return err },
		func(ctx context.Context) error { _, err := src.Renew(ctx); return err },
		func(ctx context.Context) error { _ = src.CanRevoke(); _, err := src.Endpoints(ctx); return err },
		func(ctx context.Context) error { _, err := src.OAuth2Config(ctx, ""); return err },
	} {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- f(context.Background()) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got, _ := src.Endpoints(context.Background()); got != ep || discoveries.Load() != 1 {
		t.Errorf("endpoints %+v after %d discoveries; want %+v after one", got, discoveries.Load(), ep)
	}
}

// TestEndpointsWaitNoLongerThanTheirContext: a discovery under way (a
// renewal's, waiting on a slow issuer with its own timeout) holds a caller
// with a shorter deadline (the proxy's check for the token endpoint, 2 s) no
// longer than that deadline; it waited for the other discovery to end.
func TestEndpointsWaitNoLongerThanTheirContext(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	r.settings.Issuer = "https://issuer.example"
	r.settings.AuthURL, r.settings.TokenURL = "", ""
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	r.settings.Discover = func(ctx context.Context) (freshtoken.Endpoints, error) {
		once.Do(func() { close(entered) })
		<-release
		return freshtoken.Endpoints{}, errors.New("the issuer did not answer")
	}
	src := r.source()
	go src.Endpoints(context.Background())
	<-entered
	released := time.AfterFunc(5*time.Second, func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := src.Endpoints(ctx)
	if !released.Stop() {
		t.Fatalf("Endpoints with a 50 ms deadline waited for the other discovery to end (%v)", err)
	}
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Endpoints past its deadline: %v; want the deadline said", err)
	}
}

// TestForceRenewNeverSettlesForTheOldToken: the re-read before a retry takes
// another renewer's new token, never the one this renewal set out to replace.
func TestForceRenewNeverSettlesForTheOldToken(t *testing.T) {
	r, src := loggedIn(t)
	r.provider.Fault(devprovider.Fault5xx, 4)
	if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("err = %v; want ErrUnreachable, not the old token", err)
	}
}

// TestJoiningAnotherRenewalNeverSettlesForTheTokenToReplace: a caller
// that waits for another caller's renewal, which ends by keeping the token
// (renewed under a second ago), renews: a forced renewal returned the very
// token it was asked to replace, and a request the API had refused was
// retried with the token refused, its 401 passed on.
func TestJoiningAnotherRenewalNeverSettlesForTheTokenToReplace(t *testing.T) {
	var refused atomic.Value // the token the API refuses
	refused.Store("")
	inAPI, answer := make(chan struct{}, 1), make(chan struct{})
	api, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") == "Bearer "+refused.Load().(string) {
			inAPI <- struct{}{}
			<-answer
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	r := newRig(t, devprovider.Options{AccessTTL: time.Second})
	r.settings.APIURL = api.URL + "/"
	src, logs := r.loggedInLogging()
	renewed := func() string {
		tok, err := src.Renew(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	// Due at half its 1 s lifetime, renewed under a second ago.
	dueAgain := func() { r.clock.Advance(600 * time.Millisecond) }

	known := renewed()
	dueAgain()
	var forced *oauth2.Token
	if _, err := whileRenewalWaits(t, r, logs,
		func() error { _, err := src.Token(); return err },
		func() (err error) { forced, err = src.Renew(t.Context()); return err }); err != nil {
		t.Fatal(err)
	}
	if forced.AccessToken == known {
		t.Fatal("the forced renewal returned the token it was asked to replace")
	}

	refused.Store(renewed())
	r.clock.Advance(300 * time.Millisecond) // not yet due: the request takes it
	status := make(chan int, 1)
	go func() {
		resp, err := src.Client().Get(api.URL + "/v2/company")
		if err != nil {
			t.Error(err)
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-inAPI
	dueAgain()
	whileRenewalWaits(t, r, logs,
		func() error { _, err := src.Token(); return err },
		func() error { close(answer); return nil })
	if got := <-status; got != http.StatusOK {
		t.Fatalf("the refused request: status %d; want it retried with a new token", got)
	}
}

// TestForcedRenewalJoiningOneThatFoundTheStoresTokenRenews: a forced
// renewal that waits for another caller's renewal, which ends with the
// token another process had renewed minutes before and this one had not
// yet seen, renews: it returned that token, no token request sent, as the
// token it was asked to replace was this process's older one (a proxy's
// Renew button, clicked as a request found its token due).
func TestForcedRenewalJoiningOneThatFoundTheStoresTokenRenews(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: 10 * time.Minute})
	src, logs := r.loggedInLogging()
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(5 * time.Minute)
	elsewhere, err := r.source().Renew(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// src's token is due, the one renewed elsewhere is not: src's next
	// caller finds it in the store.
	r.clock.Advance(4*time.Minute + 30*time.Second)
	before := r.provider.Stats().Refreshes
	var led, forced *oauth2.Token
	if lerr, ferr := whileRenewalWaits(t, r, logs,
		func() (err error) { led, err = src.Token(); return err },
		func() (err error) { forced, err = src.Renew(t.Context()); return err }); lerr != nil || ferr != nil {
		t.Fatal(lerr, ferr)
	}
	if led.AccessToken != elsewhere.AccessToken {
		t.Fatalf("the caller due took %q, not the token renewed elsewhere", led.AccessToken)
	}
	if forced.AccessToken == elsewhere.AccessToken || r.provider.Stats().Refreshes != before+1 {
		t.Fatalf("the forced renewal returned the store's token, renewed elsewhere 4m30s before, with %d refreshes; want a renewal of its own", r.provider.Stats().Refreshes-before)
	}
}

// TestCallerGivingUpDoesNotLoseTheRotation: the caller gives up while the
// refresh is at the provider, which rotates the refresh token. The refresh
// must still complete and be stored, or the spent refresh token ends the
// grant.
func TestCallerGivingUpDoesNotLoseTheRotation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: func(grant string) {
		if grant == "refresh_token" {
			cancel() // the caller gives up, with the refresh sent
		}
	}})
	src := r.loggedInSource()
	old := r.record().RefreshToken
	src.Renew(ctx)
	if rec := r.record(); rec.RefreshToken == old {
		t.Fatal("the refresh was abandoned with the caller; its rotated token was not stored")
	}
	if _, err := r.source().Renew(context.Background()); err != nil {
		t.Fatalf("the grant did not survive: %v", err)
	}
	if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestTokenRequestsOutlastAShortClientTimeout: a program passes its own
// HTTP client, whose Timeout suits its API calls but not a slow token
// endpoint. Settings.Timeout bounds token requests, not the client's
// Timeout, which would cut every renewal off (each try spending the refresh
// token at a provider that processes it anyway).
func TestTokenRequestsOutlastAShortClientTimeout(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, TokenDelay: 200 * time.Millisecond})
	r.login(r.source())
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: &http.Client{Timeout: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatalf("Renew through a client with a short Timeout: %v", err)
	}
	if st := r.provider.Stats(); st.Refreshes != 1 {
		t.Fatalf("stats %+v; want one refresh", st)
	}
}

// TestWaitersShareAFailedRenewal: callers arriving during a failing renewal
// get its outcome instead of each repeating every try.
func TestWaitersShareAFailedRenewal(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, TokenDelay: 20 * time.Millisecond})
	src := r.loggedInSource()
	r.clock.Advance(time.Hour)
	r.provider.Fault(devprovider.Fault5xx, 4)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = src.Token()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, freshtoken.ErrUnreachable) {
			t.Fatalf("caller %d: %v, want ErrUnreachable", i, err)
		}
	}
	if n := r.provider.Stats().TokenRequests; n != 1+4 {
		t.Fatalf("token requests = %d, want the exchange and one renewal's 4 tries", n)
	}
}

func TestRateLimitRetriesAreBounded(t *testing.T) {
	limited, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
	})
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.RetryBackoff = []time.Duration{time.Millisecond}
	r.loggedInSource()
	r.moveTokenEndpoint(limited.URL)
	_, err := r.source().Renew(context.Background())
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "rate limiting") {
		t.Fatalf("err = %v, want ErrUnreachable about rate limiting", err)
	}
	// Its Retry-After of 0s was waited out (a second at least); it said to
	// try again "then", in 0s, while renewals rested for 30s.
	again := "try again at " + r.clock.Now().Add(30*time.Second).Local().Format("15:04:05 MST")
	if msg := err.Error(); strings.Contains(msg, "wait 0s") || !strings.Contains(msg, "after 2 tries") || !strings.Contains(msg, again) {
		t.Fatalf("err = %v, want it to say how many tries were made and when to try again", err)
	}
	if hits.Load() != 2 {
		t.Fatalf("the token endpoint was asked %d times, want 2 (a try and one retry after at least a second)", hits.Load())
	}
}

func TestClientSecretFailureIsNotKept(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	calls := 0
	r.settings.ClientSecret = ""
	r.settings.ClientSecretFunc = func(ctx context.Context) (string, error) {
		calls++
		if calls == 1 {
			return "", errors.New("password manager locked")
		}
		return "dev-client-secret", nil
	}
	src := r.source()
	if _, err := src.OAuth2Config(context.Background(), ""); err == nil {
		t.Fatal("first fetch should fail")
	}
	if conf, err := src.OAuth2Config(context.Background(), ""); err != nil || conf.ClientSecret != "dev-client-secret" {
		t.Fatalf("second fetch: %v; a failure must not be kept", err)
	}
	src.OAuth2Config(context.Background(), "")
	if calls != 2 {
		t.Fatalf("secret fetched %d times, want 2: a success is kept", calls)
	}
}

// slowSecretCommand gives r's environment a client secret command, as a
// password manager asking for its passphrase: its first run closes asked,
// and every run answers once answer is closed; calls counts the runs.
func slowSecretCommand(r *rig) (asked, answer chan struct{}, calls *atomic.Int32) {
	asked, answer, calls = make(chan struct{}), make(chan struct{}), new(atomic.Int32)
	r.settings.ClientSecret = ""
	r.settings.ClientSecretFunc = func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			close(asked)
		}
		<-answer
		return "dev-client-secret", nil
	}
	return asked, answer, calls
}

// TestSlowSecretCommandHoldsNoLeaderPastItsEnd: a caller that leads a
// renewal, whose context ends (a deadline) while the client secret command
// runs, returns with its context's error, nothing sent; the command runs
// on, and the next caller's renewal uses the secret it gives, without
// running it again. The leader waited for the command, up to 30 s, past
// its deadline.
func TestSlowSecretCommandHoldsNoLeaderPastItsEnd(t *testing.T) {
	r, _ := loggedIn(t)
	asked, answer, calls := slowSecretCommand(r)
	src := r.source() // a new process: its first renewal runs the command
	r.clock.Advance(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-asked
		cancel() // as its deadline would
	}()
	givesUp(t, src, ctx, context.Canceled, "the renewal's leader, whose context ended while the secret command ran")
	if st := r.provider.Stats(); st.Refreshes != 0 {
		t.Fatalf("%d refreshes from a renewal given up before the secret came; want none", st.Refreshes)
	}
	close(answer)
	if _, err := src.Token(); err != nil {
		t.Fatalf("the next renewal: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the secret command ran %d times; want once, its secret kept", n)
	}
	if st := r.provider.Stats(); st.Refreshes != 1 {
		t.Fatalf("%d refreshes, want 1", st.Refreshes)
	}
}

// TestSlowSecretCommandHoldsNoCallerThatGaveUp: while a renewal waits
// for the client secret command (a password manager asking for its
// passphrase), a caller whose context has ended returns with its error,
// and the renewal then completes for the one that waits. Every caller
// needing a renewal waited for the command, whatever its deadline.
func TestSlowSecretCommandHoldsNoCallerThatGaveUp(t *testing.T) {
	r, _ := loggedIn(t)
	asked, answer, _ := slowSecretCommand(r)
	src := r.source() // a new process: its first renewal runs the command
	r.clock.Advance(time.Hour)
	renewed := make(chan error, 1)
	go func() {
		_, err := src.Token()
		renewed <- err
	}()
	<-asked
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	givesUp(t, src, ctx, context.Canceled, "a caller whose context had ended, while the secret command ran")
	close(answer)
	if err := <-renewed; err != nil {
		t.Fatalf("the renewal waiting for the secret: %v", err)
	}
	if st := r.provider.Stats(); st.Refreshes != 1 {
		t.Fatalf("%d refreshes, want 1", st.Refreshes)
	}
}

// TestProviderEchoingASecretDoesNotLeakIt: a token endpoint that quotes the
// refresh token in its error must not put it into the error message.
func TestProviderEchoingASecretDoesNotLeakIt(t *testing.T) {
	r, _ := loggedIn(t)
	rt := r.record().RefreshToken
	echoing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "bad token " + req.PostForm.Get("refresh_token")})
	}))
	defer echoing.Close()
	r.moveTokenEndpoint(echoing.URL)
	_, err := r.source().Renew(context.Background())
	if err == nil || strings.Contains(err.Error(), rt) || !strings.Contains(err.Error(), "invalid_request") {
		t.Fatalf("err = %v; want invalid_request without the refresh token", err)
	}
}

// TestLogoutAndLoginElsewhereReachALongRunningProcess: a process serving a
// token from memory notices, within StoreCheckInterval, that another
// process logged out or logged in again.
func TestLogoutAndLoginElsewhereReachALongRunningProcess(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	other, longRunning := r.source(), r.source()
	r.login(other)
	first, err := longRunning.Token()
	if err != nil {
		t.Fatal(err)
	}
	r.login(other) // a new login elsewhere
	r.clock.Advance(time.Second)
	if tok, _ := longRunning.Token(); tok.AccessToken != first.AccessToken {
		t.Fatal("the store was read before StoreCheckInterval passed")
	}
	r.clock.Advance(10 * time.Second)
	tok, err := longRunning.Token()
	if err != nil || tok.AccessToken == first.AccessToken || tok.AccessToken != r.record().AccessToken {
		t.Fatalf("after the interval: %v, %v; want the token of the new login", tok, err)
	}
	if err := other.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(10 * time.Second)
	if _, err := longRunning.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("after a logout elsewhere: %v, want ErrLoginRequired", err)
	}
	if n := r.provider.Stats().Refreshes; n != 0 {
		t.Fatalf("refreshes = %d, want 0", n)
	}
}

// TestUnsavedRotationIsSavedOnceTheStoreWorks: the provider rotates the
// refresh token but the store refuses the answer. The process keeps the new
// tokens and saves them as soon as the store works again, so that neither
// it nor another process spends the rotated-out refresh token, which would
// end the grant.
func TestUnsavedRotationIsSavedOnceTheStoreWorks(t *testing.T) {
	r, _ := loggedIn(t)
	own := &ownStore{Store: r.store}
	src := r.sourceOn(own)
	spent := r.record().RefreshToken
	own.broken.Store(true)
	_, err := src.Renew(context.Background())
	if err == nil || !strings.Contains(err.Error(), "could not be saved") || !strings.Contains(err.Error(), "keeps them") {
		t.Fatalf("err = %v; want the unsaved tokens reported as kept", err)
	}
	if r.record().RefreshToken != spent {
		t.Fatal("the store changed while broken")
	}
	own.broken.Store(false)
	// Without a call: other processes sharing the store must find the new
	// refresh token as soon as it can be saved, not spend the old one.
	testenv.WaitFor(t, "the kept tokens to be saved", func() bool { return r.record().RefreshToken != spent })
	r.clock.Advance(time.Hour)
	if _, err := r.source().Token(); err != nil {
		t.Fatalf("another process, once the store works again: %v", err)
	}
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatalf("the process that kept the tokens: %v", err)
	}
	if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("stats %+v: the rotated-out refresh token was spent again", st)
	}
}

// TestStoreHangingUnderTheLockEndsWithTheCaller: a program's own store that
// stops answering once the renewal lock is held (its Load, or its HoldsLock
// just before the token request) is waited for only as long as the caller's
// context allows, since no token request has been sent yet.
func TestStoreHangingUnderTheLockEndsWithTheCaller(t *testing.T) {
	for name, hanging := range map[string]func(store.Store) store.Store{
		"Load":      func(st store.Store) store.Store { return &ownStore{Store: st, hangFrom: 2} }, // the first Load serves the expired token
		"HoldsLock": func(st store.Store) store.Store { return silentChecker{st} },
	} {
		t.Run(name, func(t *testing.T) {
			r, _ := loggedIn(t)
			src := r.sourceOn(hanging(r.store))
			r.clock.Advance(time.Hour)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			givesUp(t, src, ctx, context.DeadlineExceeded, "a caller with a deadline, while the store hung")
			if n := r.provider.Stats().TokenRequests; n != 1 {
				t.Fatalf("token requests = %d, want the log-in's alone", n)
			}
		})
	}
}

// silentChecker is a program's own store.LockChecker whose HoldsLock never
// answers, until its context ends.
type silentChecker struct{ store.Store }

func (silentChecker) HoldsLock(ctx context.Context, _ string) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// looseLock is a program's own store whose Lock excludes nobody.
type looseLock struct{ store.Store }

func (looseLock) Lock(context.Context, string) (func(), error) { return func() {}, nil }

// TestLockThatExcludesNobodyIsRefused: a program's own store whose Lock lets
// a second renewer of the process in while the first holds it would have
// both spend one refresh token, and a provider that detects reuse end the
// grant. The second is refused before it sends anything, in an error that
// says what is wrong with the store; the first renews.
func TestLockThatExcludesNobodyIsRefused(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.login(r.source())
	second := r.sourceOn(looseLock{r.store})
	var secondErr error
	r.settings.ClientSecret = ""
	r.settings.ClientSecretFunc = func(context.Context) (string, error) {
		// Runs under the first renewer's lock, before its token request.
		_, secondErr = second.Token()
		return "dev-client-secret", nil
	}
	first := r.sourceOn(looseLock{r.store})
	r.clock.Advance(time.Hour)
	if _, err := first.Token(); err != nil {
		t.Fatalf("the first renewer: %v", err)
	}
	if secondErr == nil || !strings.Contains(secondErr.Error(), "Lock") {
		t.Fatalf("the second renewer: %v; want a refusal naming the store's Lock", secondErr)
	}
	if st := r.provider.Stats(); st.Refreshes != 1 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("stats %+v: want one refresh, no reuse", st)
	}
}

// placeStore is a program's own store that names the place of every
// record by one place, whatever its Store holds.
type placeStore struct {
	store.Store
	place string
}

func (p placeStore) Location(string) string { return p.place }

// TestStoresNamingOnePlaceAreToldApartByLocation: a program that keeps each
// customer's tokens in a store of their own, each with a Lock that works,
// but names them all with one Location ("the database"), has two
// customers' renewals refused when they meet, since the engine tells stores
// apart by Location. The error said only that the store's Lock excluded
// nobody, and sent the program's authors looking at a lock that worked; it
// names Location too, and store.Store says Location must tell places apart.
func TestStoresNamingOnePlaceAreToldApartByLocation(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	first := placeStore{filestore.New(t.TempDir() + "/customer-1"), "the database"}
	second := placeStore{filestore.New(t.TempDir() + "/customer-2"), "the database"}
	r.login(r.sourceOn(first))
	secondSrc := r.sourceOn(second)
	r.login(secondSrc)
	var secondErr error
	r.settings.ClientSecret = ""
	r.settings.ClientSecretFunc = func(context.Context) (string, error) {
		// Runs under the first customer's lock, before its token request.
		_, secondErr = secondSrc.Renew(context.Background())
		return "dev-client-secret", nil
	}
	r.clock.Advance(time.Hour)
	if _, err := r.sourceOn(first).Token(); err != nil {
		t.Fatalf("the first customer's renewal: %v", err)
	}
	if secondErr == nil || !strings.Contains(secondErr.Error(), "Location") {
		t.Fatalf("the second customer's renewal: %v; want a refusal naming the stores' Location", secondErr)
	}
}

// flatLock is a program's own store whose Lock, when its context ends,
// tells of it in words only (fmt.Errorf with %v), as many do.
type flatLock struct{ store.Store }

func (f flatLock) Lock(ctx context.Context, env string) (func(), error) {
	unlock, err := f.Store.Lock(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("the database's lock: %v", err)
	}
	return unlock, nil
}

// TestWaitersOutliveALeaderThatGaveUp: the caller leading a renewal gives up
// while it waits for the store's lock (its HTTP client went away), and the
// other callers waiting for that renewal go on and renew, whatever words
// the store's Lock gives the end of the leader's context in. Through a
// store that wrapped it with %v, each of them failed with the leader's
// "context canceled", though their own contexts were alive.
func TestWaitersOutliveALeaderThatGaveUp(t *testing.T) {
	for name, wrap := range map[string]func(store.Store) store.Store{
		"file store": func(s store.Store) store.Store { return s },
		"own store":  func(s store.Store) store.Store { return flatLock{s} },
	} {
		t.Run(name, func(t *testing.T) {
			r, _ := loggedIn(t)
			logs := testenv.NewOutput()
			src, err := freshtoken.New(r.settings, freshtoken.Options{Store: wrap(r.store), Clock: r.clock.Now,
				Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err != nil {
				t.Fatal(err)
			}
			held, err := r.store.Lock(context.Background(), r.settings.Env) // another process renews
			if err != nil {
				t.Fatal(err)
			}
			r.clock.Advance(time.Hour)
			ctx, cancel := context.WithCancel(context.Background())
			leader := make(chan error, 1)
			go func() { _, err := src.TokenContext(ctx); leader <- err }()
			testenv.WaitFor(t, "the leader to wait for the lock", func() bool { return strings.Contains(logs.String(), "waiting for the renewal lock") })
			waiter := make(chan error, 1)
			go func() { _, err := src.Token(); waiter <- err }()
			testenv.WaitFor(t, "the other caller to wait for the renewal", func() bool { return strings.Contains(logs.String(), "waiting for the renewal in flight") })
			cancel()
			if err := <-leader; !errors.Is(err, context.Canceled) {
				t.Errorf("the leader: %v; want its context's end", err)
			}
			held()
			if err := <-waiter; err != nil {
				t.Fatalf("the caller still waiting: %v; want a token renewed for it", err)
			}
		})
	}
}

// noUnlock is a program's own store whose Lock hands back no unlock function.
type noUnlock struct{ store.Store }

func (noUnlock) Lock(context.Context, string) (func(), error) { return nil, nil }

// TestLockWithoutUnlockFunction: a program's own store whose Lock returns
// (nil, nil), as a stub for a program of one process may, is a lock with
// nothing to release, not a panic once the renewal is stored.
func TestLockWithoutUnlockFunction(t *testing.T) {
	r, _ := loggedIn(t)
	src := r.sourceOn(noUnlock{r.store})
	r.clock.Advance(time.Hour)
	if _, err := src.Token(); err != nil {
		t.Fatalf("a renewal through a Lock that returned no unlock function: %v", err)
	}
	if err := src.Logout(context.Background()); err != nil {
		t.Fatalf("a log-out through it: %v", err)
	}
}

// TestSendingWithoutStoredFunction: a program's Options.Sending that only
// wants to be told of token requests, and returns nil rather than a
// function, is a wait with nothing to end, not a panic once the answer is
// stored: the renewal's caller panicked, and for an answer the store
// refused, the goroutine saving it crashed the program once it had.
func TestSendingWithoutStoredFunction(t *testing.T) {
	r, own := loggedInOnOwnStore(t)
	var told atomic.Int32
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: own, Clock: r.clock.Now, Sending: func(freshtoken.Renewal) func() {
		told.Add(1)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatalf("a renewal told to a Sending that returned no function: %v", err)
	}
	own.broken.Store(true)
	if _, err := src.Renew(context.Background()); err == nil {
		t.Fatal("a renewal whose answer the store refused succeeded")
	}
	own.broken.Store(false)
	testenv.WaitFor(t, "the kept answer to be saved and its goroutine to end", func() bool { return savingGoroutines() == 0 })
	if n := told.Load(); n != 5 { // two requests, two answers in hand, one kept
		t.Fatalf("Sending told of %d token requests, answers in hand and kept answers; want 5", n)
	}
}

// TestLockingIsToldBeforeTheLock: Options.Locking is called before the
// store's Lock, which may wait for another process's renewal, and not at
// all for a valid token: the command line starts watching for signals
// there (a quick command's Ctrl-\ during that wait ended it with a stack
// dump), and a command served a valid token must not pay for it.
func TestLockingIsToldBeforeTheLock(t *testing.T) {
	r, _ := loggedIn(t)
	var told atomic.Int32
	st := &lockingStore{Store: r.store, told: &told}
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now, Locking: func() { told.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.TokenContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := told.Load(); n != 0 {
		t.Fatalf("Locking called %d times for a valid token; want none", n)
	}
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.locks.Load() == 0 || st.untold.Load() != 0 {
		t.Fatalf("%d of %d Locks came before Locking was called", st.untold.Load(), st.locks.Load())
	}
}

// lockingStore counts its Locks, and those that come before told counts
// a call of Options.Locking.
type lockingStore struct {
	store.Store
	told          *atomic.Int32
	locks, untold atomic.Int32
}

func (l *lockingStore) Lock(ctx context.Context, env string) (func(), error) {
	if l.locks.Add(1) > l.told.Load() {
		l.untold.Add(1)
	}
	return l.Store.Lock(ctx, env)
}

// sharedRedis starts a Redis of the test's own; each call of the function
// it returns is another machine's store in it.
func sharedRedis(t *testing.T) (*redistest.Server, func() store.Store) {
	srv := redistest.Start(t)
	return srv, func() store.Store {
		st, err := redisstore.New(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
}

// sharedStore makes a store of kind (file, redis or keyring) of the test's
// own; each call of the function it returns is another process's store on
// the same records.
func sharedStore(t *testing.T, kind string) func() store.Store {
	dir := filepath.Join(t.TempDir(), "tokens")
	switch kind {
	case "redis":
		_, newStore := sharedRedis(t)
		return newStore
	case "keyring":
		keyringtest.Start(t)
		return func() store.Store { return keyringstore.New(keyringstore.DefaultService, dir) }
	}
	return func() store.Store { return filestore.New(dir) }
}

// TestLockLostWhileHeldSendsNothing: a renewer whose lock passes to another
// renewer while it holds it, the other renewing meanwhile, must neither
// send the refresh token the other spent (the provider ends the grant) nor
// store its answer over the other's newer tokens, whose refresh token the
// other rotated out: before its token request, and again before its save,
// it sees that the lock is no longer its own, takes it again and uses the
// newer tokens. A Redis lock passes when its holder is paused (a suspended
// machine, a stopped process) past the lock's time limit; a lock file of
// the file store, or of the keychain store, whose locks are the same lock
// files, when it is removed while held (someone clearing stale-looking
// .lock files) and the next renewer locks a new one.
func TestLockLostWhileHeldSendsNothing(t *testing.T) {
	for _, kind := range []string{"redis", "file", "keyring"} {
		for _, when := range []string{"before the request", "before the save"} {
			t.Run(kind+" "+when, func(t *testing.T) { lockLostWhileHeld(t, kind, when) })
		}
	}
}

func lockLostWhileHeld(t *testing.T, kind, when string) {
	dir := filepath.Join(t.TempDir(), "tokens")
	newStore := func() store.Store { return filestore.New(dir) }
	loseLock := func() {
		if err := os.Remove(filepath.Join(dir, "sandbox.lock")); err != nil {
			t.Error(err)
		}
	}
	switch kind {
	case "redis":
		var srv *redistest.Server
		srv, newStore = sharedRedis(t)
		// The lock expired, and the in-flight mark its holder set before
		// its token request is gone too: a holder paused longer than its
		// lock lasts, whose mark another machine saw not extended and took
		// the lock from (or longer than the mark lasts).
		loseLock = func() { srv.Command(t, "DEL", "freshtoken:sandbox:lock", "freshtoken:sandbox:renewing") }
	case "keyring":
		keyringtest.Start(t)
		newStore = func() store.Store { return keyringstore.New(keyringstore.DefaultService, dir) }
	}
	grace := time.Duration(0)
	if when == "before the save" {
		grace = time.Minute // a provider that answers both renewers
	}
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, ReuseGrace: grace})
	r.login(r.sourceOn(newStore()))
	elsewhere := r.sourceOn(newStore())
	var (
		once             sync.Once
		renewedElsewhere *oauth2.Token
		errElsewhere     error
	)
	renewElsewhere := func() {
		once.Do(func() {
			loseLock()
			renewedElsewhere, errElsewhere = elsewhere.Token()
		})
	}
	settings := r.settings
	client := http.DefaultClient
	if when == "before the request" {
		settings.ClientSecret = ""
		settings.ClientSecretFunc = func(context.Context) (string, error) {
			renewElsewhere() // under the lock, before the token request
			return "dev-client-secret", nil
		}
	} else {
		client = &http.Client{Transport: afterAnswer(renewElsewhere)}
	}
	first, err := freshtoken.New(settings, freshtoken.Options{Store: newStore(), Clock: r.clock.Now, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour)
	tok, err := first.Token()
	if err != nil || errElsewhere != nil {
		t.Fatalf("first: %v; elsewhere: %v", err, errElsewhere)
	}
	stored, err := newStore().Load(context.Background(), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccessToken != renewedElsewhere.AccessToken || tok.AccessToken != stored.AccessToken {
		t.Fatalf("the first renewer got %q, the store holds %q; want the other renewal's %q kept and used", tok.AccessToken, stored.AccessToken, renewedElsewhere.AccessToken)
	}
	r.clock.Advance(2 * time.Hour) // past any reuse grace
	if _, err := r.sourceOn(newStore()).Token(); err != nil {
		t.Fatalf("the grant did not survive: %v", err)
	}
	if st := r.provider.Stats(); st.GrantsRevoked != 0 || st.ReuseDetected != 0 && grace == 0 {
		t.Fatalf("stats %+v: a spent refresh token was sent", st)
	}
}

// afterAnswer is a transport that calls hook after each answer comes back.
type afterAnswer func()

func (h afterAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	h()
	return resp, err
}

// loggedInOnOwnStore is loggedIn's rig, and its store behind one a test
// can break (ownStore), once earlier tests' saving goroutines have ended.
func loggedInOnOwnStore(t *testing.T) (*rig, *ownStore) {
	t.Helper()
	testenv.WaitFor(t, "earlier tests' saving goroutines to end", func() bool { return savingGoroutines() == 0 })
	r, _ := loggedIn(t)
	return r, &ownStore{Store: r.store}
}

// renewWithoutPanic is src.Renew, a panic of its caller's failing the test.
func renewWithoutPanic(t *testing.T, src *freshtoken.Source) error {
	t.Helper()
	defer func() {
		t.Helper()
		if v := recover(); v != nil {
			t.Fatalf("the renewal's caller panicked: %v", v)
		}
	}()
	_, err := src.Renew(context.Background())
	return err
}

// savingGoroutines counts the goroutines saving a renewal's answer that
// the store refused: those keep starts, counted by the line that says so,
// as one not yet running is told as a wrapper of keep's, not as saveLater
// (counted so, a test that ended once there were none left one running on
// a loaded machine, which brought its token folder back after its end).
func savingGoroutines() int {
	return strings.Count(goroutines(), "created by github.com/freshtoken/freshtoken.(*Source).keep in ")
}

// goroutines is the stack of every goroutine, whole.
func goroutines() string {
	for size := 1 << 20; ; size *= 2 {
		buf := make([]byte, size)
		if n := runtime.Stack(buf, true); n < size {
			return string(buf[:n])
		}
	}
}

// TestADroppedRefusedAnswerSaysSo: an answer the store refused, dropped
// because a log-in stored other tokens meanwhile, is no longer kept: the
// error, read when the command ends, said that it was kept and that a
// log-in would be needed, over the log-in just made.
func TestADroppedRefusedAnswerSaysSo(t *testing.T) {
	r, own := loggedInOnOwnStore(t)
	own.broken.Store(true)
	_, err := r.sourceOn(own).Renew(context.Background())
	if err == nil {
		t.Fatal("a renewal whose answer the store refused succeeded")
	}
	r.login(r.source()) // elsewhere, with a store that works
	testenv.WaitFor(t, "the refused answer's goroutine to end", func() bool { return savingGoroutines() == 0 })
	if msg := err.Error(); strings.Contains(msg, "keeps them") || !strings.Contains(msg, "other tokens") {
		t.Fatalf("err = %q; want it to say the answer gave way to other tokens", msg)
	}
}

// TestSourcesBuiltAgainShareAnUnsavedRotation: a program that builds a
// Source for each job, over a store that refuses a renewal's answer. The
// next Sources must not spend the refresh token that answer rotated out
// (the provider would end the grant), nor each start a goroutine that
// tries for ever to save an answer of its own: one goroutine keeps the
// answer and saves it once the store works, then ends. One that finds the
// store holding other tokens (a log-in elsewhere) drops the answer and ends.
func TestSourcesBuiltAgainShareAnUnsavedRotation(t *testing.T) {
	r, own := loggedInOnOwnStore(t)
	spent := r.record().RefreshToken
	own.broken.Store(true)
	if _, err := r.sourceOn(own).Renew(context.Background()); err == nil {
		t.Fatal("a renewal whose answer the store refused succeeded")
	}
	r.clock.Advance(time.Hour)
	for range 5 {
		if _, err := r.sourceOn(own).Token(); err == nil || !strings.Contains(err.Error(), "could not be saved") {
			t.Fatalf("err = %v; want the answer that could not be saved", err)
		}
	}
	if st := r.provider.Stats(); st.Refreshes != 1 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("stats %+v: want one refresh, and the rotated-out refresh token never sent again", st)
	}
	if n := savingGoroutines(); n != 1 {
		t.Fatalf("%d goroutines saving the refused answers; want 1", n)
	}
	own.broken.Store(false)
	testenv.WaitFor(t, "the kept answer to be saved and its goroutine to end", func() bool { return savingGoroutines() == 0 })
	if r.record().RefreshToken == spent {
		t.Fatal("the kept answer was not saved")
	}
	if _, err := r.sourceOn(own).Renew(context.Background()); err != nil {
		t.Fatalf("the grant did not survive: %v", err)
	}

	own.broken.Store(true)
	if _, err := r.sourceOn(own).Renew(context.Background()); err == nil {
		t.Fatal("a renewal whose answer the store refused succeeded")
	}
	r.login(r.source()) // elsewhere, with a store that works
	loggedIn := r.record().RefreshToken
	testenv.WaitFor(t, "the refused answer's goroutine to end", func() bool { return savingGoroutines() == 0 })
	own.broken.Store(false)
	if r.record().RefreshToken != loggedIn {
		t.Fatal("the log-in's tokens were overwritten")
	}
	if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSilentStoreIsNotBlamedOnAnotherRenewer: a shared store that does not
// answer (a Redis hung or cut off) makes the wait for the renewal lock
// slow; the warning about the wait must not say that another process or
// machine holds the lock, which sent people looking for a renewer that was
// not there. (The store answers the forced renewal's first read, of the
// record as it began: a read that fails rests renewals, and the lock is
// not waited for.)
func TestSilentStoreIsNotBlamedOnAnotherRenewer(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0") // takes connections, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	st, err := redisstore.New("redis://" + silent.Addr().String() + "/0?max_retries=-1&read_timeout=1500ms")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := loggedIn(t)
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: readsFrom{Store: st, reads: r.store}, Clock: r.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if out := logs.String(); !strings.Contains(out, "waiting for the renewal lock") || strings.Contains(out, "holds the renewal lock") {
		t.Fatalf("logs:\n%s\nwant the slow wait for the lock told without blaming another renewer", out)
	}
}

// readsFrom is a store whose Load reads from reads, which answers, and
// whose other calls go to Store.
type readsFrom struct {
	store.Store
	reads store.Store
}

func (r readsFrom) Load(ctx context.Context, env string) (*store.Record, error) {
	return r.reads.Load(ctx, env)
}

// TestStoreSlowToTakeTheAnswerIsNotBlamedOnTheTokenEndpoint: the token
// endpoint answers at once, and the store is slow to take the answer (a
// Redis pausing writes; a keychain locked as the answer came, waiting to be
// unlocked). The warning told the user, a second in, that freshtoken was
// "waiting for the token endpoint to answer", sending them to the provider
// while the store held things up: its timer ran until the answer was
// stored. It ends when the answer comes.
func TestStoreSlowToTakeTheAnswerIsNotBlamedOnTheTokenEndpoint(t *testing.T) {
	srv := redistest.Start(t)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	provider, err := url.Parse(r.url)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(provider)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		if form, _ := url.ParseQuery(string(body)); form.Get("grant_type") == "refresh_token" {
			// Writes wait 1.8 s (under the store's 2 s read timeout): past
			// the second after which a wait is told.
			srv.Command(t, "CLIENT", "PAUSE", "1800", "WRITE")
		}
		forward.ServeHTTP(w, req)
	}))
	defer front.Close()
	r.settings.TokenURL = front.URL + "/v2/token_endpoint"
	st, err := redisstore.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src)
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); strings.Contains(out, "waiting for the token endpoint") {
		t.Fatalf("logs:\n%s\nwant no word of waiting for the token endpoint, which answered at once", out)
	}
}

// TestUnsavedAnswerThatRotatedNothingRests: a store that refuses every
// answer, at a provider that does not rotate refresh tokens, does not get
// a token request from each caller: the renewal's failure is answered for
// the rest that follows a renewal that gave up, as when the token endpoint
// keeps failing. (An answer that rotated the refresh token is kept and
// saved before the next renewal, which sends nothing meanwhile.)
func TestUnsavedAnswerThatRotatedNothingRests(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	srv, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"an-access-token-that-is-never-saved","token_type":"bearer","expires_in":3600}`))
	})
	r.settings.TokenURL = srv.URL
	expired := &store.Record{AccessToken: "old-access-token", RefreshToken: "a-refresh-token-never-rotated",
		IssuedAt: r.clock.Now().Add(-2 * time.Hour), Expiry: r.clock.Now().Add(-time.Hour),
		Grant: store.Grant{TokenURL: srv.URL, ClientID: r.settings.ClientID, Type: freshtoken.GrantAuthorizationCode}}
	if err := r.store.Save(context.Background(), "sandbox", expired); err != nil {
		t.Fatal(err)
	}
	own := &ownStore{Store: r.store}
	own.broken.Store(true)
	src := r.sourceOn(own)
	for range 10 {
		r.clock.Advance(time.Second)
		if _, err := src.Token(); err == nil || !strings.Contains(err.Error(), "could not be saved") {
			t.Fatalf("err = %v; want the answer that could not be saved", err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d token requests from 10 callers within 10 s while the store refused every answer; want 1", n)
	}
	r.clock.Advance(30 * time.Second)
	own.broken.Store(false)
	if _, err := src.Token(); err != nil {
		t.Fatalf("after the rest, with the store working: %v", err)
	}
}

// TestLoggedInAtOutlivesRenewals: the log-in's time is kept through
// renewals, so a command waiting for a log-in made elsewhere (through the
// proxy, or a device log-in in another terminal) sees it once it has been
// renewed too (it took the renewal for no log-in and waited on); a renewal
// of tokens from before is no log-in, and a record written before the
// field was tells only until it is renewed.
func TestLoggedInAtOutlivesRenewals(t *testing.T) {
	r, src := loggedIn(t)
	began := r.clock.Now()
	if rec := r.record(); rec.LoggedInAt.IsZero() || !rec.LoggedInSince(began.Add(-time.Second)) {
		t.Fatalf("a log-in's record: logged in at %v", rec.LoggedInAt)
	}
	loggedInAt := r.record().LoggedInAt
	r.clock.Advance(time.Minute)
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := r.record()
	if !rec.LoggedInAt.Equal(loggedInAt) || !rec.LoggedInSince(began.Add(-time.Second)) {
		t.Errorf("after a renewal: logged in at %v, want %v, the log-in's", rec.LoggedInAt, loggedInAt)
	}
	if rec.LoggedInSince(r.clock.Now()) {
		t.Error("a renewal of tokens from before counts as a log-in made since")
	}
	old := *rec
	old.LoggedInAt = time.Time{}
	if old.LoggedInSince(old.IssuedAt) {
		t.Error("a renewed record of before the field counts as a log-in")
	}
	old.RenewedAt = time.Time{}
	if !old.LoggedInSince(old.IssuedAt) {
		t.Error("a record of before the field, never renewed, does not count as the log-in it is")
	}
}

// countedRedis is a Redis store that counts the engine's calls on it: each
// is a wait on Redis when it is down.
type countedRedis struct {
	*redisstore.Store
	calls atomic.Int32
}

func (c *countedRedis) Load(ctx context.Context, env string) (*store.Record, error) {
	c.calls.Add(1)
	return c.Store.Load(ctx, env)
}

func (c *countedRedis) Lock(ctx context.Context, env string) (func(), error) {
	c.calls.Add(1)
	return c.Store.Lock(ctx, env)
}

// loggedInOnCountedRedis is a Source with options o, logged in on a
// countedRedis of its own, and down, which takes that Redis down: "stopped",
// or "paused" (it takes connections and never answers). The count starts
// from down.
func loggedInOnCountedRedis(t *testing.T, o freshtoken.Options) (r *rig, src *freshtoken.Source, st *countedRedis, down func(how string)) {
	t.Helper()
	srv := redistest.Start(t)
	rs, err := redisstore.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	st = &countedRedis{Store: rs}
	r = newRig(t, devprovider.Options{AccessTTL: time.Hour})
	o.Store, o.Clock = st, r.clock.Now
	if src, err = freshtoken.New(r.settings, o); err != nil {
		t.Fatal(err)
	}
	r.login(src)
	return r, src, st, func(how string) {
		if how == "stopped" {
			srv.Stop()
		} else {
			srv.Pause(t)
		}
		st.calls.Store(0)
	}
}

// TestRedisDownWhileTheTokenIsStillValid: Redis down (stopped, or paused so
// that it takes connections and never answers) when the access token is due
// for renewal but still valid. Callers get the valid token, told once, in
// one warning line naming what failed and until when the token is valid,
// rather than each waiting for Redis and warning twice (a proxy paid
// seconds per request); renewals leave Redis alone a few seconds after it
// failed, then try it once again; once the token has expired, callers are
// told that Redis cannot be reached, at once while renewals rest. Paused,
// callers do not wait for Redis's own wait either: they are served once
// the renewal's call has gone unanswered for store.StallNotice, the
// renewal left waiting for Redis.
func TestRedisDownWhileTheTokenIsStillValid(t *testing.T) {
	for _, how := range []string{"stopped", "paused"} {
		t.Run(how, func(t *testing.T) {
			logs := testenv.NewOutput()
			r, src, st, down := loggedInOnCountedRedis(t, freshtoken.Options{
				Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			rec, err := st.Store.Load(context.Background(), r.settings.Env)
			if err != nil {
				t.Fatal(err)
			}
			valid, until := rec.AccessToken, rec.Expiry.UTC().Format(time.RFC3339)
			r.clock.Advance(59*time.Minute + 30*time.Second) // due (refresh_before 60 s), valid 30 s more
			down(how)
			for i := range 4 { // within the rest after the first failure
				tok, err := src.Token()
				if err != nil || tok.AccessToken != valid {
					t.Fatalf("call %d with Redis %s: %v; want the still-valid token", i, how, err)
				}
				r.clock.Advance(time.Second)
			}
			if n := st.calls.Load(); n != 1 {
				t.Errorf("4 calls within a few seconds made %d calls on the Redis that is down; want 1, then a rest", n)
			}
			r.clock.Advance(5 * time.Second) // the rest is over: one more try
			if tok, err := src.Token(); err != nil || tok.AccessToken != valid {
				t.Fatalf("after the rest: %v; want the still-valid token", err)
			}
			// Paused, the first renewal still waits for Redis (8 s at its
			// defaults), its callers served once it stalled: this one too.
			if n, want := st.calls.Load(), map[string]int32{"stopped": 2, "paused": 1}[how]; n != want {
				t.Errorf("after the rest, %d calls on Redis in all; want %d", n, want)
			}
			warned := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(warned) != 1 || !strings.Contains(warned[0], "level=WARN") || !strings.Contains(warned[0], "Redis") ||
				!strings.Contains(warned[0], "still valid until "+until) {
				t.Errorf("logged:\n%s\nwant one warning naming Redis and saying the token is still valid until it expires", logs.String())
			}

			r.clock.Advance(time.Minute) // expired
			_, err = src.Token()
			if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "Redis") {
				t.Fatalf("expired, Redis %s: %v; want the Redis store unreachable", how, err)
			}
			calls := st.calls.Load()
			r.clock.Advance(time.Second)
			if _, err := src.Token(); !errors.Is(err, store.ErrUnreachable) || st.calls.Load() != calls {
				t.Fatalf("expired, during the rest: %v after %d more calls on Redis; want the same failure, Redis left alone", err, st.calls.Load()-calls)
			}
		})
	}
}

// TestRedisWipedDuringARenewal: Redis emptied (FLUSHALL, or a restart
// without persistence), or the record's key deleted, while the provider
// answers a renewal: the answer is stored, the record written again under
// the lock, and the renewal succeeds with nothing lost. The wipe took the
// renewal lock with it, and the store refused the answer; the renewal took
// the lock again, found no tokens and told the user to log in, the rotated
// refresh token lost with the answer.
func TestRedisWipedDuringARenewal(t *testing.T) {
	for _, c := range []struct {
		wipe   []string
		forced bool
	}{{[]string{"FLUSHALL"}, false}, {[]string{"DEL", "freshtoken:sandbox"}, false}, {[]string{"FLUSHALL"}, true}} {
		wipe := c.wipe
		t.Run(fmt.Sprint(wipe[0], " forced=", c.forced), func(t *testing.T) {
			srv, newStore := sharedRedis(t)
			var wiped atomic.Bool
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: func(grant string) {
				if grant == "refresh_token" && !wiped.Swap(true) {
					srv.Command(t, wipe...)
				}
			}})
			src := r.sourceOn(newStore())
			r.login(src)
			r.clock.Advance(time.Hour)
			renew := func() (*oauth2.Token, error) { return src.Token() }
			if c.forced {
				r.clock.Advance(-30 * time.Minute) // valid: a renewal only because it is forced
				renew = func() (*oauth2.Token, error) { return src.Renew(context.Background()) }
			}
			tok, err := renew()
			if err != nil {
				t.Fatalf("a renewal during which Redis was wiped (%s): %v; want its answer stored", wipe[0], err)
			}
			stored, err := newStore().Load(context.Background(), "sandbox")
			if err != nil || stored.AccessToken != tok.AccessToken {
				t.Fatalf("Redis holds %+v, %v; want the renewal's answer", stored, err)
			}
			r.clock.Advance(2 * time.Hour) // the stored refresh token is the live one
			if _, err := r.sourceOn(newStore()).Token(); err != nil {
				t.Fatalf("the next renewal, on another machine: %v", err)
			}
			if st := r.provider.Stats(); st.Refreshes != 2 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
				t.Fatalf("provider saw %+v; want two refreshes and the grant alive", st)
			}
		})
	}
}

// TestStoreCheckHoldsNoCallerLong: the look at the store that a process
// serving a fresh token from memory takes every StoreCheckInterval (for a
// log-out or log-in made elsewhere) gives up soon on a store that does not
// answer, and the caller gets the token: with Redis down, one request of a
// proxy every 10 s waited 2 to 4 s for it, and with a program's own store
// that hangs, for ever.
func TestStoreCheckHoldsNoCallerLong(t *testing.T) {
	r, _ := loggedIn(t)
	own := &ownStore{Store: r.store}
	src := r.sourceOn(own)
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	own.hangFrom = own.loads.Load() + 1
	r.clock.Advance(11 * time.Second) // the store check is due
	done := make(chan error, 1)
	go func() {
		_, err := src.Token()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a fresh token, the store not answering its check: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the caller was still waiting for the store check 10 s on")
	}
}

// TestRestEndingWithinASecondIsNotZero: a rest written by another process
// with less than half a second left is told as a second to wait: it said
// "no token request is sent for another 0s", which reads as a promise
// broken the moment it is made.
func TestRestEndingWithinASecondIsNotZero(t *testing.T) {
	r, src := loggedIn(t)
	r.clock.Advance(time.Hour) // the access token expired: a renewal is due
	rec := r.record()
	rec.Rest = &store.Rest{Until: r.clock.Now().Add(300 * time.Millisecond), Message: "the token endpoint kept failing"}
	if err := r.store.Save(context.Background(), "sandbox", rec); err != nil {
		t.Fatal(err)
	}
	_, err := src.Token()
	if err == nil || !strings.Contains(err.Error(), "for another 1s,") {
		t.Fatalf("Token() during a rest 300ms long = %v; want it told as 1s", err)
	}
}

// unreachableOnce is a program's own store that cannot be reached for the
// first Save (a Redis restarting), and calls retried at the next one
// before it takes it.
type unreachableOnce struct {
	store.Store
	saves   atomic.Int32
	retried func()
}

func (u *unreachableOnce) Save(ctx context.Context, env string, r *store.Record) error {
	switch u.saves.Add(1) {
	case 1:
		return fmt.Errorf("%w: connection refused", store.ErrUnreachable)
	case 2:
		u.retried()
	}
	return u.Store.Save(ctx, env, r)
}

// TestAnswerInHandIsUnsavedFromTheStoresFirstRefusal: the provider has
// rotated the refresh token and the store cannot be reached; while the
// renewal tries again to store the answer (for up to 30 s), Options.Sending
// is told it is in hand and unsaved, so that the command line, interrupted
// then, says the new tokens are not stored and that it is waiting for the
// store, not that the provider may have issued tokens. It was told only
// after the 30 s of tries. Once stored, the unsaved renewal is ended.
func TestAnswerInHandIsUnsavedFromTheStoresFirstRefusal(t *testing.T) {
	r, _ := loggedIn(t)
	var unsaved, open atomic.Int32
	st := &unreachableOnce{Store: r.store}
	toldDuringTries := false
	st.retried = func() { toldDuringTries = unsaved.Load() == 1 }
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now, Sending: func(rn freshtoken.Renewal) func() {
		open.Add(1)
		if rn.Unsaved {
			unsaved.Add(1)
		}
		return func() { open.Add(-1) }
	}})
	if err != nil {
		t.Fatal(err)
	}
	spent := r.record().RefreshToken
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatalf("a renewal whose store came back at its second try: %v", err)
	}
	if !toldDuringTries {
		t.Fatalf("Sending was told of %d unsaved answers while the store was tried again; want 1", unsaved.Load())
	}
	if n := open.Load(); n != 0 {
		t.Fatalf("%d renewals left in flight once the answer was stored", n)
	}
	if r.record().RefreshToken == spent {
		t.Fatal("the answer was not stored")
	}
}

// phases counts the renewals Options.Sending was told of and has yet to
// see the end of, by kind.
type phases struct{ requests, storing, unsaved atomic.Int32 }

func (p *phases) sending(rn freshtoken.Renewal) func() {
	n := &p.requests
	switch {
	case rn.Unsaved:
		n = &p.unsaved
	case rn.Storing:
		n = &p.storing
	}
	n.Add(1)
	return func() { n.Add(-1) }
}

func (p *phases) String() string {
	return fmt.Sprintf("%d requests, %d being stored, %d unsaved", p.requests.Load(), p.storing.Load(), p.unsaved.Load())
}

// lockWatched is a store whose first Save is refused as unreachable,
// noting at each Save and at each release of the renewal lock what
// Options.Sending was told.
type lockWatched struct {
	unreachableOnce
	p        *phases
	atSave   []string
	atUnlock []string
}

func (l *lockWatched) Save(ctx context.Context, env string, r *store.Record) error {
	l.atSave = append(l.atSave, l.p.String())
	return l.unreachableOnce.Save(ctx, env, r)
}

func (l *lockWatched) Lock(ctx context.Context, env string) (func(), error) {
	unlock, err := l.unreachableOnce.Lock(ctx, env)
	if err != nil {
		return nil, err
	}
	return func() { l.atUnlock = append(l.atUnlock, l.p.String()); unlock() }, nil
}

// TestAnswerInHandIsToldAsBeingStored: from the provider's answer to the
// store's first refusal of it, Options.Sending is told the tokens are in
// hand and being stored (Renewal.Storing), so that the command line,
// interrupted then, says it is storing them, not that it waits up to 30s
// for the renewal already sent; from the refusal on, unsaved. Once a later
// try stores them, the unsaved renewal ends at once, while the request's
// own lasts until the renewal lock is released: a second Ctrl-C in
// between said the new tokens were never stored and the refresh token
// lost.
func TestAnswerInHandIsToldAsBeingStored(t *testing.T) {
	r, _ := loggedIn(t)
	p := &phases{}
	st := &lockWatched{unreachableOnce: unreachableOnce{Store: r.store, retried: func() {}}, p: p}
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now, Sending: p.sending})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatalf("a renewal whose store came back at its second try: %v", err)
	}
	want := []string{"1 requests, 1 being stored, 0 unsaved", "1 requests, 0 being stored, 1 unsaved"}
	if !slices.Equal(st.atSave, want) {
		t.Errorf("Sending was told, at each save: %q; want %q", st.atSave, want)
	}
	if len(st.atUnlock) == 0 || st.atUnlock[len(st.atUnlock)-1] != "1 requests, 0 being stored, 0 unsaved" {
		t.Errorf("Sending was told, as the renewal lock was released: %q; want the request alone in flight", st.atUnlock)
	}
	if p.String() != "0 requests, 0 being stored, 0 unsaved" {
		t.Errorf("left in flight once renewed: %s", p)
	}
}

// TestLogoutKeepsARecordItMayNotRead: Logout (a library's, the status
// page's Log out, `remove`'s) of a record the store refuses to read (a file
// others may read) deleted it, unread, as if it were corrupt: whoever's
// tokens they were, unrevoked. It deletes nothing, and says why.
func TestLogoutKeepsARecordItMayNotRead(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	src := r.loggedInSource()
	path := r.store.Location("sandbox")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := src.Logout(context.Background()); !errors.Is(err, store.ErrInsecure) || !strings.HasSuffix(err.Error(), "nothing was deleted") {
		t.Fatalf("Logout of a record of mode 0644: %v; want store.ErrInsecure, saying nothing was deleted", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the record after Logout: %v; want it kept", err)
	}
}

// TestNoTokenRequestOnceTheCallerHasEnded: a caller whose context ends as
// its renewal tells Options.Sending of the token request it is about to
// send (a command ending, then waiting only for the requests told, as a
// renewal the caller was served a valid token ahead of may do) sends
// nothing, and the next call renews with the same refresh token: the
// request went out after the ending, and a process exiting then lost the
// refresh token the provider rotated.
func TestNoTokenRequestOnceTheCallerHasEnded(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	ctx, end := context.WithCancel(context.Background())
	var ending atomic.Bool
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, Sending: func(rn freshtoken.Renewal) func() {
		if !rn.LogIn && ending.Load() {
			end()
		}
		return func() {}
	}})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src)
	r.clock.Advance(2 * time.Hour)
	ending.Store(true)
	if _, err := src.TokenContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("a renewal whose caller ended as it was told: %v; want context.Canceled", err)
	}
	if st := r.provider.Stats(); st.Refreshes != 0 {
		t.Fatalf("provider saw %+v; want no token request once the caller had ended", st)
	}
	ending.Store(false)
	if _, err := src.Token(); err != nil {
		t.Fatalf("the next call: %v", err)
	}
	if st := r.provider.Stats(); st.Refreshes != 1 || st.ReuseDetected != 0 {
		t.Fatalf("provider saw %+v; want the one renewal", st)
	}
}

// TestPanicInSendingsFunctionStopsNothing: a panic in a function a
// program's Options.Sending returned (a bug of the program's) is logged as
// an error, and stops neither the renewal nor the program's other such
// functions: the one called as the store refused the answer panicked
// through the engine before the answer was kept, losing the only copy of
// the refresh token the provider rotated (the next renewal spent the old
// one, and the grant ended), the renewal's caller panicked, and the
// functions after it were never called (a program waiting for them hung).
func TestPanicInSendingsFunctionStopsNothing(t *testing.T) {
	r, own := loggedInOnOwnStore(t)
	logs := testenv.NewOutput()
	var told, called atomic.Int32
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: own, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError})),
		Sending: func(rn freshtoken.Renewal) func() {
			told.Add(1)
			return func() {
				called.Add(1)
				if rn.Storing {
					panic("a bug in the program's function")
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	own.broken.Store(true)
	if err := renewWithoutPanic(t, src); err == nil {
		t.Fatal("a renewal whose answer the store refused succeeded")
	}
	own.broken.Store(false)
	testenv.WaitFor(t, "the kept answer to be saved and its goroutine to end", func() bool { return savingGoroutines() == 0 })
	testenv.WaitFor(t, "every function Sending returned to be called", func() bool { return called.Load() == told.Load() })
	if !strings.Contains(logs.String(), "a bug in the program's function") {
		t.Errorf("the panic was not logged:\n%s", logs)
	}
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatalf("the renewal after the kept answer was saved: %v", err)
	}
}

// TestPanicInSendingOnceAnsweredStopsNothing: a panic in a program's
// Options.Sending itself (a bug of the program's), told of an answer in
// hand (Renewal.Storing) or of one the store refused (Renewal.Unsaved), is
// logged as an error and stops neither the storing nor the keeping of the
// answer: Sending is called then after the provider rotated the refresh
// token, and the panic unwound the engine before the answer was stored or
// kept for saving later, the renewal's caller panicked, and the only copy
// of the new refresh token was lost (the next renewal spent the old one,
// and the provider ended the grant).
func TestPanicInSendingOnceAnsweredStopsNothing(t *testing.T) {
	for _, refused := range []bool{false, true} {
		t.Run(fmt.Sprintf("refused=%v", refused), func(t *testing.T) {
			r, own := loggedInOnOwnStore(t)
			logs := testenv.NewOutput()
			src, err := freshtoken.New(r.settings, freshtoken.Options{Store: own, Clock: r.clock.Now,
				Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError})),
				Sending: func(rn freshtoken.Renewal) func() {
					if rn.Storing || rn.Unsaved {
						panic("a bug in the program's Sending")
					}
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			own.broken.Store(refused)
			if err := renewWithoutPanic(t, src); refused != (err != nil) {
				t.Fatalf("a renewal, its answer refused %v: %v", refused, err)
			}
			own.broken.Store(false)
			testenv.WaitFor(t, "the kept answer to be saved and its goroutine to end", func() bool { return savingGoroutines() == 0 })
			if !strings.Contains(logs.String(), "a bug in the program's Sending") {
				t.Errorf("the panic was not logged:\n%s", logs)
			}
			if _, err := src.Renew(context.Background()); err != nil {
				t.Fatalf("the renewal after: %v", err)
			}
			if st := r.provider.Stats(); st.Refreshes != 2 || st.ReuseDetected != 0 {
				t.Fatalf("provider saw %+v; want two renewals, each with the refresh token the one before rotated in", st)
			}
		})
	}
}
