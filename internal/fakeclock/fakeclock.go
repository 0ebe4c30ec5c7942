// Package fakeclock is a clock for tests that moves only when told to, so
// expiry and rate-limit logic is tested without waiting.
package fakeclock

import (
	"context"
	"sync"
	"time"
)

// Clock is safe for concurrent use. The zero value starts at the zero time;
// New starts at a fixed, readable instant.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
	// OnSleep, when set, runs after each Sleep has moved the time on.
	OnSleep func()
}

// New returns a clock at 2026-03-01 09:00 UTC.
func New() *Clock { return &Clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

// Now is the clock's time; pass it where a func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the time on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep moves the time on by d at once, unless ctx has ended.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept += d
	hook := c.OnSleep
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

// Slept is the total of every Sleep so far.
func (c *Clock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}
