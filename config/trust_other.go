//go:build !unix

package config

import (
	"fmt"
	"io/fs"
)

// enforcesModes is false where Unix file modes are not what guards a file
// (Windows uses ACLs, which are not checked).
const enforcesModes = false

const openNonblocking = 0

func checkFile(string, fs.FileInfo) error { return nil }

func checkPrivateFile(string, fs.FileInfo) string { return "" }

func checkAuthorityFile(string, fs.FileInfo) string { return "" }

func checkTokenFileFolder(string, fs.FileInfo) string { return "" }

func rootWritingForAnother(string) string { return "" }

// makeWritable says how a person makes the read-only file at path theirs
// to write again.
func makeWritable(path string) string {
	return fmt.Sprintf("clear its read-only attribute (`attrib -r \"%s\"`)", path)
}

// linkInstead says how a person makes another name of the file at path a
// symbolic link to it.
func linkInstead(path string) string {
	return fmt.Sprintf("`mklink OTHER-NAME \"%s\"`, in Developer Mode or as an administrator", path)
}
