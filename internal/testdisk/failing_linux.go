package testdisk

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// Failing is a folder (0700, empty) on a disk that, once fail is called,
// fails every write as a dying disk does: what is written is taken, and
// its sync fails with EIO, while reads of what is there still work. It is
// an ext4 file system on a loop device whose image, a file in memory, is
// then sealed against writes (F_SEAL_WRITE), so the loop device's writes
// fail. It needs root, mkfs.ext4 and a loop device, as Thin does.
func Failing(t testing.TB) (dir string, fail func()) {
	t.Helper()
	testenv.NeedRoot(t, "a disk that fails")
	fd, err := unix.MemfdCreate("testdisk", unix.MFD_ALLOW_SEALING|unix.MFD_CLOEXEC)
	if err != nil {
		testenv.Missing(t, "memfd_create: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Ftruncate(fd, 32<<20); err != nil {
		t.Fatal(err)
	}
	image := "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(fd)
	out, err := exec.Command("losetup", "--find", "--show", image).CombinedOutput()
	if err != nil {
		testenv.Missing(t, "losetup: %v: %s", err, out)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", loop).Run() })
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", loop).CombinedOutput(); err != nil {
		testenv.Missing(t, "mkfs.ext4: %v: %s", err, out)
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", loop, mnt).CombinedOutput(); err != nil {
		testenv.Missing(t, "mount %s: %v: %s", loop, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() }) // lazily, as Thin's; before the loop device is let go, which it then is once unused
	dir = filepath.Join(mnt, "tokens")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sync", "-f", dir).CombinedOutput(); err != nil { // the folder in the image before it fails
		t.Fatalf("sync -f %s: %v: %s", dir, err, out)
	}
	return dir, func() {
		t.Helper()
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_GROW|unix.F_SEAL_SHRINK); err != nil {
			t.Fatalf("sealing the disk's image: %v", err)
		}
	}
}
