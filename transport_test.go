package freshtoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

type echo struct {
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func TestClientRenewsOnceOn401AndRetries(t *testing.T) {
	r, src := loggedIn(t)
	first := r.record().AccessToken
	r.provider.RevokeAccessTokens()

	body := `{"contact":{"organisation_name":"Replayed Ltd"}}`
	resp, err := src.Client().Post(src.APIURL()+"v2/dev/echo", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %s, want 200 after renewal", resp.Status)
	}
	var got echo
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Body != body {
		t.Fatalf("retried body %q, want %q", got.Body, body)
	}
	now := r.record().AccessToken
	if now == first || got.Headers["Authorization"] != "Bearer "+now {
		t.Fatalf("retry carried %q; want the renewed token", got.Headers["Authorization"])
	}
	if st := r.provider.Stats(); st.Refreshes != 1 || st.Unauthorized != 1 {
		t.Fatalf("stats %+v: want one 401 and one refresh", st)
	}
}

// TestClientDoesNotWaitForA401sBody: a 401 whose body never ends (a
// gateway that sent the headers and stalled) is not read before the
// renewal's retry, which went out only once the caller's deadline ended it:
// with none, never.
func TestClientDoesNotWaitForA401sBody(t *testing.T) {
	testenv.RetriesPastAStalledBody(t, http.StatusUnauthorized, nil, func(apiURL string) func(*http.Request) (*http.Response, error) {
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
		r.settings.APIURL = apiURL + "/"
		src := r.loggedInSource()
		return src.Client().Do
	})
}

// TestTransportIdleTimeout: with IdleTimeout set, an answer whose body
// stops coming fails the read that waits that long, with a time-out error
// (a net.Error), after the part that came, and its connection is closed;
// without it, the read waits as long as the caller's context lets it.
func TestTransportIdleTimeout(t *testing.T) {
	closed, sent := make(chan struct{}, 2), make(chan struct{}, 2)
	api, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("part of it"))
		w.(http.Flusher).Flush()
		sent <- struct{}{}
		<-r.Context().Done() // nothing more, until the connection closes
		closed <- struct{}{}
	})
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.APIURL = api.URL + "/"
	src := r.loggedInSource()
	read := func(tr *freshtoken.Transport, ctx context.Context) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.URL+"/v2/stalls", nil)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // only keeps a failing test from hanging
	defer cancel()
	// A second: the part that came must be read within it on a loaded
	// machine, where 100 ms is a pause one can make between the wait's
	// start and the read.
	const idle = time.Second
	body, err := read(&freshtoken.Transport{Source: src, IdleTimeout: idle}, ctx)
	var ne net.Error
	if body != "part of it" || !errors.As(err, &ne) || !ne.Timeout() || ctx.Err() != nil {
		t.Fatalf("read %q, %v; want the part that came, then a time-out before the context's", body, err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection stayed open")
	}
	<-sent
	// Ended once the part has been sent, and the wait for more has been
	// longer than the other's IdleTimeout: a time from the start could end
	// the request before its answer on a loaded machine.
	short, cancel := context.WithCancel(t.Context())
	go func() {
		<-sent
		<-time.After(3 * idle / 2) // the wait for more, not a wait for anything
		cancel()
	}()
	if body, err := read(&freshtoken.Transport{Source: src}, short); body != "part of it" || !errors.Is(err, context.Canceled) {
		t.Fatalf("without IdleTimeout: read %q, %v; want the part that came, then the context's end", body, err)
	}
}

func TestClientDoesNotRetryA401Twice(t *testing.T) {
	api, calls := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.APIURL = api.URL + "/"
	src := r.loggedInSource()
	for range 20 {
		if status := getStatus(t, src, api.URL+"/v2/company"); status != http.StatusUnauthorized {
			t.Fatalf("status %d, want the 401 passed on", status)
		}
	}
	// The first call renews and retries once; the token is then moments old,
	// so later 401s are passed on without a refresh storm.
	if calls.Load() != 21 || r.provider.Stats().Refreshes != 1 {
		t.Fatalf("API calls %d, refreshes %d; want 21 and 1", calls.Load(), r.provider.Stats().Refreshes)
	}
	r.clock.Advance(time.Minute)
	getStatus(t, src, api.URL+"/v2/company")
	if r.provider.Stats().Refreshes != 2 {
		t.Fatal("a 401 long after the last renewal did not renew")
	}
	// A clock set back an hour (put right after running ahead, or another
	// machine sharing the store, its clock ahead, renewed) finds the last
	// renewal an hour in the future: that is not moments ago, and a 401
	// renews, where every 401 was passed on until the clock caught up.
	r.clock.Advance(-time.Hour)
	getStatus(t, src, api.URL+"/v2/company")
	if r.provider.Stats().Refreshes != 3 {
		t.Fatal("a 401 after the clock was set back did not renew")
	}
}

