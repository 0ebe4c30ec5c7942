// Package testdisk gives tests a small disk of their own to fill, so that
// what happens when the disk is full can be tested for real.
package testdisk

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// Small mounts a tmpfs of size (such as "256k") for the test's lifetime and
// returns a folder path on it, not yet created. It needs root: elsewhere
// the test is skipped, and under CI (which runs as root) a failure to mount
// fails the test.
func Small(t testing.TB, size string) string {
	t.Helper()
	return mount(t, "size="+size)
}

// SmallFolder is Small's folder, made (0700, empty).
func SmallFolder(t testing.TB, size string) string {
	t.Helper()
	dir := Small(t, size)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mount mounts a tmpfs with opts, as Small does, and returns a folder path
// on it, not yet created.
func mount(t testing.TB, opts string) string {
	t.Helper()
	testenv.NeedRoot(t, "mounting a small disk")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts+",mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		testenv.Missing(t, "mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return filepath.Join(mnt, "tokens")
}

// NoExec is a folder (0700, empty) on a disk of its own mounted noexec,
// from which no program runs, as /tmp is on hardened machines. It needs
// root, as Small does.
func NoExec(t testing.TB) string {
	t.Helper()
	dir := mount(t, "size=256k,noexec")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// NoFilesLeft is a folder (0700, empty) on a disk of its own with room
// for data but for no new file: every inode is taken, so creating one (a
// lock file) fails with ENOSPC, as on a disk full to its last block or
// inode. It needs root, as Small does.
func NoFilesLeft(t testing.TB) string {
	t.Helper()
	dir := mount(t, "size=256k,nr_inodes=16")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	FillFiles(t, filepath.Dir(dir))
	return dir
}

// FilesLeft is NoFilesLeft with room for n new files (a log-in's record,
// lock, reserve and temp file), for a test to fill with FillFiles later.
func FilesLeft(t testing.TB, n int) string {
	t.Helper()
	dir := NoFilesLeft(t)
	for i := range n {
		if err := os.Remove(filepath.Join(filepath.Dir(dir), "filler-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// FillFiles takes every inode left on dir's disk with empty files in dir
// (filler-N), so that creating a file there fails with ENOSPC.
func FillFiles(t testing.TB, dir string) {
	t.Helper()
	for i := 0; ; i++ {
		f, err := os.OpenFile(filepath.Join(dir, "filler-"+strconv.Itoa(i)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case errors.Is(err, syscall.ENOSPC):
			return
		case errors.Is(err, os.ErrExist):
			continue
		case err != nil:
			t.Fatal(err)
		}
		f.Close()
	}
}

// Thin is a folder (0700, empty) on a disk that takes writes it has no
// room for and fails them only as they are synced (ENOSPC from fsync), as
// thin-provisioned storage does, and as network and FUSE file systems
// (NFS) do at the sync or the close: an ext4 file system on a loop device
// whose image, on a tmpfs of its own, has no room left to grow. Its own
// free space, which `df` shows and a write checks, is plenty. It needs
// root, mkfs.ext4 and a loop device: elsewhere the test is skipped, as
// Small's is.
func Thin(t testing.TB) string {
	t.Helper()
	mnt, img := loopDisk(t, "8m", 32<<20, "mkfs.ext4", "-q", "-F")
	dir := filepath.Join(mnt, "tokens")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sync", "-f", dir).CombinedOutput(); err != nil { // its own blocks in the image before it is full
		t.Fatalf("sync -f %s: %v: %s", dir, err, out)
	}
	Fill(t, img)
	return dir
}

// loopDisk mounts, for the test's lifetime, a file system that mkfs (a
// command, given the image's path last) makes in a sparse image of
// imageSize bytes, on a tmpfs of tmpfsSize of its own, through a loop
// device; it returns the mount point and the image. It needs root, the
// mkfs command and a loop device: elsewhere the test is skipped, as
// Small's is.
func loopDisk(t testing.TB, tmpfsSize string, imageSize int64, mkfs ...string) (mnt, img string) {
	t.Helper()
	backing := filepath.Dir(mount(t, "size="+tmpfsSize))
	// Unmounted lazily, the file systems leave at once, whatever still
	// holds them (the image, while the loop device lets go of it); a
	// plain umount was refused as busy now and then.
	t.Cleanup(func() { exec.Command("umount", "-l", backing).Run() })
	img = filepath.Join(backing, "disk.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	err = f.Truncate(imageSize) // sparse: its blocks take room as they are written
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs[0], append(mkfs[1:], img)...).CombinedOutput(); err != nil {
		testenv.Missing(t, "%s: %v: %s", mkfs[0], err, out)
	}
	mnt = t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		testenv.Missing(t, "mount a loop device: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() }) // before the tmpfs's; the loop device goes with it
	return mnt, img
}

// SmallFile is Small with the folder made (0700), holding a file of that
// name with content (0600), whose path it returns.
func SmallFile(t testing.TB, size, name string, content []byte) string {
	t.Helper()
	dir := Small(t, size)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Fill writes a file beside dir until the disk is full (or the quota dir
// is under spent), and returns a function that removes it.
func Fill(t testing.TB, dir string) (free func()) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(dir), "filler")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) {
				t.Fatal(err)
			}
			return func() { os.Remove(f.Name()) }
		}
	}
}

// ReadOnly makes the folder dir, on a disk of Small's, read-only until
// writable is called or the test ends: writes in it fail with EROFS, as on
// a disk the system remounted read-only after errors. It mounts a read-only
// view of dir over dir, which works while a process holds a file in it open
// for writing, as a renewer holds its lock file (a read-only remount of the
// disk itself is then refused as busy).
func ReadOnly(t testing.TB, dir string) (writable func()) {
	t.Helper()
	mount := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			t.Fatalf("mount %v: %v: %s", args, err, out)
		}
	}
	mount("--bind", dir, dir)
	writable = sync.OnceFunc(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	t.Cleanup(writable)
	mount("-o", "remount,bind,ro", dir)
	return writable
}

// BindMount is another path to the folder dir, a bind mount of it, as a
// container's volume or a second mount of one disk is: the same folder,
// which no path comparison tells. It needs root.
func BindMount(t testing.TB, dir string) string {
	t.Helper()
	testenv.NeedRoot(t, "a bind mount")
	other := t.TempDir()
	if out, err := exec.Command("mount", "--bind", dir, other).CombinedOutput(); err != nil {
		testenv.Missing(t, "mount --bind: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", other).Run() })
	return other
}

// AppendOnly makes the file at path, on a disk of Small's, one that may
// only be appended to (chattr +a), as some keep their logs: it cannot be
// cut short. It needs root, as Small does.
func AppendOnly(t testing.TB, path string) {
	t.Helper()
	testenv.NeedRoot(t, "making a file append-only")
	if out, err := exec.Command("chattr", "+a", path).CombinedOutput(); err != nil {
		testenv.Missing(t, "chattr +a: %v: %s", err, out)
	}
}

// Quota is a folder (0700, empty) on a disk with room to spare, under a
// quota of 256 KiB, for a test to spend with Fill: a write there then
// fails with EDQUOT, as where a user's disk quota is spent. It is a btrfs
// subvolume with a quota group limit, on a loop device. It needs root,
// mkfs.btrfs and a loop device, as Thin does.
func Quota(t testing.TB) string {
	t.Helper()
	mnt, _ := loopDisk(t, "32m", 128<<20, "mkfs.btrfs", "-q", "-f") // 128 MiB: btrfs's smallest, of which it writes little
	sub := filepath.Join(mnt, "quota")
	for _, args := range [][]string{{"quota", "enable", mnt}, {"subvolume", "create", sub}, {"qgroup", "limit", "256k", sub}} {
		if out, err := exec.Command("btrfs", args...).CombinedOutput(); err != nil {
			t.Fatalf("btrfs %v: %v: %s", args, err, out)
		}
	}
	dir := filepath.Join(sub, "tokens")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}
