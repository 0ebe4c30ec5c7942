package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/config"
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
	rp      *httputil.ReverseProxy
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
	e := &envProxy{name: ec.Name, conf: ec, src: src, api: api, apiPath: api.EscapedPath()}
	e.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite(e),
		Transport:      &freshtoken.Transport{Source: src, Base: p.upstream},
		ModifyResponse: e.pointLinksAtProxy,
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
	defer func() {
		end := time.Now()
		d := end.Sub(start)
		if p.o.Clock != nil {
			end = p.now()
		}
		p.recent.add(request{At: end, Env: name, Method: r.Method, Path: r.URL.Path, Status: rec.status, Duration: d})
		if p.log.Enabled(r.Context(), slog.LevelDebug) {
			p.log.Debug("proxied request", "env", name, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "bytes", rec.bytes, "duration", d.Round(time.Microsecond))
		}
	}()
	e, err := p.env(r.Context(), name)
	if err != nil {
		status, pr := p.engineProblem(name, err)
		writeError(rec, status, pr)
		return
	}
	// A renewal, once started, is seen through even if this client gives
	// up: the provider may already have rotated the refresh token.
	if _, err := e.src.TokenContext(context.WithoutCancel(r.Context())); err != nil {
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

// upstreamError answers a request the API never answered.
func (p *Proxy) upstreamError(e *envProxy) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		var fe *freshtoken.Error
		if errors.As(err, &fe) {
			e.fail(p.now(), fe)
			status, pr := p.engineProblem(e.name, fe)
			writeError(w, status, pr)
			return
		}
		if errors.Is(err, context.Canceled) {
			w.WriteHeader(http.StatusBadGateway) // the client has gone; nobody reads this
			return
		}
		err = fmt.Errorf("%s: the API at %s could not be reached (%v); check your connection and api_url", e.name, e.api.Host, unwrapURLError(err))
		e.fail(p.now(), err)
		writeError(w, http.StatusBadGateway, problem{Code: "api_unreachable", Env: e.name, Message: err.Error()})
	}
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

// linkTarget finds the URLs in a Link header.
var linkTarget = regexp.MustCompile(`<[^>]*>`)

// pointLinksAtProxy rewrites the URLs of the API's answer that lead back
// under the API (a redirect to another of its pages, pagination links) to
// the same place through the proxy, so a client that follows them keeps
// getting a fresh token. URLs anywhere else are left alone: the client
// follows those on its own, without the token.
func (e *envProxy) pointLinksAtProxy(res *http.Response) error {
	if res.Header["Location"] == nil && res.Header["Content-Location"] == nil && res.Header["Link"] == nil {
		return nil // nearly every answer: nothing to rewrite
	}
	host, _ := res.Request.Context().Value(inbound{}).(string)
	base := "http://" + host
	for _, key := range [...]string{"Location", "Content-Location"} {
		if v := res.Header.Get(key); v != "" {
			if local, ok := e.throughProxy(v, res.Request.URL, base); ok {
				res.Header.Set(key, local)
			}
		}
	}
	links := res.Header["Link"]
	for i, v := range links {
		links[i] = linkTarget.ReplaceAllStringFunc(v, func(ref string) string {
			if local, ok := e.throughProxy(ref[1:len(ref)-1], res.Request.URL, base); ok {
				return "<" + local + ">"
			}
			return ref
		})
	}
	return nil
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
