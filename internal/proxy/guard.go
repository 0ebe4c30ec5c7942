package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// ListenAddr returns the address to listen on for addr, refusing one other
// processes on the network could reach unless allowRemote: an empty host,
// 0.0.0.0 or a non-loopback IP or name. A loopback host in any spelling
// (127.1, 0x7f000001, localhost., foo.localhost) is returned as its IP:
// listened on as written, it was looked up by a name server, whose answer
// (an address of this machine on the network) the check never saw.
func ListenAddr(addr string, allowRemote bool) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if _, ok := httpx.Port(port, "http"); err != nil || port == "" || !ok {
		return "", fmt.Errorf("--listen %q is not HOST:PORT, such as 127.0.0.1:8787", addr)
	}
	if loopback, ok := httpx.LoopbackAddr(addr); ok {
		return loopback, nil
	}
	if !allowRemote {
		return "", fmt.Errorf("--listen %s would let other machines use your tokens; listen on a loopback address such as 127.0.0.1:%s, or add --allow-remote if you really mean it", addr, port)
	}
	return addr, nil
}

// guard decides which requests the proxy answers at all. Only requests
// addressed to the proxy by its own address are served: a web page that
// rebinds its DNS name to 127.0.0.1 still sends its own name in Host, and a
// page calling the proxy from the user's browser is named by Origin and
// Sec-Fetch-Site.
type guard struct {
	addr    string // the host:port a client names, as the proxy's own links do
	port    string
	portNum int
	hosts   map[string]bool // host names and IP literals that reach the proxy's listener
	anyIP   bool            // --allow-remote: any IP literal in Host names the proxy
}

func newGuard(addr string, allowRemote bool) (guard, error) {
	host, port, err := net.SplitHostPort(addr)
	portNum, ok := httpx.Port(port, "http")
	if err != nil || !ok {
		return guard{}, fmt.Errorf("proxy address %q is not HOST:PORT", addr)
	}
	host = httpx.CanonicalHost(host)
	g := guard{addr: strings.TrimPrefix(baseURL(addr), "http://"), port: port, portNum: portNum, hosts: map[string]bool{host: true}, anyIP: allowRemote}
	if ip, isIP := httpx.ParseHost(host); isIP {
		g.listensAt(ip)
	}
	return g, nil
}

// listensAt makes ip, an address the proxy's listener is bound to, one
// that names the proxy; the unspecified address (0.0.0.0, ::) stands for
// every address of this machine, loopback ones included.
func (g guard) listensAt(ip netip.Addr) {
	ip = ip.WithZone("").Unmap()
	switch {
	case ip.IsUnspecified():
		// Every address of this machine reaches the listener (pointsHere
		// asks httpx.ReachesThisMachine).
		g.hosts["127.0.0.1"], g.hosts["::1"], g.hosts["localhost"] = true, true, true
	case ip.IsLoopback():
		g.hosts["localhost"], g.hosts[ip.String()] = true, true
	default:
		g.hosts[ip.String()] = true
	}
}

// splitHostPort splits a Host header or a URL's host into a lower-case
// host, without brackets, and a port, "80" when it names none.
func splitHostPort(hostport string) (host, port string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), "80"
	}
	return httpx.CanonicalHost(host), port
}

// listening reports whether hostport is an address the proxy's listener
// is reached at: its own host (or, listening on every address, a loopback
// one) and its port. Unlike own, it accepts no other IP address with
// --allow-remote, so it can tell a log-in meant for this listener from one
// meant for another.
func (g guard) listening(hostport string) bool {
	host, port := splitHostPort(hostport)
	return port == g.port && g.hosts[host]
}

// pointsHere reports whether u, a resolved URL in an API's answer, could
// reach this proxy: its port, read as a number, is the proxy's, and its
// host, however spelled, is a loopback or unspecified address, or one the
// proxy listens on.
func (g guard) pointsHere(u *url.URL) bool {
	port, ok := httpx.Port(u.Port(), u.Scheme)
	if !ok {
		return true // no client reaches anything with it; nor need it pass
	}
	if port != g.portNum {
		return false
	}
	return httpx.ReachesThisMachine(u.Hostname()) || g.hosts[httpx.CanonicalHost(u.Hostname())]
}

