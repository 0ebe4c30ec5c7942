package freshtoken_test

import (
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
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