// TestClientBacksOffAnAPIThatRefusesEveryToken: an API that answers 401 to
// every token gets a renewal for the first 401, as promised (renewed once,
// retried once), but each further renewal for a 401 that comes in a row
// waits twice as long as the one before: 15 s, 30 s, 1 min… up to an hour.
// It got one every 15 s for ever, 240 refreshes an hour spent on an API
// that refuses for another reason. Each decision is on the debug log.
func TestClientBacksOffAnAPIThatRefusesEveryToken(t *testing.T) {
	api, calls := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.APIURL = api.URL + "/"
	var logs strings.Builder
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src)
	start := r.clock.Now()
	var renewedAt []time.Duration
	requests := 0
	for r.clock.Now().Sub(start) < 2*time.Hour {
		before := r.provider.Stats().Refreshes
		if status := getStatus(t, src, api.URL+"/v2/company"); status != http.StatusUnauthorized {
			t.Fatalf("status %d, want the 401 passed on", status)
		}
		requests++
		if r.provider.Stats().Refreshes != before {
			renewedAt = append(renewedAt, r.clock.Now().Sub(start))
		}
		r.clock.Advance(5 * time.Second)
	}
	var want []time.Duration
	for at, quiet := time.Duration(0), 15*time.Second; at < 2*time.Hour; at, quiet = at+quiet, min(2*quiet, time.Hour) {
		want = append(want, at)
	}
	if !slices.Equal(renewedAt, want) {
		t.Fatalf("renewed at %v; want %v, each wait twice the one before, up to an hour", renewedAt, want)
	}
	if n := int(calls.Load()); n != requests+len(renewedAt) {
		t.Fatalf("%d API calls for %d requests and %d renewals; want each renewal's request retried once", n, requests, len(renewedAt))
	}
	// A renewal for another cause (here, expiry) ends the row: the next
	// 401 renews at once again.
	r.clock.Advance(time.Hour)
	before := r.provider.Stats().Refreshes
	getStatus(t, src, api.URL+"/v2/company")
	if rec := r.record(); r.provider.Stats().Refreshes != before+2 || rec.RenewedFor != store.RenewedForRejection || rec.RejectedInARow != 1 {
		t.Fatalf("%d refreshes, record renewed for %q, %d in a row; want the expiry's and the 401's, one in a row", r.provider.Stats().Refreshes-before, rec.RenewedFor, rec.RejectedInARow)
	}
	for _, line := range []string{"passing this 401 on instead of renewing again yet", "renewing once more, as the wait for it has passed"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("the debug log does not say %q", line)
		}
	}
}

// TestCallersJoiningA401ThatIsPassedOnRenew: callers who wait for the
// renewal a 401 began, which ends by passing that 401 on (the API refused
// the token that the last 401's renewal brought, moments ago), are not
// answered with that decision: a forced renewal renews, and a request whose
// token is due for renewal renews it and is sent. Each failed with "the
// rejected token was renewed too recently", an error of no kind that a
// program could tell.
func TestCallersJoiningA401ThatIsPassedOnRenew(t *testing.T) {
	api, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/refused" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	refused := api.URL + "/refused"
	for _, c := range []struct {
		name string
		join func(*rig, *freshtoken.Source) error
	}{
		{"forced renewal", func(_ *rig, src *freshtoken.Source) error {
			_, err := src.Renew(t.Context())
			return err
		}},
		{"request with its token due", func(r *rig, src *freshtoken.Source) error {
			r.clock.Advance(2 * time.Second) // due at half its 20 s lifetime
			resp, err := src.Client().Get(api.URL + "/fine")
			if err == nil {
				resp.Body.Close()
			}
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: 20 * time.Second})
			r.settings.APIURL = api.URL + "/"
			src, logs := r.loggedInLogging()
			getStatus(t, src, refused) // renewed for the 401, and refused again
			r.clock.Advance(9 * time.Second)
			before := r.provider.Stats().Refreshes
			passedOn, joined := whileRenewalWaits(t, r, logs,
				func() error {
					if status := getStatus(t, src, refused); status != http.StatusUnauthorized {
						return fmt.Errorf("status %d, want the 401 passed on", status)
					}
					return nil
				},
				func() error { return c.join(r, src) })
			if passedOn != nil {
				t.Fatal(passedOn)
			}
			if joined != nil || r.provider.Stats().Refreshes != before+1 {
				t.Fatalf("the caller that joined: %v, %d refreshes; want a renewal of its own", joined, r.provider.Stats().Refreshes-before)
			}
		})
	}
}

