package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

func TestStatusPage(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	f.clock.Advance(accessTTL)
	f.get(t, "/dev/v2/contacts?page=2&email=someone@example.com")
	f.get(t, "/idle/v2/company")

	resp, body := f.get(t, "/")
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header: the page could be framed or run foreign scripts", h)
		}
	}
	for _, want := range []string{
		`id="env-dev" data-state="logged-in"`,
		`id="env-idle" data-state="logged-out"`, // its 401 needs no other explaining
		"Not logged in yet. Click <em>Log in</em>",
		f.base + "/dev/",
		"expires in 1 hour",
		"Renewals so far</dt><dd>1</dd>",
		`<dd id="next-dev">in `, ", as the refresh token expires ",
		`id="login-idle"`, `id="renew-dev"`, `id="logout-dev"`,
		`<td class="path">/dev/v2/contacts</td>`,
		`<span class="status status-error">401</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(page, "someone@example.com") {
		t.Errorf("the page shows a request's query")
	}
	// The keep-alive's deadline is written as a person reads it, as
	// status's text writes it; it was RFC 3339 (2026-12-25T19:51:55Z).
	if !regexp.MustCompile(`, as the refresh token expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+</dd>`).MatchString(page) {
		t.Errorf("the page's keep-alive does not write its deadline as 2006-01-02 15:04:05 MST:\n%s", page)
	}
	for _, s := range f.provider.Secrets() {
		if strings.Contains(page, s) {
			t.Errorf("the page shows a secret (%.8s…)", s)
		}
	}
	for _, asset := range []string{"/.freshtoken/static/status.css", "/.freshtoken/static/status.js", "/favicon.ico"} {
		if resp, _ := f.get(t, asset); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", asset, resp.StatusCode)
		}
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token the status page puts in its forms.
func (f *fixture) csrf(t *testing.T) string {
	t.Helper()
	_, body := f.get(t, "/")
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the status page")
	}
	return string(m[1])
}

// press posts a status page button's form as the browser would.
func (f *fixture) press(t *testing.T, action string, form url.Values, origin string) *http.Response {
	t.Helper()
	return f.pressEnv(t, "dev", action, form, origin)
}

// pressEnv is press for env's button.
func (f *fixture) pressEnv(t *testing.T, env, action string, form url.Values, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.base+"/.freshtoken/envs/"+env+"/"+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, _ := f.do(t, req)
	return resp
}

// pressingLogOut presses rev's Log out from a page that stays open while
// page lasts, on a goroutine of its own: the answer comes on the channel,
// its body closed, or nil where there was none (the page closed, the
// proxy stopping).
func (f *fixture) pressingLogOut(page context.Context, csrf string) <-chan *http.Response {
	answered := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequestWithContext(page, http.MethodPost, f.base+"/.freshtoken/envs/rev/logout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", f.base)
		resp, err := noRedirects.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		answered <- resp
	}()
	return answered
}

// TestLogInWithoutTheDiscoveredEndpointItNeeds: Log in for an environment
// whose issuer's discovery document names no endpoint for its log-in to
// begin at fails at once, the page saying which key to set. The browser
// was sent to the query of an authorization URL without its endpoint,
// which the page then served as itself; a device log-in said to check the
// client's credentials.
func TestLogInWithoutTheDiscoveredEndpointItNeeds(t *testing.T) {
	mux := http.NewServeMux()
	issuer := httptest.NewServer(mux)
	t.Cleanup(issuer.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer": %q, "token_endpoint": %q}`, issuer.URL, issuer.URL+"/token")
	})
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		env := "\n[env.%s]\nprovider = \"generic\"\napi_url = %q\nissuer = %q\ngrant = %q\nclient_id = \"id\"\nclient_secret = \"secret\"\n"
		return fmt.Sprintf(env, "browser", f.api, issuer.URL, "authorization_code") + fmt.Sprintf(env, "device", f.api, issuer.URL, "device_code")
	}})
	for _, tc := range []struct{ env, key, set string }{
		{"browser", "authorization_endpoint", "auth_url"},
		{"device", "device_authorization_endpoint", "device_auth_url"},
	} {
		resp := f.pressEnv(t, tc.env, "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "done=login-failed") {
			t.Errorf("Log in to %s: %d to %q; want the page, saying the log-in failed", tc.env, resp.StatusCode, loc)
		}
		_, page := f.get(t, "/")
		if want := "names no " + tc.key + ", where the"; !strings.Contains(string(page), want) || !strings.Contains(string(page), "set "+tc.set) {
			t.Errorf("the page does not say that the document %s; set %s", want, tc.set)
		}
	}
}

func TestButtonsRefuseCrossSiteRequests(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	token := f.csrf(t)
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", url.Values{}, f.base},
		{"wrong token", url.Values{"csrf": {"guessed"}}, f.base},
		{"another site with the right token", url.Values{"csrf": {token}}, "https://attacker.example"},
	} {
		for _, action := range []string{"renew", "logout", "login"} {
			if resp := f.press(t, action, tc.form, tc.origin); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s, %s: status %d, want 403", tc.name, action, resp.StatusCode)
			}
		}
	}
	if st := f.provider.Stats(); st.Refreshes != 0 || f.storedToken(t) == "" {
		t.Errorf("a refused button acted: %+v", st)
	}
}

func TestButtons(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	form := url.Values{"csrf": {f.csrf(t)}}

	resp := f.press(t, "renew", form, f.base)
	if resp.StatusCode != http.StatusSeeOther || f.provider.Stats().Refreshes != 1 {
		t.Fatalf("Renew now: %d, %d refreshes", resp.StatusCode, f.provider.Stats().Refreshes)
	}
	_, page := f.get(t, resp.Header.Get("Location"))
	if !strings.Contains(string(page), "Renewed the token of dev.") {
		t.Errorf("no confirmation after renewing")
	}

	resp = f.press(t, "login", form, f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.api+"v2/approve_app?") {
		t.Errorf("Log in: %d to %q, want the provider's approve page", resp.StatusCode, loc)
	} else if redirect, _ := url.Parse(loc); redirect.Query().Get("redirect_uri") != f.base+"/callback" {
		t.Errorf("Log in asks the provider to come back to %q", redirect.Query().Get("redirect_uri"))
	}

	resp = f.press(t, "logout", form, f.base)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Log out: %d", resp.StatusCode)
	}
	if rec, _ := f.source(t, "dev").Record(t.Context()); rec != nil {
		t.Errorf("tokens still stored after Log out")
	}
	if resp, _ := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a request after Log out got %d, want 401", resp.StatusCode)
	}
}

