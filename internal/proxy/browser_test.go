package proxy_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// chromium finds the headless browser: $CHROMIUM, else chromium on $PATH.
// The test is skipped without one, except on CI, which installs it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium is not installed (apt-get install chromium)")
	}
	return p
}

// pressLogIn opens the status page, presses env's Log in button and waits
// for the element with the id next to show.
func pressLogIn(ctx context.Context, t *testing.T, f *fixture, env, next string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.base+"/"),
		chromedp.Click(chromedp.CSS(`#env-`+env+`[data-state="logged-out"] #login-`+env)),
		chromedp.WaitVisible(chromedp.ID(next)),
	)
	if err != nil {
		t.Fatalf("pressing Log in for %s on the status page: %v\nproxy log:\n%s", env, err, f.logs.String())
	}
}

// openStatusPage opens the status page and waits for the button with the
// id button to show.
func openStatusPage(ctx context.Context, t *testing.T, f *fixture, button string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.ID(button))); err != nil {
		t.Fatalf("opening the status page: %v", err)
	}
}

// TestBrowserLogin is a person using the status page: they log in with the
// Log in button, approve on the provider's page, come back to the status
// page showing the environment logged in, renew the token with Renew now,
// and then open an API address through the proxy.
func TestBrowserLogin(t *testing.T) {
	exe := chromium(t)
	banner := "books: the provider ended the grant; run `freshtoken login -e books`"
	f := newFixtureWith(t, fixtureOptions{autoApprove: false, tune: func(o *proxy.Options) {
		o.Banner = func() []string { return []string{banner} } // as the keeper's notifications say it
	}, moreConfig: func(*fixture) string {
		// Live books, never contacted here: the page marks them apart.
		return "\n[env.books]\nprovider = \"freeagent\"\nclient_id = \"live-client\"\nclient_secret_env = \"NOT_NEEDED\"\n"
	}})

	ctx := browser(t, exe)
	pressLogIn(ctx, t, f, "dev", "approve")
	approvePage, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="logged-in"]`)),
	)
	if err != nil {
		t.Fatalf("approving: %v\nproxy log:\n%s", err, f.logs.String())
	}
	afterLogin := text(ctx, t, `#env-dev[data-state="logged-in"]`)
	production := text(ctx, t, `#env-books.production #production-books`)
	if got := text(ctx, t, `#banner[role="alert"]`); got != banner {
		t.Errorf("the banner says %q, want %q", got, banner)
	}
	colour, err := chromedp.Run(ctx, chromedp.Evaluate[*string](`getComputedStyle(document.querySelector("#production-books")).backgroundColor`))
	if err != nil || colour == nil {
		t.Fatalf("reading the production mark's colour: %v", err)
	}
	devMarked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#env-dev .tag-production") !== null`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("renew-dev")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="renewed"]`)),
		chromedp.Navigate(f.base+"/dev/v2/users/me"),
	); err != nil {
		t.Fatalf("renewing: %v\nproxy log:\n%s", err, f.logs.String())
	}
	apiAnswer := text(ctx, t, "body")
	if !strings.HasPrefix(approvePage, f.api+"v2/approve_app?") {
		t.Errorf("Log in led to %s, not the provider's approve page", approvePage)
	}
	if !strings.Contains(afterLogin, "Logged in") || !strings.Contains(afterLogin, "expires in 1 hour") {
		t.Errorf("after approving, the environment shows %q", afterLogin)
	}
	if production != "PRODUCTION: live data" || *colour != "rgb(180, 35, 24)" || devMarked {
		t.Errorf("production mark %q in %s, dev marked %t; want live books marked in red, and the dev provider not", production, *colour, devMarked)
	}
	if !strings.Contains(apiAnswer, `"email":"dev@example.com"`) {
		t.Errorf("the API through the proxy answered %q", apiAnswer)
	}
	if st := f.provider.Stats(); st.Exchanges != 1 || st.Refreshes != 1 {
		t.Errorf("provider saw %d code exchanges and %d refreshes, want 1 and 1", st.Exchanges, st.Refreshes)
	}

	// And any other client, with no token of its own.
	resp, err := http.Get(f.base + "/dev/v2/company")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a proxied request after the browser log-in got %d", resp.StatusCode)
	}
}

