package proxy

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpproxy"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// serveFast forwards ctx's request to its environment's API and reports
// true, if it is an ordinary proxied request; anything else it leaves alone
// and reports false, for the back server. It does what forward does through
// httputil.ReverseProxy and freshtoken.Transport, on fasthttp: the guard, the
// token, one renewal and one retry after a 401, the answer made safe to pass
// on, the recent-requests list and the debug line.
func (p *Proxy) serveFast(ctx *fasthttp.RequestCtx) bool {
	req := &ctx.Request
	escaped, query, _ := bytes.Cut(req.Header.RequestURI(), []byte("?"))
	if len(escaped) < 2 || escaped[0] != '/' || bytes.HasPrefix(escaped, []byte(controlPrefix)) ||
		string(escaped) == "/favicon.ico" || req.Header.IsConnect() || !req.Header.IsHTTP11() || switchesProtocol(&req.Header) {
		return false
	}
	escapedPath := string(escaped)
	path, err := url.PathUnescape(escapedPath)
	if err != nil || p.logins.isCallback(path, string(query)) {
		return false // net/http answers a malformed path; a callback is a log-in's
	}
	x := &exchange{p: p, start: ctx.Time(), method: string(req.Header.Method()), path: path}
	host := string(req.Header.Host())
	if why := p.guard.refusal(host, string(req.Header.Peek("Origin")), string(req.Header.Peek("Sec-Fetch-Site")), false); why != "" {
		p.log.Warn("request refused", "method", x.method, "host", host, "origin", string(req.Header.Peek("Origin")), "path", path, "reason", why)
		writeFastError(ctx, http.StatusForbidden, problem{Code: "forbidden", Message: why})
		return true // not listed among the recent requests, as in ServeHTTP
	}
	var rest string
	x.env, rest = splitEnv(escapedPath)
	p.forwardFast(ctx, x, rest, query, host)
	return true
}

// switchesProtocol reports whether a request asks to switch to another
// protocol, such as a websocket, which net/http's proxy carries through. An
// offer to upgrade to HTTP/2 (h2c, which curl --http2 adds to ordinary
// requests) is not: the proxy declines it by answering in HTTP/1.1.
func switchesProtocol(h *fasthttp.RequestHeader) bool {
	upgrade := h.Peek("Upgrade")
	return h.ConnectionUpgrade() && len(upgrade) > 0 && !bytes.EqualFold(upgrade, []byte("h2c"))
}

