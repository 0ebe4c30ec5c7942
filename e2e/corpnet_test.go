//go:build unix

package e2e_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// corpHost is the provider's name on the office network: not
// loopback-looking, so Go sends it through the proxy, and not resolvable
// (.test), so nothing reaches it any other way.
const corpHost = "login.corp.test"

// corpWorld is the dev provider behind an office network: served over TLS
// as login.corp.test with a certificate from a private authority, reached
// only through a forward proxy named by HTTPS_PROXY.
func corpWorld(t *testing.T) (*world, *corpnet.CA, *corpnet.Proxy, func(caLine, topLevel string)) {
	t.Helper()
	return corpWorldBehind(t, func(h http.Handler) http.Handler { return h })
}

// corpWorldBehind is corpWorld with the provider's handler wrapped by wrap,
// for an API on the office network that answers some paths its own way.
func corpWorldBehind(t *testing.T, wrap func(http.Handler) http.Handler) (*world, *corpnet.CA, *corpnet.Proxy, func(caLine, topLevel string)) {
	t.Helper()
	p := devprovider.New(devprovider.Options{AutoApprove: true, RequirePKCE: true})
	t.Cleanup(p.Close)
	ca := corpnet.NewCA(t)
	srv := ca.Serve(t, wrap(p.Handler()), corpHost)
	fwd := corpnet.NewProxy(t, srv.Listener.Addr().String())
	base := corpnet.URL(srv, corpHost)
	w := &world{t: t, dir: t.TempDir(), provider: p, api: base + "/"}
	w.config = filepath.Join(w.dir, "config.toml")
	w.store = filepath.Join(w.dir, "tokens")
	w.env = []string{"HTTPS_PROXY=" + fwd.URL, "https_proxy=" + fwd.URL, "HTTP_PROXY=", "http_proxy=", "NO_PROXY=", "no_proxy="}
	proxyURL, _ := url.Parse(fwd.URL)
	viaProxy := func(r *http.Request) (*url.URL, error) { // the callback, on loopback, is reached directly
		if r.URL.Hostname() == corpHost {
			return proxyURL, nil
		}
		return nil, nil
	}
	w.browser = &http.Client{Transport: &http.Transport{Proxy: viaProxy, TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	port := testenv.FreePort(t)
	write := func(caLine, topLevel string) {
		conf := fmt.Sprintf("%s\n[store]\nurl = %q\n\n[env.dev]\nissuer = %q\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret_env = \"DEV_SECRET\"\nredirect_uri = \"http://127.0.0.1:%d/callback\"\n%s\n",
			topLevel, "file://"+w.store, base, w.api, port, caLine)
		w.writeConfig(conf)
	}
	write("ca_file = "+fmt.Sprintf("%q", ca.File), "")
	return w, ca, fwd, write
}

// TestCorporateNetwork: behind HTTPS_PROXY with a private certificate
// authority in ca_file, discovery, the log-in's code exchange, API calls,
// renewals, the proxy's upstream and revocation all go through the
// office proxy and trust the authority; without ca_file the failure is
// one line saying to set it; a top-level ca_file serves every
// environment; NO_PROXY sends a host around the proxy.
func TestCorporateNetwork(t *testing.T) {
	w, ca, fwd, write := corpWorld(t)
	w.login()
	if got := w.mustRun("get", "/v2/company").stdout; !strings.Contains(got, "company") {
		t.Fatalf("get /v2/company: %s", got)
	}
	w.mustRun("token", "--force")

	listen := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	proxyCmd := w.command(t.Context(), "proxy", "--listen", listen)
	if err := proxyCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxyCmd.Process.Kill(); proxyCmd.Wait() })
	var status int
	testenv.WaitFor(t, "the proxy to pass a request on", func() bool {
		resp, err := http.Get("http://" + listen + "/dev/v2/company")
		if err != nil {
			return false
		}
		resp.Body.Close()
		status = resp.StatusCode
		return true
	})
	if status != http.StatusOK {
		t.Fatalf("through freshtoken proxy: HTTP %d", status)
	}

	st := w.provider.Stats()
	if st.Discoveries < 1 || st.Exchanges != 1 || st.Refreshes < 1 || st.APIRequests < 2 {
		t.Fatalf("provider stats %+v", st)
	}
	for _, h := range fwd.Hosts() {
		if !strings.HasPrefix(h, corpHost+":") {
			t.Errorf("the office proxy was asked for %s", h)
		}
	}

	write("", "")
	r := w.run("get", "/v2/company")
	if r.code != 5 || !strings.Contains(r.stderr, "the certificate of "+corpHost+" is signed by an unknown authority; set ca_file") {
		t.Fatalf("without ca_file: exit %d\n%s", r.code, r.stderr)
	}

	write("", fmt.Sprintf("ca_file = %q", ca.File))
	w.mustRun("get", "/v2/company")

	before := len(fwd.Hosts())
	w.env = append(w.env, "NO_PROXY="+corpHost, "no_proxy="+corpHost)
	if r := w.run("get", "/v2/company"); r.code == 0 {
		t.Fatalf("NO_PROXY=%s: the request went through anyway", corpHost)
	}
	if after := len(fwd.Hosts()); after != before {
		t.Fatalf("NO_PROXY=%s: the office proxy was asked %d more times", corpHost, after-before)
	}
	w.env = w.env[:len(w.env)-2]

	w.mustRun("logout")
	if got := w.provider.Stats().Revocations; got < 1 {
		t.Fatalf("logout revoked nothing (%d revocations)", got)
	}
}
