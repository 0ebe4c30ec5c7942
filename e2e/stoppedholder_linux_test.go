package e2e_test

import (
	"fmt"
	"syscall"
	"testing"
)

// TestStoppedLockHolderIsNamed: a `token` stopped (SIGSTOP; Ctrl-Z in a
// program that does not defer it) while it holds the renewal lock made
// every other renewal of the environment wait for ever, saying only that
// another process or machine was renewing, or the store was slow. The
// waiter now names the stopped process and how to resume it: stopped
// before the wait is told, or after.
func TestStoppedLockHolderIsNamed(t *testing.T) {
	for _, stopAfterTold := range []bool{false, true} {
		t.Run(fmt.Sprintf("stopped after the wait is told %v", stopAfterTold), func(t *testing.T) {
			w, g := strictWorld(t)
			holder := w.watch("token", "--force")
			g.wait(t) // it holds the lock, its refresh at the provider
			// Before the world's cleanups: its provider ends once the held refresh does.
			t.Cleanup(func() {
				holder.cmd.Process.Signal(syscall.SIGCONT)
				g.open()
			})
			if !stopAfterTold {
				stopProcess(t, holder.cmd.Process)
			}
			run := w.watch("token", "--force")
			if stopAfterTold {
				run.waitSaid(t, "waiting for the renewal lock of dev: another process or machine is renewing it")
				stopProcess(t, holder.cmd.Process)
			}
			pid := holder.cmd.Process.Pid
			run.waitSaid(t, fmt.Sprintf("waiting for the renewal lock of dev: process %d (freshtoken) holds it and is stopped (Ctrl-Z?): resume it (`fg`, or `kill -CONT %d`) or end it", pid, pid))
			holder.cmd.Process.Signal(syscall.SIGCONT)
			g.open()
			holder.waitExit(t, 0)
			run.waitExit(t, 0)
		})
	}
}
