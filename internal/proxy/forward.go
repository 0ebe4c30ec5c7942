package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	kinds "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/filestamp"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/stallwatch"
	"github.com/freshtoken/freshtoken/store"
)

// maxReplayBody is the largest request body kept in memory, so that it can
// be sent again after a 401; a larger body streams through once, and a 401
// answering it is passed back to the client.
const maxReplayBody = 1 << 20

// defaultReplayBudget bounds the memory all the bodies kept for a retry
// hold at once (Options.ReplayBudget).
const defaultReplayBudget = 64 << 20

// replayWait is how long a body may take to arrive whole to be kept for a
// retry (Options.ReplayWait); one that takes longer streams through once.
// A client of the proxy sends a body of up to maxReplayBody in a few
// milliseconds over the loopback, and in well under a second over a LAN
// (--allow-remote); 5 s leaves room for a machine under load. Without the
// bound, a client sending a byte every 29 s (under the 30 s between two
// reads that cuts it off) held up to maxReplayBody of the budget for as long
// as it liked, and a few such clients left every other request without
// its retry. It is not the environment's timeout, which bounds the API's
// silence: the budget is the whole proxy's, and the client's pace is not
// the API's.
const replayWait = 5 * time.Second

// envProxy forwards one environment's requests to its API.
type envProxy struct {
	name    string
	conf    *config.Env
	src     *freshtoken.Source
	api     *url.URL // ends in "/"
	apiPath string   // api.EscapedPath(), computed once
	// storeURL and caFile are the configuration's [store] url and ca_file,
	// which the environment was opened with, beside conf.
	storeURL, caFile string
	// opened is the configuration file as it was when the environment was
	// opened from it; once the file changes, the environment is opened
	// again if its configuration has.
	opened atomic.Pointer[filestamp.Stamp]
	// unnamed is when a reading of the configuration without fault first
	// named the environment no more, nil while it does: from then on it is
	// not served (see Proxy.config).
	unnamed atomic.Pointer[time.Time]
	// loops: api is this proxy's own address, where every request would
	// come back to it.
	loops   bool
	rp      *httputil.ReverseProxy
	lastErr atomic.Pointer[failure]     // nil once a later request or log-in has succeeded
	device  atomic.Pointer[deviceLogin] // a device log-in waiting for the person, if any
	// starting is held while a device log-in is started, so that Log in
	// pressed in two tabs at once starts one.
	starting sync.Mutex
	// log is the proxy's log, told once when the token store starts
	// failing the environment and once when it works again. noted counts
	// the failures noted (fail); storeFailing is the count at the first of
	// the store's since it last worked, 0 while it works.
	log          *slog.Logger
	noted        atomic.Uint64
	storeFailing atomic.Uint64
	// stall is the token store's, as the requests' token calls see it.
	stall storeStall
	// undiscovered is when discovering the issuer's endpoints for
	// toTokenEndpoint last failed, if it did.
	undiscovered atomic.Pointer[time.Time]
	// cookieNames are the names of the cookies the API has set through the
	// proxy, up to maxCookieNames: of a browser's cookies, only these go to
	// the API (see keepOwnCookies).
	cookieMu    sync.Mutex
	cookieNames map[string]bool
}

// maxCookieNames is the most cookie names an environment keeps of those
// its API set; a hostile API's endless new names are not kept, and a
// browser's cookies of those names are not sent.
const maxCookieNames = 64

// failure is the last thing that went wrong in an environment, for the status page.
type failure struct {
	At          time.Time
	Msg         string
	LoginNeeded bool       // a log-in is what fixes it
	Kind        kinds.Kind // as the table of failure kinds sorts it
	noted       uint64     // envProxy.noted, counting this one
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
	upstream := p.upstream
	if ec.CAFile != "" { // its own certificate authorities, trusted for its API alone
		t, err := ec.Transport()
		if err != nil {
			return nil, err
		}
		upstream = newTransport(t.TLSClientConfig, p.o.UpstreamProxy)
	}
	e := &envProxy{name: ec.Name, conf: ec, src: src, api: api, apiPath: api.EscapedPath(), loops: p.guard.pointsHere(api), log: p.log}
	e.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite(e),
		Transport:      &freshtoken.Transport{Source: src, Base: upstreamTransport{httpx.Bounded{Base: httpx.ExplainTLS(upstream), Wait: ec.Timeout}}, IdleTimeout: ec.Timeout},
		ModifyResponse: p.modifyResponse(e),
		ErrorHandler:   p.upstreamError(e),
		BufferPool:     &p.buffers,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	return e, nil
}

// fail notes err as the environment's last failure, for the status page,
// any secret it names masked (redact.Scrub), as the log masks it: one
// quoting a request's path may hold the access token. A failing token
// store (a full or read-only disk, Redis down or stalled, a locked
// keychain) is also logged, once until it works again, however many
// requests it fails: the clients get 503, and the person reading the
// proxy's log (or the service's journal) learns from it what to mend.
func (e *envProxy) fail(at time.Time, err error) {
	kind, n := kinds.Of(err), e.noted.Add(1)
	e.lastErr.Store(&failure{At: at, Msg: redact.Scrub(err.Error()), LoginNeeded: errors.Is(err, freshtoken.ErrLoginRequired), Kind: kind, noted: n})
	if kind == kinds.StoreUnreachable && e.storeFailing.CompareAndSwap(0, n) {
		e.log.Warn("the token store is failing; requests that need it are answered 503 until it works again", "env", e.name, "error", err.Error())
	}
}

// succeed clears the failures noted so far: a log-in or a renewal was
// stored.
func (e *envProxy) succeed() { e.succeedAfter(e.noted.Load()) }

// succeedAfter clears the failures among the first mark noted: a request
// begun when mark were noted has been answered by the API. The last
// failure is cleared, and, if the token store was failing, the log told
// that it works again, at the level its failure was told, so that whoever
// saw the one sees the other. A token merely had for a request is no such
// sign (one the API refuses, renewed, meets the failing store again: the
// log said the store worked and failed at every request), nor an answer
// to a request begun before the failure (one the API took long over).
func (e *envProxy) succeedAfter(mark uint64) {
	if f := e.lastErr.Load(); f != nil && f.noted <= mark {
		e.lastErr.CompareAndSwap(f, nil)
	}
	if first := e.storeFailing.Load(); first != 0 && first <= mark && e.storeFailing.CompareAndSwap(first, 0) {
		e.log.Warn("the token store works again", "env", e.name)
	}
}

// sentByLoop returns the environment, other than name, whose api_url is
// this proxy's address for name, when r comes with an Authorization of
// its own: freshtoken's command line or a Go program sent it with that
// environment's token, and forwarded it would go with name's, another
// environment's request made in this one (a sandbox's POST made in
// production). nil when r comes with no Authorization (a client such as
// Postman sends none, and the proxy adds it) or no other environment's
// api_url is this proxy's address for name.
func (p *Proxy) sentByLoop(name string, r *http.Request) *config.Env {
	read := p.read.Load()
	if read == nil || r.Header.Get("Authorization") == "" {
		return nil
	}
	return read.loopedFrom[name]
}

