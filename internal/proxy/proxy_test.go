package proxy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestForgedAuthorizationIsReplaced: the client's own Authorization,
// however many it sends, goes; the API sees the environment's alone.
func TestForgedAuthorizationIsReplaced(t *testing.T) {
	_, o := upstreamAPI(t, "up", false)
	f := newFixtureWith(t, o)
	f.login(t, "up")
	resp, body := f.rawGet(t, "/up/echo", "Authorization: Bearer forged-one\r\nAuthorization: Bearer forged-two\r\n")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	rec, err := f.source(t, "up").Record(t.Context())
	if err != nil || rec == nil {
		t.Fatalf("no stored record: %v", err)
	}
	if got, want := decode[map[string]string](t, []byte(body))["authorization"], "Bearer "+rec.AccessToken; got != want {
		t.Errorf("the API saw Authorization %q, want %q alone", got, want)
	}
}

// TestNoTrailersAreSent: a body's trailers, where a client could put an
// Authorization of its own, do not reach the API, whether the body is kept
// for a retry or streams through; nor does "TE: trailers", since the API's
// trailers do not reach the client.
func TestNoTrailersAreSent(t *testing.T) {
	_, o := upstreamAPI(t, "up", false)
	f := newFixtureWith(t, o)
	f.login(t, "up")
	for _, size := range []int{10, 2 << 20} {
		c, r := dial(t, f)
		fmt.Fprintf(c, "POST /up/echo HTTP/1.1\r\nHost: %s\r\nTE: trailers\r\nTrailer: Authorization, X-Other\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"%x\r\n%s\r\n0\r\nAuthorization: Bearer forged\r\nX-Other: 1\r\n\r\n", f.addr, size, strings.Repeat("x", size))
		resp, body := readAnswer(t, r, http.MethodPost)
		seen := decode[map[string]string](t, []byte(body))
		if resp.StatusCode != http.StatusAccepted || seen["body_length"] != fmt.Sprint(size) {
			t.Fatalf("a %d-byte body: status %d, the API read %s bytes", size, resp.StatusCode, seen["body_length"])
		}
		if seen["trailer"] != "map[]" {
			t.Errorf("a %d-byte body: the API got the trailers %s", size, seen["trailer"])
		}
		if seen["te"] != "" { // nor is it told the client takes trailers, which it would not get
			t.Errorf("a %d-byte body: the API got TE %q", size, seen["te"])
		}
	}
}

// TestForgedAuthorizationIsReplacedOnTheRetry: when the API refuses the
// token and the proxy renews it and sends the request again, the retry too
// carries only the renewed token, none of the client's.
func TestForgedAuthorizationIsReplacedOnTheRetry(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	f.provider.RevokeAccessTokens() // the next request gets a 401, then a retry
	resp, body := f.rawGet(t, "/dev/v2/dev/echo", "Authorization: Bearer forged-one\r\nAuthorization: Bearer forged-two\r\n")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if st := f.provider.Stats(); st.Unauthorized != 1 || st.Refreshes != 1 {
		t.Fatalf("provider stats %+v; want one 401 and one renewal, so the retry path was taken", st)
	}
	if got, want := decode[echo](t, []byte(body)).Headers["Authorization"], "Bearer "+f.storedToken(t); got != want {
		t.Errorf("the retry carried Authorization %q, want %q alone", got, want)
	}
}

func TestRequestAndAnswerPassThrough(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	req, _ := http.NewRequest(http.MethodPatch, f.base+"/dev/v2/dev/echo?name=a%2Fb&x=1&x=2", strings.NewReader(`{"contact":{"first_name":"Ada"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Custom", "kept")
	req.Header.Set("User-Agent", "my-client/1.0")
	req.Header.Set("X-Forwarded-For", "10.9.8.7")
	resp, body := f.do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	e := decode[echo](t, body)
	checks := []struct{ what, got, want string }{
		{"method", e.Method, http.MethodPatch},
		{"host", e.Host, strings.TrimSuffix(strings.TrimPrefix(f.api, "http://"), "/")},
		{"query", e.Query, "name=a%2Fb&x=1&x=2"},
		{"body", e.Body, `{"contact":{"first_name":"Ada"}}`},
		{"Content-Type", e.Headers["Content-Type"], "application/json"},
		{"X-Custom", e.Headers["X-Custom"], "kept"},
		{"User-Agent", e.Headers["User-Agent"], "my-client/1.0"},
		{"X-Forwarded-For", e.Headers["X-Forwarded-For"], ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: the API saw %q, want %q", c.what, c.got, c.want)
		}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("answer Content-Type %q, want the API's application/json", ct)
	}

	t.Run("a client without a User-Agent gets the proxy's", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, f.base+"/dev/v2/dev/echo", nil)
		req.Header["User-Agent"] = nil // net/http sends none
		_, body := f.do(t, req)
		if ua := decode[echo](t, body).Headers["User-Agent"]; ua != "freshtoken-test" {
			t.Errorf("the API saw User-Agent %q", ua)
		}
	})
	t.Run("the API's error statuses and bodies pass through", func(t *testing.T) {
		resp, body := f.get(t, "/dev/v2/dev/download?bytes=-1")
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Freshtoken-Error") != "" || !strings.Contains(string(body), "bytes must be") {
			t.Errorf("got %d %q: %s", resp.StatusCode, resp.Header.Get("X-Freshtoken-Error"), body)
		}
	})
}

func TestCallsKeepSucceedingAcrossExpiries(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	for i := 1; i <= 3; i++ {
		f.clock.Advance(accessTTL)
		resp, body := f.get(t, "/dev/v2/company")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after expiry %d: status %d: %s", i, resp.StatusCode, body)
		}
		if got := f.provider.Stats().Refreshes; got != i {
			t.Fatalf("after expiry %d: %d refreshes, want %d", i, got, i)
		}
	}
	if got := f.provider.Stats().Unauthorized; got != 0 {
		t.Errorf("the API answered 401 %d times: tokens were not renewed before expiry", got)
	}
}

func TestConcurrentRequestsAtExpiryRenewOnce(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	f.clock.Advance(accessTTL)
	const n = 100
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	start := make(chan struct{})
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			resp, err := client.Get(f.base + "/dev/v2/users/me")
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == http.StatusOK {
			ok++
		}
	}
	if ok != n {
		t.Errorf("%d of %d requests succeeded", ok, n)
	}
	if got := f.provider.Stats().Refreshes; got != 1 {
		t.Errorf("%d refreshes for %d concurrent requests at expiry, want 1", got, n)
	}
}

func TestUnauthorizedIsRenewedAndRetried(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	replayable := []struct {
		name string
		req  func() *http.Request
		want string // the body the API must see
	}{
		{"GET", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, f.base+"/dev/v2/dev/echo", nil)
			return r
		}, ""},
		{"POST with a length", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, f.base+"/dev/v2/dev/echo", strings.NewReader(`{"a":1}`))
			return r
		}, `{"a":1}`},
		{"POST streamed without a length", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, f.base+"/dev/v2/dev/echo", io.MultiReader(strings.NewReader(`{"b":`), strings.NewReader(`2}`)))
			return r
		}, `{"b":2}`},
	}
	for i, tc := range replayable {
		t.Run(tc.name, func(t *testing.T) {
			// Past the engine's guard against renewing a token a 401 renewed
			// moments ago, so each case gets a renewal of its own.
			f.clock.Advance(time.Minute)
			f.provider.RevokeAccessTokens()
			resp, body := f.do(t, tc.req())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := decode[echo](t, body).Body; got != tc.want {
				t.Errorf("the retry sent body %q, want %q", got, tc.want)
			}
			if got := f.provider.Stats().Refreshes; got != i+1 {
				t.Errorf("%d refreshes, want %d", got, i+1)
			}
		})
	}

	t.Run("a body too large to keep is not replayed", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		f.provider.RevokeAccessTokens()
		before := f.provider.Stats()
		req, _ := http.NewRequest(http.MethodPost, f.base+"/dev/v2/dev/upload", io.LimitReader(&devprovider.Pattern{}, 3<<20))
		resp, body := f.do(t, req)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Freshtoken-Error") != "" {
			t.Fatalf("got %d %q, want the API's 401 passed back: %s", resp.StatusCode, resp.Header.Get("X-Freshtoken-Error"), body)
		}
		if after := f.provider.Stats(); after.APIRequests != before.APIRequests+1 {
			t.Errorf("%d API requests for one upload, want 1: it was retried", after.APIRequests-before.APIRequests)
		}
		resp, body = f.get(t, "/dev/v2/company")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the next request got %d: %s", resp.StatusCode, body)
		}
	})
}

func patternSum(n int64) string {
	h := sha256.New()
	io.Copy(h, io.LimitReader(&devprovider.Pattern{}, n))
	return hex.EncodeToString(h.Sum(nil))
}

// allocatedDuring reports how many bytes the whole process allocated while
// fn ran. A proxy that held a body in memory would allocate at least its size.
func allocatedDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestLargeBodiesStreamThrough(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	const size = 64 << 20
	const bound = size / 4

	for _, tc := range []struct {
		name   string
		query  string
		length int64 // -1: unknown, sent chunked
	}{{"download with a length", "", size}, {"download sent chunked", "&chunked=true", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			var got int64
			var sum string
			alloc := allocatedDuring(func() {
				resp, err := http.Get(fmt.Sprintf("%s/dev/v2/dev/download?bytes=%d%s", f.base, size, tc.query))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.ContentLength != tc.length {
					t.Errorf("Content-Length %d, want the API's %d", resp.ContentLength, tc.length)
				}
				h := sha256.New()
				got, err = io.Copy(h, resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				sum = hex.EncodeToString(h.Sum(nil))
			})
			if got != size || sum != patternSum(size) {
				t.Fatalf("received %d bytes with sha256 %s, want %d of the pattern", got, sum, size)
			}
			if alloc > bound {
				t.Errorf("%d MiB allocated while %d MiB went through: the body was held in memory", alloc>>20, size>>20)
			}
		})
	}

	for _, tc := range []struct {
		name   string
		length int64 // -1: unknown, sent chunked
	}{{"upload with a length", size}, {"upload streamed without a length", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var body []byte
			alloc := allocatedDuring(func() {
				req, _ := http.NewRequest(http.MethodPost, f.base+"/dev/v2/dev/upload", io.NopCloser(io.LimitReader(&devprovider.Pattern{}, size)))
				req.ContentLength = tc.length
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				status = resp.StatusCode
				body, _ = io.ReadAll(resp.Body)
			})
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			got := decode[struct {
				Bytes  int64  `json:"bytes"`
				SHA256 string `json:"sha256"`
			}](t, body)
			if got.Bytes != size || got.SHA256 != patternSum(size) {
				t.Fatalf("the API received %d bytes with sha256 %s, want %d of the pattern", got.Bytes, got.SHA256, size)
			}
			if alloc > bound {
				t.Errorf("%d MiB allocated while %d MiB went through: the body was held in memory", alloc>>20, size>>20)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	var mu sync.Mutex
	var seen []string // the Authorization each request to the other host carried
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		io.WriteString(w, "elsewhere")
	}))
	defer other.Close()

	t.Run("to another host: passed back, not followed, no token", func(t *testing.T) {
		to := other.URL + "/landing"
		resp, _ := f.get(t, "/dev/v2/dev/redirect?to="+url.QueryEscape(to))
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != to {
			t.Fatalf("got %d to %q, want 302 to %s unchanged", resp.StatusCode, resp.Header.Get("Location"), to)
		}
		mu.Lock()
		followed := len(seen)
		mu.Unlock()
		if followed != 0 {
			t.Fatalf("the proxy followed the redirect itself")
		}
		// A client that follows it goes there on its own, with nothing of ours.
		resp, err := http.Get(f.base + "/dev/v2/dev/redirect?to=" + url.QueryEscape(to))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || seen[0] != "" {
			t.Errorf("the other host saw Authorization %q", seen)
		}
	})

	t.Run("to a sloppy URL elsewhere (a bare %), which clients follow: passed back", func(t *testing.T) {
		resp, body := f.get(t, "/dev/v2/dev/redirect?to="+url.QueryEscape("https://cdn.example/files/100%.pdf"))
		if want := "https://cdn.example/files/100%25.pdf"; resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("got %d to %q %s, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), body, want)
		}
	})

	t.Run("to a URL no client can follow: refused, saying so", func(t *testing.T) {
		resp, body := f.get(t, "/dev/v2/dev/redirect?to="+url.QueryEscape("https://other.example:99999/x"))
		pr := decode[problemBody](t, body)
		if resp.StatusCode != http.StatusBadGateway || pr.Error != "bad_redirect" || strings.Contains(pr.Message, "this proxy") || !strings.Contains(pr.Message, "other.example:99999") {
			t.Errorf("got %d %s, want 502 bad_redirect naming the URL, not the proxy", resp.StatusCode, body)
		}
		// The log said "redirect to the proxy refused".
		if logs := f.logs.String(); !strings.Contains(logs, "redirect to a URL freshtoken cannot read refused") || strings.Contains(logs, "redirect to the proxy refused") {
			t.Errorf("the log says:\n%s\nwant the redirect refused as one freshtoken cannot read, not as one to the proxy", logs)
		}
	})

	t.Run("within the API: pointed back through the proxy", func(t *testing.T) {
		resp, _ := f.get(t, "/dev/v2/dev/redirect?to="+url.QueryEscape(f.api+"v2/company?x=1"))
		if want := f.base + "/dev/v2/company?x=1"; resp.Header.Get("Location") != want {
			t.Errorf("Location %q, want %q", resp.Header.Get("Location"), want)
		}
		resp, _ = f.get(t, "/dev/v2/dev/redirect?to=/v2/users/me")
		if want := f.base + "/dev/v2/users/me"; resp.Header.Get("Location") != want {
			t.Errorf("Location %q, want %q", resp.Header.Get("Location"), want)
		}
	})
}

func TestPaginationLinksPointAtProxy(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	next := f.base + "/dev/v2/contacts?per_page=10"
	pages := 0
	for next != "" {
		resp, err := http.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", next, resp.StatusCode)
		}
		pages++
		next = ""
		for _, link := range strings.Split(resp.Header.Get("Link"), ",") {
			if strings.Contains(link, `rel="next"`) {
				next = strings.Trim(strings.TrimSpace(strings.Split(link, ";")[0]), "<>")
				if !strings.HasPrefix(next, f.base+"/dev/") {
					t.Fatalf("next link %q does not go through the proxy", next)
				}
			}
		}
	}
	if pages != 5 {
		t.Errorf("followed %d pages of 42 contacts by 10, want 5", pages)
	}
}

// TestLinkHeaders: every link of a Link header that leads under the API is
// pointed at the proxy, however the API spaces and punctuates the header
// (RFC 8288); other links and their parameters pass unchanged, and a value
// with no link in it does not pass.
func TestLinkHeaders(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Link"] = r.URL.Query()["link"]
	}))
	t.Cleanup(api.Close)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string { return genericEnv(f, "links", api.URL) }})
	f.login(t, "links")
	through := f.base + "/links"
	for _, tc := range []struct{ link, want string }{
		{`<` + api.URL + `/v2/contacts?page=2>; rel="next", <` + api.URL + `/v2/contacts?page=5>; rel="last"`,
			`<` + through + `/v2/contacts?page=2>; rel="next", <` + through + `/v2/contacts?page=5>; rel="last"`},
		{`</a>;rel=next,</b>`, `<` + through + `/a>;rel=next, <` + through + `/b>`},
		{` , </a> ; rel="x" ,	, `, `<` + through + `/a> ; rel="x"`},
		{`<https://elsewhere.example/a>; title="a, b"; rel=help`, `<https://elsewhere.example/a>; title="a, b"; rel=help`},
		{`text before </a>`, `<` + through + `/a>`},
		{`</a>, <unclosed`, `<` + through + `/a>`},
		// No link RFC 8288 reads, but one lenient readers find, unchecked.
		{`no link here`, ``},
		{`<unclosed`, ``},
	} {
		resp, _ := f.get(t, "/links/page?"+url.Values{"link": {tc.link}}.Encode())
		if got := resp.Header.Get("Link"); got != tc.want {
			t.Errorf("the API's Link %q\n came through as %q\n want %q", tc.link, got, tc.want)
		}
	}
}

// TestLinksUnderTheAPIInAnySpellingOfItsHost: a redirect or link under
// the API whose host is spelled otherwise than api_url spells it, with or
// without the scheme's default port or a trailing dot, is pointed back
// through the proxy, as the engine's Transport takes it for the API's
// host. It was passed on as written, and a client that followed it (a
// page's next link, a redirect to the trailing slash) left the proxy and
// met the API with no token. The API is reached through an HTTP proxy
// that takes every name to it, so that it can be named on port 80.
func TestLinksUnderTheAPIInAnySpellingOfItsHost(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to := r.URL.Query().Get("to")
		w.Header().Set("Link", "<"+to+"?page=2>; rel=next")
		w.Header().Set("Content-Location", to)
		w.Header().Set("Location", to)
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(api.Close)
	officeURL, _ := officeProxy(t, api)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, tune: func(o *proxy.Options) { o.UpstreamProxy = http.ProxyURL(officeURL) }, moreConfig: func(f *fixture) string {
		return genericEnv(f, "bare", "http://api.example.test") + genericEnv(f, "ported", "http://api.example.test:80")
	}})
	for _, tc := range []struct{ env, to string }{
		{"bare", "http://api.example.test:80/v2/contacts"},
		{"bare", "http://API.example.test.:80/v2/contacts"},
		{"bare", "http://api.example.test./v2/contacts"},
		{"ported", "http://api.example.test/v2/contacts"},
		{"ported", "http://api.example.test:80/v2/contacts"},
	} {
		f.login(t, tc.env)
		resp, body := f.get(t, "/"+tc.env+"/v2/go?to="+url.QueryEscape(tc.to))
		want := f.base + "/" + tc.env + "/v2/contacts"
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want || resp.Header.Get("Content-Location") != want ||
			resp.Header.Get("Link") != "<"+want+"?page=2>; rel=next" {
			t.Errorf("%s: the API's links to %s came through as %d Location %q, Content-Location %q, Link %q %s; want each at %s",
				tc.env, tc.to, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Location"), resp.Header.Get("Link"), body, want)
		}
	}
}

func TestRefusesRequestsNotAddressedToIt(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	port := f.port()
	cases := []struct {
		name    string
		path    string
		headers map[string]string
		refused bool
	}{
		{"own address", "/dev/v2/company", nil, false},
		{"localhost", "/dev/v2/company", map[string]string{"Host": "localhost:" + port}, false},
		{"own origin", "/dev/v2/company", map[string]string{"Origin": f.base}, false},
		{"same-origin fetch", "/dev/v2/company", map[string]string{"Sec-Fetch-Site": "same-origin"}, false},
		{"typed in the address bar", "/dev/v2/company", map[string]string{"Sec-Fetch-Site": "none"}, false},
		{"DNS rebinding", "/dev/v2/company", map[string]string{"Host": "attacker.example:" + port}, true},
		{"rebinding to the status page", "/", map[string]string{"Host": "attacker.example:" + port}, true},
		{"another port", "/dev/v2/company", map[string]string{"Host": "127.0.0.1:1"}, true},
		{"no port", "/dev/v2/company", map[string]string{"Host": "127.0.0.1"}, true},
		{"foreign origin", "/dev/v2/company", map[string]string{"Origin": "https://attacker.example"}, true},
		{"foreign origin on the status page", "/", map[string]string{"Origin": "https://attacker.example"}, true},
		{"local web app", "/dev/v2/company", map[string]string{"Origin": "http://127.0.0.1:3000"}, true},
		{"null origin", "/dev/v2/company", map[string]string{"Origin": "null"}, true},
		{"image from another site", "/dev/v2/company", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"image from a local site", "/dev/v2/company", map[string]string{"Sec-Fetch-Site": "same-site"}, true},
		{"link to the status page from another site", "/", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"link to the status page from another site, opened", "/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, false},
		{"another site's script fetching the status page", "/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.provider.Stats().APIRequests
			req, _ := http.NewRequest(http.MethodGet, f.base+tc.path, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			req.Host = req.Header.Get("Host")
			resp, body := f.do(t, req)
			refused := resp.StatusCode == http.StatusForbidden && resp.Header.Get("X-Freshtoken-Error") == "forbidden"
			if refused != tc.refused {
				t.Fatalf("status %d (refused: %v), want refused: %v: %s", resp.StatusCode, refused, tc.refused, body)
			}
			if reached := f.provider.Stats().APIRequests > before; reached == tc.refused && tc.path != "/" {
				t.Errorf("the API was reached: %v", reached)
			}
		})
	}
}

// TestWebPageRefusalSaysWhatToDo: a request a web page sent (Postman on the
// web with its browser agent, a local web app) is refused with what to use
// instead; it said only that web pages are refused.
func TestWebPageRefusalSaysWhatToDo(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	for _, headers := range []map[string]string{
		{"Origin": "https://go.postman.co"},
		{"Sec-Fetch-Site": "cross-site"},
	} {
		req, _ := http.NewRequest(http.MethodGet, f.base+"/dev/v2/company", nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, body := f.do(t, req)
		p := decode[problemBody](t, body)
		if resp.StatusCode != http.StatusForbidden || p.Error != "forbidden" {
			t.Fatalf("%v: got %d %+v", headers, resp.StatusCode, p)
		}
		for _, want := range []string{"Desktop Agent", "curl"} {
			if !strings.Contains(p.Message, want) {
				t.Errorf("%v: message %q does not say what to send the request from instead (%q)", headers, p.Message, want)
			}
		}
	}
}

func TestUnknownEnvironment(t *testing.T) {
	f := newFixture(t)
	resp, body := f.get(t, "/sandbx/v2/company")
	p := decode[problemBody](t, body)
	if resp.StatusCode != http.StatusNotFound || p.Error != "unknown_environment" || strings.Join(p.Configured, ",") != "dev,idle" {
		t.Errorf("got %d %+v", resp.StatusCode, p)
	}
	// The message quotes what the client asked for: no browser may read it
	// as a page of the proxy's own origin.
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff on the proxy's own JSON", got)
	}
	if !strings.Contains(p.Message, `"sandbx"`) || strings.Contains(p.Message, "first in the path") {
		t.Errorf("message %q does not name the environment asked for, or takes it for an API's path", p.Message)
	}
	// A base URL without the environment (Postman's {{base}} set to the
	// proxy's address alone) is told where the name goes.
	_, body = f.get(t, "/v2/company")
	if p := decode[problemBody](t, body); !strings.Contains(p.Message, "first in the path: /ENV/v2/company") {
		t.Errorf("message %q does not show the path with an environment first", p.Message)
	}
}

func TestLoginRequired(t *testing.T) {
	f := newFixture(t)
	resp, body := f.get(t, "/idle/v2/company")
	p := decode[problemBody](t, body)
	if resp.StatusCode != http.StatusUnauthorized || p.Error != "login_required" || p.Env != "idle" {
		t.Fatalf("got %d %+v", resp.StatusCode, p)
	}
	for _, want := range []string{"freshtoken login -e idle", f.base + "/"} {
		if !strings.Contains(p.Message, want) {
			t.Errorf("message %q does not say %q", p.Message, want)
		}
	}
	if f.provider.Stats().APIRequests != 0 {
		t.Errorf("the API was called without a token")
	}
}

// TestSharedStoreProblems: with the tokens in Redis, a Redis that cannot
// be reached is answered 503 store_unreachable, not blamed on the API or
// the provider, and a Redis that refuses the password is a configuration
// problem. An environment already serving a token goes on serving it.
func TestSharedStoreProblems(t *testing.T) {
	srv := redistest.Start(t)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, storeURL: srv.URL})
	f.login(t, "dev")
	if resp, _ := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("with Redis up: %d", resp.StatusCode)
	}
	srv.Stop()
	if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Errorf("an environment with a valid token in memory, Redis down: %d %s", resp.StatusCode, body)
	}
	resp, body := f.get(t, "/idle/v2/company") // never read: its tokens are in Redis
	if p := decode[problemBody](t, body); resp.StatusCode != http.StatusServiceUnavailable || p.Error != "store_unreachable" || !strings.Contains(p.Message, "Redis") {
		t.Errorf("an environment whose tokens are in a Redis that is down: %d %+v", resp.StatusCode, p)
	}

	locked := redistest.Start(t)
	locked.RequirePassword(t, "right-password")
	f = newFixtureWith(t, fixtureOptions{autoApprove: true, storeURL: "redis://:wrong-password-7@" + locked.Addr + "/0"})
	resp, body = f.get(t, "/dev/v2/company")
	if p := decode[problemBody](t, body); resp.StatusCode != http.StatusInternalServerError || p.Error != "invalid_configuration" || strings.Contains(p.Message, "wrong-password-7") {
		t.Errorf("a Redis that refuses the password: %d %+v", resp.StatusCode, p)
	}
}

