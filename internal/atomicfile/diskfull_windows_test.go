package atomicfile_test

import (
	"fmt"
	"io/fs"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
)

// TestDiskFullKnowsWindowsWords: Windows says a disk is full, or a quota
// spent, in words of its own, which Unix's ENOSPC and EDQUOT do not match:
// a full disk there was said as an unknown failure, with no step to take.
func TestDiskFullKnowsWindowsWords(t *testing.T) {
	for _, errno := range []error{windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL, windows.ERROR_DISK_QUOTA_EXCEEDED} {
		err := fmt.Errorf("save: %w", &fs.PathError{Op: "write", Path: `C:\tokens\sandbox.json`, Err: errno})
		if !atomicfile.DiskFull(err) {
			t.Errorf("%v: not said to be a full disk", err)
		}
	}
	if err := (&fs.PathError{Op: "open", Path: `C:\tokens`, Err: windows.ERROR_ACCESS_DENIED}); atomicfile.DiskFull(err) {
		t.Errorf("%v: said to be a full disk", err)
	}
}
