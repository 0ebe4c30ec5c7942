package atomicfile

import (
	"errors"
	"fmt"
	"syscall"
)

// OutOfFilesStep says what err, an error that OutOfFiles reports, means,
// and what to do, in the words every part of freshtoken tells it with.
// ENFILE is the whole system's limit, every program's files together,
// which no limit of freshtoken's own raises; EMFILE is this process's
// (ulimit -n).
func OutOfFilesStep(err error) string {
	if errors.Is(err, syscall.ENFILE) {
		return "the system has as many files open as it allows, every program's together (not freshtoken's own limit, ulimit -n): try again once some close, or have the system's limit raised (fs.file-max on Linux)"
	}
	if limit, ok := openLimit(); ok {
		return fmt.Sprintf("freshtoken has as many files and connections open as its limit on open files allows (%d here): try again, or raise that limit (ulimit -n in the shell that starts freshtoken, LimitNOFILE= in a systemd unit)", limit)
	}
	return "freshtoken has as many files and connections open as the system lets one program have: try again once some close"
}