// whileRenewalWaits runs lead while another process holds r's renewal lock,
// and once lead's renewal waits for it, join, which waits for lead's
// renewal; then the lock is released. It returns what each returned.
func whileRenewalWaits(t *testing.T, r *rig, logs *testenv.Output, lead, join func() error) (error, error) {
	t.Helper()
	held, err := r.store.Lock(t.Context(), r.settings.Env)
	if err != nil {
		t.Fatal(err)
	}
	saidAgain := func(line string) func() bool {
		n := strings.Count(logs.String(), line)
		return func() bool { return strings.Count(logs.String(), line) > n }
	}
	led, joined := make(chan error, 1), make(chan error, 1)
	locking := saidAgain("waiting for the renewal lock")
	go func() { led <- lead() }()
	testenv.WaitFor(t, "the renewal to wait for the lock", locking)
	waiting := saidAgain("waiting for the renewal in flight")
	go func() { joined <- join() }()
	testenv.WaitFor(t, "the other caller to wait for that renewal", waiting)
	held()
	return <-led, <-joined
}

// TestA401sRenewalCutOffBringsNoTokenForTheBackOff: a 401's renewal whose
// answer is cut off after its new refresh token stores that token with the
// refused access token kept (still valid by the clock). That record told
// the 401 back-off that the refused token came from a 401's renewal moments
// ago: when the retry a second later was abandoned (a proxy's client hung
// up, Ctrl-C), the next 401 for it, here another process's, was passed on
// without a renewal, breaking "on a 401, renew once and retry once", for
// longer with each cut-off answer in a row. And when the retry did renew,
// the row of 401 renewals counted one more, so the next wait was twice as
// long.
func TestA401sRenewalCutOffBringsNoTokenForTheBackOff(t *testing.T) {
	for _, tt := range []struct {
		name     string
		renewed  string // why the refused token was renewed, a minute ago
		wantRows int
	}{
		{"token renewed for expiry", store.RenewedForExpiry, 1},
		{"token renewed for a 401", store.RenewedForRejection, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
				if req.Header.Get("Authorization") == "Bearer old-access-token" {
					w.WriteHeader(http.StatusUnauthorized)
				}
			})
			r := newRig(t, devprovider.Options{})
			e := newRotatingEndpoint(t, `{"refresh_token":%q,"access_token":"a1","token_type":"bearer","expires_in":36`, "first-refresh-token")
			r.settings.TokenURL, r.settings.APIURL = e.URL, api.URL+"/"
			old := &store.Record{AccessToken: "old-access-token", TokenType: "bearer", RefreshToken: "first-refresh-token",
				IssuedAt: r.clock.Now().Add(-time.Minute), Expiry: r.clock.Now().Add(time.Hour), RenewedAt: r.clock.Now().Add(-time.Minute),
				Renewals: 1, RenewedFor: tt.renewed, Grant: store.Grant{TokenURL: e.URL, ClientID: r.settings.ClientID, Type: freshtoken.GrantAuthorizationCode}}
			if tt.renewed == store.RenewedForRejection {
				old.RejectedInARow = 1
			}
			if err := r.store.Save(context.Background(), "sandbox", old); err != nil {
				t.Fatal(err)
			}
			abandoned := r.source()
			freshtoken.SetPause(abandoned, func(context.Context, time.Duration) error { return context.Canceled })
			if resp, err := abandoned.Client().Get(api.URL + "/v2/company"); err == nil {
				resp.Body.Close()
				t.Fatalf("status %d; want the abandoned renewal's error", resp.StatusCode)
			}
			r.clock.Advance(2 * time.Second)
			if status := getStatus(t, r.source(), api.URL+"/v2/company"); status != http.StatusOK {
				t.Fatalf("status %d; want the 401 of a token no 401's renewal brought moments ago answered with a renewal and a retry", status)
			}
			if sent, revoked := e.sent(); len(sent) != 2 || revoked {
				t.Fatalf("refresh tokens sent %q, grant revoked %t; want the first, then the saved one", sent, revoked)
			}
			if rec := r.record(); rec.AccessToken != "access-token-2" || rec.RenewedFor != store.RenewedForRejection || rec.RejectedInARow != tt.wantRows {
				t.Fatalf("stored %q renewed for %q, %d in a row; want access-token-2 from the 401's renewal, %d in a row", rec.AccessToken, rec.RenewedFor, rec.RejectedInARow, tt.wantRows)
			}
		})
	}
}

