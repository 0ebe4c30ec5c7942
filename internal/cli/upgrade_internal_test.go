//go:build unix

package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// replaced is the path of a freshtoken whose file is replaced, once the
// watch has taken the first, by a script with body.
func replaced(t *testing.T, body string) (path string, replace func()) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "freshtoken")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho freshtoken old\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, func() {
		next := filepath.Join(dir, "next")
		if err := os.WriteFile(next, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(next, path); err != nil {
			t.Fatal(err)
		}
	}
}

// watched waits for the watch of ctx to stop the proxy for an upgrade.
func watched(t *testing.T, ctx context.Context, upgradedTo func() *upgraded) *upgraded {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the proxy was not stopped for the upgrade")
	}
	u := upgradedTo()
	if u == nil {
		t.Fatalf("the proxy was stopped, but not for an upgrade: %v", context.Cause(ctx))
	}
	return u
}

// refusedUpgrade watches path for an upgrade, has replace put the new
// file there, and waits for the log to say each of says: it returns the
// watch's context and what it upgraded to.
func refusedUpgrade(t *testing.T, path string, replace func(), says ...string) (context.Context, func() *upgraded) {
	t.Helper()
	logs := testenv.NewOutput()
	ctx, upgradedTo := watchUpgradeOf(t.Context(), path, slog.New(slog.NewTextHandler(logs, nil)), func(bool) bool { return true }, func() {})
	replace()
	testenv.WaitFor(t, fmt.Sprintf("the log to say %q", says), func() bool {
		for _, said := range says {
			if !strings.Contains(logs.String(), said) {
				return false
			}
		}
		return true
	})
	return ctx, upgradedTo
}

func shortUpgradeCheck(t *testing.T) {
	was := upgradeCheck
	upgradeCheck = 5 * time.Millisecond
	t.Cleanup(func() { upgradeCheck = was })
}

// TestUpgradeCheckEndedBySignalIsTriedAgain: the new freshtoken's
// `version` ended by a signal sent to it (a Ctrl-C or a hang-up sent to
// the whole job, a service manager stopping every process of the
// service, before this one acts on its own) says nothing of the file. It
// was taken for a file that does not start: the log said to reinstall
// freshtoken, and, were the proxy not stopping after all (the signal sent
// to the child alone), it went on with the old version until another
// upgrade.
func TestUpgradeCheckEndedBySignalIsTriedAgain(t *testing.T) {
	shortUpgradeCheck(t)
	path, replace := replaced(t, `if [ ! -e "$0.ran" ]; then : >"$0.ran"; kill -TERM $$; fi
echo freshtoken new
`)
	logs := testenv.NewOutput()
	ctx, upgradedTo := watchUpgradeOf(t.Context(), path, slog.New(slog.NewTextHandler(logs, nil)), func(bool) bool { return true }, func() {})
	replace()
	if u := watched(t, ctx, upgradedTo); u.path != path {
		t.Errorf("upgraded to %s; want %s", u.path, path)
	}
	if _, err := os.Stat(path + ".ran"); err != nil {
		t.Errorf("the first `version` never ran: %v", err)
	}
	if strings.Contains(logs.String(), "reinstall") {
		t.Errorf("the log says:\n%s", logs.String())
	}
}

// TestUpgradeStopsOnceLoginsAreStopped: the proxy stops for an upgrade
// only once it has closed itself to new log-ins (stopLogins), and, while
// one waits for its browser, forces that only after upgradeLoginLooks;
// forced, it stops once stopLogins says no log-in just begun holds it.
func TestUpgradeStopsOnceLoginsAreStopped(t *testing.T) {
	shortUpgradeCheck(t)
	path, replace := replaced(t, "echo freshtoken new\n")
	var (
		mu     sync.Mutex
		forced []bool
	)
	ctx, upgradedTo := watchUpgradeOf(t.Context(), path, slog.New(slog.DiscardHandler), func(force bool) bool {
		mu.Lock()
		defer mu.Unlock()
		forced = append(forced, force)
		// A log-in waits for its browser all along, and one begun just
		// before the first forced look holds two more.
		return force && len(forced) > upgradeLoginLooks+2
	}, func() { t.Error("log-ins were opened again, the upgrade going ahead") })
	replace()
	watched(t, ctx, upgradedTo)
	mu.Lock()
	defer mu.Unlock()
	if len(forced) != upgradeLoginLooks+3 || slices.Contains(forced[:upgradeLoginLooks], true) || slices.Contains(forced[upgradeLoginLooks:], false) {
		t.Errorf("log-ins were stopped %d times (forced: %v); want %d unforced tries, then three forced ones", len(forced), forced, upgradeLoginLooks)
	}
}

