package httpx_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestAwayFromHere: a request to this machine fails with Refused and
// sends nothing. Where freshtoken dials (a Transport that leaves dialing to
// net/http, http.DefaultTransport itself, NewTransport's, and the command
// line's Bounded and ExplainTLS around one) no connection to this machine
// is made at all: the server at localhost sees none. A Transport that
// dials with a function of the program's own, which may tunnel through
// this machine (a SOCKS tunnel or ssh -D at 127.0.0.1:1080), is refused
// an address of this machine and a name that leads here (one in
// /etc/hosts), looked up first, as another RoundTripper is; a redirect to
// another origin goes through its tunnel, however it dials: its
// DialContext, its deprecated Dial, its DialTLSContext or deprecated
// DialTLS for https.
func TestAwayFromHere(t *testing.T) {
	var reached atomic.Int32
	count := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) })
	plain := httptest.NewServer(count)
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(count)
	secure.StartTLS()
	t.Cleanup(secure.Close)
	var d net.Dialer
	// tunnel carries every connection to srv, as a tunnel's entrance on
	// this machine carries it on to the address asked for.
	tunnel := func(srv *httptest.Server) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		}
	}
	// The test server's certificate names example.com.
	roots := &tls.Config{RootCAs: secure.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, ServerName: "example.com"}
	tunnelTLS := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := tunnel(secure)(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(c, roots)
		return tc, tc.HandshakeContext(ctx)
	}
	refused := errors.New("refused")
	_, port, _ := net.SplitHostPort(plain.Listener.Addr().String())
	var connected atomic.Int32
	untouched := httptest.NewUnstartedServer(count)
	untouched.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			connected.Add(1)
		}
	}
	untouched.Start()
	t.Cleanup(untouched.Close)
	_, untouchedPort, _ := net.SplitHostPort(untouched.Listener.Addr().String())
	atLocalhost := func(testing.TB) string { return "http://" + net.JoinHostPort("localhost", untouchedPort) + "/" }
	byNameHere := func(t testing.TB) string { return "http://" + net.JoinHostPort(testenv.NameHere(t), port) + "/" }
	ownTransport, err := httpx.NewTransport("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		base http.RoundTripper
		url  func(testing.TB) string
	}{
		{"a program's dial, to 127.0.0.1", &http.Transport{DialContext: tunnel(plain)}, func(testing.TB) string { return "http://127.0.0.1:" + port + "/" }},
		{"a program's dial, to a name here", &http.Transport{DialContext: tunnel(plain)}, byNameHere},
		{"net/http's own dial", &http.Transport{}, atLocalhost},
		{"http.DefaultTransport", http.DefaultTransport, atLocalhost},
		{"NewTransport's", ownTransport, atLocalhost},
		{"the command line's", httpx.Bounded{Base: httpx.ExplainTLS(ownTransport), Wait: time.Minute}, atLocalhost},
		{"another RoundTripper", roundTripper{&http.Transport{}}, byNameHere},
	} {
		t.Run(tc.what, func(t *testing.T) {
			u := tc.url(t)
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			resp, err := httpx.AwayFromHere{Base: tc.base, Refused: refused}.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			if !errors.Is(err, refused) {
				t.Errorf("GET %s: %v; want refused", u, err)
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("this machine was sent %d requests; want none", n)
	}
	if n := connected.Load(); n != 0 {
		t.Errorf("the server at localhost saw %d connections from transports freshtoken dials for; want none", n)
	}

	for _, tc := range []struct {
		what string
		base *http.Transport
		url  string
	}{
		{"its DialContext", &http.Transport{DialContext: tunnel(plain)}, "http://api.example.test/"},
		//lint:ignore SA1019 deprecated, and still in programs
		{"its deprecated Dial", &http.Transport{Dial: func(network, addr string) (net.Conn, error) {
			return tunnel(plain)(context.Background(), network, addr)
		}}, "http://api.example.test/"},
		{"its DialTLSContext", &http.Transport{DialTLSContext: tunnelTLS}, "https://api.example.test/"},
		//lint:ignore SA1019 deprecated, and still in programs
		{"its deprecated DialTLS", &http.Transport{DialTLS: func(network, addr string) (net.Conn, error) { return tunnelTLS(context.Background(), network, addr) }}, "https://api.example.test/"},
	} {
		before := reached.Load()
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		resp, err := httpx.AwayFromHere{Base: tc.base, Refused: refused}.RoundTrip(req)
		if err != nil {
			t.Errorf("GET %s through a tunnel on this machine, by %s: %v; want it sent", tc.url, tc.what, err)
			continue
		}
		resp.Body.Close()
		tc.base.CloseIdleConnections()
		if n := reached.Load() - before; n != 1 {
			t.Errorf("GET %s through a tunnel on this machine, by %s: the server was sent %d requests; want 1", tc.url, tc.what, n)
		}
	}
}

// roundTripper hides the transport it sends over.
type roundTripper struct{ base http.RoundTripper }

func (r roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	return r.base.RoundTrip(req)
}
