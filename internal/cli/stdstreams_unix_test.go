//go:build unix

package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestTerminalInputTellsAClosedTerminal: a read of standard input at a
// terminal that closed before the read began ends as a closed terminal
// (SIGHUP's 129), as a read under way when it closed does (EIO); a
// person's Ctrl-D at a live terminal is still the input ending. A prompt
// reached just after the window closed said "nothing was pasted (it is not
// a terminal)", exit 2.
func TestTerminalInputTellsAClosedTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal here: %v", err)
	}
	defer tty.Close()
	in := terminalInput(tty, true)
	if _, err := ptmx.Write([]byte{4}); err != nil { // Ctrl-D
		t.Fatal(err)
	}
	if _, err := in.Read(make([]byte, 8)); err != io.EOF {
		t.Fatalf("Ctrl-D at a live terminal: %v; want the input to end (io.EOF)", err)
	}
	ptmx.Close() // the terminal window closes
	_, err = in.Read(make([]byte, 8))
	if !errors.Is(err, errHungUp) || errors.Is(err, io.EOF) || signalOf(err) != syscall.SIGHUP {
		t.Fatalf("a read after the terminal closed: %v; want it told as a closed terminal (SIGHUP), not as the input ending", err)
	}
}

// TestSecretPromptAtAClosedTerminal: a secret asked for (init's client
// secret) just after the terminal closed ends as a closed terminal
// (SIGHUP's 129), as the other questions do: the look at the terminal's
// settings before the read failed (EIO), and the command ended as a bug,
// exit 1, "input/output error".
func TestSecretPromptAtAClosedTerminal(t *testing.T) {
	ptmx, p := terminalPrompter(t)
	ptmx.Close() // the terminal window closes
	_, err := p.readSecret(context.Background(), func() {})
	if !errors.Is(err, errHungUp) || signalOf(err) != syscall.SIGHUP {
		t.Fatalf("a secret asked for after the terminal closed: %v; want it told as a closed terminal (SIGHUP)", err)
	}
}

// terminalPrompter is a prompter at a new pseudo-terminal, and the
// terminal's other end, where a person types.
func terminalPrompter(t *testing.T) (ptmx *os.File, p *prompter) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { tty.Close(); ptmx.Close() })
	return ptmx, &prompter{in: bufio.NewReader(tty), out: io.Discard, fd: int(tty.Fd()), isTTY: true}
}
