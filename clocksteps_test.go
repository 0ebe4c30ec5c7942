package freshtoken_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/store"
	"golang.org/x/oauth2"
)

// clockStepRig is a provider on the right time (the rig's clock) and
// sources whose wall clock (wall) may be set ahead of it and back, while
// their timers (timers), like Go's monotonic clock, follow only the time
// that passes.
type clockStepRig struct {
	*rig
	wall, timers *fakeclock.Clock
}

func newClockStepRig(t *testing.T) *clockStepRig {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour})
	wall, timers := fakeclock.New(), fakeclock.New()
	wall.Advance(r.clock.Now().Sub(wall.Now()))
	return &clockStepRig{rig: r, wall: wall, timers: timers}
}

// source is a source on the rig's store, on the wall clock and the timers.
func (c *clockStepRig) source() *freshtoken.Source {
	c.t.Helper()
	src, err := freshtoken.New(c.settings, freshtoken.Options{Store: c.store, Clock: c.wall.Now})
	if err != nil {
		c.t.Fatal(err)
	}
	freshtoken.SetTimers(src, c.timers.Now)
	return src
}

// pass moves every clock on by d, as time passes.
func (c *clockStepRig) pass(d time.Duration) {
	c.clock.Advance(d)
	c.wall.Advance(d)
	c.timers.Advance(d)
}

