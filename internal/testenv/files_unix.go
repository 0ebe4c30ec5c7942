//go:build unix

package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// ExhaustFiles lowers this process's limit on open files to 64 and opens
// files up to it, as a busy process runs out of them (EMFILE); release
// closes them and puts the limit back. Not for tests run in parallel.
func ExhaustFiles(t testing.TB) (release func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var held []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		held = append(held, f)
	}
	return func() {
		for _, f := range held {
			f.Close()
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Error(err)
		}
	}
}

// LimitFileSize sets this process's file size limit (ulimit -f) to n
// bytes for the rest of its life: for a copy of a test (RunAgain), as a
// write past it fails for every test the process runs.
func LimitFileSize(t testing.TB, n uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &rl); err != nil {
		t.Fatal(err)
	}
}

// HoldLocks takes n more flocks, on files of their own, until the test
// ends: a system holding many locks, for what reads its lock table.
func HoldLocks(t testing.TB, n int) {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
	}
}

// PassNoInheritedFiles keeps the files this test binary inherited beyond
// standard input, output and error (a runner's, a CI agent's) from the
// commands it starts, which begin, as from a shell, with those three and
// the files their test gives them: a test that counts the files a command
// may open (ulimit -n) counts right. Call it in TestMain, before the tests.
func PassNoInheritedFiles() {
	entries, err := os.ReadDir("/dev/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// AnotherGroup is a group other than the user's own that a folder may be
// given to: a group of the user's (a team's folder), or, as root, one root
// is not in, as /var/log is syslog's; -1 when there is none.
func AnotherGroup(t testing.TB) int {
	t.Helper()
	groups, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	group := -1
	for _, g := range groups {
		if g != os.Getegid() {
			group = g
		}
	}
	if group == -1 && os.Geteuid() == 0 {
		group = 65534
	}
	return group
}
