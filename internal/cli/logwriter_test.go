package cli

import (
	"bytes"
	"fmt"
	"io"
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
