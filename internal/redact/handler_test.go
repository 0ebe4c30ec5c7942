package redact_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/slogtest"
	"time"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// programLogger is a library program's own logger, in format ("text" or
// "json"), as freshtoken takes it (redact.Logger, as New and config.Open
// do).
func programLogger(format string, out io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	if format == "json" {
		return redact.Logger(slog.New(slog.NewJSONHandler(out, opts)))
	}
	return redact.Logger(slog.New(slog.NewTextHandler(out, opts)))
}

// TestBoundAttributesMaskSecretsRegisteredLater: attributes bound to a
// logger (Logger.With, also inside a WithGroup) are masked for secrets
// registered after the logger was made, as a token renewed after it is:
// they were masked once, when bound, and showed the new token whole in
// every line after.
func TestBoundAttributesMaskSecretsRegisteredLater(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			renewed := "renewed-after-the-logger-0123456789-" + format
			var buf bytes.Buffer
			log := programLogger(format, &buf).With("request", "https://api.example.com/x?t="+renewed).WithGroup("g").With("seen", []string{renewed})
			log.Info("before")
			buf.Reset()
			redact.Set(t.Name(), renewed)
			t.Cleanup(func() { redact.Set(t.Name()); redact.Set(t.Name()) })
			log.Info("after", "a", 1)
			log.WithGroup("h").With("k", "v").Info("later")
			if out := buf.String(); strings.Contains(out, renewed[8:]) || strings.Count(out, redact.Mask(renewed)) != 4 {
				t.Errorf("a secret registered after the logger was made showed, or was not masked twice in each line:\n%s", out)
			}
			if out := buf.String(); !strings.Contains(out, "g.h.k=v") && !strings.Contains(out, `"h":{"k":"v"}`) {
				t.Errorf("the groups and attributes bound are not as given:\n%s", out)
			}
		})
	}
}

// TestBytesAreMaskedAsText: a []byte (a token, an answer's body, a
// json.RawMessage) logs as the text it holds, with its secrets masked: it
// logged as decimal numbers ([115 51 …]), unreadable and unmasked, and a
// secret under a secret's name as the first characters of those numbers.
// A type of bytes that says how it prints (net.IP) prints so.
func TestBytesAreMaskedAsText(t *testing.T) {
	const secret = "bytes-secret-0123456789abcdefghij"
	redact.Register(secret)
	body := `{"access_token":"` + secret + `","expires_in":3600}`
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			programLogger(format, &buf).Info("answer", "body", []byte(body), "raw", json.RawMessage(body), "token", []byte(secret),
				slog.Group("g", "b", []byte("plain text")), "ip", net.IPv4(127, 0, 0, 1))
			out := buf.String()
			if strings.Contains(out, secret[8:]) || strings.Contains(out, "98 121 116") || strings.Count(out, redact.Mask(secret)) != 3 {
				t.Errorf("bytes were not masked as text:\n%s", out)
			}
			for _, want := range []string{"expires_in", "plain text", "127.0.0.1"} {
				if !strings.Contains(out, want) {
					t.Errorf("%q is not shown as text:\n%s", want, out)
				}
			}
		})
	}
}

// TestNestedBytesAreMaskedAsText: bytes inside what is logged (a struct's
// field, exported or not, a map's values, a slice's elements, a
// json.RawMessage, behind the pointer logged) show as the text they hold,
// with their secrets masked: fmt wrote them as decimal numbers, in which
// no secret was found. Bytes that are not UTF-8 show Go-quoted, so the
// line stays UTF-8 and a secret in them is still found.
func TestNestedBytesAreMaskedAsText(t *testing.T) {
	const secret = "nested-bytes-secret-0123456789abcdefghij"
	binary := "\xffbinary-secret-0123456789abcdefghij"
	redact.Register(secret, binary)
	type answer struct {
		Status int
		Body   []byte
		raw    json.RawMessage
	}
	values := map[string]any{
		"struct":  answer{Status: 400, Body: []byte(`{"error":"` + secret + `"}`), raw: json.RawMessage(`"` + secret + `"`)},
		"pointer": &answer{Body: []byte(secret)},
		"map":     map[string]json.RawMessage{"a": json.RawMessage(secret)},
		"slice":   [][]byte{[]byte("plain"), []byte(secret)},
		"any":     []any{struct{ B []byte }{[]byte(secret)}},
		"array":   struct{ A [40]byte }{A: [40]byte([]byte(secret))},
		"binary":  struct{ B []byte }{[]byte(binary)},
	}
	for _, format := range []string{"text", "json"} {
		for name, v := range values {
			t.Run(format+"/"+name, func(t *testing.T) {
				var buf bytes.Buffer
				programLogger(format, &buf).Info("answer", "x", v)
				out := buf.String()
				if strings.Contains(out, secret[8:]) || strings.Contains(out, "binary-secret") || strings.Contains(out, "116 101") || !utf8.ValidString(out) {
					t.Errorf("nested bytes were not masked as text:\n%s", out)
				}
				if !strings.Contains(out, "…(") {
					t.Errorf("nothing masked:\n%s", out)
				}
			})
		}
	}
}

