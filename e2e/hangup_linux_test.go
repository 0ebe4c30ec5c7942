//go:build unix

package e2e_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestClosedTerminalWhileAsking: the terminal closes while a command asks
// a person something (init's questions, the URL `login --manual` waits
// for, remove's confirmation, login's before it replaces another
// configuration's tokens, a request body typed for `post -d @-`):
// its read fails (EIO) before any SIGHUP comes (a shell passes its own on
// to its jobs after), and the command ends as SIGHUP ends it, 129, nothing
// changed. It ended as a bug (exit 1, "read /dev/stdin: input/output
// error"), said nothing was pasted "(it is not a terminal)" (exit 2), or
// took the closed terminal for a "no" (exit 0).
func TestClosedTerminalWhileAsking(t *testing.T) {
	for _, tt := range []struct {
		name   string
		args   []string
		prompt string
		setup  func(t *testing.T, w *world) // after the log-in
	}{
		{"init", []string{"init", "-e", "other"}, "Choose 1-", nil},
		{"login --manual", []string{"login", "--manual"}, "press Enter:", nil},
		{"remove", []string{"remove", "-e", "dev"}, "[y/N] ", nil},
		{"post -d @-", []string{"--debug", "post", "/v2/contacts", "-d", "@-"}, "then Ctrl-D on a line of its own.", nil},
		{"login over another configuration's tokens", []string{"login"}, "Log in and replace them? [y/N] ", func(t *testing.T, w *world) {
			// dev's tokens become another client's: another configuration's.
			b := w.storeBytes()
			other := regexp.MustCompile(`("client_id": *)"dev-client-id"`).ReplaceAll(b, []byte(`$1"another-client"`))
			if bytes.Equal(other, b) {
				t.Fatalf("no client_id in the record:\n%s", b)
			}
			if err := os.WriteFile(w.storeFile(), other, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			if tt.setup != nil {
				tt.setup(t, w)
			}
			before, stored, sent := w.readConfig(), string(w.storeBytes()), w.provider.Stats()
			tty, screen, hangUp := openTerminal(t)
			// On the terminal, but not its session's leader: closing it
			// sends freshtoken no SIGHUP, as a shell has yet to pass one on.
			run := w.watchWith(func(c *exec.Cmd) { c.Stdin, c.Stderr = tty, tty }, tt.args...)
			tty.Close() // freshtoken's own copy is the terminal's last
			screen.WaitFor(t, strconv.Quote(tt.prompt), regexp.MustCompile(regexp.QuoteMeta(tt.prompt)))
			hangUp() // the terminal window closes
			select {
			case <-run.stderr.Closed():
			case <-time.After(10 * time.Second):
				run.cmd.Process.Kill()
				t.Fatalf("still running 10 s after the terminal closed:\n%s", screen.String())
			}
			if code, _ := run.wait(); code != 129 {
				t.Fatalf("exit %d, want 129 (as SIGHUP); the terminal showed:\n%s", code, screen.String())
			}
			if got := w.readConfig(); got != before || string(w.storeBytes()) != stored {
				t.Fatalf("the configuration or the tokens changed:\n%s", got)
			}
			if st := w.provider.Stats(); st.APIRequests != sent.APIRequests || st.TokenRequests != sent.TokenRequests {
				t.Fatalf("%d API requests and %d token requests made; want none", st.APIRequests-sent.APIRequests, st.TokenRequests-sent.TokenRequests)
			}
		})
	}
}

// openTerminal opens a pseudo-terminal, whose end a command is given as tty,
// and shows what is written to it, until hangUp closes it (once; the test's
// end does, if not before), as a terminal window that closes does. (A read
// of its master side under way would hold it open: Go closes a descriptor
// only once no call uses it.)
func openTerminal(t *testing.T) (tty *os.File, screen *testenv.Output, hangUp func()) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal here: %v", err)
	}
	screen = testenv.NewOutput()
	fd := int(ptmx.Fd())
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		buf := make([]byte, 4096)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 50); n <= 0 {
				continue
			}
			n, err := unix.Read(fd, buf)
			if err != nil || n == 0 {
				return
			}
			screen.Write(buf[:n])
		}
	}()
	hangUp = sync.OnceFunc(func() {
		close(stop)
		<-stopped
		ptmx.Close()
		screen.Close()
	})
	t.Cleanup(hangUp)
	return tty, screen, hangUp
}

// TestClosedTerminalIsToldInTheLog: `freshtoken remove -e dev 2>log` at a
// terminal that closes while it asks: the last line, which the person reads
// in the log later, said "interrupted", as for a Ctrl-C they never typed.
// It says the terminal closed.
func TestClosedTerminalIsToldInTheLog(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	tty, screen, hangUp := openTerminal(t)
	logFile := filepath.Join(t.TempDir(), "log")
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	run := w.watchWith(func(c *exec.Cmd) { c.Stdin, c.Stdout, c.Stderr = tty, tty, log }, "remove", "-e", "dev")
	tty.Close()
	testenv.WaitFor(t, "the question", func() bool {
		said, _ := os.ReadFile(logFile)
		return strings.Contains(screen.String()+string(said), "[y/N] ")
	})
	hangUp()
	if code, _ := run.wait(); code != 129 {
		t.Fatalf("exit %d, want 129 (as SIGHUP)", code)
	}
	said, _ := os.ReadFile(logFile)
	if lines := strings.Split(strings.TrimSpace(string(said)), "\n"); lines[len(lines)-1] != "freshtoken: the terminal closed (SIGHUP)" {
		t.Fatalf("the log ends %q; want it to say the terminal closed", lines[len(lines)-1])
	}
}

// TestHangUpSignalAtAnOpenTerminal: `kill -HUP` to a proxy run at a
// terminal that stays open (a tmux pane, a terminal window; many daemons
// take SIGHUP as "reload") ended it with "the terminal closed (SIGHUP)",
// and the person looked for a terminal that had not closed. The last line
// says the terminal closed only when it did.
func TestHangUpSignalAtAnOpenTerminal(t *testing.T) {
	for _, tt := range []struct {
		name   string
		closed bool
		last   string
	}{
		{"the terminal open", false, "freshtoken: stopped by a hang-up signal (SIGHUP)"},
		{"the terminal closed", true, "freshtoken: the terminal closed (SIGHUP)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			tty, _, hangUp := openTerminal(t)
			// Not its session's leader: the test sends the hang-up, as a
			// shell passes its own on, or `kill -HUP` does.
			run := w.watchWith(func(c *exec.Cmd) { c.Stdin, c.Stdout = tty, tty }, "proxy", "--no-listen")
			tty.Close()
			run.waitSaid(t, "(Ctrl-C to stop)")
			if tt.closed {
				hangUp()
			}
			run.cmd.Process.Signal(unix.SIGHUP)
			_, stderr := run.wait()
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code := run.cmd.ProcessState.ExitCode(); code != 129 || lines[len(lines)-1] != tt.last {
				t.Fatalf("exit %d, stderr ending %q; want 129, %q", code, lines[len(lines)-1], tt.last)
			}
		})
	}
}