// own reports whether hostport, a Host header or an origin's host, names
// this proxy: a name it knows, or any spelling of an address it listens
// at (127.1, LOCALHOST.), which no name server is asked about, so no web
// page can rebind it. A redirect_uri may name the proxy so, and the
// browser coming back to it was refused.
func (g guard) own(hostport string) bool {
	host, port := splitHostPort(hostport)
	if port != g.port {
		return false
	}
	if g.hosts[strings.TrimSuffix(host, ".")] || g.anyIP && net.ParseIP(host) != nil {
		return true
	}
	// localhost, in the spellings a client sends, is among the names
	// above when the proxy listens at a loopback address; a name under it
	// is the proxy's only when named so.
	ip, isIP := httpx.ParseHost(host)
	return isIP && !httpx.IsLocalhostName(host) && g.hosts[ip.String()]
}

// fromAProgram is what to do instead of sending a request from a web page.
const fromAProgram = "send it from a program instead, such as Postman's desktop app (on the web, choose its Desktop Agent), curl or a script"

// refusal says why a request must not be served, by whom it is addressed
// to and sent by, or returns "". A request sent by a web page must come
// from the very origin it is addressed to: the status page itself (pages
// the APIs serve through the proxy are sandboxed, so their origin is
// "null"). It is the guard's first question, asked before the proxy reads
// anything for the request (its configuration, for one): a request
// addressed to another name (DNS rebinding) or sent by another page's
// script makes it read nothing. (A page's link or image, which sends no
// Origin, is asked about after: its navigation to a redirect path is
// allowed, and telling one needs the configuration.)
//
// host is the request's Host, origin its Origin header.
func (g guard) refusal(host, origin string) string {
	if host == "" { // HTTP/1.0 does not require one
		return fmt.Sprintf("the request has no Host header; freshtoken serves only requests that name its own address, so that no web page can reach your tokens by DNS rebinding: send Host: %s", g.addr)
	}
	if !g.own(host) {
		return fmt.Sprintf("the request is addressed to %q, not to this proxy's own address; freshtoken refuses it so that no web page can reach your tokens by DNS rebinding; remove the Host header your client sets, and send the request to http://%s/", host, g.addr)
	}
	if origin != "" && !strings.EqualFold(origin, "http://"+host) {
		return fmt.Sprintf("the request was sent by the web page at %s; freshtoken refuses requests from web pages other than its own status page: %s", origin, fromAProgram)
	}
	return ""
}

// crossSite says why a request that its browser says another site sent
// (site, its Sec-Fetch-Site) must not be served, or returns "": none may be
// unless navigation allows it, opening the status page or arriving at the
// login callback from the provider's page.
func crossSite(site string, navigation bool) string {
	if !navigation && (site == "cross-site" || site == "same-site") {
		return "the browser says another web site sent this request; freshtoken refuses requests from web pages other than its own status page: " + fromAProgram
	}
	return ""
}

// fromThisMachine reports whether r came over a loopback connection.
func fromThisMachine(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// outsiderWarnings bounds the warnings that requests from outside cause,
// refused or turned away: a web page in the user's browser sends as many
// as it likes, each with a path of up to 32 KiB, and would fill the disk
// under the log. At most outsiderBurst are logged in each outsiderWindow,
// each value cut to outsiderValue runes; the next one logged says how many
// were not.
type outsiderWarnings struct {
	mu       sync.Mutex
	since    time.Time // when the current window began
	logged   int       // in the current window
	unlogged int       // since the last one logged
}

const (
	outsiderBurst  = 10
	outsiderWindow = time.Minute
	outsiderValue  = 200
)

// warnOutsider logs msg with args, pairs of a key and a string, unless
// the window's warnings are spent.
func (p *Proxy) warnOutsider(msg string, args ...string) {
	w := &p.outsiders
	w.mu.Lock()
	if now := p.now(); now.Sub(w.since) >= outsiderWindow || now.Before(w.since) {
		w.since, w.logged = now, 0
	}
	if w.logged >= outsiderBurst {
		w.unlogged++
		w.mu.Unlock()
		return
	}
	w.logged++
	unlogged := w.unlogged
	w.unlogged = 0
	w.mu.Unlock()
	attrs := make([]any, 0, len(args)+2)
	for i, a := range args {
		if i%2 == 1 {
			a = redact.OneLine(a, outsiderValue)
		}
		attrs = append(attrs, a)
	}
	if unlogged > 0 {
		attrs = append(attrs, "unlogged", unlogged)
	}
	p.log.Warn(msg, attrs...)
}