// TestSecretInAnUnexportedFieldIsMasked: a Secret a program keeps in an
// unexported field (alone, in a slice, a map, a struct inside) of what it
// logs shows as Mask writes it, in text and JSON: fmt cannot ask such a
// field to print itself, and wrote the string it is, whole. A longer
// secret beginning with a shorter one is masked whole.
func TestSecretInAnUnexportedFieldIsMasked(t *testing.T) {
	const key, longer = "unexported-secret-0123456789", "unexported-secret-0123456789-and-more"
	type inner struct{ pw redact.Secret }
	type client struct {
		ID    string
		key   redact.Secret
		keys  []redact.Secret
		byEnv map[string]redact.Secret
		in    inner
	}
	v := client{ID: "client-id", key: key, keys: []redact.Secret{longer, key}, byEnv: map[string]redact.Secret{"dev": key}, in: inner{pw: key}}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		programLogger(format, &buf).Info("client", "c", v, "p", &v)
		out := buf.String()
		if strings.Contains(out, key[8:]) || !strings.Contains(out, redact.Mask(longer)) || !strings.Contains(out, "client-id") {
			t.Errorf("%s: a secret in an unexported field showed:\n%s", format, out)
		}
	}
}

// TestManyNestedBytesCostWhatTheirTextDoes: a value holding many slices
// of bytes (a provider's answer read into a map of json.RawMessage, with
// as many keys as it likes) is read as text in work that grows with its
// size: each slice was written as text into the whole line in turn, and
// a line of 10,000 took 7 s and 20 GB, 40,000 over a minute, while a
// renewal holding the lock waited on it.
func TestManyNestedBytesCostWhatTheirTextDoes(t *testing.T) {
	const n = 4000
	answer := map[string]json.RawMessage{}
	for i := range n {
		answer[fmt.Sprintf("field%05d", i)] = json.RawMessage(fmt.Sprintf(`"value %05d"`, i))
	}
	var buf bytes.Buffer
	log := programLogger("text", &buf)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	log.Info("answer", "body", answer)
	runtime.ReadMemStats(&after)
	each := (after.TotalAlloc - before.TotalAlloc) / n
	t.Logf("%d bytes for each slice", each)
	if each > 4<<10 {
		t.Errorf("a value of %d slices of bytes allocated %d bytes for each; want under 4 KiB", n, each)
	}
	if !strings.Contains(buf.String(), `field03999:\"value 03999\"`) {
		t.Errorf("the bytes were not shown as text:\n%.300s", buf.String())
	}
}

// TestJSONDurationsAreTextOfSeconds: a duration freshtoken logs through a
// program's own JSON handler is a string of seconds ("90s", "0.25s", as
// the command line's --log-format json writes it and docs/library.md
// shows), which time.ParseDuration reads back as the very same duration at
// every size and sign: slog's JSON handler wrote nanoseconds
// (5400000000000), which no person reads. The text handler still writes
// Go's own ("1m30s"); a duration in a group is written so too.
func TestJSONDurationsAreTextOfSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1: "0.000000001s", -1: "-0.000000001s", 250 * time.Millisecond: "0.25s", time.Minute: "60s", -90 * time.Second: "-90s",
		480 * time.Hour: "1728000s", 1234567890123456789: "1234567890.123456789s", 9*time.Second + 1: "9.000000001s",
		math.MaxInt64: "9223372036.854775807s", math.MinInt64: "-9223372036.854775808s",
	} {
		var buf bytes.Buffer
		programLogger("json", &buf).Info("renewed", "remaining", d, slog.Group("g", "skew", d))
		var line struct {
			Remaining string
			G         struct{ Skew string }
		}
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v", buf.String(), err)
		}
		back, err := time.ParseDuration(line.Remaining)
		if line.Remaining != want || line.G.Skew != want || err != nil || back != d {
			t.Errorf("%d ns logged %s, read back %v (%v); want %q", int64(d), strings.TrimSpace(buf.String()), back, err, want)
		}
	}
	var buf bytes.Buffer
	programLogger("text", &buf).Info("renewed", "remaining", 90*time.Second)
	if !strings.Contains(buf.String(), "remaining=1m30s") {
		t.Errorf("the text handler wrote %s; want remaining=1m30s", buf.String())
	}
}

