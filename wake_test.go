package freshtoken_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// network is a front to the dev provider whose connections can vanish, as
// those a laptop kept alive do when it sleeps and resumes elsewhere: the
// peer neither answers them nor closes them.
type network struct {
	srv   *httptest.Server
	mu    sync.Mutex
	conns []*atomic.Bool // each connection's vanished mark
	dials atomic.Int32   // connections made
	lost  atomic.Int32   // requests sent on a vanished connection
}

type connMark struct{}

func newNetwork(t *testing.T, to string) *network {
	t.Helper()
	target, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	n := &network{}
	ended := make(chan struct{})
	forward := httputil.NewSingleHostReverseProxy(target)
	n.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Context().Value(connMark{}).(*atomic.Bool).Load() {
			n.lost.Add(1)
			io.Copy(io.Discard, req.Body) // so that the client's giving up ends the context
			select {                      // silent until the client gives up
			case <-req.Context().Done():
			case <-ended:
			}
			return
		}
		forward.ServeHTTP(w, req)
	}))
	n.srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		mark := &atomic.Bool{}
		n.mu.Lock()
		n.conns = append(n.conns, mark)
		n.mu.Unlock()
		n.dials.Add(1)
		return context.WithValue(ctx, connMark{}, mark)
	}
	n.srv.Start()
	t.Cleanup(n.srv.Close)
	t.Cleanup(func() { close(ended) }) // first: no handler waits on
	return n
}

// vanish makes every connection made so far silent for good.
func (n *network) vanish() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		c.Store(true)
	}
}

// loggedInOverOwnTransport is a source of the rig's settings, logged in,
// whose connections are kept by a transport of its own.
func loggedInOverOwnTransport(r *rig) *freshtoken.Source {
	r.t.Helper()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
		HTTPClient: &http.Client{Transport: &http.Transport{}}})
	if err != nil {
		r.t.Fatal(err)
	}
	r.login(src)
	return src
}

// TestRenewalAfterASleepTakesNoConnectionFromBefore: a long-running program
// (the keeper, the proxy) renews after the laptop slept and resumed on
// another network. The connection to the token endpoint kept alive from
// before leads nowhere; Go's transport still held it idle (its idle timer
// counts no sleep), and the renewal sent on it waited out the whole
// timeout, silently, before it was tried again. Connections from before a
// sleep are now closed, not tried; without a sleep they are reused.
func TestRenewalAfterASleepTakesNoConnectionFromBefore(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	front := newNetwork(t, r.url)
	r.settings.TokenURL = front.srv.URL + "/v2/token_endpoint"
	r.settings.Timeout = time.Second // the wait on a lost connection, in the failing case
	src := loggedInOverOwnTransport(r)
	ctx := context.Background()
	dials := make([]int32, 2)
	for i := range dials {
		if _, err := src.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		dials[i] = front.dials.Load()
	}
	if dials[1] != dials[0] {
		t.Fatal("the second renewal took a new connection; want the first's, kept alive")
	}
	front.vanish()
	freshtoken.Slept(src, time.Hour)
	if _, err := src.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if n := front.lost.Load(); n != 0 {
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
	r.settings.APIURL = front.srv.URL + "/"
	src := loggedInOverOwnTransport(r)
	client := src.Client()
	for range 2 {
		if code := getStatusWith(t, client, front.srv.URL+"/v2/company"); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	if n := front.dials.Load(); n != 1 {
		t.Fatalf("%d connections for two requests; want the second to reuse the first's", n)
	}
	front.vanish()
	freshtoken.Slept(src, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.srv.URL+"/v2/company", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if n := front.lost.Load(); n != 0 || err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the request after a sleep: %v, sent %d times on a connection from before it", err, n)
	}
}
