package freshtoken_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/wake"
)

// newNetwork is a front to the provider at to whose connections can
// vanish (see testenv.Vanishing).
func newNetwork(t *testing.T, to string) *testenv.Vanishing {
	t.Helper()
	target, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.NewVanishing(t, httputil.NewSingleHostReverseProxy(target))
}

// tokensOverNetwork is a rig whose token endpoint is reached over a
// network whose connections can vanish, and that network.
func tokensOverNetwork(t *testing.T) (*rig, *testenv.Vanishing) {
	t.Helper()
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	front := newNetwork(t, r.url)
	r.settings.TokenURL = front.URL + "/v2/token_endpoint"
	r.settings.Timeout = time.Second // the wait on a lost connection, in the failing case
	return r, front
}

// sourceOver is a source of the rig's settings whose requests go over hc.
func sourceOver(r *rig, hc *http.Client) *freshtoken.Source {
	r.t.Helper()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: hc})
	if err != nil {
		r.t.Fatal(err)
	}
	return src
}

// loggedInOverOwnTransport is a source of the rig's settings, logged in,
// whose connections are kept by a transport of its own.
func loggedInOverOwnTransport(r *rig) *freshtoken.Source {
	r.t.Helper()
	src := sourceOver(r, &http.Client{Transport: &http.Transport{}})
	r.login(src)
	return src
}

// TestRenewalAfterASleepTakesNoConnectionFromBefore: a long-running program
// (the keeper, the proxy) renews after the laptop slept and resumed on
// another network. The connection to the token endpoint kept alive from
// before leads nowhere; Go's transport still held it idle (its idle timer
// counts no sleep), and the renewal sent on it waited out the whole
// timeout, silently, before it was tried again. Each renewal now goes over
// a connection of its own (see httpx.OneUse), so none is from before a
// sleep.
func TestRenewalAfterASleepTakesNoConnectionFromBefore(t *testing.T) {
	r, front := tokensOverNetwork(t)
	src := loggedInOverOwnTransport(r)
	ctx := context.Background()
	dials := make([]int32, 2)
	for i := range dials {
		if _, err := src.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		dials[i] = front.Dials()
	}
	if dials[1] != dials[0]+1 {
		t.Fatalf("%d connections for the second renewal; want one of its own", dials[1]-dials[0])
	}
	front.Vanish()
	wake.Pretend(time.Hour)
	if _, err := src.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if n := front.Lost(); n != 0 {
		t.Fatalf("the renewal after a sleep was sent on a connection from before it (%d times), and waited out its timeout", n)
	}
}

// TestAPIRequestAfterASleepTakesNoConnectionFromBefore: the same for a
// program's API requests through the Source's client: the first after a
// sleep was sent on a connection from before it and waited for its
// context's end (for ever, with no deadline).
func TestAPIRequestAfterASleepTakesNoConnectionFromBefore(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	front := newNetwork(t, r.url)
	r.settings.APIURL = front.URL + "/"
	src := loggedInOverOwnTransport(r)
	client := src.Client()
	for range 2 {
		if code := getStatusWith(t, client, front.URL+"/v2/company"); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	if n := front.Dials(); n != 1 {
		t.Fatalf("%d connections for two requests; want the second to reuse the first's", n)
	}
	front.Vanish()
	wake.Pretend(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/v2/company", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if n := front.Lost(); n != 0 || err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the request after a sleep: %v, sent %d times on a connection from before it", err, n)
	}
}

// TestRenewalBySourceOpenedAfterASleepTakesNoConnectionFromBefore: the
// keeper opens a Source at each look, over the transport the process
// shares. After the laptop slept, the look on waking renews the access
// token that expired in the night with a Source opened after the sleep:
// it had seen no request before it, took none for a sleep, and sent the
// renewal on the connection the look before left, which leads nowhere,
// waiting out its timeout. The sleep is the process's, not a Source's.
func TestRenewalBySourceOpenedAfterASleepTakesNoConnectionFromBefore(t *testing.T) {
	r, front := tokensOverNetwork(t)
	renewsAcrossASleep(r, front, &http.Client{Transport: &http.Transport{}}, func() {})
}

