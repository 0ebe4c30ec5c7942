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
	e, s, commands := newDevEnv(t), newScreen(t), fifo(t)
	script := `set -m
` + fgJob + `
freshtoken --config "$1" init -e later --provider freeagent --client-id dev-client-id &
fg_job
bg %1 >/dev/null
echo "(continued in the background)"
read _ < "$2"
fg_job`
	ended, job := s.jobShell(t, script, e.config, commands)
	const question = "Client secret (typing is not shown): "
	s.answer(t, "Choose 1-3 [1]: ", "3")
	s.expect(t, question)
	testenv.WaitFor(t, "echo to be off", s.echoOff)
	s.backgrounded(t, job())
	if err := os.WriteFile(commands, []byte("fg\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.finishInit(t, ended)
	if strings.Count(s.String(), question) != 2 {
		t.Errorf("the question was asked %d times; want once more after fg:\n%s", strings.Count(s.String(), question), s)
	}
	if conf, _ := os.ReadFile(e.config); !strings.Contains(string(conf), "[env.later]") {
		t.Errorf("the environment was not written:\n%s", conf)
	}
}

// TestSecretQuestionInTheBackgroundLeavesTheShellsEcho: under a shell or
// supervisor that ignores SIGTTOU (so that a background job may change the
// terminal's settings), Ctrl-Z at init's client secret question then `bg`
// turned echo off again from the background, at the shell's prompt, where
// the person then typed unseen, and asked the question there; fg then
// asked nothing. A continuation in the background leaves the terminal
// alone; fg's turns echo off and asks, once. (Whether freshtoken acts on
// bg's continuation before its read of the terminal stops it again
// depends on which of its threads runs first: it did about one time in
// five, so the test stops it 30 times.)
func TestSecretQuestionInTheBackgroundLeavesTheShellsEcho(t *testing.T) {
	e, s, commands := newDevEnv(t), newScreen(t), fifo(t)
	const stops = 30
	script := `set -m
trap "" TTOU
` + fgJob + `
freshtoken --config "$1" init -e later --provider freeagent --client-id dev-client-id &
for stop in $(seq "$3"); do
	fg_job
	stty echo
	bg %1 >/dev/null
	echo "(continued in the background)"
	read _ < "$2"
done
fg_job`
	ended, job := s.jobShell(t, script, e.config, commands, strconv.Itoa(stops))
	const question = "Client secret (typing is not shown): "
	s.answer(t, "Choose 1-3 [1]: ", "3")
	for stop := 1; stop <= stops; stop++ {
		s.expect(t, question)
		testenv.WaitFor(t, "echo to be off", s.echoOff)
		s.backgrounded(t, job())
		if s.echoOff() {
			t.Fatalf("stop %d: echo is off at the shell's prompt, freshtoken in the background", stop)
		}
		if n := strings.Count(s.String(), question); n != stop {
			t.Fatalf("stop %d: the question was asked %d times; want %d, once more for each fg", stop, n, stop)
		}
		if err := os.WriteFile(commands, []byte("fg\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.finishInit(t, ended)
}

// fgJob defines fg_job, the shell's fg of its job, again while fg says the
// job stopped on reading the terminal (SIGTTIN, 128+21): its read in the
// background stopped it after the shell last looked (a shell busy reading
// its next command notices later on a loaded machine), so fg took it for
// running, gave it the terminal and did not continue it, and told of the
// stop at once. The test's next question then never came. A person types
// fg again; in the foreground, no read stops it so.
const fgJob = `fg_job() { while fg %1 >/dev/null; [ $? = 149 ]; do :; done; }`

// finishInit types the client secret at the question init asks, run by a
// shell (ended), declines the log-in, and waits for the shell to end; the
// secret must not show.
func (s *screen) finishInit(t *testing.T, ended <-chan error) {
	t.Helper()
	s.typeSecret(t, "dev-client-secret")
	s.answer(t, "Log in to later now? [Y/n]: ", "n")
	if err := testenv.Receive(t, "the shell to end", ended); err != nil {
		t.Fatalf("init, run by the shell: %v", err)
	}
	if strings.Contains(s.String(), "dev-client-secret") {
		t.Errorf("the terminal showed the client secret:\n%s", s)
	}
}

// fifo is a named pipe through which the test gives a shell its commands,
// so that nothing typed at the terminal goes to it.
func fifo(t *testing.T) string {
	t.Helper()
	commands := filepath.Join(t.TempDir(), "commands")
	if err := syscall.Mkfifo(commands, 0o600); err != nil {
		t.Fatal(err)
	}
	return commands
}

// jobShell starts bash on the screen's terminal, as its session's
// controlling terminal, running script (which turns job control on) with
// args, and returns its end and the process id of its job, once it has
// one.
func (s *screen) jobShell(t *testing.T, script string, args ...string) (ended <-chan error, job func() int) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		testenv.Missing(t, "no bash here: %v", err)
	}
	shell := exec.Command(bash, append([]string{"--norc", "--noprofile", "-c", script, "bash"}, args...)...)
	shell.Stdin, shell.Stdout, shell.Stderr = s.tty, s.tty, s.tty
	shell.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- shell.Wait() }()
	t.Cleanup(func() {
		shell.Process.Kill()
		if t.Failed() {
			t.Logf("the terminal showed:\n%q", s)
		}
	})
	return done, func() int { return childOf(t, shell.Process.Pid) }
}

// backgrounded presses Ctrl-Z at job's question and waits until the
// shell has continued it in the background, and job has taken that
// continuation.
func (s *screen) backgrounded(t *testing.T, job int) {
	t.Helper()
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

// TestQuestionInTheBackgroundWhereSIGTTINIsIgnored: a question asked by a
// background job, under a shell or supervisor that ignores SIGTTIN (which
// would otherwise stop the job until fg), cannot read the terminal: the
// read fails with EIO, as a closed terminal's does. It was told as one,
// "the terminal closed (SIGHUP)", exit 129, of a terminal still open. It
// says that the terminal cannot be read from the background and what to
// do, exit 2, and writes nothing.
func TestQuestionInTheBackgroundWhereSIGTTINIsIgnored(t *testing.T) {
	e, s := newDevEnv(t), newScreen(t)
	script := `set -m
trap "" TTIN
freshtoken --config "$1" init -e later --provider freeagent --client-id dev-client-id &
wait %1
echo "(init exited $?)"`
	ended, _ := s.jobShell(t, script, e.config)
	s.expect(t, "(init exited ")
	if err := testenv.Receive(t, "the shell to end", ended); err != nil {
		t.Fatalf("the shell: %v", err)
	}
	said := s.String()
	if !strings.Contains(said, "(init exited 2)") || !strings.Contains(said, "[1]: \r\nfreshtoken: the terminal cannot be read from the background") ||
		!strings.Contains(said, "run the command in the foreground") || strings.Contains(said, "closed") {
		t.Errorf("the terminal showed:\n%s\nwant init to say the terminal cannot be read from the background, exit 2", said)
	}
	if conf, _ := os.ReadFile(e.config); strings.Contains(string(conf), "[env.later]") {
		t.Errorf("the environment was written:\n%s", conf)
	}
}

// TestQuestionOfAJobWhoseShellHasGone: a question asked by a job left in
// the background by a subshell that has ended (`(freshtoken init … &)`),
// whose process group no shell brings back with fg, cannot read the
// terminal either (EIO, the process group orphaned), SIGTTIN not ignored.
// It was told that SIGTTIN is ignored here, which it is not; it says that
// nothing stops it there until fg, SIGTTIN ignored or its shell gone, and
// what to do.
func TestQuestionOfAJobWhoseShellHasGone(t *testing.T) {
	e, s := newDevEnv(t), newScreen(t)
	// The job asks once the shell has the terminal back (the terminal's
	// foreground process group, /proc's eighth field, no longer its own,
	// the fifth), its subshell gone.
	script := `set -m
( (while read -r -a st </proc/$BASHPID/stat && [ "${st[4]}" = "${st[7]}" ]; do sleep 0.01; done
exec freshtoken --config "$1" init -e later --provider freeagent --client-id dev-client-id </dev/tty) & )
read -r line`
	s.jobShell(t, script, e.config)
	s.expect(t, "run the command in the foreground")
	said := s.String()
	if !strings.Contains(said, "freshtoken: the terminal cannot be read from the background") || !strings.Contains(said, "(SIGTTIN is ignored, or the shell that started it has gone)") || strings.Contains(said, "is ignored here") {
		t.Errorf("the terminal showed:\n%s\nwant init to say the terminal cannot be read from the background, and not that SIGTTIN is ignored", said)
	}
}
