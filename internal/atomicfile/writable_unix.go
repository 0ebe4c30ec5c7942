//go:build unix

package atomicfile

import (
	"io/fs"
	"syscall"
)

// CanWriteIn reports why the user may not make a file or a folder in dir
// (a read-only disk, a folder of another user's), nil if they may: found
// without writing anything, before work that a failed write would waste.
func CanWriteIn(dir string) error {
	if err := syscall.Access(dir, 0o3); err != nil { // W_OK|X_OK
		return &fs.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return nil
}
