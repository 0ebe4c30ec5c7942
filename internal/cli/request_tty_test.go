//go:build linux

package cli_test

import (
	"bytes"
	"strings"
	"testing"
)

// TestBodyTypedAtATerminalIsAskedFor: -d @- with standard input a terminal
// says to type the body and how to end it, on stderr, then sends what was
// typed; it waited without a word, as if hung.
func TestBodyTypedAtATerminalIsAskedFor(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	s := newScreen(t)
	var stdout bytes.Buffer
	done := s.start(t, &stdout, "--config", e.config, "post", "/v2/dev/echo", "-d", "@-")
	s.expect(t, "Type the request body (-d @- reads it from the terminal), then Ctrl-D on a line of its own.")
	if _, err := s.ptmx.Write([]byte("{\"a\":1}\n\x04")); err != nil {
		t.Fatal(err)
	}
	if err := finished(t, done); err != nil {
		t.Fatalf("post -d @- at a terminal: %v\nscreen:\n%s", err, s)
	}
	if !strings.Contains(stdout.String(), `"body":"{\"a\":1}\n"`) {
		t.Fatalf("stdout %s; want the typed body sent", stdout.String())
	}
}
