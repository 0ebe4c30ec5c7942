package proxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
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

// TestLogoutButtonOfTokensTakenOverWhileItWaited: the stored tokens were
// this environment's when the page's Log out looked, and another
// configuration's by the time its revocation held the renewal lock. They
// are neither revoked nor deleted, as when they were another's from the
// start; the log said the grant could not be revoked and the tokens were
// forgotten all the same, though they were kept.
func TestLogoutButtonOfTokensTakenOverWhileItWaited(t *testing.T) {
	revocation, revoked := countingRevocation(t)
	f := revFixture(t, func(*fixture) string { return revocation })
	f.login(t, "rev")
	resp, rec := f.logOutMeetingAChange(t, func(rec *store.Record) *store.Record {
		rec.Grant.ClientID = "another-configurations-client"
		return rec
	})
	if got, want := unsigned(resp.Header.Get("Location")), "/?done=logout-failed&env=rev"; got != want {
		t.Errorf("Log out of tokens taken over while it waited: sent to %q; want %q", got, want)
	}
	st := filestore.New(filepath.Dir(f.source(t, "rev").Location()))
	if after, err := st.Load(t.Context(), "rev"); err != nil || after.RefreshToken != rec.RefreshToken || after.Grant.ClientID != rec.Grant.ClientID {
		t.Fatalf("after Log out the store holds %+v, %v; want the other configuration's tokens kept", after, err)
	}
	if revoked.Load() != 0 {
		t.Error("the other configuration's tokens were sent to the revocation endpoint")
	}
	if strings.Contains(f.logs.String(), "all the same") {
		t.Errorf("the log says the tokens were forgotten, though they were kept:\n%s", f.logs)
	}
}

// logOutMeetingAChange presses rev's Log out while the renewal lock is
// held elsewhere; once the log-out waits for the lock, the record stored
// is replaced by what change makes of it, and the lock let go. It returns
// the press's answer and the record change stored.
func (f *fixture) logOutMeetingAChange(t *testing.T, change func(*store.Record) *store.Record) (*http.Response, *store.Record) {
	t.Helper()
	st := filestore.New(filepath.Dir(f.source(t, "rev").Location()))
	unlock, err := st.Lock(t.Context(), "rev")
	if err != nil {
		t.Fatal(err)
	}
	csrf, waits := f.csrf(t), strings.Count(f.logs.String(), "waiting for the renewal lock")
	answered := f.pressingLogOut(t.Context(), csrf)
	testenv.WaitFor(t, "the log-out to wait for the lock", func() bool { return strings.Count(f.logs.String(), "waiting for the renewal lock") > waits })
	rec, err := st.Load(t.Context(), "rev")
	if err != nil {
		t.Fatal(err)
	}
	rec = change(rec)
	if err := st.Save(t.Context(), "rev", rec); err != nil {
		t.Fatal(err)
	}
	unlock()
	resp := testenv.Receive(t, "the Log out's answer", answered)
	if resp == nil {
		t.Fatal("Log out had no answer")
	}
	return resp, rec
}
