package filestamp

import (
	"os"
	"syscall"
	"time"
)

// changeTime is when fi's file last changed in any way, its content
// written in place under a time set back included.
func changeTime(fi os.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Unix())
	}
	return time.Time{}
}
