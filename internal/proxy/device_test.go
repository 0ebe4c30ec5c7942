package proxy_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// deviceFixture is a fixture with environment "tv", which logs in with the
// device grant, and "machine", which uses client credentials.
func deviceFixture(t *testing.T) *fixture {
	return deviceFixtureWith(t, fixtureOptions{})
}

// deviceFixtureWith is deviceFixture with o's provider hook and store.
func deviceFixtureWith(t *testing.T, o fixtureOptions) *fixture {
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, onTokenRequest: o.onTokenRequest, storeURL: o.storeURL, defaultStore: o.defaultStore, moreConfig: func(f *fixture) string {
		api := strings.TrimSuffix(f.api, "/")
		return genericEnv(f, "tv", api) + fmt.Sprintf("grant = \"device_code\"\ndevice_auth_url = \"%sv2/device_authorization\"\n", f.api) +
			genericEnv(f, "machine", api) + "grant = \"client_credentials\"\n"
	}})
	// The provider paces polls by its clock, which is the proxy's fake
	// one: it must pass as the proxy's real-time polls do.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				f.clock.Advance(time.Second)
			}
		}
	}()
	return f
}

var userCode = regexp.MustCompile(`id="code-tv">([A-Z]{4}-[A-Z]{4})<`)

// deviceLogInMeeting begins a device log-in for tv on the status page
// after a log-in in a terminal, has store write other tokens at path (tv's
// record) while it waits for the person, waits for the log-in to end as
// the log says (logged), then approves its code as the person would, and
// returns the fixture and the page shown then, which must no longer show
// the code: its approval could only fail.
func deviceLogInMeeting(t *testing.T, store func(f *fixture, path string), logged string) (*fixture, []byte) {
	t.Helper()
	f := deviceFixture(t)
	f.logInInTerminal(t)
	f.clock.Advance(time.Minute) // the page's log-in begins after that one
	code := f.pressDeviceLogIn(t)
	store(f, filepath.Join(filepath.Dir(f.configPath), "store", "tv.json"))
	testenv.WaitFor(t, "the device log-in to end", func() bool { return strings.Contains(f.logs.String(), logged) })
	if err := f.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	_, page := f.get(t, "/")
	if userCode.Match(page) {
		t.Fatalf("the page still shows the code of a log-in that ended:\n%s", page)
	}
	return f, page
}

// pressDeviceLogIn presses tv's Log in and returns the user code the
// status page then shows.
func (f *fixture) pressDeviceLogIn(t *testing.T) string {
	t.Helper()
	f.pressEnv(t, "tv", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
	_, page := f.get(t, "/")
	m := userCode.FindSubmatch(page)
	if m == nil {
		t.Fatalf("the page shows no code:\n%s", page)
	}
	return string(m[1])
}

// logInInTerminal logs tv in as `freshtoken login` in a terminal does,
// with a device code of its own, approved at once.
func (f *fixture) logInInTerminal(t *testing.T) {
	t.Helper()
	d, err := f.source(t, "tv").StartDeviceLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.provider.DecideDevice(d.UserCode, true); err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
}

// TestDeviceLoginButton: the Log in button of a device_code environment
// shows the verification URL and the code on the page, and once the
// person approves, the page shows the environment logged in and the code
// gone.
func TestDeviceLoginButton(t *testing.T) {
	f := deviceFixture(t)
	resp := f.pressEnv(t, "tv", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
	loc := resp.Header.Get("Location")
	if unsigned(loc) != "/?done=device-login&env=tv" {
		t.Fatalf("Log in answered %d to %q; want the status page showing the code", resp.StatusCode, loc)
	}
	_, page := f.get(t, loc)
	m := userCode.FindSubmatch(page)
	if m == nil || !strings.Contains(string(page), ">"+f.api+"v2/device</a>") || !strings.Contains(string(page), "To log in to tv, open the page shown below") {
		t.Fatalf("the page shows no verification URL and code:\n%s", page)
	}
	if err := f.provider.DecideDevice(string(m[1]), true); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the device log-in to be stored", func() bool {
		rec, _ := f.source(t, "tv").Record(t.Context())
		return rec != nil
	})
	_, page = f.get(t, "/")
	if userCode.Match(page) || !regexp.MustCompile(`id="env-tv" data-state="logged-in"`).Match(page) {
		t.Fatalf("after approval the page still shows the code, or not tv logged in:\n%s", page)
	}
	if resp, _ := f.get(t, "/tv/v2/company"); resp.StatusCode != 200 {
		t.Fatalf("a request through the proxy after the device log-in got %d", resp.StatusCode)
	}
	if st := f.provider.Stats(); st.DeviceLogins != 1 || st.DeviceAuthorizations != 1 {
		t.Fatalf("provider saw %+v; want one device authorisation and log-in", st)
	}
}

