//go:build linux || darwin

package atomicfile

import "golang.org/x/sys/unix"

// outOfFiles reports whether the disk holding path has no file left to
// give, every inode taken; false where it cannot tell, or where files are
// not counted (btrfs).
func outOfFiles(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Files > 0 && st.Ffree == 0
}
