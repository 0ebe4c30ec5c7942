package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestBoundedLog: a log whose reader stops taking lines holds no writer
// for longer than the limit, then drops lines until the reader takes the
// one under way; it then gets every line after, whole and in order, told
// how many were dropped.
func TestBoundedLog(t *testing.T) {
	r, w := io.Pipe()
	defer r.Close()
	b := &boundedLog{w: w, limit: 10 * time.Millisecond}
	for i := range 5 { // nobody reads: each returns
		b.Write(fmt.Appendf(nil, "line %d\n", i))
	}
	first := make([]byte, len("line 0\n"))
	if _, err := io.ReadFull(r, first); err != nil || string(first) != "line 0\n" {
		t.Fatalf("the reader got %q, %v; want the line under way", first, err)
	}
	testenv.WaitFor(t, "the line under way to be written", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-b.pending:
			return true
		default:
			return false
		}
	})
	var (
		mu  sync.Mutex
		got bytes.Buffer
	)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := r.Read(buf)
			mu.Lock()
			got.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	b.Write([]byte("line 5\n"))
	want := "freshtoken: 4 log lines were dropped while the log was not being read\nline 5\n"
	testenv.WaitFor(t, "the reader to get the count and the next line", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return got.String() == want
	})
}

// TestBoundedLogFlushTellsTheLastDropped: lines dropped while the reader
// was away, with no line after them (the command ended), are told at the
// end once the reader takes the line under way; they went without a word,
// a warning among them.
func TestBoundedLogFlushTellsTheLastDropped(t *testing.T) {
	r, w := io.Pipe()
	defer r.Close()
	b := &boundedLog{w: w, limit: 10 * time.Millisecond}
	b.Write([]byte("line 0\n")) // nobody reads: left under way
	b.Write([]byte("level=WARN msg=\"the last word\"\n"))
	b.limit = time.Minute // the reader is back: flush waits for it
	got := make(chan string)
	go func() {
		all, _ := io.ReadAll(r)
		got <- string(all)
	}()
	b.flush()
	w.Close()
	want := "line 0\nfreshtoken: 1 log lines were dropped while the log was not being read\n"
	if s := <-got; s != want {
		t.Fatalf("the reader got %q; want %q", s, want)
	}
}

// TestJSONLogSaysDroppedLinesInJSON: with --log-format json, the line
// that counts the dropped lines is a JSON line too; it was a sentence, on
// which a reader of JSON lines (jq) stopped, and took no more of the log.
func TestJSONLogSaysDroppedLinesInJSON(t *testing.T) {
	var out bytes.Buffer
	f := &Factory{IO: &IOStreams{ErrOut: &out}, LogFormat: "json"}
	if err := f.setupLogging(); err != nil {
		t.Fatal(err)
	}
	f.log.dropped = 3 // as if the reader had been away
	f.Logger().Warn("next")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("the log is %q; want the count, then the line", out.String())
	}
	var note struct {
		Msg     string `json:"msg"`
		Dropped int    `json:"dropped"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &note); err != nil || note.Dropped != 3 || !strings.Contains(note.Msg, "dropped") {
		t.Fatalf("the count's line is %q (%v); want a JSON line with dropped 3", lines[0], err)
	}
	if !json.Valid([]byte(lines[1])) {
		t.Fatalf("the next line is %q; want JSON", lines[1])
	}
	f.log.flush() // nothing more to tell
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Fatalf("the log is %q after flush; want nothing added", out.String())
	}
}
