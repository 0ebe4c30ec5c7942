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
// log is in the file and the last word on stderr stays a sentence. Usage
// errors (an unknown flag or command, wrong arguments), which come before
// the log is set up, are JSON lines too, with exit 2; they were sentences.
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
		// Usage errors, which come before the log is set up: they were
		// sentences, whether --log-format came before the mistake or after.
		{"unknown flag", []string{"token", "--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown flag, the format after it", []string{"token", "--bogus"}, 2, "unknown flag: --bogus"},
		{"wrong arguments", []string{"status", "extra"}, 2, "freshtoken status takes no arguments"},
		{"unknown command", []string{"tokn"}, 2, `unknown command "tokn"`},
		{"a flag's bad value", []string{"token", "--min-valid", "soon"}, 2, "is not a length of time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, stderr := testStreams(false, false)
			args := append([]string{"--log-format", "json"}, tc.args...)
			if strings.Contains(tc.name, "after it") {
				args = append(tc.args, "--log-format", "json")
			}
			code := e.run(ios, args...)
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
	// A usage error too, wherever --log-file stands; and in text, a sentence.
	for _, args := range [][]string{
		{"--log-format", "json", "--log-file", e.dir + "/log.json", "token", "--bogus"},
		{"--log-format", "json", "token", "--bogus", "--log-file", e.dir + "/log.json"},
		{"token", "--bogus"},
		{"--log-format", "text", "token", "--bogus"},
	} {
		ios, _, stderr := testStreams(false, false)
		if code := e.run(ios, args...); code != 2 {
			t.Fatalf("%q: exit %d; want 2: %s", args, code, stderr)
		}
		if want := "freshtoken: unknown flag: --bogus; see `"; !strings.HasPrefix(stderr.String(), want) {
			t.Fatalf("%q: stderr is %q; want the sentence %q…", args, stderr, want)
		}
	}
}
