package proxy

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/login"
)

const (
	// maxPendingLogins bounds the log-ins waiting for a browser; starting
	// another forgets the oldest.
	maxPendingLogins = 16
	// progressWait is how long a request for a log-in's progress waits for
	// it to finish before answering "pending".
	progressWait = 25 * time.Second
	// exchangeTimeout bounds the code exchange and store write that finish
	// a log-in, which carry on if the browser goes away meanwhile.
	exchangeTimeout = time.Minute
	// maxLoginTimeout bounds how long a log-in waits for the browser, however
	// long `freshtoken login --timeout` asks for.
	maxLoginTimeout = 24 * time.Hour
)

// pendingLogin is a log-in started here, from the status page or for a
// `freshtoken login` whose redirect address this proxy holds.
type pendingLogin struct {
	id      string // names it to the process waiting for it; not its state
	env     *envProxy
	flow    *login.Flow
	req     login.Request
	path    string // of its redirect URI, where the browser comes back
	expires time.Time

	answered bool          // its callback has arrived; the state is spent
	done     chan struct{} // closed once it has succeeded or failed
	err      error         // set before done is closed
}

// logins are the log-ins started here, oldest first.
type logins struct {
	mu      sync.Mutex
	pending []*pendingLogin
}

func (l *logins) add(pl *pendingLogin, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = slices.DeleteFunc(l.pending, func(p *pendingLogin) bool { return now.After(p.expires) })
	if len(l.pending) >= maxPendingLogins {
		l.pending = l.pending[1:]
	}
	l.pending = append(l.pending, pl)
}

// isCallback reports whether a request for path?rawQuery is a browser coming
// back from a log-in: at /callback, or with a state at the redirect path of
// a log-in started here.
func (l *logins) isCallback(path, rawQuery string) bool {
	if path == "/callback" {
		return true
	}
	if !strings.Contains(rawQuery, "state=") {
		return false
	}
	if q, _ := url.ParseQuery(rawQuery); !q.Has("state") {
		return false
	}
	if path == "" {
		path = "/"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.pending, func(p *pendingLogin) bool { return p.path == path })
}

// answer returns the unanswered log-in whose state is state, and marks it
// answered so its state cannot be used twice.
func (l *logins) answer(state string, now time.Time) *pendingLogin {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.pending {
		if !p.answered && now.Before(p.expires) && subtle.ConstantTimeCompare([]byte(p.req.State), []byte(state)) == 1 {
			p.answered = true
			return p
		}
	}
	return nil
}

// isAnswered reports whether pl's callback has arrived; its exchange may
// still be under way.
func (l *logins) isAnswered(pl *pendingLogin) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return pl.answered
}

func (l *logins) byID(id string) *pendingLogin {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.pending {
		if p.id == id {
			return p
		}
	}
	return nil
}

// redirectURI is where the provider sends the browser back to after a
// log-in started here: the environment's redirect_uri when it names this
// proxy's listening address, so that it matches the one registered with the
// provider, else the proxy's own /callback.
func (p *Proxy) redirectURI(ec *config.Env) string {
	if addr, err := login.LoopbackAddr(ec.RedirectURI); err == nil && p.guard.listening(addr) {
		return ec.RedirectURI
	}
	return p.base + "/callback"
}

// startLogin begins a browser log-in to the named environment, which waits
// timeout for the browser to come back (0: login.DefaultTimeout).
func (p *Proxy) startLogin(ctx context.Context, name string, timeout time.Duration) (*pendingLogin, error) {
	if timeout <= 0 {
		timeout = login.DefaultTimeout
	}
	timeout = min(timeout, maxLoginTimeout)
	e, err := p.env(ctx, name)
	if err != nil {
		return nil, err
	}
	redirect := p.redirectURI(e.conf)
	conf, err := e.src.OAuth2Config(ctx, redirect)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(redirect)
	if err != nil {
		return nil, err
	}
	if u.Path == "" {
		u.Path = "/" // where a browser asks for http://host:port
	}
	now := p.now()
	pl := &pendingLogin{
		id:      randomToken(),
		env:     e,
		flow:    &login.Flow{Env: name, Config: conf, Logger: p.log, Clock: p.now},
		req:     login.NewRequest(conf),
		path:    u.Path,
		expires: now.Add(timeout),
		done:    make(chan struct{}),
	}
	p.logins.add(pl, now)
	p.log.Debug("log-in started", "env", name, "redirect_uri", redirect)
	return pl, nil
}