// forwardFast sends the request to e's API with a fresh token and answers
// with what comes back.
func (p *Proxy) forwardFast(ctx *fasthttp.RequestCtx, x *exchange, rest string, query []byte, inboundHost string) {
	e, err := p.env(ctx, x.env)
	if err != nil {
		status, pr := p.engineProblem(x.env, err)
		x.answerProblem(ctx, status, pr)
		return
	}
	// Asked before forwarding, as in forward.
	tok, err := e.src.TokenContext(ctx)
	if err != nil {
		e.fail(p.now(), err)
		status, pr := p.engineProblem(x.env, err)
		x.answerProblem(ctx, status, pr)
		return
	}
	e.succeed()

	req := &ctx.Request
	h := &req.Header
	replayable, err := keepBody(req)
	if err != nil {
		x.answerProblem(ctx, http.StatusBadRequest, problem{Code: "bad_request", Env: x.env, Message: "the request body could not be read: " + err.Error()})
		ctx.SetConnectionClose()
		return
	}
	target := e.target(rest, query)
	req.SetRequestURI(target)
	h.SetNoDefaultContentType(true) // a body without one goes without one
	clientClose := h.ConnectionClose()
	h.ResetConnectionClose()
	drop(h, requestDrops)
	h.Del("Authorization")
	h.Del("Expect") // the front has already answered it
	if len(h.UserAgent()) == 0 && p.o.UserAgent != "" {
		h.SetUserAgent(p.o.UserAgent)
	}
	h.Set("Authorization", tok.Type()+" "+tok.AccessToken)

	up := fasthttp.AcquireResponse()
	err = e.client.Do(req, up)
	if err == nil && up.StatusCode() == http.StatusUnauthorized {
		p.log.Debug("401 from the API; renewing once", "env", x.env, "path", x.path, "retry", replayable)
		renewed, rerr := e.src.RenewRejected(ctx, tok.AccessToken)
		switch {
		case errors.Is(rerr, freshtoken.ErrJustRenewed) || rerr == nil && !replayable:
			// Nothing to retry with: the 401 is the answer. A renewal still
			// serves the next request.
		case rerr != nil:
			// The renewal's error (log-in needed, provider down) says more
			// than the 401 it was meant to cure.
			discardBody(up)
			fasthttp.ReleaseResponse(up)
			e.fail(p.now(), rerr)
			status, pr := p.engineProblem(x.env, rerr)
			pr.Message = redact.OneLine(pr.Message, 500)
			x.answerProblem(ctx, status, pr)
			return
		default:
			discardBody(up)
			up.Reset()
			h.Set("Authorization", renewed.Type()+" "+renewed.AccessToken)
			err = e.client.Do(req, up)
		}
	}
	if err != nil {
		fasthttp.ReleaseResponse(up)
		if errors.Is(err, fasthttp.ErrSmallReadBuffer) {
			err = fmt.Errorf("%s: the API at %s answered with more than %d KiB of headers, more than the proxy accepts", x.env, e.api.Host, answerHeaderLimit>>10)
			x.answerProblem(ctx, http.StatusBadGateway, problem{Code: "api_unreachable", Env: x.env, Message: err.Error()})
			return
		}
		err = e.unreachable(err)
		e.fail(p.now(), err)
		x.answerProblem(ctx, http.StatusBadGateway, problem{Code: "api_unreachable", Env: x.env, Message: redact.OneLine(err.Error(), 500)})
		return
	}

	if status := up.StatusCode(); status < 200 {
		// 1xx cannot end a request; an API that says it switched protocols
		// to a request that asked for no switch is not followed there. The
		// client has put the connection back for the next request, though
		// the API now speaks another protocol on it: close the idle ones.
		// (Until then, the API can only confuse its own answers.)
		discardBody(up)
		fasthttp.ReleaseResponse(up)
		e.client.CloseIdleConnections()
		err = fmt.Errorf("%s: the API at %s answered %d, which does not end a request", x.env, e.api.Host, status)
		e.fail(p.now(), err)
		x.answerProblem(ctx, http.StatusBadGateway, problem{Code: "api_unreachable", Env: x.env, Message: err.Error()})
		return
	}
	resp := &ctx.Response
	up.Header.CopyTo(&resp.Header)
	// CopyTo took the client's settings and the API's protocol: the answer
	// goes out as HTTP/1.1 (an HTTP/1.0 client's request is net/http's),
	// with no Content-Type the API did not give.
	resp.Header.SetProtocol([]byte("HTTP/1.1"))
	resp.Header.SetNoDefaultContentType(true)
	if loop := p.secureAnswer(e, &resp.Header, target, inboundHost); loop != nil {
		discardBody(up)
		fasthttp.ReleaseResponse(up)
		p.log.Warn("redirect to the proxy refused", "env", e.name, "location", loop.location)
		x.answerProblem(ctx, http.StatusBadGateway, problem{Code: "redirect_to_proxy", Env: e.name, Message: e.name + ": " + loop.Error()})
		return
	}
	resp.Header.ResetConnectionClose()
	if clientClose {
		resp.SetConnectionClose()
	}
	stream := up.BodyStream()
	if stream == nil {
		resp.SetBody(up.Body())
		fasthttp.ReleaseResponse(up)
		x.finish(resp.StatusCode(), int64(len(resp.Body())))
		return
	}
	size := up.Header.ContentLength()
	if size < -1 { // to the end of the connection: chunked to the client
		size = -1
	}
	// An answer of unknown length may be a stream of events, whose client
	// waits for the headers before the first event comes; one of known
	// length goes out with its body (see answerBuffer).
	resp.ImmediateHeaderFlush = size < 0
	x.body, x.up, x.status = stream, up, resp.StatusCode()
	resp.SetBodyStream(x, size)
}