// text is the text of the element sel selects. status.js replaces the
// environments every two seconds, so the element is found and read in one
// step of the page's script, never between a find and a read.
func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : null; })()`, sel)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[*string](js))
	if err != nil || s == nil {
		t.Fatalf("reading %s: %v (not on the page)", sel, err)
	}
	return *s
}

// TestNoticesCannotBeForged: a web page on another site (here another port
// of this machine) that sends the browser to the status page with a
// notice in its address, such as "logged-out-unrevoked", which tells the person
// to remove the app's access at the provider, gets the page without it:
// only the proxy's own redirects, after a button or a log-in, show one.
// The page the person then sees tells only the truth (dev is logged in).
func TestNoticesCannotBeForged(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t)
	f.login(t, "dev")
	forged := f.base + "/?done=logged-out-unrevoked&env=dev"
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>cute cats</title><a id="go" href="%s">cats</a>`, forged)
	}))
	t.Cleanup(attacker.Close)

	ctx := browser(t, exe)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(attacker.URL+"/"),
		chromedp.Click(chromedp.ID("go")),
		chromedp.WaitVisible(chromedp.CSS(`#env-dev[data-state="logged-in"]`)),
	); err != nil {
		t.Fatalf("following the attacker's link: %v\nproxy log:\n%s", err, f.logs.String())
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[*string](`(() => { const n = document.querySelector("#notice"); return n ? n.innerText : null; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if shown != nil {
		t.Errorf("a link from another site made the status page say %q", *shown)
	}
}

// TestAnotherSiteInTheBrowserCannotUseTheProxy is a web page the person
// visits in the browser they use the status page in, on another port of
// this machine (same-site to the browser) and on a DNS name of its own
// that resolves to 127.0.0.1, trying what a page can: a hidden image and
// a script's fetch through the proxy, Renew and a form posting Log out
// with the page's CSRF token (as if it had leaked), opening the log-in
// link in a frame, and reading the status page; and, rebound to the
// proxy's port (DNS rebinding), a fetch of its own origin. A real
// Chromium marks each so that the proxy refuses it: nothing reaches the
// API or the token endpoint, dev stays logged in, no log-in is started.
func TestAnotherSiteInTheBrowserCannotUseTheProxy(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t)
	f.login(t, "dev")
	csrf := f.csrf(t)
	before := f.provider.Stats()
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>cute cats</title>
<script>
const proxy = %q, csrf = %q;
const loaded = (tag, attrs) => new Promise((done) => {
  const e = Object.assign(document.createElement(tag), attrs);
  e.onload = e.onerror = () => done(tag);
  document.body.append(e);
  return e;
});
(async () => {
  const r = {};
  try { const res = await fetch(proxy + "/"); r.page = "read " + res.status; } catch (e) { r.page = "blocked"; }
  try { await fetch(proxy + "/dev/v2/company", {mode: "no-cors", credentials: "include"}); r.api = "sent"; } catch (e) { r.api = "blocked"; }
  try { await fetch(proxy + "/.freshtoken/envs/dev/renew", {method: "POST", mode: "no-cors", body: new URLSearchParams({csrf})}); r.renew = "sent"; } catch (e) { r.renew = "blocked"; }
  await loaded("img", {src: proxy + "/dev/v2/users/me"});
  await loaded("iframe", {src: proxy + "/.freshtoken/envs/dev/login"});
  const sink = loaded("iframe", {name: "sink"});
  const form = Object.assign(document.createElement("form"), {method: "post", action: proxy + "/.freshtoken/envs/dev/logout", target: "sink"});
  form.append(Object.assign(document.createElement("input"), {type: "hidden", name: "csrf", value: csrf}));
  document.body.append(form);
  await sink;
  await new Promise((done) => { document.querySelector("iframe[name=sink]").onload = done; form.submit(); });
  document.title = "done " + JSON.stringify(r);
})();
</script>`, f.base, csrf)
	}))
	t.Cleanup(attacker.Close)
	_, attackerPort, _ := strings.Cut(strings.TrimPrefix(attacker.URL, "http://"), ":")

	ctx := browser(t, exe, chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1"))
	for _, page := range []string{
		attacker.URL + "/",                          // another port of this machine
		"http://evil.example:" + attackerPort + "/", // a name of its own: cross-site
	} {
		if err := chromedp.Do(ctx,
			chromedp.Navigate(page),
			chromedp.Poll[chromedp.Void](`document.title.startsWith("done ")`),
		); err != nil {
			t.Fatalf("the attack at %s did not finish: %v", page, err)
		}
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(title, `"page":"read 200`) {
			t.Errorf("a page at %s read the status page: %s", page, title)
		}
	}
	// Rebound: the page's own origin is the proxy's port, under its name.
	rebound := "http://evil.example:" + f.port()
	if err := chromedp.Do(ctx, chromedp.Navigate(rebound+"/")); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
  const page = await fetch("/"), api = await fetch("/dev/v2/company");
  return page.status + " " + api.status + " " + (await page.text()).includes('name="csrf"');
})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got != "403 403 false" {
		t.Errorf("a page rebound to the proxy's port got %q (status page, API, CSRF token read); want both refused", got)
	}

	if after := f.provider.Stats(); after.TokenRequests != before.TokenRequests || after.APIRequests != before.APIRequests {
		t.Errorf("another site's requests reached the provider: %+v, then %+v", before, after)
	}
	if rec, err := f.source(t, "dev").Record(context.Background()); err != nil || rec == nil {
		t.Errorf("another site logged dev out (%v)", err)
	}
	if f.proxy.LoggingIn() {
		t.Error("another site started a log-in")
	}
}

