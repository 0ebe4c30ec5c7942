//go:build !linux && !darwin

package atomicfile

// outOfFiles is false where the system does not say how many files a disk
// has left.
func outOfFiles(string) bool { return false }
