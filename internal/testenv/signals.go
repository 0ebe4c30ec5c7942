package testenv

import (
	"os"
	"os/signal"
	"syscall"
)

// UnignoreSignals undoes, for the commands a test binary starts, the
// signals its parent left ignored: nohup ignores SIGHUP, and a shell without
// job control starts a command put in the background (`.ci/run &`) with
// SIGINT and SIGQUIT ignored. The commands inherit that and, as freshtoken
// must, honour it; the tests that press Ctrl-C at them or close their
// terminal then fail. A signal the test binary is notified of is caught, not
// ignored, and each command it starts begins with it at its default. Call
// it in the test binary's own run only, never in a command it runs itself
// (testscript's), which would then not begin as its script started it.
func UnignoreSignals() {
	for _, s := range []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM} {
		if signal.Ignored(s) {
			signal.Notify(make(chan os.Signal, 1), s)
		}
	}
}
