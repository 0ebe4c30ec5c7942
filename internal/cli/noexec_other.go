//go:build unix && !linux

package cli

// onNoExecMount: the mount's noexec flag is read on Linux alone.
func onNoExecMount(string) bool { return false }
