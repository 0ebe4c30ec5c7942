package cli

import (
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// termSafe writes what an API wrote (a body, a status line, headers) to a
// terminal with its control characters shown rather than acted on, as
// less shows them: a terminal would otherwise take them as commands, and
// an API could set the clipboard (OSC 52), show a link to one place as
// another (OSC 8), set the window's title, move the cursor, write over a
// line just printed (a carriage return) or show text in another order (a
// bidirectional override). Line feeds and tabs pass, and so does a
// carriage return right before a line feed (a line ending); other C0
// controls and DEL are shown in caret notation (ESC as ^[, a lone CR as
// ^M), C1 controls (U+0080–U+009F, U+009B being CSI to some terminals),
// bidirectional controls and line or paragraph separators as <U+202E>,
// and bytes that are not UTF-8 as <9B>. Everything else, UTF-8 text
// included, passes unchanged.
//
// Writes may split a character or a CR LF: what cannot be told yet is
// held until the next Write, or Flush.
type termSafe struct {
	w    io.Writer
	held []byte // the start of a character, or a CR, cut off by a Write's end
	buf  []byte
	// midLine: what was written ends without a line feed.
	midLine bool
}

func newTermSafe(w io.Writer) *termSafe { return &termSafe{w: w} }

// Write shows p's control characters; it returns len(p) once what could be
// told of p has been written, or the writer's error.
func (t *termSafe) Write(p []byte) (int, error) {
	data := p
	if len(t.held) > 0 {
		data = append(t.held, p...)
		t.held = nil
	}
	rest := t.show(data, false)
	if len(rest) > 0 {
		t.held = append([]byte(nil), rest...)
	}
	if err := t.emit(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what was held back at the end of the last Write: a lone CR,
// or a character cut short, shown as the bytes it is.
func (t *termSafe) Flush() error {
	if len(t.held) == 0 {
		return nil
	}
	data := t.held
	t.held = nil
	t.show(data, true)
	return t.emit()
}

func (t *termSafe) emit() error {
	if len(t.buf) == 0 {
		return nil
	}
	t.midLine = t.buf[len(t.buf)-1] != '\n'
	_, err := t.w.Write(t.buf)
	t.buf = t.buf[:0]
	return err
}

// show adds data, its controls shown, to t.buf, and returns the end of
// data that cannot be told until more comes (unless final).
func (t *termSafe) show(data []byte, final bool) []byte {
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '\n' || c == '\t':
			t.buf = append(t.buf, c)
			i++
		case c == '\r':
			if i+1 == len(data) && !final {
				return data[i:]
			}
			if i+1 < len(data) && data[i+1] == '\n' {
				t.buf = append(t.buf, '\r', '\n')
				i += 2
				continue
			}
			t.buf = append(t.buf, '^', 'M')
			i++
		case c < 0x20:
			t.buf = append(t.buf, '^', c+0x40)
			i++
		case c == 0x7f:
			t.buf = append(t.buf, '^', '?')
			i++
		case c < utf8.RuneSelf:
			t.buf = append(t.buf, c)
			i++
		default:
			if !final && !utf8.FullRune(data[i:]) {
				return data[i:]
			}
			r, size := utf8.DecodeRune(data[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				t.buf = fmt.Appendf(t.buf, "<%02X>", c)
			case redact.Unsafe(r):
				t.buf = fmt.Appendf(t.buf, "<U+%04X>", r)
			default:
				t.buf = append(t.buf, data[i:i+size]...)
			}
			i += size
		}
	}
	return nil
}
