package cli

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestAttemptWatchEnds: a `freshtoken login` through the proxy ends early
// once the proxy, having said it holds the log-in, no longer does (it
// stopped: nothing listens; or it restarted: it answers that it does not),
// after a grace in which the store is still watched, and a longer one once
// the browser had come back, for the code exchange the stopping proxy
// finishes (it waited out its whole --timeout). A program that never said
// it held the log-in, or answers nothing usable, ends nothing.
func TestAttemptWatchEnds(t *testing.T) {
	const (
		held     = `{"held":true}`
		answered = `{"held":true,"answered":true}`
		notHeld  = `{"held":false}`
		garbage  = `<html>`
		stopped  = "" // nothing listens
	)
	for _, tc := range []struct {
		name    string
		answers []string      // in turn, the last for ever
		endsAt  time.Duration // after the last answer's first ask; 0: never
	}{
		{"stopped before the browser came back", []string{held, stopped}, lostGrace},
		{"restarted before the browser came back", []string{held, notHeld}, lostGrace},
		{"stopped during the code exchange", []string{held, answered, stopped}, lostGrace + proxy.ExchangeTimeout},
		{"restarted during the code exchange", []string{held, answered, notHeld}, lostGrace + proxy.ExchangeTimeout},
		{"answers nothing usable once it held it", []string{held, garbage}, 0},
		{"never held it (an older proxy)", []string{notHeld, stopped}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body atomic.Value
			srv := testenv.NewServerOnFreePort(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { // its port stays free once it stops
				io.WriteString(w, body.Load().(string))
			}))
			defer srv.Close()
			a := &attemptWatch{f: &Factory{}, env: "dev", base: srv.URL, attempt: "a1"}
			now := time.Now()
			for i, answer := range tc.answers {
				if answer == stopped {
					srv.Close()
				} else {
					body.Store(answer)
				}
				if i < len(tc.answers)-1 {
					if err := a.ended(t.Context(), now); err != nil {
						t.Fatalf("answered %q: %v; want no end yet", answer, err)
					}
					now = now.Add(attemptPoll)
				}
			}
			last := now
			for ; now.Sub(last) < time.Hour; now = now.Add(attemptPoll) {
				err := a.ended(t.Context(), now)
				var lost *proxyLostError
				switch {
				case err != nil && (!errors.As(err, &lost) || tc.endsAt == 0 || now.Sub(last) < tc.endsAt):
					t.Fatalf("%s after the last answer: %v; want an end after %s", now.Sub(last), err, tc.endsAt)
				case err != nil:
					return
				case tc.endsAt != 0 && now.Sub(last) > tc.endsAt+attemptPoll:
					t.Fatalf("no end %s after the last answer; want one after %s", now.Sub(last), tc.endsAt)
				}
			}
		})
	}
}