// TestUpgradeGivenUpOpensLoginsAgain: a forced restart that a log-in just
// begun holds (stopLogins closed log-ins, and waits for it) and that is
// then given up, the new file replaced by one that does not start, opens
// log-ins again: they stayed closed, and every Log in on the proxy's page
// was refused for a restart that never came, until the proxy was
// restarted by hand. A later upgrade is held anew by a log-in under way,
// not forced at its first look.
func TestUpgradeGivenUpOpensLoginsAgain(t *testing.T) {
	shortUpgradeCheck(t)
	path, replace := replaced(t, "echo freshtoken new\n")
	forced, opened := make(chan struct{}), make(chan struct{})
	var (
		forcedOnce sync.Once
		mu         sync.Mutex
		reopened   bool
		later      []bool // forced, at each look of the later upgrade
	)
	ctx, upgradedTo := watchUpgradeOf(t.Context(), path, slog.New(slog.DiscardHandler), func(force bool) bool {
		mu.Lock()
		defer mu.Unlock()
		if reopened {
			later = append(later, force)
			return true
		}
		if force {
			forcedOnce.Do(func() { close(forced) })
		}
		return false // a log-in waits for its browser, begun just before
	}, func() {
		mu.Lock()
		defer mu.Unlock()
		if !reopened {
			reopened = true
			close(opened)
		}
	})
	replace()
	select {
	case <-forced:
	case <-time.After(20 * time.Second):
		t.Fatal("the restart was never forced")
	}
	broken := filepath.Join(filepath.Dir(path), "broken")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(broken, path); err != nil {
		t.Fatal(err)
	}
	select {
	case <-opened:
	case <-time.After(20 * time.Second):
		t.Fatal("log-ins were not opened again once the upgrade was given up")
	}
	if ctx.Err() != nil || upgradedTo() != nil {
		t.Fatalf("the proxy was stopped for an upgrade given up: %v", context.Cause(ctx))
	}
	replace()
	watched(t, ctx, upgradedTo)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(later, []bool{false}) {
		t.Errorf("log-ins were stopped for the later upgrade as %v (forced or not); want once, unforced", later)
	}
}

// TestUpgradeCheckThatHangsRefusesTheFile: a new file whose `version`
// does not finish (a build that hangs as it starts) is refused, as one
// that fails: the log says it does not start. Killed at the end of the
// check's time, its SIGKILL was taken for a signal sent to it from
// outside, and the check was tried again at every look, for ever, each
// taking the whole time, with nothing but a debug line.
func TestUpgradeCheckThatHangsRefusesTheFile(t *testing.T) {
	shortUpgradeCheck(t)
	was := upgradeVersionTimeout
	upgradeVersionTimeout = 100 * time.Millisecond
	t.Cleanup(func() { upgradeVersionTimeout = was })
	// A child of its own holds its output open after it is killed.
	path, replace := replaced(t, "sleep 60 &\necho $! >\"$0.child\"\nwait\n")
	t.Cleanup(func() {
		if pid, err := os.ReadFile(path + ".child"); err == nil {
			exec.Command("kill", strings.TrimSpace(string(pid))).Run()
		}
	})
	ctx, upgradedTo := refusedUpgrade(t, path, replace, "the new file does not start", "did not finish within")
	if ctx.Err() != nil || upgradedTo() != nil {
		t.Errorf("the proxy was stopped for a new file that hangs: %v", context.Cause(ctx))
	}
}

// TestUpgradeCheckKilledAtEveryLookRefusesTheFile: a new file whose
// `version` is ended by a signal at two looks in a row (macOS killing a
// binary whose signature is broken, at every start, with SIGKILL) is
// refused, the log saying it does not start: a signal sent to the whole
// job, or by a service manager stopping the service, would have stopped
// this process by then. It was tried again at every look, for ever, with
// a debug line alone.
func TestUpgradeCheckKilledAtEveryLookRefusesTheFile(t *testing.T) {
	shortUpgradeCheck(t)
	path, replace := replaced(t, "kill -KILL $$\n")
	ctx, upgradedTo := refusedUpgrade(t, path, replace, "the new file does not start")
	if ctx.Err() != nil || upgradedTo() != nil {
		t.Errorf("the proxy was stopped for a new file killed at every start: %v", context.Cause(ctx))
	}
}

// TestUpgradeCheckCrashedRefusesTheFile: a new file whose `version`
// crashes (SIGSEGV, SIGBUS: a truncated file) is refused at the first
// look, though it would start at the next, unlike one a signal sent to it
// ended (see TestUpgradeCheckEndedBySignalIsTriedAgain).
func TestUpgradeCheckCrashedRefusesTheFile(t *testing.T) {
	for _, sig := range []string{"SEGV", "BUS"} {
		t.Run(sig, func(t *testing.T) {
			shortUpgradeCheck(t)
			path, replace := replaced(t, `if [ ! -e "$0.ran" ]; then : >"$0.ran"; kill -`+sig+` $$; fi
echo freshtoken new
`)
			ctx, upgradedTo := refusedUpgrade(t, path, replace, "the new file does not start")
			if ctx.Err() != nil || upgradedTo() != nil {
				t.Errorf("the proxy was stopped for a new file that crashed: %v", context.Cause(ctx))
			}
		})
	}
}