// TestStatusPageAgreesWithStatus: the page tells what `freshtoken status`
// tells, from the store: renewals resting after they gave up, a grant the
// provider ended (both recorded by another process), and tokens that belong
// to another client. The rest's end is told as the renewal's words tell
// it, rounded up to the second: the page said a second before it.
func TestStatusPageAgreesWithStatus(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	ctx := context.Background()
	st, rec := f.stored(t, "dev")
	resting := *rec
	until := f.clock.Now().Truncate(time.Second).Add(5*time.Minute + time.Second/2)
	resting.Rest = &store.Rest{Until: until, Message: "the provider kept failing after 4 tries (HTTP 503 <b>down</b>)"}
	if err := st.Save(ctx, "dev", &resting); err != nil {
		t.Fatal(err)
	}
	_, body := f.get(t, "/")
	for _, want := range []string{`id="rest-dev">resting 5 minutes more (until ` + until.Add(time.Second/2).Local().Format("15:04:05 MST") + ";", "Renew now does not wait) after: the provider kept failing after 4 tries (HTTP 503 &lt;b&gt;down&lt;/b&gt;)"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("with renewals resting, the page lacks %s", want)
		}
	}
	// The rest after the tokens were put back holds Renew now too.
	putBack := resting
	putBack.Rest = &store.Rest{Until: f.clock.Now().Add(30 * time.Second), Message: "the tokens were put back", PutBack: true}
	if err := st.Save(ctx, "dev", &putBack); err != nil {
		t.Fatal(err)
	}
	if _, body := f.get(t, "/"); !strings.Contains(string(body), "Renew now waits too) after: the tokens were put back") {
		t.Errorf("with renewals resting after a put-back, the page does not say that Renew now waits too: %s", body)
	}
	if err := st.Save(ctx, "dev", &resting); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(until.Sub(f.clock.Now()))
	if _, body := f.get(t, "/"); strings.Contains(string(body), `id="rest-dev"`) {
		t.Error("the page still shows a rest that has ended")
	}
	resting.Rest.Until = f.clock.Now().Add(25 * time.Hour) // written by a clock a day ahead: renewals do not follow it
	if err := st.Save(ctx, "dev", &resting); err != nil {
		t.Fatal(err)
	}
	if _, body := f.get(t, "/"); strings.Contains(string(body), `id="rest-dev"`) {
		t.Error("the page shows a rest that renewals do not follow, written by a clock a day ahead")
	}
	valid := *rec // the provider issued none (no offline_access): the page said only when the access token expires, as if it were renewed then
	valid.RefreshToken, valid.RefreshExpiry, valid.Expiry = "", time.Time{}, f.clock.Now().Add(30*time.Minute)
	if err := st.Save(ctx, "dev", &valid); err != nil {
		t.Fatal(err)
	}
	if _, body := f.get(t, "/"); !strings.Contains(string(body), "expires in 30 minutes, and cannot be renewed: the provider issued no refresh token; log in again then") {
		t.Error("with no refresh token, the page does not say that the access token cannot be renewed")
	}
	refreshOnly := *rec // imported, or kept from an answer cut off
	refreshOnly.AccessToken, refreshOnly.Expiry = "", time.Time{}
	if err := st.Save(ctx, "dev", &refreshOnly); err != nil {
		t.Fatal(err)
	}
	if _, body := f.get(t, "/"); !strings.Contains(string(body), "none held; renewed on the next request") {
		t.Error("with a refresh token alone, the page does not say no access token is held")
	}
	bound := *rec // a token no request can use: the page said "Logged in"
	bound.TokenType = "DPoP"
	if err := st.Save(ctx, "dev", &bound); err != nil {
		t.Fatal(err)
	}
	_, body = f.get(t, "/")
	for _, want := range []string{`id="env-dev" data-state="attention"`, "The stored access token cannot be used: the provider issued an access token of type &#34;DPoP&#34;", "Click Renew now for another", `id="renew-dev"`,
		// as status's "access token" row: it gave the token's expiry, as if it were good until then
		"<dt>Access token</dt><dd>cannot be used (see the problem below)</dd>"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("with an access token bound to a key, the page lacks %s", want)
		}
	}
	if strings.Contains(string(body), "expires in") {
		t.Error("with an access token bound to a key, the page gives its expiry")
	}
	// Another problem recorded first (a rejected client) is the page's
	// problem; the access token's row says why it cannot be used.
	garbled := *rec
	garbled.AccessToken = "abc\x1b[2Jdef"
	garbled.Problem = &store.Problem{Kind: store.ProblemClientRejected, Message: "the token endpoint rejected the client (HTTP 401 invalid_client)", At: f.clock.Now()}
	if err := st.Save(ctx, "dev", &garbled); err != nil {
		t.Fatal(err)
	}
	_, body = f.get(t, "/")
	for _, want := range []string{`id="env-dev" data-state="attention"`, "the token endpoint rejected the client", "<dt>Access token</dt><dd>cannot be used: the provider issued an access token holding control or non-ASCII characters"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("with a rejected client and an access token holding a control character, the page lacks %s", want)
		}
	}
	if strings.Contains(string(body), "expires in") || strings.Contains(string(body), "abc") {
		t.Error("with an access token holding a control character, the page gives its expiry, or shows it")
	}
	// needsLogIn stores r and checks that the page asks for a log-in,
	// saying why.
	needsLogIn := func(r store.Record, what, why string) {
		t.Helper()
		if err := st.Save(ctx, "dev", &r); err != nil {
			t.Fatal(err)
		}
		_, body := f.get(t, "/")
		for _, want := range []string{`id="env-dev" data-state="attention"`, why, `id="login-dev"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("with %s, the page lacks %s", what, want)
			}
		}
	}
	noRefresh := *rec // the provider issued none (no offline_access), and the access token has expired
	noRefresh.RefreshToken, noRefresh.RefreshExpiry, noRefresh.Expiry = "", time.Time{}, f.clock.Now().Add(-time.Minute)
	needsLogIn(noRefresh, "an expired access token and no refresh token", "and the provider issued no refresh token: log in again")
	ended := *rec
	ended.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token (HTTP 400 invalid_grant), so the grant has ended", At: f.clock.Now()}
	needsLogIn(ended, "an ended grant", "so the grant has ended")
	untimed := ended // recorded without its time, by another program sharing the store
	untimed.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: ended.Problem.Message}
	needsLogIn(untimed, "an ended grant, its time not recorded", "<strong>Last problem:</strong> the provider refused the refresh token")
	theirs := *rec
	theirs.Grant.ClientID = "someone-elses-client"
	if err := st.Save(ctx, "dev", &theirs); err != nil {
		t.Fatal(err)
	}
	_, body = f.get(t, "/")
	for _, want := range []string{`id="env-dev" data-state="attention"`, "the stored tokens belong to client &#34;someone-elses-client&#34;"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("with another client's tokens, the page lacks %s", want)
		}
	}
}

// TestStatusPageShowsTheScopeGranted: the page showed neither the scope
// granted nor the configured scopes not granted, which status shows (and
// API calls needing those fail with 403). It shows them as status's
// "scope" row, the provider's words escaped and on one line.
func TestStatusPageShowsTheScopeGranted(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return genericEnv(f, "scoped", f.api) + `scopes = ["read", "write"]` + "\n"
	}})
	f.login(t, "scoped")
	if _, body := f.get(t, "/"); strings.Contains(string(body), `id="scope-scoped"`) {
		t.Error("the page shows a scope that no answer named")
	}
	st, rec := f.stored(t, "scoped")
	for _, c := range []struct{ scope, want string }{
		{"read write", `<dt>Scope</dt><dd id="scope-scoped">read write granted</dd>`},
		{"read <b>x</b>\x1b]8;;", `<dt>Scope</dt><dd id="scope-scoped">read &lt;b&gt;x&lt;/b&gt; ]8;; granted; not granted: write, so API calls that need them are refused (403)</dd>`},
	} {
		granted := *rec
		granted.Scope = c.scope
		if err := st.Save(context.Background(), "scoped", &granted); err != nil {
			t.Fatal(err)
		}
		if _, body := f.get(t, "/"); !strings.Contains(string(body), c.want) {
			t.Errorf("with scope %q granted, the page lacks %s", c.scope, c.want)
		}
	}
}

// TestStatusPageBanner: what the notifications told a person stands at the
// top of the page too.
func TestStatusPageBanner(t *testing.T) {
	f := newFixture(t)
	o := f.options(f.addr, false)
	o.Banner = func() []string { return []string{"dev: the provider ended the grant; run `freshtoken login -e dev`"} }
	p, err := proxy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, f.base+"/", nil)
	req.RemoteAddr = "127.0.0.1:50000"
	p.ServeHTTP(w, req)
	if page := w.Body.String(); !strings.Contains(page, `<section id="banner"`) || !strings.Contains(page, "dev: the provider ended the grant; run `freshtoken login -e dev`") {
		t.Errorf("the page has no banner:\n%s", page)
	}
}

// TestStatusPageNamesTheConfigInItsCommands: a proxy started with another
// configuration file than the default (--config, FRESHTOKEN_CONFIG) names
// it in every command its status page suggests: in a problem (Log out
// where no revocation endpoint answers), in the banner, and where no
// environment is configured. They were written without it, and a command
// copied from the page acted on the default configuration file.
func TestStatusPageNamesTheConfigInItsCommands(t *testing.T) {
	const named = "`freshtoken --config /srv/ft.toml "
	suggesting := func(msg string) string { return strings.ReplaceAll(msg, "`freshtoken ", named) }
	nowhere := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(nowhere.Close)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true,
		moreConfig: func(f *fixture) string {
			return genericEnv(f, "rev", strings.TrimSuffix(f.api, "/")) + fmt.Sprintf("revocation_url = %q\n", nowhere.URL+"/revoke")
		},
		tune: func(o *proxy.Options) {
			o.Suggesting = suggesting
			o.Banner = func() []string { return []string{"dev: the provider ended the grant; run `freshtoken login -e dev`"} }
		}})
	f.login(t, "rev")
	page := f.logOutFails(t)
	for _, want := range []string{named + "logout --local -e rev`", named + "login -e dev`"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not suggest %s:\n%s", want, page)
		}
	}
	if n := strings.Count(page, "`freshtoken ") - strings.Count(page, named); n != 0 {
		t.Errorf("the page suggests %d commands without --config:\n%s", n, page)
	}

	if err := os.WriteFile(f.configPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, page := f.get(t, "/"); !strings.Contains(string(page), "<code>freshtoken --config /srv/ft.toml init</code>") {
		t.Errorf("with no environment configured, the page does not suggest init with --config:\n%s", page)
	}
}

