package filestore

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unicode"

	"golang.org/x/sys/unix"
)

// stoppedHolders looks now, in one reading of /proc/locks, at who holds
// the system's locks, and tells from that look which process holds the
// flock on the lock file p, if that process is stopped: its pid and name;
// 0 when the holder runs, or cannot be told (another pid namespace,
// another machine over NFS). /proc/locks names each FLOCK's holder by pid
// and the locked file's device and inode (/proc/PID/stat gives the
// holder's state and name): reading it costs as much as the system holds
// locks, so a caller asking of every environment reads it once.
func stoppedHolders() func(p string) (pid int, name string) {
	holders := map[string][]int{} // the FLOCK holders of each locked file
	if locks, err := os.Open("/proc/locks"); err == nil {
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
		locks.Close()
	}
	return func(p string) (int, string) {
		if len(holders) == 0 {
			return 0, ""
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return 0, ""
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return 0, ""
		}
		for _, pid := range holders[fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)] {
			if name, stopped := processStopped(pid); stopped {
				return pid, name
			}
		}
		return 0, ""
	}
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
