package proxy_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// otherConfigLogsIn stores, for dev, the tokens of a log-in made with a
// second configuration file that shares the fixture's store and names dev
// with another client, as `freshtoken --config other.toml login` does; it
// returns that grant.
func (f *fixture) otherConfigLogsIn(t *testing.T) store.Grant {
	t.Helper()
	return f.configLogsIn(t, "other")
}

// configLogsIn is otherConfigLogsIn for the configuration file name.toml,
// whose client is name-client-id and whose tokens are name-access-token
// and name-refresh-token.
func (f *fixture) configLogsIn(t *testing.T, name string) store.Grant {
	t.Helper()
	conf, err := os.ReadFile(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(filepath.Dir(f.configPath), name+".toml")
	if err := os.WriteFile(other, []byte(strings.ReplaceAll(string(conf), `"dev-client-id"`, `"`+name+`-client-id"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := config.Open(t.Context(), config.OpenOptions{Path: other, Env: "dev", Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok := &oauth2.Token{AccessToken: name + "-access-token", RefreshToken: name + "-refresh-token", Expiry: f.clock.Now().Add(time.Hour)}
	if err := src.SaveLogin(t.Context(), tok, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	return src.OwnGrant()
}

// othersKept fails the test unless dev's record holds the other
// configuration's tokens.
func (f *fixture) othersKept(t *testing.T, what string) {
	t.Helper()
	if _, rec := f.stored(t, "dev"); rec.RefreshToken != "other-refresh-token" {
		t.Errorf("%s: the other configuration's tokens were replaced: %+v", what, rec.Grant)
	}
}

// TestLogInOverAnotherConfigurationsTokensAsks: two configuration files
// name dev with other clients and share one store. The status page's Log
// in, over the other's tokens, sent the browser to the provider and
// replaced them with no word of them, the other configuration's grant
// lost, where `freshtoken login` asks on a terminal. It now starts nothing
// and says why, and the page offers Replace and log in, which does.
func TestLogInOverAnotherConfigurationsTokensAsks(t *testing.T) {
	f := newFixture(t)
	f.otherConfigLogsIn(t)
	_, page := f.get(t, "/")
	if !strings.Contains(string(page), `id="login-dev" class="danger">Replace and log in<`) || !strings.Contains(string(page), "the other configuration will then have to log in again") {
		t.Fatalf("the page does not offer to replace another configuration's tokens:\n%s", page)
	}
	resp := f.pressEnv(t, "dev", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || unsigned(loc) != "/?done=login-over-other&env=dev" {
		t.Fatalf("Log in, unconfirmed, over another configuration's tokens: %d to %q; want the page saying why nothing was started", resp.StatusCode, loc)
	}
	if _, page := f.get(t, resp.Header.Get("Location")); !strings.Contains(string(page), "Nothing was started or changed: the tokens stored for dev belong to another configuration") {
		t.Errorf("the page does not say why nothing was started:\n%s", page)
	}
	f.othersKept(t, "Log in, unconfirmed")
	f.replaceAndLogIn(t, page)
}

// replaceAndLogIn clicks dev's Replace and log in on page, approves the
// log-in, and fails the test unless dev then holds this configuration's
// tokens.
func (f *fixture) replaceAndLogIn(t *testing.T, page []byte) {
	t.Helper()
	resp := f.pressEnv(t, "dev", "login", loginForm(t, page, "dev"), f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.api) {
		t.Fatalf("Replace and log in: %d to %q; want the log-in started", resp.StatusCode, loc)
	}
	if ended := browse(t, resp.Header.Get("Location")); ended.Query().Get("done") != "logged-in" {
		t.Fatalf("Replace and log in, approved, ended at %s", ended)
	}
	if _, rec := f.stored(t, "dev"); rec.Grant.ClientID != "dev-client-id" {
		t.Errorf("Replace and log in, approved, kept the tokens it was to replace: %+v", rec.Grant)
	}
}

// TestALogInMeetingAnotherConfigurationsTokensStoresNothing: another
// configuration (a second config file naming dev with another client,
// sharing the store) logged in while a log-in begun on the status page,
// or by `freshtoken login` through the proxy's link, waited for the
// person to approve. The answer replaced the other's tokens unasked. It
// now stores nothing and says why, unless the log-in was allowed to
// replace them: the page's Replace and log in over those very tokens, or a
// `freshtoken login` that replaces them (--yes, or no terminal: the link's
// replace=other), or that the person told to replace them (replace_grant).
func TestALogInMeetingAnotherConfigurationsTokensStoresNothing(t *testing.T) {
	link := func(f *fixture, extra func(string) string) string {
		return f.vouched(t, "dev", extra(proxy.LoginURL(f.base, "dev", "dev-client-id", "", "", 0)))
	}
	started := func(t *testing.T, f *fixture, link string) string {
		t.Helper()
		resp, err := noRedirects.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.api) {
			t.Fatalf("the log-in link: %d to %q; want the log-in started", resp.StatusCode, loc)
		}
		return resp.Header.Get("Location")
	}
	for _, tc := range []struct {
		name     string
		start    func(t *testing.T, f *fixture) string
		replaces bool
	}{
		{"page", func(t *testing.T, f *fixture) string {
			resp := f.pressEnv(t, "dev", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.api) {
				t.Fatalf("Log in: %d to %q; want the log-in started", resp.StatusCode, loc)
			}
			return resp.Header.Get("Location")
		}, false},
		{"link", func(t *testing.T, f *fixture) string {
			return started(t, f, link(f, func(l string) string { return l }))
		}, false},
		{"link replacing a grant confirmed", func(t *testing.T, f *fixture) string {
			return started(t, f, link(f, func(l string) string {
				return proxy.Replacing(l, f.clock.Now().Add(time.Minute), false, []store.Grant{{ClientID: "someone-else"}}, nil)
			}))
		}, false},
		{"link replacing any", func(t *testing.T, f *fixture) string {
			return started(t, f, link(f, func(l string) string { return proxy.Replacing(l, f.clock.Now().Add(time.Minute), true, nil, nil) }))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.login(t, "dev")
			auth := tc.start(t, f)
			f.otherConfigLogsIn(t)
			exchanges := f.provider.Stats().Exchanges
			ended := browse(t, auth)
			if tc.replaces {
				if ended.Query().Get("done") != "logged-in" {
					t.Fatalf("a log-in allowed to replace another configuration's tokens ended at %s", ended)
				}
				if _, rec := f.stored(t, "dev"); rec.Grant.ClientID != "dev-client-id" {
					t.Errorf("the log-in kept the other configuration's tokens: %+v", rec.Grant)
				}
				return
			}
			if unsigned(ended.RequestURI()) != "/?done=login-failed&env=dev" {
				t.Errorf("a log-in approved after another configuration stored tokens ended at %s; want the page saying nothing was stored", ended)
			}
			f.othersKept(t, "the log-in approved")
			if n := f.provider.Stats().Exchanges - exchanges; n != 0 {
				t.Errorf("the approved log-in's code was exchanged (%d), for tokens it then threw away: a grant left at the provider with nothing to end it", n)
			}
			if _, page := f.get(t, "/?done=login-failed&env=dev"); !strings.Contains(string(page), `belong to client &#34;other-client-id&#34;`) || !strings.Contains(string(page), ">Replace and log in<") {
				t.Errorf("the page does not say whose the tokens stored are, nor offer to replace them:\n%s", page)
			}
			if logs := f.logs.String(); !strings.Contains(logs, "(another configuration's) were stored for dev in") {
				t.Errorf("the log does not say why the log-in stored nothing:\n%s", logs)
			}
		})
	}
	t.Run("page, confirmed over the same tokens", func(t *testing.T) {
		f := newFixture(t)
		f.otherConfigLogsIn(t)
		_, page := f.get(t, "/")
		resp := f.pressEnv(t, "dev", "login", loginForm(t, page, "dev"), f.base)
		f.otherConfigLogsIn(t) // renewed, or logged in again, by that configuration: the same grant
		if ended := browse(t, resp.Header.Get("Location")); ended.Query().Get("done") != "logged-in" {
			t.Fatalf("Replace and log in, approved, ended at %s", ended)
		}
	})
}

