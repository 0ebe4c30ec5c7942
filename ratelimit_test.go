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
	"github.com/freshtoken/freshtoken/internal/resting"
	"github.com/freshtoken/freshtoken/store"
)

// TestRateLimitWaitsAtLeastASecond: after a 429 from the token endpoint the
// next try waits as long as Retry-After says, and never less than a second,
// so a provider answering "Retry-After: 0" (or a date past) does not get a
// burst of renewals; a negative value is no value.
// The waits are taken on the rig's clock, not slept.
func TestRateLimitWaitsAtLeastASecond(t *testing.T) {
	for _, tt := range []struct {
		retryAfter string
		want       time.Duration
	}{
		{"0", time.Second},
		{"3", 3 * time.Second},
		{"", time.Minute},                              // FreeAgent's documented wait, when none is given
		{"-5", time.Minute},                            // no usable value: as if none were given
		{"Sun, 06 Nov 1994 08:49:37 GMT", time.Second}, // a date past
	} {
		name := "Retry-After " + tt.retryAfter
		if tt.retryAfter == "" {
			name = "no Retry-After"
		}
		t.Run(name, func(t *testing.T) {
			limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
			}))
			defer limited.Close()
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			r.settings.RetryBackoff = []time.Duration{time.Millisecond} // one retry
			r.login(r.source())
			r.moveTokenEndpoint(limited.URL)
			src := r.source()
			freshtoken.SetPause(src, r.clock.Sleep)
			if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) {
				t.Fatalf("err = %v, want ErrUnreachable", err)
			}
			if got := r.clock.Slept(); got != tt.want {
				t.Fatalf("waited %s between the two tries; want %s", got, tt.want)
			}
		})
	}
}

// TestAbandonedWaitStillHonoursRetryAfter: a caller that gives up while its
// renewal waits out a 429's Retry-After (a proxy client that hung up) does
// not let the next caller send at once: that caller waits what is left of
// the wait first. Every caller giving up started the tries afresh, so
// clients with short timeouts turned a rate limit into a refresh storm.
func TestAbandonedWaitStillHonoursRetryAfter(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	src, sentAt := r.abandonedWait()
	r.clock.Advance(10 * time.Second)
	if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("the next caller: %v, want ErrUnreachable", err)
	}
	sent := sentAt()
	for i := 1; i < len(sent); i++ {
		if gap := sent[i].Sub(sent[i-1]); gap < time.Minute {
			t.Fatalf("token request %d came %s after the one answered Retry-After: 60", i+1, gap)
		}
	}
}

// abandonedWait is a source logged in through r whose token endpoint
// answers every request 429 with Retry-After: 60, and whose renewal's
// caller gave up while it waited that out, before its one retry. sentAt
// gives the times (on r's clock) the token requests were sent so far.
func (r *rig) abandonedWait() (src *freshtoken.Source, sentAt func() []time.Time) {
	r.t.Helper()
	var sent []time.Time
	var mu sync.Mutex
	limited, _ := countingServer(r.t, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		sent = append(sent, r.clock.Now())
		mu.Unlock()
		w.Header().Set("Retry-After", "60")
		http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
	})
	r.settings.RetryBackoff = []time.Duration{time.Millisecond} // one retry
	r.login(r.source())
	r.moveTokenEndpoint(limited.URL)
	src = r.source()
	impatient, hangUp := context.WithCancel(context.Background())
	freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error {
		if ctx.Done() == impatient.Done() { // the caller's context, or one made of it
			hangUp() // the caller gives up during the wait
		}
		return r.clock.Sleep(ctx, d)
	})
	if _, err := src.Renew(impatient); !errors.Is(err, context.Canceled) {
		r.t.Fatalf("the caller that gave up: %v", err)
	}
	return src, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sent)
	}
}