// inbound carries the proxy's host:port, as the client wrote it in Host, to
// the rewriting of the API's answer, and the request's body to the
// answering of a failure.
type inbound struct{}

type inboundRequest struct {
	host string
	body *idleBody // nil: none
	mark uint64    // the environment's failures noted as the request began (see envProxy.succeedAfter)
}

// forward proxies r to its environment's API, then lists it among the
// recent requests and logs it on one line.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name, _ := splitEnv(r.URL.EscapedPath())
	rec := &recorder{ResponseWriter: w, http10: !r.ProtoAtLeast(1, 1)}
	defer func() { p.noteRequest(start, r.Method, r.URL, rec.status, rec.bytes) }()
	e, err := p.env(r.Context(), name)
	if err != nil {
		if unknown := (*unknownEnvError)(nil); errors.As(err, &unknown) {
			unknown.path = r.URL.EscapedPath()
		}
		status, pr := p.engineProblem(name, err)
		writeError(rec, status, pr)
		return
	}
	if method, header := refusedMethod(r); method != "" {
		asked, next := method+" requests", "send it with another method"
		if header != "" {
			asked, next = fmt.Sprintf("requests whose %s header asks for %s", header, method), "remove that header"
		}
		rec.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		writeKind(rec, kinds.MethodNotAllowed, problem{Env: name,
			Message: fmt.Sprintf("%s: the proxy does not forward %s: they would hand the access token to the client or ask for a tunnel; %s", name, asked, next)})
		return
	}
	if e.loops {
		// Postman's base URL, which points here, imported as the API's.
		status, pr := p.engineProblem(name, config.Invalidf("%s: api_url %s is this proxy's own address, so each request would come back to it for ever; set api_url to the API's own address (FreeAgent: https://api.freeagent.com/ or https://api.sandbox.freeagent.com/), as only your client's base URL points at the proxy", name, e.api))
		writeError(rec, status, pr)
		return
	}
	if other := p.sentByLoop(name, r); other != nil {
		status, pr := p.engineProblem(name, config.Invalidf("%s: api_url %s is this proxy's address for %s, so a request made for %s (this one, which came with a token of its own) would be sent on with %s's token; set %s's api_url to the API's own address (FreeAgent: https://api.freeagent.com/ or https://api.sandbox.freeagent.com/), as only your client's base URL points at the proxy", other.Name, other.APIURL, name, other.Name, name, other.Name))
		writeError(rec, status, pr)
		return
	}
	// The path as the API may read it, for both checks below. The
	// api_url's part holds no dot segment (the configuration refuses
	// one), and ends in a slash, so any the readings hold are the
	// request's.
	_, rest := splitEnv(r.URL.EscapedPath())
	readings, settled := httpx.PathReadings(e.apiPath + rest)
	if e.toTokenEndpoint(r.Context(), readings) {
		// Postman's old pre-request script, left in place once its base
		// URL points here, would spend a refresh token freshtoken has
		// replaced, and the provider would end the grant.
		writeKind(rec, kinds.TokenEndpoint, problem{Env: name,
			Message: name + ": the proxy does not forward requests to the provider's token endpoint: freshtoken renews this environment's tokens itself, and a refresh token sent by another program could end the authorisation; delete the pre-request script that renews tokens"})
		return
	}
	if !settled {
		// No ordinary path is encoded so deep, and it was told that it
		// held a dot segment, which it may not.
		writeKind(rec, kinds.Usage, problem{Env: name,
			Message: name + ": the request's path is encoded in more layers or ways than the proxy reads (percent-encoded over and over, or overlong UTF-8 that reads many ways), so whether it hides a dot segment, which the API could resolve to a path outside this environment's api_url, cannot be told; send the path decoded"})
		return
	}
	if httpx.DotSegmentIn(readings, settled) {
		writeKind(rec, kinds.Usage, problem{Env: name,
			Message: name + ": the request's path holds a dot segment (. or .., plain, percent-encoded once or more, or in overlong UTF-8), which the API could resolve to a path outside this environment's api_url; send the path resolved"})
		return
	}
	// Asked here, before forwarding, so that a log-in needed or a provider
	// down is answered as the proxy's own JSON error. (A renewal the engine
	// has started is seen through even if this client gives up.)
	mark := e.noted.Load()
	if err := p.token(r.Context(), e); err != nil {
		if errors.Is(err, errStopping) || errors.Is(context.Cause(r.Context()), errStopping) {
			writeKind(rec, kinds.Interrupted, stoppingProblem(name, false))
			return
		}
		e.fail(p.now(), err)
		status, pr := p.engineProblem(name, err)
		writeError(rec, status, pr)
		return
	}
	in := inboundRequest{host: r.Host, mark: mark}
	in.body, _ = r.Body.(*idleBody)
	out := r.WithContext(boundingInterim(context.WithValue(r.Context(), inbound{}, in)))
	held, err := p.keepForRetry(out)
	defer p.replayBudget.give(held)
	if err != nil {
		p.bodyProblem(rec, name, err)
		return
	}
	e.rp.ServeHTTP(rec, out)
}

// refusedMethod is the method r asks for, in upper case, when the proxy
// does not forward it, and the header that asks for it ("" for the
// request line), or "". The rule is what the method does, not a list
// of those allowed: every other method goes on, WebDAV's and an API's own
// among them. An API answering TRACE (or TRACK, IIS's own) echoes the
// request back, with the Authorization header this proxy adds: the access
// token would be the client's to take. CONNECT asks for a tunnel, which
// this proxy does not make. A method override (X-HTTP-Method-Override and
// its kin, which frameworks read on a POST) asks for the method it names,
// or for the first of a list (Express's method-override reads "TRACK,
// GET" as TRACK): each one named is read. An API's echo under another
// name is caught by its answer (see echoedRequest).
func refusedMethod(r *http.Request) (method, header string) {
	if m := strings.ToUpper(r.Method); refused(m) {
		return m, ""
	}
	for _, h := range methodOverrides {
		for _, v := range r.Header.Values(h) {
			for m := range strings.SplitSeq(v, ",") {
				if m = strings.ToUpper(strings.TrimSpace(m)); refused(m) {
					return m, h
				}
			}
		}
	}
	return "", ""
}

// refused reports whether the proxy refuses method, in upper case (see
// refusedMethod).
func refused(method string) bool {
	return method == http.MethodTrace || method == "TRACK" || method == http.MethodConnect
}

// methodOverrides are the headers with which frameworks (Rails, Express's
// method-override, Symfony, ASP.NET, Google's APIs) take a request's
// method from its header rather than its request line.
var methodOverrides = []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}