// TestCutOffAnswerAfterA401sRenewalRefusesNoCaller: when the renewal
// after a 401's renewal is answered with a new refresh token and no access
// token, and the retry that would spend it is abandoned, the record holds
// no access token; the next caller renews with the refresh token stored.
// It was refused with "the rejected token was renewed too recently", an
// error of no kind, for as long as the 401 back-off lasted: the empty
// access token read as the token a 401 had refused.
func TestCutOffAnswerAfterA401sRenewalRefusesNoCaller(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	e := newRotatingEndpoint(t, `{"refresh_token":%q,"access_token":"a1","token_type":"bearer","expires_in":36`, "first-refresh-token")
	r.settings.TokenURL = e.URL
	expired := &store.Record{AccessToken: "old-access-token", TokenType: "bearer", RefreshToken: "first-refresh-token",
		IssuedAt: r.clock.Now().Add(-2 * time.Hour), Expiry: r.clock.Now().Add(-time.Hour), RenewedAt: r.clock.Now().Add(-2 * time.Hour),
		Renewals: 1, RenewedFor: store.RenewedForRejection, RejectedInARow: 1, Grant: store.Grant{TokenURL: e.URL, ClientID: r.settings.ClientID, Type: freshtoken.GrantAuthorizationCode}}
	if err := r.store.Save(t.Context(), "sandbox", expired); err != nil {
		t.Fatal(err)
	}
	abandoned := r.source()
	freshtoken.SetPause(abandoned, func(context.Context, time.Duration) error { return context.Canceled })
	// Its error says the new refresh token is stored: it said the stored
	// tokens were unchanged.
	if _, err := abandoned.Token(); err == nil || strings.Contains(err.Error(), "unchanged") || !strings.Contains(err.Error(), "new refresh token the provider sent is stored") {
		t.Fatalf("the abandoned renewal: %v; want an error saying the new refresh token is stored", err)
	}
	if rec := r.record(); rec.AccessToken != "" {
		t.Fatalf("stored access token %q; want none, the answer's being cut off", rec.AccessToken)
	}
	r.clock.Advance(2 * time.Second)
	tok, err := r.source().Token()
	if err != nil || tok.AccessToken != "access-token-2" {
		t.Fatalf("the next caller: %v, %v; want access-token-2, renewed with the stored refresh token", tok, err)
	}
	if sent, revoked := e.sent(); len(sent) != 2 || revoked {
		t.Fatalf("refresh tokens sent %q, grant revoked %t; want the first, then the saved one", sent, revoked)
	}
}

func TestClientDoesNotReplayAnUnreplayableBody(t *testing.T) {
	r, src := loggedIn(t)
	r.provider.RevokeAccessTokens()
	req, _ := http.NewRequest(http.MethodPost, src.APIURL()+"v2/dev/echo", io.NopCloser(strings.NewReader("once")))
	resp, err := src.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	st := r.provider.Stats()
	if resp.StatusCode != http.StatusUnauthorized || st.APIRequests != 1 || st.Refreshes != 1 {
		t.Fatalf("status %d, stats %+v: a spent body must not be retried, but the token is renewed for the next request", resp.StatusCode, st)
	}
}

// otherHost is a host that is not the API's, and the Authorization header
// it last received ("" for none).
func otherHost(t *testing.T) (srv *httptest.Server, hits *atomic.Int32, leaked func() string) {
	t.Helper()
	var got atomic.Value
	got.Store("")
	srv, hits = countingServer(t, func(_ http.ResponseWriter, req *http.Request) {
		got.Store(req.Header.Get("Authorization"))
	})
	return srv, hits, func() string { return got.Load().(string) }
}

