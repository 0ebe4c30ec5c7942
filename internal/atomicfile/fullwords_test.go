//go:build !windows

package atomicfile_test

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
)

// TestFullWordsSayAQuotaSpent: a want of room met under a spent disk quota
// is told as the quota, which `df -h` does not show, wherever a full disk
// is told (the configuration, --log-file, store migrate, the keeper,
// demo, service, output): they said "is full (disk quota exceeded)".
func TestFullWordsSayAQuotaSpent(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}, "is full"},
		{fmt.Errorf("saving: %w", &fs.PathError{Op: "write", Path: "/x", Err: syscall.EDQUOT}), "has no room left under your disk quota"},
	} {
		if got := atomicfile.FullWords(c.err); got != c.want {
			t.Errorf("FullWords(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