// TestALogInLinksLeaveToReplaceEndsWithItsCommand: `freshtoken login
// --yes` (or with no terminal) gives its log-in link leave to replace
// another configuration's tokens. The link, kept in the browser's history
// with the proxy's key, opened again days later (the address bar offers
// it), replaced the tokens another configuration had stored since, which
// no one was asked about, that configuration's grant lost. A link whose
// command has stopped waiting now starts nothing and says why; the other
// configuration's tokens are kept.
func TestALogInLinksLeaveToReplaceEndsWithItsCommand(t *testing.T) {
	f := newFixture(t)
	wait := 5 * time.Minute
	link := f.vouched(t, "dev", proxy.Replacing(proxy.LoginURL(f.base, "dev", "dev-client-id", "", "", wait), f.clock.Now().Add(wait), true, nil, nil))
	if ended := browse(t, link); ended.Query().Get("done") != "logged-in" {
		t.Fatalf("the log-in link, opened while its command waited, ended at %s", ended)
	}
	f.clock.Advance(wait)
	f.otherConfigLogsIn(t)
	resp, err := noRedirects.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || unsigned(loc) != "/?done=login-link-expired&env=dev" {
		if strings.HasPrefix(loc, f.api) {
			browse(t, loc)
		}
		f.othersKept(t, "the log-in link opened again after its command stopped waiting")
		t.Fatalf("the log-in link opened again after its command stopped waiting: %d to %q; want the page saying nothing was started", resp.StatusCode, loc)
	}
	f.othersKept(t, "the log-in link opened again after its command stopped waiting")
	if _, page := f.get(t, resp.Header.Get("Location")); !strings.Contains(string(page), "came from a freshtoken login that has stopped waiting") || !strings.Contains(string(page), ">Replace and log in<") {
		t.Errorf("the page does not say why nothing was started, nor offer to replace the tokens:\n%s", page)
	}
}

