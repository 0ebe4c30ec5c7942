//go:build unix

package cli

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestExecCountsTheLogLinesDropped: `exec` puts the command in
// freshtoken's place, and nothing of freshtoken's runs after to say how
// many log lines were dropped while the log was not read (`--debug exec
// … 2>&1 | less`, not scrolled); it says so before.
func TestExecCountsTheLogLinesDropped(t *testing.T) {
	var errOut bytes.Buffer
	f := &Factory{IO: &IOStreams{ErrOut: &errOut}}
	if err := f.setupLogging(); err != nil {
		t.Fatal(err)
	}
	f.log.dropped = 2 // as if the reader had been away
	// A command that cannot be run: runCommand returns before the execve.
	runCommand(f, &exec.Cmd{Args: []string{"no-such-command"}, Err: errors.New("not found")})
	if !strings.Contains(errOut.String(), "2 log lines were dropped") {
		t.Fatalf("stderr: %q; want the count of the lines dropped", errOut.String())
	}
}
