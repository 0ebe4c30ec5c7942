//go:build !windows

package atomicfile

import (
	"errors"
	"syscall"
)

// DiskFull reports whether err says a write failed for want of room: the
// disk is full, of data or of files (ENOSPC), or the user's quota on it is
// spent (EDQUOT).
func DiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || QuotaSpent(err)
}

// QuotaSpent reports whether err says the user's quota on the disk is
// spent, the disk itself not full.
func QuotaSpent(err error) bool { return errors.Is(err, syscall.EDQUOT) }
