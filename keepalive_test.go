package freshtoken_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
)

// TestKeepAliveAcrossManyLifetimes: refresh tokens that live 100 s, and
// two keepers (two processes on one store) waking every 30 s with nobody
// calling the API: the grant outlives thirty refresh-token lifetimes with
// one renewal per lifetime, and the provider never sees an expired or
// reused refresh token.
func TestKeepAliveAcrossManyLifetimes(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 100 * time.Second, RefreshesPerMinute: 1000})
	first := r.loggedInSource()
	second := r.source()
	ctx := context.Background()
	if at, why := planned(first.Plan(r.record())); !at.Equal(r.clock.Now().Add(90*time.Second)) || why == "" {
		t.Fatalf("plan %s (%s); want a tenth of the refresh token's 100 s before it expires", at, why)
	}
	for range 100 { // 3000 s: thirty lifetimes
		r.clock.Advance(30 * time.Second)
		for _, keeper := range []*freshtoken.Source{first, second} {
			if _, err := keeper.KeepAlive(ctx); err != nil {
				t.Fatalf("at %s: %v", r.clock.Now(), err)
			}
		}
	}
	st := r.provider.Stats()
	// Each renewal comes 90 s into a 100 s lifetime, at the first wake
	// after that: 3000 s hold 30 to 34 of them, with both keepers awake.
	if st.Refreshes < 30 || st.Refreshes > 34 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want one refresh per lifetime (30 to 34), not one per keeper, and no reuse", st)
	}
	if rec := r.record(); rec.RenewedFor != store.RenewedToKeepAlive || !rec.RefreshExpiry.After(r.clock.Now()) {
		t.Fatalf("the grant lapsed: %+v", rec)
	}
}

// TestKeepAliveWithinTheIdleLimit: a provider that ends grants unused for
// a while gets a renewal a tenth of that time before the limit.
func TestKeepAliveWithinTheIdleLimit(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, IdleLimit: 1000 * time.Second})
	r.settings.IdleLimit = 1000 * time.Second
	src := r.loggedInSource()
	at, why := planned(src.Plan(r.record()))
	if !at.Equal(r.clock.Now().Add(900*time.Second)) || why != "the provider ends grants unused for 16m40s" {
		t.Fatalf("plan %s (%s); want 900 s from now, for the idle limit", at, why)
	}
	// The presets' limits are days, said as a person counts them (it said
	// 1440h0m0s for Xero's 60 days).
	for limit, want := range map[time.Duration]string{10 * 24 * time.Hour: "10 days", 24 * time.Hour: "1 day", 36 * time.Hour: "36h0m0s"} {
		r.settings.IdleLimit = limit
		if _, why := planned(r.source().Plan(r.record())); why != "the provider ends grants unused for "+want {
			t.Errorf("idle limit %s: plan says %q; want %s", limit, why, want)
		}
	}
	r.settings.IdleLimit = 1000 * time.Second
	r.clock.Advance(899 * time.Second)
	if _, err := src.KeepAlive(context.Background()); err != nil || r.provider.Stats().Refreshes != 0 {
		t.Fatalf("renewed before the plan: %v, %+v", err, r.provider.Stats())
	}
	r.clock.Advance(2 * time.Second)
	if _, err := src.KeepAlive(context.Background()); err != nil || r.provider.Stats().Refreshes != 1 {
		t.Fatalf("not renewed when due: %v, %+v", err, r.provider.Stats())
	}
	// The grant lives on past the idle limit counted from the log-in; left
	// unused a whole limit, the provider ends it.
	r.clock.Advance(950 * time.Second)
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatalf("renewed within the limit, the grant ended: %v", err)
	}
	r.clock.Advance(1000 * time.Second)
	if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("left unused a whole idle limit: %v; want the grant ended", err)
	}
}

