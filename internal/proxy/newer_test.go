package proxy_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/internal/storetest"
)

// TestLogInOverANewerFreshtokensTokensAsks: the status page's Log in, over
// tokens a newer freshtoken wrote (which that one can use and this one
// cannot read), starts nothing: the page says a newer freshtoken wrote them
// and offers Replace and log in, which does. Log in replaced them without
// a word, the newer freshtoken's grant lost, as `freshtoken login` does not
// unasked. The same for a browser log-in and a device log-in.
func TestLogInOverANewerFreshtokensTokensAsks(t *testing.T) {
	f := deviceFixture(t)
	f.login(t, "dev")
	f.logInInTerminal(t)
	for _, tc := range []struct{ env, started string }{
		{"dev", f.api},
		{"tv", "/?done=device-login&env=tv"},
	} {
		path := filepath.Join(filepath.Dir(f.configPath), "store", tc.env+".json")
		newer := storetest.WriteNewerFormat(t, path, 99)
		_, page := f.get(t, "/")
		if !strings.Contains(string(page), `id="login-`+tc.env+`" class="danger">Replace and log in<`) {
			t.Fatalf("%s: the page does not offer to replace a newer freshtoken's tokens:\n%s", tc.env, page)
		}
		resp := f.pressEnv(t, tc.env, "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || unsigned(loc) != "/?done=login-over-newer&env="+tc.env {
			t.Errorf("%s: Log in, unconfirmed, over a newer freshtoken's tokens: %d to %q; want the page saying why nothing was started", tc.env, resp.StatusCode, loc)
		}
		if _, page := f.get(t, resp.Header.Get("Location")); !strings.Contains(string(page), "Nothing was started or changed: the tokens stored for "+tc.env+" were written by a newer freshtoken") {
			t.Errorf("%s: the page does not say why nothing was started:\n%s", tc.env, page)
		}
		if got, _ := os.ReadFile(path); string(got) != newer {
			t.Errorf("%s: the newer freshtoken's tokens are now %s", tc.env, got)
		}
		resp = f.pressEnv(t, tc.env, "login", url.Values{"csrf": {f.csrf(t)}, "replace": {"newer"}}, f.base)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(unsigned(loc), tc.started) {
			t.Errorf("%s: Replace and log in: %d to %q; want the log-in started", tc.env, resp.StatusCode, loc)
		}
		if tc.env == "dev" {
			if ended := browse(t, resp.Header.Get("Location")); ended.Query().Get("done") != "logged-in" {
				t.Errorf("dev: Replace and log in, approved, ended at %s", ended)
			}
			if got, _ := os.ReadFile(path); string(got) == newer {
				t.Error("dev: Replace and log in, approved, kept the newer freshtoken's tokens")
			}
		}
	}
}

