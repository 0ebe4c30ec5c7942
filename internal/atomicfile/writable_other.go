//go:build !unix

package atomicfile

// CanWriteIn leaves it to the write itself to say where the user may not
// write.
func CanWriteIn(string) error { return nil }