// revFixture is a fixture with the environment "rev", of the generic
// provider, whose revocation_url is what revocation returns ("" for none).
func revFixture(t *testing.T, revocation func(f *fixture) string) *fixture {
	t.Helper()
	return tunedRevFixture(t, revocation, nil)
}

// tunedRevFixture is revFixture with the proxy's options tuned (a stop's
// grace cut short, say).
func tunedRevFixture(t *testing.T, revocation func(f *fixture) string, tune func(*proxy.Options)) *fixture {
	t.Helper()
	return newFixtureWith(t, fixtureOptions{autoApprove: true, tune: tune, moreConfig: func(f *fixture) string {
		conf := genericEnv(f, "rev", strings.TrimSuffix(f.api, "/"))
		if u := revocation(f); u != "" {
			conf += fmt.Sprintf("revocation_url = %q\n", u)
		}
		return conf
	}})
}

// shortGrace cuts a stop's grace for requests under way short.
func shortGrace(o *proxy.Options) { o.ShutdownGrace = 10 * time.Millisecond }

// logOutRev presses the page's Log out for "rev" as a browser does (the
// page's csrf token, its origin) and returns where the answer sends the
// browser back to: the page, with the notice done (see notices). Any
// other answer fails the test.
func (f *fixture) logOutRev(t *testing.T, done string) (location string) {
	t.Helper()
	resp := f.pressEnv(t, "rev", "logout", url.Values{"csrf": {f.csrf(t)}}, f.base)
	location = resp.Header.Get("Location")
	if want := "/?done=" + done + "&env=rev"; resp.StatusCode != http.StatusSeeOther || unsigned(location) != want {
		t.Fatalf("Log out: %d to %q; want a redirect (303) to %q", resp.StatusCode, location, want)
	}
	return location
}

// logOutFails presses rev's Log out, which must fail (done=logout-failed)
// and keep rev's tokens, and returns the page it leads to.
func (f *fixture) logOutFails(t *testing.T) (page string) {
	t.Helper()
	loc := f.logOutRev(t, "logout-failed")
	if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec == nil {
		t.Fatalf("after Log out the store holds %+v, %v; want the tokens kept", rec, err)
	}
	_, body := f.get(t, loc)
	return string(body)
}

// countingRevocation is a revocation endpoint of its own, at u, which
// counts the requests it is sent.
func countingRevocation(t *testing.T) (u string, revoked *atomic.Int32) {
	revoked = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { revoked.Add(1) }))
	t.Cleanup(srv.Close)
	return srv.URL + "/revoke", revoked
}

// TestLogoutButtonRevokes: the page's Log out ends the grant at the
// provider's revocation endpoint, as `freshtoken logout` does, and forgets
// the tokens.
func TestLogoutButtonRevokes(t *testing.T) {
	f := revFixture(t, func(f *fixture) string { return f.api + "v2/revoke" })
	f.login(t, "rev")
	f.logOutRev(t, "logged-out")
	if n := f.provider.Stats().Revocations; n != 2 {
		t.Fatalf("Log out: %d revocations; want the refresh and access tokens revoked", n)
	}
	if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec != nil {
		t.Fatalf("after Log out the store holds %+v, %v", rec, err)
	}
}

// TestLogoutButtonSaysTheGrantLivesOnWithoutARevocationURL: for a provider
// with no revocation endpoint (FreeAgent documents none), Log out forgets
// the tokens and the page says that the grant was not ended at the
// provider, as `freshtoken logout` does.
func TestLogoutButtonSaysTheGrantLivesOnWithoutARevocationURL(t *testing.T) {
	f := revFixture(t, func(*fixture) string { return "" })
	f.login(t, "rev")
	loc := f.logOutRev(t, "logged-out-unrevoked") // the grant not ended at the provider
	_, page := f.get(t, loc)
	if want := "has no revocation endpoint (revocation_url), so the grant was not ended there"; !strings.Contains(string(page), want) {
		t.Errorf("the page does not say %q:\n%s", want, page)
	}
}

// TestLogoutButtonSendsNothingInClearText: Log out where revocation_url is
// plain http to another machine sends it nothing, keeps the tokens, and
// the page says why (it sent the tokens, readable by anyone on the way).
func TestLogoutButtonSendsNothingInClearText(t *testing.T) {
	f := revFixture(t, func(*fixture) string { return "http://idp.invalid/revoke" })
	f.login(t, "rev")
	page := f.logOutFails(t)
	if !strings.Contains(page, "is plain http to another machine") {
		t.Errorf("the page does not say the revocation endpoint is plain http:\n%s", page)
	}
}

// TestLogoutButtonKeepsTheTokensWhereNoRevocationEndpointIs: Log out
// where revocation_url names no endpoint (a 404) keeps the tokens, as
// `freshtoken logout` does, and the page says why and what to do: they
// were forgotten, so once the URL was fixed nothing was left to revoke,
// and the grant lived on at the provider.
func TestLogoutButtonKeepsTheTokensWhereNoRevocationEndpointIs(t *testing.T) {
	nowhere := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(nowhere.Close)
	f := revFixture(t, func(*fixture) string { return nowhere.URL + "/revoke" })
	f.login(t, "rev")
	page := f.logOutFails(t)
	for _, want := range []string{"no revocation endpoint answers at", "check revocation_url", "the tokens are kept", "logout --local -e rev"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q:\n%s", want, page)
		}
	}
}

