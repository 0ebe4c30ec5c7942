package filestore_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestStuckHoldersReadTheLockListOnlyForAHeldLock: the look at who holds
// the renewal locks (the status page's, every 2 s, and `freshtoken
// status`) reads /proc/locks only once a lock file asked about is held. The
// kernel walks its whole list of locks again for each page of it read, so
// any user holding many locks made each look cost the square of them
// (95,000 flocks: 7 s a look). Here 8,000 POSIX locks of the test's own,
// each a line of /proc/locks, take dozens of reads to read through; the
// look at a lock file no one holds makes none of them, and one held is
// still looked up, in one reading for all those held.
func TestStuckHoldersReadTheLockListOnlyForAHeldLock(t *testing.T) {
	dir := t.TempDir()
	crowd, err := os.Create(filepath.Join(dir, "crowd"))
	if err != nil {
		t.Fatal(err)
	}
	defer crowd.Close()
	for i := range 8000 { // every other byte: locks that do not merge
		lk := syscall.Flock_t{Type: syscall.F_WRLCK, Start: int64(2 * i), Len: 1}
		if err := syscall.FcntlFlock(crowd.Fd(), syscall.F_SETLK, &lk); err != nil {
			t.Fatal(err)
		}
	}

	s := filestore.New(filepath.Join(dir, "tokens"))
	unlock, err := s.Lock(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	unlock() // its lock file stays, held by no one

	before := readCalls(t)
	if got := s.StuckHolders()("dev"); got != "" {
		t.Errorf("a lock no one holds: %q", got)
	}
	if n := readCalls(t) - before; n > 10 {
		t.Errorf("the look at a lock no one holds made %d reads: it read the system's list of locks", n)
	}

	// Held, it is looked up in the list: by this process, which runs, so
	// no one is named.
	unlock, err = s.Lock(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	before = readCalls(t)
	if got := s.StuckHolders()("dev"); got != "" {
		t.Errorf("a lock its running holder holds: %q", got)
	}
	once := readCalls(t) - before
	if once <= 10 {
		t.Errorf("the look at a held lock made %d reads: it did not read the system's list of locks", once)
	}

	// Two held, one look at both (as a render of the page asks of every
	// environment) reads the list once, not once for each.
	unlockProd, err := s.Lock(context.Background(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	defer unlockProd()
	before = readCalls(t)
	look := s.StuckHolders()
	look("dev")
	look("prod")
	if n := readCalls(t) - before; n > once+once/2 {
		t.Errorf("one look at two held locks made %d reads, one lock's %d: it read the system's list of locks for each", n, once)
	}
}

// readCalls is how many read system calls this process has made.
func readCalls(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		t.Skip("no /proc/self/io to count reads by:", err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "syscr: "); ok {
			calls, err := strconv.Atoi(n)
			if err != nil {
				t.Fatal(err)
			}
			return calls
		}
	}
	t.Skip("/proc/self/io counts no reads")
	return 0
}