// TestBoundAttributesAreReadWhenBound: what a logger is made With is read
// once, when bound, as slog's own handlers read it: a []byte or map the
// program changes afterwards, and a LogValuer, are logged as they were.
// Masked again for a secret registered later, they were read again then:
// a line showed what the program had since put in its buffer, and the
// race detector caught the program writing it as a line was logged.
func TestBoundAttributesAreReadWhenBound(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			buffer, seen := []byte("as bound"), map[string]int{"bound": 1}
			var resolved int
			var buf bytes.Buffer
			log := programLogger(format, &buf).With("buffer", buffer, "seen", seen, "valuer", countingValuer{&resolved})
			log.Info("before")
			copy(buffer, "CHANGED!")
			seen["changed"] = 2
			redact.Set(t.Name(), "registered-after-the-binding-0123456789-"+format)
			t.Cleanup(func() { redact.Set(t.Name()); redact.Set(t.Name()) })
			log.Info("after")
			out := buf.String()
			if strings.Contains(out, "CHANGED") || strings.Contains(out, "changed") || strings.Count(out, "as bound") != 2 {
				t.Errorf("a bound value changed after binding was read again:\n%s", out)
			}
			if resolved != 1 || strings.Count(out, "resolved 1") != 2 {
				t.Errorf("a bound LogValuer was resolved %d times; want once, when bound:\n%s", resolved, out)
			}
		})
	}
}

// countingValuer counts how often slog asks for its value.
type countingValuer struct{ n *int }

func (c countingValuer) LogValue() slog.Value {
	*c.n++
	return slog.StringValue("resolved " + strconv.Itoa(*c.n))
}

// selfMasked is bytes that say how they marshal, masked, as a program's
// type of a key may: in JSON and in text.
type selfMasked []byte

func (selfMasked) MarshalJSON() ([]byte, error) { return []byte(`"(hidden)"`), nil }
func (selfMasked) MarshalText() ([]byte, error) { return []byte("(hidden)"), nil }

// account says how it marshals to JSON, without its key.
type account struct{ User, APIKey string }

func (a account) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"user": a.User})
}

// panicky panics when asked how it marshals.
type panicky struct{}

func (panicky) MarshalText() ([]byte, error) { panic("cannot marshal") }

// TestValuesThatSayHowTheyMarshalAreShownSo: a value of a program's type
// that says how it marshals (MarshalText, MarshalJSON) and not how it
// prints is shown as it marshals, as slog's own handlers show it: a type
// of bytes that marshals masked showed its bytes whole as text, and a
// struct that leaves its key out of its JSON showed the key (fmt's %v).
// A nil pointer and a method that panics are said as slog says them.
func TestValuesThatSayHowTheyMarshalAreShownSo(t *testing.T) {
	const key, user = "self-masked-key-0123456789", "the-user"
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := programLogger(format, &buf)
			log.With("bound", selfMasked(key), "who", account{user, key}).Info("line", "given", selfMasked(key), "acct", account{user, key},
				slog.Group("g", "in", selfMasked(key)), "nil", (*account)(nil), "panics", panicky{})
			out := buf.String()
			if strings.Contains(out, key[5:]) || strings.Count(out, "(hidden)") != 3 || strings.Count(out, user) != 2 {
				t.Errorf("a value that marshals masked showed what it hides:\n%s", out)
			}
			if !strings.Contains(out, "<nil>") || !strings.Contains(out, "!PANIC: cannot marshal") {
				t.Errorf("a nil value or one whose method panics is not said to be, as slog says it:\n%s", out)
			}
		})
	}
}

// TestHandlerKeepsSlogsRules: the masking handler keeps the rules every
// slog.Handler keeps (testing/slogtest): an empty Attr, which a program
// passes for "nothing to add" (slog.Attr{}), was read as the text "<nil>"
// and written as `""=<nil>` in text and `"":"<nil>"` in JSON, where
// slog's handlers leave it out.
func TestHandlerKeepsSlogsRules(t *testing.T) {
	var buf bytes.Buffer
	h := redact.NewHandler(slog.NewJSONHandler(&buf, nil))
	err := slogtest.TestHandler(h, func() []map[string]any {
		var lines []map[string]any
		for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			lines = append(lines, m)
		}
		return lines
	})
	if err != nil {
		t.Error(err)
	}
}