// token gets e's token for a client's request (Source.TokenContext), but
// waits for a token store that stopped answering (Redis paused, or behind a
// lost connection) no longer than e's timeout: once the request has waited
// the timeout while a call to the store has gone unanswered for
// store.StallNotice, it is storeStalledError, which the log tells of once a
// stall (see envProxy.fail). The store's own wait, its tries again
// included, may be much longer (read_timeout in the store's URL), and the
// client, holding its request all that time, took the proxy for hung. A
// stalled call that is answered ends the stall: what the request waits for
// after it (the provider) is not the store's; so does the end of the
// renewal a call given up unanswered held up (the engine tells it), the
// next renewal telling whether the store answers.
//
// The call is made for the proxy, not for the client: it lasts until it
// ends or the proxy stops (a token request sent by then is still stored:
// freshtoken.Options.Sending), however soon the client goes, its outcome
// kept for the requests after. So a renewal left going at a stall, its
// client served the token still valid (by the engine, which tells the
// stall, and then its end, to a request that joins the renewal once that
// token no longer serves it), is one for the whole stall, which
// every request after shares, served at once: a renewal that ended with its request was begun again by
// the next, each request waiting the stall out again (store.StallNotice).
// A request that comes once the stall is known joins the renewal under way
// for as long as it waits, and no longer: each such call went on until
// the renewal ended (Redis's own wait, a minute or more), a busy client's
// requests leaving thousands behind.
func (p *Proxy) token(ctx context.Context, e *envProxy) error {
	life := p.background.ctx
	call := life
	if what, _, _ := e.stall.state(); what != "" {
		var cancel context.CancelFunc
		call, cancel = context.WithCancel(life)
		defer cancel()
	}
	got := make(chan error, 1)
	go func() {
		_, err := e.src.TokenContext(store.WithStalled(call, e.stall.tell))
		got <- err
	}()
	timeout := time.NewTimer(e.conf.Timeout)
	defer timeout.Stop()
	for late := false; ; {
		what, since, changed := e.stall.state()
		if late && what != "" {
			return &storeStalledError{env: e.name, store: what, unanswered: stallwatch.Unanswered(since, time.Now()), timeout: e.conf.Timeout}
		}
		select {
		case err := <-got:
			if err != nil && life.Err() != nil {
				return errStopping
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-timeout.C:
			late = true
		}
	}
}

// storeStall is the stall of an environment's token store as the calls
// of Proxy.token are told it, all of them: each waits for the one renewal
// in flight, which tells the call that began it and those that joined it
// while they wait.
type storeStall struct {
	mu      sync.Mutex
	what    string        // the store whose call has gone unanswered, while one has
	since   time.Time     // when that call was sent
	changed chan struct{} // closed at the next change; nil until asked for
}

// tell is the listener of the calls (store.WithStalled).
func (s *storeStall) tell(what string, stalled bool, since time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case stalled && s.what == "":
		s.what, s.since = what, since
	case !stalled && s.what == what:
		s.what = ""
	default:
		return
	}
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// state returns the store stalled ("" for none), when its call was sent,
// and a channel closed at the next change.
func (s *storeStall) state() (what string, since time.Time, changed <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.what, s.since, s.changed
}

// storeStalledError is a request whose token the store did not give within
// the environment's timeout, the store having left a call unanswered for
// as long as unanswered (stallwatch.Unanswered; store.StallNotice at
// least, so more than a timeout shorter than that).
type storeStalledError struct {
	env, store          string
	unanswered, timeout time.Duration
}

func (e *storeStalledError) Error() string {
	return fmt.Sprintf("%s: %s has not answered for %s, and no token could be had from it within the environment's timeout (%s); check that it is running and answering, then try again", e.env, e.store, e.unanswered, e.timeout)
}

func (e *storeStalledError) Unwrap() error { return store.ErrUnreachable }

// toTokenEndpoint reports whether a request would go to the provider's
// token or revocation endpoint, its path read as an API would read it:
// readings, its path under the API's percent-decoded (once or more, see
// httpx.PathReadings), routed as the most lenient servers route it (see
// routedPath), or with a format suffix (token_endpoint.json, which Rails
// routes to token_endpoint).
func (e *envProxy) toTokenEndpoint(ctx context.Context, readings []string) bool {
	ep := e.tokenEndpoints(ctx)
	var endpoints []string
	for _, endpoint := range []string{ep.TokenURL, ep.RevocationURL} {
		u, err := url.Parse(endpoint)
		if err == nil && endpoint != "" && httpx.SameOrigin(u, e.api) {
			endpoints = append(endpoints, routedPath(u.Path))
		}
	}
	if len(endpoints) == 0 {
		return false
	}
	// Read as any server could read it: an API that decodes twice reads
	// v2/token%255Fendpoint as its token endpoint.
	return slices.ContainsFunc(readings, func(p string) bool {
		p = routedPath(p)
		return slices.ContainsFunc(endpoints, func(ep string) bool {
			return p == ep || strings.HasPrefix(p, ep+".") && !strings.Contains(p[len(ep):], "/")
		})
	})
}

// routedPath is p, one reading of a request's path, as the most lenient
// servers route it, in lower case: cut at a ? or # (a server parsing the
// URL again once decoded), split into httpx.LenientSegments
// (token_endpoint;jsessionid=x is token_endpoint), each with the dots
// after it trimmed (Windows), and dot segments and repeated or trailing
// slashes resolved.
func routedPath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	segs := httpx.LenientSegments(strings.ToLower(p))
	for i, seg := range segs {
		if seg != "." && seg != ".." {
			segs[i] = strings.TrimRight(seg, ". ")
		}
	}
	return path.Clean("/" + strings.Join(segs, "/"))
}

// Discovery for toTokenEndpoint waits at most discoveryWait, and after a
// failure is not tried again for undiscoveredFor: an issuer out of reach
// (with no cached document) must not hold up requests that a valid token
// serves.
const (
	discoveryWait   = 2 * time.Second
	undiscoveredFor = time.Minute
)

