package httpx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// LeadsHere reports whether host leads to this machine: by its spelling
// (see ReachesThisMachine), or as a name the system's resolver gives an
// address of this machine for (a name in /etc/hosts, a public name with
// the A record 127.0.0.1). A name that cannot be looked up is reported
// false.
func LeadsHere(ctx context.Context, host string) bool {
	if _, isIP := ParseHost(host); isIP {
		return ReachesThisMachine(host)
	}
	addrs, _ := net.DefaultResolver.LookupNetIP(ctx, "ip", CanonicalHost(host))
	for _, a := range addrs {
		if isThisMachine(a) {
			return true
		}
	}
	return false
}

// AwayFromHere sends requests that must reach no address of this machine.
// A request that would fails with Refused, and nothing is sent.
//
// Where freshtoken dials (Base an *http.Transport with no dial function of
// its own, as &http.Client{} leaves it, net/http's http.DefaultTransport
// itself, or NewTransport's), the request goes over a connection of its
// own, made by a copy of Base as OneUse makes one, whose dialer refuses
// to connect to an address of this machine: the address after the name
// lookup, so a name leads here however it is spelt and whatever its name
// server answers at the time, and no connection to this machine is made.
// A Transport that dials with a function of the program's own (DialContext,
// Dial, DialTLSContext, DialTLS) may first connect to this machine to
// leave it (a SOCKS tunnel at 127.0.0.1:1080, ssh -D, an egress agent), so
// its connections are not judged; nor those of a request sent through a
// proxy (HTTPS_PROXY), which looks the name up itself, nor those of another
// RoundTripper. For those the host is looked up here first instead
// (LeadsHere): a name server that changes its answer between the two
// lookups defeats that. NewTransport's dial function, freshtoken's own,
// is looked up first and still refuses to connect here. Base is reached
// through ExplainTLS and Bounded.
type AwayFromHere struct {
	Base    http.RoundTripper
	Refused error
}

func (a AwayFromHere) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, checked := a.checked(a.Base, req)
	if !checked && LeadsHere(req.Context(), req.URL.Hostname()) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, a.Refused
	}
	resp, err := rt.RoundTrip(req.WithContext(context.WithValue(req.Context(), awayKey{}, true)))
	if errors.Is(err, errHere) {
		return nil, a.Refused
	}
	return resp, err
}

// checked returns what carries req over rt, and whether freshtoken's own
// dialer makes its connection: false when rt sends req through a proxy,
// dials with a function of the program's, or is another RoundTripper.
func (a AwayFromHere) checked(rt http.RoundTripper, req *http.Request) (http.RoundTripper, bool) {
	switch t := rt.(type) {
	case nil:
		return a.checked(http.DefaultTransport, req)
	case explainTLS:
		base, ok := a.checked(t.base, req)
		return explainTLS{base}, ok
	case Bounded:
		base, ok := a.checked(t.Base, req)
		return Bounded{Base: base, Wait: t.Wait}, ok
	case *http.Transport:
		if t.Proxy != nil {
			if u, err := t.Proxy(req); u != nil || err != nil {
				return t, false
			}
		}
		c := OneUse(t).(*http.Transport)
		//lint:ignore SA1019 a program's deprecated Dial or DialTLS dials too
		ownDial := t.DialContext != nil || t.Dial != nil || t.DialTLSContext != nil || t.DialTLS != nil
		if t != netHTTPDefault && ownDial {
			return c, false // NewTransport's dialer still refuses, by the context
		}
		c.DialContext = dialer.DialContext
		return c, true
	}
	return rt, false
}

// netHTTPDefault is net/http's own http.DefaultTransport, which dials as
// freshtoken's dialer does; a program may put another in its place.
var netHTTPDefault = http.DefaultTransport

// awayKey marks the context of a request of AwayFromHere, and so of its
// dial.
type awayKey struct{}

// dialer dials as http.DefaultTransport's does, and refuses to connect
// to an address of this machine for AwayFromHere (see refuseHere).
var dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, ControlContext: refuseHere}

// errHere is dialer's refusal, which AwayFromHere reports as its Refused.
var errHere = errors.New("an address of this machine, which this connection must not reach")

// refuseHere refuses, before connecting, a dial for AwayFromHere to an
// address of this machine.
func refuseHere(ctx context.Context, _, address string, _ syscall.RawConn) error {
	if ctx.Value(awayKey{}) == nil {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil || isThisMachine(ap.Addr()) {
		return errHere
	}
	return nil
}

// isThisMachine reports whether a is an address of this machine: a
// loopback one, the unspecified one (which connects here), or one of its
// network addresses.
func isThisMachine(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	machine, _ := MachineAddrs()
	return machine[a]
}
