//go:build unix

package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// appendedTo reports whether f was opened to be appended to (the shell's
// >>), which leaves what the file held in it.
func appendedTo(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	flags := 0
	var ferr error
	if err := rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
		return false
	}
	return flags&unix.O_APPEND != 0
}
