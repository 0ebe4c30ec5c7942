package shellrun

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// killTree ends the process p and every process it started that has not
// ended (its children, theirs, ...): the shell's alone left a command that
// was not its last (`pass show`'s gpg, a pipeline) running on. Each is
// stopped (SIGSTOP) as it is found, so that none starts another unseen
// before all are killed, and none of them can reap a child found: a pid
// found stays that process's until it is killed, so the signal cannot go
// to another process that has taken up a reused pid. They are killed the
// last found first, each before the parent that could reap it; p, the
// command's process, is signalled through its own handle (a pidfd), which
// a reaped process's reused pid does not reach. It returns p's error, as
// os.Process.Kill does (os.ErrProcessDone once p has been waited for).
func killTree(p *os.Process) error {
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return err // reaped: what it started is no longer its to find
	}
	tree := []int{p.Pid}
	if state, _, ok := stat(p.Pid); ok && state != "Z" && state != "X" { // a zombie's children have gone to init
		for seen := 0; seen < len(tree); seen++ {
			for _, child := range children(tree[seen]) {
				syscall.Kill(child, syscall.SIGSTOP)
				tree = append(tree, child)
			}
		}
	}
	for _, pid := range slices.Backward(tree[1:]) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return p.Kill()
}

// children are the processes whose parent is pid, as /proc has them, less
// the zombies (ended: their parent may reap them, and their pid be reused,
// at any time).
func children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var kids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid, ok := stat(p); ok && ppid == pid && state != "Z" && state != "X" {
			kids = append(kids, p)
		}
	}
	return kids
}

// stat is the state and the parent's pid of process pid, as /proc has them.
func stat(pid int) (state string, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return fields[0], ppid, err == nil
}
