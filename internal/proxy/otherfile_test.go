package proxy_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPageTellsOfAnotherFilesLogIn: a second configuration file on this
// machine, naming dev with the same client and sharing the store, logged
// in. The status page says which file logged in, as `freshtoken status`
// does, and its Log in asks before replacing those tokens: pressed without
// the page's confirmation it starts nothing and says why; confirmed
// (replace_file naming the file shown), it logs in, and the record then
// names the proxy's own file. Both configurations used one record, and a
// log-in on the page switched the other to this account unasked.
func TestPageTellsOfAnotherFilesLogIn(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	if _, page := f.get(t, "/"); strings.Contains(string(page), `id="with-dev"`) {
		t.Fatalf("after the proxy's own log-in the page names another configuration:\n%s", page)
	}
	work := f.anotherFileLoggedIn(t, "dev")
	_, page := f.get(t, "/")
	if want := `id="with-dev"><code>` + html.EscapeString(work) + `</code>, another configuration, which shares these tokens`; !strings.Contains(string(page), want) {
		t.Fatalf("the page does not say which configuration logged in; want %s in:\n%s", want, page)
	}
	resp := f.pressEnv(t, "dev", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || unsigned(loc) != "/?done=login-over-other-file&env=dev" {
		t.Fatalf("Log in, unconfirmed, over another file's log-in: %d to %q; want the page saying why nothing was started", resp.StatusCode, loc)
	}
	if _, rec := f.stored(t, "dev"); rec.LoggedInWith.Path != work {
		t.Fatalf("Log in, unconfirmed: the record now names %s; want %s's log-in, kept", rec.LoggedInWith.Path, work)
	}
	resp = f.pressEnv(t, "dev", "login", loginForm(t, page, "dev"), f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.api) {
		t.Fatalf("Log in, confirmed: %d to %q; want the log-in started", resp.StatusCode, loc)
	}
	if ended := browse(t, resp.Header.Get("Location")); ended.Query().Get("done") != "logged-in" {
		t.Fatalf("Log in, confirmed and approved, ended at %s", ended)
	}
	own, _ := filepath.EvalSymlinks(f.configPath)
	if _, rec := f.stored(t, "dev"); rec.LoggedInWith.Path != own {
		t.Errorf("after the page's log-in the record names %s; want the proxy's own %s", rec.LoggedInWith.Path, own)
	}
}

// anotherFileLoggedIn makes env's stored tokens, logged in by the proxy,
// look logged in with work.toml, a second configuration file beside the
// proxy's, of the same settings, and returns its path.
func (f *fixture) anotherFileLoggedIn(t *testing.T, env string) string {
	t.Helper()
	conf, err := os.ReadFile(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(filepath.Dir(f.configPath), "work.toml")
	if err := os.WriteFile(work, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	work, err = filepath.EvalSymlinks(work)
	if err != nil {
		t.Fatal(err)
	}
	st, rec := f.stored(t, env)
	rec.LoggedInWith.Path = work
	if err := st.Save(t.Context(), env, rec); err != nil {
		t.Fatal(err)
	}
	return work
}

// TestPageLogOutOfAnotherFilesLogInAsks: the tokens the page shows were
// logged in with a second configuration file on this machine, which
// shares them. Log out's question names that file, and a Log out not
// confirmed for it (a page shown before that log-in, a script) revokes and
// forgets nothing and says why; confirmed, it logs out. It ended the other
// configuration's log-in without a word, where `freshtoken logout` asks.
func TestPageLogOutOfAnotherFilesLogInAsks(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	work := f.anotherFileLoggedIn(t, "dev")
	_, page := f.get(t, "/")
	if want := `They were logged in with ` + html.EscapeString(work) + `, another configuration, which shares them: it will be logged out too.`; !strings.Contains(string(page), want) {
		t.Fatalf("Log out's question does not name the other configuration; want %s in:\n%s", want, page)
	}
	resp := f.pressEnv(t, "dev", "logout", url.Values{"csrf": {f.csrf(t)}}, f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || unsigned(loc) != "/?done=logout-of-other-file&env=dev" {
		t.Fatalf("Log out, unconfirmed, of another file's log-in: %d to %q; want the page saying why nothing was done", resp.StatusCode, loc)
	}
	if _, rec := f.stored(t, "dev"); rec == nil || rec.LoggedInWith.Path != work {
		t.Fatalf("Log out, unconfirmed: the record is %+v; want %s's log-in, kept", rec, work)
	}
	resp = f.pressEnv(t, "dev", "logout", pageForm(t, page, "dev", "logout"), f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || strings.Contains(loc, "logout-of-other-file") || strings.Contains(loc, "failed") {
		t.Fatalf("Log out, confirmed: %d to %q; want logged out", resp.StatusCode, loc)
	}
	if rec, err := f.source(t, "dev").Record(t.Context()); err != nil || rec != nil {
		t.Fatalf("Log out, confirmed: the store holds %+v (%v); want no tokens", rec, err)
	}
}

// TestPageLogInKeepsAnotherFilesLogInStoredMeanwhile: the page's Log in
// over the proxy's own log-in; as the person approves, a second
// configuration file on this machine, sharing the record, logs in. The log-in
// stores nothing and the other file's is kept, as over another client's
// tokens stored meanwhile: it replaced them, and that configuration then
// used the account logged in to here.
func TestPageLogInKeepsAnotherFilesLogInStoredMeanwhile(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{autoApprove: true})
	f.login(t, "dev")
	resp := f.pressEnv(t, "dev", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
	work := f.anotherFileLoggedIn(t, "dev")
	if ended := browse(t, resp.Header.Get("Location")); ended.Query().Get("done") != "login-failed" {
		t.Fatalf("the log-in ended at %s; want it failed, storing nothing", ended)
	}
	if _, rec := f.stored(t, "dev"); rec.LoggedInWith.Path != work {
		t.Fatalf("the record names %s; want %s's log-in, kept", rec.LoggedInWith.Path, work)
	}
}