// renewAhead renews src's token while the wall clock runs two hours ahead
// of the provider's, then sets the clock right, and returns the token.
func (c *clockStepRig) renewAhead(src *freshtoken.Source) *oauth2.Token {
	c.t.Helper()
	c.wall.Advance(2 * time.Hour)
	renewed, err := src.Renew(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	c.wall.Advance(-2 * time.Hour)
	return renewed
}

// TestATokenRenewedWhileTheClockWasAheadIsRenewedInTime: a token this
// process renewed while its clock ran two hours ahead (then set back, by
// NTP or a person) is renewed as its hour runs out, counted on the timers,
// which the clock set back does not move: it was served until its expiry
// counted from the wrong time, two hours after the provider refused it,
// and served with that expiry (an oauth2.ReuseTokenSource over Token kept
// it as long).
func TestATokenRenewedWhileTheClockWasAheadIsRenewedInTime(t *testing.T) {
	c := newClockStepRig(t)
	src := c.source()
	c.login(src)
	renewed := c.renewAhead(src)
	c.pass(5 * time.Minute)
	tok, err := src.Token()
	if err != nil || tok.AccessToken != renewed.AccessToken {
		t.Fatalf("5 minutes after the renewal: %v; want the renewed token, valid 55 minutes more", err)
	}
	if want := c.wall.Now().Add(55 * time.Minute); !tok.Expiry.Equal(want) {
		t.Errorf("5 minutes after the renewal, the token is served as expiring at %s; want %s, an hour after it was renewed", tok.Expiry, want)
	}
	c.pass(54*time.Minute + 30*time.Second) // within refresh_before (60 s) of the hour
	refreshes := c.provider.Stats().Refreshes
	if tok, err = src.Token(); err != nil || tok.AccessToken == renewed.AccessToken {
		t.Fatalf("30 s before the renewed token's hour ends: %v; want a new token", err)
	}
	if n := c.provider.Stats().Refreshes - refreshes; n != 1 {
		t.Fatalf("%d refreshes as the hour ends; want 1", n)
	}
}

// TestATokenRenewedWhileTheClockWasAheadCountsFromItsRequest: the hour of
// a token renewed while the clock ran ahead, then set back, is counted on
// the timers from when its request was sent, not from its answer, which
// came 30 s later: the provider may have issued it at once.
func TestATokenRenewedWhileTheClockWasAheadCountsFromItsRequest(t *testing.T) {
	c := newClockStepRig(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c.pass(30 * time.Second) // a slow answer
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"a-renewed-access-token","refresh_token":"a-renewed-refresh-token","token_type":"bearer","expires_in":3600}`)
	}))
	t.Cleanup(srv.Close)
	c.settings.TokenURL = srv.URL
	now := c.wall.Now()
	logIn := &store.Record{AccessToken: "the-log-in's-access-token", TokenType: "bearer", RefreshToken: "the-log-in's-refresh-token",
		IssuedAt: now, LoggedInAt: now, Expiry: now.Add(time.Hour),
		Grant: store.Grant{TokenURL: srv.URL, ClientID: c.settings.ClientID, Type: freshtoken.GrantAuthorizationCode}}
	if err := c.store.Save(context.Background(), "sandbox", logIn); err != nil {
		t.Fatal(err)
	}
	src := c.source()
	c.wall.Advance(2 * time.Hour) // ahead of the provider's
	sent := c.timers.Now()
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.wall.Advance(-2 * time.Hour) // set right
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if want := c.wall.Now().Add(time.Hour - c.timers.Now().Sub(sent)); !tok.Expiry.Equal(want) {
		t.Errorf("the token renewed while the clock was ahead is served as expiring at %s; want %s, an hour after its request was sent", tok.Expiry, want)
	}
}

// TestATokenSeenWhileTheClockWasAheadIsRenewedInTime: a process that
// read a token from the store (another process renewed it) while the
// clock ran two hours ahead takes it as expiring no later than its
// lifetime after it first saw it, counted on the timers: it was served
// for two hours past its expiry once the clock was set right.
func TestATokenSeenWhileTheClockWasAheadIsRenewedInTime(t *testing.T) {
	c := newClockStepRig(t)
	other, longRunning := c.source(), c.source()
	c.login(other)
	if _, err := longRunning.Token(); err != nil {
		t.Fatal(err)
	}
	c.wall.Advance(2 * time.Hour) // ahead of the provider's
	renewed, err := other.Renew(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := longRunning.Token(); err != nil || tok.AccessToken != renewed.AccessToken {
		t.Fatalf("the token renewed elsewhere: %v; want it served", err)
	}
	c.wall.Advance(-2 * time.Hour) // set right
	c.pass(59*time.Minute + 30*time.Second)
	if tok, err := longRunning.Token(); err != nil || tok.AccessToken == renewed.AccessToken {
		t.Fatalf("30 s before the hour since it saw the token ends: %v; want a new token", err)
	}
}

// TestATokenWrittenByAClockAheadLastsItsLifetimeFromWhenItIsRead: a
// process that first reads a token after the clock that wrote it, two
// hours ahead, was set back (a new process; another machine's clock
// ahead) cannot tell when it was issued, but not after it read it: it
// takes it as expiring its lifetime after that, not two hours later as
// recorded, and serves it until then without renewing it.
func TestATokenWrittenByAClockAheadLastsItsLifetimeFromWhenItIsRead(t *testing.T) {
	c := newClockStepRig(t)
	other := c.source()
	c.login(other)
	renewed := c.renewAhead(other)
	refreshes := c.provider.Stats().Refreshes
	tok, err := c.source().Token()
	if err != nil || tok.AccessToken != renewed.AccessToken {
		t.Fatalf("a new process: %v; want the token stored served", err)
	}
	if n := c.provider.Stats().Refreshes - refreshes; n != 0 {
		t.Errorf("a new process renewed the token written by a clock ahead (%d refreshes); want it served", n)
	}
	if want := c.wall.Now().Add(time.Hour); !tok.Expiry.Equal(want) {
		t.Errorf("a new process serves the token written by a clock two hours ahead as expiring at %s; want %s, its hour from now", tok.Expiry, want)
	}
}

// TestATokenReissuedElsewhereIsServedToItsNewExpiry: a provider that
// answers a renewal with the access token it issued before, its lifetime
// extended (or the same token with the time it has left, as a token
// cache answers), gives it the expiry of that answer, which a process that
// saw the token before another process's renewal keeps: it counted the
// lifetime of the answer from when it first saw the token, took the token
// as expiring at its old expiry, renewed it again then, and refused it
// past that time while the provider could not be reached.
func TestATokenReissuedElsewhereIsServedToItsNewExpiry(t *testing.T) {
	var refreshes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		refreshes.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"the-one-access-token","refresh_token":"the-one-refresh-token","token_type":"bearer","expires_in":3600}`)
	}))
	t.Cleanup(srv.Close)
	c := newClockStepRig(t)
	c.settings.TokenURL = srv.URL
	now := c.wall.Now()
	logIn := &store.Record{AccessToken: "the-log-in's-access-token", TokenType: "bearer", RefreshToken: "the-log-in's-refresh-token",
		IssuedAt: now, LoggedInAt: now, Expiry: now.Add(time.Hour),
		Grant: store.Grant{TokenURL: srv.URL, ClientID: c.settings.ClientID, Type: freshtoken.GrantAuthorizationCode}}
	if err := c.store.Save(context.Background(), "sandbox", logIn); err != nil {
		t.Fatal(err)
	}
	other, longRunning := c.source(), c.source()
	if _, err := other.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := longRunning.Token(); err != nil {
		t.Fatal(err)
	}
	c.pass(30 * time.Minute)
	if _, err := other.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	renewedAt := c.wall.Now()
	c.pass(29*time.Minute + 30*time.Second)
	before := refreshes.Load()
	tok, err := longRunning.Token()
	if err != nil {
		t.Fatal(err)
	}
	if n := refreshes.Load() - before; n != 0 {
		t.Errorf("the token renewed elsewhere 29.5 minutes ago, for an hour, was renewed again (%d token requests)", n)
	}
	if want := renewedAt.Add(time.Hour); !tok.Expiry.Equal(want) {
		t.Errorf("the token renewed elsewhere 29.5 minutes ago, for an hour, is served as expiring at %s; want %s", tok.Expiry, want)
	}
	srv.Close()
	c.pass(time.Minute)
	if _, err := longRunning.Token(); err != nil {
		t.Errorf("the token renewed elsewhere 30.5 minutes ago, for an hour, the provider down: %v; want it served", err)
	}
}
