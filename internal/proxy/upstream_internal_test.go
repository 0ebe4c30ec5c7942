package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestUpstreamClosesIdleConnections: closing the idle connections of the
// transport an environment's requests go over (as freshtoken.Transport
// does after the machine slept) reaches the connections to the API. The
// wrapper that sorts the API's failures did not pass it on, so the first
// request after a laptop resumed went on a connection from before its
// sleep, to a peer that never answers, and got 504 after `timeout`.
func TestUpstreamClosesIdleConnections(t *testing.T) {
	var dials atomic.Int32
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "{}")
	}))
	api.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	api.Start()
	t.Cleanup(api.Close)
	c := &http.Client{Transport: upstreamTransport{httpx.Bounded{Base: httpx.ExplainTLS(newTransport(nil, nil)), Wait: 5 * time.Second}}}
	get := func() {
		t.Helper()
		resp, err := c.Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()
	get()
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d connections for two requests; want the first's kept alive", n)
	}
	c.CloseIdleConnections()
	get()
	if n := dials.Load(); n != 2 {
		t.Fatalf("%d connections: the idle one was not closed", n)
	}
}

// TestUpstreamGivesUpOnASilentHTTP2Connection: a request the proxy had in
// flight to an HTTP/2 API when the machine slept kept its connection busy,
// so the closing of idle connections on waking left it, and every request
// forwarded after the wake went onto it and got 504 after `timeout`; the
// proxy's connections to APIs now answer a PING or are dropped.
func TestUpstreamGivesUpOnASilentHTTP2Connection(t *testing.T) {
	testenv.GivesUpOnASilentHTTP2Connection(t, func(roots *x509.CertPool) *http.Transport {
		return newTransport(&tls.Config{RootCAs: roots}, nil)
	})
}
