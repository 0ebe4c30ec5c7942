package cli

import (
	"log/slog"
	"math"
	"regexp"
	"testing"
	"time"
)

// TestJSONDurationsReadBackExactly: a duration in JSON logs is a string of
// seconds that time.ParseDuration reads back as the very same duration, at
// every size and sign; written through a float64 of seconds, one past about
// 104 days lost its last nanoseconds ("1234567890.1234567s" for
// 1234567890.123456789 s), and the longest could not be read back at all
// ("9223372036.854776s" is past the largest duration).
func TestJSONDurationsReadBackExactly(t *testing.T) {
	seconds := regexp.MustCompile(`^-?[0-9]+(\.[0-9]*[1-9])?s$`)
	for _, d := range []time.Duration{0, 1, -1, 250 * time.Millisecond, time.Minute, -90 * time.Second, 480 * time.Hour,
		1234567890123456789, math.MaxInt64, math.MinInt64, 9*time.Second + 1} {
		a := durationsAsText(nil, slog.Duration("d", d))
		s := a.Value.String()
		back, err := time.ParseDuration(s)
		if err != nil || back != d || !seconds.MatchString(s) {
			t.Errorf("%d ns written %q, read back %v (%v); want it back exactly, in seconds", int64(d), s, back, err)
		}
	}
	for d, want := range map[time.Duration]string{time.Minute: "60s", 250 * time.Millisecond: "0.25s", time.Nanosecond: "0.000000001s", 0: "0s", -1500 * time.Millisecond: "-1.5s"} {
		if got := durationsAsText(nil, slog.Duration("d", d)).Value.String(); got != want {
			t.Errorf("%v written %q, want %q", d, got, want)
		}
	}
}
