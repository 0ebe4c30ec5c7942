package cli

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/internal/redact"
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
// dropped, and so does flush, at the end of the command.
type boundedLog struct {
	w     io.Writer
	limit time.Duration
	// note is the line that says n lines were dropped, in the log's
	// format (a JSON log's reader, jq say, takes JSON lines only); nil:
	// in words.
	note func(n int) []byte

	mu      sync.Mutex
	pending chan struct{} // closed once the line left to finish is written; nil if none
	dropped int
}

func (b *boundedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stillPending() {
		b.dropped++
		return len(p), nil
	}
	line := append([]byte(nil), p...) // p is the caller's again once Write returns
	if b.dropped > 0 {
		line = append(b.droppedNote(), line...)
		b.dropped = 0
	}
	return len(p), b.send(line)
}

// flush is for the end of the command: it waits up to the limit for the
// line left to finish, then says how many lines were dropped after it,
// which no later line will. (A command that ended while its log was
// paused dropped its last lines, a warning among them, without a word.)
func (b *boundedLog) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending != nil {
		timer := time.NewTimer(b.limit)
		defer timer.Stop()
		select {
		case <-b.pending:
			b.pending = nil
		case <-timer.C:
			return // still not read: nothing more can be said
		}
	}
	if b.dropped > 0 {
		note := b.droppedNote()
		b.dropped = 0
		b.send(note)
	}
}

// Close closes the log's file, unless a line is still left to finish in
// it: the process's end closes it then. Closing it waited for that line,
// which a reader that reads no more (a pipe, a terminal paused by Ctrl-S)
// held for ever, and the command's end, exit code and all, with it.
func (b *boundedLog) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stillPending() {
		return nil
	}
	if c, ok := b.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// stillPending reports whether the line left to finish is still being
// written, forgetting it once it has been. b.mu is held.
func (b *boundedLog) stillPending() bool {
	if b.pending == nil {
		return false
	}
	select {
	case <-b.pending:
		b.pending = nil
		return false
	default:
		return true
	}
}

func (b *boundedLog) droppedNote() []byte {
	if b.note != nil {
		return b.note(b.dropped)
	}
	return fmt.Appendf(nil, "freshtoken: %d log lines were dropped while the log was not being read\n", b.dropped)
}

// send writes line, waiting for the reader up to the limit; past it, the
// line is left pending. b.mu is held.
func (b *boundedLog) send(line []byte) error {
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
		return err
	case <-timer.C:
		b.pending = done
		return nil
	}
}

// jsonSafe writes the JSON log's lines with every character that would act
// on a terminal showing them (redact.Unsafe: a C1 control such as U+009B,
// CSI to a terminal reading them in UTF-8; a bidirectional control such
// as U+202E, which shows the text after it reversed; DEL) written as a \u
// escape, which a JSON reader reads back as the same character. slog's
// JSON handler escapes only those below U+0020, and wrote these raw from a
// hostile provider's text. Each Write is one line (slog writes a record
// whole, ending with the newline kept raw), and such characters are in
// the line's strings alone.
type jsonSafe struct{ w io.Writer }

func (j jsonSafe) Write(p []byte) (int, error) {
	// From DEL on: slog escapes the controls below U+0020, but for the
	// newline ending the line.
	unsafe := func(r rune) bool { return r >= 0x7f && redact.Unsafe(r) }
	if !bytes.ContainsFunc(p, unsafe) {
		return j.w.Write(p)
	}
	line := make([]byte, 0, len(p)+32)
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		if unsafe(r) {
			line = fmt.Appendf(line, `\u%04x`, r)
		} else {
			line = append(line, p[i:i+size]...)
		}
		i += size
	}
	_, err := j.w.Write(line)
	return len(p), err
}
