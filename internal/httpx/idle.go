package httpx

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// IdleLimit returns body, an answer's body, bounded by idle: a Read that
// waits idle for the next bytes closes body, which ends the wait and the
// connection, and fails with a *StalledError. Only the waits inside Read
// count: a reader slow to ask for more (a client slow to take what it is
// sent) is never cut off for it.
func IdleLimit(body io.ReadCloser, idle time.Duration) io.ReadCloser {
	b := &idleLimited{body: body, idle: idle, fired: make(chan struct{}), closed: make(chan struct{})}
	b.timer = time.AfterFunc(time.Duration(1<<63-1), b.expire)
	return b
}

type idleLimited struct {
	body  io.ReadCloser
	idle  time.Duration
	timer *time.Timer
	fired chan struct{} // closed once a wait ran out and body was closed

	closed    chan struct{} // closed by Close, which stops the timer
	closeOnce sync.Once
}

func (b *idleLimited) Read(p []byte) (int, error) {
	select {
	case <-b.fired:
		return 0, &StalledError{After: b.idle}
	default:
	}
	b.timer.Reset(b.idle)
	n, err := b.body.Read(p)
	if !b.timer.Stop() { // it ran out (expire has run, or is running), or Close stopped it
		select {
		case <-b.fired:
			return n, &StalledError{After: b.idle}
		case <-b.closed:
		}
	}
	return n, err
}

func (b *idleLimited) expire() {
	b.body.Close()
	close(b.fired)
}

// Close may come from another goroutine while a Read waits, to abandon the
// answer: that Read then ends with the body's own error.
func (b *idleLimited) Close() error {
	b.closeOnce.Do(func() { close(b.closed) })
	b.timer.Stop()
	return b.body.Close()
}

// StalledError is an answer whose sender sent nothing more of its body for
// After. It is a net.Error whose Timeout is true, as net/http's own
// time-outs are.
type StalledError struct{ After time.Duration }

func (e *StalledError) Error() string {
	return fmt.Sprintf("nothing more of the answer came for %s", e.After)
}

// Timeout reports true: the error is a time-out.
func (e *StalledError) Timeout() bool { return true }

// Temporary reports false (for net.Error).
func (e *StalledError) Temporary() bool { return false }