// TestLogoutButtonLeavesAnotherConfigurationsTokens: Log out, where the
// store now holds the tokens of another configuration's log-in under the
// environment's name, sends nothing, forgets nothing, and says so; the
// proxy's log said it was forgetting the tokens all the same, as when a
// revocation fails, though they were kept.
func TestLogoutButtonLeavesAnotherConfigurationsTokens(t *testing.T) {
	revocation, revoked := countingRevocation(t)
	f := revFixture(t, func(*fixture) string { return revocation })
	f.login(t, "rev")
	where := f.source(t, "rev").Location()
	st := filestore.New(filepath.Dir(where))
	rec, err := st.Load(context.Background(), "rev")
	if err != nil {
		t.Fatal(err)
	}
	rec.Grant.ClientID = "another-configurations-client"
	if err := st.Save(context.Background(), "rev", rec); err != nil {
		t.Fatal(err)
	}
	f.logOutRev(t, "logout-failed")
	if after, err := st.Load(context.Background(), "rev"); err != nil || after.RefreshToken != rec.RefreshToken {
		t.Fatalf("after Log out the store holds %+v, %v; want the other configuration's tokens kept", after, err)
	}
	if revoked.Load() != 0 {
		t.Fatal("the other configuration's tokens were sent to the revocation endpoint")
	}
	if strings.Contains(f.logs.String(), "all the same") {
		t.Errorf("the log says the tokens are being forgotten, though they were kept:\n%s", f.logs)
	}
}

// TestLogoutButtonKeepsALogInStoredWhileItRevoked: a log-in (`freshtoken
// login` in a terminal) stored new tokens while the page's Log out had its
// revocation in flight, and took the renewal lock before its delete did.
// They were deleted, the log-in's grant left alive at the provider with
// nothing to end it. They are kept, and the page says so, as `freshtoken
// logout` does. It said "Could not log out", and showed the environment
// failing, with its grant revoked and the later log-in's tokens good: it
// says the log-out was done and the later tokens kept.
func TestLogoutButtonKeepsALogInStoredWhileItRevoked(t *testing.T) {
	var (
		f     *fixture
		later atomic.Pointer[store.Record]
	)
	revoker := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		if later.Load() != nil {
			return
		}
		st := filestore.New(filepath.Dir(f.source(t, "rev").Location()))
		rec, err := st.Load(context.Background(), "rev")
		if err != nil {
			t.Error(err)
			return
		}
		rec = storetest.LaterLogIn(rec)
		if err := st.Save(context.Background(), "rev", rec); err != nil {
			t.Error(err)
		}
		later.Store(rec)
	}))
	t.Cleanup(revoker.Close)
	f = revFixture(t, func(*fixture) string { return revoker.URL + "/revoke" })
	f.login(t, "rev")
	loc := f.logOutRev(t, "logged-out-later-kept")
	if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec == nil || rec.RefreshToken != "later-refresh-token" {
		t.Fatalf("after Log out the store holds %+v, %v; want the later log-in's tokens kept", rec, err)
	}
	if _, page := f.get(t, loc); !strings.Contains(string(page), "stored its own tokens, which are kept: rev is logged in with them") ||
		strings.Contains(string(page), "Could not log out") || strings.Contains(string(page), "a log-in made since; they were kept") {
		t.Errorf("the page does not say the log-out was done and the later log-in's tokens kept:\n%s", page)
	}
}

// TestLogoutButtonOnADiskWithNoRoomForItsLock: the token folder's disk had
// no room for the renewal lock's file. The page's Log out, whose
// revocation takes the lock first, sent nothing, logged that it forgot the
// tokens all the same, and showed the store's advice to set [store] url
// to a folder on another disk, which would leave the tokens behind where
// no log-out finds them (a store that failed for the revocation alone, a
// Redis blip, had them deleted unrevoked). As `freshtoken logout`, it
// keeps them, says nothing was sent or deleted, and to free some space.
func TestLogoutButtonOnADiskWithNoRoomForItsLock(t *testing.T) {
	dir := testdisk.FilesLeft(t, 8) // room for the log-in's files
	revocation, revoked := countingRevocation(t)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, storeURL: "file://" + dir, moreConfig: func(f *fixture) string {
		return genericEnv(f, "rev", strings.TrimSuffix(f.api, "/")) + fmt.Sprintf("revocation_url = %q\n", revocation)
	}})
	f.login(t, "rev")
	if err := os.Remove(filepath.Join(dir, "rev.lock")); err != nil {
		t.Fatal(err)
	}
	testdisk.FillFiles(t, filepath.Dir(dir))
	page := f.logOutFails(t)
	if n := revoked.Load(); n != 0 {
		t.Fatalf("%d revocations sent", n)
	}
	if !strings.Contains(page, "free some space there; nothing was sent to the provider and nothing deleted: the tokens are kept") ||
		strings.Contains(page, "[store] url") {
		t.Errorf("the page does not say to free some space, that nothing was sent and the tokens are kept:\n%s", page)
	}
}

// TestLogoutButtonWithNothingStored: Log out for an environment with no
// stored tokens sends nothing and says there was nothing to log out of, as
// `freshtoken logout` does. It asked the revocation endpoint to revoke
// nothing, logged that the grant could not be revoked, and said the tokens
// were forgotten but revoking them failed.
func TestLogoutButtonWithNothingStored(t *testing.T) {
	revocation, revoked := countingRevocation(t)
	f := revFixture(t, func(*fixture) string { return revocation })
	location := f.logOutRev(t, "nothing-to-log-out")
	if revoked.Load() != 0 || strings.Contains(f.logs.String(), "could not be revoked") {
		t.Fatalf("Log out with nothing stored asked the revocation endpoint %d times; log:\n%s", revoked.Load(), f.logs)
	}
	if _, page := f.get(t, location); !strings.Contains(string(page), "rev has no stored tokens: there was nothing to log out of.") {
		t.Fatalf("the page does not say there was nothing to log out of:\n%s", page)
	}
}

// TestLogoutButtonKeepsTheTokensWhenRevocationFailed: when the provider's
// revocation endpoint fails (a 503 at every try), Log out keeps the tokens
// and the page says what failed, that they are kept, and the next steps
// (Log out again later, or logout --local). It forgot them, saying the
// grant may live on at the provider, with nothing left to end it. Log out
// once the provider answers again ends the grant and forgets them.
func TestLogoutButtonKeepsTheTokensWhenRevocationFailed(t *testing.T) {
	var up atomic.Bool
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "revocation is down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(broken.Close)
	f := revFixture(t, func(*fixture) string { return broken.URL + "/revoke" })
	f.login(t, "rev")
	before, err := f.source(t, "rev").Record(context.Background())
	if err != nil || before == nil {
		t.Fatalf("after the log-in the store holds %+v, %v", before, err)
	}
	loc := f.logOutRev(t, "logout-failed")
	if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec == nil || rec.RefreshToken != before.RefreshToken {
		t.Fatalf("after Log out the store holds %+v, %v; want the tokens kept", rec, err)
	}
	_, page := f.get(t, loc)
	for _, want := range []string{"could not revoke the refresh token (HTTP 503 Service Unavailable, at each of", "nothing was deleted: the tokens are kept in ", ", and the grant may still be valid at the provider: press Log out later to end it, or remove the app's access in your account at the provider and run `freshtoken logout --local -e rev` to forget them"} {
		if !strings.Contains(html.UnescapeString(string(page)), want) {
			t.Errorf("the page does not say %q:\n%s", want, page)
		}
	}
	up.Store(true)
	f.logOutRev(t, "logged-out")
	if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec != nil {
		t.Fatalf("after Log out again the store holds %+v, %v", rec, err)
	}
}

