package cli

import "golang.org/x/sys/unix"

// openFolder opens each folder on the way to the --log-file only to find
// the next name in it: one that may be searched but not read (0711) is
// passed through, as the kernel would.
const openFolder = unix.O_PATH

// kernelLinks reports whether the links in the folder dfd are the
// kernel's own, /proc's (see logWalk).
func kernelLinks(dfd int) bool {
	var fs unix.Statfs_t
	return unix.Fstatfs(dfd, &fs) == nil && fs.Type == unix.PROC_SUPER_MAGIC
}
