package testenv

import (
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// NetworkAddr returns an IPv4 address of this machine on the network (not
// loopback), where a proxy listening on every address is reached too; it
// is Missing when the machine has none.
func NetworkAddr(t testing.TB) netip.Addr {
	t.Helper()
	addrs, _ := httpx.MachineAddrs()
	for a := range addrs {
		if a.Is4() && a.IsGlobalUnicast() {
			return a
		}
	}
	Missing(t, "this machine has no network address besides loopback")
	return netip.Addr{}
}

// NameHere returns a host name, not localhost nor a name under it, that
// the system's resolver gives only addresses of this machine for: this
// machine's own name, or another in /etc/hosts
// (a public name whose A record is 127.0.0.1 is led to this machine the
// same way). The address may be any of this machine's, loopback or not
// (Debian maps the machine's name to 127.0.1.1, Docker to the container's
// address), where no test server listens: a test of a refusal must not
// need the connection to succeed. It is Missing when there is none, as in
// a container whose /etc/hosts names localhost alone.
func NameHere(t testing.TB) string {
	t.Helper()
	names := []string{}
	if h, err := os.Hostname(); err == nil {
		names = append(names, h)
	}
	if hosts, err := os.ReadFile("/etc/hosts"); err == nil {
		for line := range strings.Lines(string(hosts)) {
			line, _, _ = strings.Cut(line, "#")
			if fields := strings.Fields(line); len(fields) > 1 {
				names = append(names, fields[1:]...)
			}
		}
	}
	for _, name := range names {
		if name == "" || httpx.IsLocalhostName(name) {
			continue
		}
		if _, isIP := httpx.ParseHost(name); isIP {
			continue
		}
		addrs, _ := net.DefaultResolver.LookupNetIP(t.Context(), "ip", name)
		if len(addrs) > 0 && !slices.ContainsFunc(addrs, func(a netip.Addr) bool { return !httpx.ReachesThisMachine(a.String()) }) {
			return name
		}
	}
	Missing(t, "no host name but localhost leads to this machine here (neither its name nor another in /etc/hosts); add one, as Debian's line 127.0.1.1 with the machine's name")
	return ""
}
