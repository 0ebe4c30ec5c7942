//go:build unix

package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// openNoWait opens the --log-file without waiting: a named pipe that
// nothing reads would otherwise hold the open, and the command, for ever.
const openNoWait = unix.O_NONBLOCK

// outputFile is a descriptor of its own for f, the process's standard
// output or error. Go ends a process whose write to descriptor 1 or 2 meets
// a pipe with no reader (SIGPIPE), but returns EPIPE from a write to any
// other descriptor (see os/signal); freshtoken must outlive a reader that
// went away (`| head`) until every renewal it sent is stored. (A
// descriptor closed when the process started, `>&-`, is not closed here:
// the Go runtime opens /dev/null in its place before freshtoken runs, so
// its output is discarded as with `>/dev/null`, and nothing tells the two
// apart.)
func outputFile(f *os.File) *os.File {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return f // writes fail either way
	}
	return os.NewFile(uintptr(fd), f.Name())
}