// tokenEndpoints are the environment's token and revocation endpoints: the
// ones the configuration names and, with an issuer, the ones discovered
// (at once from the cached document while it is fresh). While discovery
// fails, only the configured ones are known; in the while after a failure
// the issuer is not asked, but endpoints found since (by a renewal, or in
// the cached document) still count.
func (e *envProxy) tokenEndpoints(ctx context.Context) freshtoken.Endpoints {
	configured := freshtoken.Endpoints{TokenURL: e.conf.TokenURL, RevocationURL: e.conf.RevocationURL}
	if e.conf.Issuer == "" {
		return configured
	}
	wait := discoveryWait
	if at := e.undiscovered.Load(); at != nil && time.Since(*at) < undiscoveredFor {
		wait = 0
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ep, err := e.src.Endpoints(ctx)
	if err != nil {
		if wait > 0 {
			now := time.Now()
			e.undiscovered.Store(&now)
		}
		return configured
	}
	return ep
}

// bodyProblem answers a request whose body could not be read: 408 for a
// client that stopped sending it, 400 for one that ended it early.
func (p *Proxy) bodyProblem(w http.ResponseWriter, env string, err error) {
	w.Header().Set("Connection", "close") // what is left of the body is not read
	if errors.As(err, new(*stalledError)) {
		writeKind(w, kinds.ClientTimeout, problem{Env: env, Message: err.Error()})
		return
	}
	writeKind(w, kinds.Usage, problem{Env: env, Message: "the request body could not be read: " + err.Error()})
}

// splitEnv splits an escaped request path into the environment's name and
// the rest of the path, without its leading slash.
func splitEnv(escaped string) (name, rest string) {
	name, rest, _ = strings.Cut(strings.TrimPrefix(escaped, "/"), "/")
	return name, rest
}

// rewrite points the outgoing request at the API. The client's own
// Authorization goes (every one of them, and the body's trailers); the
// Transport sets the environment's. An offer to switch to HTTP/2 (h2c, which curl --http2 adds
// to ordinary requests) is declined: the request goes on in HTTP/1.1.
func (p *Proxy) rewrite(e *envProxy) func(*httputil.ProxyRequest) {
	return func(pr *httputil.ProxyRequest) {
		_, rest := splitEnv(pr.In.URL.EscapedPath())
		target := pr.Out.URL // the outgoing request's own copy
		// As the client wrote it: the ReverseProxy's copy is re-encoded,
		// reordered and short of every parameter net/url cannot read (a
		// semicolon, a bare %) where it finds one. The proxy decides
		// nothing by the query, so no API reads it otherwise than the proxy.
		query := pr.In.URL.RawQuery
		*target = *e.api
		target.RawPath = e.apiPath + rest
		target.Path, _ = url.PathUnescape(target.RawPath) // rest came from EscapedPath: valid
		target.RawQuery = query
		pr.Out.Host = ""
		pr.Out.Trailer = nil // where a client could put another Authorization
		h := pr.Out.Header
		h.Del("Authorization")
		h.Del("Te") // the API's trailers are not passed on either
		if strings.EqualFold(h.Get("Upgrade"), "h2c") {
			h.Del("Upgrade")
			h.Del("Connection")
		}
		if _, unsent := pr.In.Body.(*unsentSend); pr.Out.GetBody != nil && !unsent {
			h.Del("Expect") // the whole body is here already
		}
		if pr.In.Header.Get("Sec-Fetch-Site") != "" { // a browser's
			e.keepOwnCookies(h)
		}
		if h.Get("User-Agent") == "" && p.o.UserAgent != "" {
			h.Set("User-Agent", p.o.UserAgent)
		}
	}
}

// keepForRetry reads a request body of up to maxReplayBody bytes into
// memory, so the Transport can send it again after a 401, and returns how
// much of the replay budget it holds until the request ends. A larger
// body, one the budget has no room for, or one that has not arrived whole
// within the replay wait, is left to stream through once (what was read
// of it put back in front of the rest), its part of the budget given back.
func (p *Proxy) keepForRetry(r *http.Request) (held int64, err error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return 0, nil
	}
	held = r.ContentLength
	if held < 0 {
		held = maxReplayBody + 1
	}
	if r.ContentLength > maxReplayBody || !p.replayBudget.take(held) {
		if b, ok := r.Body.(*idleBody); ok && b.continues {
			u := &unsentBody{src: b}
			r.GetBody = u.send
			r.Body, _ = u.send()
		}
		return 0, nil
	}
	// Each read is made on a goroutine of its own, so that the wait can
	// end while a client that sends a byte now and then, within the body's
	// idle timeout, is in the middle of one.
	src := r.Body
	var buf []byte
	if r.ContentLength > 0 {
		buf = make([]byte, 0, r.ContentLength)
	}
	chunk := make([]byte, 32<<10)
	reads := make(chan bodyRead, 1) // a read nobody waits for any more ends all the same
	late := time.NewTimer(p.timeouts.replay)
	defer late.Stop()
	for {
		go func() {
			n, err := src.Read(chunk)
			reads <- bodyRead{n, err}
		}()
		select {
		case got := <-reads:
			buf = append(buf, chunk[:got.n]...)
			if got.err == nil && len(buf) <= maxReplayBody {
				continue
			}
			if got.err != io.EOF || len(buf) > maxReplayBody {
				p.replayBudget.give(held)
				r.Body = &lateBody{arrived: buf, src: src}
				if got.err == io.EOF {
					got.err = nil
				}
				return 0, got.err
			}
			p.replayBudget.give(held - int64(len(buf)))
			r.ContentLength = int64(len(buf))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
			r.Body, _ = r.GetBody()
			return int64(len(buf)), nil
		case <-late.C:
			p.replayBudget.give(held)
			r.Body = &lateBody{arrived: buf, pending: reads, chunk: chunk, src: src}
			return 0, nil
		}
	}
}

// unsentBody is the body of a request whose client waits to be asked for
// it (Expect: 100-continue), not kept for a retry (see keepForRetry): until
// the API asks for it, none of it has come, so after a 401 the API gave
// without asking for it (as one refusing a token does), the retry sends
// it whole. Each sending reads it through a handle of its own (send, the
// request's GetBody); only the newest handle reads, and no handle is made
// once one has read: an earlier sending that reads late (the transport
// gives up waiting for "100 Continue" as the 401 comes) fails rather than
// share the body with the retry.
type unsentBody struct {
	src    io.Reader
	mu     sync.Mutex
	read   bool // a sending has read from it: it cannot be sent whole again
	newest *unsentSend
}

// errBodySent is why an unsentBody cannot be sent again.
var errBodySent = errors.New("the request's body has been sent already, in part or whole")

func (b *unsentBody) send() (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.read {
		return nil, errBodySent
	}
	b.newest = &unsentSend{b}
	return b.newest, nil
}

// unsentSend is one sending's handle on an unsentBody.
type unsentSend struct{ b *unsentBody }

func (s *unsentSend) Read(p []byte) (int, error) {
	s.b.mu.Lock()
	newest := s.b.newest == s
	s.b.read = s.b.read || newest
	s.b.mu.Unlock()
	if !newest {
		return 0, errBodySent
	}
	return s.b.src.Read(p)
}

// Close leaves the body to finish, as idleBody's does.
func (s *unsentSend) Close() error { return nil }

// bodyRead is what one read of a request's body gave.
type bodyRead struct {
	n   int
	err error
}

