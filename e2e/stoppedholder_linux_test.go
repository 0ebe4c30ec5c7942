package e2e_test

import (
	"fmt"
	"path/filepath"
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
			holder := lockHolder(t, w, g)
			if !stopAfterTold {
				stopProcess(t, holder.cmd.Process)
			}
			run := w.watch("token", "--force")
			if stopAfterTold {
				run.waitSaid(t, "waiting for the renewal lock of dev: another process or machine is renewing it")
				stopProcess(t, holder.cmd.Process)
			}
			namesStoppedThenEnds(t, "", holder, g, run)
		})
	}
}

// TestStoppedLockHolderIsNamedToStoreMigrate: `store migrate`, which takes
// each environment's lock itself, names a stopped holder as renewals do.
func TestStoppedLockHolderIsNamedToStoreMigrate(t *testing.T) {
	w, g := strictWorld(t)
	holder := lockHolder(t, w, g)
	stopProcess(t, holder.cmd.Process)
	run := w.watch("store", "migrate", "--to", "file://"+filepath.Join(t.TempDir(), "moved"))
	namesStoppedThenEnds(t, "dev: ", holder, g, run)
}

// lockHolder starts a `token --force` and returns once it holds the
// renewal lock, its refresh held by g. It is resumed, and g opened, as the
// test ends, before the world's cleanups: its provider ends once the held
// refresh does.
func lockHolder(t *testing.T, w *world, g *gate) *watched {
	t.Helper()
	holder := w.watch("token", "--force")
	g.wait(t)
	t.Cleanup(func() {
		holder.cmd.Process.Signal(syscall.SIGCONT)
		g.open()
	})
	return holder
}

// namesStoppedThenEnds checks that run, waiting for the lock that the
// stopped holder holds, names it (its line starting with prefix), then
// resumes the holder, lets its refresh go, and checks that both end well.
func namesStoppedThenEnds(t *testing.T, prefix string, holder *watched, g *gate, run *watched) {
	t.Helper()
	pid := holder.cmd.Process.Pid
	run.waitSaid(t, fmt.Sprintf("%swaiting for the renewal lock of dev: process %d (freshtoken) holds it and is stopped (Ctrl-Z?): resume it (`fg`, or `kill -CONT %d`) or end it", prefix, pid, pid))
	holder.cmd.Process.Signal(syscall.SIGCONT)
	g.open()
	holder.waitExit(t, 0)
	run.waitExit(t, 0)
}
