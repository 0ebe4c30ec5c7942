//go:build unix && !linux

package cli

import "golang.org/x/sys/unix"

// openFolder opens the --log-file's folder to find the file in it; there
// is no O_PATH here, so the folder must be readable.
const openFolder = unix.O_RDONLY

// kernelLinks is false: there is no /proc of links here (/dev/fd/N is a
// device, not a link; see openLogAt).
func kernelLinks(int) bool { return false }
