//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import "golang.org/x/term"

// readPassword reads a line from the terminal fd with echo off.
func readPassword(fd int) ([]byte, error) { return term.ReadPassword(fd) }
