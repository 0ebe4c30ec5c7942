//go:build unix

package cli

import (
	"bufio"
	"cmp"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// commandTakesOver: exec's command takes freshtoken's place (see handOver).
const commandTakesOver = true

// canRestart: a proxy can start a new freshtoken in its own place (see
// watchUpgrade).
const canRestart = true

// runCommand puts child's program in freshtoken's place (execve), as env
// and nice do: signals, the terminal and the exit status are the command's
// own, with no process in between to pass them on (a terminal's Ctrl-C
// reaches the whole foreground group, so a copy passed on arrived twice),
// and what freshtoken was started ignoring (nohup's SIGHUP) stays ignored.
// It returns only if the program cannot be run.
func runCommand(f *Factory, child *exec.Cmd) error {
	f.flushLog() // nothing of freshtoken's runs after the execve to count the lines dropped
	if path := unrunnableInPath(child.Args[0], child.Err); path != "" {
		// As execvp, try it, for the reason it cannot run: LookPath
		// passed over it, and "check its name" was said of a right one.
		child.Path, child.Err = path, nil
	}
	if child.Err != nil {
		f.lastWord(f.IO.ErrOut, notRunnable(child.Args[0], child.Err), 127)
		return &exitStatus{127}
	}
	// handOver stops catching signals: from here one ends freshtoken as it
	// would the command, as no renewal is in flight.
	if f.handOver != nil && !f.handOver() { // one came before
		return context.Canceled
	}
	env := child.Environ() // the last of each name, as Start gives
	err := syscall.Exec(child.Path, child.Args, env)
	if errors.Is(err, syscall.ENOEXEC) && compiled(fileStart(child.Path)) {
		// Not a script: sh would read its bytes as commands, running
		// whatever they happen to spell, as bash refuses to.
		msg := fmt.Sprintf("%s: %v: a compiled program that this system cannot run: built for another kind of machine (another processor or operating system), or cut short (a download or copy that did not finish); get the build made for this one", child.Path, err)
		f.lastWord(f.IO.ErrOut, redact.OneLine(msg, 1000), 126)
		return &exitStatus{126}
	}
	if errors.Is(err, syscall.ENOEXEC) { // a script with no #! line: sh runs it, as env (execvp) and a shell do
		err = syscall.Exec("/bin/sh", append([]string{"sh", child.Path}, child.Args[1:]...), env)
	}
	interp := enoentInterpreter(child.Path, err)
	if _, serr := os.Stat(interp); interp != "" && errors.Is(serr, fs.ErrNotExist) {
		msg := fmt.Sprintf("%s: the interpreter its #! line names, %q, was not found", child.Args[0], interp)
		if strings.HasSuffix(interp, "\r") {
			msg += `; the file has Windows line ends (\r\n): convert them, with dos2unix for one`
		}
		f.lastWord(f.IO.ErrOut, redact.OneLine(msg, 1000), 127)
		return &exitStatus{127}
	}
	program, what := child.Path, "the program"
	if interp != "" { // there, but lacking its own loader, as a Node.js built for glibc, on Alpine
		program, what = interp, "the interpreter"
	}
	if loader, class, ok := missingLoader(program, err); ok {
		why := what + " was built for another kind of system (one with glibc, say, where this one has musl, as Alpine has); get the build made for this one"
		if class == elf.ELFCLASS32 && strconv.IntSize == 64 {
			why = "it is a 32-bit program, which runs here only once the system's 32-bit support is installed (libc6:i386 on Debian and Ubuntu); install it, or get the program's 64-bit build"
		}
		msg := fmt.Sprintf("%s: the program loader it needs, %q, is not on this system: %s", child.Args[0], loader, why)
		if program != child.Path {
			msg = fmt.Sprintf("%s: the interpreter its #! line names, %s, is there, but not the program loader it needs, %q: %s", child.Args[0], shellquote.Word(program), loader, why)
		}
		f.lastWord(f.IO.ErrOut, redact.OneLine(msg, 1000), 127)
		return &exitStatus{127}
	}
	code := 126 // found but cannot run
	name, msg := child.Path, err.Error()
	if errors.Is(err, syscall.ENOENT) { // not found, as env and a shell say
		code = 127
		name, msg = shownName(name), cmp.Or(shellOnly(name), msg)
	}
	fi, serr := os.Stat(child.Path)
	switch {
	case !errors.Is(err, syscall.EACCES) || serr != nil:
	case fi.IsDir():
		msg = "is a folder, not a command" // not a matter of permissions, as EACCES says
	case fi.Mode().IsRegular() && onNoExecMount(child.Path):
		msg += ": the file is on a file system mounted noexec, from which no program runs, whatever its permissions; "
		if line := interpreterLine(child.Path); line != "" {
			msg += fmt.Sprintf("run it with its interpreter (%s), or ", line)
		}
		msg += "move it to a file system not mounted so (your home folder, for one)"
	case fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 == 0:
		msg += fmt.Sprintf(": the file is not executable; make it so (chmod +x %s)", shellquote.Word(child.Path))
		if line := interpreterLine(child.Path); line != "" {
			msg += fmt.Sprintf(", or run it with its interpreter (%s)", line)
		}
	case fi.Mode().IsRegular():
		msg += refusedInterpreter(child.Path)
	}
	f.lastWord(f.IO.ErrOut, redact.OneLine(fmt.Sprintf("%s: %s", name, msg), 1000), code)
	return &exitStatus{code}
}

// unrunnableInPath is the first file named name in a folder of $PATH,
// when LookPath found none it could run (err): one without execute
// permission, or on a file system mounted noexec, which LookPath passes
// over as if it were not there; "" when there is none. Folders given by a
// relative path are left out, as LookPath leaves them out (exec.ErrDot).
func unrunnableInPath(name string, err error) string {
	if !errors.Is(err, exec.ErrNotFound) {
		return ""
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); filepath.IsAbs(dir) && err == nil && fi.Mode().IsRegular() {
			return path
		}
	}
	return ""
}

