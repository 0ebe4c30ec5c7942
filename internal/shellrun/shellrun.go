// Package shellrun runs the shell commands a configuration names
// (client_secret_cmd, [notify] command) the one way: with a bounded output,
// and without waiting on a child the command leaves running.
package shellrun

import (
	"context"
	"errors"
	"os"
	"os/exec"
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
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", line)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, errOut
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // it exited well; what it printed before is all there is to read
	}
	return out.b, errOut.b, out.more || errOut.more, err
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
