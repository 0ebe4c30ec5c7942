package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestSecretAskedOnceAfterBgAndFg: at init's client secret question,
// Ctrl-Z, `bg`, then `fg` asked the question twice over: the continuations
// of bg and fg were both acted on once fg brought freshtoken back (bg's
// stopped it, on the terminal or on its read, before it was), and each
// asked. fg asks once. A bash with job control plays the shell, reading its
// commands from a pipe the test writes, so that nothing typed at the
// terminal goes to it. (Whether bg's continuation is still to be acted on
// at fg depends on which of freshtoken's threads runs first, so this
// catches the double question only at times; see
// TestInitSecretAskedOnceForAContinuationToldTwice.)
func TestSecretAskedOnceAfterBgAndFg(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		testenv.Missing(t, "no bash here: %v", err)
	}
	e := newDevEnv(t)
	s := newScreen(t)
	commands := filepath.Join(t.TempDir(), "commands")
	if err := syscall.Mkfifo(commands, 0o600); err != nil {
		t.Fatal(err)
	}
	script := `set -m
freshtoken --config "$1" init -e later --provider freeagent --client-id dev-client-id &
fg %1 >/dev/null
bg %1 >/dev/null
echo "(continued in the background)"
read _ < "$2"
fg %1 >/dev/null`
	shell := exec.Command(bash, "--norc", "--noprofile", "-c", script, "bash", e.config, commands)
	shell.Stdin, shell.Stdout, shell.Stderr = s.tty, s.tty, s.tty
	shell.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- shell.Wait() }()
	t.Cleanup(func() {
		shell.Process.Kill()
		if t.Failed() {
			t.Logf("the terminal showed:\n%q", s)
		}
	})
	const question = "Client secret (typing is not shown): "
	s.answer(t, "Choose 1-3 [1]: ", "3")
	s.expect(t, question)
	testenv.WaitFor(t, "echo to be off", s.echoOff)
	job := childOf(t, shell.Process.Pid)
	if _, err := s.ptmx.Write([]byte{0x1a}); err != nil { // Ctrl-Z
		t.Fatal(err)
	}
	s.expect(t, "(continued in the background)")
	// There it is stopped again (its read of the terminal, begun again),
	// or still waits in the read it began in the foreground, the
	// continuation delivered.
	testenv.WaitFor(t, "the job to take its continuation", func() bool {
		state, pending := procState(job)
		return pending&(1<<(syscall.SIGCONT-1)) == 0 && (state == "T" || state == "S" && readingTerminal(job))
	})
	if err := os.WriteFile(commands, []byte("fg\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.typeSecret(t, "dev-client-secret")
	s.answer(t, "Log in to later now? [Y/n]: ", "n")
	if err := testenv.Receive(t, "the shell to end", ended); err != nil {
		t.Fatalf("init, run by the shell: %v", err)
	}
	if strings.Count(s.String(), question) != 2 {
		t.Errorf("the question was asked %d times; want once more after fg:\n%s", strings.Count(s.String(), question), s)
	}
	if strings.Contains(s.String(), "dev-client-secret") {
		t.Errorf("the terminal showed the client secret:\n%s", s)
	}
	if conf, _ := os.ReadFile(e.config); !strings.Contains(string(conf), "[env.later]") {
		t.Errorf("the environment was not written:\n%s", conf)
	}
}

// childOf is the process id of pid's only child, once it has one.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	var child int
	testenv.WaitFor(t, "the shell's job", func() bool {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "children"))
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return child != 0
	})
	return child
}

// readingTerminal reports whether one of pid's threads sleeps in a read
// of a terminal.
func readingTerminal(pid int) bool {
	wchans, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "wchan"))
	for _, w := range wchans {
		if b, _ := os.ReadFile(w); string(b) == "n_tty_read" || string(b) == "wait_woken" {
			return true
		}
	}
	return false
}

// procState is pid's state letter (S, T…) and the signals pending for it.
func procState(pid int) (state string, pending uint64) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return "", 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "State":
			state, _, _ = strings.Cut(v, " ")
		case "SigPnd", "ShdPnd":
			m, _ := strconv.ParseUint(v, 16, 64)
			pending |= m
		}
	}
	return state, pending
}
