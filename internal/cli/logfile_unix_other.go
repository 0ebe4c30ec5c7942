//go:build unix && !linux

package cli

import "golang.org/x/sys/unix"

// openFolder opens each folder on the way to the --log-file to find the
// next name in it; there is no O_PATH here, so each must be readable: one
// that may be searched but not read (0711) fails, permission denied.
const openFolder = unix.O_RDONLY

// kernelLinks is false: there is no /proc of links here (/dev/fd/N is a
// device, not a link; see logWalk).
func kernelLinks(int) bool { return false }
