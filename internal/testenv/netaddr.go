package testenv

import (
	"net/netip"
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