func TestTokenNeverLeavesTheAPIHost(t *testing.T) {
	other, hits, leaked := otherHost(t)
	_, src := loggedIn(t)

	resp, err := src.Client().Get(src.APIURL() + "v2/dev/redirect?to=" + other.URL + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := leaked(); v != "" {
		t.Fatalf("the redirect target received Authorization %q", v)
	}
	resp, err = src.Client().Get(other.URL + "/direct")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := leaked(); v != "" {
		t.Fatalf("another host received Authorization %q", v)
	}
	if hits.Load() != 2 {
		t.Fatalf("the other host saw %d requests, want 2 (the redirect and the direct call)", hits.Load())
	}
}

// TestTokenNeverGoesToAnotherVirtualHost: a request for the API's address
// whose Host header names another host goes, on a server or CDN that
// serves many hosts at one address, to that other host; it is sent
// without the token, with or without an API URL. A reverse proxy built on
// httputil.NewSingleHostReverseProxy keeps its client's Host header, so a
// client naming another tenant of the API's server received the token.
func TestTokenNeverGoesToAnotherVirtualHost(t *testing.T) {
	shared, _, leaked := otherHost(t) // many virtual hosts at one address
	api, err := url.Parse(shared.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, apiURL := range []string{shared.URL + "/", ""} {
		r, _ := loggedIn(t)
		r.settings.APIURL = apiURL
		src := r.source()
		front := httptest.NewServer(&httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(api); pr.Out.Host = pr.In.Host },
			Transport: src.Client().Transport,
		})
		t.Cleanup(front.Close)
		for host, token := range map[string]bool{"another-tenant.example": false, api.Host: true} {
			req, err := http.NewRequest(http.MethodGet, front.URL+"/v2/company", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := leaked() != ""; got != token {
				t.Errorf("API URL %q, Host %s: the token sent: %v, want %v", apiURL, host, got, token)
			}
		}
	}
}

// TestTokenNeverFollowsARedirectWithoutAPIURL: a Source without an API URL
// sends the token to whichever host the program asks, as x/oauth2's
// Transport does, but not to another host a redirect leads to: the
// redirect target received it.
func TestTokenNeverFollowsARedirectWithoutAPIURL(t *testing.T) {
	other, hits, leaked := otherHost(t)
	r, _ := loggedIn(t)
	r.settings.APIURL = ""
	src := r.source()
	if status := getStatus(t, src, r.url+"/v2/company"); status != http.StatusOK {
		t.Fatalf("the host asked: %d; want the token sent", status)
	}
	resp, err := src.Client().Get(r.url + "/v2/dev/redirect?to=" + other.URL + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := leaked(); hits.Load() != 1 || v != "" {
		t.Fatalf("the redirect target, asked %d times, received Authorization %q; want once, without", hits.Load(), v)
	}
}

// TestTokenReachesTheAPIHostHoweverItIsSpelled: the API's host written in
// another case, or its port left to the scheme's default, is the same host
// (as a next-page link or a redirect may write it): the request gets the
// token, rather than a 401 with none sent.
func TestTokenReachesTheAPIHostHoweverItIsSpelled(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	api := r.url + "/"
	r.settings.APIURL = strings.Replace(api, "127.0.0.1", "LocalHost", 1)
	src := r.loggedInSource()
	for _, u := range []string{strings.Replace(api, "127.0.0.1", "localhost", 1), r.settings.APIURL} {
		if status := getStatus(t, src, u+"v2/company"); status != http.StatusOK {
			t.Fatalf("%s: %d; want the token sent to the API's host however it is spelled", u, status)
		}
	}
	r.settings.APIURL = "https://api.example.com/"
	src = r.source()
	var sent string
	c := &http.Client{Transport: &freshtoken.Transport{Source: src, Base: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		sent = req.Header.Get("Authorization")
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
	})}}
	if _, err := c.Get("https://API.example.com:443/v2/company"); err != nil || sent == "" {
		t.Fatalf("https://API.example.com:443/: Authorization %q, %v; want the token sent", sent, err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestClientReportsAnEndedGrant: a 401 whose renewal meets invalid_grant
// must say that a log-in is needed, not pass the 401 on.
func TestClientReportsAnEndedGrant(t *testing.T) {
	r, src := loggedIn(t)
	r.provider.RevokeAccessTokens()
	r.provider.Fault(devprovider.FaultInvalidGrant, 1)
	_, err := src.Client().Get(src.APIURL() + "v2/company")
	if !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("err = %v, want ErrLoginRequired", err)
	}
}

// TestClientPassesOnTheAPIsOwnFailures: an API that cannot be reached is
// net/http's error, as without freshtoken, not ErrUnreachable, which tells
// of the token endpoint or the store (the documentation said the API too).
func TestClientPassesOnTheAPIsOwnFailures(t *testing.T) {
	down := fmt.Sprintf("http://127.0.0.1:%d/", testenv.FreePort(t)) // a port nothing takes meanwhile
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.APIURL = down
	src := r.loggedInSource()
	_, err := src.Client().Get(down + "v2/company")
	var op *net.OpError
	if !errors.As(err, &op) || errors.Is(err, freshtoken.ErrUnreachable) {
		t.Fatalf("err = %v; want net/http's error, not ErrUnreachable", err)
	}
}

// TestTransportWithoutSourceFails: a Transport built without a Source
// fails its requests with an error saying so, as x/oauth2's does, rather
// than panicking in the caller's goroutine.
func TestTransportWithoutSourceFails(t *testing.T) {
	c := &http.Client{Transport: &freshtoken.Transport{}}
	_, err := c.Get("http://127.0.0.1:1/v2/company")
	if err == nil || !strings.Contains(err.Error(), "Transport's Source is nil") {
		t.Fatalf("err = %v; want one saying the Source is nil", err)
	}
}

// TestTransportTakesARequestMadeByHand: a request built as a struct, with
// no Header (as SDKs that call a RoundTripper directly build them, and as
// net/http's own Transport takes them), is sent with the token and the
// caller's request left as it was; one with no URL is an error. Both
// panicked in the caller's goroutine.
func TestTransportTakesARequestMadeByHand(t *testing.T) {
	r, src := loggedIn(t)
	u, err := url.Parse(src.APIURL() + "v2/dev/echo")
	if err != nil {
		t.Fatal(err)
	}
	req := &http.Request{Method: http.MethodGet, URL: u}
	resp, err := (&freshtoken.Transport{Source: src}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got echo
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if want := "Bearer " + r.record().AccessToken; got.Headers["Authorization"] != want || req.Header != nil {
		t.Fatalf("the API got Authorization %q, want %q; the caller's Header is now %v, want nil", got.Headers["Authorization"], want, req.Header)
	}
	if _, err := (&freshtoken.Transport{Source: src}).RoundTrip(&http.Request{Method: http.MethodGet}); err == nil {
		t.Fatal("a request with no URL was sent")
	}
}

// TestTransportTakesAnAnswerWithoutABody: a Base that answers without a
// Body, as stubs in a program's tests do and http.Client takes (a 401
// included, with or without IdleTimeout), is an empty body; one that
// answers nothing and no error is an error. Each panicked.
func TestTransportTakesAnAnswerWithoutABody(t *testing.T) {
	_, src := loggedIn(t)
	for _, status := range []int{http.StatusOK, http.StatusUnauthorized} {
		for _, idle := range []time.Duration{0, time.Minute} {
			stub := roundTripFunc(func(req *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: status, Header: http.Header{}, Request: req}, nil
			})
			for _, u := range []string{src.APIURL() + "v2/company", "http://127.0.0.1:1/elsewhere"} {
				resp, err := (&freshtoken.Transport{Source: src, Base: stub, IdleTimeout: idle}).RoundTrip(httptest.NewRequest(http.MethodGet, u, nil))
				if err != nil {
					t.Fatalf("%d from %s: %v", status, u, err)
				}
				if body, err := io.ReadAll(resp.Body); err != nil || len(body) != 0 || resp.StatusCode != status {
					t.Fatalf("%d from %s: status %d, body %q, %v; want it with an empty body", status, u, resp.StatusCode, body, err)
				}
			}
		}
	}
	nothing := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil })
	if _, err := (&freshtoken.Transport{Source: src, Base: nothing}).RoundTrip(httptest.NewRequest(http.MethodGet, src.APIURL(), nil)); err == nil {
		t.Fatal("no answer and no error from Base: no error")
	}
}

