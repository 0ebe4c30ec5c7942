// Package proxy is freshtoken's local reverse proxy: a request to
// http://127.0.0.1:8787/ENV/<path> reaches <path> under that environment's
// api_url with a fresh Authorization header, so any HTTP client can forget
// about tokens. Its / is a status page with log-in, renew and log-out buttons,
// and /callback completes browser logins.
//
// It serves only requests addressed to its own address and not sent by other
// web pages (no DNS rebinding, no drive-by requests from a browser tab), and,
// on Linux, only programs of its own user and root (see peers); its
// buttons carry a per-process CSRF token. The token goes only to the
// environment's API host: a redirect elsewhere is handed back to the client,
// never followed.
package proxy

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/clock"
	kinds "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/filestamp"
	"github.com/freshtoken/freshtoken/internal/redact"

	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/httpx"
)

// Options configure a Proxy.
type Options struct {
	// Addr is the host:port the proxy listens on, as the person gave it:
	// requests must be addressed to it (in that spelling, or as Listening),
	// and log-ins started here come back to it.
	Addr string
	// Listening is the address the listener is bound to (its Addr), when
	// Addr names it otherwise: a name given with AllowRemote is bound to an
	// address it resolved to, which names the proxy too, in Host headers
	// and in the redirects it refuses. nil: Addr's alone.
	Listening net.Addr
	// AllowRemote serves requests addressed to any IP address of this
	// machine, not only its loopback ones.
	AllowRemote bool
	// Config loads the configuration; the proxy reads it for the list of
	// environments, again whenever it meets one it has not opened yet, and
	// again once the file has changed.
	Config func() (*config.File, error)
	// Open opens an environment's token source. Each is opened when first
	// needed, and kept until the configuration of the environment changes.
	Open   func(ctx context.Context, env string) (*freshtoken.Source, error)
	Logger *slog.Logger     // nil: discard
	Clock  func() time.Time // nil: time.Now; must be the sources' clock; read as the wall clock alone
	// Suggesting, if set, rewrites the freshtoken commands an error message
	// suggests as the command line writes them (naming its --config).
	Suggesting func(msg string) string
	// StartCommand is the command line that starts this proxy again, as it
	// was started (its --config and --listen), for the status page to show
	// once the proxy has stopped; "": freshtoken proxy.
	StartCommand string
	// UserAgent is sent upstream for clients that send none (FreeAgent
	// requires one).
	UserAgent string
	// TLSConfig is used for APIs served over HTTPS; nil: the system's
	// roots.
	TLSConfig *tls.Config
	// UpstreamProxy chooses the HTTP proxy that carries a request to an
	// API, as http.Transport's Proxy does; nil: the HTTPS_PROXY, HTTP_PROXY
	// and NO_PROXY of the environment (http.ProxyFromEnvironment).
	UpstreamProxy func(*http.Request) (*url.URL, error)
	// HeaderTimeout bounds reading a request's header, BodyTimeout each
	// pause in sending its body (and, once the request is answered, the
	// reading of what is left of it, in all), and SendTimeout each pause
	// in taking an answer; a client that takes longer is cut off. None
	// bounds a whole upload or download. Zero: 10 s, 30 s and 60 s.
	HeaderTimeout, BodyTimeout, SendTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request before it is closed (zero: 2 minutes).
	IdleTimeout time.Duration
	// ShutdownGrace is how long requests in flight get to finish once
	// Serve's context ends (zero: 5 s).
	ShutdownGrace time.Duration
	// Stopping, if set, is told when the proxy, asked to stop, waits for
	// requests in flight: how many, and how long it waits at most.
	Stopping func(requests int, grace time.Duration)
	// ReplayBudget bounds the memory that request bodies kept to be sent
	// again after a 401 hold at once; beyond it, bodies stream through
	// once. Zero: 64 MiB.
	ReplayBudget int64
	// ReplayWait bounds how long a body may take to arrive whole to be
	// kept for that retry: one still arriving then is no longer kept (what
	// has come is sent on, the rest streams through once, and its part of
	// the budget is given back), so slow uploads cannot hold the budget.
	// Zero: 5 s.
	ReplayWait time.Duration
	// Banner, if set, gives what a person is needed for now, as the
	// notifications said it, for the top of the status page.
	Banner func() []string
	// Sending, if set, is told as a browser log-in's code is sent to the
	// token endpoint, as freshtoken.Options.Sending is of a renewal: the
	// answer spends the code, so it must be stored before the process
	// ends. The function it returns is called once the answer is stored,
	// or the exchange has failed.
	Sending func(freshtoken.Renewal) func()
	// SecretCommandNotice, if set, is told before an environment's
	// client_secret_cmd runs for a request, a button or a log-in (see
	// config.WithSecretCommandNotice).
	SecretCommandNotice func(env, command string)
}