func TestLoginThroughTheProxy(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	if got := f.provider.Stats().Exchanges; got != 1 {
		t.Fatalf("%d code exchanges, want 1", got)
	}
	if f.storedToken(t) == "" {
		t.Fatal("nothing stored")
	}

	t.Run("a refused log-in is shown on the status page", func(t *testing.T) {
		state, _ := f.startLogin(t, "idle")
		resp, _ := f.get(t, "/callback?error=access_denied&state="+url.QueryEscape(state))
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=login-failed") {
			t.Errorf("the browser got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, page := f.get(t, "/")
		if !strings.Contains(string(page), "access_denied") {
			t.Errorf("the status page does not show the failure")
		}
	})

	t.Run("a refused log-in begun by a command is told to it alone", func(t *testing.T) {
		state, _ := f.startAttempt(t, "idle", "attempt-1", 0)
		f.startAttempt(t, "idle", "attempt-2", 0)
		f.get(t, "/callback?error=access_denied&state="+url.QueryEscape(state))
		for _, tc := range []struct {
			env, attempt, code string
			held               bool
		}{
			{"idle", "attempt-1", "login_refused", true},
			{"idle", "attempt-2", "", true},  // still waiting for its browser
			{"dev", "attempt-1", "", false},  // another environment's
			{"idle", "attempt-3", "", false}, // never begun
		} {
			if a, body := f.attempt(t, tc.env, tc.attempt); a.Failed != (tc.code != "") || a.Code != tc.code || a.Held != tc.held {
				t.Errorf("%s's attempt %s: %s; want failed with %q, held %t", tc.env, tc.attempt, body, tc.code, tc.held)
			}
		}
	})

	// A `freshtoken login` whose log-in the proxy no longer holds (its
	// time ran out, or the proxy restarted) ends at once: nothing can
	// bring its browser's answer in. One whose browser came back waits
	// for the store, as the proxy finishes the exchange even as it stops.
	t.Run("a command's log-in is held until its browser comes back, or its time runs out", func(t *testing.T) {
		f.startAttempt(t, "dev", "unanswered", 0)
		_, authURL := f.startAttempt(t, "dev", "approved", 0)
		if a, body := f.attempt(t, "dev", "approved"); !a.Held || a.Answered {
			t.Errorf("before its browser came back: %s; want held, not answered", body)
		}
		resp, err := http.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		f.clock.Advance(login.DefaultTimeout + time.Second)
		for attempt, want := range map[string]struct{ held, answered bool }{"unanswered": {false, false}, "approved": {true, true}} {
			if a, body := f.attempt(t, "dev", attempt); a.Held != want.held || a.Answered != want.answered || a.Failed {
				t.Errorf("%s, past its time: %s; want held %t, answered %t", attempt, body, want.held, want.answered)
			}
		}
	})

	t.Run("a log-in link for another client ends its command's wait", func(t *testing.T) {
		resp, _ := f.get(t, f.vouched(t, "dev", "/.freshtoken/envs/dev/login?client_id=another-client&attempt=foreign"))
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("the link for another client answered %d; want 409", resp.StatusCode)
		}
		if a, body := f.attempt(t, "dev", "foreign"); !a.Failed || a.Code != "invalid_configuration" {
			t.Errorf("the command is told %s; want failed, invalid_configuration", body)
		}
		if _, page := f.get(t, "/"); !strings.Contains(string(page), "for another client or provider than the configuration that asked to log in") {
			t.Errorf("the status page, where the command points, does not say why")
		}
	})

	t.Run("a client rejected in a log-in is noted beside the tokens", func(t *testing.T) {
		_, authURL := f.startLogin(t, "dev")
		f.provider.Fault(devprovider.FaultInvalidClient, 1)
		resp, err := http.Get(authURL) // the provider approves and sends the browser back
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if done := resp.Request.URL.Query().Get("done"); done != "login-failed" {
			t.Fatalf("the log-in ended at %s", resp.Request.URL)
		}
		rec, err := f.source(t, "dev").Record(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rec.Problem == nil || rec.Problem.Kind != store.ProblemClientRejected || rec.AccessToken == "" {
			t.Fatalf("the stored record's problem: %+v, tokens kept: %v; want the tokens kept, with the client's rejection beside them", rec.Problem, rec.AccessToken != "")
		}
	})

	t.Run("an answer to no log-in of ours is turned away", func(t *testing.T) {
		f.turnedAway(t, "code=stolen&state=guessed", "an answer with a guessed state")
	})

}

// TestRefusedClientNamesWhereTheSecretComesFrom: when the provider
// refuses the client (invalid_client) of an environment whose client
// secret comes from client_secret_env = "X", the proxy's JSON problem and
// its status page say to check $X, as the command line does, never the
// secret itself; the page adds what to click once that is fixed. Both
// said to check "the client secret ... in the config", which holds none.
func TestRefusedClientNamesWhereTheSecretComesFrom(t *testing.T) {
	f := secretVarFixture(t)
	f.login(t, "env-secret")
	f.provider.Fault(devprovider.FaultInvalidClient, 1)
	f.clock.Advance(accessTTL) // the next request renews
	want := "check client_id, the client secret ($FRESHTOKEN_TEST_SECRET) and client_auth in the config"
	resp, body := f.get(t, "/env-secret/v2/company")
	pr := decode[problemBody](t, body)
	if resp.StatusCode != http.StatusBadGateway || pr.Error != "client_rejected" || !strings.Contains(pr.Message, "; "+want) || strings.Contains(string(body), "dev-client-secret") {
		t.Errorf("a request with the client refused got %d %s; want 502 client_rejected saying to %s", resp.StatusCode, body, want)
	}
	_, page := f.get(t, "/")
	if html := want + ", then click Renew now"; !strings.Contains(string(page), html) || strings.Contains(string(page), "dev-client-secret") {
		t.Errorf("the status page does not say %q:\n%s", html, page)
	}
	// Its next renewal, as status's keep-alive, says the refusal stands
	// (keeper.NextRenewal): it said when the plan fell due alone.
	if next := "the provider refused the last try, so this one fails too unless the problem is fixed first</dd>"; !strings.Contains(string(page), next) {
		t.Errorf("the status page's next renewal does not say %q:\n%s", next, page)
	}
}

// TestRefusedClientWithNoTokensSaysWhatToClick: an environment with client
// credentials, holding no tokens, whose client the provider refuses
// (invalid_client) when the first request fetches a token: the status page
// says what to check and, once fixed, to click Fetch a token, the button
// it shows, as for a client refused with tokens stored it says Renew now.
// Dropping that step for a failure the store did not record failed no
// test.
func TestRefusedClientWithNoTokensSaysWhatToClick(t *testing.T) {
	f := deviceFixture(t)
	f.provider.Fault(devprovider.FaultInvalidClient, 1)
	if resp, body := f.get(t, "/machine/v2/company"); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("a request with the client refused got %d %s; want 502 client_rejected", resp.StatusCode, body)
	}
	_, page := f.get(t, "/")
	if want := "rejected the client (HTTP 401 invalid_client); check client_id, the client secret and client_auth in the config, then click Fetch a token"; !strings.Contains(string(page), want) ||
		!strings.Contains(string(page), `id="renew-machine" class="secondary">Fetch a token<`) {
		t.Errorf("the status page does not say %q, with the button:\n%s", want, page)
	}
}