// TestBrowserLogOutOfTokensTheProviderNoLongerKnows is a person pressing
// Log out on the status page, confirming, where the revocation endpoint
// answers that it no longer knows the tokens (400 invalid_token): the
// page they come back to says what `freshtoken logout` says, that nothing
// was revoked, and shows the environment logged out. It said only that
// the tokens were forgotten, as after a revocation.
func TestBrowserLogOutOfTokensTheProviderNoLongerKnows(t *testing.T) {
	exe := chromium(t)
	gone := testenv.TokenUnknownRevocation(t)
	f := revFixture(t, func(*fixture) string { return gone })
	f.login(t, "rev")

	ctx := browser(t, exe)
	openStatusPage(ctx, t, f, "logout-rev")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`)); err != nil { // the person answers OK
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("logout-rev")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	); err != nil {
		t.Fatalf("pressing Log out: %v\nproxy log:\n%s", err, f.logs.String())
	}
	want := "Logged out of rev: the provider's revocation endpoint answered that it no longer knows its tokens, revoked or expired already, so nothing was revoked; they are forgotten here."
	if got := text(ctx, t, "#notice"); got != want {
		t.Errorf("after Log out the page says %q; want %q", got, want)
	}
	if got := text(ctx, t, `#env-rev[data-state="logged-out"]`); !strings.Contains(got, "Not logged in") {
		t.Errorf("after Log out rev shows %q", got)
	}
}

// TestLoginLinkInABrowser: the log-in link `freshtoken login` opens, with
// the key of the proxy's grant answer, takes a real Chromium to the
// provider's approve page. A web site the person opens from outside any
// page (typed, a bookmark, a link in a mail or chat program, a shortened
// link) that redirects the browser to the log-in link starts nothing, and
// the status page says so: Chromium marks the redirected request
// Sec-Fetch-Site: none, as if the person had opened the log-in link
// itself, and the proxy took that for the person's word. It started a
// log-in, and a provider that approves again without asking sent the
// browser back, and the stored tokens were replaced by those of whatever
// account the browser was signed in to.
func TestLoginLinkInABrowser(t *testing.T) {
	exe := chromium(t)
	f := newFixtureWith(t, fixtureOptions{autoApprove: false})
	link := proxy.LoginURL(f.base, "dev", "dev-client-id", "", "", 0)
	redirector := httptest.NewServer(http.RedirectHandler(link, http.StatusFound))
	t.Cleanup(redirector.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(redirector.URL, "http://"), ":")
	before := f.provider.Stats()

	ctx := browser(t, exe, chromedp.Flag("host-resolver-rules", "MAP cute-cats.example 127.0.0.1"))
	landed := location(ctx, t, "http://cute-cats.example:"+port+"/")
	if !strings.HasPrefix(landed, f.base+"/?") {
		t.Fatalf("a site redirecting to the log-in link took the browser to %s; want the status page", landed)
	}
	if got := text(ctx, t, `#notice[data-done="login-unvouched"]`); !strings.Contains(got, "nothing was started") {
		t.Errorf("the status page says %q", got)
	}
	if f.proxy.LoggingIn() {
		t.Error("a site redirecting to the log-in link started a log-in")
	}
	if after := f.provider.Stats(); after != before {
		t.Errorf("the provider was asked %+v, then %+v", before, after)
	}

	if landed := location(ctx, t, f.vouched(t, "dev", link)); !strings.HasPrefix(landed, f.api+"v2/approve_app?") {
		t.Errorf("the log-in link with the key took the browser to %s, not the provider's approve page", landed)
	}
}

