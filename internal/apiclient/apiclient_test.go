package apiclient

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

func TestDoWaitsOutRetryAfterAndSucceeds(t *testing.T) {
	r := newRig(t, devprovider.Options{RequestsPerMinute: 2})
	var waits []Wait
	c := &Client{HTTP: r.http, Clock: r.clock, OnWait: func(w Wait) { waits = append(waits, w) }}
	for i := range 4 {
		resp, err := c.Do(r.get(t, "/v2/company"))
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d: %s, want 200 once the wait is over", i+1, resp.Status)
		}
	}
	// Calls 1 and 2 used up the provider's 2 a minute; call 3 met its 429,
	// waited the 60 seconds its Retry-After asks and went through, opening a
	// new minute in which call 4 went through at once.
	if got := r.provider.Stats().RateLimited; got != 1 {
		t.Errorf("provider sent %d 429s, want 1", got)
	}
	if len(waits) != 1 || waits[0].Delay != 60*time.Second || waits[0].Retry != 1 || waits[0].MaxRetries != DefaultMaxRetries || !waits[0].Asked {
		t.Errorf("waits = %+v, want one of 60s, retry 1 of %d", waits, DefaultMaxRetries)
	}
	if got := r.clock.Slept(); got != 60*time.Second {
		t.Errorf("slept %s, want 60s", got)
	}
}

func TestDoReplaysTheBodyAfterA429(t *testing.T) {
	r := newRig(t, devprovider.Options{RequestsPerMinute: 1})
	c := &Client{HTTP: r.http, Clock: r.clock}
	send := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, r.url+"/v2/dev/echo", strings.NewReader(`{"n":1}`))
		if err != nil {
			t.Fatal(err)
		}
		return c.Do(req)
	}
	for i := range 2 {
		resp, err := send()
		if err != nil {
			t.Fatal(err)
		}
		var echo struct{ Body string }
		json.NewDecoder(resp.Body).Decode(&echo)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || echo.Body != `{"n":1}` {
			t.Fatalf("call %d: %s with body %q, want 200 echoing {\"n\":1}", i+1, resp.Status, echo.Body)
		}
	}
	if got := r.provider.Stats().RateLimited; got != 1 {
		t.Errorf("provider sent %d 429s, want 1 (the second call's first try)", got)
	}
}

