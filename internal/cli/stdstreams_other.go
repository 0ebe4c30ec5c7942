//go:build !unix

package cli

import "os"

// outputFile is f: only Unix ends a process for writing to a pipe with no
// reader.
func outputFile(f *os.File) *os.File { return f }