// Proxy is an http.Handler serving the proxy, its status page and its
// login endpoints.
type Proxy struct {
	o         Options
	guard     guard
	base      string          // http://host:port of the proxy, for links and redirect URIs
	csrf      string          // proves a form was posted by the status page
	loginKey  string          // proves a log-in link was made by a program that asked the grant answer (see vouched)
	noticeKey []byte          // signs the notices of its own redirects to the status page
	upstream  *http.Transport // to the APIs, shared by every environment
	buffers   bufferPool
	timeouts  struct{ header, idle, body, send, shutdown, replay time.Duration }
	// replayBudget is what is left of Options.ReplayBudget.
	replayBudget budget
	log          *slog.Logger
	now          func() time.Time
	control      *http.ServeMux // the status page's forms and the login endpoints

	envs   sync.Map   // name → *envProxy, opened so far and still configured
	openMu sync.Mutex // one opening at a time, so each env is opened once
	// read is the configuration last read without fault, for the status
	// page while the file cannot be read (see served), and what requests
	// look up in it (see reading).
	read atomic.Pointer[reading]

	recent    recentRequests
	logins    logins
	outsiders outsiderWarnings
	peers     *peers

	// background is work that outlives the request that began it.
	background background
	// serving counts the requests whose handlers run, for Stopping.
	serving atomic.Int64
	// draining: the proxy is stopping; answers close their connection,
	// and idle ones are closed (see Serve).
	draining atomic.Bool
	// filesTold is when the log was last told that no connection could
	// be taken for want of files (see outOfFiles).
	filesMu   sync.Mutex
	filesTold time.Time
}

// controlPrefix starts the paths of the proxy's own endpoints. The dot
// keeps them apart from environment names, which cannot contain one.
const controlPrefix = "/.freshtoken/"

