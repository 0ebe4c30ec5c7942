//go:build unix

package cli_test

import (
	"bytes"
	"os"
	"testing"
)

// TestEmptyBodyFileAppendedTo: `post -d @log.json >> log.json` of a file
// that is empty goes, with the empty body it holds: the shell's >> empties
// nothing, and it was refused saying the shell had emptied the file.
func TestEmptyBodyFileAppendedTo(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	t.Chdir(t.TempDir())
	out, err := os.OpenFile("log.json", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600) // as the shell's >>
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ios, _, stderr := testStreams(false, false)
	ios.Out = out
	if code := e.run(ios, "post", "/v2/dev/echo", "-d", "@log.json"); code != 0 {
		t.Fatalf("post -d @log.json >> log.json, log.json empty: exit %d, %s; want the empty body sent", code, stderr)
	}
	if b, _ := os.ReadFile("log.json"); !bytes.Contains(b, []byte(`"body":""`)) {
		t.Fatalf("log.json: %s; want the answer to the empty body appended", b)
	}
}
