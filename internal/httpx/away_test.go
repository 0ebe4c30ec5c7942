package httpx_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestAwayFromHere: a request whose connection reaches this machine fails
// with Refused and sends nothing, however the base it is given dials: an
// *http.Transport's own DialContext, its deprecated Dial, its
// DialTLSContext or deprecated DialTLS for https, or the command line's
// Bounded and ExplainTLS around one. Each dials rebound.example.test, which no name server
// knows, to 127.0.0.1, as a name server that answers 127.0.0.1 at the
// dial and not before would: only the address connected to tells. It
// fails so whether or not the connection is made: a dial on a net.Dialer
// to an address of this machine where nothing listens (a name leading to
// Debian's 127.0.1.1) is refused as one that connects. A base that
// leaves dialing to net/http, and NewTransport's, do not connect to this
// machine at all: the server at localhost sees no connection. Over
// another RoundTripper, whose connections cannot be reached, a name that
// leads here (one in /etc/hosts) is looked up first, and refused. A
// connection whose peer is elsewhere carries the request.
func TestAwayFromHere(t *testing.T) {
	var reached atomic.Int32
	count := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) })
	plain := httptest.NewServer(count)
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(count)
	secure.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes of refused connections
	secure.StartTLS()
	t.Cleanup(secure.Close)
	var d net.Dialer
	rebound := func(srv *httptest.Server) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		}
	}
	// The test server's certificate names example.com.
	roots := &tls.Config{RootCAs: secure.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, ServerName: "example.com"}
	dialTLS := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := rebound(secure)(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(c, roots)
		return tc, tc.HandshakeContext(ctx)
	}
	redial := rebound(plain)
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
	atLocalhost := "http://" + net.JoinHostPort("localhost", untouchedPort) + "/"
	ownTransport, err := httpx.NewTransport("")
	if err != nil {
		t.Fatal(err)
	}
	closed := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t))) // a port nothing takes meanwhile
	unserved := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, closed)
	}
	for _, tc := range []struct {
		what string
		base http.RoundTripper
		url  string
	}{
		{"an *http.Transport", &http.Transport{DialContext: redial}, "http://rebound.example.test/"},
		{"the command line's", httpx.Bounded{Base: httpx.ExplainTLS(&http.Transport{DialContext: redial}), Wait: time.Minute}, "http://rebound.example.test/"},
		//lint:ignore SA1019 deprecated, and still in programs
		{"the deprecated Dial", &http.Transport{Dial: func(network, addr string) (net.Conn, error) { return redial(context.Background(), network, addr) }}, "http://rebound.example.test/"},
		{"its own TLS dial", &http.Transport{DialTLSContext: dialTLS}, "https://rebound.example.test/"},
		//lint:ignore SA1019 deprecated, and still in programs
		{"its deprecated DialTLS", &http.Transport{DialTLS: func(network, addr string) (net.Conn, error) { return dialTLS(context.Background(), network, addr) }}, "https://rebound.example.test/"},
		{"a dial to where nothing listens", &http.Transport{DialContext: unserved}, "http://rebound.example.test/"},
		{"net/http's default dial", http.DefaultTransport.(*http.Transport).Clone(), "http://" + net.JoinHostPort(testenv.NameHere(t), port) + "/"},
		{"net/http's own dial", &http.Transport{}, atLocalhost},
		{"NewTransport's", ownTransport, atLocalhost},
		{"another RoundTripper", roundTripper{&http.Transport{}}, "http://" + net.JoinHostPort(testenv.NameHere(t), port) + "/"},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		resp, err := httpx.AwayFromHere{Base: tc.base, Refused: refused}.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, refused) {
			t.Errorf("%s: GET %s: %v; want refused", tc.what, tc.url, err)
		}
		httpx.CloseIdle(tc.base)
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("this machine was sent %d requests; want none", n)
	}
	if n := connected.Load(); n != 0 {
		t.Errorf("the server at localhost saw %d connections from transports that dial themselves; want none", n)
	}

	// Dialled without the request's context, which would tell the address
	// connected to: only the peer says it is elsewhere.
	elsewhere := &http.Transport{DialContext: func(_ context.Context, network, addr string) (net.Conn, error) {
		c, err := redial(context.Background(), network, addr)
		return peerElsewhere{c}, err
	}}
	req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/", nil)
	resp, err := httpx.AwayFromHere{Base: elsewhere, Refused: refused}.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET over a connection to 198.51.100.7: %v; want it sent", err)
	}
	resp.Body.Close()
	if n := reached.Load(); n != 1 {
		t.Errorf("the server reached over a connection elsewhere was sent %d requests; want 1", n)
	}
}

// peerElsewhere is a connection whose peer is off this machine, as one
// a dialer made across the network would be.
type peerElsewhere struct{ net.Conn }

func (peerElsewhere) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 80}
}

// roundTripper hides the transport it sends over.
type roundTripper struct{ base http.RoundTripper }

func (r roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	return r.base.RoundTrip(req)
}