// New returns a Proxy for o.
func New(o Options) (*Proxy, error) {
	if o.Config == nil || o.Open == nil {
		return nil, errors.New("proxy: Options.Config and Options.Open are required")
	}
	addr, err := ListenAddr(o.Addr, o.AllowRemote)
	if err != nil {
		return nil, err
	}
	g, err := newGuard(addr, o.AllowRemote)
	if err != nil {
		return nil, err
	}
	// The spelling given (foo.localhost) names the proxy too: a browser
	// opens the address as the person typed it.
	typed, _, _ := net.SplitHostPort(o.Addr)
	g.hosts[httpx.CanonicalHost(typed)] = true
	if bound, ok := o.Listening.(*net.TCPAddr); ok {
		g.listensAt(bound.AddrPort().Addr())
	}
	o.Addr = addr
	p := &Proxy{o: o, guard: g, base: baseURL(o.Addr), csrf: httpx.RandomToken(), loginKey: httpx.RandomToken(), noticeKey: []byte(httpx.RandomToken()), upstream: newTransport(o.TLSConfig, o.UpstreamProxy), log: o.Logger, peers: newPeers(os.Geteuid())}
	redact.Register(p.csrf, p.loginKey)
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.log = p.log.With("component", "proxy")
	// The wall clock alone, as the engine and the store keep times: by
	// the timers' reading, which stands still while the machine sleeps, a
	// log-in begun before a night asleep was still waited for, its
	// browser's answer taken, hours past its timeout.
	p.now = func() time.Time { return clock.Wall(o.Clock) }
	p.logins.timers = o.Clock
	if p.logins.timers == nil {
		p.logins.timers = time.Now
	}
	p.timeouts.header = cmp.Or(o.HeaderTimeout, headerTimeout)
	p.timeouts.body = cmp.Or(o.BodyTimeout, bodyIdleTimeout)
	p.timeouts.send = cmp.Or(o.SendTimeout, sendTimeout)
	p.timeouts.idle = cmp.Or(o.IdleTimeout, idleTimeout)
	p.timeouts.shutdown = cmp.Or(o.ShutdownGrace, shutdownGrace)
	p.timeouts.replay = cmp.Or(o.ReplayWait, replayWait)
	p.replayBudget.give(cmp.Or(o.ReplayBudget, defaultReplayBudget))
	p.background.ctx, p.background.cancel = context.WithCancel(config.WithSecretCommandNotice(context.Background(), o.SecretCommandNotice))
	p.control = http.NewServeMux()
	p.control.HandleFunc("GET "+controlPrefix+"static/", serveStatic)
	p.control.HandleFunc("POST "+controlPrefix+"envs/{env}/login", p.handleLoginButton)
	p.control.HandleFunc("POST "+controlPrefix+"envs/{env}/renew", p.handleRenewButton)
	p.control.HandleFunc("POST "+controlPrefix+"envs/{env}/logout", p.handleLogoutButton)
	p.control.HandleFunc("GET "+controlPrefix+"envs/{env}/login", p.handleLoginLink)
	p.control.HandleFunc("GET "+controlPrefix+"envs/{env}/grant", p.handleGrant)
	p.control.HandleFunc("GET "+controlPrefix+"envs/{env}/attempts/{attempt}", p.handleAttempt)
	return p, nil
}

// Base is the proxy's own URL, as this machine reaches it: a proxy
// listening on every address (--allow-remote) at 127.0.0.1.
func (p *Proxy) Base() string { return p.base }

// baseURL is the proxy's own URL for addr; a proxy listening on every
// address is reached from this machine at 127.0.0.1.
func baseURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// newTransport keeps connections to each API alive for the next request and
// leaves compression to the client, so bodies pass through unchanged. An
// answer's header past httpx.MaxAnswerHeader is not read (502 api_unreadable).
// A connection whose API stops answering PINGs is dropped (httpx.PingHTTP2).
func newTransport(tlsConfig *tls.Config, proxy func(*http.Request) (*url.URL, error)) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig.Clone()
	}
	if proxy != nil {
		t.Proxy = proxy
	}
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.DisableCompression = true
	t.MaxResponseHeaderBytes = httpx.MaxAnswerHeader
	httpx.PingHTTP2(t)
	dial := t.DialContext
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &answerFirstConn{Conn: c, readEnded: make(chan struct{})}, nil
	}
	return t
}

// answerGrace bounds how long a failed write to an API waits for the
// connection's reading to end (see answerFirstConn).
const answerGrace = 5 * time.Second

// answerFirstConn is a connection to an API whose failed writes, once it
// carries HTTP, wait for its reading to end (or the connection to close)
// before they fail. An API that answers a request before reading its body
// (413, 401) and closes the connection makes the write of the body fail;
// net/http's transport then drops the answer if the write's failure
// reaches it first, and the client got 502 api_unreachable for an API
// that had answered. The wait lets the answer, already received, be read
// first. A connection carries HTTP once the transport hands it to a
// request (see carryingHTTP): from then on the transport's reader reads
// whatever comes, however late it is scheduled. Before, it may be in a TLS
// handshake or an HTTP proxy's CONNECT, whose writer is its only reader:
// a wait there would only hold up the failure.
type answerFirstConn struct {
	net.Conn
	readEnded chan struct{}
	once      sync.Once
	http      atomic.Bool // handed to a request
}

func (c *answerFirstConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.end()
	}
	return n, err
}

func (c *answerFirstConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && c.http.Load() {
		wait := time.NewTimer(answerGrace)
		defer wait.Stop()
		select {
		case <-c.readEnded:
		case <-wait.C:
		}
	}
	return n, err
}

func (c *answerFirstConn) Close() error {
	c.end()
	return c.Conn.Close()
}

