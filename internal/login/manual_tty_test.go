//go:build linux || darwin

package login_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestManualInputEndedAtATerminal: Ctrl-D typed at the terminal where the
// address is asked for ends the log-in saying that nothing was pasted, not
// that the input "is not a terminal" and to run it again "in a terminal",
// which it was, and which sent the person looking for another.
func TestManualInputEndedAtATerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	m := startManual(t, context.Background(), tty, time.Minute)
	testenv.WaitFor(t, "the question", func() bool { return strings.Contains(m.stderr.String(), "press Enter") })
	if _, err := ptmx.Write([]byte{4}); err != nil { // Ctrl-D
		t.Fatal(err)
	}
	got := m.end(t).err
	if got == nil || !errors.Is(got, login.ErrBadPaste) || !strings.Contains(got.Error(), "nothing was pasted") || strings.Contains(got.Error(), "terminal") {
		t.Fatalf("got %v; want that nothing was pasted, without claiming the input is no terminal", got)
	}
}
