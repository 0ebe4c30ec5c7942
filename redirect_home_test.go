package freshtoken_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/corpnet"
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
	src := r.sourceThrough("http://"+elsewhere+"/", dialingAs(t, map[string]string{elsewhere: api.Listener.Addr().String()}))

	followAll := src.Client()
	followAll.CheckRedirect = func(*http.Request, []*http.Request) error { return nil }
	for _, c := range []*http.Client{src.Client(), followAll} {
		for path, target := range targets {
			redirectRefused(t, c, src.APIURL()+strings.TrimPrefix(path, "/"), target)
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

// TestClientIsNotRedirectedIntoThisMachineByName: an API elsewhere that
// redirects a request of Source.Client to a host name that leads to this
// machine (here one in /etc/hosts; a public name with the A record
// 127.0.0.1 is looked up the same way) is not followed there, as an
// address of it is not: the name was let through, by its spelling, to the
// program on this machine. The program's transport dials with a function
// of its own, so the name is looked up first, and refused before any
// connection, whether or not one could be made there (the name may lead to
// Debian's 127.0.1.1, where nothing listens), and a connection to that
// name the transport keeps alive from the program's own request there (its
// dialer leads the name to its server) is not taken.
// Through a proxy (HTTPS_PROXY), which looks the name up itself, the name
// is looked up here first, and refused; another name goes through the
// proxy, on this machine as it is.
func TestClientIsNotRedirectedIntoThisMachineByName(t *testing.T) {
	name := testenv.NameHere(t)
	home, other := testenv.NewHome(t), testenv.NewHome(t)
	homeByName := "http://" + net.JoinHostPort(name, home.Port)
	ca := corpnet.NewCA(t)
	files := ca.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("a file")) }), "files.corp.test")
	fwd := corpnet.NewProxy(t, files.Listener.Addr().String())
	targets := map[string]string{
		"/v2/invoices":   homeByName + "/production/v2/invoices",
		"/v2/tunnelled":  "https://" + net.JoinHostPort(name, home.Port) + "/production/v2/company",
		"/v2/looked-up":  "http://" + net.JoinHostPort(name, other.Port) + "/production/v2/invoices",
		"/v2/elsewhere/": corpnet.URL(files, "files.corp.test") + "/export.csv",
	}
	api, apiPort := redirecting(t, targets)

	r := newRig(t, devprovider.Options{})
	r.login(r.source())
	elsewhere := "api.example.test:" + apiPort
	proxyURL, _ := url.Parse(fwd.URL)
	base := dialingAs(t, map[string]string{
		elsewhere:                         api,
		net.JoinHostPort(name, home.Port): home.Listener.Addr().String(),
	})
	base.Proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Scheme == "https" {
			return proxyURL, nil
		}
		return nil, nil
	}
	base.TLSClientConfig = &tls.Config{RootCAs: ca.Pool()}
	src := r.sourceThrough("http://"+elsewhere+"/", base)

	// The program's own request to its server, by the name, which leaves
	// the connection kept alive.
	if status := getStatusWith(t, src.Client(), homeByName+"/own"); status != http.StatusOK {
		t.Fatalf("GET %s/own: %d", homeByName, status)
	}
	for _, path := range []string{"/v2/invoices", "/v2/tunnelled", "/v2/looked-up"} {
		redirectRefused(t, src.Client(), src.APIURL()+strings.TrimPrefix(path, "/"), targets[path])
	}
	if reached, want := home.Reached(), []string{"GET /own "}; !slices.Equal(reached, want) {
		t.Errorf("the program on this machine was sent %q; want only its own %q", reached, want)
	}
	other.NotReached(t)
	if hosts := fwd.Hosts(); len(hosts) != 0 {
		t.Errorf("the proxy was asked for %q; want nothing", hosts)
	}
	if status := getStatus(t, src, src.APIURL()+"v2/elsewhere/"); status != http.StatusOK {
		t.Errorf("GET /v2/elsewhere/: %d; want 200, the file the API redirected to through the proxy", status)
	}

}