func (c *answerFirstConn) end() { c.once.Do(func() { close(c.readEnded) }) }

// carryingHTTP is req, whose connection, when the transport hands it one,
// is marked as carrying HTTP (see answerFirstConn), under any TLS.
func carryingHTTP(req *http.Request) *http.Request {
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		c := info.Conn
		for {
			switch cc := c.(type) {
			case *answerFirstConn:
				cc.http.Store(true)
				return
			case interface{ NetConn() net.Conn }: // *tls.Conn
				c = cc.NetConn()
			default:
				return
			}
		}
	}}
	return req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
}

// CloseWrite passes a client's end of its stream on to the API after a
// switch of protocols, as the ReverseProxy does (a TCP half-close, as
// docker attach sends when its input ends); without it, the ReverseProxy
// tore down both sides, and what the API sent after was lost.
func (c *answerFirstConn) CloseWrite() error { return httpx.CloseWrite(c.Conn) }

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.serving.Add(1)
	defer p.serving.Add(-1)
	path := r.URL.Path
	if r.Body != nil && r.Body != http.NoBody {
		// On a copy: the server goes on seeing its own body, so that an
		// answer sent before the body was asked for (Expect:
		// 100-continue) goes out at once, and ends the connection.
		body := &idleBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: p.timeouts.body,
			continues: r.ProtoAtLeast(1, 1) && strings.EqualFold(r.Header.Get("Expect"), "100-continue")}
		r = r.WithContext(r.Context())
		r.Body = body
		// Every answer, not only the API's: one the proxy made itself
		// without reading the body (a refusal, an unknown environment,
		// a log-in needed) was held back while the server read what was
		// left of it, with no time limit, so a client that stopped
		// sending held its connection and a goroutine for as long as it
		// stayed.
		defer body.finish()
	}
	if why := p.peerRefusal(r); why != "" {
		w.Header().Set("Connection", "close") // its next requests would be refused alike
		writeKind(w, kinds.Forbidden, problem{Message: why})
		return
	}
	callback := p.logins.isCallback(path, r.URL.RawQuery)
	host := r.Host
	if callback && p.logins.awaitsAt(host, p.now()) {
		host = p.guard.addr // where this proxy sent the browser back to, by its redirect URI's name
	}
	why := p.guard.refusal(host, r.Header.Get("Origin"))
	if why == "" {
		// Asked only of a request addressed to the proxy and sent by no
		// other web page: it reads the configuration, which the guard
		// keeps from them.
		callback = callback || p.answerAtRedirectPath(path, r.URL.RawQuery)
		// Only a browser opening a page may come from another site: a
		// script's fetch (Sec-Fetch-Mode cors, no-cors or same-origin)
		// may not.
		mode := r.Header.Get("Sec-Fetch-Mode")
		navigation := (r.Method == http.MethodGet || r.Method == http.MethodHead) && (mode == "" || mode == "navigate") &&
			(path == "/" || path == "/favicon.ico" || callback || strings.HasPrefix(path, controlPrefix+"static/"))
		why = crossSite(r.Header.Get("Sec-Fetch-Site"), navigation)
	}
	if why != "" {
		switch {
		case r.Method == "PRI" && r.ProtoMajor == 2:
			// HTTP/2's connection preface, which net/http's server reads
			// as a request with no Host: a client speaking HTTP/2 from the
			// start (prior knowledge). Its answer goes in HTTP/1.1, which
			// such a client cannot read: it is for the proxy's log.
			why = fmt.Sprintf("the client spoke HTTP/2 from the start (prior knowledge, as curl --http2-prior-knowledge does), which freshtoken's proxy does not: send HTTP/1.1 (leave out --http2-prior-knowledge; curl --http2 works, its offer to switch declined) to http://%s/ENV/ and the API's path",
				p.guard.addr)
		case (r.Method == http.MethodConnect || r.URL.IsAbs()) && !p.guard.own(r.Host):
			// Set as Postman's or the system's HTTP proxy: a request for
			// the API's own URL, not one with a Host of the client's own.
			why = fmt.Sprintf("the request came for %s as through an HTTP proxy, but freshtoken is not an HTTP proxy for your client's or system's proxy settings: take it out of them, and send each request to http://%s/ENV/ and the API's path (http://%s/ENV/v2/company)",
				redact.OneLine(r.Host, 200), p.guard.addr, p.guard.addr)
		}
		_, shown := shownRequest(r.URL)
		p.warnOutsider("request refused", "method", r.Method, "host", r.Host, "origin", r.Header.Get("Origin"), "path", shown, "reason", why)
		writeKind(w, kinds.Forbidden, problem{Message: why})
		return
	}
	switch {
	case callback: // first: a redirect_uri may name "/"
		p.handleCallback(w, r)
	case path == "/":
		p.handleStatusPage(w, r)
	case path == "/favicon.ico":
		serveFavicon(w, r)
	case strings.HasPrefix(path, controlPrefix):
		p.control.ServeHTTP(w, r)
	default:
		p.forward(w, r)
	}
}

