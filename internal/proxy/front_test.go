package proxy_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// upstreamAPI is an API that reports what reached it and answers with
// headers a proxy must pass on unchanged, and hop-by-hop ones it must not.
// Its environment, named env, gets its tokens from the fixture's provider.
func upstreamAPI(t *testing.T, env string, overTLS bool) (*httptest.Server, fixtureOptions) {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			seen := map[string]any{
				"authorization":       r.Header.Get("Authorization"),
				"proxy_authorization": r.Header.Get("Proxy-Authorization"),
				"x_hop":               r.Header.Get("X-Hop"),
				"keep_alive":          r.Header.Get("Keep-Alive"),
				"x_kept":              r.Header.Get("X-Kept"),
				"user_agent":          r.Header.Get("User-Agent"),
				"raw_query":           r.URL.RawQuery,
				"escaped_path":        r.URL.EscapedPath(),
				"body":                string(body),
			}
			w.Header()["Content-Type"] = nil // none, and none sniffed
			w.Header().Set("Server", "upstream/1")
			w.Header().Set("Connection", "X-Hop-Answer")
			w.Header().Set("X-Hop-Answer", "for this connection only")
			w.Header().Set("X-Kept", "kept")
			w.WriteHeader(http.StatusAccepted)
			json.NewEncoder(w).Encode(seen)
		case "/sized":
			w.Header().Set("Content-Length", "1234")
			if r.Method != http.MethodHead {
				io.WriteString(w, strings.Repeat("x", 1234))
			}
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	})
	var api *httptest.Server
	o := fixtureOptions{autoApprove: true}
	if overTLS {
		api = httptest.NewTLSServer(h)
		roots := x509.NewCertPool()
		roots.AddCert(api.Certificate())
		o.tlsConfig = &tls.Config{RootCAs: roots}
	} else {
		api = httptest.NewServer(h)
	}
	t.Cleanup(api.Close)
	o.moreConfig = func(f *fixture) string { return genericEnv(f, env, api.URL) }
	return api, o
}

// TestForwardsFaithfully: the request reaches the API as the client wrote
// it, with the environment's token for the client's and without the
// hop-by-hop headers; the answer comes back as the API wrote it, plus the
// sandbox, minus its hop-by-hop headers. Over plain HTTP and over HTTPS, on
// a new connection (served by the front) and on one that opened the status
// page first (handed to net/http).
func TestForwardsFaithfully(t *testing.T) {
	for _, tc := range []struct{ overTLS, handedOff bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		t.Run(fmt.Sprintf("tls=%v,handed-off=%v", tc.overTLS, tc.handedOff), func(t *testing.T) {
			_, o := upstreamAPI(t, "up", tc.overTLS)
			f := newFixtureWith(t, o)
			f.login(t, "up")
			rec, err := f.source(t, "up").Record(t.Context())
			if err != nil || rec == nil {
				t.Fatalf("no stored record: %v", err)
			}
			// One connection for every request.
			client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
			t.Cleanup(client.CloseIdleConnections)
			do := func(req *http.Request) (*http.Response, []byte) {
				t.Helper()
				return send(t, client, req)
			}
			get := func(path string) (*http.Response, []byte) {
				req, _ := http.NewRequest(http.MethodGet, f.base+path, nil)
				return do(req)
			}
			if tc.handedOff {
				if resp, _ := get("/"); resp.StatusCode != http.StatusOK {
					t.Fatalf("status page: %d", resp.StatusCode)
				}
			}

			req, _ := http.NewRequest(http.MethodPost, f.base+"/up/echo?a=1%2F2&b=%20", strings.NewReader("the body"))
			req.Header.Set("Authorization", "Bearer forged")
			req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
			req.Header.Set("Connection", "X-Hop")
			req.Header.Set("X-Hop", "for the proxy only")
			req.Header.Set("Keep-Alive", "timeout=5")
			req.Header.Set("X-Kept", "kept")
			req.Header.Set("User-Agent", "") // none: the proxy sends its own
			resp, body := do(req)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			seen := decode[map[string]string](t, body)
			want := map[string]string{
				"authorization":       "Bearer " + rec.AccessToken,
				"proxy_authorization": "",
				"x_hop":               "",
				"keep_alive":          "",
				"x_kept":              "kept",
				"user_agent":          "freshtoken-test",
				"raw_query":           "a=1%2F2&b=%20",
				"escaped_path":        "/echo",
				"body":                "the body",
			}
			for k, v := range want {
				if seen[k] != v {
					t.Errorf("the API saw %s %q, want %q", k, seen[k], v)
				}
			}
			for k, v := range map[string]string{"Server": "upstream/1", "X-Kept": "kept", "X-Hop-Answer": "", "Content-Type": "", "Content-Security-Policy": "sandbox; default-src 'none'"} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("answer's %s: %q, want %q", k, got, v)
				}
			}

			req, _ = http.NewRequest(http.MethodHead, f.base+"/up/sized", nil)
			resp, body = do(req)
			if resp.StatusCode != http.StatusOK || resp.ContentLength != 1234 || len(body) != 0 {
				t.Errorf("HEAD: status %d, length %d, %d bytes of body; want 200, 1234, none", resp.StatusCode, resp.ContentLength, len(body))
			}
			resp, body = get("/up/sized")
			if resp.StatusCode != http.StatusOK || resp.ContentLength != 1234 || len(body) != 1234 {
				t.Errorf("GET: status %d, length %d, %d bytes of body; want 200, 1234, 1234", resp.StatusCode, resp.ContentLength, len(body))
			}
			resp, body = get("/up/empty")
			if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
				t.Errorf("204: status %d, %d bytes of body", resp.StatusCode, len(body))
			}
		})
	}
}

// TestProxiesAfterTheStatusPage: a browser that opens the status page and
// then an API's URL does both on one connection; the second request is
// proxied like any other.
func TestProxiesAfterTheStatusPage(t *testing.T) {
	f := newFixture(t)
	f.login(t, "dev")
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	send := func(method, path, body string) (*http.Response, string) {
		t.Helper()
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer forged\r\nContent-Length: %d\r\n\r\n%s", method, path, f.addr, len(body), body)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	if resp, body := send(http.MethodGet, "/", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "freshtoken") {
		t.Fatalf("status page: %d", resp.StatusCode)
	}
	resp, body := send(http.MethodPost, "/dev/v2/dev/echo", "after the page")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("proxied request after the status page: %d %s", resp.StatusCode, body)
	}
	e := decode[echo](t, []byte(body))
	if got, want := e.Headers["Authorization"], "Bearer "+f.storedToken(t); got != want || e.Body != "after the page" {
		t.Errorf("the API saw Authorization %q and body %q, want %q and %q", got, e.Body, want, "after the page")
	}
}
