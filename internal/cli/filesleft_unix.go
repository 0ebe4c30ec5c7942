//go:build unix

package cli

import (
	"fmt"
	"syscall"
)

// filesNeeded is how many files freshtoken must be able to open before it
// opens its first: that one, and the up to three Go's runtime then opens
// for its poller (epoll and an eventfd on Linux, a kqueue and a pipe
// elsewhere). With fewer left (`ulimit -n 8` on Linux) the poller could
// not be made, and the runtime died with a goroutine dump, exit 2.
const filesNeeded = 4

// filesLeft says, as a failure OutOfFiles reports, that the limit on open
// files leaves freshtoken too few to start; nil if enough are left. It
// opens them to know, by system calls the runtime's poller has no part
// in, and closes them again.
func filesLeft() error {
	var fds []int
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	for range filesNeeded {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EMFILE || err == syscall.ENFILE {
			return fmt.Errorf("cannot open its files: %w", err)
		}
		if err != nil {
			return nil // no /dev/null to count with: the files themselves will tell
		}
		fds = append(fds, fd)
	}
	return nil
}
