package freshtoken_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
)

// panicsAt is a slog handler, as a program may write one, that panics on
// its at-th line.
type panicsAt struct {
	at    int64
	lines *atomic.Int64
}

func (panicsAt) Enabled(context.Context, slog.Level) bool { return true }

func (h panicsAt) Handle(context.Context, slog.Record) error {
	if h.lines.Add(1) == h.at {
		panic("the program's log handler panicked")
	}
	return nil
}

func (h panicsAt) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicsAt) WithGroup(string) slog.Handler      { return h }

// panics calls f and returns what it panicked with, if it did.
func panics(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// servedWithin10s asserts that src gives a token within 10 s: a renewal
// lock left held makes it wait for that lock until its context ends.
func servedWithin10s(t *testing.T, src *freshtoken.Source, who string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := src.TokenContext(ctx); err != nil {
		t.Fatalf("%s: %v", who, err)
	}
}

// A program's Logger whose handler panics, at whichever line of a renewal
// or of storing a log-in, passes its panic to the caller and leaves the
// renewal lock free: the panicking Source and another over the same store
// (another process) renew after it, and no refresh token is spent twice. A
// panic on the line that tells the lock was taken left it held, for good:
// every renewer of the environment waited on it.
func TestLoggerPanicLeavesNoLockHeld(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(r *rig, src *freshtoken.Source)
	}{
		{"renewal", func(r *rig, src *freshtoken.Source) { src.Token() }},
		{"log-in", func(r *rig, src *freshtoken.Source) {
			src.SaveLogin(context.Background(), r.freshLogin(), r.clock.Now())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for at := int64(1); ; at++ {
				r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
				r.loggedInSource()
				src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
					Logger: slog.New(panicsAt{at: at, lines: new(atomic.Int64)})})
				if err != nil {
					t.Fatal(err)
				}
				r.clock.Advance(2 * time.Hour)
				if panics(func() { tc.do(r, src) }) == nil {
					if at < 3 {
						t.Fatalf("it logged %d lines; the test means to panic on each", at-1)
					}
					return // every line it logs has panicked
				}
				if tc.name == "log-in" {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					if err := r.source().SaveLogin(ctx, r.freshLogin(), r.clock.Now()); err != nil {
						t.Fatalf("another Source's log-in, after a panic on line %d: %v", at, err)
					}
				}
				servedWithin10s(t, src, fmt.Sprintf("the Source whose log handler panicked on line %d", at))
				r.clock.Advance(2 * time.Hour)
				servedWithin10s(t, r.source(), fmt.Sprintf("another Source, after a panic on line %d", at))
				if n := r.provider.Stats().ReuseDetected; n != 0 {
					t.Fatalf("after a panic on line %d: %d refresh tokens spent twice", at, n)
				}
			}
		})
	}
}

// A LoginCheck that panics passes its panic to SaveLoginIf's caller, and
// leaves the renewal lock free; it was left held.
func TestLoginCheckPanicLeavesNoLockHeld(t *testing.T) {
	r, src := loggedIn(t)
	tok := &oauth2.Token{AccessToken: "new-access", RefreshToken: "new-refresh", TokenType: "Bearer", Expiry: r.clock.Now().Add(time.Hour)}
	var p any
	func() {
		defer func() { p = recover() }()
		src.SaveLoginIf(context.Background(), tok, r.clock.Now(), func(*store.Record, error) error {
			panic("the program's check panicked")
		})
	}()
	if p == nil {
		t.Fatal("the check's panic did not reach the caller")
	}
	r.clock.Advance(2 * time.Hour)
	servedWithin10s(t, r.source(), "another Source, after the check panicked")
}

// freshLogin is a log-in's tokens, as the code exchange brings them.
func (r *rig) freshLogin() *oauth2.Token {
	r.t.Helper()
	src := r.source()
	conf, err := src.OAuth2Config(context.Background(), "http://127.0.0.1:1/callback")
	if err != nil {
		r.t.Fatal(err)
	}
	tok, err := devserver.Login(context.WithValue(context.Background(), oauth2.HTTPClient, src.TokenClient()), conf)
	if err != nil {
		r.t.Fatal(err)
	}
	return tok
}

// A ClientSecretFunc that panics passes its panic to the caller, which
// can recover it, as from any function it gave, and leaves the renewal lock
// free: the panic was raised in a goroutine of the engine's, and ended the
// program (a proxy serving every other environment).
func TestClientSecretFuncPanicIsTheCallers(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.login(r.source())
	set := r.settings
	var calls atomic.Int64
	set.ClientSecret, set.ClientSecretFunc = "", func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			panic("the program's secret command panicked")
		}
		return "dev-client-secret", nil
	}
	src, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(2 * time.Hour)
	if p := panics(func() { src.Token() }); p != "the program's secret command panicked" {
		t.Fatalf("the caller recovered %v; want the ClientSecretFunc's panic", p)
	}
	servedWithin10s(t, src, "the Source after its ClientSecretFunc panicked")
}
