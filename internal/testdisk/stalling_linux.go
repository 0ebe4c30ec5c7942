package testdisk

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
// in uninterruptible sleep (a change to a Stalling disk stalled), at two
// readings stallReading apart, which a brief write elsewhere (an fsync)
// is not; or reports false if over closes first: what was to stall ended
// without.
func UntilStalled(over <-chan struct{}) bool {
	tick := time.NewTicker(stallReading)
	defer tick.Stop()
	var before map[string]bool
	for {
		waiting := waitingOnDisk()
		for task := range waiting {
			if before[task] {
				return true
			}
		}
		before = waiting
		select {
		case <-over:
			return false
		case <-tick.C:
		}
	}
}

// stallReading is how far apart UntilStalled reads the threads' states.
const stallReading = 25 * time.Millisecond

// waitingOnDisk is the threads of this process in uninterruptible sleep
// (state D in /proc), as one whose change to a frozen file system waits
// is.
func waitingOnDisk() map[string]bool {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	waiting := map[string]bool{}
	for _, task := range tasks {
		stat, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command's name, in parentheses, may hold anything: the
		// state follows its last ')'.
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && strings.HasPrefix(string(stat[i+1:]), " D") {
			waiting[task.Name()] = true
		}
	}
	return waiting
}
