//go:build linux

package cli_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/mattn/go-isatty"
	"golang.org/x/term"
)

// hostileText is an API's body written to take over a terminal: OSC 52
// (set the clipboard), OSC 8 (a link shown as other words), a title set,
// CSI, a C1 CSI (U+009B), a bidirectional override, a carriage return that
// writes over the line, DEL and a byte that is not UTF-8; then a CR LF
// line ending and a tab, which are text.
const hostileText = "a\x1b]52;c;ZXZpbA==\x07b\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\c\x1b]0;title\x07\x1b[2J\u009b31m\u202etxt.exe\r\nline2\rover\x7f\xff\tEND\n"

// hostileShown is hostileText as a terminal must be given it.
const hostileShown = "a^[]52;c;ZXZpbA==^Gb^[]8;;http://evil.example^[\\click^[]8;;^[\\c^[]0;title^G^[[2J<U+009B>31m<U+202E>txt.exe\r\nline2^Mover^?<FF>\tEND\n"

// hostileAPI serves bodies and headers written to take over a terminal.
func hostileAPI(provider http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/text":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, hostileText)
		case "/v2/html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, hostileText)
		case "/v2/notjson": // claims JSON, is not
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, hostileText)
		case "/v2/json": // valid JSON: an escaped ESC, raw C1 and bidi controls
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"a":"\u001b]52;c;ZXZpbA==\u0007","b":"`+"\u202e\u009b[2J"+`"}`)
		case "/v2/contacts": // --all's merged document
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"contacts":[{"first_name":"`+"\u202eAda\u009b[2J"+`"}]}`)
		case "/v2/status": // a reason phrase and a header value of the API's
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\u009b2J\r\nContent-Type: text/plain\r\nX-Evil: \u202eabc\u009b2J\r\nContent-Length: 2\r\n\r\nok")
			buf.Flush()
		default:
			provider.ServeHTTP(w, r)
		}
	})
}

// TestTerminalIsShownAnAPIsControlCharacters: `get` of a body an API wrote
// to take over a terminal (text/plain, text/html, a body that claims JSON
// and is not) shows its control characters on a terminal (a real
// pseudo-terminal, found to be one as freshtoken finds its standard
// output), as less does, and passes them unchanged to a file or a pipe;
// JSON keeps its escapes (\u001b) and shows the C1 and bidirectional
// controls in its strings, --all's merged document too; -i shows the
// reason phrase's and the headers' controls; a body's last line left
// unfinished is ended on a terminal, so that freshtoken's own line on
// stderr, or the prompt, does not continue it. They reached the terminal as
// they were: a body could set the clipboard, the title, or show a link to
// one place as another.
func TestTerminalIsShownAnAPIsControlCharacters(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	e := newDevEnvBehind(t, hostileAPI)
	e.login(t)
	for _, tt := range []struct {
		args        []string
		raw, onTerm string
	}{
		{[]string{"get", "/v2/text"}, hostileText, hostileShown},
		{[]string{"get", "/v2/html"}, hostileText, hostileShown},
		{[]string{"get", "/v2/notjson"}, hostileText, hostileShown},
		{[]string{"get", "/v2/json"},
			`{"a":"\u001b]52;c;ZXZpbA==\u0007","b":"` + "\u202e\u009b[2J" + `"}`,
			"{\n  \"a\": \"\\u001b]52;c;ZXZpbA==\\u0007\",\n  \"b\": \"<U+202E><U+009B>[2J\"\n}\n"},
		{[]string{"get", "/v2/contacts", "--all"},
			"{\"contacts\":[{\"first_name\":\"\u202eAda\u009b[2J\"}]}",
			"{\n  \"contacts\": [\n    {\n      \"first_name\": \"<U+202E>Ada<U+009B>[2J\"\n    }\n  ]\n}\n"},
		{[]string{"get", "-i", "/v2/status"},
			"HTTP/1.1 200 OK\u009b2J\nContent-Length: 2\nContent-Type: text/plain\nX-Evil: \u202eabc\u009b2J\n\nok",
			"HTTP/1.1 200 OK<U+009B>2J\nContent-Length: 2\nContent-Type: text/plain\nX-Evil: <U+202E>abc<U+009B>2J\n\nok\n"}, // the last line ended, so what comes next starts a line
	} {
		name := strings.Join(tt.args, " ")
		t.Run(name+" to a terminal", func(t *testing.T) {
			s := newScreen(t)
			if _, err := term.MakeRaw(int(s.tty.Fd())); err != nil { // the bytes as written, no CR added
				t.Fatal(err)
			}
			ios, _, stderr := testStreams(false, false)
			ios.Out, ios.OutTTY = s.tty, isatty.IsTerminal(s.tty.Fd())
			if code := e.run(ios, tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			s.expect(t, tt.onTerm[len(tt.onTerm)-2:])
			if got := s.String(); got != tt.onTerm {
				t.Errorf("the terminal was given\n%q\nwant\n%q", got, tt.onTerm)
			}
		})
		t.Run(name+" to a file", func(t *testing.T) {
			out, err := os.Create(t.TempDir() + "/out")
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			ios, _, stderr := testStreams(false, false)
			ios.Out, ios.OutTTY = out, isatty.IsTerminal(out.Fd())
			if code := e.run(ios, tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got, _ := os.ReadFile(out.Name()); string(got) != tt.raw {
				t.Errorf("the file holds\n%q\nwant the API's bytes unchanged\n%q", got, tt.raw)
			}
		})
		t.Run(name+" to a pipe", func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := make(chan []byte, 1)
			go func() { b, _ := io.ReadAll(bufio.NewReader(r)); got <- b }()
			ios, _, stderr := testStreams(false, false)
			ios.Out, ios.OutTTY = w, isatty.IsTerminal(w.Fd())
			code := e.run(ios, tt.args...)
			w.Close()
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if b := <-got; !bytes.Equal(b, []byte(tt.raw)) {
				t.Errorf("the pipe carried\n%q\nwant the API's bytes unchanged\n%q", b, tt.raw)
			}
		})
	}
}
