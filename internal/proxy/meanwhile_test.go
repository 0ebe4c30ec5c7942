package proxy_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestPageLogInStoresNothingWhereTheConfigurationNoLongerHasIt: the
// environment was taken out of the configuration (`freshtoken remove` in
// a terminal, which found no tokens to delete), or [store] url changed
// (`freshtoken store migrate`, which found none to move), as the provider
// answered the page's log-in: its browser log-in's code, its device
// log-in's poll. The log-in stored its tokens where it began and the page
// said "Logged in": a live grant's tokens under a name no configuration
// had, or in a store no longer used, which no command could use or log
// out of. It stores nothing, checking the configuration again under the
// renewal lock as `freshtoken login` does, and says why. A change made
// while the person was at the provider's page, before the code went out,
// sends no code (as it did already).
func TestPageLogInStoresNothingWhereTheConfigurationNoLongerHasIt(t *testing.T) {
	for _, when := range []string{"browser while the person approves", "browser as the provider answers", "device as the provider answers"} {
		for _, change := range []string{"remove", "store migrate"} {
			t.Run(when+" "+change, func(t *testing.T) {
				grant, _, _ := strings.Cut(when, " ")
				atBrowser := strings.HasSuffix(when, "approves")
				var (
					armed     atomic.Bool
					code      atomic.Value // the device log-in's user code, approved as the change is made
					f         *fixture
					moved     string // the folder store migrate moves to
					env       = map[string]string{"browser": "dev", "device": "tv"}[grant]
					polled    = map[string]string{"browser": "authorization_code", "device": freshtoken.GrantDeviceCode}[grant]
					meanwhile = func() {
						var err error
						if change == "remove" {
							_, err = configedit.RemoveEnv(f.configPath, env)
						} else {
							_, err = configedit.SetStoreURL(f.configPath, "file://"+moved)
						}
						if err != nil {
							t.Error(err)
						}
					}
				)
				o := fixtureOptions{onTokenRequest: func(g string) {
					if g != polled || !armed.CompareAndSwap(true, false) {
						return
					}
					if grant == "device" {
						if err := f.provider.DecideDevice(code.Load().(string), true); err != nil {
							t.Error(err)
						}
					}
					meanwhile()
				}}
				if grant == "browser" {
					o.autoApprove = true
					f = newFixtureWith(t, o)
					moved = filepath.Join(filepath.Dir(f.configPath), "moved")
					resp := f.pressEnv(t, env, "login", url.Values{"csrf": {f.csrf(t)}}, f.base)
					if atBrowser {
						meanwhile()
					} else {
						armed.Store(true)
					}
					if ended := browse(t, resp.Header.Get("Location")); ended.Query().Get("done") != "login-failed" {
						t.Errorf("the log-in ended at %s; want it failed", ended)
					}
					if n := f.provider.Stats().Exchanges; atBrowser && n != 0 {
						t.Errorf("%d codes exchanged after the change; want none", n)
					}
				} else {
					f = deviceFixtureWith(t, o)
					moved = filepath.Join(filepath.Dir(f.configPath), "moved")
					code.Store(f.pressDeviceLogIn(t))
					armed.Store(true)
					testenv.WaitFor(t, "the device log-in to end", func() bool {
						return strings.Contains(f.logs.String(), "log-in failed") || strings.Contains(f.logs.String(), "logged in")
					})
				}
				for _, dir := range []string{filepath.Join(filepath.Dir(f.configPath), "store"), moved} {
					if _, err := os.Stat(filepath.Join(dir, env+".json")); !os.IsNotExist(err) {
						t.Errorf("tokens stored in %s (%v)", dir, err)
					}
				}
				logs := f.logs.String()
				if strings.Contains(logs, "msg=\"logged in\"") || !strings.Contains(logs, "stored nothing") {
					t.Errorf("the log does not say the log-in stored nothing:\n%s", logs)
				}
				if change == "store migrate" {
					if _, page := f.get(t, "/"); !strings.Contains(string(page), "changed after this log-in began") {
						t.Errorf("the status page does not say why the log-in stored nothing:\n%s", page)
					}
				}
			})
		}
	}
}
