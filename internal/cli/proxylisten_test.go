package cli

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestProxyOutOfFilesSaysSo: the proxy refused a --listen address for too
// many open files (a service's LimitNOFILE reached) told to choose another
// address with --listen, which fails alike; it says to raise the limit. The
// error is the one net.Listen returns, which no test can make happen on
// every machine.
func TestProxyOutOfFilesSaysSo(t *testing.T) {
	a, _ := net.ResolveTCPAddr("tcp", "127.0.0.1:8787")
	err := proxyListenFailed("127.0.0.1:8787", &net.OpError{Op: "listen", Net: "tcp", Addr: a, Err: os.NewSyscallError("socket", syscall.EMFILE)})
	if msg := err.Error(); strings.Contains(msg, "--listen") || !strings.Contains(msg, "ulimit -n") || ExitCode(err) != 2 {
		t.Fatalf("%v (exit %d); want to raise the limit on open files, not another address", err, ExitCode(err))
	}
}
