package freshtoken_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestClientIsNotRedirectedIntoThisMachine: an API elsewhere that
// redirects a request of Source.Client to an address of this machine, by
// any spelling (127.0.0.1, 0x7f000001, localhost, [::ffff:127.0.0.1], its
// network address), is not followed there: a freshtoken proxy there (the
// service's) sent it on with another environment's token, a sandbox's
// POST made in production. The request fails with
// ErrRedirectToThisMachine, whatever the client's CheckRedirect says, and
// nothing reaches this machine. A redirect within the API is followed, and
// a CheckRedirect of the caller's that stops at the redirect still gets it.
func TestClientIsNotRedirectedIntoThisMachine(t *testing.T) {
	home := testenv.NewHome(t)
	targets := map[string]string{
		"/v2/invoices": "http://127.0.0.1:" + home.Port + "/production/v2/invoices",
		"/v2/spelt":    "http://0x7f000001:" + home.Port + "/production/v2/company",
		"/v2/named":    "http://localhost:" + home.Port + "/production/v2/company",
		"/v2/mapped":   "http://[::ffff:127.0.0.1]:" + home.Port + "/production/v2/company",
		"/v2/network":  "http://" + net.JoinHostPort(testenv.NetworkAddr(t).String(), home.Port) + "/production/v2/company",
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case targets[r.URL.Path] != "":
			http.Redirect(w, r, targets[r.URL.Path], http.StatusTemporaryRedirect)
		case r.URL.Path == "/v2/moved":
			http.Redirect(w, r, "/v2/company", http.StatusMovedPermanently)
		case r.URL.Path == "/v2/company" && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "):
			w.Write([]byte(`{"company":{"name":"Sandbox Ltd"}}`))
		default:
			http.Error(w, "no", http.StatusUnauthorized)
		}
	}))
	t.Cleanup(api.Close)

	// The API is off this machine: its name is looked up by no one, and
	// leads to the server above.
	r := newRig(t, devprovider.Options{})
	r.login(r.source())
	_, apiPort, _ := net.SplitHostPort(api.Listener.Addr().String())
	elsewhere := "api.example.test:" + apiPort
	dial := &net.Dialer{}
	base := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == elsewhere {
			addr = api.Listener.Addr().String()
		}
		return dial.DialContext(ctx, network, addr)
	}}
	t.Cleanup(base.CloseIdleConnections)
	set := r.settings
	set.APIURL = "http://" + elsewhere + "/"
	src, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: &http.Client{Transport: base}})
	if err != nil {
		t.Fatal(err)
	}

	followAll := src.Client()
	followAll.CheckRedirect = func(*http.Request, []*http.Request) error { return nil }
	for _, c := range []*http.Client{src.Client(), followAll} {
		for path, target := range targets {
			resp, err := c.Post(src.APIURL()+strings.TrimPrefix(path, "/"), "application/json", strings.NewReader(`{"invoice":{"total":"1000"}}`))
			var ue *url.Error
			if err == nil {
				resp.Body.Close()
				t.Errorf("POST %s: %d; want ErrRedirectToThisMachine", path, resp.StatusCode)
			} else if !errors.Is(err, freshtoken.ErrRedirectToThisMachine) || !errors.As(err, &ue) || ue.URL != target {
				t.Errorf("POST %s: %v; want ErrRedirectToThisMachine in a *url.Error naming %s", path, err, target)
			}
		}
	}
	home.NotReached(t)

	if status := getStatus(t, src, src.APIURL()+"v2/moved"); status != http.StatusOK {
		t.Errorf("GET /v2/moved: %d; want 200, the company the API redirected to within itself", status)
	}
	stop := src.Client()
	stop.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if status := getStatusWith(t, stop, src.APIURL()+"v2/invoices"); status != http.StatusTemporaryRedirect {
		t.Errorf("GET /v2/invoices with a CheckRedirect that stops: %d; want the 307 itself", status)
	}
}
