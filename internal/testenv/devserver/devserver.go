// Package devserver serves the dev provider (internal/devprovider) on
// loopback HTTP for as long as a test runs: the one way tests outside the
// provider's own start it. (It is apart from testenv, which the provider's
// own tests use.)
package devserver

import (
	"net/http/httptest"
	"testing"

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
