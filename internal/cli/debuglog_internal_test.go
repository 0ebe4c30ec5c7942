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
