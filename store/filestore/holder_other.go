//go:build !linux

package filestore

// stoppedHolders tells of no holder: only Linux tells a lock's holder
// (/proc/locks).
func stoppedHolders() func(string) (pid int, name string) {
	return func(string) (int, string) { return 0, "" }
}
