//go:build !unix

package atomicfile

// sizeLimit is none where the system sets no file size limit per process.
func sizeLimit() (uint64, bool) { return 0, false }

// openLimit is none where the system has no ulimit -n to raise.
func openLimit() (uint64, bool) { return 0, false }
