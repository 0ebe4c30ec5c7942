//go:build unix

package cli

import (
	"errors"
	"io"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// pausedTerminal opens a pseudo-terminal and pauses its output as a
// person's Ctrl-S does: a write to it waits from the moment it returns. It returns the terminal, an
// Output that gets what the terminal shows once it is let go, and
// resume, its Ctrl-Q (called again by the test's end).
func pausedTerminal(t *testing.T) (tty *os.File, shown *testenv.Output, resume func()) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal here: %v", err)
	}
	shown = testenv.NewOutput()
	go io.Copy(shown, ptmx)
	resume = func() {
		if _, err := ptmx.Write([]byte{0x11}); err != nil { // Ctrl-Q
			t.Error(err)
		}
	}
	t.Cleanup(func() {
		resume() // a write still held, the test failed
		tty.Close()
		ptmx.Close()
	})
	// Ctrl-S, then a line of input: the terminal takes its input in
	// turn, on its own, after the write to it has returned, so the line
	// read tells that the Ctrl-S before it has paused the terminal (a
	// write just after could still be shown).
	if _, err := ptmx.Write([]byte{0x13, '\n'}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(tty, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return tty, shown, resume
}

// TestPausedTerminalHoldsNoStoreCall: a process at a terminal paused with
// Ctrl-S (a person reading what scrolled by) whose Redis stalls: the
// notice's write waited for the terminal, under the lock the store's calls
// to that Redis take to tell and end, so the call, answered once Redis
// ran again, did not return until Ctrl-Q (nor would any other call to
// that Redis: a proxy stopped serving). The call returns as Redis
// answers, and the terminal, let go, shows the notice.
func TestPausedTerminalHoldsNoStoreCall(t *testing.T) {
	tty, shown, resume := pausedTerminal(t)
	srv := redistest.Start(t)
	s, err := redisstore.New(srv.URL + "?max_retries=-1&read_timeout=20s") // past the test's pause
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	told := make(chan struct{}, 1)
	notices := newStallNotices(&Factory{IO: &IOStreams{ErrOut: tty}}, tty, time.Now)
	defer notices.stop()
	defer resume() // before the rest, if the test fails with a write held
	// told first, the notice's line then written (store.WithStalled)
	ctx := notices.listen(store.WithStalled(t.Context(), func(_ string, stalled bool, _ time.Time) {
		if stalled {
			told <- struct{}{}
		}
	}))
	if _, err := s.Load(ctx, "dev"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a Load Redis answers: %v; want store.ErrNotFound", err)
	}
	srv.Pause(t)
	loaded := make(chan error, 1)
	go func() {
		_, err := s.Load(ctx, "dev")
		loaded <- err
	}()
	testenv.Receive(t, "the stall told", told)
	srv.Resume(t)
	if err := testenv.Receive(t, "the Load Redis answers once it runs again, the terminal still paused", loaded); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the Load Redis answers: %v; want store.ErrNotFound", err)
	}
	resume()
	shown.WaitFor(t, "the notice", regexp.MustCompile(`freshtoken: waiting for Redis at redis://`+regexp.QuoteMeta(srv.Addr)+`/0, which has not answered for \d+s…\r\n`))
}

// TestPausedTerminalLetGoShowsTheOutageUnderWay: a terminal paused with
// Ctrl-S through three stalls of one store, each but the last answered,
// is shown once let go the line begun before (it cannot be taken back)
// and that of the stall under way, saying how long the store has not
// answered as it is shown, not a line for each stall it missed. The
// first line is begun (held by the terminal) before the others are told,
// and the clock moved before the terminal is let go: the test read the
// line of the stall under way as written after it was let go, wherever
// the writer was, and failed when the writer began it first (a test
// descheduled 10 ms before it moved the clock was shown "-20s").
func TestPausedTerminalLetGoShowsTheOutageUnderWay(t *testing.T) {
	tty, shown, resume := pausedTerminal(t)
	start := time.Now()
	var now atomic.Pointer[time.Time]
	now.Store(&start)
	notices := newStallNotices(&Factory{IO: &IOStreams{ErrOut: tty}}, tty, func() time.Time { return *now.Load() })
	defer notices.stop()
	const what = "Redis at redis://127.0.0.1:6379/0"
	for i := range 3 {
		notices.stalled(what, true, start.Add(time.Duration(i)*10*time.Second))
		if i == 0 {
			testenv.WaitFor(t, "the first stall's line begun", func() bool {
				notices.mu.Lock()
				defer notices.mu.Unlock()
				return notices.outages[what].said
			})
		}
		if i < 2 {
			notices.answered(what)
		}
	}
	later := start.Add(25 * time.Second)
	now.Store(&later)
	resume()
	line := regexp.MustCompile(`freshtoken: waiting for Redis at redis://127\.0\.0\.1:6379/0, which has not answered for (\d+)s…\r\n`)
	shown.WaitFor(t, "the notice of the stall under way", regexp.MustCompile(`(?s)(`+line.String()+`.*){2}`))
	notices.stop()
	lines := line.FindAllStringSubmatch(shown.String(), -1)
	if len(lines) != 2 || lines[0][1] != "0" || lines[1][1] != "5" {
		t.Errorf("the terminal let go shows:\n%s\nwant the line begun while it was paused (0s), then the stall under way's (5s)", shown)
	}
}