// loginForm is the form of env's Log in (or Replace and log in) button on
// the status page, as the browser posts it.
func loginForm(t *testing.T, page []byte, env string) url.Values {
	t.Helper()
	return pageForm(t, page, env, "login")
}

// pageForm is what the page's form for env's button action (login,
// logout…) posts.
func pageForm(t *testing.T, page []byte, env, action string) url.Values {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form method="post" action="/\.freshtoken/envs/` + regexp.QuoteMeta(env) + `/` + regexp.QuoteMeta(action) + `"[^>]*>(.*?)</form>`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no %s button for %s:\n%s", action, env, page)
	}
	form := url.Values{}
	for _, in := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllSubmatch(m[1], -1) {
		form.Add(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	return form
}

// TestReplaceAndLogInReplacesOnlyTheTokensShown: the page showed one other
// configuration's tokens and offered Replace and log in; a third stored its
// own before the person clicked (as they read the question the browser
// asks). The click replaced the third's, which the person had never seen:
// the proxy took for confirmed whatever was stored as the click arrived.
// It now starts nothing and says the tokens changed since the page was
// shown; the page, showing the third's, replaces those.
func TestReplaceAndLogInReplacesOnlyTheTokensShown(t *testing.T) {
	f := newFixture(t)
	f.otherConfigLogsIn(t)
	_, page := f.get(t, "/")
	shown := loginForm(t, page, "dev")
	f.configLogsIn(t, "third")
	resp := f.pressEnv(t, "dev", "login", shown, f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || unsigned(loc) != "/?done=other-tokens-changed&env=dev" {
		t.Fatalf("Replace and log in, over tokens stored since the page was shown: %d to %q; want the page saying nothing was started", resp.StatusCode, loc)
	}
	if _, rec := f.stored(t, "dev"); rec.RefreshToken != "third-refresh-token" {
		t.Fatalf("the tokens stored since the page was shown were replaced: %+v", rec.Grant)
	}
	_, page = f.get(t, resp.Header.Get("Location"))
	if !strings.Contains(string(page), "changed since this page was shown") || !strings.Contains(string(page), `belong to client &#34;third-client-id&#34;`) {
		t.Errorf("the page does not say the tokens changed, nor whose they are now:\n%s", page)
	}
	f.replaceAndLogIn(t, page)
}