// TestRenewalOverAnotherSharedTransportAfterASleepTakesNoConnectionFromBefore:
// the keeper's look at one environment, on waking, saw the sleep and closed
// the connections of its own transport; the look at another, whose
// ca_file gives it another of the transports config.Open shares, came a
// moment later with a Source opened after the sleep was seen, took the
// sleep as dealt with, and sent its renewal on a connection from before.
// The first request to see a sleep closes the idle connections of every
// shared transport.
func TestRenewalOverAnotherSharedTransportAfterASleepTakesNoConnectionFromBefore(t *testing.T) {
	r, front := tokensOverNetwork(t)
	withCA, err := httpx.SharedTransport(corpnet.NewCA(t).File)
	if err != nil {
		t.Fatal(err)
	}
	other := loggedInOverOwnTransport(r)
	renewsAcrossASleep(r, front, &http.Client{Transport: withCA}, func() {
		if _, err := other.Renew(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// renewsAcrossASleep logs in and renews with a Source over hc, as the
// keeper's look before the sleep; then the network's connections vanish,
// the machine sleeps, woke runs (another look, which may see the sleep),
// and a Source over hc opened then renews: it fails r's test if that
// renewal went on a connection from before the sleep.
func renewsAcrossASleep(r *rig, front *testenv.Vanishing, hc *http.Client, woke func()) {
	r.t.Helper()
	ctx := context.Background()
	before := sourceOver(r, hc)
	r.login(before)
	if _, err := before.Renew(ctx); err != nil {
		r.t.Fatal(err)
	}
	front.Vanish()
	wake.Pretend(time.Hour)
	woke()
	if _, err := sourceOver(r, hc).Renew(ctx); err != nil {
		r.t.Fatal(err)
	}
	if n := front.Lost(); n != 0 {
		r.t.Fatalf("the renewal of a Source opened after a sleep was sent on a connection from before it (%d times), and waited out its timeout", n)
	}
}

// TestLogInAfterASleepTakesNoConnectionFromBefore: a log-in after the
// laptop slept (the proxy's Log in button, the morning after the grant
// ended) exchanges its code through the TokenClient. Only renewals closed
// the connections from before a sleep: the code exchange was sent on one
// that leads nowhere, and the log-in failed after the timeout.
func TestLogInAfterASleepTakesNoConnectionFromBefore(t *testing.T) {
	r, front := tokensOverNetwork(t)
	src := loggedInOverOwnTransport(r)
	front.Vanish()
	wake.Pretend(time.Hour)
	r.login(src)
	if n := front.Lost(); n != 0 {
		t.Fatalf("the code exchange after a sleep was sent on a connection from before it (%d times)", n)
	}
}

// closeHeld is a transport whose first CloseIdleConnections is held until
// release is closed; each call is told on closing first.
type closeHeld struct {
	*http.Transport
	closing chan struct{}
	release chan struct{}
	calls   atomic.Int32
}

func (c *closeHeld) CloseIdleConnections() {
	c.closing <- struct{}{}
	if c.calls.Add(1) == 1 {
		<-c.release
	}
	c.Transport.CloseIdleConnections()
}

// TestRequestsTogetherAfterASleepTakeNoConnectionFromBefore: two requests
// through one Source at once, just after a sleep. The first to see the
// sleep closed the connections from before it; the second, seeing none
// since the first's, went on while that closing was still under way, took
// a connection from before the sleep and waited for its context's end. A
// request sees a sleep until the connections from before it are closed.
func TestRequestsTogetherAfterASleepTakeNoConnectionFromBefore(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	front := newNetwork(t, r.url)
	lost := make(chan struct{}, 1)
	front.OnLost = func() {
		select {
		case lost <- struct{}{}:
		default:
		}
	}
	r.settings.APIURL = front.URL + "/"
	src := loggedInOverOwnTransport(r)
	conns := &http.Transport{}
	if code := getStatusWith(t, &http.Client{Transport: &freshtoken.Transport{Source: src, Base: conns}}, front.URL+"/v2/company"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	base := &closeHeld{Transport: conns, closing: make(chan struct{}), release: make(chan struct{})}
	client := &http.Client{Transport: &freshtoken.Transport{Source: src, Base: base}}
	front.Vanish()
	wake.Pretend(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 2)
	get := func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/v2/company", nil)
		if err == nil {
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		errs <- err
	}
	go get()
	<-base.closing // the first sees the sleep, and is closing
	go get()
	select {
	case <-base.closing: // the second closes too, rather than go on
	case <-lost:
		close(base.release)
		cancel()
		<-errs
		<-errs
		t.Fatal("a request just after a sleep went on a connection from before it while another was closing them")
	}
	close(base.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestRequestInFlightOutlivesTheClosingAfterASleep: the closing after a
// sleep takes only idle connections. A request of another goroutine in
// flight over the same transport (as a program's other code is, over
// http.DefaultTransport) gets its whole answer while a request after the
// sleep closes the connections from before it.
func TestRequestInFlightOutlivesTheClosingAfterASleep(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	started, release := make(chan struct{}), make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v2/slow" {
			return
		}
		io.WriteString(w, "first half, ")
		http.NewResponseController(w).Flush()
		close(started)
		<-release
		io.WriteString(w, "second half")
	}))
	t.Cleanup(api.Close)
	r.settings.APIURL = api.URL + "/"
	src := loggedInOverOwnTransport(r)
	base := &closeHeld{Transport: &http.Transport{}, closing: make(chan struct{}, 2), release: make(chan struct{})}
	close(base.release)
	client := &http.Client{Transport: &freshtoken.Transport{Source: src, Base: base}}
	answer := make(chan string, 1)
	go func() {
		resp, err := client.Get(api.URL + "/v2/slow")
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			b = append(b, err.Error()...)
		}
		answer <- string(b)
	}()
	<-started
	wake.Pretend(time.Hour)
	if code := getStatusWith(t, client, api.URL+"/v2/company"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if n := base.calls.Load(); n != 1 {
		t.Fatalf("%d closings after the sleep; want one", n)
	}
	close(release)
	if got := <-answer; got != "first half, second half" {
		t.Fatalf("the request in flight got %q; want its whole answer", got)
	}
}
