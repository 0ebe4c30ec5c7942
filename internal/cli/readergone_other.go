//go:build !linux

package cli

import "io"

// onReaderGone does nothing here: a reader gone is found by the first
// write to its pipe, as it always was. (Linux marks the pipe's writing end
// POLLERR; macOS and the BSDs can tell too, kqueue's EVFILT_WRITE setting
// EV_EOF, but nothing here watches for it.)
func onReaderGone(io.Writer, func()) (stop func()) { return func() {} }
