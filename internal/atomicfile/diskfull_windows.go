package atomicfile

import (
	"errors"

	"golang.org/x/sys/windows"
)

// DiskFull reports whether err says a write failed for want of room: the
// disk is full (ERROR_DISK_FULL, or ERROR_HANDLE_DISK_FULL from a write to
// an open file), or the user's quota on it is spent
// (ERROR_DISK_QUOTA_EXCEEDED).
func DiskFull(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) || QuotaSpent(err)
}

// QuotaSpent reports whether err says the user's quota on the disk is
// spent, the disk itself not full.
func QuotaSpent(err error) bool { return errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED) }
