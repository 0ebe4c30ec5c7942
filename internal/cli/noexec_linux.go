package cli

import "golang.org/x/sys/unix"

// onNoExecMount reports whether the file at path is on a file system
// mounted noexec, where execve refuses any program, as EACCES: the same
// "permission denied" as a file without its execute bits.
func onNoExecMount(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Flags&unix.ST_NOEXEC != 0
}
