//go:build !unix

package atomicfile

// SizeLimit is none where the system sets no file size limit per process.
func SizeLimit() (uint64, bool) { return 0, false }

// openLimit is none where the system has no ulimit -n to raise.
func openLimit() (uint64, bool) { return 0, false }