// TestAbandonedTriesCount: the tries of a renewal whose caller gave up
// during a wait count towards the next renewal's, so callers that each give
// up within the backoff (a proxy's clients with short timeouts) still reach
// the rest that follows a renewal giving up, instead of keeping the failing
// token endpoint busy with tries that start afresh.
func TestAbandonedTriesCount(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	src := r.loggedInSource()
	r.clock.Advance(time.Hour)
	r.provider.Fault(devprovider.Fault5xx, 100)
	impatient, hangUp := context.WithCancel(context.Background())
	freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error {
		if ctx.Done() == impatient.Done() { // the caller's context, or one made of it
			hangUp()
		}
		return r.clock.Sleep(ctx, d)
	})
	before := r.provider.Stats().TokenRequests
	if _, err := src.TokenContext(impatient); !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that gave up: %v", err)
	}
	if _, err := src.Token(); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("the next caller: %v, want ErrUnreachable", err)
	}
	if _, err := src.Token(); !errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("the caller after: %v, want ErrUnreachable", err)
	}
	if n := r.provider.Stats().TokenRequests - before; n != 4 {
		t.Fatalf("%d token requests; want one renewal's 4 tries, shared by the callers, then the rest", n)
	}
}

// TestRateLimitedRenewalServesTheStillValidToken: a renewal due before the
// token expires (refresh_before) that the token endpoint answers 429 does
// not hold the caller for the Retry-After while the token still serves: it
// gets the token at once, and renewals rest as the 429 asked. A proxy held
// every request for three minutes (three waits of 60 s, the token expiring
// meanwhile) and then answered 503.
func TestRateLimitedRenewalServesTheStillValidToken(t *testing.T) {
	r, _ := loggedIn(t)
	before := r.record()
	limited, requests := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "60")
		http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
	})
	r.moveTokenEndpoint(limited.URL)
	src := r.source()
	freshtoken.SetPause(src, r.clock.Sleep)
	r.clock.Advance(time.Hour - 30*time.Second) // 30 s left, within refresh_before
	for i := range 3 {
		tok, err := src.Token()
		if err != nil || tok.AccessToken != before.AccessToken {
			t.Fatalf("Token() %d = %v; want the token still valid for 30 s", i+1, err)
		}
	}
	if slept, n := r.clock.Slept(), requests.Load(); slept != 0 || n != 1 {
		t.Fatalf("the callers waited %s and made %d token requests; want none waited, and one request, then the rest", slept, n)
	}
	r.clock.Advance(31 * time.Second) // expired, the rest not over
	if _, err := src.Token(); !errors.Is(err, freshtoken.ErrUnreachable) || !strings.HasSuffix(err.Error(), "try again then") || requests.Load() != 1 {
		t.Fatalf("Token() once expired, during the rest = %v after %d token requests; want ErrUnreachable saying to try again once the wait is over, and no request", err, requests.Load())
	}
	r.clock.Advance(30 * time.Second) // the minute asked for is over
	src.Token()
	if n := requests.Load(); n < 2 {
		t.Fatalf("%d token requests; want the endpoint asked again once the minute is over", n)
	}
}

// TestHugeRetryAfterRestsAnHourAtMost: a 429 whose Retry-After is too
// large to count, or longer than an hour, is given up on at once, with no
// wait, and renewals rest an hour at most, not for the years it asked. So
// it is with a MaxRetryAfter of two days: the day the wait is capped at is
// not what it asked, and the engine waited a day to ask again. The message
// says when freshtoken asks again: it said "try again then" of a day or
// more while renewals rested an hour, as a 503's did of its five minutes.
func TestHugeRetryAfterRestsAnHourAtMost(t *testing.T) {
	huge := "99999999999999999999"
	for _, tc := range []struct {
		retryAfter string
		most       time.Duration // MaxRetryAfter
		say        string
	}{
		{huge, 0, "asks to wait a day or more; your stored tokens are unchanged, freshtoken asks it again at AN_HOUR_ON, try again then"},
		{huge, 48 * time.Hour, "asks to wait a day or more; your stored tokens are unchanged, freshtoken asks it again at AN_HOUR_ON, try again then"},
		{"7200", 0, "asks to wait 2h0m0s; your stored tokens are unchanged, freshtoken asks it again at AN_HOUR_ON, try again then"},
		{"600", 0, "asks to wait 10m0s; your stored tokens are unchanged, try again then"},
	} {
		t.Run(fmt.Sprint("Retry-After ", tc.retryAfter, ", MaxRetryAfter ", tc.most), func(t *testing.T) {
			limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				w.Header().Set("Retry-After", tc.retryAfter)
				http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
			}))
			defer limited.Close()
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			r.settings.MaxRetryAfter = tc.most
			r.login(r.source())
			r.moveTokenEndpoint(limited.URL)
			src := r.source()
			freshtoken.SetPause(src, r.clock.Sleep)
			say := strings.Replace(tc.say, "AN_HOUR_ON", r.clock.Now().Add(time.Hour).Local().Format("15:04:05 MST"), 1)
			if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) || !strings.HasSuffix(err.Error(), say) {
				t.Fatalf("err = %v, want ErrUnreachable ending %q", err, say)
			}
			if got := r.clock.Slept(); got != 0 {
				t.Fatalf("waited %s; want no wait for a Retry-After past MaxRetryAfter", got)
			}
			if left := resting.Left(r.record(), r.clock.Now()); left <= 0 || left > time.Hour {
				t.Fatalf("renewals rest %s; want an hour at most", left)
			}
		})
	}
}