// keepBody makes the request's body one that can be sent again after a 401,
// as makeReplayable does, and reports whether it is: a body of up to
// maxReplayBody is kept in memory; a longer one streams through once.
func keepBody(req *fasthttp.Request) (bool, error) {
	stream := req.BodyStream()
	if stream == nil {
		return true, nil
	}
	switch n := req.Header.ContentLength(); {
	case n > maxReplayBody:
		return false, nil
	case n >= 0:
		return true, readBody(req, stream, n)
	}
	// Chunked: read it, up to the limit.
	buf, err := io.ReadAll(io.LimitReader(stream, maxReplayBody+1))
	if err != nil {
		return false, err
	}
	if len(buf) <= maxReplayBody {
		req.SetBody(buf)
		return true, nil
	}
	// The server, not this request, owns the stream: replacing it leaves
	// the rest of the body to read.
	req.SetBodyStream(io.MultiReader(bytes.NewReader(buf), stream), -1)
	return false, nil
}

// readBody reads a body of n bytes into memory. A body that ends before n
// bytes is an error: the client gave up, and the API gets nothing.
func readBody(req *fasthttp.Request, stream io.Reader, n int) error {
	buf := make([]byte, n)
	if _, err := io.ReadFull(stream, buf); err != nil {
		return err
	}
	req.SetBodyRaw(buf)
	return nil
}

// discardBody reads what is left of a small answer, so its connection can
// carry the next request, and lets go of it.
func discardBody(up *fasthttp.Response) {
	if s := up.BodyStream(); s != nil {
		io.Copy(io.Discard, io.LimitReader(s, 64<<10))
	}
	up.CloseBodyStream()
}

// answerDrops are the headers that belong to one connection, not to the
// request or answer passed on (RFC 9110, section 7.6.1), as
// httputil.ReverseProxy drops them. fasthttp handles Transfer-Encoding and
// Connection: close itself.
var answerDrops = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Upgrade"}

// requestDrops are those and the forwarding headers a client may have
// made up, which httputil.ReverseProxy's Rewrite drops too.
var requestDrops = append(slices.Clip(answerDrops), "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto")

// isOneOf reports whether the header name key is one of names, in any case.
func isOneOf(key []byte, names []string) bool {
	for _, name := range names {
		if strings.EqualFold(string(key), name) {
			return true
		}
	}
	return false
}

// headers is what dropNamed needs of a request's or an answer's header.
type headers interface {
	PeekAll(key string) [][]byte
	Del(key string)
}

// drop removes the headers names lists from h, and those h's Connection
// header names. Nearly every request has none, which one look at each header
// tells. (It looks at the headers as received: All would parse the cookies,
// and the Cookie header would go out rewritten, its quotes gone.)
func drop(h *fasthttp.RequestHeader, names []string) {
	for k := range h.AllInOrder() {
		if isOneOf(k, names) {
			dropNamed(h, names)
			return
		}
	}
}

