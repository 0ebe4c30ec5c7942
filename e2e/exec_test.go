//go:build unix

package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestExecLeavesNoDescriptorToTheCommand: the command exec puts in
// freshtoken's place inherits its descriptors, so none that freshtoken
// opened (the log file, the store's lock, a Redis or keychain connection,
// the provider's) may outlive the exec: the command has none of them,
// whichever store, after a renewal and with a log file.
func TestExecLeavesNoDescriptorToTheCommand(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to list the descriptors")
	}
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"file store", func(*testing.T) string { return "" }},
		{"redis store", func(t *testing.T) string { return redistest.Start(t).URL }},
		{"keychain", func(t *testing.T) string {
			privateKeychain(t)
			return "keyring://"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour}, tc.store(t), "")
			w.login()
			clock.Advance(t, due(time.Hour)) // exec renews the token first
			log := filepath.Join(w.dir, "freshtoken.log")
			// The shell's descriptors, listed by ls from outside it.
			r := w.mustRun("--debug", "--log-file", log, "exec", "--", "sh", "-c", `ls -l /proc/$$/fd`)
			for _, line := range strings.Split(r.stdout, "\n") {
				if strings.Contains(line, "socket:") || strings.Contains(line, "anon_inode:") || strings.Contains(line, filepath.Dir(w.dir)) {
					t.Errorf("the command inherited freshtoken's %s", line)
				}
			}
			if s := w.provider.Stats(); s.Refreshes != 1 {
				t.Fatalf("provider stats %+v; want the renewal done first", s)
			}
		})
	}
}

// TestExecPassesSignalsOn: SIGTERM to `freshtoken exec` reaches the command,
// and freshtoken exits with the command's own exit code.
func TestExecPassesSignalsOn(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := w.command(ctx, "exec", "--", "sh", "-c", `trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("the command said %q, %v", line, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 {
		t.Fatalf("exit %d; want the command's 42", code)
	}
}

// TestExecRunsNothingAfterASignal: a signal during the renewal that exec
// needs first sees the renewal through, then ends freshtoken without
// starting the command.
func TestExecRunsNothingAfterASignal(t *testing.T) {
	t.Parallel()
	w, g := strictWorld(t)
	expireStored(t, w) // exec must renew first
	ran := filepath.Join(w.dir, "ran")
	run := w.watch("exec", "--", "touch", ran)
	g.wait(t)
	run.cmd.Process.Signal(syscall.SIGTERM)
	run.waitSaid(t, "waiting up to")
	close(g.release)
	if code, stderr := run.wait(); code != 143 {
		t.Fatalf("exit %d; want 143\n%s", code, stderr)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the command ran after the signal")
	}
	if s := w.provider.Stats(); s.Refreshes != 1 {
		t.Fatalf("provider stats %+v; want the renewal seen through", s)
	}
}

// TestExecLeavesCtrlCToTheCommand: Ctrl-C, once or twice, while `freshtoken
// exec` runs a command that handles it (an editor, a REPL, `terraform
// apply`): the signals reach the command, and freshtoken neither ends
// before it nor reports an interruption the command chose to survive; it
// exits with the command's own code.
func TestExecLeavesCtrlCToTheCommand(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	for _, tc := range []struct {
		name  string
		times int
		code  int
	}{{"once", 1, 0}, {"twice", 2, 7}} {
		t.Run(tc.name, func(t *testing.T) {
			// The command counts the interrupts; at tc.times it ends with
			// tc.code. It gives up after ten seconds, so that a test that
			// fails does not leave it running.
			script := fmt.Sprintf(`n=0; trap 'n=$((n+1)); echo "interrupt $n" >&2; [ $n -ge %d ] && exit %d' INT; echo ready >&2; i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; exit 3`, tc.times, tc.code)
			run := w.watch("exec", "--", "sh", "-c", script)
			run.waitSaid(t, "ready")
			for i := 1; i <= tc.times; i++ {
				run.cmd.Process.Signal(syscall.SIGINT)
				run.waitSaid(t, fmt.Sprintf("interrupt %d", i))
			}
			code, stderr := run.wait()
			if code != tc.code || strings.Contains(stderr, "freshtoken:") {
				t.Fatalf("exit %d, stderr %q; want the command's %d and nothing from freshtoken", code, stderr, tc.code)
			}
		})
	}
}

// TestExecCtrlCAtATerminalArrivesOnce: a terminal's Ctrl-C goes to its
// whole foreground process group, freshtoken and the command exec runs
// alike. The command must see it once: a tool that takes a second Ctrl-C
// as "stop now" (`terraform apply`) must not get two for one keypress.
func TestExecCtrlCAtATerminalArrivesOnce(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := w.command(ctx, "exec", "--", os.Args[0]) // as countInterrupts
	cmd.Env = append(cmd.Env, "E2E_COUNT_INTERRUPTS=1")
	cmd.SysProcAttr.Setpgid = true // a group of its own, as a terminal's job
	out := testenv.NewOutput()
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); out.Close() }()
	out.WaitFor(t, "ready", regexp.MustCompile(`ready`))
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // the terminal's Ctrl-C
	if m := out.WaitFor(t, "the count", regexp.MustCompile(`interrupts: (\d+)`)); m[1] != "1" {
		t.Fatalf("one Ctrl-C reached the command %s times", m[1])
	}
}
