package shellrun

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestStoppedCommandEndsWhatItStarted: a command ended by StopAll (at a
// signal that ends freshtoken) or by the end of its context (a
// client_secret_cmd past its 30 seconds) ends with the processes it started
// (a `pass show` whose gpg asks for the passphrase, a pipeline, a command
// that is not the shell's last): the shell alone was ended, and they ran on
// after freshtoken, still asking.
func TestStoppedCommandEndsWhatItStarted(t *testing.T) {
	for name, stop := range map[string]func(cancel context.CancelFunc){
		"StopAll":         func(context.CancelFunc) { StopAll() },
		"its context end": func(cancel context.CancelFunc) { cancel() },
	} {
		t.Run(name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "child.pid")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, _, _, err := Run(ctx, "sleep 60 & echo $! > "+pidFile+"; wait; echo secret", nil, 1024, 1<<20)
				done <- err
			}()
			var pid int
			testenv.WaitFor(t, "the command to start its child", func() bool {
				b, _ := os.ReadFile(pidFile)
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				return pid != 0
			})
			stop(cancel)
			if err := <-done; err == nil {
				t.Fatal("Run of a stopped command returned no error")
			}
			testenv.WaitFor(t, "the command's child to end with it", func() bool { return !alive(pid) })
		})
	}
}

// alive reports whether pid is a process that has not ended (a zombie,
// ended but not reaped by a parent that is not this test's, has).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z") && !strings.HasPrefix(s[i+1:], " X")
}

// TestStopAllAsACommandStarts: StopAll called as a command starts (forked,
// so running, but not yet among those StopAll ends) ends it all the same:
// at a signal as a client_secret_cmd started, on a loaded machine, StopAll
// did not see it and it ran on after freshtoken. StopAll is called here
// between the start and the listing, where the signal came.
func TestStopAllAsACommandStarts(t *testing.T) {
	afterStart = func() {
		if running.mu.TryLock() {
			running.mu.Unlock()
			t.Error("a command started with StopAll free to run and not see it")
		}
		go StopAll()
	}
	t.Cleanup(func() { afterStart = nil })
	done := make(chan error, 1)
	go func() {
		_, _, _, err := Run(context.Background(), "sleep 60", nil, 1024, 1<<20)
		done <- err
	}()
	if err := testenv.Receive(t, "the command to end", done); err == nil || errors.As(err, new(*Stopped)) {
		t.Fatalf("Run of a command StopAll ended as it started: %v; want it killed", err)
	}
}

// TestCommandIsNotInTheShellsArguments: a command run as /bin/sh -c
// COMMAND stood in the shell's arguments, which every user of the machine
// reads in /proc/PID/cmdline (ps aux) while it runs: a client_secret_cmd
// of `echo s3cr3t` (in a configuration only its owner reads), or a
// [notify] command's `printf` of a service's token, showed the secret to
// them. The shell is given the command in its environment, which only
// its user reads, and takes it out before it runs it, so that what it
// starts does not inherit it.
func TestCommandIsNotInTheShellsArguments(t *testing.T) {
	const secret = "s3cr3t-In-The-Command"
	out, _, _, err := Run(context.Background(), "tr '\\0' ' ' < /proc/$$/cmdline; echo; env; : "+secret, nil, 1<<16, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), secret) {
		t.Fatalf("the shell's arguments, or what it runs inherits, hold the command:\n%s", out)
	}
	got, _, _, err := Run(context.Background(), "echo "+secret+" \"$0\" \"$#\"", nil, 1<<16, 1<<20)
	if err != nil || string(got) != secret+" /bin/sh 0\n" {
		t.Fatalf("Run = %q, %v; want the command run as sh -c runs it", got, err)
	}
}

// TestRunLeavesItsCallersEnvironmentAlone: the line's variable was
// appended to the caller's env, written into the room its slice has
// beyond its length: a caller keeping the slice to add a variable of its
// own to it for another command shared the array with the line, which
// held the secret a line holds (echo s3cr3t).
func TestRunLeavesItsCallersEnvironmentAlone(t *testing.T) {
	env := make([]string, 1, 2)
	env[0] = "FRESHTOKEN_EVENT=test"
	if _, _, _, err := Run(context.Background(), "echo s3cr3t-In-The-Line", env, 1<<10, 1<<10); err != nil {
		t.Fatal(err)
	}
	if room := env[:cap(env)]; room[1] != "" {
		t.Fatalf("Run wrote %q into the room of its caller's env", room[1])
	}
}
