// Package devserver serves the dev provider (internal/devprovider) on
// loopback HTTP for as long as a test runs: the one way tests outside the
// provider's own start it. (It is apart from testenv, which the provider's
// own tests use.)
package devserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
)

// Start serves a provider made with opts on 127.0.0.1 until the test ends,
// and returns it with its root URL, which has no trailing slash.
func Start(t testing.TB, opts devprovider.Options) (*devprovider.Provider, string) {
	t.Helper()
	p := devprovider.New(opts)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(p.Close) // runs first: srv.Close waits for requests still hung
	return p, srv.URL
}

// StartOnClock is Start with the provider on a fake clock of its own, which
// it returns too, approving every log-in at once.
func StartOnClock(t testing.TB, opts devprovider.Options) (*devprovider.Provider, string, *fakeclock.Clock) {
	t.Helper()
	c := fakeclock.New()
	opts.Clock = c.Now
	opts.AutoApprove = true
	p, base := Start(t, opts)
	return p, base, c
}

// Login logs in at an auto-approving dev provider as any OAuth client would,
// with x/oauth2 and PKCE: its approve page redirects straight back with a
// code, which conf exchanges using ctx (and ctx's oauth2.HTTPClient, if it
// names one).
func Login(ctx context.Context, conf *oauth2.Config) (*oauth2.Token, error) {
	verifier := oauth2.GenerateVerifier()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(conf.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("code") == "" {
		return nil, fmt.Errorf("the approve page answered %s, not a redirect with a code", resp.Status)
	}
	return conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
}

// LoginSource logs src in at its auto-approving dev provider (Login, through
// src's own token client) and stores the tokens as src does after a log-in,
// as issued at sent.
func LoginSource(t testing.TB, src *freshtoken.Source, sent time.Time) {
	t.Helper()
	ctx := context.Background()
	conf, err := src.OAuth2Config(ctx, "http://127.0.0.1:1/callback")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Login(context.WithValue(ctx, oauth2.HTTPClient, src.TokenClient()), conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.SaveLogin(ctx, tok, sent); err != nil {
		t.Fatal(err)
	}
}
