package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// maxReplayBody is the largest request body kept in memory, so that it can
// be sent again after a 401; a larger body streams through once, and a 401
// answering it is passed back to the client.
const maxReplayBody = 1 << 20

// envProxy forwards one environment's requests to its API.
type envProxy struct {
	name    string
	conf    *config.Env
	src     *freshtoken.Source
	api     *url.URL // ends in "/"
	apiPath string   // api.EscapedPath(), computed once
	root    string   // the API's scheme, host and apiPath: what the fast path joins paths to
	rp      *httputil.ReverseProxy
	client  *fasthttp.HostClient    // the fast path's connections to the API
	lastErr atomic.Pointer[failure] // nil once a token has been served since
}

// failure is the last thing that went wrong in an environment, for the status page.
type failure struct {
	At          time.Time
	Msg         string
	LoginNeeded bool // a log-in is what fixes it
}

func (p *Proxy) newEnvProxy(ec *config.Env, src *freshtoken.Source) (*envProxy, error) {
	api, err := url.Parse(src.APIURL())
	if err != nil || api.Host == "" {
		return nil, fmt.Errorf("%s: api_url %q is not a URL", ec.Name, src.APIURL())
	}
	if !strings.HasSuffix(api.Path, "/") {
		api.Path += "/"
		api.RawPath = ""
	}
	client, err := newUpstream(api, p.o.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ec.Name, err)
	}
	e := &envProxy{name: ec.Name, conf: ec, src: src, api: api, apiPath: api.EscapedPath(), client: client}
	e.root = api.Scheme + "://" + api.Host + e.apiPath
	e.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite(e),
		Transport:      &freshtoken.Transport{Source: src, Base: upstreamTransport{p.upstream}},
		ModifyResponse: p.modifyResponse(e),
		ErrorHandler:   p.upstreamError(e),
		BufferPool:     &p.buffers,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	return e, nil
}

func (e *envProxy) fail(at time.Time, err error) {
	e.lastErr.Store(&failure{At: at, Msg: err.Error(), LoginNeeded: errors.Is(err, freshtoken.ErrLoginRequired)})
}

func (e *envProxy) succeed() {
	if e.lastErr.Load() != nil {
		e.lastErr.Store(nil)
	}
}

// inbound carries the proxy's host:port, as the client wrote it in Host, to
// the rewriting of the API's answer.
type inbound struct{}

// forward proxies r to its environment's API, then lists it among the
// recent requests and logs it on one line.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name, _ := splitEnv(r.URL.EscapedPath())
	rec := &recorder{ResponseWriter: w}
	defer func() { p.noteRequest(start, name, r.Method, r.URL.Path, rec.status, rec.bytes) }()
	e, err := p.env(r.Context(), name)
	if err != nil {
		status, pr := p.engineProblem(name, err)
		writeError(rec, status, pr)
		return
	}
	// Asked here, before forwarding, so that a log-in needed or a provider
	// down is answered as the proxy's own JSON error. (A renewal the engine
	// has started is seen through even if this client gives up.)
	if _, err := e.src.TokenContext(r.Context()); err != nil {
		e.fail(p.now(), err)
		status, pr := p.engineProblem(name, err)
		writeError(rec, status, pr)
		return
	}
	e.succeed()
	out := r.WithContext(context.WithValue(r.Context(), inbound{}, r.Host))
	if err := makeReplayable(out); err != nil {
		writeError(rec, http.StatusBadRequest, problem{Code: "bad_request", Env: name, Message: "the request body could not be read: " + err.Error()})
		return
	}
	e.rp.ServeHTTP(rec, out)
}

// splitEnv splits an escaped request path into the environment's name and
// the rest of the path, without its leading slash.
func splitEnv(escaped string) (name, rest string) {
	name, rest, _ = strings.Cut(strings.TrimPrefix(escaped, "/"), "/")
	return name, rest
}

// rewrite points the outgoing request at the API. The client's own
// Authorization goes; the Transport sets the environment's.
func (p *Proxy) rewrite(e *envProxy) func(*httputil.ProxyRequest) {
	return func(pr *httputil.ProxyRequest) {
		_, rest := splitEnv(pr.In.URL.EscapedPath())
		target := pr.Out.URL // the outgoing request's own copy
		query := target.RawQuery
		*target = *e.api
		target.RawPath = e.apiPath + rest
		target.Path, _ = url.PathUnescape(target.RawPath) // rest came from EscapedPath: valid
		target.RawQuery = query
		pr.Out.Host = ""
		h := pr.Out.Header
		h.Del("Authorization")
		if pr.Out.GetBody != nil {
			h.Del("Expect") // the whole body is here already
		}
		if h.Get("User-Agent") == "" && p.o.UserAgent != "" {
			h.Set("User-Agent", p.o.UserAgent)
		}
	}
}

