//go:build !windows

package atomicfile

import (
	"errors"
	"syscall"
)

// OutOfFiles reports whether err says a file (or a connection) could not
// be opened because this process, or the system, has as many open as it
// may (EMFILE, ENFILE): a failure that passes as others close, and that a
// higher limit on open files (ulimit -n) prevents. Wherever freshtoken
// opens a file, such a failure is told by this one rule (see
// internal/failure).
func OutOfFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
