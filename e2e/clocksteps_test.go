//go:build unix

package e2e_test

import (
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestLoginThroughTheProxyEndsAfterTheClockIsSetBack: `login` through the
// proxy on its redirect address ends once the proxy has stored the log-in,
// the clock set back a minute (NTP, the time corrected) while the person
// approved. It looked for a log-in made since it began, by the log-in
// time the proxy stored, which the clock set back put before that: it
// waited out its time-out and said the log-in timed out, the tokens
// stored.
func TestLoginThroughTheProxyEndsAfterTheClockIsSetBack(t *testing.T) {
	t.Parallel()
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour}, "", "")
	w.login()
	_, addr := w.redirectAddr()
	w.startProxy(addr)
	p := w.watch("login", "--no-browser", "--timeout", "20s")
	approve := w.openLoginLink(p)
	clock.Advance(t, -time.Minute)
	followed(t, approve) // the person approves
	p.waitExit(t, 0)
	if st := w.provider.Stats(); st.Exchanges != 2 {
		t.Fatalf("provider saw %+v; want both log-ins", st)
	}
}
