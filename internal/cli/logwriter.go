package cli

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// logStallLimit is how long a log line may wait for its reader.
const logStallLimit = time.Second

// boundedLog is the log's writer, which no reader can stall for long: a
// line the reader has not taken within limit (a terminal on Ctrl-S, a
// pager not scrolled, a full pipe) is left to finish in the background,
// and the lines after it are dropped, and counted, until it has. The
// engine logs while it holds an environment's renewal lock, and a log
// that blocked for ever held every other process and machine of that
// environment waiting for the lock with it. Lines are written whole and
// in order; when the reader takes them again, a line says how many were
// dropped.
type boundedLog struct {
	w     io.Writer
	limit time.Duration

	mu      sync.Mutex
	pending chan struct{} // closed once the line left to finish is written; nil if none
	dropped int
}

func (b *boundedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending != nil {
		select {
		case <-b.pending:
			b.pending = nil
		default:
			b.dropped++
			return len(p), nil
		}
	}
	line := append([]byte(nil), p...) // p is the caller's again once Write returns
	if b.dropped > 0 {
		line = append(fmt.Appendf(nil, "freshtoken: %d log lines were dropped while the log was not being read\n", b.dropped), line...)
		b.dropped = 0
	}
	done := make(chan struct{})
	var err error
	go func() {
		_, err = b.w.Write(line)
		close(done)
	}()
	timer := time.NewTimer(b.limit)
	defer timer.Stop()
	select {
	case <-done:
		return len(p), err
	case <-timer.C:
		b.pending = done
		return len(p), nil
	}
}