// makeReplayable reads a request body of up to maxReplayBody bytes into
// memory, so the Transport can send it again after a 401. A larger body is
// left to stream, its first bytes put back in front of the rest.
func makeReplayable(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || r.ContentLength > maxReplayBody {
		return nil
	}
	var buf []byte
	if r.ContentLength > 0 {
		buf = make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return err
		}
	} else {
		var err error
		if buf, err = io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1)); err != nil {
			return err
		}
		if len(buf) > maxReplayBody {
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
			return nil
		}
	}
	r.ContentLength = int64(len(buf))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	r.Body, _ = r.GetBody()
	return nil
}

// upstreamTransport is the proxy's connection to the APIs. It marks the
// errors of sending a request and reading the answer, so that they can be
// told from a failure of the engine (a renewal after a 401 that cannot read
// the client secret, save the new token or take the store's lock).
type upstreamTransport struct{ base http.RoundTripper }

func (t upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, &networkError{err}
	}
	return resp, nil
}

// networkError is a failure to reach the API or to read its answer.
type networkError struct{ err error }

func (e *networkError) Error() string { return e.err.Error() }
func (e *networkError) Unwrap() error { return e.err }

// isNetworkError reports whether err means the API could not be reached
// or its answer could not be read, as opposed to a failure of freshtoken's
// own engine.
func isNetworkError(err error) bool {
	var (
		ne   *networkError
		nete net.Error
		rhe  tls.RecordHeaderError
		cve  *tls.CertificateVerificationError
		ae   tls.AlertError
		uae  x509.UnknownAuthorityError
		he   x509.HostnameError
		cie  x509.CertificateInvalidError
	)
	return errors.As(err, &ne) || errors.As(err, &nete) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &rhe) || errors.As(err, &cve) || errors.As(err, &ae) ||
		errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &cie)
}

// loopError is an API's redirect to the proxy itself, which the proxy
// refuses to pass on.
type loopError struct{ location string }

func (e *loopError) Error() string {
	return fmt.Sprintf("the API redirected to %s, which is this proxy; freshtoken does not pass on a redirect that would send the request, with another token, to another environment", e.location)
}

// upstreamError answers a request the API never answered.
func (p *Proxy) upstreamError(e *envProxy) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		var (
			fe   *freshtoken.Error
			loop *loopError
		)
		switch {
		case errors.As(err, &fe):
			e.fail(p.now(), fe)
			status, pr := p.engineProblem(e.name, fe)
			writeError(w, status, pr)
		case errors.Is(err, context.Canceled):
			w.WriteHeader(http.StatusBadGateway) // the client has gone; nobody reads this
		case errors.As(err, &loop):
			p.log.Warn("redirect to the proxy refused", "env", e.name, "location", loop.location)
			writeError(w, http.StatusBadGateway, problem{Code: "redirect_to_proxy", Env: e.name, Message: e.name + ": " + loop.Error()})
		case isNetworkError(err):
			err = e.unreachable(unwrapURLError(err))
			e.fail(p.now(), err)
			writeError(w, http.StatusBadGateway, problem{Code: "api_unreachable", Env: e.name, Message: err.Error()})
		default: // the engine failed: renewing after a 401, saving, locking
			err = unwrapURLError(err)
			e.fail(p.now(), err)
			status, pr := p.engineProblem(e.name, err)
			pr.Message = redact.OneLine(pr.Message, 500)
			writeError(w, status, pr)
		}
	}
}

// unreachable says that e's API could not be reached, or its answer read,
// because of err.
func (e *envProxy) unreachable(err error) error {
	return fmt.Errorf("%s: the API at %s could not be reached (%v); check your connection and api_url", e.name, e.api.Host, err)
}

// unwrapURLError drops net/http's "Get URL:" prefix, which repeats what the
// client sent.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// proxiedCSP is added to every answer passed on. The APIs' pages are
// served on the proxy's own origin, where a script could read the status
// page's CSRF token, press its buttons, and call every environment's API
// with its token. The sandbox gives such a page an origin of its own
// ("null"), which the guard refuses, and runs none of its scripts. Added
// to any policy the API sets, it only tightens it; HTTP clients other than
// browsers ignore it.
const proxiedCSP = "sandbox; default-src 'none'"

