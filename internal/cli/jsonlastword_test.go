package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONLogLastWordIsJSON: with --log-format json and the log on stderr,
// every line of stderr is a JSON line, the command's last word (an error,
// with its exit code) included; it was a "freshtoken: …" sentence, on which
// `2> >(jq …)` stopped exactly when the log mattered. A warning (a token
// shorter-lived than --min-valid) is a JSON line too, at level WARN. With --log-file the
// log is in the file and the last word on stderr stays a sentence.
func TestJSONLogLastWordIsJSON(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	for _, tc := range []struct {
		name string
		args []string
		exit int
		says string
	}{
		{"unknown env", []string{"-e", "nope", "token"}, 2, `environment "nope" is not configured`},
		{"API error", []string{"--debug", "get", "/v2/nothing"}, 4, "404"},
		{"exec of no such command", []string{"exec", "--", "freshtoken-no-such-command"}, 127, "no such command"},
		{"a warning", []string{"token", "--min-valid", "2h"}, 0, "less than --min-valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, stderr := testStreams(false, false)
			code := e.run(ios, append([]string{"--log-format", "json"}, tc.args...)...)
			if code != tc.exit {
				t.Fatalf("exit %d; want %d: %s", code, tc.exit, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			for _, l := range lines {
				if !json.Valid([]byte(l)) {
					t.Fatalf("stderr line %q is not JSON; all of stderr:\n%s", l, stderr)
				}
			}
			var last struct {
				Level string `json:"level"`
				Msg   string `json:"msg"`
				Exit  int    `json:"exit"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
				t.Fatal(err)
			}
			level := "ERROR"
			if tc.exit == 0 {
				level = "WARN"
			}
			if last.Level != level || last.Exit != tc.exit || !strings.Contains(last.Msg, tc.says) || strings.HasPrefix(last.Msg, "freshtoken:") {
				t.Fatalf("the last line is %+v; want level %s, exit %d and a message saying %q", last, level, tc.exit, tc.says)
			}
		})
	}
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "--log-format", "json", "--log-file", e.dir+"/log.json", "-e", "nope", "token"); code != 2 {
		t.Fatalf("exit %d; want 2: %s", code, stderr)
	}
	if !strings.HasPrefix(stderr.String(), "freshtoken: environment \"nope\"") {
		t.Fatalf("with --log-file, stderr is %q; want the sentence", stderr)
	}
}
