package testenv

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Output keeps what a running command writes to its stdout or stderr, as
// it comes, so that a test can wait for a line while the command runs. Set
// it as the command's Stdout or Stderr, and Close it once the command has
// ended (cmd.Wait has returned).
type Output struct {
	changed chan struct{} // signalled after each write
	closed  chan struct{}
	close   sync.Once

	mu   sync.Mutex
	text strings.Builder
}

// NewOutput returns an empty Output.
func NewOutput() *Output {
	return &Output{changed: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Write keeps p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.text.Write(p)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Close says the command has ended: nothing more will come.
func (o *Output) Close() error {
	o.close.Do(func() { close(o.closed) })
	return nil
}

// Closed is closed when Close is called.
func (o *Output) Closed() <-chan struct{} { return o.closed }

// String is everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.text.String()
}

// WaitFor waits until the output matches re, and returns the match and its
// submatches. It fails the test, naming what it waited for, when the
// command ends without printing it or 30 seconds pass.
func (o *Output) WaitFor(t testing.TB, what string, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(o.String()); m != nil {
			return m
		}
		select {
		case <-o.changed:
		case <-o.closed:
			if m := re.FindStringSubmatch(o.String()); m != nil {
				return m
			}
			t.Fatalf("the command ended without printing %s; it printed:\n%s", what, o.String())
		case <-deadline:
			t.Fatalf("the command printed no %s in time; it printed:\n%s", what, o.String())
		}
	}
}