// closeCounter is a RoundTripper that counts its CloseIdleConnections.
type closeCounter struct {
	http.RoundTripper
	closed atomic.Int32
}

func (c *closeCounter) CloseIdleConnections() { c.closed.Add(1) }

// TestClientClosesIdleConnections: http.Client.CloseIdleConnections on a
// client whose transport is a Transport closes the idle connections of the
// transport under it (Base, else the Source's HTTP client's), as it would
// without freshtoken; it did nothing, so a program dropping its pooled
// connections (after a network change, or before exiting) kept them.
func TestClientClosesIdleConnections(t *testing.T) {
	r, src := loggedIn(t)
	base := &closeCounter{RoundTripper: http.DefaultTransport}
	(&http.Client{Transport: &freshtoken.Transport{Source: src, Base: base}}).CloseIdleConnections()
	if n := base.closed.Load(); n != 1 {
		t.Fatalf("Base's CloseIdleConnections called %d times, want 1", n)
	}
	sources := &closeCounter{RoundTripper: http.DefaultTransport}
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: &http.Client{Transport: sources}})
	if err != nil {
		t.Fatal(err)
	}
	src.Client().CloseIdleConnections()
	if n := sources.closed.Load(); n != 1 {
		t.Fatalf("the Source's transport's CloseIdleConnections called %d times, want 1", n)
	}
	(&http.Client{Transport: &freshtoken.Transport{}}).CloseIdleConnections() // no Source: nothing to close, no panic
}

// TestTransportWithoutBaseUsesTheSourcesTransport: a program that wraps the
// Source in a Transport of its own, as it would x/oauth2's, reaches an API
// that only the Source's HTTP client trusts (config.Open's, with the
// environment's ca_file), as src.Client() does: a nil Base meant
// http.DefaultTransport, which failed every request with an unknown
// certificate authority while the token requests went through.
func TestTransportWithoutBaseUsesTheSourcesTransport(t *testing.T) {
	r, _ := loggedIn(t)
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(api.Close)
	r.settings.APIURL = api.URL + "/"
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: api.Client()})
	if err != nil {
		t.Fatal(err)
	}
	// Through a Transport without Base: the Source's transport, which
	// trusts the API, is used.
	c := &http.Client{Transport: &freshtoken.Transport{Source: src}}
	if status := getStatusWith(t, c, api.URL+"/v2/company"); status != http.StatusOK {
		t.Fatalf("status %d; want 200 with the token sent", status)
	}
}

// TestTransportOnTheClientItWasGiven: a program that gives New its
// *http.Client (Options.HTTPClient) and then makes that client its API
// client, setting its Transport to a Transport of the Source, gets API
// requests carried by the transport the client had when New was called,
// as token requests are. The Transport looked up the client's transport at
// each request, found itself, and recursed until the process died of a
// stack overflow, which no recover catches.
func TestTransportOnTheClientItWasGiven(t *testing.T) {
	r, _ := loggedIn(t)
	hc := &http.Client{}
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	hc.Transport = &freshtoken.Transport{Source: src}
	if status := getStatusWith(t, hc, r.url+"/v2/company"); status != http.StatusOK {
		t.Fatalf("status %d; want 200 with the token sent", status)
	}
	if status := getStatus(t, src, r.url+"/v2/company"); status != http.StatusOK {
		t.Fatalf("through src.Client(): status %d; want 200", status)
	}
}

