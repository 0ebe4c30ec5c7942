// Package shellrun runs the shell commands a configuration names
// (client_secret_cmd, [notify] command) the one way: with a bounded output,
// and without waiting on a child the command leaves running.
package shellrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Run runs line with /bin/sh -c, with env added to this process's
// environment, until it exits or ctx ends. It returns the first keep bytes
// of its standard output and of its standard error, and whether more came.
// Past stop bytes on either, its output is closed, which ends a command
// that floods it (SIGPIPE). Once the command has exited, a child it left
// running that still holds its output open is not waited for more than a
// second (a daemon, an agent it started).
func Run(ctx context.Context, line string, env []string, keep, stop int) (stdout, stderr []byte, more bool, err error) {
	out, errOut := &head{keep: keep, stop: stop}, &head{keep: keep, stop: stop}
	// The line goes in the environment, which only this user may read, not
	// in the shell's arguments, which every user of the machine reads
	// (/proc/PID/cmdline) and which held a secret a line holds (echo
	// s3cr3t); the shell takes it out before it runs it.
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", lineRunner)
	cmd.Env = append(append(os.Environ(), env...), lineVariable+"="+line)
	cmd.Stdout, cmd.Stderr = out, errOut
	cmd.WaitDelay = time.Second
	// A context that ends (client_secret_cmd past its time) ends what the
	// command started too, as StopAll does: killing the shell alone left a
	// pipeline's other members, or a gpg still asking, running on.
	cmd.Cancel = func() error { return killTree(cmd.Process) }
	if err = running.start(cmd); err == nil {
		err = cmd.Wait()
		running.remove(cmd)
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // it exited well; what it printed before is all there is to read
	} else if sig := EndedBy(err); Stopping(sig) {
		err = &Stopped{Signal: sig}
	}
	return out.b, errOut.b, out.more || errOut.more, err
}

// lineVariable holds the command line Run gives the shell, and lineRunner
// runs it as the shell runs a line given with -c, the variable unset
// first so that the command and what it starts do not inherit it.
const (
	lineVariable = "FRESHTOKEN_SHELL_LINE"
	lineRunner   = `freshtoken_line=$` + lineVariable + `; unset ` + lineVariable + `; eval "$freshtoken_line"`
)

// EndedBy is the signal that ended the command err is the Wait of, or 0
// if none did.
func EndedBy(err error) syscall.Signal {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ws.Signal()
		}
	}
	return 0
}

// Stopping reports whether sig is one of the signals that stop a person's
// commands: Ctrl-C, Ctrl-\, a closed terminal or SIGTERM, sent to a
// command rather than raised by a fault of its own.
func Stopping(sig syscall.Signal) bool {
	return slices.Contains([]syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTERM}, sig)
}

// Stopped is a command ended by a signal that stops a person's commands:
// Ctrl-C, Ctrl-\, a closed terminal or SIGTERM. A terminal sends Ctrl-C
// to every process of the job it runs, freshtoken too, so this is most
// likely freshtoken's own interruption, not a failure of the command.
type Stopped struct{ Signal syscall.Signal }

func (e *Stopped) Error() string { return fmt.Sprintf("stopped by a signal (%v)", e.Signal) }

// running are the commands Run has started and not yet seen end.
var running = &commands{set: map[*exec.Cmd]bool{}}

type commands struct {
	mu  sync.Mutex
	set map[*exec.Cmd]bool
}

// start starts cmd and adds it to the set, with StopAll kept out until it
// is there: the command runs from its fork on, and a StopAll between the
// start and the adding (a signal as a client_secret_cmd started, on a
// loaded machine) did not see it, and left it running on after freshtoken.
func (c *commands) start(cmd *exec.Cmd) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	if afterStart != nil {
		afterStart()
	}
	c.set[cmd] = true
	return nil
}

// afterStart, when a test sets it, is called between a command's start
// and its listing.
var afterStart func()

func (c *commands) remove(cmd *exec.Cmd) {
	c.mu.Lock()
	delete(c.set, cmd)
	c.mu.Unlock()
}

// StopAll ends every command Run has started and not yet seen end, with
// the processes it started (see killTree). A program that exits at a
// signal calls it, so that a command left running on for a later caller (a
// client_secret_cmd still asking for a passphrase, which the engine lets
// finish for the next renewal) does not outlive it.
func StopAll() {
	running.mu.Lock()
	defer running.mu.Unlock()
	for cmd := range running.set {
		killTree(cmd.Process)
	}
}

// errFlood ends a command's output past its stop.
var errFlood = errors.New("too much output")

// head keeps the first keep bytes written to it and drops the rest, until
// stop bytes have come: then it refuses them.
type head struct {
	b          []byte
	keep, stop int
	seen       int
	more       bool
}

func (h *head) Write(p []byte) (int, error) {
	n := min(len(p), max(h.keep-len(h.b), 0))
	h.b = append(h.b, p[:n]...)
	h.more = h.more || n < len(p)
	if h.seen += len(p); h.seen > h.stop {
		return 0, errFlood
	}
	return len(p), nil
}
