package freshtoken

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken/internal/tokenerr"
)

// withRunningTimeout is context.WithTimeout for a token request, counting
// only the time this process ran: a process stopped while the provider
// answered (SIGSTOP, a frozen container, `docker pause`, a debugger) and
// continued past the timeout finds the answer whole in its socket, but a
// timer due long since fires at once too, as often as not first, and the
// answer, which may have rotated the refresh token, was dropped; sending
// the rotated-out token again ends the grant at a provider that detects
// reuse. Here time is counted by a ticker, a step at a time: a gap between
// two ticks much longer than a step (the process did not run) counts as
// one step, so that the answer read after the stop comes first, and a
// machine too loaded to tick on time still gives up within d / step ticks.
// The context's error is context.DeadlineExceeded once d has run, or the
// parent's; it has the parent's deadline (none for a renewal's).
func withRunningTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c := &runningCtx{Context: parent, done: make(chan struct{})}
	stop := make(chan struct{})
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			c.end(context.Canceled)
			close(stop)
		})
	}
	step := min(time.Second, max(d/10, time.Millisecond))
	go func() {
		tick := time.NewTicker(step)
		defer tick.Stop()
		last, ran := time.Now(), time.Duration(0)
		for {
			select {
			case <-stop:
				return
			case <-parent.Done():
				c.end(parent.Err())
				return
			case <-tick.C:
				now := time.Now()
				gap := now.Sub(last)
				if gap > 3*step { // stopped, or starved: one step
					gap = step
				}
				last, ran = now, ran+gap
				if ran >= d {
					c.end(context.DeadlineExceeded)
					return
				}
			}
		}
	}()
	return c, cancel
}

// timedOut is err, the failure of a token request sent under rctx
// (withRunningTimeout of work and s's Timeout), told as the time-out it
// is, a *tokenerr.TimeoutError, when rctx ended it; work's own end (the
// caller gave up, or its deadline came) is told as it was.
func (s *Source) timedOut(work, rctx context.Context, err error) error {
	if err == nil || !errors.Is(rctx.Err(), context.DeadlineExceeded) || work.Err() != nil {
		return err
	}
	return tokenerr.NewTimeoutError(s.set.Timeout, err)
}

// runningCtx is withRunningTimeout's context.
type runningCtx struct {
	context.Context // the parent: its values and deadline
	done            chan struct{}
	mu              sync.Mutex
	err             error
}

func (c *runningCtx) Done() <-chan struct{} { return c.done }

func (c *runningCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// end ends c with err, once.
func (c *runningCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}
