package cli

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testdisk"
)

// TestExecOnANoExecMountSaysSo: exec of a script on a file system mounted
// noexec (/tmp on a hardened machine or CI runner) said only "permission
// denied", of a file whose mode plainly lets it run, or to chmod +x one
// without; it says what stops it and what to do, exit 126. The interpreter
// it names is the script's own (it said sh of a Python script), and none
// for a compiled program, which no interpreter runs.
func TestExecOnANoExecMountSaysSo(t *testing.T) {
	dir := testdisk.NoExec(t)
	const noexec = ": permission denied: the file is on a file system mounted noexec, from which no program runs, whatever its permissions; "
	for _, c := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"export.sh", "#!/bin/sh\necho ran\n", 0o755, "run it with its interpreter (/bin/sh %s), or "},
		{"export.sh", "#!/bin/sh\necho ran\n", 0o644, "run it with its interpreter (/bin/sh %s), or "},
		{"export.py", "#!/usr/bin/env python3\nprint('ran')\n", 0o755, "run it with its interpreter (/usr/bin/env python3 %s), or "},
		{"steps", "echo ran\n", 0o755, "run it with its interpreter (sh %s), or "},
		{"tool", "\x7fELF\x02\x01\x01\x00\x00", 0o755, ""},
	} {
		script := filepath.Join(dir, c.name)
		if err := os.WriteFile(script, []byte(c.content), c.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(script, c.mode)
		code, stderr := runCommandFailing(t, script)
		want := "freshtoken: " + script + noexec + strings.ReplaceAll(c.want, "%s", script) + "move it to a file system not mounted so (your home folder, for one)\n"
		if code != 126 || stderr != want {
			t.Errorf("exec of a %o %s on a noexec mount: exit %d, stderr %q; want 126, %q", c.mode, c.name, code, stderr, want)
		}
		if strings.Contains(stderr, "chmod") {
			t.Errorf("it said to chmod +x a file no mode lets run")
		}
		os.Remove(script)
	}
}

// TestExecOfAProgramWithoutItsLoaderSaysSo: a compiled program whose
// program loader is not on this system (one built for glibc, on Alpine's
// musl) was said to be "no such file or directory", of a file plainly
// there; it says which loader is missing and why, exit 127.
func TestExecOfAProgramWithoutItsLoaderSaysSo(t *testing.T) {
	program := withoutItsLoader(t)
	code, stderr := runCommandFailing(t, program)
	want := "freshtoken: " + program + `: the program loader it needs, "/no/such/ld.so", is not on this system: the program was built for another kind of system (one with glibc, say, where this one has musl, as Alpine has); get the build made for this one` + "\n"
	if code != 127 || stderr != want {
		t.Errorf("exec of a program without its loader: exit %d, stderr %q; want 127, %q", code, stderr, want)
	}
}

