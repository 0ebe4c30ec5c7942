//go:build linux

package e2e_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// hungSystemctl puts a `systemctl` that never answers first on the world's
// $PATH, and returns a function that waits for it to start and returns
// its process id. One a test leaves running is ended as the test ends.
func hungSystemctl(t *testing.T, w *world) (started func() int) {
	t.Helper()
	bin := t.TempDir()
	pidFile := filepath.Join(bin, "started")
	script := "#!/bin/sh\necho $$ > " + pidFile + ".new\nmv " + pidFile + ".new " + pidFile + "\nexec sleep 1000\n"
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	// The unit's folder is the home folder's without asking systemd where
	// it reads units (asked only for another $XDG_CONFIG_HOME).
	w.env = append(w.env, "HOME="+w.dir, "XDG_CONFIG_HOME="+filepath.Join(w.dir, ".config"), "PATH="+bin+":"+os.Getenv("PATH"))
	return func() int {
		t.Helper()
		var b []byte
		testenv.WaitFor(t, "systemctl to start", func() bool {
			var err error
			b, err = os.ReadFile(pidFile)
			return err == nil
		})
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		return pid
	}
}

// TestCtrlCWhileServiceInstallWaitsForSystemd: Ctrl-C at a terminal (to the
// whole job: freshtoken and the systemctl it waits for), a closed terminal
// or SIGTERM to the job while `service install` waits for systemd ends it
// by the signal, exit 128+N, saying the unit was written and to run the
// install again to start it. The systemctl ended by the signal, seen
// before freshtoken acted on its own, was told as systemd's failure: exit
// 2, "could not start it (systemctl --user daemon-reload: signal:
// interrupt )", and to run `loginctl enable-linger` (about one run in 15
// on a loaded machine: freshtoken seeing systemctl end with its own
// signal not yet acted on).
func TestCtrlCWhileServiceInstallWaitsForSystemd(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			started := hungSystemctl(t, w)
			run := w.watchWith(inGroup, "service", "install")
			started()
			signalGroup(t, run, sig) // the terminal's, to every process of the job
			stderr := run.waitExit(t, 128+int(sig))
			want := "wrote " + filepath.Join(w.dir, ".config", "systemd", "user", "freshtoken.service") + ", but `systemctl --user daemon-reload` was stopped before it answered; run " + w.suggested("`freshtoken service install`") + " again to start it"
			if !strings.Contains(stderr, want) || strings.Contains(stderr, "linger") {
				t.Fatalf("stderr:\n%s\nwant it to say %q", stderr, want)
			}
		})
	}
}

// TestServiceInstallWhoseSystemctlASignalEndedAlone: a systemctl that
// `service install` waits for, ended by a signal sent to it alone (a kill
// by hand, the OOM killer's SIGKILL) while freshtoken got none, is no
// interruption of freshtoken's, nor a failure of the user's systemd: exit
// 2, one line saying which signal ended systemctl, that the unit was
// written and to run the install again. SIGTERM was told as freshtoken's
// own interruption ("interrupted: …", exit 143, which a script takes for
// freshtoken killed), and SIGKILL as systemd's failure, with the advice
// to run `loginctl enable-linger`.
func TestServiceInstallWhoseSystemctlASignalEndedAlone(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			started := hungSystemctl(t, w)
			run := w.watch("service", "install")
			syscall.Kill(started(), sig)
			stderr := run.waitExit(t, 2)
			unit := filepath.Join(w.dir, ".config", "systemd", "user", "freshtoken.service")
			want := "wrote " + unit + ", but `systemctl --user daemon-reload` was ended by a signal (" + sig.String() + ") sent to it, not to freshtoken; run " + w.suggested("`freshtoken service install`") + " again to start it"
			if !strings.Contains(stderr, want) || strings.Contains(stderr, "interrupted") || strings.Contains(stderr, "linger") {
				t.Fatalf("stderr:\n%s\nwant it to say %q", stderr, want)
			}
			if _, err := os.Stat(unit); err != nil {
				t.Errorf("the unit: %v; want it written", err)
			}
		})
	}
}

// TestCtrlCWhileServiceUninstallOrStatusWaitsForSystemd: Ctrl-C at a
// terminal (to freshtoken and the systemctl it waits for) while `service
// uninstall` waits for systemd to stop the service ends it, exit 130,
// keeping the service's file and saying to run it again; while `service
// status` asks systemd, exit 130, one line naming the systemctl stopped.
// status said that line, or "interrupted" alone when freshtoken saw
// systemctl end before it acted on its own signal.
func TestCtrlCWhileServiceUninstallOrStatusWaitsForSystemd(t *testing.T) {
	for _, cmd := range []string{"uninstall", "status"} {
		t.Run(cmd, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			started := hungSystemctl(t, w)
			w.mustRun("service", "install", "--files-only")
			unit := filepath.Join(w.dir, ".config", "systemd", "user", "freshtoken.service")
			run := w.watchWith(inGroup, "service", cmd)
			started()
			signalGroup(t, run, syscall.SIGINT)
			stderr := run.waitExit(t, 130)
			want := "freshtoken: interrupted: `systemctl --user status --no-pager freshtoken.service` was stopped before it answered\n"
			if cmd == "uninstall" {
				want = "freshtoken: interrupted: `systemctl --user disable --now freshtoken.service` was stopped before it answered; " + unit + " is kept: run " + w.suggested("`freshtoken service uninstall`") + " again to finish\n"
			}
			if !strings.HasSuffix(stderr, want) || strings.Contains(stderr, "linger") {
				t.Fatalf("stderr:\n%s\nwant it to end %q", stderr, want)
			}
			if _, err := os.Stat(unit); err != nil {
				t.Errorf("the service's file: %v; want it kept", err)
			}
		})
	}
}
