//go:build !linux

package cli

import "io"

// onReaderGone does nothing here: only Linux tells, without a write, that
// a pipe has lost its reader (POLLERR on its writing end; elsewhere poll
// reports that only to a writer, which --all is not until its last page).
func onReaderGone(io.Writer, func()) (stop func()) { return func() {} }