// answerAtRedirectPath reports whether a request for path?rawQuery is a
// browser coming back from a log-in that the proxy did not start (`freshtoken
// login --manual`, waiting for the address pasted): with a state and a code
// or an error, at the redirect path of an environment whose redirect URI
// names this proxy. Taken for the API's, it got the JSON 404 of an unknown
// environment, and the person read "not found" and gave up; handleCallback
// says to paste the address.
func (p *Proxy) answerAtRedirectPath(path, rawQuery string) bool {
	if !strings.Contains(rawQuery, "state=") {
		return false
	}
	q, _ := url.ParseQuery(rawQuery)
	if !q.Has("state") || !q.Has("code") && !q.Has("error") {
		return false
	}
	if p.read.Load() == nil {
		p.config() // the first request: what it names is read as for any other
	}
	last := p.read.Load()
	return last != nil && last.redirectPaths[cmp.Or(path, "/")]
}

// env returns the named environment's proxy, opening it the first time.
func (p *Proxy) env(ctx context.Context, name string) (*envProxy, error) {
	if e, ok := p.envs.Load(name); ok && e.(*envProxy).servable() {
		return e.(*envProxy), nil
	}
	p.openMu.Lock()
	defer p.openMu.Unlock()
	var cached *envProxy
	if e, ok := p.envs.Load(name); ok {
		cached = e.(*envProxy)
		if cached.servable() {
			return cached, nil
		}
	}
	// The file's stamp (identity, time, size, mode) is taken before it is read: an edit made
	// while it is read (or while the reading waits for another's, as the
	// CLI's readers share one) makes them out of date, and the file is read again
	// at the next request. Taken after, they were the edited file's, and
	// the environment was served as read before the edit until the file
	// changed again. Before the first reading names the file, they are
	// none, which the next request reads again for; so they are for a
	// reading of a file changed moments before it (config.File.Settled):
	// kept, an edit of the same size within the tick of the file system's
	// clock was never served.
	var stamp filestamp.Stamp
	if last := p.read.Load(); last != nil {
		stamp = filestamp.StampOf(last.conf.Path)
	}
	conf, err := p.config()
	if err != nil {
		// A file caught mid-edit, or gone: serve on as opened, unless
		// read without it since.
		if cached != nil && cached.unnamed.Load() == nil {
			return cached, nil
		}
		return nil, err
	}
	if stamp.Path() != conf.Path || !conf.Settled {
		stamp = filestamp.Stamp{}
	}
	ec := conf.Envs[name]
	if ec == nil {
		return nil, &unknownEnvError{name: name, configured: conf.Names()}
	}
	if cached != nil && reflect.DeepEqual(cached.conf, ec) && cached.storeURL == conf.StoreURL && cached.caFile == conf.CAFile {
		cached.opened.Store(&stamp) // the file changed, but not this environment
		return cached, nil
	}
	src, err := p.o.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	e, err := p.newEnvProxy(ec, src)
	if err != nil {
		return nil, err
	}
	e.storeURL, e.caFile = conf.StoreURL, conf.CAFile
	e.opened.Store(&stamp)
	p.envs.Store(name, e)
	p.log.Debug("environment opened", "env", name, "api_url", src.APIURL(), "store", src.Location(), "reopened", cached != nil)
	return e, nil
}