// TestClientIsNotRedirectedIntoThisMachineByAnAPIsName: an API named by a
// host name is an API elsewhere, whatever its name server answers, and
// does not redirect a request of Source.Client into this machine. A
// hostile API's name with the A records of its own address and
// 127.0.0.1, or answering 127.0.0.1 to a lookup after the connection,
// made its API count as one on this machine (the name "led here"), whose
// redirects into this machine are followed: to 127.0.0.1 and to a name of
// this machine alike, the POST reached the program there. Here the name is
// one in /etc/hosts, and the API on this machine, reached by the
// program's dialer at 127.0.0.1 (the name itself may lead to another
// address of this machine): a Transport cannot tell the two apart, and
// refuses both.
func TestClientIsNotRedirectedIntoThisMachineByAnAPIsName(t *testing.T) {
	name := testenv.NameHere(t)
	home := testenv.NewHome(t)
	targets := map[string]string{
		"/v2/invoices": "http://127.0.0.1:" + home.Port + "/production/v2/invoices",
		"/v2/named":    "http://" + net.JoinHostPort(name, home.Port) + "/production/v2/invoices",
	}
	api, apiPort := redirecting(t, targets)
	apiByName := net.JoinHostPort(name, apiPort)

	r := newRig(t, devprovider.Options{})
	r.login(r.source())
	src := r.sourceThrough("http://"+apiByName+"/", dialingAs(t, map[string]string{apiByName: api}))
	for path, target := range targets {
		redirectRefused(t, src.Client(), src.APIURL()+strings.TrimPrefix(path, "/"), target)
	}
	home.NotReached(t)
}

// TestClientFollowsARedirectThroughTheProgramsTunnel: a program whose
// transport dials with a function of its own that carries every
// connection through this machine (a SOCKS tunnel or ssh -D at
// 127.0.0.1:1080, an egress agent) has a redirect of Source.Client from an
// API elsewhere to another origin followed through it: every such
// redirect failed with ErrRedirectToThisMachine, its connection reaching
// this machine first. A redirect to 127.0.0.1 is still refused.
func TestClientFollowsARedirectThroughTheProgramsTunnel(t *testing.T) {
	home, files := testenv.NewHome(t), testenv.NewHome(t)
	filesByName := "files.example.test:" + files.Port
	targets := map[string]string{
		"/v2/export":   "http://" + filesByName + "/export.csv",
		"/v2/invoices": "http://127.0.0.1:" + home.Port + "/production/v2/invoices",
	}
	api, apiPort := redirecting(t, targets)

	r := newRig(t, devprovider.Options{})
	r.login(r.source())
	elsewhere := "api.example.test:" + apiPort
	src := r.sourceThrough("http://"+elsewhere+"/", dialingAs(t, map[string]string{
		elsewhere:   api,
		filesByName: files.Listener.Addr().String(),
	}))
	if status := getStatus(t, src, src.APIURL()+"v2/export"); status != http.StatusOK {
		t.Errorf("GET /v2/export: %d; want 200, the file the API redirected to", status)
	}
	if reached, want := files.Reached(), []string{"GET /export.csv "}; !slices.Equal(reached, want) {
		t.Errorf("the files' server was sent %q; want %q", reached, want)
	}
	redirectRefused(t, src.Client(), src.APIURL()+"v2/invoices", targets["/v2/invoices"])
	home.NotReached(t)
}

// dialingAs is a Transport whose dialer leads each address (host:port) in
// to to the one it names, and the rest where they are: an API elsewhere,
// its name looked up by no one, on a server here.
func dialingAs(t *testing.T, to map[string]string) *http.Transport {
	dial := &net.Dialer{}
	base := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if there, ok := to[addr]; ok {
			addr = there
		}
		return dial.DialContext(ctx, network, addr)
	}}
	t.Cleanup(base.CloseIdleConnections)
	return base
}

// sourceThrough is a source for the rig's environment with its API at
// apiURL, its requests made through base, over the rig's store and on its
// clock.
func (r *rig) sourceThrough(apiURL string, base http.RoundTripper) *freshtoken.Source {
	r.t.Helper()
	set := r.settings
	set.APIURL = apiURL
	src, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: &http.Client{Transport: base}})
	if err != nil {
		r.t.Fatal(err)
	}
	return src
}

// redirectRefused POSTs an invoice to u with c, whose answer redirects to
// target on this machine, and checks that the request fails with
// ErrRedirectToThisMachine in a *url.Error naming target.
func redirectRefused(t *testing.T, c *http.Client, u, target string) {
	t.Helper()
	resp, err := c.Post(u, "application/json", strings.NewReader(`{"invoice":{"total":"1000"}}`))
	var ue *url.Error
	if err == nil {
		resp.Body.Close()
		t.Errorf("POST %s: %d; want ErrRedirectToThisMachine", u, resp.StatusCode)
	} else if !errors.Is(err, freshtoken.ErrRedirectToThisMachine) || !errors.As(err, &ue) || ue.URL != target {
		t.Errorf("POST %s: %v; want ErrRedirectToThisMachine in a *url.Error naming %s", u, err, target)
	}
}

// redirecting is an API that redirects each path of targets to its
// target, with a 307: its address, and its port.
func redirecting(t *testing.T, targets map[string]string) (addr, port string) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targets[r.URL.Path], http.StatusTemporaryRedirect)
	}))
	t.Cleanup(api.Close)
	_, port, _ = net.SplitHostPort(api.Listener.Addr().String())
	return api.Listener.Addr().String(), port
}