// TestLogInOverTokensItCannotReadStartsNothing: the status page's Log in,
// when the stored record cannot be read (Redis down, a record file with
// loose permissions), cannot tell whether a newer freshtoken wrote it, and
// starts nothing, as `freshtoken login` does not: the page says why. It
// started the log-in, and the answer, approved, replaced a newer
// freshtoken's tokens without the question Replace and log in asks.
func TestLogInOverTokensItCannotReadStartsNothing(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	path := filepath.Join(filepath.Dir(f.configPath), "store", "dev.json")
	newer := storetest.WriteNewerFormat(t, path, 99)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	resp := f.pressEnv(t, "dev", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || unsigned(loc) != "/?done=login-failed&env=dev" {
		t.Errorf("Log in over a record that cannot be read: %d to %q; want the page saying why nothing was started", resp.StatusCode, loc)
	}
	next, _ := resp.Location()
	if ended := browse(t, next.String()); ended.Query().Get("done") == "logged-in" {
		t.Errorf("Log in over a record that cannot be read logged in, ending at %s", ended)
	}
	if _, page := f.get(t, "/?done=login-failed&env=dev"); !strings.Contains(string(page), "has mode 0644") {
		t.Errorf("the page does not say why the record cannot be read:\n%s", page)
	}
	if got, _ := os.ReadFile(path); string(got) != newer {
		t.Errorf("the newer freshtoken's tokens, unreadable here, are now %s", got)
	}
}

// TestALogInMeetingANewerFreshtokensTokensStoresNothing: a newer
// freshtoken stores tokens while a log-in begun on the status page is under
// way (two versions sharing a store): the answer, approved, stores nothing
// and sends no code, and the page says why. It replaced them without the
// question Replace and log in asks, as the Log in checked the store only
// when it began.
func TestALogInMeetingANewerFreshtokensTokensStoresNothing(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	path := filepath.Join(filepath.Dir(f.configPath), "store", "dev.json")
	resp := f.pressEnv(t, "dev", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.api) {
		t.Fatalf("Log in: %d to %q; want the log-in started", resp.StatusCode, loc)
	}
	newer := storetest.WriteNewerFormat(t, path, 99)
	if ended := browse(t, resp.Header.Get("Location")); unsigned(ended.RequestURI()) != "/?done=login-failed&env=dev" {
		t.Errorf("a log-in approved after a newer freshtoken stored tokens ended at %s; want the page saying nothing was stored", ended)
	}
	if _, page := f.get(t, "/?done=login-failed&env=dev"); !strings.Contains(string(page), "was written by a newer freshtoken") || !strings.Contains(string(page), ">Replace and log in<") {
		t.Errorf("the page does not say a newer freshtoken wrote the tokens, nor offer to replace them:\n%s", page)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "a newer freshtoken stored tokens for dev while this log-in was under way") {
		t.Errorf("the log does not say why the log-in stored nothing:\n%s", logs)
	}
	if got, _ := os.ReadFile(path); string(got) != newer {
		t.Errorf("the newer freshtoken's tokens, stored during the log-in, are now %s", got)
	}
}

// TestADeviceLogInMeetingANewerFreshtokensTokensEnds: a newer freshtoken
// stores tokens while a device log-in begun on the status page waits for
// the person: it ends at its next poll, storing nothing, and the page offers
// Replace and log in. Approved, it replaced them unasked.
func TestADeviceLogInMeetingANewerFreshtokensTokensEnds(t *testing.T) {
	var newer string
	f, page := deviceLogInMeeting(t, func(f *fixture, path string) {
		newer = storetest.WriteNewerFormat(t, path, 99)
	}, "a newer freshtoken stored tokens for tv while this log-in was under way")
	if !strings.Contains(string(page), `id="login-tv" class="danger">Replace and log in<`) {
		t.Errorf("the page does not offer to replace the newer freshtoken's tokens:\n%s", page)
	}
	if got, _ := os.ReadFile(filepath.Join(filepath.Dir(f.configPath), "store", "tv.json")); string(got) != newer {
		t.Errorf("the newer freshtoken's tokens, stored during the device log-in, are now %s", got)
	}
}

// TestPageLogInKeepsANewerFreshtokensTokensStoredAsTheProviderAnswers: a
// newer freshtoken stores tokens for dev after the page's log-in looked at
// the store for the last time, as the provider takes its code: the log-in
// stores nothing over them, and ends failed, as it does over such tokens
// seen before the code went out. They were replaced unasked. So are
// tokens the proxy may not read (their file made readable by others),
// which the page's Log in refuses to start over: they were replaced
// unseen, even after the check of a newer freshtoken's came.
func TestPageLogInKeepsANewerFreshtokensTokensStoredAsTheProviderAnswers(t *testing.T) {
	for _, loose := range []bool{false, true} {
		t.Run(fmt.Sprintf("readable by others %t", loose), func(t *testing.T) {
			var (
				armed atomic.Bool
				path  string
				newer atomic.Value
			)
			f := newFixtureWith(t, fixtureOptions{autoApprove: true, onTokenRequest: func(grant string) {
				if grant == "authorization_code" && armed.CompareAndSwap(true, false) {
					newer.Store(storetest.WriteNewerFormat(t, path, 99))
					if loose {
						if err := os.Chmod(path, 0o644); err != nil {
							t.Error(err)
						}
					}
				}
			}})
			f.login(t, "dev")
			path = filepath.Join(filepath.Dir(f.configPath), "store", "dev.json")
			armed.Store(true)
			resp := f.pressEnv(t, "dev", "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
			if ended := browse(t, resp.Header.Get("Location")); ended.Query().Get("done") != "login-failed" {
				t.Errorf("the log-in over a newer freshtoken's tokens stored as the provider answered ended at %s; want it failed", ended)
			}
			if got, _ := os.ReadFile(path); newer.Load() == nil || string(got) != newer.Load() {
				t.Errorf("the newer freshtoken's tokens, stored as the provider answered, are now %s", got)
			}
			if _, page := f.get(t, "/?done=login-failed&env=dev"); loose && !strings.Contains(string(page), "has mode 0644") {
				t.Errorf("the page does not say why the tokens stored meanwhile were kept:\n%s", page)
			}
		})
	}
}