// TestRefusalOfItsOwnWithNoTokensSaysWhatToClick: as
// TestRefusedClientWithNoTokensSaysWhatToClick, for a refusal with an error
// code of the provider's own (renewal_refused): the status page told the
// provider's words and no step, where a rejected client's said what to do
// and which button to click once done.
func TestRefusalOfItsOwnWithNoTokensSaysWhatToClick(t *testing.T) {
	f := deviceFixture(t)
	f.provider.Fault(devprovider.FaultAccountLocked, 1)
	if resp, body := f.get(t, "/machine/v2/company"); resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), `"renewal_refused"`) {
		t.Fatalf("a request refused with the provider's own error got %d %s; want 502 renewal_refused", resp.StatusCode, body)
	}
	_, page := f.get(t, "/")
	if want := `account_locked: &#34;the account is locked: ask its owner to unlock it&#34;); check what they name, then click Fetch a token, or log in again if they name the refresh token or the log-in`; !strings.Contains(string(page), want) {
		t.Errorf("the status page does not say %q:\n%s", want, page)
	}
}

// TestLoginLinkOnlyServesThisMachine: the log-in link starts nothing for
// another machine, nor for a page of another site.
func TestLoginLinkOnlyServesThisMachine(t *testing.T) {
	f := newFixture(t)
	req := httptest.NewRequest(http.MethodGet, proxy.LoginURL(f.base, "dev", "", "", "", 0), nil)
	req.RemoteAddr = "192.0.2.7:50000"
	w := httptest.NewRecorder()
	f.proxy.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("from another machine: %d, want 403", w.Code)
	}
	req, _ = http.NewRequest(http.MethodGet, proxy.LoginURL(f.base, "dev", "", "", "", 0), nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	if resp, _ := f.do(t, req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a link on another site started a log-in: %d", resp.StatusCode)
	}
}

