//go:build !unix

package cli

import (
	"context"
	"errors"
	"os/exec"
)

// commandTakesOver: exec's command runs beside freshtoken (see handOver).
const commandTakesOver = false

// canRestart: a process cannot put another program in its own place here,
// so a proxy does not watch for an upgrade (see watchUpgrade).
const canRestart = false

// runCommand runs child beside freshtoken, sharing its console, which
// gives Ctrl-C to both, and returns its exit status.
func runCommand(f *Factory, child *exec.Cmd) error {
	child.Stdin, child.Stdout, child.Stderr = f.IO.In, underlying(f.IO.Out), underlying(f.IO.ErrOut)
	if f.handOver != nil && !f.handOver() { // a signal came after the renewal
		return context.Canceled
	}
	if err := child.Start(); err != nil {
		f.lastWord(f.IO.ErrOut, notRunnable(child.Args[0], err), 127)
		return &exitStatus{127}
	}
	var ee *exec.ExitError
	if err := child.Wait(); errors.As(err, &ee) {
		return &exitStatus{ee.ExitCode()}
	} else if err != nil {
		return err
	}
	return nil
}

// shellLine is how exec runs a command line through the shell.
const shellLine = `cmd /c "…"`

// bashLine, bashNote and bashOnly: cmd.exe runs every builtin here.
const bashLine, bashNote = "", ""

var bashOnly []string

// shellBuiltins are the commands that cmd.exe runs itself, with no program
// of that name.
var shellBuiltins = []string{
	"assoc", "break", "call", "cd", "chdir", "cls", "color", "copy", "date", "del", "dir", "echo",
	"endlocal", "erase", "exit", "for", "ftype", "goto", "if", "md", "mkdir", "mklink", "move", "path",
	"pause", "popd", "prompt", "pushd", "rd", "rem", "ren", "rename", "rmdir", "set", "setlocal",
	"shift", "start", "time", "title", "type", "ver", "verify", "vol",
}
