package testenv

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// GivesUpOnASilentHTTP2Connection checks that an HTTP/2 connection left
// busy across a sleep of the machine (a request in flight on it, the
// network gone since) is given up on by the transport that transport
// returns (for a server whose certificate roots trusts), within its
// HTTP/2 ping's wait rather than a request's whole timeout: another
// request, multiplexed onto it after the wake, must fail before its
// 10-second deadline, and the next one get its answer over a new
// connection. Closing the idle connections, as after a sleep, cannot
// close this one. The transport's ping times are shortened to a second
// each, to keep the test short; a transport that does not ping waits out
// the deadline.
func GivesUpOnASilentHTTP2Connection(t *testing.T, transport func(roots *x509.CertPool) *http.Transport) {
	t.Helper()
	held := make(chan struct{}, 1)
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/held" {
			held <- struct{}{}
			<-r.Context().Done()
			return
		}
		io.WriteString(w, "ok")
	}))
	api.EnableHTTP2 = true
	api.StartTLS()
	t.Cleanup(api.Close)
	roots := x509.NewCertPool()
	roots.AddCert(api.Certificate())
	tr := transport(roots)
	if tr.HTTP2 != nil && tr.HTTP2.SendPingTimeout > 0 {
		short := *tr.HTTP2
		short.SendPingTimeout, short.PingTimeout = time.Second, time.Second
		tr.HTTP2 = &short
	}
	t.Cleanup(tr.CloseIdleConnections)
	relay := NewSilencing(t, api.Listener.Addr().String())
	client := &http.Client{Transport: tr}
	get := func(ctx context.Context, path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+relay.Addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return client.Do(req)
	}
	GetOverHTTP2(t, tr, "https://"+relay.Addr+"/")
	inFlight := make(chan error, 1)
	go func() {
		_, err := get(t.Context(), "/held")
		inFlight <- err
	}()
	<-held
	relay.Silence() // the machine sleeps, and wakes on another network
	tr.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if resp, err := get(ctx, "/"); err == nil {
		resp.Body.Close()
		t.Fatal("a request on the silent connection got an answer")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a request multiplexed onto the silent connection after the wake waited out its deadline: %v", err)
	}
	if err := <-inFlight; err == nil {
		t.Fatal("the request in flight across the sleep got an answer")
	}
	resp, err := get(t.Context(), "/")
	if err != nil {
		t.Fatalf("the request after the silent connection was given up on: %v", err)
	}
	resp.Body.Close()
	if relay.Dials() != 2 {
		t.Fatalf("%d connections were made, want 2", relay.Dials())
	}
}

// GetOverHTTP2 gets url over rt, which must answer over HTTP/2, and
// returns the answer's header, its body read and closed.
func GetOverHTTP2(t testing.TB, rt http.RoundTripper, url string) http.Header {
	t.Helper()
	resp, err := (&http.Client{Transport: rt}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("answered over %s; want HTTP/2", resp.Proto)
	}
	return resp.Header
}