// TestLogoutButtonTellsTheProvidersOwnRefusal: Log out refused by the
// revocation endpoint with an error of the provider's own (400
// account_locked) keeps the tokens and says what `freshtoken logout`
// says: the provider's words, the token sent in them masked, and that the
// grant may live on, to log out later. Taken for the configuration's
// fault (failure.RevocationToFix), the page said to log out "once that is
// fixed", though nothing in the configuration was; noted as a renewal's
// refusal (renewal_refused), it said "fix it, then click Renew now",
// which fixes no log-out: it is a log-out's refusal (logout_refused).
func TestLogoutButtonTellsTheProvidersOwnRefusal(t *testing.T) {
	sent := make(chan string, 2)
	locked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.FormValue("token")
		sent <- token
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"account_locked","error_description":"account locked; call support (token %s)"}`, token)
	}))
	t.Cleanup(locked.Close)
	f := revFixture(t, func(*fixture) string { return locked.URL + "/revoke" })
	f.login(t, "rev")
	page := html.UnescapeString(f.logOutFails(t))
	for _, want := range []string{`refused to revoke the refresh token with an error of its own, which only its words explain (HTTP 400 Bad Request, account_locked: "account locked; call support (token `, "nothing was deleted: the tokens are kept in ", ", and the grant may still be valid at the provider: press Log out later to end it"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q:\n%s", want, page)
		}
	}
	for _, not := range []string{"once that is fixed", "then click Renew now"} {
		if strings.Contains(page, not) {
			t.Errorf("the page says %q of a log-out the provider refused:\n%s", not, page)
		}
	}
	if token := <-sent; strings.Contains(page, token) {
		t.Errorf("the page shows the token sent:\n%s", page)
	}
}

// TestLogoutButtonSaysTheProviderNoLongerKnowsTheTokens: a revocation
// endpoint that answers 400 invalid_token (Google's answer for tokens
// revoked or expired already) revoked nothing. Log out forgets the tokens,
// as nothing is left to revoke, and the page says what `freshtoken logout`
// says: the provider no longer knows them, so nothing was revoked. It said
// only that they were forgotten, as after a revocation.
func TestLogoutButtonSaysTheProviderNoLongerKnowsTheTokens(t *testing.T) {
	gone := testenv.TokenUnknownRevocation(t)
	f := revFixture(t, func(*fixture) string { return gone })
	f.login(t, "rev")
	loc := f.logOutRev(t, "logged-out-unknown")
	if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec != nil {
		t.Fatalf("after Log out the store holds %+v, %v; want the tokens forgotten", rec, err)
	}
	_, page := f.get(t, loc)
	if want := "Logged out of rev: the provider&#39;s revocation endpoint answered that it no longer knows its tokens, revoked or expired already, so nothing was revoked; they are forgotten here."; !strings.Contains(string(page), want) {
		t.Errorf("the page does not say %q:\n%s", want, page)
	}
}