// lateBody is a request's body that is not kept for a retry, of which
// keepForRetry read a part: that part, then the read keepForRetry left
// under way (if any), then the rest as the client sends it. Each part is
// let go once sent on.
type lateBody struct {
	arrived []byte
	pending <-chan bodyRead // the read under way into chunk; nil: none
	chunk   []byte
	err     error // the pending read's
	src     io.ReadCloser
}

func (b *lateBody) Read(p []byte) (int, error) {
	if len(b.arrived) == 0 && b.pending != nil {
		got := <-b.pending
		b.arrived, b.err = b.chunk[:got.n], got.err
		b.pending, b.chunk = nil, nil
	}
	if len(b.arrived) > 0 {
		n := copy(p, b.arrived)
		if b.arrived = b.arrived[n:]; len(b.arrived) == 0 {
			b.arrived = nil
		}
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	return b.src.Read(p)
}

func (b *lateBody) Close() error { return b.src.Close() }

// budget is an amount of memory shared by the requests in flight.
type budget struct{ left atomic.Int64 }

// take reserves n bytes, if that many are left.
func (b *budget) take(n int64) bool {
	for {
		left := b.left.Load()
		if left < n {
			return false
		}
		if b.left.CompareAndSwap(left, left-n) {
			return true
		}
	}
}

func (b *budget) give(n int64) { b.left.Add(n) }

// idleBody is a request's body, any request's, that a client may not
// leave unsent for longer than idle at a time: each read sets the connection's read
// deadline, and the deadline goes once the body is read to its end, so it
// never cuts short the wait for the API's answer. Once the answer is sent,
// what is left is read within one idle in all (see finish).
type idleBody struct {
	io.ReadCloser
	rc        *http.ResponseController
	idle      time.Duration
	continues bool        // the client sends it once told "100 Continue", which the first read does
	reading   sync.Mutex  // one read at a time: keepForRetry may leave one under way as the body is finished
	asked     atomic.Bool // read from: asked for, if the client waits to be
	ended     atomic.Bool // read to its end, or failed
	stalled   atomic.Bool // the client stopped sending it
	finishing atomic.Bool // the answer is sent: the deadline finish set stays
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.reading.Lock()
	defer b.reading.Unlock()
	b.asked.Store(true)
	if !b.finishing.Load() {
		b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.ended.Store(true)
		if err == io.EOF {
			b.rc.SetReadDeadline(time.Time{})
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			b.stalled.Store(true)
			err = &stalledError{idle: b.idle} // the deadline stays: nothing more is read from this client
		}
	}
	return n, err
}

// Close leaves the body to finish, or to the server, which closes every
// request's body itself: the Transport closes it once the API has
// answered, which may be before the client has sent all of it.
func (b *idleBody) Close() error { return nil }

// drainLimit is how much of a request's body the proxy reads and throws
// away after the API has answered without it.
const drainLimit = 8 << 20

// finish sends the answer, then reads what is left of a body neither read
// to its end nor failed, up to drainLimit, within idle in all, and closes
// it. A client that sends its whole body before
// reading the answer (most do) then gets the answer, where a connection
// closed with the body unread would be reset under it. A body the client
// waits to be asked for, and was not, is left unread, as is any left past
// drainLimit or after the client stopped sending it: the server closes the
// connection after the answer, rather than read on with no time limit.
// One idle in all, not one between two reads: the server's own reading of
// up to 256 KB before it sends the answer waits out the deadline set here,
// and reads after it, each setting another, held a client that had
// stopped sending for twice idle (a minute, not the 30 s documented), and
// one sending a byte now and then for as long as it went on.
func (b *idleBody) finish() {
	if !b.ended.Load() && (b.asked.Load() || !b.continues) {
		b.finishing.Store(true)
		b.rc.SetReadDeadline(time.Now().Add(b.idle))
		b.rc.Flush()
		io.Copy(io.Discard, io.LimitReader(b, drainLimit))
	}
	if !b.ended.Load() {
		b.rc.SetReadDeadline(time.Now()) // the server's Close reads no more of it
	}
	b.ReadCloser.Close()
}

// stalledError is a client that stopped sending its request's body.
type stalledError struct{ idle time.Duration }

func (e *stalledError) Error() string {
	return fmt.Sprintf("the client sent none of the rest of the request's body for %v; the proxy gave up on it", e.idle)
}

// upstreamTransport is an environment's connection to its API. It marks
// the errors of sending a request and reading the answer, so that they can
// be told from a failure of the engine (a renewal after a 401 that cannot
// read the client secret, save the new token or take the store's lock),
// and the connections it is given as carrying HTTP (see answerFirstConn).
// Its base is an httpx.Bounded: an API it gave up on is a *silentError.
type upstreamTransport struct{ base http.RoundTripper }

func (t upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(carryingHTTP(req))
	var unanswered *httpx.UnansweredError
	switch {
	case errors.As(err, &unanswered):
		return nil, &silentError{unanswered}
	case err != nil:
		return nil, &networkError{err}
	}
	return resp, nil
}

// CloseIdleConnections closes base's idle connections, as
// freshtoken.Transport asks after the machine slept.
func (t upstreamTransport) CloseIdleConnections() { httpx.CloseIdle(t.base) }

// maxInterim and maxInterimBytes bound the interim answers (1xx) an API
// may send before its answer: their number, and the size of their
// headers in all, each field counted as HTTP/2 counts it (name, value and
// 32). net/http leaves them unbounded once they are passed on, as the
// proxy does, and each starts the wait for the answer again: an API
// sending them without end held its client for ever.
const (
	maxInterim      = 100
	maxInterimBytes = 1 << 20
)

// interimError counts the interim answers an API has sent for a request,
// and their headers' size; past maxInterim or maxInterimBytes, it is the
// request's failure.
type interimError struct {
	count, bytes int // written by the connection's reader alone, until over
	over         atomic.Bool
}

func (e *interimError) Error() string {
	return fmt.Sprintf("sent %d interim answers (1xx) with %d KiB of headers and no final answer, past what freshtoken passes on (%d answers, %d KiB)",
		e.count, (e.bytes+1023)>>10, maxInterim, maxInterimBytes>>10)
}

// interimKey holds a request's *interimError in its context.
type interimKey struct{}

// boundingInterim is ctx, in which a request fails once its API has sent
// more interim answers than maxInterim or maxInterimBytes allow; net/http
// then closes the connection (HTTP/2: resets the stream). It must come
// before the ReverseProxy's trace, which passes each one on: of traces
// composed, only the first one's error counts.
func boundingInterim(ctx context.Context) context.Context {
	e := &interimError{}
	return httptrace.WithClientTrace(context.WithValue(ctx, interimKey{}, e), &httptrace.ClientTrace{Got1xxResponse: func(_ int, h textproto.MIMEHeader) error {
		e.count++
		for k, vs := range h {
			for _, v := range vs {
				e.bytes += len(k) + len(v) + 32
			}
		}
		if e.count > maxInterim || e.bytes > maxInterimBytes {
			e.over.Store(true)
			return e
		}
		return nil
	}})
}

// interimOver is the *interimError of the request ctx is for when it
// failed for too many interim answers, or nil. It is kept in ctx rather
// than found in the error, as HTTP/2 wraps it in a stream error that
// does not unwrap. A request its client ended may end as its connection's
// reader still counts: over is read atomically, and count and bytes only
// once it is set.
func interimOver(ctx context.Context) *interimError {
	if e, _ := ctx.Value(interimKey{}).(*interimError); e != nil && e.over.Load() {
		return e
	}
	return nil
}

// silentError is an API that did not begin to answer within the
// environment's timeout, or took none of the request's body for as long
// before it answered.
type silentError struct{ *httpx.UnansweredError }

func (e *silentError) Error() string {
	return e.UnansweredError.Error() + "; the proxy gave up (raise the environment's timeout if it is slow)"
}

// networkError is a failure to reach the API or to read its answer.
type networkError struct{ err error }

func (e *networkError) Error() string { return e.err.Error() }
func (e *networkError) Unwrap() error { return e.err }

// isNetworkError reports whether err means the API could not be reached
// or its answer could not be read (upstreamTransport marks each such
// failure), as opposed to a failure of freshtoken's own engine: one of
// the token store's may wrap the system's error (EROFS, ENOSPC, which are
// net.Errors too) or Redis's network error, and was told as the API's.
func isNetworkError(err error) bool {
	return errors.As(err, new(*networkError))
}

// loopError is an API's redirect to the proxy itself, or to a URL the
// proxy cannot read (unreadable), which it refuses to pass on.
type loopError struct {
	location   string
	unreadable bool
}

// Error names the Location with a key in it masked, as every URL is shown.
func (e *loopError) Error() string {
	if e.unreadable {
		return fmt.Sprintf("the API redirected to %s, which is not a URL freshtoken can read, so it cannot tell whether following it would send the request to another environment; freshtoken does not pass it on", redact.URL(e.location))
	}
	return fmt.Sprintf("the API redirected to %s, which is this proxy; freshtoken does not pass on a redirect that would send the request, with another token, to another environment", redact.URL(e.location))
}

// logWords is what the proxy's log says of it.
func (e *loopError) logWords() string {
	if e.unreadable {
		return "redirect to a URL freshtoken cannot read refused"
	}
	return "redirect to the proxy refused"
}

// kind is the failure kind of the proxy's answer.
func (e *loopError) kind() kinds.Kind {
	if e.unreadable {
		return kinds.BadRedirect
	}
	return kinds.RedirectToProxy
}

// switchError is an API that switched protocols when the client asked for
// no switch (asked is ""), or to another protocol than the one asked for.
type switchError struct{ asked, to string }

func (e switchError) Error() string {
	if e.asked == "" {
		return "the API answered 101 Switching Protocols to a request that asked for no switch"
	}
	return fmt.Sprintf("the API answered 101 Switching Protocols to %q to a request that asked for %q", redact.OneLine(e.to, 100), redact.OneLine(e.asked, 100))
}

// upgradeTo is the protocol a header switches to, as httputil reads it:
// Upgrade's, when Connection names it.
func upgradeTo(h http.Header) string {
	for _, v := range h["Connection"] {
		for _, token := range strings.Split(v, ",") {
			if strings.EqualFold(textproto.TrimString(token), "upgrade") {
				return h.Get("Upgrade")
			}
		}
	}
	return ""
}

// stoppingProblem answers a request the proxy's stopping cut short, before
// it was sent to the API or after (kind Interrupted).
func stoppingProblem(env string, sent bool) problem {
	msg := env + ": the proxy stopped before sending the request to the API; send it again once the proxy runs"
	if sent {
		msg = env + ": the proxy stopped before the API answered; the request may have reached the API, so check before sending it again once the proxy runs"
	}
	return problem{Env: env, Message: msg}
}

// upstreamError answers a request the API never answered.
func (p *Proxy) upstreamError(e *envProxy) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		var (
			fe      *freshtoken.Error
			loop    *loopError
			silent  *silentError
			interim = interimOver(r.Context())
		)
		in, _ := r.Context().Value(inbound{}).(inboundRequest)
		safe := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
		switch {
		case errors.As(err, &fe):
			e.fail(p.now(), fe)
			status, pr := p.engineProblem(e.name, fe)
			writeError(w, status, pr)
		case in.body != nil && in.body.stalled.Load():
			// Whatever failed first, the API or the client's context, the
			// client's stopping is the cause.
			p.bodyProblem(w, e.name, &stalledError{idle: in.body.idle})
		case errors.Is(context.Cause(r.Context()), errStopping):
			p.log.Warn("request cut short: the proxy is stopping", "env", e.name, "method", r.Method, "path", r.URL.Path)
			writeKind(w, kinds.Interrupted, stoppingProblem(e.name, true))
		case errors.Is(err, context.Canceled):
			w.WriteHeader(http.StatusBadGateway) // the client has gone; nobody reads this
		case errors.As(err, &loop):
			p.log.Warn(loop.logWords(), "env", e.name, "location", redact.OneLine(redact.URL(loop.location), 1000))
			writeKind(w, loop.kind(), problem{Env: e.name, Message: redact.OneLine(e.name+": "+loop.Error(), 1000)})
		case errors.Is(err, errEchoedRequest):
			made := ""
			if !safe {
				made = "; the request was made, and sending it again makes it again"
			}
			err = fmt.Errorf("%s: %s: %w%s; the API is at fault: tell its owner", e.name, e.api.Host, err, made)
			e.fail(p.now(), err)
			writeKind(w, kinds.UnreadableAnswer, problem{Env: e.name, Message: err.Error()})
		case errors.As(err, &silent):
			err = fmt.Errorf("%s: %s: %w", e.name, e.api.Host, silent)
			e.fail(p.now(), err)
			writeKind(w, kinds.APITimeout, problem{Env: e.name, Message: err.Error()})
		case interim != nil:
			msg := fmt.Sprintf("%s: the API at %s %v, so the proxy gave up on the request", e.name, e.api.Host, interim)
			if !safe {
				msg += "; the request was made, and sending it again makes it again"
			}
			e.fail(p.now(), errors.New(msg))
			writeKind(w, kinds.UnreadableAnswer, problem{Env: e.name, Message: msg + "; the API is at fault: tell its owner"})
		case kinds.Unreadable(err):
			// The API was reached; its answer cannot be read.
			err = &kinds.UnreadableAnswerError{Env: e.name, API: e.api.Host, Changes: !safe, Err: httpx.UnwrapURLError(err)}
			e.fail(p.now(), err)
			writeKind(w, kinds.UnreadableAnswer, problem{Env: e.name, Message: redact.OneLine(err.Error(), 500)})
		case isNetworkError(err), errors.As(err, new(switchError)):
			err = e.unreachable(httpx.UnwrapURLError(err))
			e.fail(p.now(), err)
			writeKind(w, kinds.APIUnreachable, problem{Env: e.name, Message: redact.OneLine(err.Error(), 500)})
		default: // the engine failed: renewing after a 401, saving, locking
			err = httpx.UnwrapURLError(err)
			e.fail(p.now(), err)
			status, pr := p.engineProblem(e.name, err)
			pr.Message = redact.OneLine(pr.Message, 500)
			writeError(w, status, pr)
		}
	}
}

