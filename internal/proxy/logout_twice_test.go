package proxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestLogoutButtonPressedTwice: Log out pressed again (a double click,
// another tab, or `freshtoken logout` in a terminal) while the first
// log-out's revocation holds the renewal lock waits for it, and then finds
// the tokens deleted. It warned that the grant could not be revoked and
// that the tokens were forgotten all the same, and showed the environment
// failing, and said that the provider could not be told to end the grant
// (to remove the app's access at the provider), of a grant the first
// log-out had ended. As `freshtoken logout`, it says there was nothing
// left to log out of.
func TestLogoutButtonPressedTwice(t *testing.T) {
	var (
		f      *fixture
		once   sync.Once
		second = make(chan string, 1)
	)
	revoker := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		once.Do(func() {
			// The first press's revocation, the lock held: the second
			// press comes, and waits for the lock.
			waits := strings.Count(f.logs.String(), `msg="waiting for the renewal lock"`)
			go func() {
				resp := f.pressEnv(t, "rev", "logout", url.Values{"csrf": {f.csrf(t)}}, f.base)
				second <- resp.Header.Get("Location")
			}()
			f.logs.WaitFor(t, "the second log-out waiting for the lock", regexp.MustCompile(fmt.Sprintf(`(?s)(msg="waiting for the renewal lock".*){%d}`, waits+1)))
		})
	}))
	t.Cleanup(revoker.Close)
	f = revFixture(t, func(*fixture) string { return revoker.URL + "/revoke" })
	f.login(t, "rev")
	f.logOutRev(t, "logged-out")
	location := <-second
	if got, want := unsigned(location), "/?done=nothing-to-log-out&env=rev"; got != want {
		t.Errorf("Log out pressed again during the first's revocation: sent to %q; want %q", got, want)
	}
	if strings.Contains(f.logs.String(), "could not be revoked") {
		t.Errorf("a log-out that found the first had done its work was logged as a failed revocation:\n%s", f.logs)
	}
	if _, page := f.get(t, location); strings.Contains(string(page), "could not be told to end the grant") {
		t.Errorf("the page says the grant the first log-out revoked could not be ended:\n%s", page)
	}
}
