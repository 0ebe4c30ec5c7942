//go:build unix

package filestore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/freshtoken/freshtoken/store"
)

// noFollow makes an open fail on a symbolic link rather than follow it.
const noFollow = syscall.O_NOFOLLOW

// noBlock keeps an open of a FIFO planted in the store from waiting for a
// writer; it is then refused as not a regular file.
const noBlock = syscall.O_NONBLOCK

// owner is the uid fi belongs to.
func owner(fi fs.FileInfo) int { return int(fi.Sys().(*syscall.Stat_t).Uid) }

// foreignOwner reports whether fi belongs to a user other than this process's.
func foreignOwner(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) != os.Geteuid()
}

// allocated is how many bytes of disk the file fi describes holds.
func allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return 0
}

// unstored reports whether the disk holds the file fi describes in less
// than half its size: a sparse file, or zeros a compressing file system
// keeps in no space.
func unstored(fi fs.FileInfo) bool { return allocated(fi) < fi.Size()/2 }

// lockContent takes a lock on f's content: a shared one for a reader, which
// waits until ctx ends (saying so first, see store.Waiting), or an
// exclusive one for a writer over it in place, which waits for the readers
// to finish. Closing f releases it.
func lockContent(ctx context.Context, f *os.File, exclusive bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	flock := func(how int) (err error) {
		if cerr := rc.Control(func(fd uintptr) { err = syscall.Flock(int(fd), how) }); cerr != nil {
			return cerr
		}
		return err
	}
	told := false // store.Waiting
	for {
		var err error
		if exclusive {
			err = flock(syscall.LOCK_EX)
		} else {
			err = flock(syscall.LOCK_SH | syscall.LOCK_NB)
		}
		switch {
		case errors.Is(err, syscall.EINTR):
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return err
		default:
			if !told {
				store.Waiting(ctx)
				told = true
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
	}
}