// letGoAfter is how long after a reading of the configuration first named
// an environment no more a later one must still not name it for its
// source to be let go: longer than an editor takes to save the file.
const letGoAfter = time.Second

// config reads the configuration. Read without fault, it is kept for the
// status page (see served), and the environments it names no more are
// served no more from that reading on (see unnamed), not even from memory
// once the file cannot be read (moved away, caught mid-edit): a removed
// environment was served again, its tokens forgotten in the store. Their
// sources, holding their tokens and client secrets, are let go at a
// reading letGoAfter later still without them, as the keeper ends a watch
// at its second look: one reading may catch an editor saving the file in
// place, empty for a moment, and a log-in under way (its pending answer,
// its device code on the page) or the last failure the page shows would
// go with the environment let go of, though it is named again at once.
func (p *Proxy) config() (*config.File, error) {
	conf, err := p.o.Config()
	if err != nil {
		return nil, err
	}
	if last := p.read.Load(); last == nil || last.conf != conf {
		// Worked out again only for a new reading: the status page asks
		// for the configuration every 2 s, the file unchanged (a network
		// address this machine gains later is seen at the next edit).
		p.read.Store(p.newReading(conf))
	}
	now := p.now()
	p.envs.Range(func(name, v any) bool {
		e := v.(*envProxy)
		switch since := e.unnamed.Load(); {
		case conf.Envs[name.(string)] != nil:
			e.unnamed.Store(nil)
		case since == nil || now.Before(*since):
			// Counted afresh from a clock set back since it was first
			// missed: counted from then, it was held as long as the
			// clock went back.
			e.unnamed.CompareAndSwap(since, &now)
		case now.Sub(*since) >= letGoAfter:
			p.envs.CompareAndDelete(name, e)
		}
		return true
	})
	return conf, nil
}

// reading is a reading of the configuration, with what requests look up
// in it worked out once, not at each request.
type reading struct {
	conf *config.File
	// loopedFrom is, by name, the environment other than it whose api_url
	// is this proxy's address for it (see sentByLoop).
	loopedFrom map[string]*config.Env
	// redirectPaths are the paths of the redirect URIs that name this
	// proxy (see redirectURI): where a browser comes back from a log-in,
	// the proxy's or `freshtoken login --manual`'s, which does not listen.
	redirectPaths map[string]bool
}

func (p *Proxy) newReading(conf *config.File) *reading {
	r := &reading{conf: conf, loopedFrom: map[string]*config.Env{}, redirectPaths: map[string]bool{}}
	for _, name := range conf.Names() {
		other := conf.Envs[name]
		if uri := p.redirectURI(other); uri == other.RedirectURI {
			if u, err := url.Parse(uri); err == nil {
				r.redirectPaths[cmp.Or(u.Path, "/")] = true
			}
		}
		u, err := url.Parse(other.APIURL)
		if err != nil || !p.guard.pointsHere(u) {
			continue
		}
		if first, _ := splitEnv(u.EscapedPath()); first != name && r.loopedFrom[first] == nil {
			r.loopedFrom[first] = other
		}
	}
	return r
}

// servable reports whether e may be served without reading the
// configuration again: named by the last reading, and the file unchanged
// since e was opened from it.
func (e *envProxy) servable() bool {
	return e.unnamed.Load() == nil && e.opened.Load().Current()
}

// served is the configuration last read without fault, cut to the
// environments opened from it and served still, as the file can no longer
// be read (moved away, deleted, a mistake made in it); nil if none was.
func (p *Proxy) served() *config.File {
	last := p.read.Load()
	if last == nil {
		return nil
	}
	c := *last.conf
	c.Envs = map[string]*config.Env{}
	p.envs.Range(func(name, v any) bool {
		if e := v.(*envProxy); e.unnamed.Load() == nil {
			c.Envs[name.(string)] = e.conf
		}
		return true
	})
	return &c
}

type unknownEnvError struct {
	name       string
	configured []string
	// path is the request's escaped path, when it was a request for the
	// API and its first part reads as an API's (v2, 2.0): the client's base
	// URL lacks the environment, and is shown where it goes.
	path string
}

