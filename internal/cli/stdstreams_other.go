//go:build !unix

package cli

import (
	"errors"
	"io"
	"os"
)

// outputFile is f: only Unix ends a process for writing to a pipe with no
// reader.
func outputFile(f *os.File) *os.File { return f }

// terminalInput is f: only Unix tells of a closed terminal by EIO.
func terminalInput(f *os.File, tty bool) io.Reader { return f }

// controllingTerminal is none: Windows asks on stderr, as it always did.
func controllingTerminal() (*os.File, error) { return nil, errors.ErrUnsupported }