// TestLoginLinkFromABrowserThatDoesNotSayWhoOpenedIt: a browser that sends
// no Sec-Fetch-Site (Safari before 16.4, older Firefox and Chrome, web
// views) follows any web page's link or frame to the log-in link, sending
// neither Origin nor Sec-Fetch-Site, as these requests do; and Chromium
// marks Sec-Fetch-Site: none a redirect to it from any site the person
// opened from outside a page (TestLoginLinkInABrowser). Such a link,
// without the key of the grant answer, starts nothing: no log-in, no
// refusal noted against the environment, nothing asked of the provider;
// the browser is shown the status page saying to click Log in if the
// person asked. It started a log-in, and a provider that approves again
// without asking (as this one does) sent the browser back, and the tokens
// stored were replaced by those of whatever account the browser was signed
// in to. The link `freshtoken login` opens carries the key.
func TestLoginLinkFromABrowserThatDoesNotSayWhoOpenedIt(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	stored, err := f.source(t, "dev").Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	open := func(client *http.Client, link, site string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, link, nil)
		if err != nil {
			t.Fatal(err)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	before := f.provider.Stats()
	for _, tc := range []struct{ link, site string }{
		{proxy.LoginURL(f.base, "dev", "", "", "", 0), ""},
		{proxy.LoginURL(f.base, "dev", "another-client", "", "hostile", 0), ""}, // which the proxy would refuse, noting why
		{proxy.WithLoginKey(proxy.LoginURL(f.base, "dev", "", "", "", 0), "a-guessed-key"), ""},
		{proxy.LoginURL(f.base, "dev", "", "", "", 0), "none"},
	} {
		resp := open(noRedirects, tc.link, tc.site)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || unsigned(loc) != "/?done=login-unvouched&env=dev" {
			t.Fatalf("%s (Sec-Fetch-Site %q): %d to %q; want the status page, saying nothing was started", tc.link, tc.site, resp.StatusCode, loc)
		}
		resp = open(http.DefaultClient, tc.link, tc.site) // followed, as the browser does
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), "and nothing was started. If you ran freshtoken login, click Log in (or Log in again) for dev below") {
			t.Errorf("%s: the page does not say what happened:\n%s", tc.link, page)
		}
		if strings.Contains(string(page), "another client") {
			t.Errorf("%s: a refusal was noted against dev:\n%s", tc.link, page)
		}
	}
	if f.proxy.LoggingIn() {
		t.Error("a link not vouched for started a log-in")
	}
	if a, body := f.attempt(t, "dev", "hostile"); a.Held || a.Failed {
		t.Errorf("the link's attempt is %s; want nothing known of it", body)
	}
	if after := f.provider.Stats(); after != before {
		t.Errorf("the provider was asked %+v, then %+v", before, after)
	}
	if rec, err := f.source(t, "dev").Record(context.Background()); err != nil || rec.AccessToken != stored.AccessToken || rec.RefreshToken != stored.RefreshToken {
		t.Errorf("the stored tokens were replaced (%v)", err)
	}

	resp := open(noRedirects, f.vouched(t, "dev", proxy.LoginURL(f.base, "dev", "", "", "", 0)), "")
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.api) {
		t.Errorf("with the key: %d to %q; want the provider's page", resp.StatusCode, loc)
	}
}

