package httpx_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"golang.org/x/net/http2"
)

// TestExplainTLS: through a forward proxy, a server whose certificate a
// private authority issued is trusted once that authority's file is
// given; otherwise, and for a certificate for another host or one that
// has expired, the error is one line naming the host and what to do.
func TestExplainTLS(t *testing.T) {
	ca := corpnet.NewCA(t)
	now := time.Now()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	for _, tc := range []struct {
		name   string
		caFile bool
		bom    bool   // the ca_file saved by Notepad, with a byte-order mark
		host   string // the certificate's
		from   time.Time
		until  time.Time
		want   string // "" for success
	}{
		{name: "trusted", caFile: true, host: "login.corp.test", from: now.Add(-time.Hour), until: now.Add(time.Hour)},
		// The mark hid the file's first certificate: "holds no PEM
		// certificate", or a chain missing its first authority.
		{name: "trusted, byte-order mark", caFile: true, bom: true, host: "login.corp.test", from: now.Add(-time.Hour), until: now.Add(time.Hour)},
		{name: "unknown authority", host: "login.corp.test", from: now.Add(-time.Hour), until: now.Add(time.Hour),
			want: "the certificate of login.corp.test is signed by an unknown authority; set ca_file"},
		{name: "another host", caFile: true, host: "other.corp.test", from: now.Add(-time.Hour), until: now.Add(time.Hour),
			want: "the certificate of login.corp.test is for another host (valid for other.corp.test)"},
		{name: "expired", caFile: true, host: "login.corp.test", from: now.Add(-48 * time.Hour), until: now.Add(-24 * time.Hour),
			want: "the certificate of login.corp.test has expired or is not yet valid (valid " + now.Add(-48*time.Hour).UTC().Format(time.DateOnly)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := corpnet.ServeWith(t, ok, ca.Certificate(t, tc.host, tc.from, tc.until))
			fwd := corpnet.NewProxy(t, srv.Listener.Addr().String())
			caFile := ""
			if tc.caFile {
				caFile = ca.File
			}
			if tc.bom {
				text, _ := os.ReadFile(ca.File)
				caFile = filepath.Join(t.TempDir(), "ca.pem")
				if err := os.WriteFile(caFile, append([]byte("\ufeff"), text...), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tr, err := httpx.NewTransport(caFile)
			if err != nil {
				t.Fatal(err)
			}
			proxyURL, _ := url.Parse(fwd.URL)
			tr.Proxy = http.ProxyURL(proxyURL)
			target := corpnet.URL(srv, "login.corp.test")
			resp, err := (&http.Client{Transport: httpx.ExplainTLS(tr)}).Get(target + "/")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			} else {
				var ce *httpx.CertificateError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v; want a CertificateError saying %q", err, tc.want)
				}
			}
			if hosts := fwd.Hosts(); !slices.Contains(hosts, strings.TrimPrefix(target, "https://")) {
				t.Errorf("the proxy was asked for %v, not %s", hosts, target)
			}
		})
	}
}

