//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import "golang.org/x/term"

// readPassword reads a line from the terminal fd with echo off. No signal
// stops the process here, so resumed is never called.
func readPassword(fd int, _ func()) ([]byte, error) { return term.ReadPassword(fd) }