// TestClientRefusesATokenNoHeaderCanCarry: an access token holding a control
// character (a line break that would forge a header) is never put in a
// request; the error says what the provider did, not that the API is
// unreachable, and the grant is kept so a renewal can bring a usable one.
func TestClientRefusesATokenNoHeaderCanCarry(t *testing.T) {
	r, src := loggedIn(t)
	r.provider.Fault(devprovider.FaultUnprintableToken, 1)
	if _, err := src.Renew(t.Context()); err == nil {
		t.Fatal("Renew returned a token no HTTP header can carry")
	}
	before := r.provider.Stats().APIRequests
	_, err := src.Client().Get(src.APIURL() + "v2/company")
	var fe *freshtoken.Error
	if !errors.As(err, &fe) || !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(fe.Msg, "control or non-ASCII characters") {
		t.Fatalf("err = %v, want an *Error (ErrUnreachable) saying the token holds control characters", err)
	}
	if n := r.provider.Stats().APIRequests - before; n != 0 {
		t.Fatalf("the API got %d requests", n)
	}
	if _, err := src.Renew(t.Context()); err != nil {
		t.Fatalf("the next renewal: %v", err)
	}
	if status := getStatus(t, src, src.APIURL()+"v2/company"); status != http.StatusOK {
		t.Fatalf("status %d after a usable token was had", status)
	}
}

// TestTokenSentAsABearerTokenOrNotAtAll: the Authorization header's scheme
// is Bearer for a bearer token whatever the provider calls it (bearer in any
// case, Slack's "bot" and "user"): the provider's token_type went into the
// header as it came, "bot xoxb-…", which the API refused. A token bound to
// a key (DPoP, MAC), which must go with a proof of possession freshtoken
// does not make, is neither sent nor shown, and the error names its type
// and what to do, not the token.
func TestTokenSentAsABearerTokenOrNotAtAll(t *testing.T) {
	const access = "access-token-0123456789"
	for _, tc := range []struct{ tokenType, want string }{
		{"bearer", "Bearer " + access},
		{"BEARER", "Bearer " + access},
		{"", "Bearer " + access},
		{"bot", "Bearer " + access},
		{"user", "Bearer " + access},
		{"DPoP", ""},
		{"dpop", ""},
		{"mac", ""},
		{"PoP", ""},
		// The type is never sent: one with white space, a control or a
		// non-ASCII character around or in it is no reason to refuse a
		// usable bearer token, and one bound to a key is known as such
		// with white space around it.
		{"Bearer ", "Bearer " + access},
		{"N_A", "Bearer " + access},
		{"Bearer\t", "Bearer " + access},
		{"Bearer\r\n", "Bearer " + access},
		{"bearer\u00a0", "Bearer " + access},
		{" DPoP ", ""},
		{"dpop\n", ""},
	} {
		t.Run(strconv.Quote(tc.tokenType), func(t *testing.T) {
			var sent atomic.Pointer[string]
			mux := http.NewServeMux()
			mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": tc.tokenType, "expires_in": 3600})
			})
			mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
				h := r.Header.Get("Authorization")
				sent.Store(&h)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			src, err := freshtoken.New(freshtoken.Settings{
				Env: "machine", ClientID: "id", ClientSecret: "client-secret-0123456789", TokenURL: srv.URL + "/token",
				APIURL: srv.URL + "/api/", Grant: freshtoken.GrantClientCredentials, ClientAuth: freshtoken.ClientAuthBasic,
			}, freshtoken.Options{Store: filestore.New(t.TempDir() + "/tokens")})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := src.Client().Get(srv.URL + "/api/company")
			if tc.want != "" {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := sent.Load(); got == nil || *got != tc.want {
					t.Fatalf("Authorization = %v; want %q", deref(got), tc.want)
				}
				tok, err := src.Token()
				if err != nil || tok.Type() != "Bearer" {
					t.Fatalf("Token = %v, %v; want a token of type Bearer", tok, err)
				}
				return
			}
			var fe *freshtoken.Error
			if !errors.As(err, &fe) || !errors.Is(err, freshtoken.ErrUnusableToken) || !strings.Contains(fe.Msg, strings.TrimSpace(tc.tokenType)) ||
				strings.Contains(err.Error(), access) || strings.Contains(fe.Msg, "\n") {
				t.Fatalf("err = %v; want an *Error (ErrUnusableToken) naming the token type %q, without the token", err, tc.tokenType)
			}
			if got := sent.Load(); got != nil {
				t.Fatalf("the API was sent %q", *got)
			}
			if tok, err := src.Token(); !errors.Is(err, freshtoken.ErrUnusableToken) {
				t.Fatalf("Token = %v, %v; want ErrUnusableToken", tok, err)
			}
		})
	}
}

// deref is *s, or "(none)".
func deref(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}

