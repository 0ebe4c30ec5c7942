//go:build unix

package cli

import (
	"io"
	"syscall"
	"testing"
)

// TestHandOverSeesASignalNotYetActedOn: a signal caught just before exec
// hands the process over, still waiting in the guard's channel, stops the
// command from starting; it is not lost in between (once the process is
// the command's, nothing would act on it).
func TestHandOverSeesASignalNotYetActedOn(t *testing.T) {
	_, g, stop := guardSignals(io.Discard)
	defer stop()
	g.watch()
	g.ch <- syscall.SIGTERM // caught; the guard may not have read it yet
	if g.handOver() {
		t.Fatal("handOver let the command start after a signal")
	}
	if g.sig != syscall.SIGTERM {
		t.Fatalf("the guard recorded signal %v; want SIGTERM", g.sig)
	}
}
