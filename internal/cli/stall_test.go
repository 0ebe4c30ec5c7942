package cli

import (
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// heldWriter holds each write until release is closed.
type heldWriter struct {
	release chan struct{}
	mu      sync.Mutex
	got     strings.Builder
}

func (h *heldWriter) Write(p []byte) (int, error) {
	<-h.release
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got.Write(p)
}

// TestStallCutKeepsTheLastWords: a write its reader leaves waiting is given
// up at the signal; the write after it (the "interrupted" line) waits for
// the one given up to land, and lands after it: a write under way as the
// signal came, ending a moment later, cost the next its place (the line
// saying the command was interrupted was dropped).
func TestStallCutKeepsTheLastWords(t *testing.T) {
	_, g, stop := guardSignals(io.Discard)
	defer stop()
	g.watch()
	h := &heldWriter{release: make(chan struct{})}
	c := &stallCut{g: g}
	first := make(chan error, 1)
	go func() {
		_, err := c.write(h, []byte("output\n"))
		first <- err
	}()
	g.cancel() // the first signal
	if err := <-first; !errors.Is(err, errStalled) {
		t.Fatalf("the write under way at the signal: %v; want it given up", err)
	}
	close(h.release) // the reader reads again
	if _, err := c.write(h, []byte("interrupted\n")); err != nil {
		t.Fatalf("the last words: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if got := h.got.String(); got != "output\ninterrupted\n" {
		t.Fatalf("written %q; want the output, then the last words", got)
	}
}

// TestStallCutWritesLargeOutputWhole: a document larger than the pieces a
// write hands its reader lands whole and in order while signals are
// watched.
func TestStallCutWritesLargeOutputWhole(t *testing.T) {
	_, g, stop := guardSignals(io.Discard)
	defer stop()
	g.watch()
	var got strings.Builder
	doc := strings.Repeat("0123456789abcdef", 3*stallChunk/16+5)
	if n, err := (&stallCut{g: g}).write(&got, []byte(doc)); n != len(doc) || err != nil {
		t.Fatalf("wrote %d of %d: %v", n, len(doc), err)
	}
	if got.String() != doc {
		t.Fatal("the document was not written whole and in order")
	}
}

// TestStallCutWriteBegunAsTheSignalCame: a write that looked for the
// signal just before it came, and then finds a write given up at it still
// waiting for its reader (two goroutines writing to stderr: a warning and
// the guard's own line), waits for it only until its limit: it waited with
// no limit, for as long as the reader did not read, and the process never
// ended.
func TestStallCutWriteBegunAsTheSignalCame(t *testing.T) {
	_, g, stop := guardSignals(io.Discard)
	defer stop()
	g.watch()
	h := &heldWriter{release: make(chan struct{})}
	defer close(h.release)
	// The state the write finds: another write was given up at the signal
	// (pending), which this write's look for the signal, earlier, missed.
	c := &stallCut{g: g, pending: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := c.write(h, []byte("warning\n"))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errStalled) {
			t.Fatalf("the write: %v; want it given up", err)
		}
	case <-time.After(10 * stallLimit):
		t.Fatal("the write still waits for the one given up before it, long past its limit")
	}
}