// overLimit spends the provider's one request a minute with a first call
// through c, and returns what a second call gets.
func (r *rig) overLimit(t *testing.T, c *Client) error {
	t.Helper()
	resp, err := c.Do(r.get(t, "/v2/company"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = c.Do(r.get(t, "/v2/company"))
	return err
}

func TestDoGivesUp(t *testing.T) {
	t.Run("after MaxRetries 429s in a row", func(t *testing.T) {
		r := newRig(t, devprovider.Options{RequestsPerMinute: 1})
		// Another client of the same grant takes every slot that opens up
		// while this one waits.
		r.clock.OnSleep = func() {
			resp, err := r.http.Do(r.get(t, "/v2/users/me"))
			if err == nil {
				resp.Body.Close()
			}
		}
		c := &Client{HTTP: r.http, Clock: r.clock, MaxRetries: 2}
		err := r.overLimit(t, c)
		var rl *RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) || rl.Retries != 2 || rl.TooLong {
			t.Fatalf("err = %v, want a RateLimitError after 2 retries", err)
		}
		if !strings.Contains(err.Error(), "kept answering 429 Too Many Requests after 2 retries") {
			t.Errorf("message %q does not say what happened", err)
		}
		if got := r.provider.Stats().RateLimited; got != 3 {
			t.Errorf("provider sent %d 429s, want 3 (first try and 2 retries)", got)
		}
	})
	t.Run("at once when Retry-After is over MaxWait", func(t *testing.T) {
		r := newRig(t, devprovider.Options{RequestsPerMinute: 1})
		c := &Client{HTTP: r.http, Clock: r.clock, MaxWait: 30 * time.Second}
		err := r.overLimit(t, c)
		var rl *RateLimitError
		if !errors.As(err, &rl) || !rl.TooLong || rl.Wait != time.Minute {
			t.Fatalf("err = %v, want a RateLimitError for a 1m wait", err)
		}
		if r.clock.Slept() != 0 {
			t.Errorf("slept %s before giving up, want 0", r.clock.Slept())
		}
	})
}

func TestAllMergesEveryPage(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	c := &Client{HTTP: r.http, Clock: r.clock}
	var pages []Page
	doc, err := c.All(r.get(t, "/v2/contacts?per_page=10"), func(p Page) { pages = append(pages, p) })
	if err != nil {
		t.Fatal(err)
	}
	var got map[string][]struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(doc.Body, &got); err != nil {
		t.Fatalf("merged document is not JSON: %v\n%s", err, doc.Body)
	}
	if len(got) != 1 || len(got["contacts"]) != 42 {
		t.Fatalf("got keys %d and %d contacts, want only \"contacts\" with all 42", len(got), len(got["contacts"]))
	}
	for i, c := range got["contacts"] {
		if want := r.url + "/v2/contacts/" + strconv.Itoa(i+1); c.URL != want {
			t.Fatalf("contact %d is %s, want %s: every page, in order, once", i+1, c.URL, want)
		}
	}
	if doc.Pages != 5 || doc.Items != 42 || doc.ContentType != "application/json" {
		t.Errorf("doc = %d pages, %d items, %q; want 5, 42, application/json", doc.Pages, doc.Items, doc.ContentType)
	}
	if len(pages) != 5 || pages[0] != (Page{1, 10, 42}) || pages[4] != (Page{5, 42, 42}) {
		t.Errorf("progress = %+v, want 5 pages counting up to 42 of 42", pages)
	}
}

func TestAllReturnsALonePageByteForByte(t *testing.T) {
	r := newRig(t, devprovider.Options{Contacts: 3})
	resp, err := r.http.Do(r.get(t, "/v2/contacts"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc, err := (&Client{HTTP: r.http, Clock: r.clock}).All(r.get(t, "/v2/contacts"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(doc.Body) != string(want) || doc.Pages != 1 {
		t.Errorf("All = %d pages %q, want the page as sent: %q", doc.Pages, doc.Body, want)
	}
}

func TestAllStopsAtAnErrorStatus(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	_, err := (&Client{HTTP: r.http, Clock: r.clock}).All(r.get(t, "/v2/contacts/999"), nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Response.StatusCode != http.StatusNotFound || !strings.Contains(string(se.Body), "Resource not found") {
		t.Fatalf("err = %v, want a StatusError carrying the 404 body", err)
	}
}

// TestAllPacesUnderTheLimit reads 300 one-item pages from a provider that
// allows 120 requests a minute. Paced, it never meets a 429; unpaced, the
// same read does, which shows the pacing is what keeps it under.
func TestAllPacesUnderTheLimit(t *testing.T) {
	for _, tt := range []struct {
		name      string
		perMinute int
		want429   bool
	}{
		{"paced", 120, false},
		{"unpaced", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{Contacts: 300})
			c := &Client{HTTP: r.http, Clock: r.clock, PerMinute: tt.perMinute}
			doc, err := c.All(r.get(t, "/v2/contacts?per_page=1"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Pages != 300 || doc.Items != 300 {
				t.Fatalf("read %d pages, %d items; want 300 of each", doc.Pages, doc.Items)
			}
			if got := r.provider.Stats().RateLimited; (got > 0) != tt.want429 {
				t.Errorf("provider sent %d 429s; want some: %t", got, tt.want429)
			}
		})
	}
}

func TestNewPacerStaysUnderTheLimitInAnyMinute(t *testing.T) {
	for _, perMinute := range []int{1, 5, 120, 3600} {
		p := newPacer(perMinute)
		start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		now := start
		var sent []time.Time
		for now.Before(start.Add(5 * time.Minute)) {
			now = now.Add(p.ReserveN(now, 1).DelayFrom(now))
			sent = append(sent, now)
		}
		for i := range sent {
			n := 0
			for _, s := range sent[i:] {
				if s.Sub(sent[i]) < time.Minute {
					n++
				}
			}
			if n > perMinute {
				t.Fatalf("limit %d: %d requests in the minute from %s", perMinute, n, sent[i].Format(time.TimeOnly))
			}
		}
		if perMinute >= 20 && len(sent) < 5*perMinute*8/10 {
			t.Errorf("limit %d: only %d requests in 5 minutes; pacing is needlessly slow", perMinute, len(sent))
		}
	}
}

// TestAllFollowsSingleQuotedRels reads from a provider that writes
// rel='next', as FreeAgent does: every page is read, not only the first.
func TestAllFollowsSingleQuotedRels(t *testing.T) {
	r := newRig(t, devprovider.Options{SingleQuotedRels: true})
	doc, err := (&Client{HTTP: r.http, Clock: r.clock}).All(r.get(t, "/v2/contacts?per_page=10"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Pages != 5 || doc.Items != 42 || doc.Total != 42 || doc.Short() {
		t.Errorf("doc = %d pages, %d items of %d (short %t); want 5 pages, 42 of 42", doc.Pages, doc.Items, doc.Total, doc.Short())
	}
}

// dropLinks is a transport that hides the Link headers, as a proxy might,
// or as a parser that did not recognise them would see it.
type dropLinks struct{ base http.RoundTripper }

func (d dropLinks) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := d.base.RoundTrip(req)
	if err == nil {
		resp.Header.Del("Link")
	}
	return resp, err
}

// TestAllSaysWhenPagesWereMissed checks the safety net: a first page whose
// X-Total-Count promises more items than it holds, with no next link that
// All could follow, is reported as short.
func TestAllSaysWhenPagesWereMissed(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	hc := *r.http
	hc.Transport = dropLinks{base: r.http.Transport}
	doc, err := (&Client{HTTP: &hc, Clock: r.clock}).All(r.get(t, "/v2/contacts?per_page=10"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Pages != 1 || doc.Gathered != 10 || doc.Total != 42 || !doc.Short() {
		t.Errorf("doc = %d pages, %d of %d items, short %t; want 1 page of 10 of 42, short", doc.Pages, doc.Gathered, doc.Total, doc.Short())
	}
	full, err := (&Client{HTTP: r.http, Clock: r.clock}).All(r.get(t, "/v2/contacts?per_page=10"), nil)
	if err != nil || full.Short() || full.Gathered != 42 {
		t.Errorf("with the links: %v, %d items, short %t; want 42, not short", err, full.Gathered, full.Short())
	}
	// A read that starts after page 1 gets fewer items than the total, and
	// rightly so.
	for _, tt := range []struct {
		c    *http.Client
		want int
	}{{&hc, 10}, {r.http, 22}} {
		late, err := (&Client{HTTP: tt.c, Clock: r.clock}).All(r.get(t, "/v2/contacts?per_page=10&page=3"), nil)
		if err != nil || late.Short() || late.Gathered != tt.want {
			t.Errorf("from page 3: %v, %d items, short %t; want %d, not short", err, late.Gathered, late.Short(), tt.want)
		}
	}
}

// TestDoBacksOffWithoutRetryAfter checks a 429 with no Retry-After is
// waited out with a back-off that OnWait does not pass off as asked for.
func TestDoBacksOffWithoutRetryAfter(t *testing.T) {
	if waits := waitsForOne429(t, "", ""); len(waits) != 1 || waits[0].Asked || waits[0].Delay != time.Second {
		t.Errorf("waits = %+v, want one back-off of 1s, not asked for", waits)
	}
}

// TestDoWaitsAtLeastASecond: an API answering 429 with "Retry-After: 0",
// or a date already past, is retried after a second, not at once: a
// client that took 0 at its word answered each 429 with another request
// straight away, a burst against an API that had just said to stop.
// OnWait is told it asked for no wait (AtOnce), which it was not: the
// command said it waited 1s "as it asks".
func TestDoWaitsAtLeastASecond(t *testing.T) {
	now := fakeclock.New().Now().Add(midSecond) // waitsForOne429's
	for _, tt := range []struct {
		retryAfter   string
		atOnce, less bool
	}{
		{"0", true, false},
		{now.Add(-time.Hour).Format(http.TimeFormat), true, false},
		// Less than a second ahead: it said it waited 1s "as it asks".
		{now.Truncate(time.Second).Add(time.Second).Format(http.TimeFormat), false, true},
		{"1", false, false},
	} {
		if waits := waitsForOne429(t, tt.retryAfter, ""); len(waits) != 1 || !waits[0].Asked || waits[0].AtOnce != tt.atOnce || waits[0].Less != tt.less || waits[0].Delay != time.Second {
			t.Errorf("Retry-After %q: waits = %+v, want one wait of 1s, asked, AtOnce %t, Less %t", tt.retryAfter, waits, tt.atOnce, tt.less)
		}
	}
}

// TestDoCountsARetryAfterDateFromTheAPIsClock: an API whose clock is ten
// minutes behind this machine's (or ahead of it) answers 429 with a
// Retry-After date a minute ahead by its own clock, and its Date. The wait
// is that minute: counted from this machine's clock, the date was read as
// one already past, and the request retried after a second, the API's
// limit not over (or as eleven minutes ahead, waited out).
func TestDoCountsARetryAfterDateFromTheAPIsClock(t *testing.T) {
	now := fakeclock.New().Now().Add(midSecond) // waitsForOne429's
	for _, off := range []time.Duration{-10 * time.Minute, 10 * time.Minute} {
		apiNow := now.Add(off).Truncate(time.Second)
		waits := waitsForOne429(t, apiNow.Add(time.Minute).Format(http.TimeFormat), apiNow.Format(http.TimeFormat))
		if len(waits) != 1 || !waits[0].Asked || waits[0].AtOnce || waits[0].Less || waits[0].Delay != time.Minute {
			t.Errorf("the API's clock %v off: waits = %+v, want one wait of the minute it asks", off, waits)
		}
	}
}

// midSecond is how far into a second waitsForOne429's clock is: a
// Retry-After date, to the second, may be under a second ahead.
const midSecond = 500 * time.Millisecond

// waitsForOne429 is what OnWait is told of by a request to an API whose
// first answer is 429 with retryAfter ("" for none), sent at date by the
// API's clock (its Date header; "" for none), and whose next is 200.
func waitsForOne429(t *testing.T, retryAfter, date string) []Wait {
	t.Helper()
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n++; n == 1 {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header()["Date"] = nil // none unless date: Go's server gives its own
			if date != "" {
				w.Header().Set("Date", date)
			}
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	var waits []Wait
	clock := fakeclock.New()
	clock.Advance(midSecond)
	c := &Client{Clock: clock, OnWait: func(w Wait) { waits = append(waits, w) }}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return waits
}

// TestDoGivesUpOnAHugeRetryAfter: a Retry-After too large for a number is
// a very long wait, so the request gives up at once instead of retrying.
func TestDoGivesUpOnAHugeRetryAfter(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Retry-After", "99999999999999999999")
		http.Error(w, "come back much later", http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	clock := fakeclock.New()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	_, err := (&Client{Clock: clock}).Do(req)
	var rl *RateLimitError
	if !errors.As(err, &rl) || !rl.TooLong {
		t.Fatalf("err = %v, want a RateLimitError for a wait that is too long", err)
	}
	if n != 1 || clock.Slept() != 0 {
		t.Errorf("sent %d requests and slept %s; want 1 and none", n, clock.Slept())
	}
}

// TestDoDoesNotWaitForA429sBody: a 429 whose body never ends (a gateway
// that sent the headers and stalled) is not read before the retry: nothing
// bounds an API answer's body, and reading it to reuse the connection held
// `get` for ever, silently, before it even said it would wait.
func TestDoDoesNotWaitForA429sBody(t *testing.T) {
	testenv.RetriesPastAStalledBody(t, http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, func(string) func(*http.Request) (*http.Response, error) {
		return (&Client{Clock: fakeclock.New()}).Do
	})
}