// TestExecOfAScriptWhoseInterpreterLacksItsLoaderSaysSo: a script whose #!
// line names an interpreter that is there, but not the program loader
// that interpreter needs (a Node.js built for glibc, on Alpine), was said
// to name an interpreter that "was not found", of a file plainly there; it
// says which loader is missing, exit 127.
func TestExecOfAScriptWhoseInterpreterLacksItsLoaderSaysSo(t *testing.T) {
	interp := withoutItsLoader(t)
	script := filepath.Join(t.TempDir(), "run.js")
	if err := os.WriteFile(script, []byte("#!"+interp+"\nconsole.log('ran')\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCommandFailing(t, script)
	want := "freshtoken: " + script + ": the interpreter its #! line names, " + interp + `, is there, but not the program loader it needs, "/no/such/ld.so": the interpreter was built for another kind of system (one with glibc, say, where this one has musl, as Alpine has); get the build made for this one` + "\n"
	if code != 127 || stderr != want {
		t.Errorf("exec of a script whose interpreter lacks its loader: exit %d, stderr %q; want 127, %q", code, stderr, want)
	}
}

// withoutItsLoader is a copy of the program true that names a program
// loader that is nowhere (/no/such/ld.so), as a program built for glibc
// names one that a system with musl has not.
func withoutItsLoader(t *testing.T) string {
	t.Helper()
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(truePath)
	if err != nil {
		t.Fatal(err)
	}
	file, err := elf.Open(truePath)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	i := slices.IndexFunc(file.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	if i < 0 {
		t.Skipf("%s names no program loader (linked statically)", truePath)
	}
	const loader = "/no/such/ld.so"
	interp := b[file.Progs[i].Off : file.Progs[i].Off+file.Progs[i].Filesz]
	if len(interp) <= len(loader) {
		t.Fatalf("%s's loader name has room for %d bytes", truePath, len(interp))
	}
	copy(interp, loader+strings.Repeat("\x00", len(interp)-len(loader)))
	program := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(program, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return program
}

// TestExecOfAScriptWhoseInterpreterIsOnANoExecMount: a script that may
// run, whose #! line names an interpreter on a noexec mount (a virtual
// environment made in /tmp), said "permission denied" alone, of a 0755
// script on a mount that runs programs; it says what stops the
// interpreter, exit 126.
func TestExecOfAScriptWhoseInterpreterIsOnANoExecMount(t *testing.T) {
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	interp := filepath.Join(testdisk.NoExec(t), "sh")
	if err := os.WriteFile(interp, sh, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "export.sh")
	if err := os.WriteFile(script, []byte("#!"+interp+"\necho ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCommandFailing(t, script)
	want := "freshtoken: " + script + ": permission denied: the interpreter its #! line names, " + interp + ", is on a file system mounted noexec, from which no program runs; install it on another file system (your home folder, for one), or have the #! line name one there\n"
	if code != 126 || stderr != want {
		t.Errorf("exec of a script whose interpreter is on a noexec mount: exit %d, stderr %q; want 126, %q", code, stderr, want)
	}
}

// runCommandFailing runs the program at path as exec runs its command, in
// this process's place, which the tests above expect to fail: its exit
// code and what it said on stderr.
func runCommandFailing(t *testing.T, path string) (int, string) {
	t.Helper()
	var errOut bytes.Buffer
	f := &Factory{IO: &IOStreams{ErrOut: &errOut}}
	if err := f.setupLogging(); err != nil {
		t.Fatal(err)
	}
	return ExitCode(runCommand(f, exec.Command(path))), errOut.String()
}

// TestExecOnANoExecMountFromPath: a script in a folder of $PATH mounted
// noexec was said to be in no folder of $PATH, and its name to be checked
// (LookPath passes over what it cannot run); it says what stops it, and
// names its path to run it with its interpreter (given its bare name, as
// exec was, the interpreter would look in the current folder).
func TestExecOnANoExecMountFromPath(t *testing.T) {
	dir := testdisk.NoExec(t)
	script := filepath.Join(dir, "export.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	code, stderr := runCommandFailing(t, "export.sh")
	if want := "run it with its interpreter (/bin/sh " + script + ")"; code != 126 || !strings.Contains(stderr, want) {
		t.Errorf("exec of a script in $PATH on a noexec mount: exit %d, stderr %q; want 126, saying %q", code, stderr, want)
	}
}

// TestExecOfAProgramForAnotherMachineSaysSo: a compiled program the
// kernel cannot run (built for another processor, as an arm64 download on
// an x86-64 machine, or cut short) was handed to sh as a script with no #!
// line, which read its bytes as commands and ran what they spelled (here,
// a line that says so and fails, in this test's place); it says what the
// file is, exit 126, and runs nothing.
func TestExecOfAProgramForAnotherMachineSaysSo(t *testing.T) {
	program := filepath.Join(t.TempDir(), "tool")
	spelled := "\necho 'FAIL: sh read a compiled program as a script, and ran a line of it' >&2; exit 1\n"
	if err := os.WriteFile(program, []byte("\x7fELF\x02\x01\x01\x00\x00"+spelled), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCommandFailing(t, program)
	want := "freshtoken: " + program + ": exec format error: a compiled program that this system cannot run: built for another kind of machine (another processor or operating system), or cut short (a download or copy that did not finish); get the build made for this one\n"
	if code != 126 || stderr != want {
		t.Errorf("exec of a program for another machine: exit %d, stderr %q; want 126, %q", code, stderr, want)
	}
}

// TestExecOfA32BitProgramWithoutItsLoaderSaysSo: a 32-bit program on a
// 64-bit system without 32-bit support was said to be built for another
// kind of system, "one with glibc, say, where this one has musl", on a
// system with glibc; it says it is a 32-bit program and what to install,
// exit 127.
func TestExecOfA32BitProgramWithoutItsLoaderSaysSo(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the program is built for i386, which only amd64 runs")
	}
	// An ELF header, a PT_INTERP naming a loader that is nowhere, a PT_LOAD
	// of the file, and the loader's name: the kernel looks for the loader.
	const loader = "/no/such/ld-linux.so.2\x00"
	const base, phoff, phnum = 0x08048000, 52, 2
	interpOff := uint32(phoff + phnum*32)
	size := interpOff + uint32(len(loader))
	var b bytes.Buffer
	b.WriteString("\x7fELF\x01\x01\x01\x00" + strings.Repeat("\x00", 8))
	for _, v := range []any{
		uint16(elf.ET_EXEC), uint16(elf.EM_386), uint32(elf.EV_CURRENT), uint32(base + interpOff), uint32(phoff), uint32(0), uint32(0),
		uint16(52), uint16(32), uint16(phnum), uint16(40), uint16(0), uint16(0),
		uint32(elf.PT_INTERP), interpOff, base + interpOff, base + interpOff, uint32(len(loader)), uint32(len(loader)), uint32(elf.PF_R), uint32(1),
		uint32(elf.PT_LOAD), uint32(0), uint32(base), uint32(base), size, size, uint32(elf.PF_R | elf.PF_X), uint32(0x1000),
	} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString(loader)
	program := filepath.Join(t.TempDir(), "tool32")
	if err := os.WriteFile(program, b.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(program).Run(); !errors.Is(err, syscall.ENOENT) {
		t.Skipf("this kernel runs no 32-bit programs: %v", err)
	}
	code, stderr := runCommandFailing(t, program)
	want := "freshtoken: " + program + `: the program loader it needs, "/no/such/ld-linux.so.2", is not on this system: it is a 32-bit program, which runs here only once the system's 32-bit support is installed (libc6:i386 on Debian and Ubuntu); install it, or get the program's 64-bit build` + "\n"
	if code != 127 || stderr != want {
		t.Errorf("exec of a 32-bit program without its loader: exit %d, stderr %q; want 127, %q", code, stderr, want)
	}
}

// TestExecOfANamedPipeDoesNotWait: exec reads the start of the file it
// could not run to say why (its #! line), and a named pipe (or a file
// swapped for one meanwhile) given as the command is opened without waiting
// for a writer that may never come, and not read: it says the pipe cannot
// run, exit 126.
func TestExecOfANamedPipeDoesNotWait(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(pipe, 0o755); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCommandFailing(t, pipe)
	if want := "freshtoken: " + pipe + ": permission denied\n"; code != 126 || stderr != want {
		t.Errorf("exec of a named pipe: exit %d, stderr %q; want 126, %q", code, stderr, want)
	}
	for _, read := range []func() string{
		func() string { return fileStart(pipe) },
		func() string { loader, _, _ := missingLoader(pipe, syscall.ENOENT); return loader },
	} {
		if got := read(); got != "" {
			t.Errorf("a named pipe was read: %q", got)
		}
	}
}