// TestStoppingEndsADeviceLogInsWait: a proxy asked to stop ends the waits
// of the device log-ins it began, before Serve returns. Their polls went on
// after it, writing into the store until the process exited under them.
func TestStoppingEndsADeviceLogInsWait(t *testing.T) {
	f := deviceFixture(t)
	f.pressDeviceLogIn(t)
	f.stop()
	if !strings.Contains(f.logs.String(), "device log-in abandoned: the proxy is stopping") {
		t.Fatalf("Serve returned with the device log-in still waiting:\n%s", f.logs)
	}
}

// TestStoppingSeesADeviceLogInsPollThrough: a proxy asked to stop while a
// device log-in's poll is in flight waits for its answer and stores the
// tokens it brings before Serve returns: the provider has spent the device
// code, and the log-in would be lost with the process.
func TestStoppingSeesADeviceLogInsPollThrough(t *testing.T) {
	var hold sync.Once
	inFlight, release := make(chan struct{}), make(chan struct{})
	f := deviceFixtureWith(t, fixtureOptions{onTokenRequest: func(grant string) {
		if grant == "urn:ietf:params:oauth:grant-type:device_code" {
			hold.Do(func() {
				close(inFlight)
				<-release
			})
		}
	}})
	if err := f.provider.DecideDevice(f.pressDeviceLogIn(t), true); err != nil {
		t.Fatal(err)
	}
	<-inFlight
	stored := f.stopInBackground(t, "tv")
	testenv.WaitFor(t, "the proxy to stop listening", func() bool {
		c, err := net.Dial("tcp", f.addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(release)
	if !<-stored {
		t.Fatal("Serve returned before the tokens of the device log-in's last poll were stored")
	}
}

// TestClientCredentialsOnThePage: no Log in button, and Fetch a token
// fetches one.
func TestClientCredentialsOnThePage(t *testing.T) {
	f := deviceFixture(t)
	_, page := f.get(t, "/")
	if strings.Contains(string(page), `id="login-machine"`) || !strings.Contains(string(page), "uses client credentials: no log-in is needed") {
		t.Fatalf("the page offers a log-in for client credentials:\n%s", page)
	}
	resp := f.pressEnv(t, "machine", "renew", url.Values{"csrf": {f.csrf(t)}}, f.base)
	if resp.StatusCode != 303 || f.provider.Stats().ClientCredentials != 1 {
		t.Fatalf("Fetch a token: %d, %+v", resp.StatusCode, f.provider.Stats())
	}
	// The token fetched is counted as status counts it ("last token:
	// fetched …; 1 so far"): the page said "Last renewal", "Renewals so
	// far 0".
	_, page = f.get(t, "/")
	card := string(page)[strings.Index(string(page), `id="env-machine"`):]
	for _, want := range []string{"Last token fetched</dt>", "Tokens fetched</dt><dd>1</dd>"} {
		if !strings.Contains(card, want) {
			t.Errorf("after one token fetched, the page lacks %s:\n%s", want, card)
		}
	}
	resp = f.pressEnv(t, "machine", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
	if loc := resp.Header.Get("Location"); unsigned(loc) != "/?done=login-not-needed&env=machine" {
		t.Fatalf("Log in for client credentials led to %q", loc)
	}
}

// TestBrowserDeviceLogin is a person logging in to a device_code
// environment from the status page: Log in shows the code, they open the
// verification page it links to (the code filled in), approve, and the
// status page turns to logged in by itself.
func TestBrowserDeviceLogin(t *testing.T) {
	exe := chromium(t)
	f := deviceFixture(t)
	ctx := browser(t, exe)
	pressLogIn(ctx, t, f, "tv", "code-tv")
	code := text(ctx, t, "#code-tv")
	link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#device-tv a").href`))
	if err != nil {
		t.Fatal(err)
	}
	statusPage, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("approve")),
	)
	if err != nil {
		t.Fatal(err)
	}
	filled, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#user_code").value`))
	if err != nil || filled != code {
		t.Fatalf("the verification page has %q filled in, want %q (%v)", filled, code, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("message")),
		chromedp.Navigate(statusPage),
		chromedp.WaitVisible(chromedp.CSS(`#env-tv[data-state="logged-in"]`)), // status.js refreshes the page
	)
	if err != nil {
		t.Fatalf("approving: %v\nproxy log:\n%s", err, f.logs.String())
	}
	if gone, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#code-tv") === null`)); err != nil || !gone {
		t.Fatalf("the code is still shown after the log-in (%v)", err)
	}
	if st := f.provider.Stats(); st.DeviceLogins != 1 {
		t.Fatalf("provider saw %+v; want one device log-in", st)
	}
}

// pageLeavesItsCode checks that the page, showing its code while tv was
// logged in another way, stops showing it, and shows tv logged in, no
// problem reported, once that code has expired.
func (f *fixture) pageLeavesItsCode(t *testing.T) {
	t.Helper()
	testenv.WaitFor(t, "the page to stop showing its code", func() bool {
		_, page := f.get(t, "/")
		return !userCode.Match(page)
	})
	f.clock.Advance(2 * time.Hour) // well past when the page's code expired
	_, page := f.get(t, "/")
	if !regexp.MustCompile(`id="env-tv" data-state="logged-in"`).Match(page) || strings.Contains(string(page), "Last problem") {
		t.Fatalf("the page does not show tv logged in:\n%s", page)
	}
}

// TestDeviceLoginCompletedElsewhere: Log in shows a code on the page, and
// the person logs in another way (`freshtoken login` in a terminal, with
// its own code). The page stops showing its code once the store holds the
// new tokens, and its code expiring later is no problem to report: the
// environment is logged in.
func TestDeviceLoginCompletedElsewhere(t *testing.T) {
	f := deviceFixture(t)
	f.pressDeviceLogIn(t)
	f.logInInTerminal(t)
	f.pageLeavesItsCode(t)
}

// TestDeviceLoginCompletedElsewhereAfterTheClockIsSetBack: as above, the
// clock set back (NTP, the time corrected) after Log in showed the code.
// The page looked for a log-in noted at its start or later, which the
// clock set back put before it: it showed its code until the code
// expired, then the code's expiry as the environment's last problem, the
// environment logged in.
func TestDeviceLoginCompletedElsewhereAfterTheClockIsSetBack(t *testing.T) {
	f := deviceFixture(t)
	f.pressDeviceLogIn(t)
	f.clock.Advance(-time.Minute)
	f.logInInTerminal(t)
	f.pageLeavesItsCode(t)
}

// TestDeviceLoginCompletedElsewhereJustBeforeItsCodeExpires: the page's
// code runs out before any of its polls has seen the log-in made in a
// terminal. That is no problem to report either: the page said the code
// expired, under an environment logged in (a CI run's
// TestDeviceLoginCompletedElsewhere met it when the terminal's poll came
// just after the page's).
func TestDeviceLoginCompletedElsewhereJustBeforeItsCodeExpires(t *testing.T) {
	var held atomic.Bool
	inFlight, release := make(chan struct{}), make(chan struct{})
	f := deviceFixtureWith(t, fixtureOptions{onTokenRequest: func(grant string) {
		if grant == "urn:ietf:params:oauth:grant-type:device_code" && held.CompareAndSwap(false, true) {
			close(inFlight) // the page's first poll, held until its code has expired
			<-release
		}
	}})
	let := sync.OnceFunc(func() { close(release) })
	t.Cleanup(let) // before the provider's Close, which waits for the poll
	f.pressDeviceLogIn(t)
	<-inFlight
	f.logInInTerminal(t)
	f.clock.Advance(2 * time.Hour) // well past when the page's code expired
	let()
	testenv.WaitFor(t, "the page's device log-in to end", func() bool {
		return strings.Contains(f.logs.String(), "device log-in ended") || strings.Contains(f.logs.String(), "log-in failed")
	})
	_, page := f.get(t, "/")
	if !regexp.MustCompile(`id="env-tv" data-state="logged-in"`).Match(page) || strings.Contains(string(page), "Last problem") {
		t.Fatalf("the page does not show tv logged in:\n%s", page)
	}
}

// TestDeviceLoginEndsWhenItsEnvironmentChanges: a device log-in begun on the
// page before its environment's configuration changed stored, once
// approved, the old configuration's tokens over whatever the new one held.
// It ends at its next poll after the change, storing nothing, and the page
// says why.
func TestDeviceLoginEndsWhenItsEnvironmentChanges(t *testing.T) {
	f := deviceFixture(t)
	code := f.pressDeviceLogIn(t)
	f.editConfig(t, "grant = \"device_code\"\n", "grant = \"device_code\"\ntimeout = \"31s\"\n")
	testenv.WaitFor(t, "the page to say that the device log-in ended", func() bool {
		_, page := f.get(t, "/")
		return !userCode.Match(page) && strings.Contains(string(page), "changed after this log-in began")
	})
	if err := f.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	if rec, _ := f.source(t, "tv").Record(t.Context()); rec != nil {
		t.Error("the old configuration's device log-in stored tokens")
	}
}

// TestDeviceCodeOnlyOnThisMachine: with --allow-remote, other machines see
// the status page. A device log-in's code is not shown to them: whoever
// enters it at the provider approves their own account into this
// environment, so it is for the person at this machine, who started it.
func TestDeviceCodeOnlyOnThisMachine(t *testing.T) {
	f := deviceFixture(t)
	_, serve := lanProxy(t, f)
	const local, remote = "127.0.0.1:50000", "10.9.9.9:50000"
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(serve("GET", "/", local, "", "").Body.String())
	if csrf == nil {
		t.Fatal("no CSRF token on this machine's page")
	}
	if w := serve("POST", "/.freshtoken/envs/tv/login", local, "", "csrf="+url.QueryEscape(csrf[1])); w.Code != http.StatusSeeOther {
		t.Fatalf("Log in: %d %s", w.Code, w.Body)
	}
	m := userCode.FindStringSubmatch(serve("GET", "/", local, "", "").Body.String())
	if m == nil {
		t.Fatal("this machine's page shows no code")
	}
	if seen := serve("GET", "/", remote, "", "").Body.String(); strings.Contains(seen, m[1]) {
		t.Fatalf("another machine sees the code %s:\n%s", m[1], seen)
	}
}

// TestTwoTabsOneDeviceLogin: Log in pressed in two tabs at once starts one
// device log-in, whose code both show; a second one would be polled
// unseen until its code expired.
func TestTwoTabsOneDeviceLogin(t *testing.T) {
	f := deviceFixture(t)
	csrf := f.csrf(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { f.pressEnv(t, "tv", "login", url.Values{"csrf": {csrf}}, f.base) })
	}
	wg.Wait()
	if n := f.provider.Stats().DeviceAuthorizations; n != 1 {
		t.Fatalf("%d device authorisations; want one", n)
	}
}

