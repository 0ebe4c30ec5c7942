//go:build unix

package cli

import (
	"os"
	"syscall"
)

// suspending are the signals that would stop (suspend) the process: Ctrl-Z.
// Stopped with a renewal in flight, it would hold the renewal lock, and a
// shared store's lock would pass to another machine, which would spend the
// refresh token the provider may already have rotated.
var suspending = []os.Signal{syscall.SIGTSTP}

// suspend stops the process as Ctrl-Z would have, until SIGCONT (fg).
func suspend() { syscall.Kill(os.Getpid(), syscall.SIGSTOP) }
