package testdisk

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Stalling is a folder (0700, empty) on a disk that, once stall is
// called, holds every change made there (a file written, renamed or
// removed) until resume is called, as a disk or a network file system
// that stops answering does, while reads of what is there still work: an
// ext4 file system on a loop device, frozen (fsfreeze). resume is called
// as the test ends too. It needs root, mkfs.ext4 and a loop device, as
// Thin does.
func Stalling(t testing.TB) (dir string, stall, resume func()) {
	t.Helper()
	mnt, _ := loopDisk(t, "8m", 32<<20, "mkfs.ext4", "-q", "-F")
	dir = filepath.Join(mnt, "tokens")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	frozen := false
	freeze := func(flag string) {
		t.Helper()
		if out, err := exec.Command("fsfreeze", flag, mnt).CombinedOutput(); err != nil {
			t.Fatalf("fsfreeze %s %s: %v: %s", flag, mnt, err, out)
		}
		frozen = flag == "-f"
	}
	t.Cleanup(func() { // before the disk is unmounted, which a frozen one holds up
		if frozen {
			freeze("-u")
		}
	})
	return dir, func() { freeze("-f") }, func() { freeze("-u") }
}

// UntilStalled returns once a thread of this process waits on a disk,
// in uninterruptible sleep (a change to a Stalling disk stalled), or
// reports false if over closes first: what was to stall ended without.
func UntilStalled(over <-chan struct{}) bool {
	for {
		select {
		case <-over:
			return false
		default:
		}
		if waitingOnDisk() {
			return true
		}
		runtime.Gosched()
	}
}

// waitingOnDisk reports whether a thread of this process is in
// uninterruptible sleep (state D in /proc), as one whose change to a
// frozen file system waits is.
func waitingOnDisk() bool {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return false
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command's name, in parentheses, may hold anything: the
		// state follows its last ')'.
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && strings.HasPrefix(string(stat[i+1:]), " D") {
			return true
		}
	}
	return false
}
