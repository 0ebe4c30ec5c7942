package httpx_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
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
		{"99999999999999999999", httpx.LongestRetryAfter, true},
		{"9223372036", httpx.LongestRetryAfter, true},
		{"86400", httpx.LongestRetryAfter, true},
		{"86399", httpx.LongestRetryAfter - time.Second, true},
		{"Fri, 31 Dec 9999 23:59:59 GMT", httpx.LongestRetryAfter, true},
	}
	for _, tt := range tests {
		wait, known := httpx.RetryAfter(http.Header{"Retry-After": {tt.value}}, now)
		if wait != tt.wait || known != tt.known {
			t.Errorf("RetryAfter(%q) = %s, %t; want %s, %t", tt.value, wait, known, tt.wait, tt.known)
		}
	}
}

// TestRetryAfterBelievesOnlyAClock: a Retry-After date is counted from the
// answer's Date when it is within TrustedDateSkew of this machine's clock;
// a Date of 1970, of 9999, hours off or that is not a date is a broken
// clock's, and counted from it a date a minute ahead was a wait of a day
// or of none (a second, the server's limit not over).
func TestRetryAfterBelievesOnlyAClock(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	retryAfter := now.Add(time.Minute).Format(http.TimeFormat)
	for date, want := range map[string]time.Duration{
		"":                              time.Minute,
		"soon":                          time.Minute,
		"Thu, 01 Jan 1970 00:00:00 GMT": time.Minute,
		"Fri, 31 Dec 9999 23:59:59 GMT": time.Minute,
		now.Add(-5 * time.Hour).Format(http.TimeFormat):    time.Minute,
		now.Add(3 * time.Hour).Format(http.TimeFormat):     time.Minute,
		now.Add(-10 * time.Minute).Format(http.TimeFormat): 11 * time.Minute,
		now.Add(10 * time.Minute).Format(http.TimeFormat):  time.Second,
	} {
		h := http.Header{"Date": {date}, "Retry-After": {retryAfter}}
		if wait, _ := httpx.RetryAfter(h, now); wait != want {
			t.Errorf("Retry-After a minute ahead, Date %q: wait %v; want %v", date, wait, want)
		}
	}
}

// TestSayWait: a wait that reached LongestRetryAfter stands for any longer
// one a server asked for, and is said as such; a Retry-After too large to
// count was said as "596523h14m8s".
func TestSayWait(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]string{
		"99999999999999999999":          "a day or more",
		"Fri, 31 Dec 9999 23:59:59 GMT": "a day or more",
		"3600":                          "1h0m0s",
		"0":                             "1s",
	} {
		wait, _ := httpx.RetryAfter(http.Header{"Retry-After": {v}}, now)
		if got := httpx.SayWait(wait); got != want {
			t.Errorf("SayWait(RetryAfter(%q)) = %q, want %q", v, got, want)
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

// TestIdleLimit: a body whose sender stalls fails the Read with a
// *StalledError (a time-out); one closed by another goroutine while a Read
// waits (how a program abandons an answer) ends that Read at once, with the
// body's own error, rather than waiting for a time-out that was stopped.
func TestIdleLimit(t *testing.T) {
	stalled, w := io.Pipe()
	defer w.Close()
	body := httpx.IdleLimit(stalled, 50*time.Millisecond)
	var se *httpx.StalledError
	if _, err := body.Read(make([]byte, 8)); !errors.As(err, &se) || !se.Timeout() {
		t.Errorf("a stalled body's Read = %v, want a *StalledError", err)
	}

	abandoned := &waitingBody{reading: make(chan struct{}), closed: make(chan struct{})}
	body = httpx.IdleLimit(abandoned, time.Hour)
	read := make(chan error, 1)
	go func() {
		_, err := body.Read(make([]byte, 8))
		read <- err
	}()
	<-abandoned.reading
	body.Close()
	select {
	case err := <-read:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read of a body closed meanwhile = %v, want its own error (%v)", err, net.ErrClosed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a Read of a body closed by another goroutine is still waiting")
	}
	if err := body.Close(); err != nil {
		t.Errorf("a second Close = %v", err)
	}
}

// waitingBody is a body whose Read waits until it is closed, as a
// connection's does when the server sends nothing.
type waitingBody struct {
	reading, closed chan struct{}
	once            sync.Once
}

func (b *waitingBody) Read([]byte) (int, error) {
	close(b.reading)
	<-b.closed
	return 0, net.ErrClosed
}

func (b *waitingBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}
