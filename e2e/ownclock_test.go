//go:build unix

package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// The tests here run the binary on a test clock moved on (see
// newClockedWorld): each command must count by that one clock wherever it
// compares a time with one it or another process stored or sent, as the
// plain build counts by the system's alone.

// TestDeviceLoginGoesByItsOwnClock: a device log-in counts by the one
// clock the binary goes by, here a test clock moved an hour on, over an
// earlier log-in made on it. It said the code expired in 1h10m, reading
// the system's clock for the one and the test's for the other, and it
// took the earlier log-in, stored at the test clock's time, for one made
// since it began, another way: it said so and stopped, the code never
// approved.
func TestDeviceLoginGoesByItsOwnClock(t *testing.T) {
	t.Parallel()
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: time.Second}, "", "")
	w.writeConfig(w.readConfig() + "grant = \"device_code\"\ndevice_auth_url = \"" + w.api + "v2/device_authorization\"\n")
	clock.Advance(t, time.Hour)
	for i := range 2 {
		rc, code := w.startDeviceLogin()
		rc.stderr.WaitFor(t, "the code's lifetime", regexp.MustCompile(`the code expires in 10m \(Ctrl-C to stop\)`))
		// A poll answered "not yet" first, after which the log-in looks
		// in the store for one made meanwhile.
		polled := w.provider.Stats().TokenRequests
		testenv.WaitFor(t, "a poll", func() bool { return w.provider.Stats().TokenRequests > polled })
		if err := w.provider.DecideDevice(code, true); err != nil {
			t.Fatal(err)
		}
		if stderr := rc.waitExit(t, 0); strings.Contains(stderr, "another way") {
			t.Fatalf("log-in %d took the one before it for one made meanwhile:\n%s", i+1, stderr)
		}
	}
	if st := w.provider.Stats(); st.DeviceLogins != 2 {
		t.Fatalf("provider saw %+v; want both device log-ins", st)
	}
}

// TestLoginThroughTheProxyGoesByItsOwnClock: `login` through the proxy on
// its redirect address, over a log-in made earlier on the test clock,
// moved an hour on, waits for the person to approve. It counted the
// log-in's start on the system's clock: the proxy, on the test clock,
// took its link for one that had stopped waiting an hour ago, and the
// earlier log-in, stored at the test clock's time, passed for this one.
func TestLoginThroughTheProxyGoesByItsOwnClock(t *testing.T) {
	t.Parallel()
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour}, "", "")
	clock.Advance(t, time.Hour)
	w.login()
	_, addr := w.redirectAddr()
	w.startProxy(addr)
	p := w.watch("login", "--no-browser", "--timeout", "30s")
	approve := w.openLoginLink(p)
	if st := w.provider.Stats(); st.Exchanges != 1 {
		t.Fatalf("provider saw %+v before the person approved; want the first log-in alone", st)
	}
	followed(t, approve) // the person approves
	p.waitExit(t, 0)
	if st := w.provider.Stats(); st.Exchanges != 2 {
		t.Fatalf("provider saw %+v; want both log-ins", st)
	}
}

// TestImportGoesByItsOwnClock: `import postman` judges an exported access
// token's expiry on the clock the binary goes by: on a test clock moved an
// hour on, a token that expires half an hour from the system's time has
// expired. It said the token was valid, reading the system's clock.
func TestImportGoesByItsOwnClock(t *testing.T) {
	t.Parallel()
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour}, "", "")
	w.writeConfig(fmt.Sprintf("[store]\nurl = \"file://%s\"\n", w.store))
	clock.Advance(t, time.Hour)
	export := filepath.Join(w.dir, "export.json")
	values := fmt.Sprintf(`{"key": "ClientId", "value": "dev-client-id"}, {"key": "ClientSecret", "value": "dev-client-secret", "type": "secret"},
		{"key": "Resource_dev", "value": %q}, {"key": "RefreshToken_dev", "value": "rt-dev-0123456789abcdef"},
		{"key": "AccessToken_dev", "value": "at-dev-0123456789abcdef"}, {"key": "AccessTokenExp_dev", "value": %q}`,
		w.api, time.Now().Add(30*time.Minute).UTC().Format(time.RFC3339))
	if err := os.WriteFile(export, []byte(`{"name": "FreeAgent", "values": [`+values+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := w.mustRun("import", "postman", export)
	if said := r.stdout + r.stderr; !strings.Contains(said, "access token expired") {
		t.Fatalf("import said:\n%s\nwant the access token expired, by the binary's clock", said)
	}
}

// TestNotifyRetriesGoByItsOwnClock: a notice whose command failed is
// tried again a minute on by the clock the keeper goes by: on a test
// clock moved past that minute, it is tried at the keeper's next look. The
// notifier counted its waits on the system's clock, so the test clock
// could not move them on.
func TestNotifyRetriesGoByItsOwnClock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	told, failed := filepath.Join(dir, "told"), filepath.Join(dir, "failed-once")
	// The keeper renews the refresh token 6 minutes before it expires.
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: 24 * time.Hour, RefreshTTL: time.Hour}, "", "")
	command := fmt.Sprintf(`if [ -e %s ]; then printf '%%s\n' "$FRESHTOKEN_EVENT" >> %s; else : > %s; exit 1; fi`, failed, told, failed)
	w.writeConfig(fmt.Sprintf("[notify]\ncommand = %q\n\n", command) + w.readConfig())
	w.login()
	w.startDaemon("proxy", "--no-listen")
	w.provider.RevokeGrants()
	clock.Advance(t, 55*time.Minute)
	testenv.WaitFor(t, "the notice's first try, which fails", func() bool { _, err := os.Stat(failed); return err == nil })
	// The failure's minute is counted from when the notifier noted it, which
	// may come just after the file above.
	movedUntil(t, clock, 2*time.Minute, "the notice tried again", func() bool {
		data, _ := os.ReadFile(told)
		return string(data) == "grant_ended\n"
	})
}
