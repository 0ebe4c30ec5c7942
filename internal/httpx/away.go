package httpx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"
)

// leadsHere reports whether host leads to this machine: by its spelling
// (see ReachesThisMachine), or as a name the system's resolver gives an
// address of this machine for (a name in /etc/hosts, a public name with
// the A record 127.0.0.1). A name that cannot be looked up is reported
// false.
func leadsHere(ctx context.Context, host string) bool {
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
// Each goes over a connection of its own, made by a copy of Base as
// OneUse makes one, that is refused, and the request fails with Refused,
// when the address it connects to is this machine's, whether or not
// something there accepts it: by the address a net.Dialer is about to
// connect to (as httptrace's ConnectStart tells it), or by the peer of
// the connection made. The address is the one after any name lookup, so a
// name leads here however it is spelt and whatever its name server answers
// at the time; nothing is sent on such a connection, and no connection
// kept alive for another request is used. Where freshtoken dials itself
// (a Base that leaves dialing to net/http, NewTransport's), no connection
// to this machine is made at all. Base is reached through ExplainTLS and
// Bounded; a request that Base sends through a proxy (HTTPS_PROXY)
// connects to the proxy, which looks the name up itself, and for a Base
// whose connections cannot be reached (another RoundTripper), the host is
// looked up here first instead (leadsHere): a name server that changes its
// answer between the two lookups defeats that.
type AwayFromHere struct {
	Base    http.RoundTripper
	Refused error
}

func (a AwayFromHere) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, checked := a.checked(a.Base, req)
	if !checked && leadsHere(req.Context(), req.URL.Hostname()) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, a.Refused
	}
	return rt.RoundTrip(req)
}

// checked returns what carries req over rt, and whether its connection's
// peer is checked: false when rt sends req through a proxy, or rt's
// connections cannot be reached.
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
		c.DialContext = a.refusingHere(dialOf(t))
		if tlsDial := tlsDialOf(t); tlsDial != nil {
			c.DialTLSContext = a.refusingHere(tlsDial)
		}
		return c, true
	}
	return rt, false
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// refusingHere wraps dial so that a connection to an address of this
// machine fails with a.Refused: one that dial, on a net.Dialer given its
// context, began to make (made or not), or one whose peer is this
// machine. A peer or an address that is no IP address (a Unix socket, a
// pipe) is on this machine too. freshtoken's own dialer does not connect
// to this machine at all (see refuseHere).
func (a AwayFromHere) refusingHere(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var here atomic.Bool
		ctx = httptrace.WithClientTrace(context.WithValue(ctx, awayKey{}, true), &httptrace.ClientTrace{
			ConnectStart: func(_, addr string) {
				if addrHere(addr) {
					here.Store(true)
				}
			},
		})
		c, err := dial(ctx, network, addr)
		if here.Load() {
			if err == nil {
				c.Close()
			}
			return nil, a.Refused
		}
		if err != nil {
			return nil, err
		}
		if peer, ok := c.RemoteAddr().(*net.TCPAddr); !ok || isThisMachine(peer.AddrPort().Addr()) {
			c.Close()
			return nil, a.Refused
		}
		return c, nil
	}
}

// awayKey marks the context of a dial for AwayFromHere.
type awayKey struct{}

// dialer dials as http.DefaultTransport's does, and refuses to connect
// to an address of this machine for AwayFromHere (see refuseHere).
var dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, ControlContext: refuseHere}

// errHere is dialer's refusal, which AwayFromHere reports as its Refused.
var errHere = errors.New("an address of this machine, which this connection must not reach")

// refuseHere refuses, before connecting, a dial for AwayFromHere to an
// address of this machine.
func refuseHere(ctx context.Context, _, address string, _ syscall.RawConn) error {
	if ctx.Value(awayKey{}) != nil && addrHere(address) {
		return errHere
	}
	return nil
}

// addrHere reports whether address, an IP address and port as a
// net.Dialer connects to, is this machine's; anything else (a Unix
// socket's path) is on this machine too.
func addrHere(address string) bool {
	ap, err := netip.ParseAddrPort(address)
	return err != nil || isThisMachine(ap.Addr())
}

// dialOf is how t dials a connection: as net/http chooses, or
// freshtoken's own dialer where t leaves that to net/http.
func dialOf(t *http.Transport) dialFunc {
	if t.DialContext != nil {
		return t.DialContext
	}
	//lint:ignore SA1019 deprecated, and still in programs whose connections must be checked
	if dial := t.Dial; dial != nil {
		return func(_ context.Context, network, addr string) (net.Conn, error) { return dial(network, addr) }
	}
	return dialer.DialContext
}

// tlsDialOf is how t dials a TLS connection itself, or nil when it
// leaves that to net/http (over a connection from dialOf).
func tlsDialOf(t *http.Transport) dialFunc {
	if t.DialTLSContext != nil {
		return t.DialTLSContext
	}
	//lint:ignore SA1019 deprecated, and still in programs whose connections must be checked
	if dial := t.DialTLS; dial != nil {
		return func(_ context.Context, network, addr string) (net.Conn, error) { return dial(network, addr) }
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