// TestLogoutButtonRevokesNoLogInMadeBeforeItsRevocation: `freshtoken
// login` in a terminal stored its tokens after the page's Log out looked
// at the stored ones and before its revocation took the renewal lock. The
// revocation sent the later log-in's tokens, ending its grant. It sends
// nothing, keeps them, and the page says nothing was revoked.
func TestLogoutButtonRevokesNoLogInMadeBeforeItsRevocation(t *testing.T) {
	revocation, revoked := countingRevocation(t)
	f := revFixture(t, func(*fixture) string { return revocation })
	f.login(t, "rev")
	resp, _ := f.logOutMeetingAChange(t, storetest.LaterLogIn)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || unsigned(loc) != "/?done=later-kept-unrevoked&env=rev" {
		t.Fatalf("Log out: %d to %q; want the page saying nothing was revoked and the later log-in kept", resp.StatusCode, loc)
	}
	if n := revoked.Load(); n != 0 {
		t.Fatalf("%d revocation requests sent for the later log-in's tokens", n)
	}
	if _, rec := f.stored(t, "rev"); rec.RefreshToken != "later-refresh-token" {
		t.Fatalf("the later log-in's tokens were not kept: %+v", rec)
	}
	if _, page := f.get(t, resp.Header.Get("Location")); !strings.Contains(string(page), "Nothing was revoked or forgotten") {
		t.Errorf("the page does not say nothing was revoked:\n%s", page)
	}
}

// TestADeviceLogInMeetingAnotherConfigurationsTokensEnds: another
// configuration stored its tokens for tv while the page's device log-in
// waited for the person. The page went on showing the code, whose
// approval could only fail, and Replace and log in went on showing that
// code too, which still could not replace them. The log-in ends at its
// next poll, as over a newer freshtoken's tokens, and the page offers
// Replace and log in, whose own code replaces them.
func TestADeviceLogInMeetingAnotherConfigurationsTokensEnds(t *testing.T) {
	f, page := deviceLogInMeeting(t, func(f *fixture, path string) {
		st := filestore.New(filepath.Dir(path))
		rec, err := st.Load(t.Context(), "tv")
		if err != nil {
			t.Fatal(err)
		}
		rec.Grant.ClientID, rec.RefreshToken = "other-client-id", "other-refresh-token"
		if err := st.Save(t.Context(), "tv", rec); err != nil {
			t.Fatal(err)
		}
	}, "(another configuration's) were stored for tv in")
	if !strings.Contains(string(page), `id="login-tv" class="danger">Replace and log in<`) {
		t.Fatalf("the page does not offer to replace the other configuration's tokens:\n%s", page)
	}
	if _, kept := f.stored(t, "tv"); kept.RefreshToken != "other-refresh-token" {
		t.Fatalf("the other configuration's tokens were replaced: %+v", kept.Grant)
	}
	f.pressEnv(t, "tv", "login", loginForm(t, page, "tv"), f.base)
	_, page = f.get(t, "/")
	m := userCode.FindSubmatch(page)
	if m == nil {
		t.Fatalf("Replace and log in shows no code:\n%s", page)
	}
	if err := f.provider.DecideDevice(string(m[1]), true); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "Replace and log in to store tv's tokens", func() bool {
		_, rec := f.stored(t, "tv")
		return rec.Grant.ClientID != "other-client-id"
	})
}
