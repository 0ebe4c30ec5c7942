package devprovider

import (
	"net/http"
	"time"
)

// window is a rolling-minute rate limiter: it holds the times of the requests it
// allowed in the minute before the latest check. Refused requests are not recorded,
// so a client that waits Retry-After always gets through.
type window []time.Time

// allow reports whether one more request at now stays within limit requests in the
// rolling minute, and records it if so; a negative limit is none.
func (w *window) allow(now time.Time, limit int) bool {
	if limit < 0 {
		return true
	}
	cutoff := now.Add(-time.Minute)
	kept := (*w)[:0]
	for _, t := range *w {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	*w = kept
	if len(kept) >= limit {
		return false
	}
	*w = append(kept, now)
	return true
}

// writeRateLimited answers 429 as FreeAgent does: Retry-After: 60 and a plain-text body.
func writeRateLimited(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "60")
	http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
}