// TestListenAddr: a loopback address in any spelling is listened on as its
// IP, so that no name server is asked where the proxy listens (127.1,
// 0x7f000001, localhost. and foo.localhost were looked up, a name server's
// answer able to put the proxy on the network); an address that is not
// HOST:PORT is refused as such (unix:/tmp/x was told to listen on
// "127.0.0.1:/tmp/x").
func TestListenAddr(t *testing.T) {
	for _, tc := range []struct {
		addr        string
		allowRemote bool
		want        string // "": refused
	}{
		{"127.0.0.1:8787", false, "127.0.0.1:8787"},
		{"localhost:8787", false, "127.0.0.1:8787"},
		{"localhost.:8787", false, "127.0.0.1:8787"},
		{"foo.localhost:8787", false, "127.0.0.1:8787"},
		{"127.1:8787", false, "127.0.0.1:8787"},
		{"0x7f000001:8787", false, "127.0.0.1:8787"},
		{"127.0.0.1.:8787", false, "127.0.0.1:8787"},
		{"[::1]:8787", false, "[::1]:8787"},
		{"[::ffff:127.0.0.1]:8787", false, "127.0.0.1:8787"},
		{"127.0.0.2:8787", false, "127.0.0.2:8787"},
		{"127.0.0.1:0", false, "127.0.0.1:0"},
		{"0.0.0.0:8787", false, ""},
		{"0:8787", false, ""},
		{":8787", false, ""},
		{"192.168.1.5:8787", false, ""},
		{"example.com:8787", false, ""},
		{"[::]:8787", false, ""},
		{"0.0.0.0:8787", true, "0.0.0.0:8787"},
		{"example.com:8787", true, "example.com:8787"},
		{"127.0.0.1", false, ""},
		{"unix:/tmp/x", false, ""},
		{"127.0.0.1:99999", false, ""},
		{"127.0.0.1:http", false, ""},
	} {
		got, err := proxy.ListenAddr(tc.addr, tc.allowRemote)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ListenAddr(%q, %v) = %q, %v; want %q", tc.addr, tc.allowRemote, got, err, tc.want)
		}
	}
}

