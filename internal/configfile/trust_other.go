//go:build !unix

package configfile

import (
	"fmt"
	"io/fs"
)

// EnforcesModes is false where Unix file modes are not what guards a file
// (Windows uses ACLs, which are not checked).
const EnforcesModes = false

const OpenNonblocking = 0

func CheckFile(string, fs.FileInfo) error { return nil }

func CheckPrivateFile(string, fs.FileInfo) string { return "" }

func CheckAuthorityFile(string, fs.FileInfo) string { return "" }

func checkTokenFileFolder(string, fs.FileInfo) string { return "" }

func RootWritingForAnother(string) string { return "" }

func ForeignLink(string) string { return "" }

func FolderOthersCanChange(string) string { return "" }

func checkLinks(string, fs.FileInfo) string { return "" }

// MakeWritable says how a person makes the read-only file at path theirs
// to write again.
func MakeWritable(path string) string {
	return fmt.Sprintf("clear its read-only attribute (`attrib -r \"%s\"`)", path)
}

// LinkInstead says how a person makes another name of the file at path a
// symbolic link to it.
func LinkInstead(path string) string {
	return fmt.Sprintf("`mklink OTHER-NAME \"%s\"`, in Developer Mode or as an administrator", path)
}
