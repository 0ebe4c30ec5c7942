package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/apiclient"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/httpx"
)

// writeResponse prints resp and turns an error status into HTTPStatusError.
func writeResponse(f *Factory, resp *http.Response, include bool, env string) error {
	if include {
		var (
			out  io.Writer = f.IO.Out
			safe *termSafe
		)
		if f.IO.OutTTY { // the API wrote the reason phrase and the values
			safe = newTermSafe(out)
			out = safe
		}
		fmt.Fprintf(out, "%s %s\n", resp.Proto, resp.Status)
		for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(out, "%s: %s\n", k, v)
			}
		}
		fmt.Fprintln(out)
		if safe != nil {
			safe.Flush() // nothing held: the block ends with a line feed
		}
	}
	body := &apiBody{r: resp.Body}
	if err := writeBody(f, resp.Header.Get("Content-Type"), body); err != nil {
		var stalled *httpx.StalledError
		switch {
		case errors.As(body.err, &stalled):
			return &freshtoken.Error{Env: env, Kind: freshtoken.ErrUnreachable, Err: failure.ErrAPITimeout, Msg: fmt.Sprintf(
				"the API at %s stopped sending its answer (nothing more came for %s), so what was printed is incomplete; try again, or raise the environment's timeout setting", resp.Request.URL, stalled.After)}
		case body.err != nil && !errors.Is(body.err, context.Canceled):
			return &freshtoken.Error{Env: env, Kind: freshtoken.ErrUnreachable, Err: failure.ErrAPIUnreachable, Msg: fmt.Sprintf(
				"the API's answer from %s could not be read whole (%v), so what was printed is incomplete; try again", resp.Request.URL, body.err)}
		}
		return answered(err, env, resp.Request, resp.Status)
	}
	if resp.StatusCode >= 400 {
		return &HTTPStatusError{Env: env, Method: resp.Request.Method, URL: resp.Request.URL.String(), Status: resp.Status}
	}
	return nil
}

// apiBody is an answer's body that keeps the error its reading met, which
// is the API's (a connection lost, a body that cannot be unzipped), to
// tell it from stdout's.
type apiBody struct {
	r   io.Reader
	err error
}

func (b *apiBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// writeBody copies body to stdout: byte for byte unless stdout is a
// terminal. To a terminal, JSON of at most maxPretty bytes is indented
// (unless indented it would come to more than maxIndented),
// coloured unless colours are off, and ended with a newline; and whatever
// the body, the control characters the API wrote in it are shown, not
// acted on (see termSafe), and a last line left unfinished is ended.
func writeBody(f *Factory, contentType string, body io.Reader) error {
	out := f.IO.Out
	if !f.IO.OutTTY {
		_, err := io.Copy(out, body)
		return err
	}
	safe := newTermSafe(out)
	if !isJSON(contentType) {
		return copySafe(safe, body)
	}
	data, err := io.ReadAll(io.LimitReader(body, maxPretty+1))
	if err != nil {
		return err
	}
	if len(data) > maxPretty {
		if _, err := safe.Write(data); err != nil {
			return err
		}
		return copySafe(safe, body)
	}
	if indentedOver(data, maxIndented) {
		return copySafe(safe, bytes.NewReader(data))
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, bytes.TrimSpace(data), "", "  ") != nil {
		return copySafe(safe, bytes.NewReader(data)) // not JSON, whatever it claims
	}
	pretty.WriteByte('\n')
	// Valid JSON holds no C0 control but may hold C1 and bidirectional
	// controls, and bytes that are not UTF-8, in its strings; they are
	// shown before the colours' own escape sequences are added.
	var shown bytes.Buffer
	if err := copySafe(newTermSafe(&shown), &pretty); err != nil {
		return err
	}
	if colorsOff() {
		_, err = out.Write(shown.Bytes())
	} else {
		_, err = out.Write(colorJSON(shown.Bytes()))
	}
	return err
}

// copySafe copies body through safe, then writes what it held back, and
// ends the line it leaves unfinished, so that the terminal's next line
// (freshtoken's own on stderr, the shell's prompt) starts a line.
func copySafe(safe *termSafe, body io.Reader) error {
	if _, err := io.Copy(safe, body); err != nil {
		return err
	}
	if err := safe.Flush(); err != nil || !safe.midLine {
		return err
	}
	_, err := safe.w.Write([]byte{'\n'})
	return err
}

// maxPretty is the largest JSON body indented for a terminal; a larger
// one is passed through as it comes, rather than read whole into memory.
const maxPretty = 16 << 20

// maxIndented is the most a JSON body may come to once indented for a
// terminal; one that would come to more is shown as it came. Each line of
// the indented form begins with two spaces for every level it is nested
// in: a body of a few kilobytes nested thousands deep came to hundreds of
// megabytes, held in memory several times over on its way to the screen.
const maxIndented = 64 << 20

// indentedOver reports whether data, indented by json.Indent with two
// spaces, would come to more than limit bytes: each bracket, brace and
// comma outside a string may begin a new line, indented as deep as it
// is nested, and each colon gains a space.
func indentedOver(data []byte, limit int64) bool {
	size, depth := int64(len(data)), int64(0)
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			depth++
			size += 1 + 2*depth
		case ']', '}':
			size += 1 + 2*depth
			depth--
		case ',':
			size += 1 + 2*depth
		case ':':
			size++
		}
		if size > limit {
			return true
		}
	}
	return false
}