// TestARestReadLaterSaysWhenItEnds: the words of a renewal that gave up
// at a Retry-After of a day, or at a 503 asking for half an hour, are kept
// with the rest in the store, and read by every renewal until it ends
// (another process's, status, the proxy's page). Half an hour on, a
// renewal said "freshtoken asks it again in 1h0m0s" beside "no token
// request is sent for another 30m0s": of two ends, the first wrong. It
// names the time the rest ends, rounded up to the second, as status
// shows the rest's end: rounded down, it named a second before the rest
// ended (status said 09:05:01, the message 09:05:00, when a renewal then
// was still held back).
func TestARestReadLaterSaysWhenItEnds(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		rest       time.Duration
	}{
		{http.StatusTooManyRequests, "99999999999999999999", time.Hour},
		{http.StatusServiceUnavailable, "1800", 5 * time.Minute},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tc.retryAfter)
				http.Error(w, "come back later", tc.status)
			}))
			defer srv.Close()
			r := newRig(t, devprovider.Options{AccessTTL: time.Minute})
			r.login(r.source())
			r.moveTokenEndpoint(srv.URL)
			r.clock.Advance(time.Second / 2) // the rest ends half a second past a whole one
			if _, err := r.source().Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) {
				t.Fatalf("err = %v, want ErrUnreachable", err)
			}
			ends := r.clock.Now().Add(tc.rest + time.Second/2).Local().Format("15:04:05 MST")
			r.clock.Advance(tc.rest / 2) // the access token has expired
			_, err := r.source().Token()
			if err == nil {
				t.Fatal("a renewal while renewals rest was made")
			}
			if msg := err.Error(); !strings.Contains(msg, "freshtoken asks it again at "+ends) || !strings.Contains(msg, fmt.Sprintf("for another %s", tc.rest/2)) {
				t.Fatalf("half the rest on, a renewal says:\n%s\nwant it to say freshtoken asks again at %s, %s on", msg, ends, tc.rest/2)
			}
		})
	}
}

