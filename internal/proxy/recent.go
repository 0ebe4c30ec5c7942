package proxy

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// recentLimit is how many proxied requests the status page lists.
const recentLimit = 50

// request is one proxied request as the status page shows it. It holds the
// path without the query, which could carry a secret, and any secret the
// client wrote in it masked, as the log shows it (see redact.Scrub): a
// careless API's redirect may put the access token in the path, and the
// environment's name and the method are the client's words too. They are
// masked as the request is noted, not as the page is shown: by then a
// token renewed twice is no longer known for a secret (redact.Set keeps
// two generations), though it may still be valid.
type request struct {
	At       time.Time
	Env      string
	Method   string
	Path     string
	Status   int
	Duration time.Duration
}

// recentRequests keeps the last recentLimit proxied requests.
type recentRequests struct {
	mu   sync.Mutex
	ring [recentLimit]request
	next int // index of the slot the next request goes in
	n    int // slots filled
}

func (rr *recentRequests) add(r request) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.ring[rr.next] = r
	rr.next = (rr.next + 1) % recentLimit
	rr.n = min(rr.n+1, recentLimit)
}

// noteRequest lists a proxied request for u started at start among the
// recent requests and logs it on one line, once its answer, n bytes of
// body, is sent, both as shownRequest shows it.
func (p *Proxy) noteRequest(start time.Time, method string, u *url.URL, status int, n int64) {
	d := time.Since(start)
	env, path := shownRequest(u)
	method = redact.Scrub(method)
	p.recent.add(request{At: p.now(), Env: env, Method: method, Path: path, Status: status, Duration: d})
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug("proxied request", "env", env, "method", method, "path", path,
			"status", status, "bytes", n, "duration", d.Round(time.Microsecond))
	}
}

// shownRequest is the environment and the path of a request for u, as the
// log and the status page show them: any secret this process knows masked
// (redact.Scrub), and the path's first part, where the environment's name
// goes, not shown when it may be a secret (redact.MayBeSecret), such as a
// token this process never saw, written there by mistake. The path is
// decoded, but its first part is read as written: decoded, it may no
// longer be the first part (%2F) or be spelled otherwise (%2E).
func shownRequest(u *url.URL) (env, path string) {
	escaped := u.EscapedPath()
	env, rest := splitEnv(escaped)
	if !redact.MayBeSecret(env) {
		return redact.Scrub(env), redact.Scrub(u.Path)
	}
	path = "/" + redact.NotShown
	if strings.Contains(strings.TrimPrefix(escaped, "/"), "/") {
		rest, _ = url.PathUnescape(rest) // from EscapedPath: valid
		path += "/" + rest
	}
	return redact.NotShown, redact.Scrub(path)
}

// newestFirst returns the kept requests, the newest first.
func (rr *recentRequests) newestFirst() []request {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	out := make([]request, rr.n)
	for i := range out {
		out[i] = rr.ring[(rr.next-1-i+recentLimit)%recentLimit]
	}
	return out
}

// recorder notes the status and size of a response on its way out. Unwrap
// lets http.ResponseController reach the connection for flushes and
// protocol upgrades.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	// http10 is a client of HTTP/1.0, which knows no interim answers.
	http10 bool
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rec.status = code
	}
	if code < 200 && code != http.StatusSwitchingProtocols && rec.http10 {
		// An HTTP/1.0 client reads an interim answer as the whole
		// answer, and the API's real one as its body: a server must not
		// send it one (RFC 9110 15.2), which net/http leaves to the
		// handler.
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An API's interim answer (103 Early Hints), which the
		// ReverseProxy passes on as the API wrote it, goes bare: its
		// headers are not made safe as the answer's are.
		clear(rec.Header())
	}
	h := rec.Header()
	if h["Content-Type"] == nil {
		h["Content-Type"] = nil // none given: pass none on, where net/http would guess one
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// Hijack hands over the client's connection for a protocol switch (a
// websocket), with the bytes the client sent after its request that the
// server has already read: httputil's ReverseProxy copies from the
// connection alone, not from the reader Hijack returns, and what a client
// sent with its request, before the API's 101 (a websocket's first frame,
// sent at once), was lost. Here the connection's reads begin with them.
// The ReverseProxy writes the API's 101 to the connection directly, so the
// 101 is noted here. A stopping proxy's Connection: close is set only as a
// final answer begins (see stopTelling), never on the 101: beside the
// switch's Upgrade, a websocket client read the first and refused it.
func (rec *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(rec.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	if rec.status == 0 {
		rec.status = http.StatusSwitchingProtocols
	}
	if brw.Reader.Buffered() == 0 {
		return c, brw, nil
	}
	return &earlyReadConn{Conn: c, r: brw.Reader}, brw, nil
}

// earlyReadConn is a hijacked connection whose reads begin with what the
// server's reader, r, holds of what the client sent before the hijack.
type earlyReadConn struct {
	net.Conn
	r *bufio.Reader // nil once emptied
}

// Read takes from the server's reader only what it holds, and the rest from
// the connection itself: read through the server's reader, the client's
// end of its stream (a half-close) cancelled the request's context, and
// with it the ReverseProxy closed the API's side, whose answer was lost.
func (c *earlyReadConn) Read(p []byte) (int, error) {
	if c.r != nil {
		if n := c.r.Buffered(); n > 0 {
			return c.r.Read(p[:min(len(p), n)])
		}
		c.r = nil
	}
	return c.Conn.Read(p)
}

// CloseWrite passes the API's end of the stream on to the client, as the
// ReverseProxy does with the connection itself.
func (c *earlyReadConn) CloseWrite() error { return httpx.CloseWrite(c.Conn) }
