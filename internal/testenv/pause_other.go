//go:build !unix

package testenv

import (
	"os"
	"testing"
)

// Pause is Missing: only Unix can stop a process without ending it.
func Pause(t testing.TB, _ *os.Process) {
	t.Helper()
	Missing(t, "pausing a process needs SIGSTOP, which only Unix has")
}

// Resume is Missing, as Pause is.
func Resume(t testing.TB, _ *os.Process) {
	t.Helper()
	Missing(t, "resuming a process needs SIGCONT, which only Unix has")
}
