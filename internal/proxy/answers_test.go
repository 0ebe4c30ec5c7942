package proxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestBodiesOfBodilessAnswers: an API's 204, 304 or answer to HEAD that
// comes with a body anyway reaches the client without it, and the
// client's next request on its connection is answered as its own.
func TestBodiesOfBodilessAnswers(t *testing.T) {
	f := newFixtureWith(t, rawAPI(t, "raw", func(c net.Conn, req *http.Request) {
		switch req.URL.Path {
		case "/204":
			io.WriteString(c, "HTTP/1.1 204 No Content\r\nContent-Length: 38\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
		case "/304":
			io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nevil\r\n0\r\n\r\n")
		case "/head":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
		default:
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
		}
	}))
	f.login(t, "raw")
	for _, tc := range []struct{ method, path string }{{"GET", "/204"}, {"GET", "/304"}, {"HEAD", "/head"}} {
		c, r := dial(t, f)
		fmt.Fprintf(c, "%s /raw%s HTTP/1.1\r\nHost: %s\r\n\r\nGET /raw/next HTTP/1.1\r\nHost: %s\r\n\r\n", tc.method, tc.path, f.addr, f.addr)
		_, body := readAnswer(t, r, tc.method)
		if body != "" {
			t.Errorf("%s %s: the client got the body %q", tc.method, tc.path, body)
		}
		if resp, body := readAnswer(t, r, http.MethodGet); resp.StatusCode != http.StatusOK || body != "good" {
			t.Errorf("%s %s: the next request got %d %q, want the API's 200 \"good\"", tc.method, tc.path, resp.StatusCode, body)
		}
	}
}

// TestForbiddenIsPassedOnUnrenewed: an API's 403, with or without the
// Bearer challenge RFC 6750 §3.1 gives it (insufficient_scope), is passed
// on as it came, sent once and nothing renewed: a renewal cannot let the
// token do more, and would spend a rotating refresh token for nothing.
func TestForbiddenIsPassedOnUnrenewed(t *testing.T) {
	var calls atomic.Int32
	f := serveWithTimeout(t, "api", 5*time.Second, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/scope" {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="admin"`)
		}
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "no")
	})
	before := f.provider.Stats().Refreshes
	for _, path := range []string{"/api/plain", "/api/scope", "/api/plain", "/api/scope"} {
		resp, body := f.get(t, path)
		if resp.StatusCode != http.StatusForbidden || string(body) != "no" || resp.Header.Get("X-Freshtoken-Error") != "" {
			t.Errorf("%s: got %d %q %s, want the API's 403 as it came", path, resp.StatusCode, resp.Header.Get("X-Freshtoken-Error"), body)
		}
	}
	if got := f.provider.Stats().Refreshes - before; got != 0 {
		t.Errorf("%d renewals for 403s", got)
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("the API was sent %d requests for 4", got)
	}
}
