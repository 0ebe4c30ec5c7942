//go:build !unix

package cli

import "os"

// openLogFile opens the log file at path to append to it, made 0600 if it
// is new. Who may write a file or change a folder is told by its ACL here,
// not by mode bits and owners, so nothing more is checked.
func openLogFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}