// enoentInterpreter is the interpreter that the #! line of the script at
// path names, when running it failed with ENOENT of a file that is there:
// for want of that interpreter (a script saved with Windows line ends
// names "/bin/sh\r"), or of the interpreter's own program loader (see
// missingLoader); "" for none.
func enoentInterpreter(path string, err error) string {
	if !errors.Is(err, syscall.ENOENT) {
		return ""
	}
	interp, _ := shebang(fileStart(path))
	return interp
}

// missingLoader is the program loader that the compiled program at path
// names (ELF's PT_INTERP, such as /lib64/ld-linux-x86-64.so.2), when
// running it failed for want of that loader: ENOENT, which said "no such
// file or directory" of a file plainly there, as a program built for glibc
// gives on a system with musl, and a 32-bit program on a 64-bit system
// without 32-bit support; and the program's class (32- or 64-bit).
func missingLoader(path string, err error) (string, elf.Class, bool) {
	if !errors.Is(err, syscall.ENOENT) {
		return "", 0, false
	}
	opened, ferr := openRegular(path)
	if ferr != nil {
		return "", 0, false
	}
	defer opened.Close()
	file, ferr := elf.NewFile(opened)
	if ferr != nil {
		return "", 0, false
	}
	for _, p := range file.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(p.Open(), 4096))
		loader := strings.TrimRight(string(b), "\x00")
		if _, serr := os.Stat(loader); loader != "" && errors.Is(serr, fs.ErrNotExist) {
			return loader, file.Class, true
		}
	}
	return "", 0, false
}

// refusedInterpreter says why the interpreter that the #! line of the
// script at path names could not run, when the script itself may (EACCES,
// of the interpreter): it is on a file system mounted noexec (a virtual
// environment made in /tmp), or not executable; "" when neither.
func refusedInterpreter(path string) string {
	interp, _ := shebang(fileStart(path))
	if interp == "" {
		return ""
	}
	fi, err := os.Stat(interp)
	word := shellquote.Word(interp)
	switch {
	case err != nil || !fi.Mode().IsRegular():
	case onNoExecMount(interp):
		return fmt.Sprintf(": the interpreter its #! line names, %s, is on a file system mounted noexec, from which no program runs; install it on another file system (your home folder, for one), or have the #! line name one there", word)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Sprintf(": the interpreter its #! line names, %s, is not executable; make it so (chmod +x %s)", word, word)
	}
	return ""
}

