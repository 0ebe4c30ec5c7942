package testenv

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// Home is a program on this machine that no request may reach: a server on
// 127.0.0.1 that answers as a production API would (a freshtoken proxy
// there sends on what reaches it), and notes each request that does, until
// the test ends.
type Home struct {
	*httptest.Server
	Port string

	mu      sync.Mutex
	reached []string // "METHOD /path body"
}

// NewHome starts a Home.
func NewHome(t testing.TB) *Home {
	t.Helper()
	h := &Home{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reached = append(h.reached, r.Method+" "+r.URL.Path+" "+string(body))
		h.mu.Unlock()
		w.Write([]byte(`{"company":{"name":"Production Ltd"}}`))
	}))
	t.Cleanup(h.Close)
	_, h.Port, _ = net.SplitHostPort(h.Listener.Addr().String())
	return h
}

// Reached is every request that reached h, as "METHOD /path body".
func (h *Home) Reached() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reached)
}

// NotReached fails t if any request reached h.
func (h *Home) NotReached(t testing.TB) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reached) != 0 {
		t.Errorf("the program on this machine was sent %q; want nothing", h.reached)
	}
}