// dropNamed removes names from h, and the headers every Connection header
// of h names.
func dropNamed(h headers, names []string) {
	for _, v := range h.PeekAll("Connection") {
		for name := range strings.SplitSeq(string(v), ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range names {
		h.Del(name)
	}
}

// secureAnswer makes an API's answer safe to pass on, as modifyResponse
// does: sandboxed, its links and cookies kept to this environment's part of
// the proxy. It refuses a redirect to the proxy itself.
func (p *Proxy) secureAnswer(e *envProxy, h *fasthttp.ResponseHeader, target, inboundHost string) *loopError {
	hop, nosniff, links := scanAnswer(h)
	if hop {
		dropNamed(h, answerDrops)
		_, nosniff, links = scanAnswer(h)
	}
	h.Add("Content-Security-Policy", proxiedCSP)
	if nosniff {
		h.Set("X-Content-Type-Options", "nosniff")
	} else {
		h.Add("X-Content-Type-Options", "nosniff")
	}
	var cookies http.Header
	for _, v := range h.Cookies() {
		cookies = appendHeader(cookies, "Set-Cookie", v)
	}
	if cookies != nil {
		e.confineCookies(cookies)
		h.DelAllCookies()
		for _, v := range cookies["Set-Cookie"] {
			h.Add("Set-Cookie", v)
		}
	}
	if links == nil {
		return nil // nearly every answer: nothing to rewrite
	}
	reqURL, err := url.Parse(target)
	if err != nil {
		reqURL = e.api // what the relative references are resolved against; target is under it
	}
	if loop := p.pointLinksAtProxy(e, links, reqURL, inboundHost); loop != nil {
		return loop
	}
	for _, key := range linkHeaders {
		h.Del(key)
		for _, v := range links[key] {
			h.Add(key, v)
		}
	}
	return nil
}

// scanAnswer looks at each of an answer's headers once: whether it has
// hop-by-hop ones, whether it sets X-Content-Type-Options, and the headers
// whose links pointLinksAtProxy rewrites.
func scanAnswer(h *fasthttp.ResponseHeader) (hop, nosniff bool, links http.Header) {
	for k, v := range h.All() {
		switch {
		case isOneOf(k, answerDrops):
			hop = true
		case isOneOf(k, linkHeaders[:]):
			links = appendHeader(links, http.CanonicalHeaderKey(string(k)), v)
		case strings.EqualFold(string(k), "X-Content-Type-Options"):
			nosniff = true
		}
	}
	return hop, nosniff, links
}

// linkHeaders are the headers whose URLs pointLinksAtProxy rewrites.
var linkHeaders = [...]string{"Location", "Content-Location", "Link"}

func appendHeader(h http.Header, key string, v []byte) http.Header {
	if h == nil {
		h = http.Header{}
	}
	h[key] = append(h[key], string(v))
	return h
}

// writeFastError answers with pr, as writeError does.
func writeFastError(ctx *fasthttp.RequestCtx, status int, pr problem) {
	resp := &ctx.Response
	resp.Reset()
	resp.SetStatusCode(status)
	resp.Header.Set(errorHeader, pr.Code)
	resp.Header.SetContentType("application/json")
	resp.Header.Set("Cache-Control", "no-store")
	b, _ := json.Marshal(pr)
	resp.SetBody(append(b, '\n'))
}

// exchange is one request on the fast path, listed among the recent
// requests and logged once its answer has been sent. It is also the body of
// an answer the API sent: the front reads the API's body through it, and
// closes it once it has sent it.
type exchange struct {
	p      *Proxy
	start  time.Time
	env    string
	method string
	path   string

	body   io.Reader          // the API's answer's body
	up     *fasthttp.Response // the API's answer
	status int
	n      int64 // bytes of body sent
}

func (x *exchange) answerProblem(ctx *fasthttp.RequestCtx, status int, pr problem) {
	writeFastError(ctx, status, pr)
	x.finish(status, int64(len(ctx.Response.Body())))
}

// finish lists and logs the exchange.
func (x *exchange) finish(status int, n int64) {
	x.p.noteRequest(x.start, x.env, x.method, x.path, status, n)
}

func (x *exchange) Read(p []byte) (int, error) {
	n, err := x.body.Read(p)
	x.n += int64(n)
	return n, err
}

// SupportsBodyWriteTo tells the front to send the answer's body with
// WriteTo.
func (x *exchange) SupportsBodyWriteTo() bool { return true }

// WriteTo sends the answer's body to w as it comes from the API: each read
// takes what the API has sent so far, up to answerBuffer, and is one write
// to w. For an answer of unknown length that is one chunk, sent at once; for
// one of known length, the front's write buffer gathers the writes and sends
// them when it is full or the answer ends.
func (x *exchange) WriteTo(w io.Writer) (int64, error) {
	buf := answerBuffers.Get().(*[]byte)
	defer answerBuffers.Put(buf)
	var sent int64
	for {
		n, err := x.Read(*buf)
		if n > 0 {
			if _, err := w.Write((*buf)[:n]); err != nil {
				return sent, err
			}
			sent += int64(n)
		}
		if err == io.EOF {
			return sent, nil
		}
		if err != nil {
			return sent, err
		}
	}
}

// answerBuffer is how much of an answer's body the proxy holds on its way
// to the client. The front's write buffer is as large, so an answer of
// known length up to about this size, once the API has sent it, leaves in
// one write with its header.
const answerBuffer = 32 << 10

var answerBuffers = sync.Pool{New: func() any { b := make([]byte, answerBuffer); return &b }}

// Close lets go of the API's connection and finishes the exchange. The
// front calls it once the answer is sent, or has failed.
func (x *exchange) Close() error {
	err := x.up.CloseBodyStream()
	fasthttp.ReleaseResponse(x.up)
	x.finish(x.status, x.n)
	return err
}

// target is the URL under e's API for rest, an escaped path, and query.
func (e *envProxy) target(rest string, query []byte) string {
	var b strings.Builder
	b.Grow(len(e.root) + len(rest) + 1 + len(query))
	b.WriteString(e.root)
	b.WriteString(rest)
	if len(query) > 0 {
		b.WriteByte('?')
		b.Write(query)
	}
	return b.String()
}

// idleUpstream is how long a connection to an API is kept for the next
// request. It is under the 5 seconds Node.js and Apache keep an idle
// connection: fasthttp does not notice an API closing one, and a request
// that is not safe to send twice, sent on a connection the API has just
// closed, fails rather than being sent again.
const idleUpstream = 4 * time.Second

// answerHeaderLimit bounds an API's answer's header. Each request in flight
// holds a buffer this size; APIs send a few hundred bytes.
const answerHeaderLimit = 64 << 10

// retryOnce sends a request again, once, when the API closed the
// connection without answering, if sending it twice is harmless: the rule
// net/http follows, safe methods or an idempotency key. (fasthttp's own
// sends PUTs again too, up to five times.)
func retryOnce(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	h := &req.Header
	replayable := h.IsGet() || h.IsHead() || h.IsOptions() || h.IsTrace() ||
		len(h.Peek("Idempotency-Key")) > 0 || len(h.Peek("X-Idempotency-Key")) > 0
	closed := errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed)
	return false, replayable && closed && attempts < 2
}

// newUpstream returns the client for the API at api: connections kept alive
// for the next request, answers streamed, requests sent as the client wrote
// them. It goes through the HTTP(S)_PROXY of the environment, as net/http
// does. tlsConfig nil means the system's roots.
func newUpstream(api *url.URL, tlsConfig *tls.Config) (*fasthttp.HostClient, error) {
	isTLS := api.Scheme == "https"
	port := api.Port()
	if port == "" {
		port = "80"
		if isTLS {
			port = "443"
		}
	}
	dialer := &fasthttpproxy.Dialer{Timeout: 30 * time.Second, ConnectTimeout: 30 * time.Second, DialDualStack: true}
	dial, err := dialer.GetDialFuncForTLS(true, isTLS)
	if err != nil {
		return nil, fmt.Errorf("the proxy settings in the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) are not usable: %v", err)
	}
	return &fasthttp.HostClient{
		Addr:                     net.JoinHostPort(api.Hostname(), port),
		IsTLS:                    isTLS,
		TLSConfig:                tlsConfig,
		Dial:                     dial,
		DialDualStack:            true,
		MaxConns:                 1024,
		MaxConnWaitTimeout:       30 * time.Second,
		MaxIdleConnDuration:      idleUpstream,
		RetryIfErr:               retryOnce,
		ConnPoolStrategy:         fasthttp.LIFO,
		ReadBufferSize:           answerHeaderLimit,
		StreamResponseBody:       true,
		DisablePathNormalizing:   true,
		NoDefaultUserAgentHeader: true,
		SecureErrorLogMessage:    true,
	}, nil
}