// TestClientTimeoutNeverLosesARenewal: a program's http.Client whose
// Timeout passes while the token request it caused is in flight gets its
// deadline's error only once the provider's answer is stored, so a program
// that exits on that error (log.Fatal) cannot lose the rotated refresh
// token, as TokenContext documents.
func TestClientTimeoutNeverLosesARenewal(t *testing.T) {
	calls := make(chan context.Context, 1)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: func(grant string) {
		if grant == "refresh_token" {
			<-(<-calls).Done() // answered only once the client's Timeout has passed
		}
	}})
	src := r.loggedInSource()
	old := r.record().RefreshToken
	r.clock.Advance(time.Hour)
	c := src.Client()
	c.Timeout = time.Second // ample for what comes before the token request, on a loaded machine too
	through := c.Transport
	c.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		calls <- req.Context() // the client's deadline is this context's
		return through.RoundTrip(req)
	})
	if _, err := c.Get(src.APIURL() + "v2/company"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want the client's deadline", err)
	}
	if r.record().RefreshToken == old {
		t.Fatal("the client's deadline was reported before the rotated refresh token was stored: a program exiting on it loses the grant")
	}
}

// TestA401RenewsWhenTheStoresTokenIsRefusedToo: a process whose token the
// API refuses, while the store holds one that another process renewed and
// this one has not yet seen, retries with the store's token; when that is
// refused too (the provider revoked every access token), the 401 still
// gets its renewal. The request got the second 401, no token request sent,
// though the contract says a 401 renews once and retries once.
func TestA401RenewsWhenTheStoresTokenIsRefusedToo(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: 10 * time.Minute})
	src := r.loggedInSource()
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.source().Renew(t.Context()); err != nil { // another process
		t.Fatal(err)
	}
	r.provider.RevokeAccessTokens()
	before := r.provider.Stats().Refreshes
	if got := getStatus(t, src, r.url+"/v2/company"); got != http.StatusOK {
		t.Fatalf("status %d with %d refreshes; want the 401 renewed once and the request retried", got, r.provider.Stats().Refreshes-before)
	}
	if n := r.provider.Stats().Refreshes - before; n != 1 {
		t.Fatalf("%d refreshes; want 1", n)
	}
}

// TestA401ForInsufficientScopeIsPassedOn: a 401 whose Bearer challenge says
// insufficient_scope (RFC 6750 §3.1) refuses what the token may do, not the
// token, and a renewal brings a token of the same scopes: it is passed on
// as it came, nothing renewed and the request not sent again. It cost a
// refresh (a rotation of the refresh token) and a second request each time.
// Any other 401 gets its renewal and retry, whatever else its challenges say,
// and so does one whose challenges say insufficient_scope and also another
// error, in whichever order: a token one of them calls invalid may have been
// revoked, and was kept, refused on every request until it expired.
func TestA401ForInsufficientScopeIsPassedOn(t *testing.T) {
	for _, tt := range []struct {
		challenges []string
		renews     bool
	}{
		{[]string{`Bearer realm="api", error="insufficient_scope", error_description="admin only", scope="admin"`}, false},
		{[]string{`Basic realm="api", bearer error=insufficient_scope`}, false},
		{[]string{`Basic realm="api"`, `Bearer scope="admin", error="insufficient_scope"`}, false},
		{[]string{`Bearer error="invalid_token"`}, true},
		{[]string{`Bearer realm="api"`}, true},
		{nil, true},
		{[]string{`Bearer error="invalid_token", error_description="not error=\"insufficient_scope\", error=insufficient_scope"`}, true},
		{[]string{`Other error="insufficient_scope", Bearer error="invalid_token"`}, true},
		{[]string{`Bearer error="insufficient_scope"`, `Bearer error="invalid_token"`}, true},
		{[]string{`Bearer error="insufficient_scope", Bearer error="invalid_token"`}, true},
		{[]string{`Bearer error="insufficient_scope", error="invalid_token"`}, true},
	} {
		r, _ := loggedIn(t)
		api, hits := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
			if b, _ := io.ReadAll(req.Body); string(b) != "order=1" {
				t.Errorf("the API got body %q", b)
			}
			for _, c := range tt.challenges {
				w.Header().Add("WWW-Authenticate", c)
			}
			w.WriteHeader(http.StatusUnauthorized)
		})
		r.settings.APIURL = api.URL + "/"
		src := r.source()
		before := r.provider.Stats().Refreshes
		resp, err := src.Client().Post(api.URL+"/v2/orders", "application/x-www-form-urlencoded", strings.NewReader("order=1"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		refreshes := r.provider.Stats().Refreshes - before
		if resp.StatusCode != http.StatusUnauthorized || tt.renews && (refreshes != 1 || hits.Load() != 2) || !tt.renews && (refreshes != 0 || hits.Load() != 1) {
			t.Errorf("WWW-Authenticate %q: status %d, %d refreshes, %d requests; want the 401 passed on, renewed and retried: %t", tt.challenges, resp.StatusCode, refreshes, hits.Load(), tt.renews)
		}
	}
}
