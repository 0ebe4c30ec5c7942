package testenv

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/clock"
)

// Clock is a test's time, shared with the freshtoken binaries it runs
// built with the tag clock.Tag (given Env) and with an in-process provider
// (given Now): it runs with the system's clock, and Advance moves it on at
// once, in the test and in every binary, so that a test sees a token
// expire or a rest end without waiting for it.
type Clock struct {
	file string

	mu    sync.Mutex
	ahead time.Duration
}

// NewClock returns a clock at the system's time.
func NewClock(t testing.TB) *Clock {
	t.Helper()
	c := &Clock{file: filepath.Join(t.TempDir(), "clock")}
	c.write(t)
	return c
}

// Env is the variable that sets a binary's time to c.
func (c *Clock) Env() string { return clock.Env + "=" + c.file }

// Now is c's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.ahead)
}

// Advance moves c on by d; the binaries see it at their next reading.
func (c *Clock) Advance(t testing.TB, d time.Duration) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
	c.write(t)
}

// write writes c's offset to its file, whole or not at all, as the
// binaries read it.
func (c *Clock) write(t testing.TB) {
	t.Helper()
	err := atomicfile.Write(c.file, []byte(c.ahead.String()), atomicfile.Options{Sync: func(*os.File) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
}