// TestLogoutButtonWithAnUnreadableRecord: Log out where the stored record
// cannot be read (a corrupt file) deletes it, sends nothing, and says so:
// the page said the tokens were forgotten but revoking them failed, with
// the store's words that the record "was left as it is".
func TestLogoutButtonWithAnUnreadableRecord(t *testing.T) {
	revocation, revoked := countingRevocation(t)
	f := revFixture(t, func(*fixture) string { return revocation })
	dir := filepath.Join(filepath.Dir(f.configPath), "store")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rev.json"), []byte(`{"access_token": "garb`), 0o600); err != nil {
		t.Fatal(err)
	}
	loc := f.logOutRev(t, "logged-out-unreadable")
	if revoked.Load() != 0 {
		t.Fatalf("the revocation endpoint was asked %d times", revoked.Load())
	}
	if _, err := os.Stat(filepath.Join(dir, "rev.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the unreadable record is still there: %v", err)
	}
	_, page := f.get(t, loc)
	want := "Logged out of rev: its stored record could not be read, and was deleted; nothing in it could be revoked at the provider, so a grant it held stays valid there until it expires, or until you remove the app&#39;s access in your account at the provider."
	if !strings.Contains(string(page), want) || strings.Contains(string(page), "left as it is") || strings.Contains(string(page), "revoking them at the provider failed") {
		t.Fatalf("the page does not say %q:\n%s", want, page)
	}
}

// TestForgedNoticeIsNotShown: the status page shows a notice only with the
// signature of the proxy's own redirect, for that notice and environment:
// none without one, nor with one of another notice or environment.
func TestForgedNoticeIsNotShown(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	resp := f.press(t, "renew", url.Values{"csrf": {f.csrf(t)}}, f.base)
	renewed := resp.Header.Get("Location")
	if _, page := f.get(t, renewed); !strings.Contains(string(page), "Renewed the token of dev.") {
		t.Fatalf("the proxy's own redirect (%s) shows no notice", renewed)
	}
	_, sig, _ := strings.Cut(renewed, "&sig=")
	for _, forged := range []string{
		"/?done=logged-out-unrevoked&env=dev",
		"/?done=logged-out-unrevoked&env=dev&sig=" + sig,
		"/?done=renewed&env=idle&sig=" + sig,
		"/?done=renewed&env=dev&sig=",
	} {
		if _, page := f.get(t, forged); strings.Contains(string(page), `id="notice"`) {
			t.Errorf("%s shows a notice:\n%s", forged, page)
		}
	}
}

// TestStatusPageTellsOfAClientSecretThatCannotBeHad: an environment whose
// client_secret_env names a variable not set where the proxy runs (a
// service, which does not see a terminal's exports) is marked for
// attention on the page, saying so and what to set, as `status` says in
// its client secret's line (exit 2): the page said "Logged in", with
// Renew now, while the next renewal was bound to fail for want of the
// secret. The secret never shows.
func TestStatusPageTellsOfAClientSecretThatCannotBeHad(t *testing.T) {
	const secretVar = "FRESHTOKEN_TEST_PAGE_SECRET"
	t.Setenv(secretVar, "dev-client-secret")
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return strings.Replace(genericEnv(f, "sec", strings.TrimSuffix(f.api, "/")), `client_secret = "dev-client-secret"`, `client_secret_env = "`+secretVar+`"`, 1)
	}})
	f.login(t, "sec")
	if _, body := f.get(t, "/"); !strings.Contains(string(body), `id="env-sec" data-state="logged-in"`) {
		t.Fatalf("with the secret set, the page does not show sec logged in:\n%s", body)
	}
	os.Unsetenv(secretVar)
	_, body := f.get(t, "/")
	for _, want := range []string{`id="env-sec" data-state="attention"`, "$" + secretVar + " is not set here, so a renewal or log-in fails for want of the client secret; set it (export " + secretVar + "=…) where freshtoken runs"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("with the secret's variable unset, the page lacks %s", want)
		}
	}
	if strings.Contains(string(body), "dev-client-secret") {
		t.Error("the page shows the client secret")
	}
	if !strings.Contains(string(body), `id="env-dev" data-state="logged-out"`) {
		t.Error("an environment with its secret in the file is marked otherwise than logged out")
	}
}

// TestStatusPageForgetsAFailureTheStoreHasSinceMended: a failure this
// proxy met (tokens it could not read, written by a newer freshtoken) is
// not shown once the store holds tokens issued after it (a log-in at the
// command line, another process's renewal): the page went on saying the
// tokens were unreadable, and marking the environment for attention, until
// a request through the proxy happened to succeed.
func TestStatusPageForgetsAFailureTheStoreHasSinceMended(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	ctx := context.Background()
	st, rec := f.stored(t, "dev")
	storetest.WriteNewerFormat(t, filepath.Join(filepath.Dir(f.configPath), "store", "dev.json"), 99)
	f.clock.Advance(accessTTL) // the token held in memory has expired: the store is read
	if resp, _ := f.get(t, "/dev/v2/company"); resp.StatusCode < 400 {
		t.Fatalf("a request with a newer freshtoken's record got %d", resp.StatusCode)
	}
	if _, body := f.get(t, "/"); !strings.Contains(string(body), "written by a newer freshtoken") {
		t.Fatalf("the page does not tell of the record it cannot read:\n%s", body)
	}
	f.clock.Advance(time.Minute)
	loggedIn := *rec // as a log-in at the command line stores it
	loggedIn.IssuedAt, loggedIn.LoggedInAt, loggedIn.Expiry = f.clock.Now(), f.clock.Now(), f.clock.Now().Add(accessTTL)
	if err := st.Save(ctx, "dev", &loggedIn); err != nil {
		t.Fatal(err)
	}
	_, body := f.get(t, "/")
	if !strings.Contains(string(body), `id="env-dev" data-state="logged-in"`) || strings.Contains(string(body), "written by a newer freshtoken") {
		t.Errorf("after a log-in elsewhere, the page still tells of the failure before it:\n%s", body)
	}
}

// TestStatusPageKeepsAFailureMetAfterTokensOfAClockAhead: tokens stored by
// a machine whose clock runs an hour ahead of this one's do not hide a
// failure this proxy meets after them (the provider failing its renewal):
// they seem issued after it, but the page forgets only failures the store
// has mended since.
func TestStatusPageKeepsAFailureMetAfterTokensOfAClockAhead(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	ctx := context.Background()
	st, rec := f.stored(t, "dev")
	f.clock.Advance(accessTTL) // the token held in memory has expired: the store is read
	ahead := *rec              // renewed by a machine whose clock is an hour ahead
	ahead.IssuedAt, ahead.Expiry = f.clock.Now().Add(time.Hour), f.clock.Now().Add(-time.Minute)
	if err := st.Save(ctx, "dev", &ahead); err != nil {
		t.Fatal(err)
	}
	f.provider.Fault(devprovider.Fault5xx, 100)
	if resp, _ := f.get(t, "/dev/v2/company"); resp.StatusCode < 400 {
		t.Fatalf("a request whose renewal the provider failed got %d", resp.StatusCode)
	}
	if _, body := f.get(t, "/"); !strings.Contains(string(body), `id="env-dev" data-state="attention"`) {
		t.Errorf("the page does not tell of the failure met after tokens stamped by a clock ahead:\n%s", body)
	}
}

// TestStatusPageMasksASecretCommandsWords: the proxy's page quotes a
// renewal's failure, and with it the first line of a failing
// client_secret_cmd's error output; a malformed command there (the vault
// token run as the command: sh: 1: hvs.…: not found) showed the token to
// whoever looked at the page. It shows it masked.
func TestStatusPageMasksASecretCommandsWords(t *testing.T) {
	const token = "hvs.CAESIJx7Qm2pLw9RtYb3NcVd8KfGh1ZsUaEo5Wi4Xj6Tn0Pq"
	f := newFixture(t)
	f.login(t, "dev")
	f.editConfig(t, `client_secret = "dev-client-secret"`, `client_secret_cmd = "`+token+`"`)
	f.clock.Advance(accessTTL)
	f.get(t, "/dev/v2/company")
	_, body := f.get(t, "/")
	page := string(body)
	_, quoted, _ := strings.Cut(page, "client_secret_cmd failed")
	if quoted, _, _ = strings.Cut(quoted, "); run it yourself"); strings.Contains(page, token) || !strings.Contains(quoted, " hvs.CAES…(52 chars): ") || !strings.HasSuffix(quoted, "not found") {
		t.Errorf("the page quotes the failing client_secret_cmd as %.200q; want its token masked", quoted)
	}
}

// keptConfigFixture is a fixture whose proxy reads its configuration as
// `freshtoken proxy` does: a file moved away or deleted since is a mistake
// (config.File.Gone), not one naming nothing.
func keptConfigFixture(t *testing.T) *fixture {
	t.Helper()
	var f *fixture
	f = newFixtureWith(t, fixtureOptions{autoApprove: true, tune: func(o *proxy.Options) {
		o.Config = func() (*config.File, error) {
			c, err := config.Load(f.configPath)
			if err == nil && !c.Exists {
				return nil, c.Gone()
			}
			return c, err
		}
	}})
	return f
}

// TestStatusPageOfAConfigGoneListsWhatIsServed: with the configuration file
// moved away, the proxy serves on each environment as last read, but its
// page listed none of them, as if none were served. It lists them, and
// says the file is gone.
func TestStatusPageOfAConfigGoneListsWhatIsServed(t *testing.T) {
	f := keptConfigFixture(t)
	f.login(t, "dev")
	f.get(t, "/") // opens every environment
	if err := os.Rename(f.configPath, f.configPath+".moved"); err != nil {
		t.Fatal(err)
	}
	if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a request after the file was moved away got %d: %s", resp.StatusCode, body)
	}
	_, body := f.get(t, "/")
	page := string(body)
	for _, want := range []string{"is gone (moved or deleted)", `id="env-dev" data-state="logged-in"`, `id="env-idle"`, f.base + "/dev/"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page of a configuration gone lacks %s:\n%s", want, page)
		}
	}
}

// TestRemovedEnvironmentIsNotServedOnceTheConfigIsGone: an environment
// taken out of the configuration stops being served, and the proxy lets
// go of its source (its tokens and client secret): it kept it, and once
// the file was moved away served it again from memory, its API called with
// tokens the person had removed.
func TestRemovedEnvironmentIsNotServedOnceTheConfigIsGone(t *testing.T) {
	f := devServedThenRemoved(t)
	f.get(t, "/idle/v2/company") // any reading of the file
	if err := os.Rename(f.configPath, f.configPath+".moved"); err != nil {
		t.Fatal(err)
	}
	if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode == http.StatusOK {
		t.Errorf("an environment removed, then the file moved away: %d %s; want it no longer served", resp.StatusCode, body)
	}
	_, body := f.get(t, "/")
	if page := string(body); strings.Contains(page, `id="env-dev"`) || !strings.Contains(page, `id="env-idle"`) {
		t.Errorf("the page of a configuration gone lists an environment removed before, or not the one served:\n%s", page)
	}
}

// devServedThenRemoved is a devServed fixture whose environment dev was
// then taken out of the configuration file, as `freshtoken remove -e dev`
// does.
func devServedThenRemoved(t *testing.T) *fixture {
	t.Helper()
	f := devServed(t)
	removeDev(t, f)
	return f
}

// devServed is a keptConfigFixture whose environment dev was logged in to
// and served.
func devServed(t *testing.T) *fixture {
	t.Helper()
	f := keptConfigFixture(t)
	f.login(t, "dev")
	if resp, _ := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("dev: %d", resp.StatusCode)
	}
	return f
}

// removeDev takes environment dev out of f's configuration file, as
// `freshtoken remove -e dev` does.
func removeDev(t testing.TB, f *fixture) {
	t.Helper()
	text, err := os.ReadFile(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	f.editConfig(t, string(text), withoutDev(string(text)))
}

// withoutDev is the configuration text without environment dev.
func withoutDev(text string) string {
	before, rest, _ := strings.Cut(text, "[env.dev]")
	_, after, _ := strings.Cut(rest, "[env.idle]")
	return strings.Replace(before, `default_env = "dev"`, "", 1) + "[env.idle]" + after
}

// TestAConfigurationRenamedIntoPlaceIsSeen: a configuration file renamed
// into place (as a restore with `cp -p` or `rsync -a` leaves it), of the
// same size and time as the one the proxy read, is read again: the proxy
// kept only the time and size, so dev, taken out by the new file, was
// served on, its API called with tokens the person had removed.
func TestAConfigurationRenamedIntoPlaceIsSeen(t *testing.T) {
	f := devServed(t)
	text, err := os.ReadFile(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	was, err := os.Stat(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	without := withoutDev(string(text))
	without += "#" + strings.Repeat(" ", len(text)-len(without)-2) + "\n"
	next := f.configPath + ".next"
	if err := os.WriteFile(next, []byte(without), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(next, was.ModTime(), was.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, f.configPath); err != nil {
		t.Fatal(err)
	}
	if now, err := os.Stat(f.configPath); err != nil || now.Size() != was.Size() || !now.ModTime().Equal(was.ModTime()) {
		t.Fatalf("the file renamed into place differs in size or time: %v", err)
	}
	resp, body := f.get(t, "/dev/v2/company")
	if p := decode[problemBody](t, body); resp.StatusCode != http.StatusNotFound || p.Error != "unknown_environment" {
		t.Errorf("dev, taken out by a file renamed into place: %d %s; want 404 unknown_environment", resp.StatusCode, body)
	}
}

// TestAnEditWhileTheConfigurationIsReadIsSeen: an edit of the file made
// while the proxy reads it (or while its reading waits for another's, as a
// long-running proxy's readers share one) is seen at the next request. The
// file's time and size were taken after the reading, from the edited
// file, so the environment was served as read before the edit until the
// file changed again: here dev, taken out, served on.
func TestAnEditWhileTheConfigurationIsReadIsSeen(t *testing.T) {
	var edit atomic.Bool
	var last atomic.Pointer[config.File]
	var f *fixture
	f = newFixtureWith(t, fixtureOptions{autoApprove: true, tune: func(o *proxy.Options) {
		read := o.Config
		o.Config = func() (*config.File, error) {
			c, err := read()
			if edit.CompareAndSwap(true, false) {
				removeDev(t, f)
			}
			last.Store(c)
			return c, err
		}
		// Opened from the reading, as a long-running proxy opens them.
		o.Open = func(ctx context.Context, env string) (*freshtoken.Source, error) {
			return last.Load().Open(ctx, config.OpenOptions{Env: env, Logger: f.logger, Clock: f.clock.Now})
		}
	}})
	edit.Store(true)
	f.get(t, "/dev/v2/company") // dev opened from the reading before the edit
	resp, body := f.get(t, "/dev/v2/company")
	if p := decode[problemBody](t, body); resp.StatusCode != http.StatusNotFound || p.Error != "unknown_environment" {
		t.Errorf("dev, taken out while the file was read: %d %s; want 404 unknown_environment", resp.StatusCode, body)
	}
}

// TestRemovedEnvironmentIsLetGoOf: the source of an environment taken out
// of the configuration (its tokens and client secret) is let go of once a
// reading a second after the first without it still names it no more. A
// clock set back (NTP, the time corrected) between two readings counts the
// second afresh: counted from the first, the source was held for as long
// as the clock went back.
func TestRemovedEnvironmentIsLetGoOf(t *testing.T) {
	for name, steps := range map[string][]time.Duration{
		"a second apart": {time.Second},
		"a second apart once the clock was set back an hour": {-time.Hour, time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			f := devServedThenRemoved(t)
			f.get(t, "/")
			for _, step := range steps {
				f.clock.Advance(step)
				f.get(t, "/")
			}
			if proxy.Holds(f.proxy, "dev") {
				t.Errorf("the proxy holds the source of dev, removed, after readings of the file %s", name)
			}
		})
	}
}

// TestLogInSurvivesAConfigReadMidSave: an editor saving the configuration
// in place empties the file for a moment, and a read then (the status
// page's, every 2 s) names no environment. A log-in begun on the page
// before it failed once approved, "the configuration of dev changed after
// this log-in began", its code wasted: that read let go of every
// environment, and the one opened again after it was not the one the
// log-in began with. An environment is served no more at the first read
// without it, but let go of only once reads go on without it.
func TestLogInSurvivesAConfigReadMidSave(t *testing.T) {
	f := keptConfigFixture(t)
	_, authURL := f.startLogin(t, "dev")
	text, err := os.ReadFile(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.configPath, nil, 0o600); err != nil { // truncated, not yet written
		t.Fatal(err)
	}
	f.get(t, "/")
	if err := os.WriteFile(f.configPath, text, 0o600); err != nil {
		t.Fatal(err)
	}
	if ended := browse(t, authURL); ended.Query().Get("done") != "logged-in" { // approved at the provider, back to the proxy
		t.Errorf("the log-in ended at %s after a read of the file mid-save; want done=logged-in", ended)
	}
	if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the log-in: %d %s", resp.StatusCode, body)
	}
}

// TestLogoutButtonKeepsARecordItMayNotRead: the page's Log out with a
// record file others may read (mode 0644) deleted it unread, whoever's
// tokens it held, unrevoked, and said the tokens were forgotten. As
// `freshtoken logout`, it deletes nothing, and the page says how to make
// the file private.
func TestLogoutButtonKeepsARecordItMayNotRead(t *testing.T) {
	revocation, revoked := countingRevocation(t)
	f := revFixture(t, func(*fixture) string { return revocation })
	f.login(t, "rev")
	path := filepath.Join(filepath.Dir(f.configPath), "store", "rev.json")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	loc := f.logOutRev(t, "logout-failed")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the record after Log out: %v; want it kept", err)
	}
	if n := revoked.Load(); n != 0 {
		t.Fatalf("the revocation endpoint was asked %d times; want none", n)
	}
	if _, page := f.get(t, loc); !strings.Contains(string(page), "chmod 600") {
		t.Fatalf("the page does not say to make the record private:\n%s", page)
	}
}

// TestLogoutButtonKeepsTheTokensWhenTheProxyStopsMidRevocation: the proxy
// stops (a service stop, an upgrade's restart) while Log out waits to try
// a revocation endpoint again that asked for it (503, Retry-After). The
// revocation was given up, ended by the stop, and the tokens were deleted
// all the same, the grant alive at the provider with nothing left to end
// it. As `freshtoken logout` interrupted, the tokens are kept, for Log
// out again; stopped as the access token's revocation waits, once the
// provider revoked the refresh token, the grant has ended: the tokens are
// forgotten, and the log says so (they were kept, for a grant no longer
// there).
func TestLogoutButtonKeepsTheTokensWhenTheProxyStopsMidRevocation(t *testing.T) {
	for _, tt := range []struct {
		busy string // the token whose revocation the endpoint cannot answer; the refresh token's before it is revoked
		kept bool
		said string
	}{
		{"refresh_token", true, "the log-out stopped before its tokens were deleted (the proxy is stopping): they are kept in "},
		{"access_token", false, "the provider ended the grant; the access token's revocation was stopped, and it may stay valid until it expires"},
	} {
		t.Run(tt.busy, func(t *testing.T) {
			asked := make(chan struct{}, 1)
			busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.PostFormValue("token_type_hint") != tt.busy {
					return // 200: revoked
				}
				select {
				case asked <- struct{}{}:
				default:
				}
				w.Header().Set("Retry-After", "5")
				http.Error(w, "busy", http.StatusServiceUnavailable)
			}))
			t.Cleanup(busy.Close)
			f := tunedRevFixture(t, func(*fixture) string { return busy.URL + "/revoke" }, shortGrace)
			f.login(t, "rev")
			pressed := f.pressingLogOut(context.Background(), f.csrf(t)) // cut short, or answered as the proxy stops
			<-asked
			f.stop()
			<-pressed
			if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || (rec != nil) != tt.kept {
				t.Fatalf("after a stop during Log out's revocation the store holds %+v, %v; want the tokens kept: %t", rec, err, tt.kept)
			}
			if logs := f.logs.String(); !strings.Contains(logs, tt.said) {
				t.Errorf("the log does not say %q:\n%s", tt.said, logs)
			}
		})
	}
}

// TestLogoutButtonStoppedWaitingForTheLock: the proxy stopping while the
// page's Log out waits for the renewal lock (another process renewing)
// sends nothing and keeps the tokens, and the log says so and to press Log
// out again; it said the provider "may have revoked them already", of a
// revocation never sent.
func TestLogoutButtonStoppedWaitingForTheLock(t *testing.T) {
	var sent atomic.Int32
	revocation := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { sent.Add(1) }))
	t.Cleanup(revocation.Close)
	f := tunedRevFixture(t, func(*fixture) string { return revocation.URL + "/revoke" }, shortGrace)
	f.login(t, "rev")
	unlock, err := filestore.New(filepath.Join(filepath.Dir(f.configPath), "store")).Lock(context.Background(), "rev")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	pressed := f.pressingLogOut(context.Background(), f.csrf(t))
	// The log-in's wait, then the log-out's.
	f.logs.WaitFor(t, "the wait for the lock", regexp.MustCompile(`(?s)(msg="waiting for the renewal lock" env=rev.*){2}`))
	f.stop()
	<-pressed
	if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec == nil {
		t.Fatalf("after a stop during Log out's wait for the lock the store holds %+v, %v; want the tokens kept", rec, err)
	}
	logs := f.logs.String()
	if !regexp.MustCompile(`the log-out stopped before its tokens were deleted \(the proxy is stopping\): they are kept in [^ ]*rev\.json; press Log out again to finish it`).MatchString(logs) {
		t.Errorf("the log does not say the log-out stopped, the tokens kept, and nothing of a revocation:\n%s", logs)
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d revocation requests; want none", n)
	}
}

// TestLogoutButtonGoesOnWhenThePageIsClosed: Log out pressed, and the
// page closed (a tab shut, a page left) as the provider's revocation
// endpoint takes its time, ends the grant and forgets the tokens all the
// same. It stopped with the browser: the tokens were kept, the grant alive
// at the provider, and only the log said so and to press Log out again, to
// a person who had pressed it and gone. The proxy stopping after the page
// closed still stops it, the tokens kept and the log saying so.
func TestLogoutButtonGoesOnWhenThePageIsClosed(t *testing.T) {
	for _, stops := range []bool{false, true} {
		t.Run(fmt.Sprintf("proxy stopping %t", stops), func(t *testing.T) {
			asked, release := make(chan struct{}), make(chan struct{})
			t.Cleanup(func() {
				select {
				case <-release:
				default:
					close(release)
				}
			})
			var revoked atomic.Int32
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.PostFormValue("token_type_hint") == "refresh_token" {
					close(asked)
					select {
					case <-release:
					case <-r.Context().Done(): // the revocation given up
						return
					}
				}
				revoked.Add(1)
			}))
			t.Cleanup(slow.Close)
			tune := func(*proxy.Options) {}
			if stops {
				tune = shortGrace
			}
			f := tunedRevFixture(t, func(*fixture) string { return slow.URL + "/revoke" }, tune)
			f.login(t, "rev")
			leave, left := context.WithCancel(context.Background())
			defer left()
			pressed := f.pressingLogOut(leave, f.csrf(t))
			<-asked
			left() // the page closed
			<-pressed
			// Seen by the proxy: said to go on, or (as it was) given up.
			f.logs.WaitFor(t, "the proxy seeing the page closed", regexp.MustCompile(`the page that pressed Log out was closed|button failed`))
			if stops {
				f.stop()
				f.logs.WaitFor(t, "the log-out stopped", regexp.MustCompile(`the log-out stopped before its tokens were deleted \(the proxy is stopping\): they are kept in [^ ]*rev\.json \(the provider may have revoked them already\); press Log out again to finish it`))
				if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec == nil {
					t.Fatalf("after the proxy stopped the store holds %+v, %v; want the tokens kept", rec, err)
				}
				return
			}
			close(release)
			f.stop() // once the log-out in flight has ended
			if rec, err := f.source(t, "rev").Record(context.Background()); err != nil || rec != nil {
				t.Fatalf("after Log out with its page closed the store holds %+v, %v; want the tokens forgotten", rec, err)
			}
			if n := revoked.Load(); n != 2 {
				t.Errorf("%d tokens revoked; want both", n)
			}
		})
	}
}

// TestLogInButtonOnAFullDiskSaysSoBeforeTheProvider: the page's Log in for
// a first log-in into a token folder whose disk is full (no reserve made
// yet, no record to write over) sends the browser nowhere and says the
// disk is full, as `freshtoken login` does before the browser opens. It
// sent the browser to the provider, and the tokens the person approved
// were refused by the store, the code spent. The folder [store] url names
// is moved by [store] url alone; the default one by $XDG_STATE_HOME too,
// which is named for it only.
func TestLogInButtonOnAFullDiskSaysSoBeforeTheProvider(t *testing.T) {
	for _, grant := range []struct {
		env     string
		fixture func(t *testing.T, o fixtureOptions) *fixture
	}{
		{"dev", func(t *testing.T, o fixtureOptions) *fixture { return newFixtureWith(t, o) }}, // the browser's
		{"tv", deviceFixtureWith},
	} {
		for _, folder := range []struct {
			name, set string
			byDefault bool
		}{
			{"named by [store] url", "[store] url", false},
			{"the default", "[store] url (or $XDG_STATE_HOME)", true},
		} {
			t.Run(grant.env+"/"+folder.name, func(t *testing.T) {
				disk := testdisk.Small(t, "128k")
				dir := disk
				o := fixtureOptions{autoApprove: true, storeURL: "file://" + dir}
				if folder.byDefault {
					t.Setenv("XDG_STATE_HOME", disk)
					dir, o = filepath.Join(disk, "freshtoken"), fixtureOptions{autoApprove: true, defaultStore: true}
				} else if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				f := grant.fixture(t, o)
				testdisk.Fill(t, disk)
				resp := f.pressEnv(t, grant.env, "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
				loc := resp.Header.Get("Location")
				if want := "/?done=login-failed&env=" + grant.env; unsigned(loc) != want {
					t.Fatalf("Log in on a full disk answered %d to %q; want %q, the page saying the log-in failed", resp.StatusCode, loc, want)
				}
				want := grant.env + ": token store could not write: the disk holding the token folder " + dir + " is full (no space left on device); free some space, or set " + folder.set + " to a folder on another disk, then log in"
				if _, page := f.get(t, loc); !strings.Contains(html.UnescapeString(string(page)), want) {
					t.Errorf("the page does not say %q:\n%s", want, page)
				}
				if st := f.provider.Stats(); st.DeviceAuthorizations != 0 {
					t.Errorf("the provider was asked for %d device codes", st.DeviceAuthorizations)
				}
			})
		}
	}
}
