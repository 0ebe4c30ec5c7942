//go:build unix

package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/service"
)

// systemdRunning is a systemctl that runs script, a shell's, and the unit
// file of a service it manages, in a folder of the test's.
func systemdRunning(t *testing.T, script string) (systemctl, unit string) {
	t.Helper()
	dir := t.TempDir()
	systemctl, unit = filepath.Join(dir, "systemctl"), filepath.Join(dir, "freshtoken.service")
	if err := os.WriteFile(systemctl, []byte("#!/bin/sh\n"+script), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, []byte("[Unit]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return systemctl, unit
}

// TestServiceStatusStoppedByFreshtokensSignal: `service status` whose
// systemctl ends by freshtoken's own signal, seen end before freshtoken
// acted on it (a terminal's Ctrl-C reaching both), says which command was
// stopped, as it does when it acts first: it said "interrupted" alone.
func TestServiceStatusStoppedByFreshtokensSignal(t *testing.T) {
	systemctl, unit := systemdRunning(t, "kill -INT $$\n")
	f := testFactory()
	f.signalCame = func() syscall.Signal { return syscall.SIGINT } // on its way to freshtoken too
	err := serviceStatus(t.Context(), &serviceOptions{f: f}, &service.Plan{Path: unit, Status: []string{systemctl, "--user", "status"}})
	var ss *signalStopped
	want := "`" + systemctl + " --user status` was stopped before it answered"
	if !errors.As(err, &ss) || ss.msg != want || signalOf(err) != syscall.SIGINT {
		t.Fatalf("status: %v; want %q, ended by SIGINT", err, want)
	}
}

// TestServiceCommandEndedBySignal: a service manager's command ended by a
// signal is freshtoken's interruption, ending it by its own signal, when
// freshtoken got one too (a terminal's Ctrl-C to the job), and otherwise
// (a kill by hand) an error naming the signal that ends no process.
func TestServiceCommandEndedBySignal(t *testing.T) {
	systemctl, _ := systemdRunning(t, "kill -TERM $$\n")
	for _, own := range []syscall.Signal{syscall.SIGINT, 0} {
		f := testFactory()
		f.signalCame = func() syscall.Signal { return own }
		err := runAll(t.Context(), f, time.Minute, [][]string{{systemctl, "--user", "daemon-reload"}})
		want := "`" + systemctl + " --user daemon-reload` was stopped before it answered"
		if own == 0 {
			want = "`" + systemctl + " --user daemon-reload` was ended by a signal (terminated) sent to it, not to freshtoken"
		}
		if err == nil || err.Error() != want || signalOf(err) != own || stoppedBySignal(err) != (own != 0) {
			t.Errorf("freshtoken's signal %v: runAll: %v, ending it by %v; want %q", own, err, signalOf(err), want)
		}
	}
}

// TestServiceStatusWhoseSystemctlASignalEndedAlone: `service status` whose
// systemctl is ended by a signal freshtoken did not get (the OOM killer, a
// kill by hand) says so and to ask again, exit 2: it said, as for a user's
// systemd that cannot be reached, to run `loginctl enable-linger`, which
// changes nothing for a systemctl that was killed.
func TestServiceStatusWhoseSystemctlASignalEndedAlone(t *testing.T) {
	systemctl, unit := systemdRunning(t, "kill -KILL $$\n")
	f := testFactory()
	f.signalCame = func() syscall.Signal { return 0 }
	plan := &service.Plan{Path: unit, System: "systemd", Status: []string{systemctl, "--user", "status"}, NotRunning: 3,
		Manual: "run `freshtoken service install` again once your user's systemd runs (on a server without a desktop session: `loginctl enable-linger $USER`, then log in again)"}
	err := serviceStatus(t.Context(), &serviceOptions{f: f}, plan)
	want := "could not ask systemd whether it runs (`" + systemctl + " --user status` was ended by a signal (killed) sent to it, not to freshtoken); run `freshtoken service status` again"
	if err == nil || err.Error() != want || ExitCode(err) != 2 {
		t.Fatalf("status: %v (exit %d); want %q, exit 2", err, ExitCode(err), want)
	}
}

// TestServiceUninstallWhoseSystemctlASignalEndedAlone: `service uninstall`
// whose `systemctl disable` is ended by a signal freshtoken did not get
// (the OOM killer, a kill by hand) keeps the unit and says to run it
// again, exit 2: it said it could not stop the service and went on to
// remove the unit and reload systemd, with freshtoken's own handling of
// signals already given up (a Ctrl-C then ended it at once, untold), and
// a service perhaps still running with no unit left to stop it by.
func TestServiceUninstallWhoseSystemctlASignalEndedAlone(t *testing.T) {
	ran := filepath.Join(t.TempDir(), "ran")
	systemctl, unit := systemdRunning(t, "echo \"$*\" >> "+ran+"\ncase \"$*\" in *disable*) kill -KILL $$ ;; esac\n")
	f := testFactory()
	f.signalCame = func() syscall.Signal { return 0 }
	plan := &service.Plan{Path: unit, System: "systemd",
		Stop:   [][]string{{systemctl, "--user", "disable", "--now", "freshtoken.service"}},
		Forget: [][]string{{systemctl, "--user", "daemon-reload"}}}
	err := uninstallService(t.Context(), &serviceOptions{f: f}, plan)
	want := "`" + systemctl + " --user disable --now freshtoken.service` was ended by a signal (killed) sent to it, not to freshtoken; " + unit + " is kept: run `freshtoken service uninstall` again to finish"
	if err == nil || err.Error() != want || ExitCode(err) != 2 {
		t.Fatalf("uninstall: %v (exit %d); want %q, exit 2", err, ExitCode(err), want)
	}
	if _, err := os.Stat(unit); err != nil {
		t.Errorf("the unit is gone: %v", err)
	}
	if b, _ := os.ReadFile(ran); strings.Contains(string(b), "daemon-reload") {
		t.Errorf("systemctl ran %q after disable was killed; want nothing after it", b)
	}
}
