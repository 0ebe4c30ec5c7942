//go:build unix

package atomicfile

import (
	"math"
	"syscall"
)

// SizeLimit is this process's file size limit (ulimit -f) in bytes, and
// whether one is set: none is the largest the system can say, which is
// math.MaxInt64 or more.
func SizeLimit() (uint64, bool) { return limit(syscall.RLIMIT_FSIZE) }

// openLimit is how many files this process may have open (ulimit -n),
// and whether it could be told.
func openLimit() (uint64, bool) { return limit(syscall.RLIMIT_NOFILE) }

// limit is this process's limit on resource, and whether one is set.
func limit(resource int) (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(resource, &rl); err != nil || uint64(rl.Cur) >= math.MaxInt64 {
		return 0, false
	}
	return uint64(rl.Cur), true
}