// interpreterLine is the command line that runs the program at path
// with no execute permission needed: through the interpreter its #! line
// names, given that line's argument as the kernel gives it
// (#!/usr/bin/env python3 is run with /usr/bin/env python3 PATH, not sh)
// with the value of any assignment in it hidden (see shownName),
// or through sh for a script without one, as a shell runs it; "" for a
// compiled program (a NUL in its first line), which no interpreter runs,
// and for a file that cannot be read (no read permission), which no
// interpreter reads either, or that holds nothing.
// It names the program by its path, as an interpreter looks for a bare
// name in the current folder, not in $PATH where exec found it.
func interpreterLine(path string) string {
	start := fileStart(path)
	interp, arg := shebang(start)
	switch {
	case interp != "" && arg != "":
		return shellquote.Word(interp) + " " + shellquote.Word(shownName(arg)) + " " + shellquote.Word(path)
	case interp != "":
		return shellquote.Word(interp) + " " + shellquote.Word(path)
	case compiled(start) || start == "":
		return ""
	}
	return "sh " + shellquote.Word(path)
}

// compiled reports whether a file whose first line is start holds a
// compiled program rather than a script: a NUL in that line, as bash
// tells a binary file from a script, which no text has.
func compiled(start string) bool {
	return strings.ContainsRune(start, 0)
}

// fileStart is the first line of the file at path, at most 256 bytes; ""
// for a file that cannot be read (see openRegular).
func fileStart(path string) string {
	file, err := openRegular(path)
	if err != nil {
		return ""
	}
	defer file.Close()
	line, _ := bufio.NewReader(io.LimitReader(file, 256)).ReadString('\n')
	return line
}

// openRegular opens the regular file at path for reading, without
// waiting: a named pipe (or a file swapped for one since exec tried it) is
// not waited on for a writer that may never come, nor read, and neither is
// a device.
func openRegular(path string) (*os.File, error) {
	file, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := file.Stat(); err != nil || !fi.Mode().IsRegular() {
		file.Close()
		return nil, cmp.Or(err, fs.ErrInvalid)
	}
	return file, nil
}

// shebang is the interpreter that a script's first line, start, names
// after #!, and the one argument the line gives it ("" for none); "", ""
// when start is no #! line.
func shebang(start string) (interp, arg string) {
	rest, ok := strings.CutPrefix(start, "#!")
	if !ok {
		return "", ""
	}
	rest = strings.TrimLeft(strings.TrimSuffix(rest, "\n"), " \t")
	if i := strings.IndexAny(rest, " \t"); i >= 0 { // its argument follows
		return rest[:i], strings.Trim(rest[i:], " \t")
	}
	return rest, ""
}

// shellLine is how exec runs a command line through the shell.
const shellLine = "sh -c '…'"

// bashLine is how exec runs a command line through bash.
const bashLine = "bash -c '…'"

// bashNote is what the help says of bashLine.
const bashNote = ",\nor " + bashLine + " for bash's own (source)"

// bashOnly are the shellBuiltins that bash has and sh has not where sh is
// dash (Debian, Ubuntu).
var bashOnly = []string{"builtin", "declare", "dirs", "disown", "fc", "history", "let", "logout", "popd", "pushd", "shopt", "source", "typeset"}

// shellBuiltins are the commands that sh or bash runs itself, with no
// program of that name in $PATH on most systems.
var shellBuiltins = []string{
	".", ":", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare", "dirs", "disown",
	"eval", "exec", "exit", "export", "fc", "fg", "getopts", "hash", "history", "jobs", "let", "local",
	"logout", "popd", "pushd", "read", "readonly", "return", "set", "shift", "shopt", "source", "times",
	"trap", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait",
}
