package filestore

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unicode"

	"golang.org/x/sys/unix"
)

// stoppedHolders tells which process holds the flock on the lock file p,
// if that process is stopped: its pid and name; 0 when none holds it, the
// holder runs, or it cannot be told (another pid namespace, another
// machine over NFS). /proc/locks names each FLOCK's holder by pid and the
// locked file's device and inode (/proc/PID/stat gives the holder's state
// and name), but the kernel walks its whole list of the system's locks
// again for each page of it read, so reading it costs as the square of the
// locks the system holds, which any user sets: 95,000 flocks held by
// another user's processes made each reading take 7 s, and the proxy's
// status page, which asks every 2 s, and `freshtoken status` as slow. So
// it is read only once a lock file asked about is held by someone (see
// lockedByAnyone), and once for all those asked about, as a caller asking
// of every environment does.
func stoppedHolders() func(p string) (pid int, name string) {
	holders := sync.OnceValue(flockHolders)
	return func(p string) (int, string) {
		key, locked := lockedByAnyone(p)
		if !locked {
			return 0, ""
		}
		for _, pid := range holders()[key] {
			if name, stopped := processStopped(pid); stopped {
				return pid, name
			}
		}
		return 0, ""
	}
}

// lockedByAnyone reports whether some process holds a flock on the lock
// file p, trying for a shared one at once, let go as soon as it is had,
// and the file's device and inode as /proc/locks names them. A file that
// is not there, or is a link, is held by no one; one whose lock cannot be
// tried otherwise may be held. The shared lock, however brief, may make a
// renewer's first TryLock in Lock fail as if another renewal held the
// file: that renewer then polls once (lockPoll, 10 ms) and takes it, so
// asking costs a renewal at most that, and is no second holder.
func lockedByAnyone(p string) (key string, locked bool) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
	}
	return fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino), err != nil
}

// flockHolders reads /proc/locks for the FLOCK holders of each locked
// file, by the file's device and inode.
func flockHolders() map[string][]int {
	holders := map[string][]int{}
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return holders
	}
	defer locks.Close()
	lines := bufio.NewScanner(locks)
	for lines.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; a waiter's
		// line has "->" after the number.
		f := strings.Fields(lines.Text())
		if len(f) < 6 || f[1] != "FLOCK" {
			continue
		}
		if pid, err := strconv.Atoi(f[4]); err == nil && pid > 0 {
			holders[f[5]] = append(holders[f[5]], pid)
		}
	}
	return holders
}

// processStopped is process pid's name (its comm, which holds none of its
// arguments, shown printable) and whether it is stopped by a signal.
func processStopped(pid int) (name string, stopped bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	s := string(b)
	open, shut := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || shut < open {
		return "", false
	}
	state := strings.Fields(s[shut+1:])
	name = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s[open+1:shut])
	return name, len(state) > 0 && state[0] == "T"
}