func TestDebugLogsEachRequestOnOneLine(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	f.clock.Advance(accessTTL)
	f.get(t, "/dev/v2/company")
	logs := f.logs.String()
	for _, want := range []string{
		`msg="proxied request" component=proxy env=dev method=GET path=/dev/v2/company status=200`,
		`msg="token renewed" env=dev`,
	} {
		if strings.Count(logs, want) != 1 {
			t.Errorf("want one line with %s in:\n%s", want, logs)
		}
	}
	// A secret of the client's own in the query, which the proxy cannot know
	// to mask, is masked by its name.
	const own = "the-clients-own-secret-0123456789"
	f.get(t, "/dev/v2/company?page=2&access_token="+own+"&Client_Secret="+own+"&password="+url.QueryEscape(own))
	if logs := f.logs.String(); strings.Contains(logs, own) || !strings.Contains(logs, "page=2") {
		t.Errorf("the query's secret is logged, or the rest of it is not:\n%s", logs)
	}
}

// TestRateLimitedRenewal: a renewal the token endpoint answers 429 (FreeAgent
// allows 15 a minute), with no valid token left to serve, is answered 503
// rate_limited with a Retry-After saying when renewals ask again, then what
// is left of that wait, with no token request meanwhile. It was answered
// 502 provider_unreachable, as if the provider were down, with nothing to
// say when to try again.
func TestRateLimitedRenewal(t *testing.T) {
	var asked atomic.Int32
	limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		asked.Add(1)
		w.Header().Set("Retry-After", "120") // longer than the engine waits on a request
		http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
	}))
	t.Cleanup(limited.Close)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, moreConfig: func(f *fixture) string {
		return strings.Replace(genericEnv(f, "limited", strings.TrimSuffix(f.api, "/")),
			fmt.Sprintf("token_url = \"%sv2/token_endpoint\"", f.api), fmt.Sprintf("token_url = %q", limited.URL), 1)
	}})
	src := f.source(t, "limited")
	tok := &oauth2.Token{AccessToken: "limited-access-token", RefreshToken: "limited-refresh-token", TokenType: "Bearer", ExpiresIn: 60}
	if err := src.SaveLogin(context.Background(), tok, f.clock.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	resp, body := f.get(t, "/limited/v2/company")
	if p := decode[problemBody](t, body); resp.StatusCode != http.StatusServiceUnavailable || p.Error != "rate_limited" || resp.Header.Get("Retry-After") != "120" {
		t.Fatalf("a renewal answered 429: %d %+v, Retry-After %q; want 503 rate_limited, Retry-After 120", resp.StatusCode, p, resp.Header.Get("Retry-After"))
	}
	f.clock.Advance(30 * time.Second)
	resp, body = f.get(t, "/limited/v2/company")
	if p := decode[problemBody](t, body); resp.StatusCode != http.StatusServiceUnavailable || p.Error != "rate_limited" || resp.Header.Get("Retry-After") != "90" {
		t.Fatalf("30 s into the rest: %d %+v, Retry-After %q; want 503 rate_limited, Retry-After 90", resp.StatusCode, p, resp.Header.Get("Retry-After"))
	}
	// Another process (here a second proxy) follows the rest stored with
	// the tokens, and says so the same way.
	resp, err := http.Get(f.serve(t) + "/limited/v2/company")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if p := decode[problemBody](t, body); resp.StatusCode != http.StatusServiceUnavailable || p.Error != "rate_limited" || resp.Header.Get("Retry-After") != "90" {
		t.Fatalf("another proxy during the rest: %d %+v, Retry-After %q; want 503 rate_limited, Retry-After 90", resp.StatusCode, p, resp.Header.Get("Retry-After"))
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("%d token requests; want 1, none during the rest", n)
	}
}

// TestStoppingSeesACodeExchangeThrough: a proxy asked to stop while a
// browser log-in's code exchange is in flight, longer than its grace for
// requests, waits for the answer and stores the tokens before Serve
// returns. Serve returned once the grace was over, and the process exited
// with the exchange in flight: the provider had spent the code, and the
// log-in was lost.
func TestStoppingSeesACodeExchangeThrough(t *testing.T) {
	var hold sync.Once
	inFlight, release := make(chan struct{}), make(chan struct{})
	f := newFixtureWith(t, fixtureOptions{
		autoApprove: true,
		tune:        func(o *proxy.Options) { o.ShutdownGrace = 10 * time.Millisecond },
		onTokenRequest: func(grant string) {
			if grant == "authorization_code" {
				hold.Do(func() {
					close(inFlight)
					<-release
				})
			}
		},
	})
	_, authURL := f.startLogin(t, "dev")
	browser := make(chan error, 1)
	go func() {
		resp, err := http.Get(authURL) // approved at once, and sent back to the proxy
		if err == nil {
			resp.Body.Close()
		}
		browser <- err
	}()
	<-inFlight
	stored := f.stopInBackground(t, "dev")
	if err := <-browser; err == nil { // the proxy closed its connection, past its grace
		t.Fatal("the browser's request was answered before the exchange it waits for was")
	}
	close(release)
	if !<-stored {
		t.Fatal("Serve returned before the tokens of the log-in's code exchange were stored")
	}
}

// TestStalledStoreIsAnsweredWithinTheTimeout: a client's request whose
// tokens are in a Redis that takes connections and never answers (paused)
// gets the proxy's JSON error (503 store_unreachable, naming the Redis and
// the timeout) once the environment's timeout has passed, and the proxy's
// log says why, once: it waited for the store's own time, its tries again
// included (80 s with read_timeout=20s), told nothing, as if the proxy had
// hung, and the log said nothing above debug. Redis's own wait here is an
// hour: the answer is the proxy's (see getAtAStall).
func TestStalledStoreIsAnsweredWithinTheTimeout(t *testing.T) {
	srv := redistest.Start(t)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, quiet: true, storeURL: srv.URL + "?read_timeout=1h",
		moreConfig: func(f *fixture) string {
			return fmt.Sprintf("[env.short]\nprovider = \"freeagent\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\ntimeout = \"3s\"\n", f.api)
		}})
	srv.Pause(t)
	for range 2 {
		code, body := f.getAtAStall(t, "/short/v2/company")
		p := decode[problemBody](t, body)
		if code != http.StatusServiceUnavailable || p.Error != "store_unreachable" || !strings.Contains(p.Message, "Redis at redis://"+srv.Addr) || !strings.Contains(p.Message, "within the environment's timeout (3s)") {
			t.Errorf("a request whose store stalls: %d %s", code, body)
		}
	}
	// Once, in one line: the stall's own warning and the failing store's
	// were both written for it.
	if logs := f.logs.String(); strings.Count(logs, "\n") != 1 || !strings.Contains(logs, "the token store is failing") ||
		!strings.Contains(logs, "Redis at redis://"+srv.Addr) || !strings.Contains(logs, "within the environment's timeout (3s)") {
		t.Errorf("the log tells of the stall as:\n%s\nwant one line, naming the Redis and the timeout", logs)
	}
}

// stalledStoreFixture starts a Redis of the test's own, each of whose
// tries waits an hour for an answer (the test is long over by then), and a
// proxy whose environment "short" (generic, at the dev provider, settings
// added) keeps its tokens there.
func stalledStoreFixture(t *testing.T, settings string) (*fixture, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	return stalledStoreFixtureAt(t, srv.URL, settings), srv
}

// stalledStoreFixtureAt is stalledStoreFixture's proxy, its Redis at
// redisURL (a relay before the test's Redis).
func stalledStoreFixtureAt(t *testing.T, redisURL, settings string) *fixture {
	t.Helper()
	return newFixtureWith(t, fixtureOptions{autoApprove: true, quiet: true, storeURL: redisURL + "?read_timeout=1h",
		moreConfig: func(f *fixture) string {
			return genericEnv(f, "short", strings.TrimSuffix(f.api, "/")) + settings
		}})
}

// getAtAStall gets path from the proxy while its Redis is paused, and
// returns the answer's status and body. Redis's own wait being an hour
// (stalledStoreFixture), an answer is the proxy's own, given while Redis
// is still paused: the environment's timeout's, or a token it serves
// meanwhile. One that does not come fails the test as every wait of the
// suite does (testenv.Receive), not at the test binary's time-out.
func (f *fixture) getAtAStall(t *testing.T, path string) (int, []byte) {
	t.Helper()
	type answer struct {
		code int
		body []byte
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := noRedirects.Get(f.base + path)
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		got <- answer{resp.StatusCode, body, err}
	}()
	a := testenv.Receive(t, "the proxy's answer while Redis is paused", got)
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a.code, a.body
}

