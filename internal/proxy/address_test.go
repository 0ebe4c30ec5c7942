package proxy_test

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"testing"

	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestRedirectToTheAddressListenedOnIsRefused: a proxy given a name to
// listen on (--allow-remote --listen NAME:PORT) refuses an API's redirect
// to the address the name was bound to, as to the name itself: it knew the
// name alone, and passed a redirect to its own network address on to the
// client, which sent the request back into the proxy.
func TestRedirectToTheAddressListenedOnIsRefused(t *testing.T) {
	f, hits := twoEnvAPI(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	loopback := ln.Addr().(*net.TCPAddr).AddrPort()
	lan := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.7"), loopback.Port()) // documentation's (RFC 5737)
	_, port, _ := net.SplitHostPort(lan.String())
	named := net.JoinHostPort("proxy.example", port)
	o := f.options(named, true)
	// The address the name was bound to: one on the network, where no test
	// may listen; the connections come over the loopback listener.
	o.Listening = net.TCPAddrFromAddrPort(lan)
	p, err := proxy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, p, ln)
	for _, to := range []string{"http://" + lan.String() + "/victim/x", "http://" + named + "/victim/x", "http://PROXY.example.:" + port + "/victim/x"} {
		req, _ := http.NewRequest(http.MethodDelete, "http://"+ln.Addr().String()+"/evil/?to="+url.QueryEscape(to), nil)
		req.Host = named
		resp, body := f.do(t, req) // not followed: nothing here listens at 192.0.2.7
		if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Freshtoken-Error") != "redirect_to_proxy" {
			t.Errorf("a redirect to %s: got %d %s %q: %s", to, resp.StatusCode, resp.Header.Get("X-Freshtoken-Error"), resp.Header.Get("Location"), body)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("a redirect reached the victim's API")
	}
}

// TestProxyAnswersToTheNameTyped: a proxy given a name under .localhost
// (--listen foo.localhost:PORT) listens on 127.0.0.1, and answers a browser
// that opens the name typed, as browsers take every .localhost name to
// this machine; its Host check refused it (403), the banner naming the IP
// alone. Another .localhost name, never given, is still refused.
func TestProxyAnswersToTheNameTyped(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p, err := proxy.New(f.options("Foo.localhost.:"+port, false))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, p, ln)
	if p.Base() != "http://"+ln.Addr().String() {
		t.Errorf("Base() = %s, want the address listened on", p.Base())
	}
	// As a browser: .localhost is this machine, whatever name servers say.
	browser := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return new(net.Dialer).DialContext(ctx, network, ln.Addr().String())
	}}}
	t.Cleanup(browser.CloseIdleConnections)
	for name, want := range map[string]int{"foo.localhost": http.StatusOK, "bar.localhost": http.StatusForbidden} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+net.JoinHostPort(name, port)+"/", nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		if resp, body := testenv.Do(t, browser, req); resp.StatusCode != want {
			t.Errorf("%s: got %d, want %d: %.300s", name, resp.StatusCode, want, body)
		}
	}
}
