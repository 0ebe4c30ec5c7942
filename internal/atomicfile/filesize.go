package atomicfile

import (
	"errors"
	"fmt"
	"syscall"
)

// TooLarge reports whether err says a write went past the largest file
// this process may write (EFBIG): its file size limit (ulimit -f), as a
// CI runner's or a service's limits may set it. The signal the system
// sends for it, SIGXFSZ, does not kill a Go program: the write fails.
func TooLarge(err error) bool { return errors.Is(err, syscall.EFBIG) }

// RaiseSizeLimit is what to do about a file size limit too small for
// freshtoken's files, in the words every part of freshtoken tells it with.
const RaiseSizeLimit = "raise the file size limit (`ulimit -f unlimited` in the shell, script or service that starts freshtoken)"

// TooLargeWords says what a file too large (see TooLarge) would have
// been larger than, after "larger than": this process's file size limit,
// in bytes, or, with none set, the largest file the disk's file system
// takes; and what to do.
func TooLargeWords() (than, next string) {
	if limit, ok := SizeLimit(); ok {
		return fmt.Sprintf("this process's file size limit (ulimit -f) of %d bytes (%v)", limit, syscall.EFBIG), RaiseSizeLimit
	}
	return fmt.Sprintf("the largest file its disk's file system takes (%v)", syscall.EFBIG), "keep it on another disk"
}
