//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import "golang.org/x/term"

// hush keeps the terminal fd's settings for restore to put back;
// readHushed turns echo off itself. No signal stops the process here, so
// resumed is never called.
func hush(fd int, _ func()) (restore func(), err error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	return func() { term.Restore(fd, state) }, nil
}

// readHushed reads a line from the terminal fd with echo off.
func readHushed(fd int) ([]byte, error) { return term.ReadPassword(fd) }

// background reports false: no job is stopped for reading its terminal
// here.
func background(int) bool { return false }
