package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// TestDebugLogMasksWhatComesLater: the --debug log, text and JSON, masks
// a token renewed after a logger was made With attributes quoting it (they
// were masked once, when bound), logs a []byte as its text masked (it was
// decimal numbers), finds a token Go-quoted with %q holding a quote and a
// byte that is not UTF-8, finds a Redis password of one byte repeated in
// the store's URL (url.UserPassword's escaping), and writes durations in
// JSON as seconds ("90s").
func TestDebugLogMasksWhatComesLater(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var out bytes.Buffer
			f := &Factory{IO: &IOStreams{ErrOut: &out}, Debug: true, LogFormat: format}
			if err := f.setupLogging(); err != nil {
				t.Fatal(err)
			}
			token := "renewed\"token\xff-0123456789abcdefghij-" + format
			log := f.Logger().With("component", "proxy", "last", fmt.Sprintf("%q", token))
			log.Debug("before the renewal")
			redact.Set(t.Name(), token)
			t.Cleanup(func() { redact.Set(t.Name()); redact.Set(t.Name()) })
			// A Redis password of one byte repeated, registered as
			// config.OpenStore does, quoted in the store's URL as
			// url.UserPassword escapes it.
			password := strings.Repeat("P", 20) + ",;:!$&+=" + format
			redact.Register(password)
			store := (&url.URL{Scheme: "redis", User: url.UserPassword("default", password), Host: "127.0.0.1:6379"}).String()
			out.Reset()
			log.Warn("the store failed", "err", errors.New("dial "+store+": connection refused"))
			if s := out.String(); strings.Contains(s, strings.Repeat("P", 9)) || !strings.Contains(s, fmt.Sprintf("…(%d chars)", len(password))) {
				t.Fatalf("the debug log showed the store's password:\n%s", s)
			}
			out.Reset()
			log.Debug("renewed", "answer", []byte(`{"access_token":"`+token+`"}`), "remaining", 90*time.Second)
			got := out.String()
			if strings.Contains(got, "0123456789") || strings.Count(got, fmt.Sprintf("…(%d chars)", len(token))) != 2 || strings.Contains(got, "[123 34") {
				t.Fatalf("the debug log showed the token, or bytes as numbers:\n%s", got)
			}
			if format == "text" {
				if !strings.Contains(got, "remaining=1m30s") || !strings.Contains(got, `answer="{\"access_token\":\"`) {
					t.Errorf("the text log is not as Go writes it:\n%s", got)
				}
				return
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(got), &line); err != nil || line["remaining"] != "90s" || line["component"] != "proxy" {
				t.Errorf("the JSON line is not one line with remaining \"90s\" (%v):\n%s", err, got)
			}
		})
	}
}

// TestJSONLogShowsNoTerminalControl: the --log-format json log, which
// stderr shows on a terminal, writes a C1 control (U+009B, CSI to a
// terminal reading them in UTF-8), a bidirectional control (U+202E, which
// shows the text after it reversed), DEL or a line separator from a
// hostile provider's text, or from bytes logged, as a \u escape, which a
// JSON reader reads back as the same character: slog's JSON handler
// escapes only the controls below U+0020 and wrote these raw (DEL too,
// which the text format quotes as \x7f).
func TestJSONLogShowsNoTerminalControl(t *testing.T) {
	var out bytes.Buffer
	f := &Factory{IO: &IOStreams{ErrOut: &out}, Debug: true, LogFormat: "json"}
	if err := f.setupLogging(); err != nil {
		t.Fatal(err)
	}
	const hostile = "invalid_grant\u009b31m red\u202eevil\u0085\u2028\u061c\x7f done é😀"
	f.Logger().Debug("the provider said "+hostile, "answer", hostile, "body", []byte(hostile))
	got := out.String()
	for _, r := range []rune{0x9b, 0x202e, 0x85, 0x2028, 0x61c, 0x7f} {
		if strings.ContainsRune(got, r) {
			t.Errorf("the JSON log wrote %U raw:\n%q", r, got)
		}
	}
	var line struct{ Msg, Answer, Body string }
	if err := json.Unmarshal(out.Bytes(), &line); err != nil || line.Msg != "the provider said "+hostile || line.Answer != hostile || line.Body != hostile {
		t.Errorf("the JSON line does not read back as logged (%v):\n%s", err, got)
	}
}
