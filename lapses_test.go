package freshtoken_test

import (
	"context"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/store"
)

// TestKeepAlivePlanSaysWhenItLapses: Lapses is the first of the deadlines
// still to come that a plan keeps (the token file's access token, the
// refresh token, the idle limit), which a keeper pacing its renewals must
// not hold one past; now when the times were stored by a clock ahead of
// this one; zero once every one has lapsed.
func TestKeepAlivePlanSaysWhenItLapses(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 2 * time.Hour, IdleLimit: 3 * time.Hour})
	r.settings.KeepAccess, r.settings.IdleLimit = true, 3*time.Hour
	src := r.loggedInSource()
	rec, now := r.record(), r.clock.Now()
	for _, tt := range []struct {
		at   time.Duration // from the log-in
		want time.Duration // from the log-in; -1 for zero
	}{
		{0, time.Hour},                     // the access token first
		{90 * time.Minute, 2 * time.Hour},  // then the refresh token
		{150 * time.Minute, 3 * time.Hour}, // then the idle limit
		{4 * time.Hour, -1},                // all lapsed
	} {
		r.clock.Advance(now.Add(tt.at).Sub(r.clock.Now()))
		got := src.Plan(rec).Lapses
		if want := now.Add(tt.want); tt.want < 0 && !got.IsZero() || tt.want >= 0 && !got.Equal(want) {
			t.Errorf("%v after the log-in: Lapses %v; want %v after it (zero for -1)", tt.at, got.Sub(now), tt.want)
		}
	}
	r.clock.Advance(now.Add(-3 * time.Hour).Sub(r.clock.Now())) // the clock set back past the margins
	if p := src.Plan(rec); p.IssuedAhead.IsZero() || !p.Lapses.Equal(r.clock.Now()) {
		t.Errorf("tokens issued ahead of the clock: Lapses %v, IssuedAhead %v; want now, %v", p.Lapses, p.IssuedAhead, r.clock.Now())
	}
}

// TestKeepAlivePlanLapsesWithAFixedRefreshToken: a refresh token whose
// expiry renewing does not extend (RefreshNotExtended) is planned for by
// nothing, but a renewal held past it is never made: it is in Lapses all
// the same.
func TestKeepAlivePlanLapsesWithAFixedRefreshToken(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 2 * time.Hour, IdleLimit: 3 * time.Hour})
	r.settings.KeepAccess, r.settings.IdleLimit = true, 3*time.Hour
	src := r.loggedInSource()
	rec, now := r.record(), r.clock.Now()
	rec.RefreshNotExtended = true
	r.clock.Advance(90 * time.Minute)
	if got, want := src.Plan(rec).Lapses, rec.RefreshExpiry; !got.Equal(want) {
		t.Errorf("90m after the log-in, the refresh token fixed to expire 2h after it: Lapses %v after the log-in; want %v", got.Sub(now), want.Sub(now))
	}
}