func isJSON(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "application/json") || strings.Contains(ct, "+json")
}

// colorsOff honours NO_COLOR (https://no-color.org) and dumb terminals.
func colorsOff() bool {
	return os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb"
}

// ANSI colours, as jq uses them.
const (
	colorKey    = "\x1b[34;1m"
	colorString = "\x1b[32m"
	colorNumber = "\x1b[36m"
	colorBool   = "\x1b[33m"
	colorNull   = "\x1b[90m"
	colorReset  = "\x1b[0m"
)

// colorJSON colours valid JSON text, leaving its layout as it is: object
// keys, strings, numbers, booleans and null each get their colour.
func colorJSON(data []byte) []byte {
	var b bytes.Buffer
	paint := func(color string, text []byte) {
		b.WriteString(color)
		b.Write(text)
		b.WriteString(colorReset)
	}
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			end := i + 1
			for end < len(data) && data[end] != '"' {
				if data[end] == '\\' {
					end++
				}
				end++
			}
			end = min(end+1, len(data))
			color := colorString
			if isKey(data[end:]) {
				color = colorKey
			}
			paint(color, data[i:end])
			i = end
		case c == '-' || c >= '0' && c <= '9':
			end := i + 1
			for end < len(data) && strings.IndexByte("0123456789.eE+-", data[end]) >= 0 {
				end++
			}
			paint(colorNumber, data[i:end])
			i = end
		case bytes.HasPrefix(data[i:], []byte("true")):
			paint(colorBool, data[i:i+4])
			i += 4
		case bytes.HasPrefix(data[i:], []byte("false")):
			paint(colorBool, data[i:i+5])
			i += 5
		case bytes.HasPrefix(data[i:], []byte("null")):
			paint(colorNull, data[i:i+4])
			i += 4
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.Bytes()
}

// isKey reports whether the text after a string starts with a colon, which
// makes the string an object key.
func isKey(rest []byte) bool {
	rest = bytes.TrimLeft(rest, " \t\r\n")
	return len(rest) > 0 && rest[0] == ':'
}

// pageProgress shows --all's progress on a terminal, one line rewritten in
// place. A nil *pageProgress shows nothing, so callers need not check
// whether stderr is a terminal.
type pageProgress struct {
	w     io.Writer
	shown int // the width of the line on the screen; 0 when none is
}

// update shows the page just read.
func (p *pageProgress) update(pg apiclient.Page) {
	if p == nil {
		return
	}
	line := fmt.Sprintf("page %d: %d items", pg.Number, pg.Items)
	if pg.Total >= 0 {
		line = fmt.Sprintf("page %d: %d of %d items", pg.Number, pg.Items, pg.Total)
	}
	line += strings.Repeat(" ", max(p.shown-len(line), 0)) // over a longer line before
	fmt.Fprintf(p.w, "\r%s", line)
	p.shown = len(line)
}

// clear takes the progress line off the screen; calling it again does
// nothing.
func (p *pageProgress) clear() {
	if p != nil && p.shown > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.shown))
		p.shown = 0
	}
}
