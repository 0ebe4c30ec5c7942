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
	_, conf := provider(t, "https://oauth.pstmn.io/v1/callback")
	conf.RedirectURL = "https://oauth.pstmn.io/v1/callback"
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	stderr := testenv.NewOutput()
	flow := &login.Flow{Env: "sandbox", Config: conf, Manual: true, Stdin: tty, Stderr: stderr, Timeout: time.Minute}
	done := make(chan error, 1)
	go func() {
		_, err := flow.Run(context.Background())
		done <- err
	}()
	testenv.WaitFor(t, "the question", func() bool { return strings.Contains(stderr.String(), "press Enter") })
	if _, err := ptmx.Write([]byte{4}); err != nil { // Ctrl-D
		t.Fatal(err)
	}
	var got error
	testenv.WaitFor(t, "the log-in to end", func() bool {
		select {
		case got = <-done:
			return true
		default:
			return false
		}
	})
	if got == nil || !errors.Is(got, login.ErrBadPaste) || !strings.Contains(got.Error(), "nothing was pasted") || strings.Contains(got.Error(), "terminal") {
		t.Fatalf("got %v; want that nothing was pasted, without claiming the input is no terminal", got)
	}
}
