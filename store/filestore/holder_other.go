//go:build !linux

package filestore

// stoppedHolder is "": only Linux tells a lock's holder (/proc/locks).
func stoppedHolder(string) string { return "" }

// stoppedHolders is stoppedHolder for any number of lock files.
func stoppedHolders() func(string) string { return stoppedHolder }