// location is where the browser is once it has opened link.
func location(ctx context.Context, t *testing.T, link string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatalf("opening %s: %v", link, err)
	}
	at, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestScopeOnANarrowScreen: the status page's scope row, a provider's
// long scope names among it (Google's are URLs), stays within its
// environment's card on a phone-sized screen, rather than pushing the
// page sideways.
func TestScopeOnANarrowScreen(t *testing.T) {
	exe := chromium(t)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return genericEnv(f, "scoped", f.api) + `scopes = ["openid", "https://www.googleapis.com/auth/spreadsheets.readonly", "https://www.googleapis.com/auth/drive.metadata.readonly"]` + "\n"
	}})
	f.login(t, "scoped")
	st, rec := f.stored(t, "scoped")
	rec.Scope = "openid https://www.googleapis.com/auth/spreadsheets.readonly"
	if err := st.Save(context.Background(), "scoped", rec); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t, exe, chromedp.WindowSize(360, 800))
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(360, 800),
		chromedp.Navigate(f.base+"/"),
		chromedp.WaitVisible(chromedp.ID("scope-scoped")),
	); err != nil {
		t.Fatalf("opening the status page: %v", err)
	}
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const card = document.querySelector("#env-scoped").getBoundingClientRect();
		const row = document.querySelector("#scope-scoped").getBoundingClientRect();
		return row.right <= card.right && document.documentElement.scrollWidth <= document.documentElement.clientWidth;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#scope-scoped"); !strings.Contains(got, "not granted: https://www.googleapis.com/auth/drive.metadata.readonly, so API calls that need them are refused (403)") {
		t.Errorf("the scope row says %q", got)
	}
	if !fits {
		t.Error("on a 360-pixel-wide screen, the scope row runs past its environment's card")
	}
}

// TestBrowserReplaceAndLogInNamesWhoseTokensItReplaces: the status page
// showed another configuration's tokens and offered Replace and log in; a
// third configuration stored its own, and the page, renewing itself every
// two seconds, came to show the third's, its form naming their grant. The
// question asked on the click said only "another configuration", so the
// person, who had read the page before, confirmed replacing the third's
// tokens believing them the first's. The question now names whose they
// are, and the log-in replaces those it named.
func TestBrowserReplaceAndLogInNamesWhoseTokensItReplaces(t *testing.T) {
	exe := chromium(t)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true})
	f.otherConfigLogsIn(t)

	ctx := browser(t, exe)
	openStatusPage(ctx, t, f, "login-dev")
	f.configLogsIn(t, "third")
	testenv.WaitFor(t, "the page, renewing itself, to show the third configuration's tokens", func() bool {
		return strings.Contains(text(ctx, t, "#env-dev"), `client "third-client-id" at `)
	})
	// The person answers OK; the question is kept, past the log-in's pages,
	// to read.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.confirm = (q) => (sessionStorage.setItem("asked", q), true), true)`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("login-dev")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="logged-in"]`)),
	); err != nil {
		t.Fatalf("pressing Replace and log in: %v\nproxy log:\n%s", err, f.logs.String())
	}
	asked, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem("asked") || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(asked, `client "third-client-id" at `) || !strings.Contains(asked, "Log in and replace them?") {
		t.Errorf("Replace and log in asked %q; want the question naming the tokens it replaces", asked)
	}
	if _, rec := f.stored(t, "dev"); rec.Grant.ClientID != "dev-client-id" {
		t.Errorf("Replace and log in, confirmed, kept the tokens it named: %+v", rec.Grant)
	}
}
