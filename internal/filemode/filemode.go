// Package filemode shows a file's mode as chmod and ls know it.
package filemode

import "io/fs"

// Octal is m's permission bits with its setuid, setgid and sticky bits,
// as chmod takes them and ls shows them (/tmp: 01777), for a message to
// print with %04o. fs.FileMode keeps those three bits apart from the
// permissions, so m.Perm() alone showed /tmp as 0777, a folder any user
// may empty, which it is not.
func Octal(m fs.FileMode) uint32 {
	o := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		o |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		o |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		o |= 0o1000
	}
	return o
}