// Error names the environment as the path wrote it only when it reads as
// a name (redact.Name): a token written there by mistake is not said back.
func (e *unknownEnvError) Error() string {
	if len(e.configured) == 0 {
		return fmt.Sprintf("no environment named %s is configured, nor any other; add one with `%s`", redact.Name(e.name), configfile.InitCommand(e.name))
	}
	msg := fmt.Sprintf("no environment named %s is configured; use one of: %s", redact.Name(e.name), strings.Join(e.configured, ", "))
	// The path begins with the name: not shown when the name is not.
	if first := strings.ToLower(e.name); e.path != "" && !redact.MayBeSecret(e.name) && (strings.HasPrefix(first, "v") && strings.IndexAny(first, "0123456789") == 1 || strings.Contains(first, ".")) {
		// Postman's {{base}} set to the proxy's address alone.
		msg += fmt.Sprintf(", first in the path: /ENV%s", redact.OneLine(e.path, 200))
	}
	return msg
}

// problem is the JSON body of every answer the proxy makes itself, as
// opposed to passing on the API's: an error code for programs, and a
// message for people saying what to do.
type problem struct {
	Code       string   `json:"error"`
	Env        string   `json:"env,omitempty"`
	Message    string   `json:"message"`
	Configured []string `json:"configured,omitempty"`
	StatusPage string   `json:"status_page,omitempty"`
	// retryAfter, when above zero, is sent as Retry-After: how long until
	// asking again may succeed.
	retryAfter time.Duration
}

// errorHeader marks an answer as the proxy's own, not the API's, and carries
// its code.
const errorHeader = "X-Freshtoken-Error"

// writeKind answers pr with the status and code that the table of failure
// kinds gives kind.
func writeKind(w http.ResponseWriter, kind kinds.Kind, pr problem) {
	row := kind.Row()
	pr.Code = row.Code
	writeError(w, row.Status, pr)
}

func writeError(w http.ResponseWriter, status int, pr problem) {
	w.Header().Set(errorHeader, pr.Code)
	if pr.retryAfter > 0 {
		// Whole seconds, rounded up: a client that waits this long finds
		// the rest over.
		w.Header().Set("Retry-After", strconv.FormatInt(int64((pr.retryAfter+time.Second-1)/time.Second), 10))
	}
	writeJSON(w, status, pr)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff") // it may quote what a client sent
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// secretWhere says where env's client secret comes from, as the
// environment is open here, for the step after the provider refused its
// client (config.Env.ClientSecretWhere: "$FREEAGENT_SECRET", never the
// secret); "" for an environment not open.
func (p *Proxy) secretWhere(env string) string {
	if e, ok := p.envs.Load(env); ok {
		return e.(*envProxy).conf.ClientSecretWhere()
	}
	return ""
}

// engineProblem answers err, a failure to get a token or to log in, with the
// status and code the table of failure kinds gives it, the same kinds the
// command line's exit codes follow.
func (p *Proxy) engineProblem(env string, err error) (int, problem) {
	var unknown *unknownEnvError
	if errors.As(err, &unknown) {
		row := kinds.UnknownEnv.Row()
		return row.Status, problem{Code: row.Code, Message: err.Error(), Configured: unknown.configured}
	}
	kind := kinds.Of(err)
	row := kind.Row()
	pr := problem{Env: env, Code: row.Code, Message: err.Error()}
	if fe := (*freshtoken.Error)(nil); errors.As(err, &fe) && !fe.RetryAt.IsZero() {
		pr.retryAfter = fe.RetryAt.Sub(p.now())
	}
	if next := kinds.NextNaming(err, env, p.secretWhere); next != "" {
		pr.Message += "; " + next
	}
	pr.Message = p.suggest(pr.Message)
	if kind == kinds.LoginNeeded || kind == kinds.LoginRefused {
		pr.StatusPage = p.base + "/"
		pr.Message += fmt.Sprintf(", or open %s/ and click Log in", p.base)
	}
	if row.Status == 0 {
		return kinds.Unexpected.Row().Status, pr
	}
	return row.Status, pr
}