// TestLoginLinkOnlyForTheBrowserGrant: the link `freshtoken login` opens
// when this proxy holds the redirect address starts a browser log-in (the
// authorization code grant). For an environment this proxy serves with
// another grant (its config changed since the proxy opened it, say), it
// would store authorization-code tokens as that grant's: it is refused,
// and the grant it serves is said, so `freshtoken login` can stop early;
// the command that opened the link is told so at once (it waited out its
// whole --timeout).
func TestLoginLinkOnlyForTheBrowserGrant(t *testing.T) {
	f := deviceFixture(t)
	for _, env := range []string{"tv", "machine"} {
		resp, body := f.get(t, f.vouched(t, env, "/.freshtoken/envs/"+env+"/login?attempt=a1"))
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "grant") {
			t.Fatalf("%s: the log-in link answered %d %q (Location %q); want it refused", env, resp.StatusCode, body, resp.Header.Get("Location"))
		}
		if a, body := f.attempt(t, env, "a1"); !a.Failed || a.Code != "invalid_configuration" {
			t.Fatalf("%s: the command is told %s; want failed, invalid_configuration", env, body)
		}
		_, body = f.get(t, "/.freshtoken/envs/"+env+"/grant")
		if !strings.Contains(string(body), `"grant":`) {
			t.Fatalf("%s: the grant answer %s does not name the grant", env, body)
		}
	}
	if st := f.provider.Stats(); st.TokenRequests != 0 {
		t.Fatalf("provider saw %+v", st)
	}
}

