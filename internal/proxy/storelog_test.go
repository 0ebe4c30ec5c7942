package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testdisk"
)

// TestStoreFailureIsLoggedOncePerEpisode: the token folder's disk turns
// read-only under a running proxy as a renewal falls due. Every client
// gets 503, and the proxy's log, which said nothing of it (a service's
// journal was empty while every request failed), says once that the store
// is failing, for which environment, why and what to do, however many
// requests fail; once the disk is writable again, one line says the store
// works again. At the proxy's default level (warnings), no secret.
func TestStoreFailureIsLoggedOncePerEpisode(t *testing.T) {
	f, dir := onASmallDisk(t, fixtureOptions{})
	f.login(t, "dev")
	writable := testdisk.ReadOnly(t, dir)
	f.clock.Advance(accessTTL)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("a request on a read-only disk, the token due: %d %s; want 503", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	if logs := f.logs.String(); strings.Count(logs, storeFailing) != 1 || !strings.Contains(logs, "env=dev") ||
		!strings.Contains(logs, "read-only file system") || !strings.Contains(logs, "make the disk writable again") {
		t.Fatalf("after 20 requests failed on a read-only disk the proxy's log says:\n%s\nwant one line that the token store is failing for dev, why, and what to do", logs)
	}
	f.writableAgain(t, writable, "/dev/v2/company")
}

// TestDiskTurnedReadOnlyDuringARenewal: the token folder's disk turns
// read-only while the provider answers a renewal, which rotates the
// refresh token. The client gets 503 saying the new tokens are kept and
// the disk is to be made writable again (it named the temp file the save
// failed at, and nothing to do); the log says the store is failing, once;
// once the disk is writable the kept tokens are stored and served, with no
// second refresh and no reuse of the spent refresh token, and the log says
// the store works again, once.
func TestDiskTurnedReadOnlyDuringARenewal(t *testing.T) {
	var armed atomic.Bool
	reached, answer := make(chan struct{}), make(chan struct{})
	f, dir := onASmallDisk(t, fixtureOptions{onTokenRequest: func(grant string) {
		if grant == "refresh_token" && armed.CompareAndSwap(true, false) {
			close(reached) // the refresh token is spent: the disk turns read-only before the answer
			<-answer
		}
	}})
	f.login(t, "dev")
	before := f.storedToken(t)
	armed.Store(true)
	f.clock.Advance(accessTTL)
	type got struct {
		resp *http.Response
		body []byte
	}
	done := make(chan got)
	go func() {
		resp, body := f.get(t, "/dev/v2/company")
		done <- got{resp, body}
	}()
	<-reached
	writable := testdisk.ReadOnly(t, dir)
	close(answer)
	g := <-done
	resp, body := g.resp, g.body
	if p := decode[problemBody](t, body); resp.StatusCode != http.StatusServiceUnavailable || p.Error != "store_unreachable" ||
		!strings.Contains(p.Message, "keeps them and saves them as soon as the store works again") ||
		!strings.Contains(p.Message, "the disk holding the token folder "+dir+" is read-only (read-only file system); make the disk writable again") || strings.Contains(p.Message, ".tmp-") {
		t.Fatalf("the renewal whose answer a read-only disk refused: %d %+v; want 503 saying the new tokens are kept and to make the disk writable again", resp.StatusCode, p)
	}
	f.get(t, "/dev/v2/company")
	if n := strings.Count(f.logs.String(), storeFailing); n != 1 {
		t.Errorf("the log says %d times that the store is failing; want once:\n%s", n, f.logs)
	}
	f.writableAgain(t, writable, "/dev/v2/company")
	if f.storedToken(t) == before {
		t.Error("the rotated tokens were not stored once the disk was writable")
	}
	if s := f.provider.Stats(); s.Refreshes != 1 || s.ReuseDetected != 0 || s.GrantsRevoked != 0 {
		t.Errorf("provider stats %+v; want one refresh and no reuse", s)
	}
}

// TestStoreFailingTheRenewalOfARefusedTokenIsToldOnce: the API refuses a
// token still valid by the clock (revoked early), and its renewal meets a
// token folder whose disk turned read-only. Each client is answered 503
// store_unreachable saying to make the disk writable again: it was 502
// api_unreachable, "the API could not be reached (…); check your
// connection and api_url" (the store's EROFS taken for a network error),
// and the log said nothing. The log says once that the store is failing,
// however many requests meet it: a token had for each request was taken
// for the store working again, and the log said it worked and failed at
// every request. Once the disk is writable, the API's answer says it
// works again, once.
func TestStoreFailingTheRenewalOfARefusedTokenIsToldOnce(t *testing.T) {
	f, dir := onASmallDisk(t, fixtureOptions{})
	f.login(t, "dev")
	writable := testdisk.ReadOnly(t, dir)
	f.provider.RevokeAccessTokens()
	for range 4 {
		resp, body := f.get(t, "/dev/v2/company")
		if p := decode[problemBody](t, body); resp.StatusCode != http.StatusServiceUnavailable || p.Error != "store_unreachable" ||
			!strings.Contains(p.Message, "make the disk writable again") || strings.Contains(p.Message, "could not be reached") {
			t.Fatalf("a refused token whose renewal meets a read-only disk: %d %s; want 503 store_unreachable saying to make the disk writable again", resp.StatusCode, body)
		}
	}
	if logs := f.logs.String(); strings.Count(logs, storeFailing) != 1 || strings.Contains(logs, storeWorks) || !strings.Contains(logs, "read-only file system") {
		t.Fatalf("after 4 requests met the read-only disk the proxy's log says:\n%s\nwant once that the store is failing, and not that it works again", logs)
	}
	f.writableAgain(t, writable, "/dev/v2/company")
}

// TestStoreFailingWhileARequestIsAnsweredIsToldOnce: a request that had
// its token before the token store failed, answered by a slow API after
// the store failed the requests that came next, is no sign that the store
// works again: the log said it did when the answer came, then that it was
// failing, at the next request. Only a request begun after the failure,
// and answered, ends it.
func TestStoreFailingWhileARequestIsAnsweredIsToldOnce(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	var held atomic.Bool
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if held.CompareAndSwap(false, true) {
			arrived <- struct{}{}
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"company":{}}`)
	}))
	defer slow.Close()
	f, dir := onASmallDisk(t, fixtureOptions{moreConfig: func(f *fixture) string {
		return fmt.Sprintf("[env.slow]\nprovider = \"freeagent\"\napi_url = %q\nauth_url = \"%sv2/approve_app\"\ntoken_url = \"%sv2/token_endpoint\"\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\nredirect_uri = \"%s/callback\"\n", slow.URL+"/", f.api, f.api, f.base)
	}})
	f.login(t, "slow")
	first := make(chan int)
	go func() {
		resp, _ := f.get(t, "/slow/v2/company")
		first <- resp.StatusCode
	}()
	<-arrived // the first request had its token, and waits for the API
	writable := testdisk.ReadOnly(t, dir)
	f.clock.Advance(accessTTL)
	if resp, body := f.get(t, "/slow/v2/company"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a request on a read-only disk, the token due: %d %s; want 503", resp.StatusCode, body)
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Fatalf("the request the API held: %d; want 200", code)
	}
	if resp, body := f.get(t, "/slow/v2/company"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a request on a read-only disk after the held one's answer: %d %s; want 503", resp.StatusCode, body)
	}
	if logs := f.logs.String(); strings.Count(logs, storeFailing) != 1 || strings.Contains(logs, storeWorks) {
		t.Fatalf("the proxy's log says:\n%s\nwant once that the store is failing, and not that it works again: the answer came to a request begun before the failure", logs)
	}
	f.writableAgain(t, writable, "/slow/v2/company")
}

// What the proxy's log says as its token store fails, and once it works
// again.
const (
	storeFailing = "the token store is failing"
	storeWorks   = "the token store works again"
)

// onASmallDisk is a fixture as o makes it, auto-approving and quiet, whose
// token folder dir is on a small disk of its own, for the test to turn
// read-only (testdisk.ReadOnly).
func onASmallDisk(t *testing.T, o fixtureOptions) (f *fixture, dir string) {
	t.Helper()
	dir = testdisk.SmallFolder(t, "256k")
	o.autoApprove, o.quiet, o.storeURL = true, true, "file://"+dir
	return newFixtureWith(t, o), dir
}

// writableAgain makes the token folder's disk writable again, and checks
// that the next two requests for path are answered and that the proxy's
// log says once that the token store works again, and still once that it
// was failing.
func (f *fixture) writableAgain(t *testing.T, writable func(), path string) {
	t.Helper()
	writable()
	for range 2 {
		if resp, body := f.get(t, path); resp.StatusCode != http.StatusOK {
			t.Fatalf("with the disk writable again: %d %s", resp.StatusCode, body)
		}
	}
	if logs := f.logs.String(); strings.Count(logs, storeWorks) != 1 || strings.Count(logs, storeFailing) != 1 {
		t.Fatalf("once the disk is writable again the proxy's log says:\n%s\nwant once that the token store works again", logs)
	}
}

// TestStoreFailureAtAButtonIsLoggedOnce: the status page's Renew now and
// Log out, pressed with the token folder's disk turned read-only, each
// show the failure on the page, and the proxy's log says once that the
// store is failing, as for requests: each press logged it twice, as the
// store failing and as the button failing, and again at each press.
func TestStoreFailureAtAButtonIsLoggedOnce(t *testing.T) {
	f, dir := onASmallDisk(t, fixtureOptions{})
	f.login(t, "dev")
	form := url.Values{"csrf": {f.csrf(t)}}
	writable := testdisk.ReadOnly(t, dir)
	for _, press := range []struct{ action, notice string }{
		{"renew", "Renewing the token of dev failed"},
		{"logout", "Logging out of dev failed"},
		{"renew", "Renewing the token of dev failed"},
	} {
		resp := f.press(t, press.action, form, f.base)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s on a read-only disk: %d", press.action, resp.StatusCode)
		}
		if _, page := f.get(t, resp.Header.Get("Location")); !strings.Contains(string(page), "read-only") {
			t.Errorf("the page after %s on a read-only disk does not say the disk is read-only:\n%s", press.action, page)
		}
	}
	if logs := f.logs.String(); strings.Count(logs, "read-only file system") != 1 || strings.Count(logs, storeFailing) != 1 {
		t.Fatalf("after Renew now, Log out and Renew now on a read-only disk the proxy's log says:\n%s\nwant once that the token store is failing, and why", logs)
	}
	f.writableAgain(t, writable, "/dev/v2/company")
}