// loggedInAndServed logs env in and has a request of its served, before
// what the test does to its store.
func (f *fixture) loggedInAndServed(t *testing.T, env string) {
	t.Helper()
	f.login(t, env)
	if resp, body := f.get(t, "/"+env+"/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the stall: %d %s", resp.StatusCode, body)
	}
}

// TestStalledStoreServesATokenStillValid: a client's request whose token
// is due for renewal (refresh_before 30m, 29 minutes left) and whose Redis
// takes connections and never answers (paused) is served that token,
// well before the environment's timeout: it got 503 store_unreachable once
// the timeout had passed, though the proxy held a token valid 29 minutes
// more (docs/proxy.md: an environment already holding a valid token goes
// on using it). Under a timeout shorter than store.StallNotice (1s) too:
// the proxy, told of the stall before the engine, answered 503.
func TestStalledStoreServesATokenStillValid(t *testing.T) {
	for _, timeout := range []string{"10s", "1s"} {
		t.Run("timeout "+timeout, func(t *testing.T) {
			f, srv := stalledStoreFixture(t, "timeout = \""+timeout+"\"\nrefresh_before = \"30m\"\n")
			f.loggedInAndServed(t, "short")
			f.clock.Advance(31 * time.Minute)
			srv.Pause(t)
			if code, body := f.getAtAStall(t, "/short/v2/company"); code != http.StatusOK {
				t.Errorf("a request whose store stalls, the token valid 29 minutes more: %d %s", code, body)
			}
		})
	}
}

// TestStalledStoreUnderAShortTimeoutSaysHowLong: a request with no valid
// token to serve, whose Redis never answers (paused), and whose timeout
// (1s) is under store.StallNotice, gets 503 store_unreachable saying how
// long Redis has not answered (2s, the stall's notice): it said 1s, the
// timeout, when Redis had been silent for 2.
func TestStalledStoreUnderAShortTimeoutSaysHowLong(t *testing.T) {
	f, srv := stalledStoreFixture(t, "timeout = \"1s\"\n")
	srv.Pause(t)
	code, body := f.getAtAStall(t, "/short/v2/company")
	p := decode[problemBody](t, body)
	if code != http.StatusServiceUnavailable || p.Error != "store_unreachable" ||
		!strings.Contains(p.Message, "has not answered for 2s, and no token could be had from it within the environment's timeout (1s)") {
		t.Errorf("a request whose store stalls, the timeout 1s: %d %s", code, body)
	}
}

// TestRequestsAtAKnownStallLeaveNothingWaiting: requests for an
// environment whose renewal is known stalled (its token expired, Redis
// paused), each answered 503 at the environment's timeout, leave no call
// behind them: each left one joined to the stalled renewal until Redis's
// own wait ended (four tries, each an hour here), 40 requests 40 goroutines,
// a busy client's thousands. The renewal itself, the first request's, goes
// on for the proxy.
func TestRequestsAtAKnownStallLeaveNothingWaiting(t *testing.T) {
	f, srv := stalledStoreFixture(t, "timeout = \"1s\"\n")
	f.loggedInAndServed(t, "short")
	f.clock.Advance(accessTTL + time.Minute)
	srv.Pause(t)
	if code, body := f.getAtAStall(t, "/short/v2/company"); code != http.StatusServiceUnavailable {
		t.Fatalf("the request that meets the stall: %d %s", code, body)
	}
	const clients = 40
	codes := make(chan int, clients)
	for range clients {
		go func() {
			resp, err := noRedirects.Get(f.base + "/short/v2/company")
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	for range clients {
		if code := testenv.Receive(t, "a request's answer", codes); code != http.StatusServiceUnavailable {
			t.Errorf("a request at the known stall: %d; want 503", code)
		}
	}
	testenv.WaitFor(t, "the requests' calls for a token to end, but the renewal's", func() bool { return tokenCalls() <= 1 })
}

// tokenCalls counts the proxy's calls for a token (Proxy.token's) under way.
func tokenCalls() int {
	var stacks strings.Builder
	pprof.Lookup("goroutine").WriteTo(&stacks, 2)
	return strings.Count(stacks.String(), "internal/proxy.(*Proxy).token.func1(")
}

// TestStalledStoreRenewalOutlivesItsRequest: while Redis takes connections
// and never answers (paused), the renewal left going at the stall, its
// request served the token still valid, is the proxy's, not the request's:
// the requests after it are served at once, and once Redis answers, it
// stores its token, which is served from then on, the provider asked
// once. The renewal ended with its request, the next began another (a
// try at the renewal lock of its own, which Redis left unanswered too), and
// every request waited the stall's notice (2 s) before it was served.
func TestStalledStoreRenewalOutlivesItsRequest(t *testing.T) {
	srv := redistest.Start(t)
	var (
		paused  atomic.Bool
		mu      sync.Mutex
		holders = map[string]bool{} // the lock's tries sent while Redis is paused, by their value
	)
	relay := srv.Relay(t, func(args []string) {
		for _, arg := range args {
			if holder, ok := strings.CutPrefix(arg, "freshtoken:short:given-up:"); ok && paused.Load() {
				mu.Lock()
				holders[holder] = true
				mu.Unlock()
			}
		}
	})
	f := stalledStoreFixtureAt(t, "redis://"+relay+"/0", "timeout = \"10s\"\nrefresh_before = \"30m\"\n")
	f.loggedInAndServed(t, "short")
	held := srv.Get(t, "freshtoken:short")
	f.clock.Advance(31 * time.Minute)
	paused.Store(true)
	srv.Pause(t)
	for i := range 4 {
		if code, body := f.getAtAStall(t, "/short/v2/company"); code != http.StatusOK {
			t.Fatalf("request %d while Redis does not answer: %d %s", i, code, body)
		}
	}
	mu.Lock()
	tries := len(holders)
	mu.Unlock()
	if tries != 1 {
		t.Errorf("%d renewals tried the lock while Redis did not answer, for 4 requests; want the one left going at the stall", tries)
	}
	srv.Resume(t)
	testenv.WaitFor(t, "the renewal stored once Redis answers", func() bool {
		v := srv.Get(t, "freshtoken:short")
		return v != "" && v != held
	})
	if resp, body := f.get(t, "/short/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("once the renewal is stored: %d %s", resp.StatusCode, body)
	}
	if st := f.provider.Stats(); st.Refreshes != 1 || st.ReuseDetected != 0 {
		t.Fatalf("provider saw %+v; want the one renewal", st)
	}
}

// TestStalledStoreOutlivingTheTokenIsAnsweredWithinTheTimeout: a request
// whose token has expired while the renewal left going at a stall (its
// request served the token) still waits for Redis (paused) gets 503
// store_unreachable once the environment's timeout has passed. The stall,
// kept from the proxy while the token served, is told to it once the
// token expires: the token valid 4 s more and then expired (served), and
// valid 29 minutes more and then expired by the engine's clock (as over a
// machine's sleep, which a timer of Go's does not count: the stall kept
// from the proxy was told by a timer set for the token's expiry, 29
// minutes of the process's own time away). Untold, the request waited for
// Redis's own wait (20 s a try, an hour here).
func TestStalledStoreOutlivingTheTokenIsAnsweredWithinTheTimeout(t *testing.T) {
	for _, tc := range []struct {
		name          string
		due, expiring time.Duration
		left          string
	}{
		{"served", accessTTL - 4*time.Second, 5 * time.Second, "4 s"},
		{"by the clock", 31 * time.Minute, 30 * time.Minute, "29 minutes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := stalledStoreFixture(t, "timeout = \"2s\"\nrefresh_before = \"30m\"\n")
			f.loggedInAndServed(t, "short")
			f.clock.Advance(tc.due)
			srv.Pause(t)
			if code, body := f.getAtAStall(t, "/short/v2/company"); code != http.StatusOK {
				t.Fatalf("a request whose store stalls, the token valid %s more: %d %s", tc.left, code, body)
			}
			f.clock.Advance(tc.expiring)
			code, body := f.getAtAStall(t, "/short/v2/company")
			if p := decode[problemBody](t, body); code != http.StatusServiceUnavailable || p.Error != "store_unreachable" {
				t.Errorf("a request whose token expired while the store stalls: %d %s", code, body)
			}
		})
	}
}

