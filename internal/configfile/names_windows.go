package configfile

import (
	"io/fs"
	"os"
	"syscall"
)

// NamesOf is how many names (hard links) the file at path has. Windows'
// file information from os.Stat counts none, so it is asked of the file
// itself: there `mklink /H` makes the links a dotfile setup uses, where a
// symbolic link needs an administrator or Developer Mode. 1 when it cannot
// be told.
func NamesOf(path string, _ fs.FileInfo) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 1
	}
	defer f.Close()
	var d syscall.ByHandleFileInformation
	if err := syscall.GetFileInformationByHandle(syscall.Handle(f.Fd()), &d); err != nil {
		return 1
	}
	return uint64(d.NumberOfLinks)
}
