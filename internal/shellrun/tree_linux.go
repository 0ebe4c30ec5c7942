package shellrun

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// killTree ends the process pid and every process it started that has not
// ended (its children, theirs, ...): the shell's alone left a command that
// was not its last (`pass show`'s gpg, a pipeline) running on. Each is
// stopped (SIGSTOP) as it is found, so that none starts another unseen
// before all are killed.
func killTree(pid int) {
	tree := []int{pid}
	syscall.Kill(pid, syscall.SIGSTOP)
	for seen := 0; seen < len(tree); seen++ {
		for _, child := range children(tree[seen]) {
			syscall.Kill(child, syscall.SIGSTOP)
			tree = append(tree, child)
		}
	}
	for _, p := range tree {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// children are the processes whose parent is pid, as /proc has them.
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
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}
