//go:build unix && !linux

package e2e_test

import (
	"os/exec"
	"syscall"
)

// endedWithTests gives the command its attributes, to be added to, and no
// more: only Linux kills a process when the one that started it ends
// (PR_SET_PDEATHSIG).
func endedWithTests(c *exec.Cmd) { c.SysProcAttr = &syscall.SysProcAttr{} }