// TestCertPoolErrors: a ca_file that cannot be read, or holds no
// certificate, says which file and why.
func TestCertPoolErrors(t *testing.T) {
	if _, err := httpx.CertPool("/nonexistent/ca.pem"); err == nil || !strings.Contains(err.Error(), "cannot read /nonexistent/ca.pem") {
		t.Errorf("missing file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := httpx.CertPool(notPEM); err == nil || !strings.Contains(err.Error(), notPEM+" holds no PEM certificate") {
		t.Errorf("a file without a certificate: %v", err)
	}
	ca := corpnet.NewCA(t)
	if _, err := httpx.CertPool(ca.File); err != nil {
		t.Errorf("a PEM certificate: %v", err)
	}
}

// TestExplainTLSBlamesAnHTTPSProxy: when the certificate that fails is an
// https proxy's (HTTPS_PROXY=https://…), the error says it is the proxy's
// and names it, rather than blaming the provider the request was for.
func TestExplainTLSBlamesAnHTTPSProxy(t *testing.T) {
	ca := corpnet.NewCA(t)
	now := time.Now()
	proxy := corpnet.ServeWith(t, http.NotFoundHandler(), ca.Certificate(t, "proxy.corp.test", now.Add(-time.Hour), now.Add(time.Hour)))
	for _, tc := range []struct {
		name, caFile, want string
	}{
		// Go checks the name first, and the proxy is reached by its address.
		{"another host, unknown authority", "", "the certificate of the proxy 127.0.0.1 is for another host (valid for proxy.corp.test)"},
		{"another host", ca.File, "the certificate of the proxy 127.0.0.1 is for another host (valid for proxy.corp.test)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := httpx.NewTransport(tc.caFile)
			if err != nil {
				t.Fatal(err)
			}
			proxyURL, _ := url.Parse(proxy.URL) // https://127.0.0.1:PORT
			tr.Proxy = http.ProxyURL(proxyURL)
			_, err = (&http.Client{Transport: httpx.ExplainTLS(tr)}).Get("https://login.corp.test/")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(httpx.UnwrapURLError(err).Error(), "login.corp.test") {
				t.Fatalf("err = %v; want one saying %q, not blaming login.corp.test", err, tc.want)
			}
		})
	}
}

// TestOneUseKeepsHTTP2AndTheProxy: OneUse's requests each open a
// connection of their own (here, a tunnel of their own through the
// proxy), still over HTTP/2 and through the proxy the transport names,
// while the transport it copies keeps its connections alive.
func TestOneUseKeepsHTTP2AndTheProxy(t *testing.T) {
	ca := corpnet.NewCA(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Certificate(t, "login.corp.test", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))}}
	srv.StartTLS()
	defer srv.Close()
	fwd := corpnet.NewProxy(t, srv.Listener.Addr().String())
	tr, err := httpx.NewTransport(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	proxyURL, _ := url.Parse(fwd.URL)
	tr.Proxy = http.ProxyURL(proxyURL)
	defer tr.CloseIdleConnections()
	get := func(rt http.RoundTripper) { testenv.GetOverHTTP2(t, rt, corpnet.URL(srv, "login.corp.test")+"/") }
	oneUse := httpx.OneUse(httpx.ExplainTLS(tr))
	get(oneUse)
	get(oneUse)
	if n := len(fwd.Hosts()); n != 2 {
		t.Fatalf("%d connections through the proxy for two requests; want one each", n)
	}
	get(tr)
	get(tr)
	if n := len(fwd.Hosts()); n != 3 {
		t.Fatalf("%d connections through the proxy; want the transport copied to keep its one alive", n-2)
	}
}

// TestOneUseTakesNoConnectionKeptByTheOwnersHTTP2: a program's transport
// whose HTTP/2 it installed itself (x/net/http2's ConfigureTransport, to
// set its pings) hands every HTTP/2 connection to its own pool, the
// copy's too: OneUse's requests each dialled a connection, threw it away,
// and went over the one the transport kept alive, the connection a token
// request must not be written into. Each now goes over its own, still over
// HTTP/2.
func TestOneUseTakesNoConnectionKeptByTheOwnersHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Client", r.RemoteAddr)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}
	//lint:ignore SA1019 deprecated, and still in programs that OneUse must serve
	if err := http2.ConfigureTransport(tr); err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	from := func(rt http.RoundTripper) string { return testenv.GetOverHTTP2(t, rt, srv.URL).Get("X-Client") }
	seen := map[string]bool{from(tr): true}
	oneUse := httpx.OneUse(tr)
	for range 3 {
		c := from(oneUse)
		if seen[c] {
			t.Fatalf("a request of OneUse's went over connection %s, used before", c)
		}
		seen[c] = true
	}
	if from(tr) == "" {
		t.Fatal("the transport copied no longer answers")
	}
}