// unreachable says that e's API could not be reached, or its answer read,
// because of err, and what to do: a connection the proxy could not open
// for want of files (EMFILE, ENFILE) names the limit met, not the network.
func (e *envProxy) unreachable(err error) error {
	next := "check your connection and api_url"
	if atomicfile.OutOfFiles(err) {
		next = atomicfile.OutOfFilesStep(err)
	}
	return fmt.Errorf("%s: the API at %s could not be reached (%v); %s", e.name, e.api.Host, err, next)
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
// links and cookies kept to this environment's part of the proxy, never
// dressed as the proxy's own. A
// protocol switch nobody asked for is not passed on.
func (p *Proxy) modifyResponse(e *envProxy) func(*http.Response) error {
	return func(res *http.Response) error {
		in, _ := res.Request.Context().Value(inbound{}).(inboundRequest)
		e.succeedAfter(in.mark)
		if res.StatusCode == http.StatusSwitchingProtocols {
			// To the protocol asked for, as httputil checks after this,
			// with an error of its own words that blames freshtoken.
			asked, to := upgradeTo(res.Request.Header), upgradeTo(res.Header)
			if asked == "" || !strings.EqualFold(asked, to) {
				return switchError{asked: asked, to: to}
			}
		}
		if res.StatusCode != http.StatusSwitchingProtocols { // whose body is the connection
			// Trailers, the API's headers after the body, announced or
			// not: none of them is made safe.
			res.Trailer = nil
			res.Body = trailerless{watchedBody{res.Body, p, e, res.Request}, res}
		}
		if echoedRequest(res.Header) {
			return errEchoedRequest
		}
		h := res.Header
		h.Del(errorHeader) // it marks the proxy's own answers
		// It would clear the cookies of the proxy's whole address, every
		// environment's and every local program's, and the status page's
		// storage: no API's to clear.
		h.Del("Clear-Site-Data")
		h.Add("Content-Security-Policy", proxiedCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		if h["Set-Cookie"] != nil {
			e.confineCookies(h, res.Request.URL.Path)
		}
		if h["Location"] == nil && h["Content-Location"] == nil && h["Link"] == nil && h["Refresh"] == nil {
			return nil // nearly every answer: nothing to rewrite
		}
		if loop := p.pointLinksAtProxy(e, h, res.Request.URL, in.host); loop != nil {
			return loop
		}
		return nil
	}
}

// echoedRequest reports whether an answer of header h is a request echoed
// back, as TRACE answers (message/http): the request as the API received
// it, with the access token the proxy added, to a method of any name.
func echoedRequest(h http.Header) bool {
	media, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return media == "message/http"
}

// errEchoedRequest is the failure of an answer that echoed the request
// back (see echoedRequest).
var errEchoedRequest = errors.New("the API answered with the request itself (message/http, as an answer to TRACE is), which holds the access token the proxy adds, so the proxy did not pass it on")

// watchedBody is an answer's body on its way to the client. An API that
// stops sending it for the environment's timeout (the Transport's
// IdleTimeout) is told of on the log and the status page; the ReverseProxy
// then ends the client's response unfinished, a body cut short that no
// client takes for the whole. The time a slow client takes to read is not
// counted: only the waits for the API.
type watchedBody struct {
	io.ReadCloser
	p   *Proxy
	e   *envProxy
	req *http.Request
}

func (b watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if stalled := (*httpx.StalledError)(nil); errors.As(err, &stalled) {
		b.e.fail(b.p.now(), fmt.Errorf("%s: the API at %s stopped sending its answer to %s %s (nothing more came for %s); the proxy ended the response unfinished",
			b.e.name, b.e.api.Host, b.req.Method, b.req.URL.Path, stalled.After))
		b.p.log.Warn("the API stopped sending its answer; ending the response unfinished", "env", b.e.name, "method", b.req.Method,
			"path", b.req.URL.Path, "idle", stalled.After)
	}
	return n, err
}

// trailerless is the body of an answer whose trailers are not passed on:
// they arrive with its end, so they go once it is closed, before the
// ReverseProxy looks for them.
type trailerless struct {
	io.ReadCloser
	res *http.Response
}

func (b trailerless) Close() error {
	err := b.ReadCloser.Close()
	b.res.Trailer = nil
	return err
}

// pointLinksAtProxy rewrites the URLs of the API's answer that lead back
// under the API (a redirect to another of its pages, pagination links) to
// the same place through the proxy, so a client that follows them keeps
// getting a fresh token. URLs anywhere else are passed on absolute, so no
// client resolves them against the proxy's address: the client follows
// those on its own, without the token. A URL of the API's own making that
// leads to the proxy itself, under any spelling of its address, is not
// passed on: following it would take the request, and its method and body,
// to another environment with that environment's token. Such a redirect
// becomes an error; such a Content-Location or link is dropped. Every URL
// is read as browsers, Postman and Node read it (backslashes, dot segments
// percent-encoded or not), so what the proxy decides about is what the
// client will follow.
//
// h is the answer's header, reqURL the URL the request went to, and host the
// proxy's host:port as the client wrote it.
func (p *Proxy) pointLinksAtProxy(e *envProxy, h http.Header, reqURL *url.URL, host string) *loopError {
	base := "http://" + host
	// Each value: clients that get several follow different ones (curl
	// the last, Go the first, Node all of them joined).
	for _, key := range [...]string{"Location", "Content-Location"} {
		values := h[key]
		for i, v := range values {
			if v == "" {
				continue
			}
			out, refused := p.passOn(e, v, reqURL, base, host)
			if refused == nil {
				values[i] = out
				continue
			}
			if key == "Location" {
				return refused
			}
			h.Del(key) // every value of it
			break
		}
	}
	if values := h["Refresh"]; values != nil {
		// A redirect too, to browsers. Several are read as one, joined
		// (its URL is the first's with the rest of them after it), by
		// browsers, and as one of them by others: none is passed on.
		delay, target, hasURL, ok := readRefresh(values[0])
		switch {
		case !ok || len(values) > 1: // read otherwise by other browsers, or not at all
			h.Del("Refresh")
		case hasURL:
			if out, refused := p.passOn(e, target, reqURL, base, host); refused == nil {
				h["Refresh"] = []string{delay + "; url=" + out}
			} else {
				h.Del("Refresh")
			}
		}
	}
	links := h["Link"]
	kept := links[:0]
	for _, v := range links {
		parsed := httpx.ParseLinks(v)
		if len(parsed) == 0 {
			// No link RFC 8288 reads, where lenient readers find one
			// (Python requests strips the <, > and quotes around
			// "URL; rel=next"), never checked: it goes.
			continue
		}
		var out []string
		for _, l := range parsed {
			var refused *loopError
			l.Target, refused = p.passOn(e, l.Target, reqURL, base, host)
			// A < in a link is where lenient readers (Python requests
			// splits at every ", <") see another link, one not checked.
			if refused == nil && !strings.ContainsAny(l.Target+l.Params, "<>") {
				out = append(out, l.String())
			}
		}
		if len(out) > 0 {
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

// passOn returns what ref, a URL in an answer to a request for reqURL,
// becomes in the answer the client gets, or why it must not be passed on:
// it leads to this proxy, or it cannot be read. base is the proxy's URL
// and inboundHost its host:port, as the client wrote them.
func (p *Proxy) passOn(e *envProxy, ref string, reqURL *url.URL, base, inboundHost string) (string, *loopError) {
	u, err := httpx.ResolveReference(reqURL, ref)
	if err != nil || !readablePort(u) {
		// A client might read it otherwise; it is no use to anyone.
		return "", &loopError{location: ref, unreadable: true}
	}
	if local, ok := e.throughProxy(u, base); ok {
		return local, nil
	}
	if strings.EqualFold(u.Host, inboundHost) || p.guard.pointsHere(u) {
		return "", &loopError{location: ref}
	}
	if as, err := url.Parse(ref); err == nil && as.IsAbs() && as.Host != "" && as.String() == u.String() {
		return ref, nil // as the API wrote it
	}
	return u.String(), nil
}

// readRefresh reads a Refresh header's value as HTML's declarative
// refresh does: a delay, then, if hasURL, the URL a browser goes to once
// it is over. ok is false for a value browsers read differently (Chromium
// reads "0; u/x" as u/x, the standard as /x; "0; url /x" as "url /x" and /x)
// or not at all, which is not passed on.
func readRefresh(v string) (delay, target string, hasURL, ok bool) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }
	i := 0
	skipSpace := func() {
		for i < len(v) && isSpace(v[i]) {
			i++
		}
	}
	skipSpace()
	start := i
	for i < len(v) && '0' <= v[i] && v[i] <= '9' {
		i++
	}
	if i == start && (i == len(v) || v[i] != '.') {
		return "", "", false, false
	}
	for i < len(v) && ('0' <= v[i] && v[i] <= '9' || v[i] == '.') {
		i++
	}
	delay = v[start:i]
	if i < len(v) {
		if v[i] != ';' && v[i] != ',' && !isSpace(v[i]) {
			return "", "", false, false
		}
		skipSpace()
		if i < len(v) && (v[i] == ';' || v[i] == ',') {
			i++
		}
		skipSpace()
	}
	if i == len(v) {
		return delay, "", false, true
	}
	if v[i] == 'u' || v[i] == 'U' {
		if len(v)-i < 3 || !strings.EqualFold(v[i:i+3], "url") {
			return "", "", false, false
		}
		i += 3
		skipSpace()
		if i == len(v) || v[i] != '=' {
			return "", "", false, false
		}
		i++
		skipSpace()
	}
	target = v[i:]
	if target != "" && (target[0] == '"' || target[0] == '\'') {
		q := target[0]
		target = target[1:]
		if end := strings.IndexByte(target, q); end >= 0 {
			target = target[:end]
		}
	}
	return delay, target, true, true
}

// readablePort reports whether u's port, if any, is one a client can
// connect to (at most 65535).
func readablePort(u *url.URL) bool {
	_, ok := httpx.Port(u.Port(), u.Scheme)
	return ok
}

// confineCookies keeps the API's cookies to its environment's part of the
// proxy, as nginx's proxy_cookie_path does: every API shares the proxy's
// host, so a cookie's Domain goes, and its Path moves under /<env>/. A
// cookie without a Path gets the one a browser would give it at the API,
// apiPath being the path the request went to: at the proxy, the browser's
// own choice for a request to /<env> would be the whole proxy.
func (e *envProxy) confineCookies(h http.Header, apiPath string) {
	cookies := h["Set-Cookie"]
	kept := cookies[:0]
	for _, v := range cookies {
		c, err := http.ParseSetCookie(v)
		if err != nil {
			continue // one that cannot be confined is not passed on
		}
		c.Domain = ""
		e.rememberCookie(c.Name)
		if !strings.HasPrefix(c.Path, "/") { // RFC 6265 5.1.4's default-path
			c.Path = apiPath[:max(strings.LastIndexByte(apiPath, '/'), 0)]
		}
		// Dot segments resolved first, so that /<env>/ and the rest can
		// never be read as another environment's path (/../other).
		resolved := httpx.RemoveDotSegments(c.Path)
		rest, _ := strings.CutPrefix(resolved, e.api.Path)     // outside the API: its whole part
		if rest == resolved || httpx.HasDotSegment(resolved) { // dot segments only another decoding shows: read in no one way
			rest = ""
		}
		c.Path = "/" + e.name + "/" + rest
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

// rememberCookie notes that the API set a cookie of this name (see
// keepOwnCookies).
func (e *envProxy) rememberCookie(name string) {
	e.cookieMu.Lock()
	defer e.cookieMu.Unlock()
	if e.cookieNames == nil {
		e.cookieNames = make(map[string]bool)
	}
	if len(e.cookieNames) < maxCookieNames {
		e.cookieNames[name] = true
	}
}

// keepOwnCookies leaves in h, the header of a browser's request, only the
// cookies the environment's API has set through the proxy. A browser sends
// every cookie it holds for 127.0.0.1 whose path matches, whatever port set
// it, so the cookies of other programs served on this machine (a
// notebook's session) went to the API too. Other clients send the cookies
// they are given, which pass on as they are.
func (e *envProxy) keepOwnCookies(h http.Header) {
	if h["Cookie"] == nil {
		return
	}
	var kept []string
	e.cookieMu.Lock()
	for _, line := range h["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if name, _, _ := strings.Cut(part, "="); e.cookieNames[name] {
				kept = append(kept, part)
			}
		}
	}
	e.cookieMu.Unlock()
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}

// throughProxy returns the proxy's URL for u, a resolved URL in an answer,
// when u lies under the API root, its host spelled in any way that the
// engine's Transport takes for the API's (httpx.SameOrigin: with or
// without the scheme's default port, or a trailing dot). u's path has no
// dot segments, so neither has the URL returned: no client reads it as
// another environment's.
func (e *envProxy) throughProxy(u *url.URL, base string) (string, bool) {
	if !httpx.SameOrigin(u, e.api) {
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
