package cli

import (
	"errors"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// onReaderGone calls gone, once, when the anonymous pipe out writes to
// loses its reader (`| true`, a pager quit before anything came), without
// waiting for a write to fail: Linux marks such a pipe's writing end
// POLLERR. Signals are caught from then on (pipeWatch.catchSignals), as
// after a failed write, so that one that ended the reader too still ends
// the process by it. It leaves alone output that is not such a pipe: a
// file, a terminal (whose hang-up is its SIGHUP's business), and a named
// pipe (mkfifo), whose reader may open it again, and then gets what is
// written after all. stop ends the watching, and returns once gone can no
// longer be called.
func onReaderGone(out io.Writer, gone func()) (stop func()) {
	f, ok := underlying(out).(*os.File)
	if !ok {
		return func() {}
	}
	fd := -1
	if rc, err := f.SyscallConn(); err == nil { // unlike Fd, leaves the file's mode as it is
		rc.Control(func(d uintptr) { fd = int(d) })
	}
	var fs unix.Statfs_t
	if fd < 0 || unix.Fstatfs(fd, &fs) != nil || fs.Type != unix.PIPEFS_MAGIC {
		return func() {}
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return func() {}
	}
	var done sync.WaitGroup
	done.Add(1)
	go func() {
		defer done.Done()
		fds := []unix.PollFd{{Fd: int32(fd)}, {Fd: int32(wake), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			switch {
			case errors.Is(err, unix.EINTR):
				continue
			case err != nil, fds[1].Revents != 0:
				return
			case fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0:
				if p, ok := out.(pipeWatch); ok {
					p.catchSignals()
				}
				gone()
				return
			case fds[0].Revents != 0: // POLLNVAL: nothing more to watch
				return
			}
		}
	}()
	return func() {
		unix.Write(wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		done.Wait()
		unix.Close(wake)
	}
}
