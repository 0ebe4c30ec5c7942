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

// TestCtrlCWhileServiceInstallWaitsForSystemd: Ctrl-C at a terminal (to the
// whole job: freshtoken and the systemctl it waits for), a closed terminal
// or SIGTERM to the job while `service install` waits for systemd ends it
// by the signal, exit 128+N, saying the unit was written and to run the
// install again to start it. The systemctl ended by the signal, seen
// before freshtoken acted on its own, was told as systemd's failure: exit
// 2, "could not start it (systemctl --user daemon-reload: signal:
// interrupt )", and to run `loginctl enable-linger`.
func TestCtrlCWhileServiceInstallWaitsForSystemd(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			bin := t.TempDir()
			started := filepath.Join(bin, "started")
			script := "#!/bin/sh\necho $$ > " + started + ".new\nmv " + started + ".new " + started + "\nexec sleep 1000\n"
			if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o700); err != nil {
				t.Fatal(err)
			}
			w.env = append(w.env, "HOME="+w.dir, "PATH="+bin+":"+os.Getenv("PATH"))
			run := w.watch("service", "install")
			var pid []byte
			testenv.WaitFor(t, "systemctl to start", func() bool {
				var err error
				pid, err = os.ReadFile(started)
				return err == nil
			})
			systemctl, err := strconv.Atoi(strings.TrimSpace(string(pid)))
			if err != nil {
				t.Fatal(err)
			}
			// A terminal sends the signal to every process of the job:
			// here it ends systemctl, which freshtoken sees end (it is
			// reaped), before freshtoken's own comes.
			syscall.Kill(systemctl, sig)
			testenv.WaitFor(t, "systemctl to end", func() bool {
				_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(systemctl)))
				return os.IsNotExist(err)
			})
			syscall.Kill(run.cmd.Process.Pid, sig)
			stderr := run.waitExit(t, 128+int(sig))
			want := "wrote " + filepath.Join(w.dir, ".config", "systemd", "user", "freshtoken.service") + ", but `systemctl --user daemon-reload` was stopped before it answered; run " + w.suggested("`freshtoken service install`") + " again to start it"
			if !strings.Contains(stderr, want) || strings.Contains(stderr, "linger") {
				t.Fatalf("stderr:\n%s\nwant it to say %q", stderr, want)
			}
		})
	}
}
