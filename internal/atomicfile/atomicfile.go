// Package atomicfile replaces a file so that a reader sees either the old
// content or the new, never a mix, and so that the new content survives a
// crash or power loss once Write returns: a temp file in the same folder,
// written and synced, then renamed over the file, then the folder synced.
package atomicfile

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
)

// Options adjust Write. The zero value writes a file of mode 0600.
type Options struct {
	// Perm is the new file's mode (0600 when zero).
	Perm os.FileMode
	// TempPrefix names the temp file, which is the prefix and a random
	// suffix ("." + the file's name + ".tmp-" when empty), so that a writer
	// can find and remove the temp files of one that crashed.
	TempPrefix string
	// Check, if set, is given the temp file's path once its content is
	// durable; an error from it is returned as it is, and the file is then
	// left as it was.
	Check func(tmp string) error
	// Sync makes a file's content, or a folder's entries, durable
	// ((*os.File).Sync when nil). Tests watch it.
	Sync func(*os.File) error
}

// Write replaces path's content with data. On failure the file is as it
// was, and the temp file is gone. A folder that cannot be synced after the
// rename makes the new content less durable against power loss, not
// unwritten, so that is not a failure.
func Write(path string, data []byte, o Options) error {
	dir := filepath.Dir(path)
	if o.Perm == 0 {
		o.Perm = 0o600
	}
	if o.TempPrefix == "" {
		o.TempPrefix = "." + filepath.Base(path) + ".tmp-"
	}
	if o.Sync == nil {
		o.Sync = (*os.File).Sync
	}
	tmp, err := os.CreateTemp(dir, o.TempPrefix+"*")
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(o.Perm); err != nil {
		return err
	}
	if err := writeSynced(tmp, data, o.Sync); err != nil {
		return err
	}
	if o.Check != nil {
		if err := o.Check(tmp.Name()); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	committed = true
	SyncDir(dir, o.Sync)
	return nil
}

// FolderRoom is the room a new folder takes, for CheckRoom: a file of the
// disk's (an inode), and a block on most file systems.
const FolderRoom = 4 << 10

// CheckRoom reports why Writes beside path of the given sizes, each with
// its own file, would fail for want of room, nil if they have room now: a
// full disk (see DiskFull) is found before work that the failed write
// would waste (a person's answers to questions). It makes a temp file of
// each size beside path, named as Write's are, written, synced and closed
// as Write's are, and removes them: a disk that takes a write it has no
// room for and says so only when it is synced or closed (NFS, some FUSE
// file systems, thin-provisioned storage) is found too, and a disk with
// fewer files left than the sizes (its inodes) is full. Other failures
// are left to the Write to meet. The bytes are random, as a file system
// that compresses keeps zeros in no space.
func CheckRoom(path string, sizes ...int64) error {
	dir := filepath.Dir(path)
	for _, size := range sizes {
		tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
		if err != nil {
			return wantOfRoom(dir, err)
		}
		defer os.Remove(tmp.Name())
		noise := make([]byte, size)
		rand.Read(noise)
		if err := writeSynced(tmp, noise, (*os.File).Sync); err != nil {
			return wantOfRoom(dir, err)
		}
	}
	return nil
}

// wantOfRoom is err, a failure CheckRoom met in dir, if it says the disk
// is full, else nil. Met with every file of the disk taken (its inodes),
// some by the check's own files, which it frees as it returns, it is a
// *noFilesError, which FreeSome says as such.
func wantOfRoom(dir string, err error) error {
	switch {
	case !DiskFull(err):
		return nil
	case outOfFiles(dir):
		return &noFilesError{err}
	}
	return err
}

// noFilesError is a want of room met with every file of the disk taken.
type noFilesError struct{ err error }

func (e *noFilesError) Error() string { return e.err.Error() }
func (e *noFilesError) Unwrap() error { return e.err }

// writeSynced writes data to f, syncs it with sync and closes it, and
// returns the first failure: a disk that took data it has no room for says
// so at the sync or the close alone. f is closed either way.
func writeSynced(f *os.File, data []byte, sync func(*os.File) error) error {
	_, err := f.Write(data)
	if err == nil {
		err = sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// FullWords says what is wrong with the disk where err, a want of room (see
// DiskFull), was met, after "the disk": it "is full"; or, where the user's
// quota on it is spent, which `df -h` does not show, it "has no room left
// under your disk quota".
func FullWords(err error) string {
	if QuotaSpent(err) {
		return "has no room left under your disk quota"
	}
	return "is full"
}

// FreeSome says what to free, where (" there", or ""), for err, a want of
// room (see DiskFull) met on the disk holding path (or the nearest folder
// above it that exists): "free some space"; where the user's quota on the
// disk is spent, some of their own; where the disk has room left but for no
// more files (every inode taken, which `df -h` does not show), "remove some
// files", as where CheckRoom met that, though it freed the files it had
// taken as it returned.
func FreeSome(err error, path, where string) string {
	switch {
	case errors.As(err, new(*noFilesError)):
		return removeSomeFiles(where)
	case QuotaSpent(err):
		return "free some of your space" + where + " (your disk quota is spent; an administrator can raise it)"
	}
	for _, err := os.Stat(path); err != nil && path != filepath.Dir(path); _, err = os.Stat(path) {
		path = filepath.Dir(path)
	}
	if outOfFiles(path) {
		return removeSomeFiles(where)
	}
	return "free some space" + where
}

func removeSomeFiles(where string) string {
	return "remove some files" + where + " (every inode on that disk is taken: see `df -i`)"
}

// SyncDir makes dir's entries durable, with sync ((*os.File).Sync when
// nil): a rename or a removal in it survives power loss.
func SyncDir(dir string, sync func(*os.File) error) error {
	if sync == nil {
		sync = (*os.File).Sync
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return sync(d)
}
