//go:build unix

package cli

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

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

// terminalInput is standard input f: at a terminal (tty), one whose reads
// fail with errHungUp once the terminal has closed.
func terminalInput(f *os.File, tty bool) io.Reader {
	if !tty {
		return f
	}
	return terminalIn{f}
}

// terminalIn is standard input at a terminal (see hungUp).
type terminalIn struct{ f *os.File }

// A read under way when the terminal closes fails with EIO; one begun
// after it ends as if the input had (EOF), which a person's Ctrl-D does
// too: the terminal, gone, tells the two apart.
func (t terminalIn) Read(b []byte) (int, error) {
	n, err := t.f.Read(b)
	if err == io.EOF && !term.IsTerminal(int(t.f.Fd())) {
		err = errHungUp // not io.EOF: no "the input ended" of a person's
	}
	return n, terminalReadErr(int(t.f.Fd()), err)
}

// Fd is the terminal's descriptor, for reading a secret without echo.
func (t terminalIn) Fd() uintptr { return t.f.Fd() }

// controllingTerminal opens the terminal of the process's session when
// standard input is that terminal; an error when the session has none
// (setsid, cron, a service) or stdin is another one (a program driving
// freshtoken through a pseudo-terminal it did not make the session's,
// as a test harness does), whose reader waits for the question there.
func controllingTerminal() (*os.File, error) {
	if _, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err != nil { // tcgetpgrp: ENOTTY unless fd 0 is the session's terminal
		return nil, err
	}
	return os.OpenFile("/dev/tty", os.O_RDWR, 0)
}
