//go:build unix

package e2e_test

import (
	"strings"
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

// TestDeviceLoginSeesALogInElsewhereAfterTheClockIsSetBack: a device
// log-in stops waiting once the environment is logged in another way (a
// second device log-in, approved), the clock set back (NTP, the time
// corrected) after it began. It looked for a log-in noted at its start
// or later, which the clock set back put before it: it waited on until
// its code expired, then said the log-in had failed (exit 3), the
// environment logged in.
func TestDeviceLoginSeesALogInElsewhereAfterTheClockIsSetBack(t *testing.T) {
	t.Parallel()
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: time.Second, DeviceCodeTTL: 30 * time.Second}, "", "")
	w.writeConfig(w.readConfig() + "grant = \"device_code\"\ndevice_auth_url = \"" + w.api + "v2/device_authorization\"\n")
	first, _ := w.startDeviceLogin()
	clock.Advance(t, -20*time.Second)
	second, code := w.startDeviceLogin()
	if err := w.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	second.waitExit(t, 0)
	if out := first.waitExit(t, 0); !strings.Contains(out, "was logged in another way meanwhile") {
		t.Fatalf("the first log-in said %q; want it to say the environment was logged in meanwhile", out)
	}
}