// TestKeepAliveAheadRenewsWhatFallsDueWithin: a keeper spreading renewals
// that fall due together renews a grant ahead of its plan, within the time
// it names and not before; never one that another process renewed
// meanwhile, which plans nothing so soon.
func TestKeepAliveAheadRenewsWhatFallsDueWithin(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.KeepAccess = true
	keeper, other := r.loggedInSource(), r.source()
	ctx := context.Background()
	r.clock.Advance(50 * time.Minute) // planned at 59m, 9m on
	start := r.provider.Stats().Refreshes
	if _, err := keeper.KeepAliveAhead(ctx, 8*time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := r.provider.Stats().Refreshes - start; n != 0 {
		t.Fatalf("a grant planned 9m on, kept alive 8m ahead: %d renewals; want none", n)
	}
	if _, err := other.Renew(ctx); err != nil { // another process
		t.Fatal(err)
	}
	if _, err := keeper.KeepAliveAhead(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := r.provider.Stats().Refreshes - start; n != 1 {
		t.Fatalf("renewed by another process, then kept alive 10m ahead: %d renewals; want the other's alone", n)
	}
	r.clock.Advance(50 * time.Minute)
	if _, err := keeper.KeepAliveAhead(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if rec, n := r.record(), r.provider.Stats().Refreshes-start; n != 2 || rec.RenewedFor != store.RenewedToKeepAlive {
		t.Fatalf("planned 9m on, kept alive 10m ahead: %d renewals in all, the last for %q; want 2, the last to keep it alive", n, rec.RenewedFor)
	}
}

// TestKeepAliveAheadRenewsNoSoonerThanItsTokensBear: a program may ask
// KeepAliveAhead for any time ahead. Asked for more than the tokens'
// lifetime, it renewed them at every call (once a second at most), and
// it fetched client credentials anew ahead of their plan, each a new
// token that some providers count. Tokens are renewed no sooner than
// three quarters of the way from their issue to their plan, and client
// credentials no sooner than KeepAlive would.
func TestKeepAliveAheadRenewsNoSoonerThanItsTokensBear(t *testing.T) {
	ctx := context.Background()
	t.Run("refresh token", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
		r.settings.KeepAccess = true
		src := r.loggedInSource() // planned at 59m
		start := r.provider.Stats().Refreshes
		for range 5 {
			r.clock.Advance(2 * time.Second)
			if _, err := src.KeepAliveAhead(ctx, 2*time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if n := r.provider.Stats().Refreshes - start; n != 0 {
			t.Fatalf("kept alive 2h ahead 5 times in the 10 s after the log-in: %d renewals; want none before 44m15s", n)
		}
		r.clock.Advance(45 * time.Minute)
		if _, err := src.KeepAliveAhead(ctx, 2*time.Hour); err != nil {
			t.Fatal(err)
		}
		if n := r.provider.Stats().Refreshes - start; n != 1 {
			t.Fatalf("kept alive 2h ahead 45m after the log-in: %d renewals; want 1", n)
		}
	})
	t.Run("client credentials", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
		r.settings.Grant, r.settings.KeepAccess = freshtoken.GrantClientCredentials, true
		src := r.source()
		if _, err := src.KeepAlive(ctx); err != nil { // the first token
			t.Fatal(err)
		}
		r.clock.Advance(50 * time.Minute) // planned at 59m
		if _, err := src.KeepAliveAhead(ctx, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		if n := r.provider.Stats().ClientCredentials; n != 1 {
			t.Fatalf("a token planned 9m on, kept alive 10m ahead: %d client credentials requests in all; want the first alone", n)
		}
	})
}

// TestKeepAlivePlanIsNoSoonerThanTheEnginesSecond: renewals nobody forced
// come a second apart at the soonest, so a plan falling due within the
// second after the last renewal (tokens lasting a second, renewed at half
// their lifetime) is due as the second ends. It said half a second on,
// and KeepAlive then served the tokens as they were: a keeper looked
// again and again until the second was over.
func TestKeepAlivePlanIsNoSoonerThanTheEnginesSecond(t *testing.T) {
	ctx := context.Background()
	for _, grant := range []string{freshtoken.GrantAuthorizationCode, freshtoken.GrantClientCredentials} {
		t.Run(grant, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: time.Second})
			r.settings.Grant, r.settings.KeepAccess = grant, true
			src := r.source()
			if grant == freshtoken.GrantAuthorizationCode {
				src = r.loggedInSource()
			}
			if _, err := src.Renew(ctx); err != nil {
				t.Fatal(err)
			}
			rec := r.record()
			floor := rec.RenewedAt.Add(time.Second)
			if p := src.Plan(rec); !p.At.Equal(floor) {
				t.Fatalf("tokens lasting a second, just renewed: planned %v after the renewal; want %v, as the engine's second ends", p.At.Sub(rec.RenewedAt), time.Second)
			}
			r.clock.Advance(time.Second)
			if again, err := src.KeepAlive(ctx); err != nil || !again.RenewedAt.Equal(floor) {
				t.Fatalf("kept alive at the plan: renewed at %v, %v; want renewed then", again.RenewedAt, err)
			}
		})
	}
}
