package httpx

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ParseHost returns the IP address host stands for when no name lookup is
// needed to know it, and ok false otherwise. It reads host as browsers,
// curl and the C library do: an IPv6 literal with or without brackets
// (an IPv4-mapped one as its IPv4 address), an IPv4 address in any form
// inet_aton accepts (127.1, 0x7f000001, 2130706433, 0177.0.0.1), either
// with a trailing dot, and localhost or a name under .localhost, which is
// 127.0.0.1 (RFC 6761). A host with other than ASCII in it is first
// mapped as browsers, Node and curl map it (UTS #46): fullwidth digits,
// ideographic full stops and the like are the ASCII they stand for.
func ParseHost(host string) (netip.Addr, bool) {
	host = CanonicalHost(host)
	if isLocalhost(host) {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), true
	}
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}, false
		}
		return a.WithZone("").Unmap(), true
	}
	return parseIPv4(host)
}

// IsLocalhostName reports whether host, however spelled (any case, a
// trailing dot, other than ASCII as ParseHost maps it), is localhost or a
// name under .localhost: one a browser opens at 127.0.0.1 or at ::1, and
// no name server is asked about.
func IsLocalhostName(host string) bool {
	return isLocalhost(CanonicalHost(host))
}

// CanonicalHost is host in lower-case ASCII (mapped as ParseHost says),
// without a trailing dot or brackets: the one spelling of a name to compare.
func CanonicalHost(host string) string {
	if !isASCII(host) {
		// What is mapped, even where a label then fails a check that a
		// lenient reader might not make.
		host, _ = hostMapping.ToASCII(host)
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return host
}

// isLocalhost reports whether host, a CanonicalHost, is localhost or a
// name under it.
func isLocalhost(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// hostMapping maps a host to ASCII as the WHATWG URL standard does (its
// "domain to ASCII", not strict).
var hostMapping = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false), idna.CheckHyphens(false), idna.BidiRule(), idna.CheckJoiners(true))

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parseIPv4 reads inet_aton's forms: one to four parts, each decimal,
// octal (a leading 0) or hexadecimal (0x), the last filling the bytes the
// others leave.
func parseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var n uint64
	for i, p := range parts {
		v, ok := parseIPv4Part(p)
		last := i == len(parts)-1
		if !ok || !last && v > 0xff || last && v >= 1<<(8*(5-len(parts))) {
			return netip.Addr{}, false
		}
		if last {
			n = n<<(8*(5-len(parts))) | v
		} else {
			n = n<<8 | v
		}
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

func parseIPv4Part(p string) (uint64, bool) {
	base := 10
	switch {
	case len(p) > 1 && (p[:2] == "0x"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true // "0x" is 0, as browsers read it
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	if p == "" || p[0] == '+' || p[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(p, base, 32)
	return v, err == nil
}

// IsLoopback reports whether host, however it is spelled (see ParseHost),
// is a loopback address of this machine.
func IsLoopback(host string) bool {
	a, ok := ParseHost(host)
	return ok && a.IsLoopback()
}

// LoopbackAddr returns addr, a host:port whose host is a loopback address
// however it is spelled (see ParseHost), with the host written as its IP,
// which a listener takes as it is: as written (127.1, localhost.,
// foo.localhost) it would be looked up by a name server, whose answer may
// be an address on the network. ok is false for any other addr.
func LoopbackAddr(addr string) (_ string, ok bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false
	}
	a, isIP := ParseHost(host)
	if !isIP || !a.IsLoopback() {
		return "", false
	}
	return net.JoinHostPort(a.String(), port), true
}

// ReachesThisMachine reports whether host, however it is spelled, leads
// to this machine without a name lookup: a loopback address, the
// unspecified one (0.0.0.0 or ::), which connects to this machine, or one
// of its network addresses (where a proxy listening on every address,
// with --allow-remote, is reached too). Where its network addresses cannot
// all be read, those it could are.
func ReachesThisMachine(host string) bool {
	a, ok := ParseHost(host)
	return ok && isThisMachine(a)
}

// MachineAddrs returns this machine's own addresses, on every interface,
// without zones and IPv4-mapped ones as IPv4; those it could read if it
// fails.
func MachineAddrs() (map[netip.Addr]bool, error) {
	ips := map[netip.Addr]bool{}
	addrs, err := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				ips[ip.Unmap()] = true
			}
		}
	}
	return ips, err
}

// SameOrigin reports whether a and b name one scheme, host and port, however
// they spell them: in any case, with or without the scheme's default port,
// a name with or without the root's trailing dot.
func SameOrigin(a, b *url.URL) bool {
	pa, okA := Port(a.Port(), a.Scheme)
	pb, okB := Port(b.Port(), b.Scheme)
	host := func(u *url.URL) string { return strings.TrimSuffix(u.Hostname(), ".") }
	return okA && okB && pa == pb && strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(host(a), host(b))
}

// OffOrigin names where a redirect or a link from the URL from to another
// origin leads (to's host, or its scheme and host) and what it is to from:
// another host, or the same host over another scheme (an api_url of
// http:// that the API sends on to https://), which "another host" was not.
func OffOrigin(to, from *url.URL) (where, what string) {
	host := func(u *url.URL) string { return strings.TrimSuffix(u.Hostname(), ".") }
	if !strings.EqualFold(host(to), host(from)) || to.Port() != from.Port() {
		return to.Host, "another host"
	}
	return to.Scheme + "://" + to.Host, fmt.Sprintf("its host over %s, not %s", to.Scheme, from.Scheme)
}

// Port reads a URL's or a Host header's port as a number, as clients do
// (08787 is 8787); an empty port is the scheme's default.
func Port(port, scheme string) (int, bool) {
	if port == "" {
		switch strings.ToLower(scheme) {
		case "https", "wss":
			return 443, true
		default:
			return 80, true
		}
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return 0, false
	}
	return int(n), true
}
