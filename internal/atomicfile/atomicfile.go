// Package atomicfile replaces a file so that a reader sees either the old
// content or the new, never a mix, and so that the new content survives a
// crash or power loss once Write returns: a temp file in the same folder,
// written and synced, then renamed over the file, then the folder synced.
package atomicfile

import (
	"crypto/rand"
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
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := o.Sync(tmp); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
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

// CheckRoom reports why a Write of size bytes to path would fail for want
// of room, nil if it has room now: a full disk (see DiskFull) is found
// before work that the failed write would waste (a person's answers to
// questions). It writes a temp file of that size beside path, named as
// Write's are, and removes it; other failures are left to the Write to
// meet. The bytes are random, as a file system that compresses keeps
// zeros in no space.
func CheckRoom(path string, size int64) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return spaceOnly(err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	noise := make([]byte, size)
	rand.Read(noise)
	_, err = tmp.Write(noise)
	return spaceOnly(err)
}

// FreeSome says what to free on the full disk holding path (or the
// nearest folder above it that exists), where (" there", or ""): "free
// some space", or, where the disk has room left but for no more files
// (every inode taken, which `df -h` does not show), "remove some files".
func FreeSome(path, where string) string {
	for _, err := os.Stat(path); err != nil && path != filepath.Dir(path); _, err = os.Stat(path) {
		path = filepath.Dir(path)
	}
	if outOfFiles(path) {
		return "remove some files" + where + " (every inode on that disk is taken: see `df -i`)"
	}
	return "free some space" + where
}

// spaceOnly is err if it says the disk is full, else nil.
func spaceOnly(err error) error {
	if DiskFull(err) {
		return err
	}
	return nil
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