// modifyResponse makes an API's answer safe to pass on: sandboxed, its
// links and cookies kept to this environment's part of the proxy.
func (p *Proxy) modifyResponse(e *envProxy) func(*http.Response) error {
	return func(res *http.Response) error {
		h := res.Header
		h.Add("Content-Security-Policy", proxiedCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		if h["Set-Cookie"] != nil {
			e.confineCookies(h)
		}
		if h["Location"] == nil && h["Content-Location"] == nil && h["Link"] == nil {
			return nil // nearly every answer: nothing to rewrite
		}
		host, _ := res.Request.Context().Value(inbound{}).(string)
		if loop := p.pointLinksAtProxy(e, h, res.Request.URL, host); loop != nil {
			return loop
		}
		return nil
	}
}

// pointLinksAtProxy rewrites the URLs of the API's answer that lead back
// under the API (a redirect to another of its pages, pagination links) to
// the same place through the proxy, so a client that follows them keeps
// getting a fresh token. URLs anywhere else are left alone: the client
// follows those on its own, without the token. A URL of the API's own
// making that leads to the proxy itself is not passed on: following it
// would take the request, and its method and body, to another environment
// with that environment's token. Such a redirect becomes an error; such a
// Content-Location or link is dropped.
//
// h is the answer's header, reqURL the URL the request went to, and host the
// proxy's host:port as the client wrote it.
func (p *Proxy) pointLinksAtProxy(e *envProxy, h http.Header, reqURL *url.URL, host string) *loopError {
	base := "http://" + host
	for _, key := range [...]string{"Location", "Content-Location"} {
		v := h.Get(key)
		if v == "" {
			continue
		}
		if local, ok := e.throughProxy(v, reqURL, base); ok {
			h.Set(key, local)
		} else if p.pointsHere(v, reqURL, host) {
			if key == "Location" {
				return &loopError{location: v}
			}
			h.Del(key)
		}
	}
	links := h["Link"]
	kept := links[:0]
	for _, v := range links {
		var out []string
		found := false
		for target, params := range eachLink(v) {
			found = true
			if local, ok := e.throughProxy(target, reqURL, base); ok {
				target = local
			} else if p.pointsHere(target, reqURL, host) {
				continue
			}
			out = append(out, "<"+target+">"+params)
		}
		if !found {
			kept = append(kept, v) // no URL in it
		} else if len(out) > 0 {
			kept = append(kept, strings.Join(out, ", "))
		}
	}
	if len(kept) > 0 {
		h["Link"] = kept
	} else if links != nil {
		h.Del("Link")
	}
	return nil
}

// eachLink yields the links of a Link header value (RFC 8288): the URL
// between each "<" and the next ">", and the parameters that follow it, up to
// the next "<", without the white space and commas around them. Text before
// the first link, and a "<" with no ">" after it, are not links.
func eachLink(v string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for {
			start := strings.IndexByte(v, '<')
			if start < 0 {
				return
			}
			n := strings.IndexByte(v[start:], '>')
			if n < 0 {
				return
			}
			end := start + n
			next := strings.IndexByte(v[end:], '<')
			if next < 0 {
				next = len(v) - end
			}
			params := strings.TrimRight(v[end+1:end+next], " \t,")
			if !yield(v[start+1:end], params) {
				return
			}
			v = v[end+next:]
		}
	}
}

// pointsHere reports whether ref, a URL in an answer to a request for
// reqURL, leads to this proxy: to the address the client reached it at, or
// to any other that reaches it.
func (p *Proxy) pointsHere(ref string, reqURL *url.URL, inboundHost string) bool {
	u, err := reqURL.Parse(ref)
	if err != nil {
		return true // a client might read it otherwise; it is no use to anyone
	}
	return u.Host != "" && (strings.EqualFold(u.Host, inboundHost) || p.guard.pointsHere(u.Host))
}

// confineCookies keeps the API's cookies to its environment's part of the
// proxy, as nginx's proxy_cookie_path does: every API shares the proxy's
// host, so a cookie's Domain goes, and its Path moves under /<env>/.
func (e *envProxy) confineCookies(h http.Header) {
	cookies := h["Set-Cookie"]
	kept := cookies[:0]
	for _, v := range cookies {
		c, err := http.ParseSetCookie(v)
		if err != nil {
			continue // one that cannot be confined is not passed on
		}
		c.Domain = ""
		if c.Path != "" { // none: the browser keeps it under the request's path, already /<env>/…
			rest, _ := strings.CutPrefix(c.Path, e.api.Path) // outside the API: its whole part
			if rest == c.Path {
				rest = ""
			}
			c.Path = "/" + e.name + "/" + rest
		}
		if s := c.String(); s != "" {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		h.Del("Set-Cookie")
		return
	}
	h["Set-Cookie"] = kept
}

// throughProxy returns the proxy's URL for ref, a reference in an answer to
// a request for reqURL, when ref lies under the API root.
func (e *envProxy) throughProxy(ref string, reqURL *url.URL, base string) (string, bool) {
	u, err := reqURL.Parse(ref)
	if err != nil || !strings.EqualFold(u.Scheme, e.api.Scheme) || !strings.EqualFold(u.Host, e.api.Host) {
		return "", false
	}
	path := u.EscapedPath()
	root := e.apiPath
	if path+"/" == root {
		path = root
	}
	rest, ok := strings.CutPrefix(path, root)
	if !ok {
		return "", false
	}
	local := base + "/" + e.name + "/" + rest
	if u.RawQuery != "" {
		local += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		local += "#" + u.EscapedFragment()
	}
	return local, true
}

// bufferPool recycles the buffers that copy response bodies. It holds
// array pointers, which a slice converts to and from without allocating,
// where a *[]byte would cost an allocation on every Put.
type bufferPool struct{ pool sync.Pool }

const copyBuffer = 32 << 10

func (b *bufferPool) Get() []byte {
	if buf, ok := b.pool.Get().(*[copyBuffer]byte); ok {
		return buf[:]
	}
	return new([copyBuffer]byte)[:]
}

func (b *bufferPool) Put(buf []byte) {
	if len(buf) == copyBuffer {
		b.pool.Put((*[copyBuffer]byte)(buf))
	}
}