// handleCallback finishes a log-in when the provider sends the browser back,
// stores the tokens, and shows the status page.
func (p *Proxy) handleCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pl := p.logins.answer(q.Get("state"), p.now())
	if pl == nil {
		p.log.Warn("log-in answer with no matching log-in", "path", r.URL.Path)
		http.Redirect(w, r, "/?done=stale-login", http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), exchangeTimeout)
	defer cancel()
	res, err := pl.flow.Complete(ctx, pl.req, q)
	if err == nil {
		err = pl.env.src.SaveLogin(ctx, res.Token, res.SentAt)
	}
	pl.err = err
	close(pl.done)
	if err != nil {
		p.log.Warn("log-in failed", "env", pl.env.name, "error", err.Error())
		pl.env.fail(p.now(), err)
		http.Redirect(w, r, "/?done=login-failed&env="+url.QueryEscape(pl.env.name), http.StatusSeeOther)
		return
	}
	pl.env.succeed()
	p.log.Info("logged in", "env", pl.env.name, "store", pl.env.src.Location())
	http.Redirect(w, r, "/?done=logged-in&env="+url.QueryEscape(pl.env.name), http.StatusSeeOther)
}

// handleLoginButton is the status page's Log in: it sends the browser to
// the provider.
func (p *Proxy) handleLoginButton(w http.ResponseWriter, r *http.Request) {
	name, ok := p.checkForm(w, r)
	if !ok {
		return
	}
	pl, err := p.startLogin(r.Context(), name, 0)
	if err != nil {
		p.buttonFailed(w, r, name, "login-failed", err)
		return
	}
	http.Redirect(w, r, pl.req.URL, http.StatusSeeOther)
}

// The log-in endpoints below let `freshtoken login` log in through a proxy
// that holds its redirect address: it starts a log-in here, opens the
// browser at the URL it gets back, and asks until the log-in is over. Only
// processes on this machine may use them, and a web page cannot: they take
// JSON, which a page can only send after a CORS preflight this proxy never
// approves.

// loginTicket is the answer to starting a log-in.
type loginTicket struct {
	ID      string `json:"id"`
	Env     string `json:"env"`
	AuthURL string `json:"auth_url"`
	Store   string `json:"store"`
}

// loginProgress is the answer to asking how a log-in is going.
type loginProgress struct {
	ID     string `json:"id"`
	Env    string `json:"env"`
	Status string `json:"status"` // pending, done, failed or expired
	Error  string `json:"error,omitempty"`
	Kind   string `json:"kind,omitempty"` // a failure's problem code
}

func (p *Proxy) handleStartLogin(w http.ResponseWriter, r *http.Request) {
	if !fromThisMachine(r) {
		writeError(w, http.StatusForbidden, problem{Code: "forbidden", Message: "log-ins can only be started through the proxy from this machine"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, problem{Code: "bad_request", Message: `send {"env": NAME} as application/json`})
		return
	}
	var body struct {
		Env string `json:"env"`
		// Timeout is how long, in seconds, the log-in waits for the
		// browser: `freshtoken login --timeout`. 0: the default.
		Timeout float64 `json:"timeout_seconds"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil || body.Env == "" {
		writeError(w, http.StatusBadRequest, problem{Code: "bad_request", Message: `send {"env": NAME} as application/json`})
		return
	}
	pl, err := p.startLogin(r.Context(), body.Env, time.Duration(body.Timeout*float64(time.Second)))
	if err != nil {
		status, pr := p.engineProblem(body.Env, err)
		writeError(w, status, pr)
		return
	}
	writeJSON(w, http.StatusCreated, loginTicket{ID: pl.id, Env: body.Env, AuthURL: pl.req.URL, Store: pl.env.src.Location()})
}

func (p *Proxy) handleLoginProgress(w http.ResponseWriter, r *http.Request) {
	if !fromThisMachine(r) {
		writeError(w, http.StatusForbidden, problem{Code: "forbidden", Message: "log-ins can only be followed from this machine"})
		return
	}
	pl := p.logins.byID(r.PathValue("id"))
	if pl == nil {
		writeError(w, http.StatusNotFound, problem{Code: "unknown_login", Message: "this proxy has no such log-in: it expired, or the proxy was restarted"})
		return
	}
	wait := progressWait
	if !p.logins.isAnswered(pl) { // an answered one waits for its exchange
		wait = min(wait, pl.expires.Sub(p.now()))
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-pl.done:
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	pr := loginProgress{ID: pl.id, Env: pl.env.name, Status: "pending"}
	select {
	case <-pl.done:
		pr.Status = "done"
		if pl.err != nil {
			_, failed := p.engineProblem(pl.env.name, pl.err)
			pr.Status, pr.Error, pr.Kind = "failed", pl.err.Error(), failed.Code
		}
	default:
		if !p.now().Before(pl.expires) && !p.logins.isAnswered(pl) {
			pr.Status = "expired"
		}
	}
	writeJSON(w, http.StatusOK, pr)
}
