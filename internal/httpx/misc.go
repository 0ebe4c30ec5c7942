package httpx

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// MinRetryAfter is the shortest wait RetryAfter gives: a server that says
// 0, or a date already past, still asked to be left alone, and retrying at
// once would answer its 429 with a burst of requests.
const MinRetryAfter = time.Second

// LongestRetryAfter is the longest wait RetryAfter gives. A server asking
// for longer (a year, a date centuries away, a number too large to count)
// is counted as asking for a day: nothing in freshtoken waits that long,
// and a message saying 596523h told the user nothing (see SayWait).
const LongestRetryAfter = 24 * time.Hour

// RetryAfter reads the Retry-After of the answer whose header is h, in
// seconds or as an HTTP date, as a wait from now, never shorter than
// MinRetryAfter nor longer than LongestRetryAfter. A date is counted from
// the answer's own clock (see serverNow). known is false when there is no
// usable value (none, a negative number, words). A number of seconds too
// large to count is a very long wait, not none.
func RetryAfter(h http.Header, now time.Time) (wait time.Duration, known bool) {
	asked, known := askedWait(h, now)
	if !known {
		return 0, false
	}
	return min(max(asked, MinRetryAfter), LongestRetryAfter), true
}

// serverNow is when the answer whose header is h was sent, by its server's
// clock (its Date), which a Retry-After date is counted from: counted from
// this machine's clock, minutes off from the server's, a date a minute
// ahead was read as one already past (a machine ahead, retrying at once,
// the server's limit not over) or as many minutes ahead (a machine
// behind). now, this machine's clock, when h has no Date it can read, or
// one further than TrustedDateSkew from now: a server whose clock says
// 1970 or 9999 (or an hour off) has a broken clock, not this machine, and
// counted from it a Retry-After date a minute ahead was a wait of a day
// (LongestRetryAfter) or of none.
func serverNow(h http.Header, now time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil && t.Sub(now).Abs() <= TrustedDateSkew {
		return t
	}
	return now
}

// TrustedDateSkew is how far an answer's Date may be from this machine's
// clock and still be read as its server's clock (see serverNow): working
// clocks are minutes apart, and a renewal rests at most an hour after a
// provider's answer, however long it asks.
const TrustedDateSkew = time.Hour

// AsksLess reports whether the Retry-After of the answer whose header is h
// asks for less than MinRetryAfter, which RetryAfter makes it: a message
// saying it waits "as it asks" would not be true. none says it asks for no
// wait at all (0, or a date not after now), rather than for a date under a
// second ahead.
func AsksLess(h http.Header, now time.Time) (less, none bool) {
	asked, known := askedWait(h, now)
	return known && asked < MinRetryAfter, known && asked <= 0
}

// askedWait is the wait the Retry-After in h asks for, as it asks for it,
// but for a number of seconds too large to count, which is
// LongestRetryAfter.
func askedWait(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(LongestRetryAfter/time.Second))) * time.Second, true
	}
	if strings.Trim(v, "0123456789") == "" {
		return LongestRetryAfter, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(serverNow(h, now)), true
	}
	return 0, false
}

// SayWait is a wait from RetryAfter as a message shows it: to the second,
// or "a day or more" once it reaches LongestRetryAfter, which stands for
// any longer wait a server asked for.
func SayWait(d time.Duration) string {
	if d >= LongestRetryAfter {
		return "a day or more"
	}
	return d.Round(time.Second).String()
}

// Wait waits d, such as a Retry-After or a backoff, or until ctx ends, and
// then returns ctx's error.
func Wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// UnwrapURLError drops net/http's "Get URL:" prefix, which repeats what the
// client sent, and keeps what went wrong.
func UnwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// MaskURLError is err, when it is net/http's *url.Error, with its URL
// masked as messages show URLs (redact.URL: a key in its query, a user),
// so that a program printing the chain of an error that keeps it, or
// logging what errors.As finds, sees no key; errors.As still finds the
// *url.Error, and its Timeout and what it wraps are err's. Any other err
// is returned as it is.
func MaskURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return &url.Error{Op: ue.Op, URL: redact.URL(ue.URL), Err: ue.Err}
	}
	return err
}

// RandomToken is an unguessable value for a URL or a header (a log-in's
// state, a form's CSRF token): 32 random bytes, base64url-encoded.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// PrintableASCII reports whether s is printable ASCII, space included
// (RFC 6749's VSCHAR and SP): what a client id, a bearer token or an HTTP
// header value is made of, and what can be printed on a terminal without
// driving it (no escape sequences, carriage returns or look-alike letters).
func PrintableASCII(s string) bool { return strings.IndexFunc(s, NotPrintableASCII) < 0 }

// NotPrintableASCII reports whether r is outside printable ASCII, for
// finding the first such character (strings.IndexFunc).
func NotPrintableASCII(r rune) bool { return r < 0x20 || r > 0x7e }
