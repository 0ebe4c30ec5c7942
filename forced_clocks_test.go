package freshtoken_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// renewWhileLocked starts src.Renew while the rig's store lock is held, as
// another renewer (a process, a machine that died holding it) holds it;
// once src waits for the lock, meanwhile runs, then the lock is released
// and src's answer returned.
func renewWhileLocked(t *testing.T, r *rig, src *freshtoken.Source, logs *testenv.Output, meanwhile func()) (*oauth2.Token, error) {
	t.Helper()
	unlock, err := r.store.Lock(t.Context(), r.settings.Env)
	if err != nil {
		t.Fatal(err)
	}
	held := sync.OnceFunc(unlock)
	defer held() // should the test end first
	type answer struct {
		tok *oauth2.Token
		err error
	}
	const waiting = `msg="waiting for the renewal lock"`
	waited := strings.Count(logs.String(), waiting)
	done := make(chan answer, 1)
	go func() {
		tok, err := src.Renew(t.Context())
		done <- answer{tok, err}
	}()
	testenv.WaitFor(t, "the forced renewal to wait for the lock", func() bool {
		return strings.Count(logs.String(), waiting) > waited
	})
	meanwhile()
	held()
	a := <-done
	return a.tok, a.err
}

// TestForcedRenewalNeverTakesTheTokenStoredAsItBegan: a machine whose clock
// runs 20 s ahead renews; the API then refuses that token, and the user
// runs `token --force` on another machine, which waits for the lock longer
// than the clocks differ (a dead machine's Redis lock lasts up to 15 s). The
// stored token's issue time, written by the clock ahead, then lay between
// the call's start and its end by this machine's clock: the very token the
// API refused was printed as the renewed one, no request sent. A forced
// renewal never takes the token stored when it began, whatever the clocks.
func TestForcedRenewalNeverTakesTheTokenStoredAsItBegan(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshesPerMinute: 1000})
	src, logs := r.loggedInLogging()
	ahead, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: func() time.Time { return r.clock.Now().Add(20 * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	refused, err := ahead.Renew(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r.provider.RevokeAccessTokens()
	before := r.provider.Stats().Refreshes

	tok, err := renewWhileLocked(t, r, src, logs, func() { r.clock.Advance(21 * time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == refused.AccessToken || r.provider.Stats().Refreshes-before != 1 {
		t.Fatalf("the forced renewal returned the token stored as it began (the one the API refused: %v) after %d token requests; want a renewal of its own",
			tok.AccessToken == refused.AccessToken, r.provider.Stats().Refreshes-before)
	}
	if code := getStatusWith(t, oauth2.NewClient(t.Context(), oauth2.StaticTokenSource(tok)), r.url+"/v2/company"); code != http.StatusOK {
		t.Fatalf("the API answered the forced renewal's token with %d; want 200", code)
	}
}

// TestForcedRenewalIsNotServedATokenDueForRenewal: another process renews
// (a two-minute token) just after a forced renewal began, and the forced
// renewal waits for the lock until that token is within refresh_before of
// its expiry. It was served that token, which a plain `token` would have
// renewed: a forced caller got a token that was about to expire. Another's
// renewal serves a forced caller only if no caller would renew its token.
func TestForcedRenewalIsNotServedATokenDueForRenewal(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: 2 * time.Minute, RefreshesPerMinute: 1000})
	src, logs := r.loggedInLogging()
	before := r.provider.Stats().Refreshes
	var other string
	tok, err := renewWhileLocked(t, r, src, logs, func() {
		r.clock.Advance(time.Second)
		rec := r.record() // renewed by another process, which holds the lock
		now := r.clock.Now()
		rec.AccessToken += "-renewed-elsewhere"
		rec.IssuedAt, rec.RenewedAt, rec.Expiry, rec.Renewals = now, now, now.Add(2*time.Minute), rec.Renewals+1
		other = rec.AccessToken
		if err := r.store.Save(t.Context(), r.settings.Env, rec); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(70 * time.Second) // 50 s left, within refresh_before (60 s)
	})
	if err != nil {
		t.Fatal(err)
	}
	if left := tok.Expiry.Sub(r.clock.Now()); tok.AccessToken == other || left <= r.settings.RenewBefore || r.provider.Stats().Refreshes-before != 1 {
		t.Fatalf("the forced renewal got a token with %s left (another's: %v) after %d token requests; want a renewal of its own, lasting two minutes",
			left, tok.AccessToken == other, r.provider.Stats().Refreshes-before)
	}
}

// TestForcedRenewalWithRedisDownWaitsForItOnce: Redis down (stopped, or
// paused so that it takes connections and never answers) when the user runs
// `token --force`, or clicks Renew now on the proxy's page. The forced
// renewal's read of the record stored as it began failed, and the renewal
// then waited for Redis once more, for the lock: twice the wait (a paused
// Redis takes seconds to fail each time) before the same failure, and
// each further click paid it again. Its read now rests renewals as any
// failure to reach the store does: one wait, then the failure told at once.
func TestForcedRenewalWithRedisDownWaitsForItOnce(t *testing.T) {
	for _, how := range []string{"stopped", "paused"} {
		t.Run(how, func(t *testing.T) {
			r, src, st, down := loggedInOnCountedRedis(t, freshtoken.Options{})
			down(how)
			if _, err := src.Renew(context.Background()); !errors.Is(err, store.ErrUnreachable) {
				t.Fatalf("Renew with Redis %s: %v; want the Redis store unreachable", how, err)
			}
			if n := st.calls.Load(); n != 1 {
				t.Errorf("Renew with Redis %s made %d calls on it; want 1", how, n)
			}
			r.clock.Advance(time.Second)
			if _, err := src.Renew(context.Background()); !errors.Is(err, store.ErrUnreachable) {
				t.Fatalf("Renew again, Redis %s: %v; want the Redis store unreachable", how, err)
			}
			if n := st.calls.Load(); n != 1 {
				t.Errorf("Renew again within the rest made %d calls on Redis in all; want 1, Redis left alone", n)
			}
		})
	}
}

// TestForcedRenewalSharesAFailureMadeWhileItWaited: 20 `token --force` at
// once while the provider rate-limits renewals (or its token endpoint is
// down): the first to take the lock is refused and rests renewals, and
// each of the others, having begun before that rest, sent a token request
// of its own in turn, past the limit (each of an outage's tries, with
// backoff, under the lock, the last process waiting for all the others').
// Forced renewals at once share one renewal, its failure too, as callers
// in one process do: one that waited while another renewal gave up is
// answered with that failure, no request sent; one begun during the rest
// still asks.
func TestForcedRenewalSharesAFailureMadeWhileItWaited(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	src, logs := r.loggedInLogging()
	before := r.provider.Stats().Refreshes
	_, err := renewWhileLocked(t, r, src, logs, func() {
		rec := r.record() // another process's renewal, refused, rests renewals
		rec.Rest = &store.Rest{Until: r.clock.Now().Add(time.Minute), RateLimited: true, Message: "the token endpoint asked to wait (HTTP 429)"}
		if err := r.store.Save(t.Context(), r.settings.Env, rec); err != nil {
			t.Fatal(err)
		}
	})
	if !errors.Is(err, freshtoken.ErrRateLimited) || r.provider.Stats().Refreshes != before {
		t.Fatalf("a forced renewal that waited while another was refused: %v, after %d token requests; want that refusal, none sent", err, r.provider.Stats().Refreshes-before)
	}
	if !strings.Contains(err.Error(), "force one again to ask now") {
		t.Errorf("error %q does not say that forcing again asks", err)
	}
	if _, err := src.Renew(t.Context()); err != nil || r.provider.Stats().Refreshes-before != 1 {
		t.Fatalf("a forced renewal begun during the rest: %v, after %d token requests; want a renewal", err, r.provider.Stats().Refreshes-before)
	}
}
