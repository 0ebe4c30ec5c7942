//go:build !linux

package filestore

// stoppedHolder is "": only Linux tells a lock's holder (/proc/locks).
func stoppedHolder(string) string { return "" }
