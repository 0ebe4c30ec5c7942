package freshtoken_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestRateLimitWaitsAtLeastASecond: after a 429 from the token endpoint the
// next try waits as long as Retry-After says, and never less than a second,
// so a provider answering "Retry-After: 0" does not get a burst of renewals.
// The waits are taken on the rig's clock, not slept.
func TestRateLimitWaitsAtLeastASecond(t *testing.T) {
	for _, tt := range []struct {
		retryAfter string
		want       time.Duration
	}{
		{"0", time.Second},
		{"3", 3 * time.Second},
		{"", time.Minute}, // FreeAgent's documented wait, when none is given
	} {
		name := "Retry-After " + tt.retryAfter
		if tt.retryAfter == "" {
			name = "no Retry-After"
		}
		t.Run(name, func(t *testing.T) {
			limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
			}))
			defer limited.Close()
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
			r.settings.RetryBackoff = []time.Duration{time.Millisecond} // one retry
			r.login(r.source())
			r.moveTokenEndpoint(limited.URL)
			src := r.source()
			freshtoken.SetPause(src, r.clock.Sleep)
			if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrUnreachable) {
				t.Fatalf("err = %v, want ErrUnreachable", err)
			}
			if got := r.clock.Slept(); got != tt.want {
				t.Fatalf("waited %s between the two tries; want %s", got, tt.want)
			}
		})
	}
}
