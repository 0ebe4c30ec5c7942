package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// hostileAPI is an API that serves what a hostile or compromised API
// could: a web page with a script, redirects anywhere, cookies for every
// path and domain. Its environment is "hostile", whose tokens come from the
// fixture's provider.
func hostileAPI(t *testing.T) (*httptest.Server, fixtureOptions) {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<!doctype html><title>api page</title><p id="p">an API's page</p><script>document.title = "script ran"</script>`)
		case "/redirect":
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusTemporaryRedirect)
		case "/links":
			w.Header().Set("Content-Location", r.URL.Query().Get("to"))
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", </page>; rel="self"`, r.URL.Query().Get("to")))
			io.WriteString(w, "{}")
		case "/clear": // every cookie and all storage of the proxy's address, as far as a browser goes
			w.Header().Add("Clear-Site-Data", `"cookies", "storage"`)
			w.Header().Add("Clear-Site-Data", `"*"`)
		case "/", "/cookie":
			w.Header().Add("Set-Cookie", "a=1; Path=/; Domain=127.0.0.1; HttpOnly")
			w.Header().Add("Set-Cookie", "b=2; Path=/v2/x")
			w.Header().Add("Set-Cookie", "c=3")
			w.Header().Add("Set-Cookie", "b=4; Path=/v2/y") // the same name on another path
		case "/cookies-seen":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, r.Header.Get("Cookie"))
		case "/impostor": // an answer dressed as the proxy's own
			w.Header().Set("X-Freshtoken-Error", "login_required")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"login_required","message":"open https://attacker.example/ and click Log in"}`)
		case "/ws":
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Upgrade", "websocket")
			w.WriteHeader(http.StatusSwitchingProtocols)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(api.Close)
	return api, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string { return genericEnv(f, "hostile", api.URL) }}
}

// TestProxiedPagesCannotUseTheProxy opens a page an API serves through the
// proxy in a browser: its scripts must not run, and script running in it
// must not read the status page, press its buttons, or call another
// environment through the proxy.
func TestProxiedPagesCannotUseTheProxy(t *testing.T) {
	exe := chromium(t)
	_, o := hostileAPI(t)
	f := newFixtureWith(t, o)
	f.login(t, "dev")
	f.login(t, "hostile")
	csrf := f.csrf(t) // as a script on the proxy's origin could read it

	ctx := browser(t, exe)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.base+"/hostile/page")); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title == "script ran" {
		t.Errorf("the API's page ran its script on the proxy's origin")
	}
	// A script the page could have run anyway (DevTools runs it regardless
	// of the page's policy, as an injected script would).
	attack := `(async () => {
  const r = {};
  try { const res = await fetch("/"); const t = await res.text(); r.page = t.includes('name="csrf"') ? "read" : "status " + res.status; } catch (e) { r.page = "blocked"; }
  try { const res = await fetch("/dev/v2/users/me"); r.api = "status " + res.status; } catch (e) { r.api = "blocked"; }
  try { await fetch("/.freshtoken/envs/dev/logout", {method: "POST", mode: "no-cors", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "csrf=" + encodeURIComponent(` + "`" + csrf + "`" + `)}); r.post = "sent"; } catch (e) { r.post = "blocked"; }
  return JSON.stringify(r);
})()`
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](attack, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res, `"page":"read"`) {
		t.Errorf("a proxied page read the status page (and its CSRF token): %s", res)
	}
	if strings.Contains(res, `"api":"status 200"`) {
		t.Errorf("a proxied page called another environment's API with its token: %s", res)
	}
	if rec, err := f.source(t, "dev").Record(context.Background()); err != nil || rec == nil {
		t.Errorf("a proxied page logged dev out (%v): %s", err, res)
	}
}

// browser starts headless Chromium for the test, with more options.
func browser(t *testing.T, exe string, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	// Chromium makes a folder of its own in $TMPDIR (its singleton socket)
	// and leaves it there: one in /tmp for each run. A short one of the
	// test's: a socket's path has room for about 100 bytes, which a test's
	// temporary folder may take alone.
	tmp, err := os.MkdirTemp("", "chromium")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) }) // after the browser has ended (cleanups run last first)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("TMPDIR=" + tmp),
	}, more...)...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute) // a hung browser fails the test instead of hanging it
	t.Cleanup(cancel)
	return ctx
}

func TestProxiedAnswersAreSandboxed(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	resp, _ := f.get(t, "/dev/v2/company")
	if csp := resp.Header.Values("Content-Security-Policy"); len(csp) != 1 || csp[0] != "sandbox; default-src 'none'" {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", resp.Header.Get("X-Content-Type-Options"))
	}
}

// TestAPICannotPassForTheProxy: the header that marks the proxy's own
// answers never comes from the API, so a program can trust it.
func TestAPICannotPassForTheProxy(t *testing.T) {
	_, o := hostileAPI(t)
	f := newFixtureWith(t, o)
	f.login(t, "hostile")
	resp, body := f.get(t, "/hostile/impostor")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "attacker.example") {
		t.Fatalf("got %d %s, want the API's own 401", resp.StatusCode, body)
	}
	if got := resp.Header.Values("X-Freshtoken-Error"); got != nil {
		t.Errorf("the API's answer came with X-Freshtoken-Error %q, which marks the proxy's own", got)
	}
}

// TestReferencesToTheProxyAreNotPassedOn: an API's redirect or link to the
// proxy itself (to another environment, say) must not reach the client.
// TestOutsidersCannotFloodTheLog: a web page in the user's browser may send
// the proxy as many requests as it likes, each refused or turned away, and
// each was a warning holding its whole path (up to 32 KiB): a page wrote
// 90 MB a second to --log-file, or to a service's log, until the disk was
// full. The log gets a few such lines a minute, paths cut short, and then
// says how many went unlogged.
func TestOutsidersCannotFloodTheLog(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, quiet: true})
	long := "/dev/" + strings.Repeat("a", 20<<10)
	send := func(path, mode string, want int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, f.base+path, nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Sec-Fetch-Mode", mode)
		if resp, _ := f.do(t, req); resp.StatusCode != want {
			t.Fatalf("%.40s: got %d, want %d", path, resp.StatusCode, want)
		}
	}
	for range 100 {
		send(long, "no-cors", http.StatusForbidden)
		send("/callback?state=forged", "navigate", http.StatusBadRequest)
	}
	if n := len(f.logs.String()); n > 16<<10 {
		t.Errorf("200 requests from a web page logged %d bytes", n)
	}
	f.clock.Advance(time.Minute)
	send(long, "no-cors", http.StatusForbidden)
	unlogged := regexp.MustCompile(`level=WARN msg="request refused".* unlogged=(\d+)`).FindStringSubmatch(f.logs.String())
	if unlogged == nil || unlogged[1] == "0" {
		t.Errorf("the log does not say how many went unlogged:\n%.2000s", f.logs.String())
	}
}

// TestARefusedRedirectIsLoggedShort: the warning for a redirect back into
// the proxy held the API's whole Location, up to the 10 MB a response
// header may take, on every request sent to a hostile API.
func TestARefusedRedirectIsLoggedShort(t *testing.T) {
	_, o := hostileAPI(t)
	o.quiet = true
	f := newFixtureWith(t, o)
	f.login(t, "hostile")
	to := f.base + "/dev/" + strings.Repeat("a", 16<<10)
	req, _ := http.NewRequest(http.MethodGet, f.base+"/hostile/redirect?to="+url.QueryEscape(to), nil)
	if resp, _ := f.do(t, req); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("got %d, want 502", resp.StatusCode)
	}
	if !strings.Contains(f.logs.String(), "redirect to the proxy refused") {
		t.Fatalf("no warning logged:\n%.2000s", f.logs.String())
	}
	if n := len(f.logs.String()); n > 4<<10 {
		t.Errorf("a refused redirect logged %d bytes", n)
	}
}

func TestReferencesToTheProxyAreNotPassedOn(t *testing.T) {
	api, o := hostileAPI(t)
	f := newFixtureWith(t, o)
	f.login(t, "dev")
	f.login(t, "hostile")
	port := f.port()
	for _, to := range []string{f.base + "/dev/v2/dev/echo", "http://localhost:" + port + "/dev/v2/dev/echo", "http://0.0.0.0:" + port + "/dev/"} {
		t.Run(to, func(t *testing.T) {
			before := f.provider.Stats().APIRequests
			req, _ := http.NewRequest(http.MethodDelete, f.base+"/hostile/redirect?to="+url.QueryEscape(to), nil)
			resp, err := http.DefaultClient.Do(req) // follows a 307 with its method
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Freshtoken-Error") != "redirect_to_proxy" {
				t.Errorf("got %d %s: %s", resp.StatusCode, resp.Header.Get("X-Freshtoken-Error"), body)
			}
			if f.provider.Stats().APIRequests != before {
				t.Errorf("the redirect reached dev's API")
			}

			resp, _ = f.get(t, "/hostile/links?to="+url.QueryEscape(to))
			if cl := resp.Header.Get("Content-Location"); cl != "" {
				t.Errorf("Content-Location %q passed on", cl)
			}
			if link := resp.Header.Get("Link"); link != `<`+f.base+`/hostile/page>; rel="self"` {
				t.Errorf("Link %q", link)
			}
		})
	}
	// Elsewhere is still passed on, and the API's own pages through the proxy.
	resp, _ := f.get(t, "/hostile/redirect?to="+url.QueryEscape("http://example.com/x"))
	if resp.Header.Get("Location") != "http://example.com/x" {
		t.Errorf("a redirect elsewhere became %q", resp.Header.Get("Location"))
	}
	resp, _ = f.get(t, "/hostile/redirect?to="+url.QueryEscape(api.URL+"/page"))
	if resp.Header.Get("Location") != f.base+"/hostile/page" {
		t.Errorf("a redirect within the API became %q", resp.Header.Get("Location"))
	}
}

func TestCookiesAreConfinedToTheirEnvironment(t *testing.T) {
	_, o := hostileAPI(t)
	f := newFixtureWith(t, o)
	f.login(t, "hostile")
	// At /hostile, a cookie without a Path would be the whole proxy's.
	for _, path := range []string{"/hostile/cookie", "/hostile"} {
		resp, _ := f.get(t, path)
		got := strings.Join(resp.Header.Values("Set-Cookie"), " | ")
		if want := "a=1; Path=/hostile/; HttpOnly | b=2; Path=/hostile/v2/x | c=3; Path=/hostile/ | b=4; Path=/hostile/v2/y"; got != want {
			t.Errorf("%s: Set-Cookie %q, want %q", path, got, want)
		}
	}
	// As a browser keeps them: none for another environment or the status page.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	for _, path := range []string{"/hostile", "/hostile/", "/hostile/cookie", "/hostile/v2/x/y"} {
		req, _ := http.NewRequest(http.MethodGet, f.base+path, nil)
		testenv.Do(t, browser, req)
	}
	for _, elsewhere := range []string{"/", "/dev/v2/company", "/hostile2/"} {
		u, _ := url.Parse(f.base + elsewhere)
		if got := jar.Cookies(u); len(got) > 0 {
			t.Errorf("the hostile API's cookies %v are sent to %s", got, elsewhere)
		}
	}
}

// TestBrowserSendsTheAPIOnlyItsOwnCookies: of the cookies a browser sends
// with a request to an environment, only those its API set through the
// proxy go on to the API. A browser sends every cookie it holds for
// 127.0.0.1 whose path matches, whatever port set it: a notebook's session
// cookie, set by another program served on this machine, reached the API.
// Other clients (curl, Postman, scripts) send the cookies they are given,
// which pass on as they are.
func TestBrowserSendsTheAPIOnlyItsOwnCookies(t *testing.T) {
	exe := chromium(t)
	_, o := hostileAPI(t)
	f := newFixtureWith(t, o)
	f.login(t, "hostile")
	notebook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "notebook=c2VjcmV0; Path=/")
		io.WriteString(w, "a notebook")
	}))
	t.Cleanup(notebook.Close)

	ctx := browser(t, exe)
	seen := func() string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(f.base+"/hostile/cookies-seen")); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body.innerText"))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(notebook.URL), chromedp.Navigate(f.base+"/hostile/cookie")); err != nil {
		t.Fatal(err)
	}
	if got := seen(); strings.Contains(got, "notebook") || !strings.Contains(got, "a=1") || !strings.Contains(got, "c=3") {
		t.Errorf("the API got the browser's cookies %q; want its own (a=1, c=3) and not the notebook's", got)
	}

	req, _ := http.NewRequest(http.MethodGet, f.base+"/hostile/cookies-seen", nil)
	req.Header.Set("Cookie", "notebook=c2VjcmV0; mine=1")
	if _, body := f.do(t, req); string(body) != "notebook=c2VjcmV0; mine=1" {
		t.Errorf("a client's own Cookie header reached the API as %q; want it as sent", body)
	}
}

// TestAPICannotClearOtherEnvironmentsCookies: an API's Clear-Site-Data,
// which a browser applies to the proxy's whole address (127.0.0.1 is a
// secure context, and cookies ignore the port), would delete every other
// environment's cookies, and every other local program's; it is not passed
// on.
func TestAPICannotClearOtherEnvironmentsCookies(t *testing.T) {
	_, o := hostileAPI(t)
	f := newFixtureWith(t, o)
	f.login(t, "hostile")
	resp, _ := f.get(t, "/hostile/clear")
	if got := resp.Header.Values("Clear-Site-Data"); resp.StatusCode != http.StatusOK || len(got) > 0 {
		t.Errorf("got %d with Clear-Site-Data %q, want the answer without it", resp.StatusCode, got)
	}
}

// TestEngineFailureAfter401 is a renewal after a 401 that fails for want
// of the client secret: a configuration problem, not an unreachable API.
func TestEngineFailureAfter401(t *testing.T) {
	f := secretVarFixture(t)
	f.login(t, "env-secret")
	t.Setenv("FRESHTOKEN_TEST_SECRET", "")
	other := f.serve(t) // a proxy that has not read the secret yet
	f.provider.RevokeAccessTokens()
	resp, err := http.Get(other + "/env-secret/v2/company")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p := decode[problemBody](t, body)
	if resp.StatusCode != http.StatusInternalServerError || p.Error != "invalid_configuration" || !strings.Contains(p.Message, "FRESHTOKEN_TEST_SECRET") {
		t.Errorf("got %d %+v", resp.StatusCode, p)
	}
}

// TestAllowRemote is a proxy listening on a LAN address with --allow-remote.
func TestAllowRemote(t *testing.T) {
	f := newFixture(t)
	lan, serve := lanProxy(t, f)
	_, port, _ := strings.Cut(lan, ":")
	const local, remote = "127.0.0.1:50000", "10.9.9.9:50000"

	t.Run("an origin at another IP address is refused", func(t *testing.T) {
		if w := serve("GET", "/", remote, "http://10.6.6.6:"+port, ""); w.Code != http.StatusForbidden {
			t.Errorf("got %d", w.Code)
		}
		if w := serve("GET", "/", remote, "http://"+lan, ""); w.Code != http.StatusOK {
			t.Errorf("own origin: got %d", w.Code)
		}
	})
	t.Run("log-ins come back to the address listened on", func(t *testing.T) {
		key := decode[struct {
			Key string `json:"login_key"`
		}](t, serve("GET", "/.freshtoken/envs/dev/grant", local, "", "").Body.Bytes()).Key
		w := serve("GET", proxy.WithLoginKey("/.freshtoken/envs/dev/login", key), local, "", "")
		if w.Code != http.StatusSeeOther {
			t.Fatalf("got %d: %s", w.Code, w.Body)
		}
		u, _ := url.Parse(w.Header().Get("Location"))
		if got := u.Query().Get("redirect_uri"); got != "http://"+lan+"/callback" {
			t.Errorf("redirect_uri %q, want this proxy's own http://%s/callback", got, lan)
		}
	})
	t.Run("buttons only on this machine", func(t *testing.T) {
		page := serve("GET", "/", local, "", "").Body.String()
		csrf := csrfField.FindStringSubmatch(page)
		if csrf == nil || !strings.Contains(page, "Its buttons work only on this computer") {
			t.Fatalf("the page on this machine has no buttons or says %q", page[strings.Index(page, "<footer"):])
		}
		seen := serve("GET", "/", remote, "", "").Body.String()
		if strings.Contains(seen, `id="login-dev"`) || strings.Contains(seen, "only reachable from this computer") || strings.Contains(seen, csrf[1]) {
			t.Errorf("another machine sees buttons, the CSRF token, or an untrue footer")
		}
		if w := serve("POST", "/.freshtoken/envs/dev/renew", remote, "http://"+lan, "csrf="+url.QueryEscape(csrf[1])); w.Code != http.StatusForbidden {
			t.Errorf("Renew now from another machine: got %d", w.Code)
		}
	})
}

// rootEnv configures the environment root, whose redirect_uri is the
// proxy's root followed by suffix.
func rootEnv(suffix string) func(f *fixture) string {
	return func(f *fixture) string {
		return fmt.Sprintf(`
