// Package apiclient calls an HTTP API the way a patient person would. It
// waits out a 429 for as long as Retry-After asks and then retries, up to a
// ceiling after which it gives up with ErrRateLimited; it paces requests
// under the API's known per-minute limit, so a long read never meets a 429
// it could have avoided; and All follows Link: rel="next" to gather every
// page into one document shaped like a single page.
//
// It knows nothing about tokens: the *http.Client it is given adds them.
package apiclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// Defaults for the zero Client.
const (
	DefaultMaxRetries = 5
	DefaultMaxWait    = 2 * time.Minute
)

// ErrRateLimited means the API kept answering 429 Too Many Requests past the
// ceiling, or asked for a longer wait than the ceiling allows.
var ErrRateLimited = errors.New("rate limited by the API")

// RateLimitError is the 429 that ended the attempts.
type RateLimitError struct {
	URL     string
	Retries int           // retries already made
	Wait    time.Duration // what the last Retry-After asked for
	TooLong bool          // the wait alone was over MaxWait
}

func (e *RateLimitError) Error() string {
	if e.TooLong {
		return fmt.Sprintf("%s answered 429 Too Many Requests and asks to wait %s before trying again", redact.URL(e.URL), httpx.SayWait(e.Wait))
	}
	return fmt.Sprintf("%s kept answering 429 Too Many Requests after %d retries", redact.URL(e.URL), e.Retries)
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Wait describes a pause before retrying a 429, for the person watching.
type Wait struct {
	URL        string
	Delay      time.Duration
	Retry      int // this will be retry number Retry ...
	MaxRetries int // ... of at most MaxRetries
	// Asked is set when Delay is what the 429's Retry-After asked for;
	// otherwise the API gave no usable Retry-After and Delay is a back-off.
	Asked bool
	// AtOnce is set when Retry-After asked for no wait at all (0, or a
	// date past), and Delay is the second freshtoken waits all the same.
	AtOnce bool
	// Less is set when Retry-After asked for a date less than a second
	// ahead, and Delay is the second freshtoken waits all the same.
	Less bool
	// Unreadable is the Retry-After the API sent that could not be read
	// (-5, 1.5), Delay being a back-off; "" when it sent none, or one read.
	Unreadable string
}

// Clock tells the time and sleeps; tests pass one that only pretends to.
type Clock interface {
	Now() time.Time
	// Sleep returns after d, or with ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// Client sends requests through HTTP with the patience described above.
// Set its fields before its first use; it is then safe for concurrent use.
type Client struct {
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// PerMinute is the API's known limit of requests a minute; above zero,
	// requests are paced to stay under it. Zero means the limit is unknown.
	PerMinute int
	// MaxRetries is how many 429s in a row one request retries before it
	// gives up (default DefaultMaxRetries).
	MaxRetries int
	// MaxWait is the longest single Retry-After waited out (default
	// DefaultMaxWait); a longer one gives up at once.
	MaxWait time.Duration
	// MaxBytes is the most All reads of every page together, unzipped, and
	// of their next links (default DefaultMaxBytes): All holds them in
	// memory to join them, and the links to see that none leads back.
	MaxBytes int64
	// OnWait, when set, is told before each wait for a 429.
	OnWait func(Wait)
	Logger *slog.Logger // nil: discard
	Clock  Clock        // nil: real time

	once  sync.Once
	pacer *rate.Limiter
}

func (c *Client) init() {
	c.once.Do(func() {
		if c.HTTP == nil {
			c.HTTP = http.DefaultClient
		}
		if c.MaxRetries <= 0 {
			c.MaxRetries = DefaultMaxRetries
		}
		if c.MaxBytes <= 0 {
			c.MaxBytes = DefaultMaxBytes
		}
		if c.MaxWait <= 0 {
			c.MaxWait = DefaultMaxWait
		}
		if c.Logger == nil {
			c.Logger = slog.New(slog.DiscardHandler)
		}
		if c.Clock == nil {
			c.Clock = realClock{}
		}
		if c.PerMinute > 0 {
			c.pacer = newPacer(c.PerMinute)
		}
	})
}

// newPacer returns a token bucket that allows at most perMinute requests in
// any rolling minute, less a margin for the caller's other requests and for
// the requests' varying travel time: a burst b and a steady rate r with
// b + r·1min = perMinute - b.
func newPacer(perMinute int) *rate.Limiter {
	burst := max(1, perMinute/20)
	steady := max(1, perMinute-2*burst)
	return rate.NewLimiter(rate.Every(time.Minute/time.Duration(steady)), burst)
}

// Do sends req, waiting for the pacer first and retrying after each 429 as
// its Retry-After asks. A request with a body is retried only when the body
// can be replayed (req.GetBody is set, as http.NewRequest does for in-memory
// bodies); otherwise its 429 is returned as it is. Any answer other than 429
// is returned unread.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	c.init()
	ctx := req.Context()
	for retry := 0; ; retry++ {
		if err := c.pace(ctx); err != nil {
			return nil, err
		}
		attempt := req
		if retry > 0 {
			var err error
			if attempt, err = replay(req); err != nil {
				return nil, err
			}
		}
		resp, err := c.HTTP.Do(attempt)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, err
		}
		if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
			return resp, nil
		}
		now := c.Clock.Now()
		wait, known := httpx.RetryAfter(resp.Header, now)
		if !known {
			wait = time.Second << min(retry, 5)
		}
		// Closed unread: nothing bounds the body of an API's answer, and
		// one that stalls would hold the retry for ever.
		resp.Body.Close()
		switch {
		case wait > c.MaxWait:
			return nil, &RateLimitError{URL: req.URL.String(), Retries: retry, Wait: wait, TooLong: true}
		case retry >= c.MaxRetries:
			return nil, &RateLimitError{URL: req.URL.String(), Retries: retry, Wait: wait}
		}
		c.Logger.Debug("429 from the API; waiting before retrying", "url", redact.URL(req.URL.String()), "retry_after", resp.Header.Get("Retry-After"), "wait", wait, "retry", retry+1)
		if c.OnWait != nil {
			less, none := httpx.AsksLess(resp.Header, now)
			w := Wait{URL: req.URL.String(), Delay: wait, Retry: retry + 1, MaxRetries: c.MaxRetries, Asked: known, AtOnce: none, Less: less && !none}
			if !known {
				w.Unreadable = strings.TrimSpace(resp.Header.Get("Retry-After"))
			}
			c.OnWait(w)
		}
		if err := c.Clock.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// pace waits until one more request keeps under PerMinute.
func (c *Client) pace(ctx context.Context) error {
	if c.pacer == nil {
		return nil
	}
	now := c.Clock.Now()
	d := c.pacer.ReserveN(now, 1).DelayFrom(now)
	if d <= 0 {
		return nil
	}
	c.Logger.Debug("pacing to stay under the API's rate limit", "per_minute", c.PerMinute, "wait", d)
	return c.Clock.Sleep(ctx, d)
}

// replay returns a copy of req with a fresh body for another attempt.
func replay(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return r, nil
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return httpx.Wait(ctx, d) }
