package testenv

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// SilentServer is a server on 127.0.0.1 that takes every request and never
// answers, until the test ends: then its handlers return, and it closes.
func SilentServer(t testing.TB) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // first: the handlers return, then the server closes
	return srv
}