// TestADeviceLogInHoldsTheRestart: a device log-in begun from the page
// holds the restart after an upgrade (StopLogins) while its code waits
// for the person's approval at the provider, as a browser log-in does:
// its device code lives in this process, whose stop ended its polls, and
// the person who approved after it had their approval taken by no one,
// the new version's page showing Log in again. Once log-ins are stopped,
// Log in shows no new code: a 503 says to open the page again in a few
// seconds.
func TestADeviceLogInHoldsTheRestart(t *testing.T) {
	f := deviceFixture(t)
	code := f.pressDeviceLogIn(t)
	if f.proxy.StopLogins(false, 0) {
		t.Fatal("log-ins were stopped while a device log-in waited for the person's approval")
	}
	if err := f.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the device log-in to end", func() bool { return f.proxy.StopLogins(false, 0) })
	req, _ := http.NewRequest(http.MethodPost, f.base+"/.freshtoken/envs/tv/login", strings.NewReader(url.Values{"csrf": {f.csrf(t)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.base)
	resp, body := f.do(t, req)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), "restarting as its new version") || !strings.Contains(string(body), f.base+"/ again in a few seconds") {
		t.Errorf("Log in pressed once log-ins stopped got %d (Location %q): %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if _, page := f.get(t, "/"); userCode.Match(page) {
		t.Errorf("a device log-in was started once log-ins stopped:\n%s", page)
	}
}

// TestADeviceLogInAbandonedByAForcedRestartIsLogged: a device log-in whose
// code has waited for the person's approval longer than a forced restart
// waits (spare) is abandoned, and the log names it, as it names a browser
// log-in abandoned: it said nothing, and an approval given after was taken
// by no one.
func TestADeviceLogInAbandonedByAForcedRestartIsLogged(t *testing.T) {
	f := deviceFixture(t)
	f.pressDeviceLogIn(t)
	if f.proxy.StopLogins(true, time.Hour) {
		t.Fatal("a forced restart abandoned a device log-in just begun")
	}
	if !f.proxy.StopLogins(true, 0) {
		t.Fatal("a forced restart still waits for a device log-in begun longer ago than it spares")
	}
	if !strings.Contains(f.logs.String(), "a device log-in abandoned by the restart") || !strings.Contains(f.logs.String(), "env=tv") {
		t.Errorf("the log does not name the device log-in abandoned:\n%s", f.logs)
	}
}
