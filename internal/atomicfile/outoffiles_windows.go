package atomicfile

import (
	"errors"

	"golang.org/x/sys/windows"
)

// OutOfFiles reports whether err says a file could not be opened because
// this process has as many open as it may (ERROR_TOO_MANY_OPEN_FILES): a
// failure that passes as others close. Wherever freshtoken opens a file,
// such a failure is told by this one rule (see internal/failure).
func OutOfFiles(err error) bool {
	return errors.Is(err, windows.ERROR_TOO_MANY_OPEN_FILES)
}
