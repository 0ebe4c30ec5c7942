package cli

import "golang.org/x/sys/unix"

// openFolder opens the --log-file's folder only to find the file in it:
// a folder one may search but not list (0711) is a place for it too.
const openFolder = unix.O_PATH

// kernelLinks reports whether the links in the folder dfd are the
// kernel's own, /proc's (see openLogAt).
func kernelLinks(dfd int) bool {
	var fs unix.Statfs_t
	return unix.Fstatfs(dfd, &fs) == nil && fs.Type == unix.PROC_SUPER_MAGIC
}