[env.root]
provider = "freeagent"
api_url = %q
client_id = "dev-client-id"
client_secret = "dev-client-secret"
redirect_uri = "%s%s"
`, f.api, f.base, suffix)
	}
}

// TestLoginAtTheRoot is an environment whose redirect_uri is the proxy's
// root, with or without its slash.
func TestLoginAtTheRoot(t *testing.T) {
	for _, suffix := range []string{"/", ""} {
		t.Run("redirect_uri ending "+suffix, func(t *testing.T) {
			f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: rootEnv(suffix)})
			f.login(t, "root") // approved at once; back to the proxy at its root
		})
	}
}

// TestLoginAtAnotherSpellingOfTheProxy: an environment whose redirect_uri
// names the proxy by a localhost name (app.localhost) or another spelling
// of its address (127.1) logs in through the proxy: the provider was asked
// to send the browser back there, the redirect_uri registered, and the
// proxy then refused the browser as a DNS rebinding (403), the log-in
// left waiting.
func TestLoginAtAnotherSpellingOfTheProxy(t *testing.T) {
	for _, host := range []string{"app.localhost", "127.1", "LOCALHOST."} {
		t.Run(host, func(t *testing.T) {
			f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
				return fmt.Sprintf("\n[env.other]\nprovider = \"freeagent\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nredirect_uri = \"http://%s:%s/callback\"\n", f.api, host, f.port())
			}})
			// A browser opens the name at the proxy, as it opens localhost
			// names at loopback without asking a name server.
			var dialer net.Dialer
			browser := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if strings.HasSuffix(addr, ":"+f.port()) {
					addr = f.addr
				}
				return dialer.DialContext(ctx, network, addr)
			}}}
			resp, err := browser.Get(f.vouched(t, "other", proxy.LoginURL(f.base, "other", "", "", "", 0)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if done := resp.Request.URL.Query().Get("done"); resp.StatusCode != http.StatusOK || done != "logged-in" {
				t.Errorf("the log-in ended at %s with %d; want logged-in", resp.Request.URL.Path, resp.StatusCode)
			}
			if !strings.HasSuffix(host, ".localhost") {
				return
			}
			// A name under .localhost is the proxy's only while a log-in
			// waits to come back to it: no page is served there after.
			req, _ := http.NewRequest(http.MethodGet, "http://"+host+":"+f.port()+"/callback?state=spent", nil)
			if resp, _ := testenv.Do(t, browser, req); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s after the log-in: %d; want 403", host, resp.StatusCode)
			}
		})
	}
}

// TestLoginAtLocalhostOnIPv6: a proxy listening on [::1] (--listen
// [::1]:PORT) logs an environment whose redirect_uri names localhost at
// that port in at that redirect_uri, the one registered with the
// provider, which a browser opens at [::1]: it asked the provider to come
// back to its own http://[::1]:PORT/callback, which the provider refused
// as unregistered.
func TestLoginAtLocalhostOnIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	redirect := "http://localhost:" + port + "/callback"
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return fmt.Sprintf("\n[env.six]\nprovider = \"freeagent\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nredirect_uri = %q\n", f.api, redirect)
	}})
	p, err := proxy.New(f.options(ln.Addr().String(), false))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, p, ln)
	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/.freshtoken/envs/six/grant")
	if err != nil {
		t.Fatal(err)
	}
	grant, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	key := decode[struct {
		Key string `json:"login_key"`
	}](t, grant).Key
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(proxy.WithLoginKey(proxy.LoginURL(base, "six", "", "", "", 0), key))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	auth, _ := url.Parse(resp.Header.Get("Location"))
	if got := auth.Query().Get("redirect_uri"); got != redirect {
		t.Fatalf("the provider is asked to come back to %q; want the registered %s", got, redirect)
	}
	approved, err := noFollow.Get(auth.String())
	if err != nil {
		t.Fatal(err)
	}
	approved.Body.Close()
	back, _ := url.Parse(approved.Header.Get("Location"))
	back.Host = ln.Addr().String() // where a browser opens localhost here: [::1]
	req, _ := http.NewRequest(http.MethodGet, back.String(), nil)
	req.Host = "localhost:" + port
	ended, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ended.Body.Close()
	if done := ended.Request.URL.Query().Get("done"); done != "logged-in" {
		t.Errorf("the log-in ended at %s; want logged-in", ended.Request.URL)
	}
}

// TestManualAnswerAtAnotherRedirectPathSaysToPasteIt: a browser coming
// back (code and state) to the redirect path of an environment whose
// redirect_uri is this proxy's address, not /callback, with no log-in of
// the proxy's waiting for it (`freshtoken login --manual`, which does not
// listen, waits for the address pasted), gets the page that says to paste
// the address, which stays in the address bar, its code unexchanged: it got
// the JSON 404 of an unknown environment, and a person read "not found" and
// gave up. A request there that is no answer is still the API's.
func TestManualAnswerAtAnotherRedirectPathSaysToPasteIt(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return fmt.Sprintf("\n[env.other]\nprovider = \"freeagent\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nredirect_uri = \"%s/oauth/done\"\n", f.api, f.base)
	}})
	before := f.provider.Stats().TokenRequests
	resp, page := f.get(t, "/oauth/done?code=dev_code_0123456789&state=from-the-terminal")
	if !staleAnswer(resp, page) || !strings.Contains(string(page), "paste it there") {
		t.Errorf("the answer to a manual log-in at /oauth/done: %d %s; want the page saying to paste the address", resp.StatusCode, page)
	}
	if f.provider.Stats().TokenRequests != before {
		t.Error("its code was exchanged")
	}
	if resp, body := f.get(t, "/oauth/done"); resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "unknown_env") {
		t.Errorf("a request at /oauth/done that is no answer: %d %s; want the API's unknown environment", resp.StatusCode, body)
	}
}

// TestForgedCallbackIsTurnedAway: while a log-in waits for its browser, a
// callback with another state (any web page can send one) is turned away
// unexchanged, and leaves the real log-in to finish.
func TestForgedCallbackIsTurnedAway(t *testing.T) {
	f := newFixture(t)
	state, authURL := f.startLogin(t, "dev")
	for _, forged := range []string{"guessed", state + "x", "", state[:len(state)-1]} {
		f.turnedAway(t, "code=stolen&error=access_denied&state="+url.QueryEscape(forged), fmt.Sprintf("state %q", forged))
	}
	if ended := browse(t, authURL); ended.Query().Get("done") != "logged-in" { // the real browser: approved at once, back to the proxy
		t.Fatalf("the real log-in ended at %s", ended)
	}
}

// TestLoginExpires: a log-in the browser does not come back to within its
// time is forgotten; a late answer is turned away unexchanged.
func TestLoginExpires(t *testing.T) {
	f := newFixture(t)
	state, _ := f.startLogin(t, "dev")
	f.clock.Advance(login.DefaultTimeout + time.Second)
	f.turnedAway(t, "code=late&state="+url.QueryEscape(state), "a late answer")
}

// TestLoginExpiresAfterTheClockIsSetBack: a log-in begun before the clock
// was set back (NTP, the time corrected) is forgotten once its time has
// passed on the timers, which the clock set back does not move: it waited
// for its browser, and took a late answer, for as long as the clock went
// back.
func TestLoginExpiresAfterTheClockIsSetBack(t *testing.T) {
	f := newFixture(t)
	timers := fakeclock.New()
	proxy.SetTimers(f.proxy, timers.Now)
	state, _ := f.startLogin(t, "dev")
	f.clock.Advance(-time.Hour + login.DefaultTimeout + time.Second) // set back, then its time passes
	timers.Advance(login.DefaultTimeout + time.Second)
	if f.proxy.LoggingIn() {
		t.Error("a log-in begun before the clock was set back an hour still waits for its browser past its time")
	}
	f.turnedAway(t, "code=late&state="+url.QueryEscape(state), "a late answer, the clock set back an hour since the log-in began")
}

// TestLoginWaitsAsLongAsItsCommand: a `freshtoken login --timeout 10m`
// through the proxy waits ten minutes for its browser, and so does the
// proxy's log-in it began (it was forgotten after five: the browser,
// approved at six, was turned away as stale while the command waited on
// for four more minutes); the proxy's own bound still holds past that.
func TestLoginWaitsAsLongAsItsCommand(t *testing.T) {
	f := newFixture(t)
	_, authURL := f.startAttempt(t, "dev", "patient", 10*time.Minute)
	f.clock.Advance(6 * time.Minute)
	if ended := browse(t, authURL); ended.Query().Get("done") != "logged-in" { // approved at the provider, back to the proxy
		t.Fatalf("approved after six minutes of ten, the log-in ended at %s", ended)
	}

	state, _ := f.startAttempt(t, "dev", "for-ever", 1000*time.Hour)
	f.clock.Advance(25 * time.Hour)
	if resp, page := f.get(t, "/callback?code=late&state="+url.QueryEscape(state)); !staleAnswer(resp, page) {
		t.Errorf("a log-in that asked to wait 1000 hours still took an answer after 25: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestUpgradesAreListed: a protocol switch (a websocket) shows as 101, not
// as a failure.
func TestUpgradesAreListed(t *testing.T) {
	_, o := hostileAPI(t)
	f := newFixtureWith(t, o)
	f.login(t, "hostile")
	resp, _ := f.rawGet(t, "/hostile/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("got %d", resp.StatusCode)
	}
	// The proxy lists the request once both sides have closed, just after
	// this side sees its end: look until it is there.
	testenv.WaitFor(t, "the upgrade to be listed", func() bool {
		_, page := f.get(t, "/")
		if strings.Contains(string(page), `/hostile/ws</td><td><span class="status status-error">none`) {
			t.Fatal("the upgrade is listed as failed")
		}
		return strings.Contains(string(page), `<td class="path">/hostile/ws</td><td><span class="status status-ok">101</span>`)
	})
}

// TestStatusPageAfterTheRefreshTokenExpires: no renewal can help, so the
// page says to log in again.
func TestStatusPageAfterTheRefreshTokenExpires(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	f.clock.Advance(21 * 24 * time.Hour) // the provider's refresh tokens last 20 days
	_, body := f.get(t, "/")
	page := string(body)
	if strings.Contains(page, "renewed on the next request") || !strings.Contains(page, "log in again") {
		t.Errorf("the page says %q", page[strings.Index(page, `id="env-dev"`):strings.Index(page, `id="env-idle"`)])
	}
}

// TestLoginAnsweredByAnotherIssuer: the proxy's log-in of an environment
// with an issuer refuses an answer whose iss (RFC 9207) names another (a
// mix-up: the provider sent the browser on to another provider, whose code
// came back), without exchanging its code, and shows why on the page.
func TestLoginAnsweredByAnotherIssuer(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return fmt.Sprintf("\n[env.idp]\nprovider = \"generic\"\napi_url = %q\nissuer = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nredirect_uri = \"%s/callback\"\n",
			f.api, strings.TrimSuffix(f.api, "/"), f.base)
	}})
	state, _ := f.startLogin(t, "idp")
	before := f.provider.Stats().TokenRequests
	resp, _ := f.get(t, "/callback?"+url.Values{"code": {"corp-code-0123456789"}, "state": {state}, "iss": {"https://corp.example.com/realms/staff"}}.Encode())
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=login-failed") {
		t.Errorf("the browser got %d to %q; want the log-in failed", resp.StatusCode, resp.Header.Get("Location"))
	}
	if f.provider.Stats().TokenRequests != before {
		t.Error("the other provider's code was exchanged")
	}
	if _, page := f.get(t, "/"); !strings.Contains(string(page), "answered by another provider") {
		t.Errorf("the status page does not say why the log-in failed")
	}
}

// TestLoginAnsweredWithoutTheIssuerItsProviderNames: a provider whose
// discovery document says it names itself in every log-in answer (RFC
// 9207's authorization_response_iss_parameter_supported) did not write an
// answer without iss: another provider, to which a mix-up sent the browser
// on, did. The page's log-in exchanged its code at this environment's token
// endpoint; it is refused unexchanged, and the provider's own answer,
// naming it, logs in.
func TestLoginAnsweredWithoutTheIssuerItsProviderNames(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, namesIssuer: true, moreConfig: func(f *fixture) string {
		return fmt.Sprintf("\n[env.idp]\nprovider = \"generic\"\napi_url = %q\nissuer = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nredirect_uri = \"%s/callback\"\n",
			f.api, strings.TrimSuffix(f.api, "/"), f.base)
	}})
	state, _ := f.startLogin(t, "idp")
	before := f.provider.Stats().TokenRequests
	resp, _ := f.get(t, "/callback?"+url.Values{"code": {"corp-code-0123456789"}, "state": {state}}.Encode())
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=login-failed") {
		t.Errorf("the browser got %d to %q; want the log-in failed", resp.StatusCode, resp.Header.Get("Location"))
	}
	if f.provider.Stats().TokenRequests != before {
		t.Error("the other provider's code was exchanged")
	}
	if _, page := f.get(t, "/"); !strings.Contains(string(page), "names no issuer") {
		t.Errorf("the status page does not say why the log-in failed")
	}
	_, authURL := f.startLogin(t, "idp")
	resp, err := http.Get(authURL) // approved at once, with iss
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if done := resp.Request.URL.Query().Get("done"); done != "logged-in" {
		t.Errorf("the provider's own answer ended at %s", resp.Request.URL)
	}
}

// TestAnswerAtAnotherRedirectURIIsTurnedAway: a log-in's answer is taken
// only at the redirect URI its request named. Environments with redirect
// URIs of their own are the defence against a provider that sends the
// browser on to another provider with the log-in's state (a mix-up, RFC
// 9700 §4.4.2): the other provider answers at its own environment's
// redirect URI, and the proxy exchanged that code, and the PKCE verifier
// with it, at the first provider's token endpoint. The answer is turned
// away unexchanged; the log-in it names still waits for its own.
func TestAnswerAtAnotherRedirectURIIsTurnedAway(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: rootEnv("/")})
	devState, devAuth := f.startLogin(t, "dev") // back at /callback
	rootState, rootAuth := f.startLogin(t, "root")
	before := f.provider.Stats().TokenRequests
	for _, answer := range []string{
		"/?" + url.Values{"code": {"other-providers-code"}, "state": {devState}}.Encode(),
		"/callback?" + url.Values{"code": {"other-providers-code"}, "state": {rootState}}.Encode(),
	} {
		if resp, page := f.get(t, answer); !staleAnswer(resp, page) {
			t.Errorf("%s: got %d to %q; want it turned away", answer, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if f.provider.Stats().TokenRequests != before {
		t.Fatal("an answer at another environment's redirect URI was exchanged")
	}
	for env, authURL := range map[string]string{"dev": devAuth, "root": rootAuth} {
		resp, err := http.Get(authURL) // approved at once, back where it asked
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if done := resp.Request.URL.Query().Get("done"); done != "logged-in" {
			t.Errorf("%s's own answer then ended at %s", env, resp.Request.URL)
		}
	}
}

// TestCookiePathsWithDotSegmentsAreResolved: an API's cookie whose Path
// holds dot segments (Path=/../other) has them resolved before it is put
// under /<env>/, so it is never scoped to another environment's part of
// the proxy (/<env>/../other is /other to a client that resolves it); one
// whose dot segments are percent-encoded is kept to the environment's
// whole part.
func TestCookiePathsWithDotSegmentsAreResolved(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range []string{"d=1; Path=/../other", "e=2; Path=/api/v1/../../other/x", "f=3; Path=/api/v1/x/../y",
			"g=4; Path=/api/v1/%2e%2e/%2e%2e/other", "h=5; Path=/api/v1/./z/", "i=6; Path=/api/v1/x/..", "j=7; Path=/api/v1/..\\..\\other", "k=8; Path=/api/v1/%252e%252e/other"} {
			w.Header().Add("Set-Cookie", c)
		}
	}))
	t.Cleanup(api.Close)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return genericEnv(f, "under", api.URL+"/api/v1") + genericEnv(f, "root", api.URL)
	}})
	for env, want := range map[string]string{
		"under": "d=1; Path=/under/ | e=2; Path=/under/ | f=3; Path=/under/y | g=4; Path=/under/ | h=5; Path=/under/z/ | i=6; Path=/under/ | j=7; Path=/under/ | k=8; Path=/under/",
		"root":  "d=1; Path=/root/other | e=2; Path=/root/other/x | f=3; Path=/root/api/v1/y | g=4; Path=/root/other | h=5; Path=/root/api/v1/z/ | i=6; Path=/root/api/v1/ | j=7; Path=/root/ | k=8; Path=/root/",
	} {
		f.login(t, env)
		resp, _ := f.get(t, "/"+env+"/x")
		if got := strings.Join(resp.Header.Values("Set-Cookie"), " | "); got != want {
			t.Errorf("%s: Set-Cookie %q, want %q", env, got, want)
		}
	}
}

// TestStatusPageListsNoTokenInAPath: a request whose path holds the access
// token (a client following a careless API's redirect that put it there,
// or a script that did) is listed among the recent requests with the token
// masked, as the log shows it: the page, which says it never shows a token
// and which other computers see with --allow-remote, showed it whole.
func TestStatusPageListsNoTokenInAPath(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	tok := f.storedToken(t)
	f.get(t, "/dev/v2/files/"+tok)
	f.get(t, "/dev/v2/files/"+strings.ReplaceAll(url.PathEscape(tok), "_", "%5F")+"/x")
	_, page := f.get(t, "/")
	if strings.Contains(string(page), tok) || strings.Count(string(page), "/dev/v2/files/") != 2 {
		t.Errorf("the status page lists the requests whose paths hold the access token as:\n%s\nwant each listed, the tokens masked", page)
	}
}

// TestStatusPageListsNoTokenRenewedSince: a request listed with the access
// token in its path keeps it masked after the token is renewed twice (the
// page's Renew button, pressed twice), when the process no longer knows it
// for a secret (redact.Set keeps two generations) and it may still be
// valid: what is listed is masked as the request is noted, not as the page
// is shown.
func TestStatusPageListsNoTokenRenewedSince(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	renew := func() {
		t.Helper()
		if _, err := f.source(t, "dev").Renew(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	renew() // a token the log-in's own masking does not hold
	tok := f.storedToken(t)
	f.get(t, "/dev/v2/files/"+tok)
	renew()
	renew()
	if f.storedToken(t) == tok || redact.Scrub(tok) != tok {
		t.Fatal("the token was not renewed twice, or is still known for a secret: the test tests nothing")
	}
	_, page := f.get(t, "/")
	if strings.Contains(string(page), tok) || !strings.Contains(string(page), "/dev/v2/files/") {
		t.Errorf("the status page lists the request whose path holds a token renewed twice since as:\n%s\nwant it listed, the token masked", page)
	}
}

// TestStatusPageListsNoTokenAsEnvironmentOrMethod: what the page lists of
// a request is masked whole, not its path alone. A path that begins with
// the access token (a script that put it where the environment's name
// goes) was listed with the token masked in its path and whole as its
// environment, and a request whose method is the token (any token of
// RFC 9110's characters is a method) whole as its method.
func TestStatusPageListsNoTokenAsEnvironmentOrMethod(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	tok := f.storedToken(t)
	// A token this proxy never saw, written with dots (a JWT), is not said
	// back either: the answer's hint for a path lacking its environment
	// ("first in the path: /ENV/...") quoted the path, which begins with it.
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQtb25l"
	for _, secret := range []string{tok, jwt} {
		if _, answer := f.get(t, "/"+secret+"/v2/files"); strings.Contains(string(answer), secret[:20]) || !strings.Contains(string(answer), redact.NotShown) {
			t.Errorf("a request for the environment named by a token was answered %s; want the name not shown", answer)
		}
	}
	req, err := http.NewRequest(tok, f.base+"/dev/v2/files", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.do(t, req)
	_, page := f.get(t, "/")
	if strings.Contains(string(page), tok) || strings.Count(string(page), "/v2/files</td>") != 3 || strings.Contains(string(page), jwt[:20]) {
		t.Errorf("the status page lists the requests holding the access token as their environment or method as:\n%s\nwant each listed, the tokens masked", page)
	}
}

// TestLogShowsNoUnseenTokenAsEnvironment: a token this proxy never saw,
// written where the environment's name goes (a JWT, with dots, as curl
// 127.0.0.1:8787/$TOKEN/x sends it), is masked in the debug log's line of
// the request, as the answer and the status page mask it, and in the
// warning of a request refused for its Host (a client naming another
// address): both logged it whole. Percent-encoded (%2E, %2F), it was also
// listed whole on the status page, whose masking looked for it as written
// in the decoded path.
func TestLogShowsNoUnseenTokenAsEnvironment(t *testing.T) {
	f := newFixture(t)
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQtb25l"
	f.get(t, "/"+jwt+"/v2/files")
	f.get(t, "/"+strings.Replace(jwt, ".", "%2E", 1)+"/v2/files")
	f.get(t, "/"+strings.Replace(jwt, ".", "%2F", 1)+"/v2/files")
	req, err := http.NewRequest(http.MethodGet, f.base+"/"+jwt+"/v2/files", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "elsewhere.example:80"
	if resp, _ := f.do(t, req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a request for another host was answered %s; want 403", resp.Status)
	}
	logs := f.logs.String()
	_, page := f.get(t, "/")
	for _, part := range strings.Split(jwt, ".") {
		if strings.Contains(logs, part) {
			t.Errorf("the proxy's log holds %q of a token written as the environment:\n%s", part, logs)
		}
		if strings.Contains(string(page), part) {
			t.Errorf("the status page lists %q of a token written as the environment:\n%s", part, page)
		}
	}
	if strings.Count(string(page), "/v2/files</td>") != 3 {
		t.Errorf("the status page does not list the three requests, each with the rest of its path:\n%s", page)
	}
	if !strings.Contains(logs, "proxied request") || !strings.Contains(logs, "request refused") {
		t.Errorf("the log tells of neither request, so the test tests nothing:\n%s", logs)
	}
}

// TestGuardRunsBeforeTheConfigurationIsRead: a request that looks like a
// browser coming back from a log-in (a state and a code), addressed to
// another host (DNS rebinding) or sent by another web page (its Origin),
// is refused before the proxy reads anything of its configuration: it was
// read first, to tell whether the path was an environment's redirect
// path, for any web page that asked.
func TestGuardRunsBeforeTheConfigurationIsRead(t *testing.T) {
	var reads atomic.Int64
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, tune: func(o *proxy.Options) {
		load := o.Config
		o.Config = func() (*config.File, error) {
			reads.Add(1)
			return load()
		}
	}})
	for _, c := range []struct{ host, origin string }{
		{host: "rebound.example:" + f.port()},
		{host: f.addr, origin: "http://attacker.example"},
	} {
		req, err := http.NewRequest(http.MethodGet, f.base+"/oauth/done?code=dev_code_0123456789&state=x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = c.host
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if resp, _ := f.do(t, req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a log-in answer for Host %s, Origin %q: %s; want 403", c.host, c.origin, resp.Status)
		}
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("refusing requests from web pages read the configuration %d times; want none", n)
	}
	if f.get(t, "/"); reads.Load() == 0 {
		t.Error("the status page read no configuration either: the test counts nothing")
	}
}
