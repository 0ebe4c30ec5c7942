package httpx_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// TestRetryAfter: seconds and dates are read as a wait from now, never
// under a second (0 and dates past included); values that say nothing
// usable are unknown, and numbers too large are very long waits.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		wait  time.Duration
		known bool
	}{
		{"60", time.Minute, true},
		{" 1 ", time.Second, true},
		{"0", time.Second, true}, // at least MinRetryAfter: 0 is no licence for a burst
		{"-0", time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), time.Second, true},
		{now.Add(300 * time.Millisecond).Format(http.TimeFormat), time.Second, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
		{"99999999999999999999", time.Duration(1<<31) * time.Second, true},
	}
	for _, tt := range tests {
		wait, known := httpx.RetryAfter(tt.value, now)
		if wait != tt.wait || known != tt.known {
			t.Errorf("RetryAfter(%q) = %s, %t; want %s, %t", tt.value, wait, known, tt.wait, tt.known)
		}
	}
}

func TestPrintableASCII(t *testing.T) {
	for s, want := range map[string]bool{
		"dev_at_abc-._~+/=": true, "a b": true, "": true,
		"a\x1b]52;c;x\x07": false, "a\rb": false, "a\nb": false, "\x7f": false, "é": false, "\xff": false,
	} {
		if got := httpx.PrintableASCII(s); got != want {
			t.Errorf("PrintableASCII(%q) = %v, want %v", s, got, want)
		}
	}
}