// TestStoreAnsweringAgainEndsTheStall: a renewal (the token expired, none
// to serve meanwhile) whose Redis leaves the lock unanswered past
// store.StallNotice and then answers, and whose provider is then slow (it
// leaves two tries unanswered, each until the environment's timeout), is
// waited for and served to a request that comes once Redis has answered,
// however long past its timeout: the stall, once told, was never cleared
// (the end of a stalled call was told to no one), and the request got 503
// saying that Redis had not answered, while the provider was answering.
// Each step waits for an event, not a time: the request that meets the
// stall gets 503 as it is told, past its timeout of 1 s; Redis answers
// the lock then; and the next request is sent once the renewal has gone
// on to read the record under the lock. (A sleep in the relay, 2.5 s, and
// a provider slow by a sleep, 2.5 s, against a timeout of 4 s for each
// and not both, left a loaded machine 1.5 s either way.)
func TestStoreAnsweringAgainEndsTheStall(t *testing.T) {
	srv := redistest.Start(t)
	var stall, answering atomic.Bool
	release, readUnderTheLock := make(chan struct{}), make(chan struct{}, 1)
	relay := srv.Relay(t, func(args []string) {
		switch {
		case stall.Load() && strings.Contains(strings.Join(args, " "), "freshtoken:short:lock") && stall.CompareAndSwap(true, false):
			<-release // Redis silent until the stall is told, then answering
		case answering.Load() && slices.Contains(args, "freshtoken:short"):
			select {
			case readUnderTheLock <- struct{}{}:
			default:
			}
		}
	})
	f := stalledStoreFixtureAt(t, "redis://"+relay+"/0", "timeout = \"1s\"\n")
	f.login(t, "short")
	f.clock.Advance(2 * accessTTL)
	stall.Store(true)
	code, body := f.getAtAStall(t, "/short/v2/company")
	if p := decode[problemBody](t, body); code != http.StatusServiceUnavailable || p.Error != "store_unreachable" {
		t.Fatalf("a request whose renewal's lock Redis leaves unanswered: %d %s; want 503 store_unreachable as the stall is told", code, body)
	}
	f.provider.Fault(devprovider.FaultHang, 2)
	answering.Store(true)
	close(release)
	testenv.Receive(t, "the renewal's read of the record under the lock Redis answered", readUnderTheLock)
	if resp, body := f.get(t, "/short/v2/company"); resp.StatusCode != http.StatusOK {
		t.Errorf("a request once Redis answered the renewal's lock, its provider slow: %d %s; want it served", resp.StatusCode, body)
	}
}

// TestStallEndedWithoutAnAnswerIsForgotten: a stall whose call Redis never
// answered (paused until its read_timeout, 3 s, gave the call up) is the
// environment's no longer once the renewal it held up has ended: the next
// renewal tells whether Redis answers. The proxy kept the stall as told:
// Redis paused still, the request after the renewal given up was answered
// 503 at its timeout (300 ms), telling the old stall, every time; it is
// told its own stall, as its renewal's call is told stalled. And once
// Redis answers again, a request whose token takes longer than the
// timeout (its provider leaves a try unanswered) is served; a stall again
// is told by the renewal that meets it, with its own length. Each wait is
// for an event; a stall is told as the request's own by how long the
// request waited and how long the stall is said to have lasted, which no
// machine's load can make shorter (the message's "for 2s" was, from a
// machine that told it half a second late, "for 3s").
func TestStallEndedWithoutAnAnswerIsForgotten(t *testing.T) {
	srv := redistest.Start(t)
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, quiet: true, storeURL: srv.URL + "?read_timeout=3s&max_retries=-1",
		moreConfig: func(f *fixture) string {
			return genericEnv(f, "short", strings.TrimSuffix(f.api, "/")) + "timeout = \"300ms\"\n"
		}})
	f.loggedInAndServed(t, "short")
	f.clock.Advance(2 * accessTTL)
	srv.Pause(t)
	code, body := f.getAtAStall(t, "/short/v2/company")
	if p := decode[problemBody](t, body); code != http.StatusServiceUnavailable || p.Error != "store_unreachable" {
		t.Fatalf("a request whose store stalls: %d %s", code, body)
	}
	testenv.WaitFor(t, "the renewal given up with its call to Redis", func() bool { return tokenCalls() == 0 })
	// Redis paused still, the next request is told the stall its own
	// renewal meets, not the one given up (3 s and more ago, at its 300 ms).
	f.clock.Advance(time.Minute) // past the engine's rest after a store that failed
	f.toldItsOwnStall(t, "a request once the stalled renewal was given up, Redis paused still")
	testenv.WaitFor(t, "the second renewal given up with its call to Redis", func() bool { return tokenCalls() == 0 })
	srv.Resume(t)
	f.clock.Advance(time.Minute) // past the engine's rest after a store that failed
	f.provider.Fault(devprovider.FaultHang, 1)
	if resp, body := f.get(t, "/short/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a request once Redis answers again, its provider slow: %d %s", resp.StatusCode, body)
	}
	f.clock.Advance(2 * accessTTL)
	srv.Pause(t)
	f.toldItsOwnStall(t, "a request whose store stalls again")
}

// toldItsOwnStall gets path from f's environment "short", whose Redis is
// paused, and fails t unless the answer is 503 store_unreachable telling
// a stall of the request's own renewal: told no sooner than
// store.StallNotice after the request was sent, and said to have lasted no
// longer than the request waited. what names the request.
func (f *fixture) toldItsOwnStall(t *testing.T, what string) {
	t.Helper()
	sent := time.Now()
	code, body := f.getAtAStall(t, "/short/v2/company")
	waited := time.Since(sent)
	p := decode[problemBody](t, body)
	_, said, _ := strings.Cut(p.Message, " has not answered for ")
	var lasted int
	if _, err := fmt.Sscanf(said, "%ds", &lasted); code != http.StatusServiceUnavailable || p.Error != "store_unreachable" || err != nil ||
		waited < store.StallNotice || time.Duration(lasted)*time.Second > waited.Round(time.Second) {
		t.Errorf("%s: %d %s after %s; want 503 store_unreachable telling a stall of its own, no sooner than %s and no longer than it waited", what, code, body, waited, store.StallNotice)
	}
}

// TestNoTokenEndpointNamesTheSettingWritten: for a FreeAgent environment
// whose file has api_url alone, a log-in from the page whose code finds no
// token endpoint (404), and a renewal likewise, say to check api_url, from
// which the preset makes the endpoint: the renewal said to check
// token_url, which the file does not have (the log-in's words were
// untested here).
func TestNoTokenEndpointNamesTheSettingWritten(t *testing.T) {
	f := newFixture(t)
	const want = "check api_url, from which the freeagent preset makes the token endpoint (token_url sets another)"
	f.provider.Fault(devprovider.FaultNotFound, 1)
	if ended := browse(t, f.vouched(t, "dev", proxy.LoginURL(f.base, "dev", "", "", "", 0))); ended.Query().Get("done") != "login-failed" {
		t.Fatalf("the log-in ended at %s; want it failed", ended)
	}
	if _, page := f.get(t, "/"); !strings.Contains(string(page), want) {
		t.Errorf("after the log-in, the status page does not say to %s:\n%s", want, page)
	}
	f.login(t, "dev")
	f.provider.Fault(devprovider.FaultNotFound, 1)
	f.clock.Advance(accessTTL) // the next request renews
	resp, body := f.get(t, "/dev/v2/company")
	if pr := decode[problemBody](t, body); resp.StatusCode != http.StatusBadGateway || !strings.HasSuffix(pr.Message, "; "+want) {
		t.Errorf("a renewal finding no token endpoint got %d %s; want 502 saying to %s", resp.StatusCode, body, want)
	}
}
