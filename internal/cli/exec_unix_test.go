//go:build unix

package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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

// TestExecCannotRunSaysSoWithoutControls: the line saying why exec's
// command could not be run shows the command's name, and the interpreter
// its #! line names, without their control characters (a script's first
// line is whoever wrote it's): the terminal acted on them, setting its
// title (or clipboard) or writing over the line. One line, as every last word.
func TestExecCannotRunSaysSoWithoutControls(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/no/such\x1b]0;title\a\u202e\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "folder\x1b[31m")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"no-such\x1b]52;c;ZXZpbA==\a\u202e", filepath.Join(dir, "no-such\x1b[2J\r"), script, folder} {
		var errOut bytes.Buffer
		f := &Factory{IO: &IOStreams{ErrOut: &errOut}}
		if err := f.setupLogging(); err != nil {
			t.Fatal(err)
		}
		err := runCommand(f, exec.Command(name))
		if code := ExitCode(err); code != 126 && code != 127 {
			t.Errorf("exec %q: exit %d, want 126 or 127", name, code)
		}
		if s := errOut.String(); strings.ContainsAny(s, "\x1b\a\r\u202e") || strings.Count(s, "\n") != 1 {
			t.Errorf("exec %q: stderr %q; want one line without control characters", name, s)
		}
	}
}

// TestExecNamesBashOnlyWhereThereIsOne: one of bash's own builtins
// (source) is said to go through bash -c '…', as sh is dash on Debian and
// Ubuntu; where there is no bash (Alpine, whose sh has source) that led to
// "bash: not found", and it is said to go through sh -c '…'.
func TestExecNamesBashOnlyWhereThereIsOne(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(sh, filepath.Join(dir, "sh")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	for _, name := range []string{"source", "source ./vars.sh"} {
		if got := shellOnly(name); !strings.Contains(got, "(exec -- sh -c '…')") {
			t.Errorf("exec -- %q where there is no bash: %q; want it to say sh -c '…'", name, got)
		}
	}
}

// TestExecNamesNoInterpreterForAFileItCannotRead: a file without execute
// permission is said to run with its interpreter, named from its #! line;
// of one without read permission either (mode 0200), it said sh PATH,
// which cannot read it, whatever the file holds (a compiled program, as
// likely); it names no interpreter of a file it cannot read.
func TestExecNamesNoInterpreterForAFileItCannotRead(t *testing.T) {
	dir := t.TempDir()
	// A folder is no file to read, whoever runs the test (root reads any).
	if got := interpreterLine(dir); got != "" {
		t.Errorf("the interpreter line of what cannot be read: %q; want none", got)
	}
	script := filepath.Join(dir, "steps")
	if err := os.WriteFile(script, []byte("echo ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := interpreterLine(script), "sh "+script; got != want {
		t.Errorf("the interpreter line of a script without #!: %q; want %q", got, want)
	}
}
