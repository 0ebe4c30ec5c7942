//go:build unix

package cli

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/service"
)

// TestServiceStatusStoppedByFreshtokensSignal: `service status` whose
// systemctl ends by freshtoken's own signal, seen end before freshtoken
// acted on it (a terminal's Ctrl-C reaching both), says which command was
// stopped, as it does when it acts first: it said "interrupted" alone.
func TestServiceStatusStoppedByFreshtokensSignal(t *testing.T) {
	dir := t.TempDir()
	systemctl := filepath.Join(dir, "systemctl")
	if err := os.WriteFile(systemctl, []byte("#!/bin/sh\nkill -INT $$\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "freshtoken.service")
	if err := os.WriteFile(unit, []byte("[Unit]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
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
	systemctl := filepath.Join(t.TempDir(), "systemctl")
	if err := os.WriteFile(systemctl, []byte("#!/bin/sh\nkill -TERM $$\n"), 0o700); err != nil {
		t.Fatal(err)
	}
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
