package freshtoken_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestKeepAliveNowIsNoOnesRequest: KeepAliveNow, the keeper's retry of a
// client the provider refused, renews a grant planned days away at once,
// recorded as a keep-alive; as a renewal nobody forced, it sends nothing
// while renewals rest (a 429's Retry-After, noted in the store), nor for a
// grant noted as ended (whose refresh token a forced renewal sends), nor
// within a second of the last renewal. The keeper made it as `token
// --force` does: status said a person had asked for it, and it sent an
// ended grant's refresh token.
func TestKeepAliveNowIsNoOnesRequest(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		edit   func(now time.Time, r *store.Record)
		want   error
		renews bool
	}{
		{"a grant planned days away", func(time.Time, *store.Record) {}, nil, true},
		{"renewals resting", func(now time.Time, r *store.Record) {
			r.Rest = &store.Rest{Until: now.Add(time.Hour), Message: "the token endpoint is rate limiting renewals", RateLimited: true}
		}, freshtoken.ErrRateLimited, false},
		{"a grant ended", func(now time.Time, r *store.Record) {
			r.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: now}
		}, freshtoken.ErrLoginRequired, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour})
			src := r.loggedInSource()
			r.clock.Advance(time.Minute)
			rec := r.record()
			tt.edit(r.clock.Now(), rec)
			if err := r.store.Save(ctx, r.settings.Env, rec); err != nil {
				t.Fatal(err)
			}
			before := r.provider.Stats().TokenRequests
			kept, err := src.KeepAliveNow(ctx)
			sent := r.provider.Stats().TokenRequests - before
			if tt.want != nil {
				if !errors.Is(err, tt.want) || sent != 0 {
					t.Fatalf("KeepAliveNow: %v, %d token requests; want %v and none sent", err, sent, tt.want)
				}
				return
			}
			if err != nil || sent != 1 || kept.RenewedFor != store.RenewedToKeepAlive || r.record().RenewedFor != store.RenewedToKeepAlive {
				t.Fatalf("KeepAliveNow: %+v, %v, %d token requests; want one renewal, stored as a keep-alive", kept, err, sent)
			}
			if _, err := src.KeepAliveNow(ctx); err != nil || r.provider.Stats().TokenRequests-before != 1 {
				t.Fatalf("KeepAliveNow within a second of the last renewal: %v, %d token requests in all; want the record as it stands, none sent", err, r.provider.Stats().TokenRequests-before)
			}
		})
	}
}

// TestARefusalKeepsWhenItWasFirstMet: the provider refusing the client at
// each try, the record notes the last refusal (At) and the first (Since),
// by which a keeper tries an abandoned client hourly after an hour; a
// renewal that succeeds clears both.
func TestARefusalKeepsWhenItWasFirstMet(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	src := r.loggedInSource()
	r.provider.Fault(devprovider.FaultInvalidClient, 2)
	first := r.clock.Now()
	for range 2 {
		if _, err := src.Renew(ctx); !errors.Is(err, freshtoken.ErrClientRejected) {
			t.Fatalf("renewal: %v; want the client rejected", err)
		}
		r.clock.Advance(5 * time.Minute)
	}
	if p := r.record().Problem; p == nil || !p.Since.Equal(first) || !p.At.Equal(first.Add(5*time.Minute)) {
		t.Fatalf("the refusal noted: %+v; want first met at %v, last at %v", p, first, first.Add(5*time.Minute))
	}
	if _, err := src.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if p := r.record().Problem; p != nil {
		t.Fatalf("the refusal still noted after a renewal: %+v", p)
	}
}

// TestKeepAliveNowJoiningARenewalTakesOnlyALaterToken: KeepAliveNow called
// while another caller's renewal is in flight, its token request sent
// before the call began, joins it; that renewal's token, issued before the
// call, is not the renewal KeepAliveNow asked for (a keeper retrying a
// refused client would take a token renewed with the configuration it
// means to try again), so it renews once more, as a keep-alive.
func TestKeepAliveNowJoiningARenewalTakesOnlyALaterToken(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	logs := testenv.NewOutput()
	var joining atomic.Bool
	type answer struct {
		rec *store.Record
		err error
	}
	joined := make(chan answer, 1)
	var src *freshtoken.Source
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTPClient: &http.Client{Transport: afterAnswer(func() {
			if !joining.CompareAndSwap(true, false) {
				return
			}
			// The first renewal's answer is in, not yet stored: two
			// seconds on, past the floor between renewals, KeepAliveNow
			// begins and joins it.
			r.clock.Advance(2 * time.Second)
			waiting := strings.Count(logs.String(), `msg="waiting for the renewal in flight"`)
			go func() {
				rec, err := src.KeepAliveNow(t.Context())
				joined <- answer{rec, err}
			}()
			testenv.WaitFor(t, "KeepAliveNow to join the renewal in flight", func() bool {
				return strings.Count(logs.String(), `msg="waiting for the renewal in flight"`) > waiting
			})
		})}})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src)
	r.clock.Advance(2 * time.Hour)
	joining.Store(true)
	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	a := <-joined
	if a.err != nil {
		t.Fatalf("KeepAliveNow joining a renewal under way: %v", a.err)
	}
	if a.rec.AccessToken == first.AccessToken || a.rec.RenewedFor != store.RenewedToKeepAlive || r.provider.Stats().Refreshes != 2 {
		t.Fatalf("KeepAliveNow joining a renewal sent before it began got the token of that renewal: %v, renewed for %q, %d token requests in all; want a renewal of its own, as a keep-alive",
			a.rec.AccessToken == first.AccessToken, a.rec.RenewedFor, r.provider.Stats().Refreshes)
	}
}
