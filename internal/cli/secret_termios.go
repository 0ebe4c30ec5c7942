//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import (
	"errors"
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// hush turns echo off on the terminal fd, for readHushed, until restore
// puts the terminal's settings back; it is done before the read begins,
// so that no signal in between leaves echo off for the shell. Continued
// after a stop (Ctrl-Z, fg), when the shell has put its own settings (echo
// on) back on the terminal, it turns echo off again before calling
// resumed, which asks again; a continuation in the background (bg) or that
// finds echo still off asks nothing (after Ctrl-Z, bg, fg, those of bg and fg both came to be
// acted on in the foreground, and the question was printed twice).
func hush(fd int, resumed func()) (restore func(), err error) {
	was, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, err
	}
	quiet := *was
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &quiet); err != nil {
		return nil, err
	}
	continued := make(chan os.Signal, 1)
	signal.Notify(continued, unix.SIGCONT)
	done, quieting := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(quieting)
		for {
			select {
			case <-continued:
				if background(fd) {
					break // bg: the terminal is the shell's; fg continues it again
				}
				if now, err := unix.IoctlGetTermios(fd, ioctlGetTermios); err == nil && now.Lflag&unix.ECHO == 0 {
					break // hushed still: a continuation told twice
				}
				if unix.IoctlSetTermios(fd, ioctlSetTermios, &quiet) == nil {
					resumed()
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(continued)
		close(done)
		<-quieting // no continuation turns echo off once it is put back
		unix.IoctlSetTermios(fd, ioctlSetTermios, was)
	}, nil
}

// background reports whether the process is in the background of the
// terminal fd, its controlling terminal: continued by bg, not fg. Setting
// the terminal from there stops the process (SIGTTOU), unless a shell or
// supervisor ignores that signal: then echo went off at the person's
// prompt. A terminal that is not the process's own has no foreground to
// be out of.
func background(fd int) bool {
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pgrp != unix.Getpgrp()
}

// readHushed reads a line from the terminal fd, hushed, as
// term.ReadPassword does, but tells the input ending (Ctrl-D on an empty
// line), which term.ReadPassword reads as nothing, again and again, for
// ever at full speed: init's client secret question hung.
func readHushed(fd int) ([]byte, error) {
	var line []byte
	var b [1]byte // a byte at a time: what follows the line is the next question's
	for {
		n, err := unix.Read(fd, b[:])
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return nil, err
		case n == 0 && !term.IsTerminal(fd):
			return nil, unix.EIO // the terminal closed before the read began
		case n == 0 && len(line) == 0:
			return nil, io.EOF
		case n == 0, b[0] == '\n':
			return line, nil
		default:
			line = append(line, b[0])
		}
	}
}