// TestMaintenanceRetryAfterIsHonoured: a token endpoint down for
// maintenance, answering 503 with a Retry-After longer than a try waits,
// is asked once: the renewal gives up at once, saying how long the
// endpoint asks to wait, and renewals rest that long, five minutes at
// most, the stored tokens kept, saying when freshtoken asks again. It was
// asked four times in a few seconds, then again every 30 s while the
// maintenance lasted, each run of a script and each caller of a proxy
// after every rest. A 503 is no rate limit: one that asked for an hour,
// or a day (a gateway's fixed header, a hostile one), held every renewal
// of every machine sharing the store back for an hour, the provider back
// meanwhile, and said "try again then" of a day. A Retry-After within the
// rest after the tries (30 s), or none, leaves them as they were.
func TestMaintenanceRetryAfterIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		retryAfter string
		tries      int32
		rest       time.Duration
		say        string
	}{
		{"240", 1, 4 * time.Minute, "is failing (HTTP 503 \"down for maintenance\") and asks to wait 4m0s; your stored tokens are unchanged, try again then"},
		{"1800", 1, 5 * time.Minute, "is failing (HTTP 503 \"down for maintenance\") and asks to wait 30m0s; your stored tokens are unchanged, freshtoken asks it again at FIVE_MINUTES_ON, try again then"},
		{"99999999", 1, 5 * time.Minute, "asks to wait a day or more; your stored tokens are unchanged, freshtoken asks it again at FIVE_MINUTES_ON, try again then"},
		{"Sun, 06 Dec 2099 00:00:00 GMT", 1, 5 * time.Minute, "asks to wait a day or more; your stored tokens are unchanged, freshtoken asks it again at FIVE_MINUTES_ON, try again then"},
		{"Thu, 01 Jan 1970 00:00:00 GMT", 4, 30 * time.Second, "kept failing after 4 tries"},
		{"-600", 4, 30 * time.Second, "kept failing after 4 tries"},
		{"soon", 4, 30 * time.Second, "kept failing after 4 tries"},
		{"0", 4, 30 * time.Second, "kept failing after 4 tries"},
		{"30", 4, 30 * time.Second, "kept failing after 4 tries"},
		{"", 4, 30 * time.Second, "kept failing after 4 tries"},
	} {
		t.Run("Retry-After "+tc.retryAfter, func(t *testing.T) {
			srv, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			})
			r, before, err := renewAt(t, srv)
			say := strings.Replace(tc.say, "FIVE_MINUTES_ON", r.clock.Now().Add(5*time.Minute).Local().Format("15:04:05 MST"), 1)
			if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), say) {
				t.Fatalf("err = %v; want ErrUnreachable saying %q", err, say)
			}
			if n := hits.Load(); n != tc.tries {
				t.Fatalf("%d token requests; want %d", n, tc.tries)
			}
			after := r.record()
			if left := resting.Left(after, r.clock.Now()); left != tc.rest {
				t.Fatalf("renewals rest %v; want %v", left, tc.rest)
			}
			if after.RefreshToken != before.RefreshToken || after.AccessToken != before.AccessToken {
				t.Fatal("the failure changed the stored tokens")
			}
		})
	}
}

// TestAFailingRestFromAClockAheadHoldsNoLonger: the rest after a token
// endpoint that kept failing, or asked a 5xx's Retry-After, lasts 5 minutes
// at most; one written by a machine whose clock is ahead (twenty minutes
// here) is not followed past that (with a minute for clocks apart), as a
// rate limit's is not past an hour: a renewal the token's expiry calls for
// is made, and status and the proxy's page (RestLeft) tell of no rest. It
// held every machine's renewals back as far ahead as that clock was, up to
// an hour, while their access tokens expired.
func TestAFailingRestFromAClockAheadHoldsNoLonger(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	src := r.loggedInSource()
	rec := r.record()
	rec.Rest = &store.Rest{Until: r.clock.Now().Add(time.Hour + 20*time.Minute), Message: "the token endpoint is failing"}
	r.clock.Advance(time.Hour) // the access token has expired
	if err := r.store.Save(context.Background(), "sandbox", rec); err != nil {
		t.Fatal(err)
	}
	if left := resting.Left(rec, r.clock.Now()); left != 0 {
		t.Errorf("RestLeft of a failing endpoint's rest 20 min ahead: %s; want none followed", left)
	}
	refreshes := r.provider.Stats().Refreshes
	if _, err := src.Token(); err != nil {
		t.Fatalf("a renewal due under a failing endpoint's rest from a clock 20 min ahead: %v; want it renewed", err)
	}
	if n := r.provider.Stats().Refreshes; n != refreshes+1 {
		t.Fatalf("%d token requests; want one", n-refreshes)
	}
	rec.Rest.Until, rec.Rest.RateLimited = r.clock.Now().Add(20*time.Minute), true
	if left := resting.Left(rec, r.clock.Now()); left != 20*time.Minute {
		t.Errorf("RestLeft of a rate limit's rest of 20 min: %s; want it followed", left)
	}
}
