//go:build unix

package cli

import (
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken"
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

// TestRefusedAnswerWaitIsToldOnce: the wait for the store to take an answer
// it refused is told once, and once more after a first signal (Ctrl-C once
// more then abandons it), not again each time settle or explainWait looks;
// a proxy stopped by SIGTERM told it twice in a row.
func TestRefusedAnswerWaitIsToldOnce(t *testing.T) {
	var out strings.Builder
	_, g, stop := guardSignals(&out)
	defer stop()
	stored := g.Sending(freshtoken.Renewal{Env: "dev", TokenURL: "http://provider.example/token", Unsaved: true})
	defer stored()
	g.explainWait()
	g.explainWait()
	g.sig = syscall.SIGTERM
	g.explainWait()
	g.explainWait()
	if n, again := strings.Count(out.String(), "waiting for the store"), strings.Count(out.String(), "Ctrl-C again abandons them"); n != 2 || again != 1 {
		t.Fatalf("told %d times (%d after the signal); want once before and once after:\n%s", n, again, out.String())
	}
}
