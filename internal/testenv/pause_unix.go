//go:build unix

package testenv

import (
	"os"
	"syscall"
	"testing"
)

// Pause stops p (SIGSTOP) until the test ends, as a machine that hangs: it
// keeps its connections and files, and answers nothing.
func Pause(t testing.TB, p *os.Process) {
	t.Helper()
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGCONT) })
}

// Resume lets p, stopped by Pause, run again before the test ends.
func Resume(t testing.TB, p *os.Process) {
	t.Helper()
	if err := p.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}
