//go:build !unix

package cli

import "os"

// suspending is empty: only Unix suspends a process by a signal.
var suspending []os.Signal

func suspend() {}