// TestKeepAliveStopsWhenRenewingCannotHelp: a provider whose renewals do not
// extend the grant gets one keep-alive renewal, which shows it; then
// nothing more is planned (only a log-in helps), rather than a renewal
// storm as the expiry nears.
func TestKeepAliveStopsWhenRenewingCannotHelp(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 100 * time.Second, FixedRefreshExpiry: true})
	src := r.loggedInSource()
	r.clock.Advance(91 * time.Second)
	for range 5 {
		if _, err := src.KeepAlive(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(time.Second)
	}
	if n := r.provider.Stats().Refreshes; n != 1 {
		t.Fatalf("%d refreshes; want the one that showed renewing does not extend the grant", n)
	}
	rec := r.record()
	if at := src.Plan(rec).At; !rec.RefreshNotExtended || !at.IsZero() {
		t.Fatalf("not extended %t, plan %s; want it noted and nothing planned", rec.RefreshNotExtended, at)
	}
}

// TestKeepAliveAfterTheClockIsSetBack: the machine's clock ran a month
// ahead (a dead RTC battery, a restored VM) when the user logged in, and
// was set right hours later. The stored times are a month in the future,
// and the plan they give a month away; the provider's refresh token lives
// a day. A grant issued in the future (beyond the plan's own margin) is
// renewed at once, once, so that its times are this clock's again, and
// it is kept alive from then on (its plan said a month, and the grant
// lapsed the next day, untold).
func TestKeepAliveAfterTheClockIsSetBack(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour})
	ahead := 30 * 24 * time.Hour
	machine := func() time.Time { return r.clock.Now().Add(ahead) }
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: machine})
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, src, machine())
	ctx := context.Background()
	r.clock.Advance(6 * time.Hour)
	ahead = 0 // the clock set right
	if at, why := planned(src.Plan(r.record())); at.After(machine()) || !strings.Contains(why, "clock") {
		t.Fatalf("plan %s (%s); want now, saying the tokens were stored by a clock ahead", at, why)
	}
	for range 3 * 24 * 2 { // three days, a keeper's look every half hour
		if at := src.Plan(r.record()).At; !at.IsZero() && !at.After(machine()) { // as the keeper does
			if _, err := src.KeepAlive(ctx); err != nil {
				t.Fatalf("at %s: %v", r.clock.Now(), err)
			}
		}
		r.clock.Advance(30 * time.Minute)
	}
	st := r.provider.Stats()
	// One renewal at once, then one each 21.6 h (a tenth of the day early).
	if st.Refreshes < 4 || st.Refreshes > 5 || st.GrantsRevoked != 0 || st.ReuseDetected != 0 {
		t.Fatalf("provider stats %+v; want one renewal at once and one a day, none reused", st)
	}
	if _, err := src.Renew(ctx); err != nil {
		t.Fatalf("three days after the clock was set back, the grant lapsed: %v", err)
	}
}

// planned is a plan's time and its reason as logs write it.
func planned(p freshtoken.KeepAlivePlan) (time.Time, string) { return p.At, p.Reason() }

// TestKeepAliveRecordIsTheCallers: the record KeepAlive returns is the
// caller's to change (to blank its tokens before logging it, say): it was
// the one the Source serves from memory, so that the Source then sent the
// caller's edit as its access token, and raced with every other caller.
func TestKeepAliveRecordIsTheCallers(t *testing.T) {
	r, src := loggedIn(t)
	ctx := context.Background()
	for _, when := range []string{"not due", "due"} {
		if when == "due" {
			r.clock.Advance(440 * time.Hour) // past the plan: a tenth of the refresh token's 480 h before it ends
		} else if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
		rec, err := src.KeepAlive(ctx)
		if err != nil || rec == nil {
			t.Fatalf("%s: KeepAlive: %v, %v", when, rec, err)
		}
		want := rec.AccessToken
		rec.AccessToken, rec.Expiry = "edited-by-the-caller", r.clock.Now().Add(time.Hour)
		got, err := src.Token()
		if err != nil || got.AccessToken != want {
			t.Fatalf("%s: after the caller edited KeepAlive's record, Token gives %v, %v; want the access token it held, %s", when, got, err, want)
		}
	}
}
