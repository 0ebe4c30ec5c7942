//go:build !unix

package cli

import (
	"io"
	"io/fs"
	"os"
)

// outputFile is f: only Unix ends a process for writing to a pipe with no
// reader.
func outputFile(f *os.File) *os.File { return f }

// openNoWait is 0: named pipes that an open waits on are Unix's.
const openNoWait = 0

// openNoFollow is 0: who may change a folder is told by its ACL here.
const openNoFollow = 0

// untrustedLogPlace returns "": who may change a folder is told by its
// ACL here, not by its mode bits.
func untrustedLogPlace(string) (string, bool) { return "", false }

// untrustedLogFile returns "": who may write a file is told by its ACL
// here, not by its mode bits.
func untrustedLogFile(string, fs.FileInfo) string { return "" }

// terminalInput is f: only Unix tells of a closed terminal by EIO.
func terminalInput(f *os.File, tty bool) io.Reader { return f }
