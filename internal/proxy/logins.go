package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
	kinds "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
)

const (
	// maxPendingLogins bounds the log-ins waiting for a browser; starting
	// another forgets the oldest. The failures of as many log-ins begun by
	// `freshtoken login` are kept for it to ask after.
	maxPendingLogins = 16
	// ExchangeTimeout bounds the code exchange and store write that finish
	// a log-in, which carry on if the browser goes away, or the proxy
	// stops, meanwhile.
	ExchangeTimeout = time.Minute
	// maxLoginWait bounds how long a log-in waits for its browser when
	// the `freshtoken login` that began it asks to wait longer than
	// login.DefaultTimeout.
	maxLoginWait = 24 * time.Hour
)

// pendingLogin is a log-in started here, from the status page or for a
// `freshtoken login` whose redirect address this proxy holds.
type pendingLogin struct {
	env     *envProxy
	flow    *login.Flow
	req     login.Request
	path    string // of its redirect URI, where the browser comes back
	host    string // of its redirect URI, in lower case
	began   time.Time
	expires time.Time
	beganOn time.Time // began, on the timers (see logins.within)
	attempt string    // the `freshtoken login` that began it, if one did
	// overNewer: it began over tokens a newer freshtoken wrote, which the
	// person confirmed replacing (see envProxy.storedSince).
	overNewer bool
	// over is which other configurations' tokens it may replace.
	over replacing

	answered bool          // its callback has arrived; the state is spent
	done     chan struct{} // closed once it has succeeded or failed
	err      error         // set before done is closed
}

// replacing is which other configurations' tokens (another client's,
// provider's, grant type's or API's, stored under the name: CheckGrant
// refuses them) a log-in may replace: those the person confirmed replacing
// as it began (the page's Replace and log in, or `freshtoken login`'s
// question), named by their grants' digests (GrantDigest), or any, for a
// `freshtoken login` that replaces them unasked (--yes, or no terminal).
// Any others, stored as the person approved, are kept, and the log-in
// stores nothing, as `freshtoken login` on a terminal does.
type replacing struct {
	any    bool
	grants []string
	// files are the other configuration files on this machine whose
	// log-ins of this grant it may replace, which the person confirmed
	// replacing as it began: any others stored as the person approves are
	// kept, as `freshtoken login` on a terminal keeps them.
	files []string
	// caller is the configuration file of the `freshtoken login` that
	// asked for the log-in, which the record names as the one that logged
	// in and the others are other than; "" for the proxy's own.
	caller string
}

// allows reports whether a log-in may replace the tokens of g.
func (o replacing) allows(g store.Grant) bool {
	return o.any || slices.Contains(o.grants, GrantDigest(g))
}

// logins are the log-ins started here, oldest first, and how those that
// a `freshtoken login` began failed.
type logins struct {
	// timers is the proxy's Options.Clock as it reads, time.Now for none:
	// Go's monotonic reading, which such a reading carries, counts how
	// long a log-in has waited (see within).
	timers  func() time.Time
	mu      sync.Mutex
	pending []*pendingLogin
	failed  []failedAttempt
	// closed: no log-in starts any more (see Proxy.StopLogins).
	closed bool
	// spare is how long from its start a log-in still holds a forced
	// restart (see Proxy.StopLogins); zero until one is forced.
	spare time.Duration
}

// failedAttempt is a log-in begun by a `freshtoken login` that failed here:
// its attempt, and the problem code of its failure.
type failedAttempt struct {
	env, attempt, code string
}

// fail keeps the problem code of the failure of the log-in that a
// `freshtoken login` began as attempt, so the command can end at once
// rather than wait for its time to run out.
func (l *logins) fail(env, attempt, code string) {
	if attempt == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failed) >= maxPendingLogins {
		l.failed = l.failed[1:]
	}
	l.failed = append(l.failed, failedAttempt{env: env, attempt: attempt, code: code})
}

// attemptState is what the proxy knows, at a time, of the log-in that a
// `freshtoken login` began as an attempt.
type attemptState struct {
	held     bool   // it waits here for its browser, or its browser came back
	answered bool   // its browser came back: the code exchange is under way or done
	code     string // the problem code of its failure, if it failed
}

// attempt is what is known at now of the log-in to env that a `freshtoken
// login` began as attempt. One that waited past its time, or was
// forgotten for younger ones, is held no longer, as after a restart.
func (l *logins) attempt(env, attempt string, now time.Time) attemptState {
	l.mu.Lock()
	defer l.mu.Unlock()
	var st attemptState
	if attempt == "" {
		return st
	}
	for _, f := range l.failed {
		if f.env == env && f.attempt == attempt {
			return attemptState{held: true, answered: true, code: f.code}
		}
	}
	for _, p := range l.pending {
		if p.env.name == env && p.attempt == attempt && (p.answered || l.within(p, now)) {
			st.held, st.answered = true, st.answered || p.answered
		}
	}
	return st
}

// within reports whether pl, a log-in started here, is still within its
// time at now, by the wall clock and by the timers both: the timers,
// Go's monotonic clock, stand still while the machine sleeps (the wall
// clock counts that) and do not move when the clock is set back, which
// kept a log-in waiting for its browser, and its state good, for as long
// as the clock went back; l.mu is held.
func (l *logins) within(pl *pendingLogin, now time.Time) bool {
	return now.Before(pl.expires) && l.timers().Sub(pl.beganOn) < pl.expires.Sub(pl.began)
}

// add keeps pl, a log-in started at now, or returns errRestarting once
// the log-ins are closed.
func (l *logins) add(pl *pendingLogin, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errRestarting
	}
	l.pending = slices.DeleteFunc(l.pending, func(p *pendingLogin) bool { return !l.within(p, now) })
	if len(l.pending) >= maxPendingLogins {
		l.pending = l.pending[1:]
	}
	l.pending = append(l.pending, pl)
	return nil
}

// errRestarting is a log-in asked for once the proxy has closed its
// log-ins to restart as a new version.
var errRestarting = errors.New("freshtoken is restarting as its new version (an upgrade)")

// StopLogins closes the proxy to new log-ins, for a restart that hands
// its address to a new process, which would not know the browser coming
// back from a browser log-in, nor poll for a device log-in's approval,
// and reports true; while a log-in started here waits for its browser or
// its approval, it closes nothing and reports false, unless force. A
// log-in asked for once they are closed is not started, and the browser
// is told when to ask again, of the new process. Forced, it closes them,
// and still reports false while a log-in begun less than spare ago waits
// (see restartHeldLocked): the person sent to the provider moments before
// is most likely approving, and would come back to a process that never
// began the log-in. The older ones it abandons, which the log tells of.
func (p *Proxy) StopLogins(force bool, spare time.Duration) bool {
	l, now := &p.logins, p.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !force && (l.waitingLocked(now) || p.deviceWaiting(now)) {
		return false
	}
	l.closed = true
	if force {
		l.spare = spare
	}
	if p.restartHeldLocked(now) > 0 {
		return false
	}
	for _, pl := range l.pending {
		if !pl.answered && l.within(pl, now) {
			p.log.Warn("a browser log-in abandoned by the restart as the new version: the browser coming back is told to log in again", "env", pl.env.name, "began", pl.began.UTC().Format(time.RFC3339))
		}
	}
	p.envs.Range(func(_, v any) bool {
		e := v.(*envProxy)
		if dl := e.device.Load(); dl != nil && now.Before(dl.expires) {
			p.log.Warn("a device log-in abandoned by the restart as the new version: its code, approved now, is taken by no one; click Log in again on the status page", "env", e.name, "began", dl.began.UTC().Format(time.RFC3339))
		}
		return true
	})
	return true
}

// OpenLogins opens the proxy to log-ins again, after StopLogins closed it
// for a restart that is no longer to be (the upgrade it was for put back or
// refused).
func (p *Proxy) OpenLogins() {
	l := &p.logins
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed, l.spare = false, 0
}

// restartHeldLocked is how much longer, at now, the log-ins begun here
// hold a forced restart: until each begun less than logins.spare ago has
// ended or is that old; l.mu is held. One begun further on than now, the
// clock set back since (NTP, the time corrected), holds it no more:
// counted from then, it held the restart, and told each log-in asked for
// to come back, for as long as the clock went back, past the longest the
// restart waits.
func (p *Proxy) restartHeldLocked(now time.Time) time.Duration {
	var held time.Duration
	hold := func(began, expires time.Time) {
		if now.Before(expires) && !now.Before(began) {
			held = max(held, min(expires.Sub(now), began.Add(p.logins.spare).Sub(now)))
		}
	}
	for _, pl := range p.logins.pending {
		if !pl.answered && p.logins.within(pl, now) {
			hold(pl.began, pl.expires)
		}
	}
	p.envs.Range(func(_, v any) bool {
		if dl := v.(*envProxy).device.Load(); dl != nil {
			hold(dl.began, dl.expires)
		}
		return true
	})
	return held
}

// showDevice makes dl e's device log-in, which StopLogins waits for, or
// returns errRestarting once the log-ins are closed.
func (l *logins) showDevice(e *envProxy, dl *deviceLogin) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errRestarting
	}
	e.device.Store(dl)
	return nil
}

// waitingLocked reports whether a log-in waits, at now, for its browser to
// come back, which only this process can take; l.mu is held.
func (l *logins) waitingLocked(now time.Time) bool {
	return slices.ContainsFunc(l.pending, func(p *pendingLogin) bool { return !p.answered && l.within(p, now) })
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

// awaitsAt reports whether a log-in started here waits, at now, for its
// browser to come back at hostport, the host of its redirect URI: a name
// of the proxy's that the guard does not know otherwise (app.localhost,
// which browsers open at loopback), as the provider was asked to send the
// browser back there.
func (l *logins) awaitsAt(hostport string, now time.Time) bool {
	hostport = strings.ToLower(hostport)
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.pending, func(p *pendingLogin) bool { return !p.answered && l.within(p, now) && p.host == hostport })
}

// answer returns the unanswered log-in whose state is state, answered at
// path, the path of its redirect URI, and marks it answered so its state
// cannot be used twice. An answer at another redirect URI is no answer to
// it: environments with redirect URIs of their own are the defence against
// a provider that sends the browser on to another with the log-in's state
// (a mix-up, RFC 9700 §4.4.2), whose code the other provider sends back to
// its own environment's redirect URI, to be exchanged, with the PKCE
// verifier, at the first provider's token endpoint.
func (l *logins) answer(state, path string, now time.Time) *pendingLogin {
	if path == "" {
		path = "/"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.pending {
		if !p.answered && l.within(p, now) && p.path == path && subtle.ConstantTimeCompare([]byte(p.req.State), []byte(state)) == 1 {
			p.answered = true
			return p
		}
	}
	return nil
}

// redirectURI is where the provider sends the browser back to after a
// log-in started here: the environment's redirect_uri when it names this
// proxy's listening address, in any spelling, so that it matches the one
// registered with the provider, else the proxy's own /callback. A
// localhost name names a proxy on [::1] too, where browsers open it.
func (p *Proxy) redirectURI(ec *config.Env) string {
	addr, err := login.LoopbackAddr(ec.RedirectURI)
	if err != nil {
		return p.base + "/callback"
	}
	_, port, _ := net.SplitHostPort(addr)
	if p.guard.listening(addr) || login.NamesLocalhost(ec.RedirectURI) && p.guard.listening(net.JoinHostPort("::1", port)) {
		return ec.RedirectURI
	}
	return p.base + "/callback"
}

// startLogin begins a browser log-in to the named environment, which waits
// login.DefaultTimeout for the browser to come back, or as long as the
// `freshtoken login` that asked for it (attempt, if one did) waits: its
// --timeout, up to maxLoginWait.
func (p *Proxy) startLogin(ctx context.Context, name, attempt string, wait time.Duration, over replacing) (*pendingLogin, error) {
	e, err := p.env(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := e.logInRoom(); err != nil {
		return nil, err
	}
	redirect := p.redirectURI(e.conf)
	conf, err := e.src.OAuth2Config(ctx, redirect)
	if err != nil {
		return nil, err
	}
	ep, err := e.loginEndpoints(ctx)
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
		env:       e,
		flow:      &login.Flow{Env: name, Config: conf, Logger: p.log, Clock: p.now, HTTP: e.src.TokenClient(), Issuer: e.src.Issuer(), IssuerInAnswers: ep.IssuerInAnswers, TokenURLSetting: e.conf.TokenURLSetting()},
		req:       login.NewRequest(conf),
		path:      u.Path,
		host:      strings.ToLower(u.Host),
		began:     now,
		expires:   now.Add(min(max(wait, login.DefaultTimeout), maxLoginWait)),
		beganOn:   p.logins.timers(),
		attempt:   attempt,
		overNewer: e.holdsNewer(ctx),
		over:      over,
		done:      make(chan struct{}),
	}
	if err := p.logins.add(pl, now); err != nil {
		return nil, err
	}
	p.log.Debug("log-in started", "env", name, "redirect_uri", redirect)
	return pl, nil
}

// logInRoom is why e's store could not store its first tokens now, said
// before the person is sent to approve (see configedit.LogInRoom).
func (e *envProxy) logInRoom() error {
	if err := configedit.LogInRoom(e.storeURL, e.name); err != nil {
		return fmt.Errorf("%s: %w, then log in", e.name, err)
	}
	return nil
}

// handleCallback finishes a log-in when the provider sends the browser back,
// stores the tokens, and shows the status page.
func (p *Proxy) handleCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pl := p.logins.answer(q.Get("state"), r.URL.Path, p.now())
	if pl == nil {
		// Shown in place, the answer left in the address bar: a
		// `freshtoken login --manual` may wait for it (the redirect URI
		// is this port's), and takes the address pasted.
		p.warnOutsider("log-in answer with no matching log-in", "path", r.URL.Path)
		p.servePage(w, r, http.StatusBadRequest, "stale-login", "")
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), ExchangeTimeout)
	defer cancel()
	e, err := pl.env, error(errStopping)
	if release, running := p.background.hold(); running { // a stopping proxy waits for the exchange
		defer release()
		e, err = p.current(ctx, pl.env)
		if err == nil {
			err = pl.env.storedSince(ctx, pl.overNewer, pl.over)
		}
		if err == nil {
			// From the code's exchange until its answer is stored, a
			// signal waits for them, as for `freshtoken login`'s.
			stored := func() {}
			if p.o.Sending != nil {
				pl.flow.Exchanging = func() {
					stored = p.o.Sending(freshtoken.Renewal{Env: pl.env.name, TokenURL: pl.flow.Config.Endpoint.TokenURL, Timeout: pl.env.conf.Timeout, LogIn: true})
				}
			}
			var res *login.Result
			if res, err = pl.flow.Complete(ctx, pl.req, q); err == nil {
				err = pl.env.src.SaveLoginOf(ctx, pl.env.loggedInWith(pl.over), res.Token, res.SentAt, p.loginCheck(ctx, pl.env, pl.overNewer, pl.over, &e))
			}
			stored()
		}
	}
	pl.err = err
	close(pl.done)
	if err != nil {
		p.log.Warn("log-in failed", "env", pl.env.name, "error", err.Error())
		if msg, rejected := login.ClientRejection(err); rejected {
			e.src.NoteClientRejected(ctx, msg)
		}
		e.fail(p.now(), err)
		p.attemptFailed(pl.env.name, pl.attempt, err)
		http.Redirect(w, r, p.cameBack(r, p.noticeURL("login-failed", pl.env.name)), http.StatusSeeOther)
		return
	}
	pl.env.succeed()
	p.log.Info("logged in", "env", pl.env.name, "store", pl.env.src.Location())
	http.Redirect(w, r, p.cameBack(r, p.noticeURL("logged-in", pl.env.name)), http.StatusSeeOther)
}

// cameBack is notice, a noticeURL, for the browser that came back from a
// log-in at r: on the proxy's own address where r's host names the proxy
// only for that log-in (see logins.awaitsAt), which would refuse the page.
func (p *Proxy) cameBack(r *http.Request, notice string) string {
	if p.guard.own(r.Host) {
		return notice
	}
	return p.base + notice
}

// loggedInWith is the configuration file the record of a log-in of e that
// may replace what over says names: that of the `freshtoken login` that
// asked for it, on this machine (the proxy listens on loopback for it),
// else the proxy's own.
func (e *envProxy) loggedInWith(over replacing) store.ConfigFile {
	own := e.src.ConfigFile()
	if over.caller == "" || own.Host == "" {
		return own
	}
	return store.ConfigFile{Host: own.Host, Path: over.caller}
}

// current returns the environment that a log-in begun for e logs in to, as
// it is served now, and an error if that is no longer e: removed from the
// configuration, or changed (another provider, another client), the
// log-in's tokens would be stored over those of the configuration in
// force, which would be lost. The environment is e when there is no other.
func (p *Proxy) current(ctx context.Context, e *envProxy) (*envProxy, error) {
	now, err := p.env(ctx, e.name)
	if err != nil {
		return e, fmt.Errorf("%s: the log-in stored nothing, as the environment cannot be served now: %w", e.name, err)
	}
	if now != e {
		return now, configChangedError(e.name)
	}
	return e, nil
}

// loginCheck is the freshtoken.LoginCheck of a log-in begun for e, asked
// under the renewal lock as its tokens are stored: they are stored only
// while e is served as it was when the log-in began (see current), as the
// configuration may have changed as the provider answered (`freshtoken
// remove`, `freshtoken store migrate`), and only over tokens it may
// replace (see meanwhileCheck): over a newer freshtoken's only if
// overNewer, over another configuration's only as over allows. *now is
// set to e as served then, which is told of a failure.
func (p *Proxy) loginCheck(ctx context.Context, e *envProxy, overNewer bool, over replacing, now **envProxy) freshtoken.LoginCheck {
	meanwhile := e.meanwhileCheck(overNewer, over)
	return func(rec *store.Record, err error) error {
		cur, changed := p.current(ctx, e)
		*now = cur
		if changed != nil {
			return changed
		}
		return meanwhile(rec, err)
	}
}

// configChangedError is a log-in that stored nothing because its
// environment's configuration changed after it began: to be done again
// under the configuration in force, which is no bug.
type configChangedError string

func (e configChangedError) Error() string {
	return fmt.Sprintf("%s: the configuration of %[1]s changed after this log-in began, so it stored nothing, and the tokens stored are kept; log in again", string(e))
}

func (configChangedError) FailureKind() kinds.Kind { return kinds.LoginRefused }

// holdsNewer reports whether the store holds tokens a newer freshtoken
// wrote for e, which a log-in begun now replaces only as the person
// confirmed.
func (e *envProxy) holdsNewer(ctx context.Context) bool { return login.HoldsNewer(ctx, e.src) }

// storedSince is an error if tokens stored for e after a log-in began are
// ones it may not replace: a newer freshtoken's (overNewer: it began over
// such tokens; see login.NewerCheck), or another configuration's that over
// does not allow; logging in again on the page asks about replacing them;
// or tokens that cannot be read here (see login.UnreadableMeanwhile). It
// is asked before a code is sent, which would begin a grant whose tokens
// are then thrown away, and at each poll of a device log-in.
func (e *envProxy) storedSince(ctx context.Context, overNewer bool, over replacing) error {
	return e.meanwhileCheck(overNewer, over)(e.src.Record(ctx))
}

// meanwhileCheck is storedSince for the record stored when the log-in's
// tokens are, under the renewal lock (see freshtoken.LoginCheck).
func (e *envProxy) meanwhileCheck(overNewer bool, over replacing) func(*store.Record, error) error {
	newer := login.NewerCheck(e.name, e.src.Location(), overNewer, "")
	return func(rec *store.Record, err error) error {
		if err == nil && rec != nil && e.src.CheckGrant(rec) != nil && !over.allows(rec.Grant) {
			return &login.NewerMeanwhileError{Env: e.name, Other: rec.Grant.String(), Where: e.src.Location()}
		}
		if err == nil && rec != nil && e.src.CheckGrant(rec) == nil && !over.any {
			if other := rec.LoggedInWith.OtherThan(e.loggedInWith(over)); other != "" && !slices.Contains(over.files, other) {
				return &login.NewerMeanwhileError{Env: e.name, Other: login.Whose(rec, e.loggedInWith(over)), Where: e.src.Location()}
			}
		}
		return newer(rec, err)
	}
}

// handleLoginButton is the status page's Log in: it sends the browser to
// the provider. Over tokens a newer freshtoken wrote, which that one can
// use and this one cannot read, it starts nothing unless the form says the
// person confirmed replacing them (the page's Replace and log in), as
// `freshtoken login` asks: a newer freshtoken's grant is never ended
// unasked. So over another configuration's tokens (replace=other, and
// replace_grant naming the grant of those the page showed), whose grant
// the log-in then replaces, and no other configuration's stored while the
// person approves; and over tokens of this grant that another configuration
// file on this machine logged in (replace=other, and replace_file naming
// it), which that configuration then shares. Nor over a record it cannot read at all
// (Redis down, a file with loose permissions), which may be one, as
// `freshtoken login` does not: the page says why; a corrupt record is
// replaced.
func (p *Proxy) handleLoginButton(w http.ResponseWriter, r *http.Request) {
	name, ok := p.checkForm(w, r)
	if !ok {
		return
	}
	var over replacing
	if e, err := p.env(r.Context(), name); err == nil {
		rec, err := e.src.Record(r.Context())
		switch {
		case errors.Is(err, store.ErrNewerFormat) && r.PostForm.Get("replace") != "newer":
			p.log.Warn("log-in not started: the stored tokens were written by a newer freshtoken", "env", name)
			http.Redirect(w, r, p.noticeURL("login-over-newer", name), http.StatusSeeOther)
			return
		case err != nil && !errors.Is(err, store.ErrCorrupt):
			p.buttonFailed(w, r, name, "login-failed", err)
			return
		case err == nil && rec != nil && e.src.CheckGrant(rec) != nil:
			// Those very tokens: the form names the grant of those the
			// page showed, and another's stored since were never seen.
			theirs := GrantDigest(rec.Grant)
			if r.PostForm.Get("replace") != "other" || r.PostForm.Get("replace_grant") != theirs {
				done, why := "login-over-other", "the stored tokens belong to another configuration"
				if r.PostForm.Get("replace") == "other" {
					done, why = "other-tokens-changed", "the stored tokens belong to another configuration than those the person chose to replace"
				}
				p.log.Warn("log-in not started: "+why, "env", name, "theirs", rec.Grant.String())
				http.Redirect(w, r, p.noticeURL(done, name), http.StatusSeeOther)
				return
			}
			over.grants = []string{theirs}
		case err == nil && rec != nil && rec.LoggedInWith.OtherThan(e.src.ConfigFile()) != "":
			// Of this grant, logged in with another configuration file
			// on this machine, which shares them: the form names the file
			// the page showed, as its question did.
			other := rec.LoggedInWith.OtherThan(e.src.ConfigFile())
			if r.PostForm.Get("replace") != "other" || r.PostForm.Get("replace_file") != other {
				p.log.Warn("log-in not started: the stored tokens were logged in with another configuration", "env", name, "theirs", other)
				http.Redirect(w, r, p.noticeURL("login-over-other-file", name), http.StatusSeeOther)
				return
			}
			over.files = []string{other}
		}
		if p.loginButton(w, r, e, over) {
			return
		}
	}
	p.sendToProvider(w, r, name, "", 0, over)
}

// sendToProvider starts a log-in of name, for the `freshtoken login` named
// attempt if one asked, which waits for it as long as wait, and may replace
// other configurations' tokens as over says, and sends the browser to the
// provider.
func (p *Proxy) sendToProvider(w http.ResponseWriter, r *http.Request, name, attempt string, wait time.Duration, over replacing) {
	pl, err := p.startLogin(r.Context(), name, attempt, wait, over)
	if errors.Is(err, errRestarting) {
		// Not the environment's failure, and the new process, which
		// the browser reaches next, knows neither this notice's key nor
		// the attempt: a `freshtoken login` that asked, never told the
		// log-in was held or failed, waits on for the tokens, which the
		// log-in begun from the new process's page stores.
		p.refuseForRestart(w, name)
		return
	}
	if err != nil {
		p.attemptFailed(name, attempt, err)
		p.buttonFailed(w, r, name, "login-failed", err)
		return
	}
	http.Redirect(w, r, pl.req.URL, http.StatusSeeOther)
}

// refuseForRestart answers a log-in of name asked for once the log-ins
// are closed (StopLogins): the browser is to ask the new process, in a
// few seconds, or once the log-ins that still hold a forced restart have
// ended.
func (p *Proxy) refuseForRestart(w http.ResponseWriter, name string) {
	p.logins.mu.Lock()
	held := p.restartHeldLocked(p.now())
	p.logins.mu.Unlock()
	p.log.Info("log-in not started: the proxy is restarting as its new version", "env", name)
	when, retry := "in a few seconds", 5*time.Second
	if held > 0 {
		minutes := int((held + time.Minute - 1) / time.Minute)
		when, retry = fmt.Sprintf("in %d minutes, once the log-in under way has ended,", minutes), time.Duration(minutes)*time.Minute
		if minutes == 1 {
			when = "in a minute, once the log-in under way has ended,"
		}
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
	http.Error(w, errRestarting.Error()+", so no log-in to "+name+" was started: open "+p.base+"/ again "+when+" and click Log in.", http.StatusServiceUnavailable)
}

// handleLoginLink is the link `freshtoken login` opens in the browser when
// this proxy holds the environment's redirect address: it starts a log-in
// and sends the browser to the provider, like the page's Log in button.
// The command then waits for the store to hold the new tokens; nothing this
// proxy says is taken on trust. Only a browser on this machine may use it,
// and only with the key the command got from the proxy (see vouched); a
// link without it changes nothing and shows the status page, whose Log in
// the person clicks if they asked for it.
func (p *Proxy) handleLoginLink(w http.ResponseWriter, r *http.Request) {
	if !fromThisMachine(r) {
		writeKind(w, kinds.Forbidden, problem{Message: "log-ins can only be started through the proxy from this machine"})
		return
	}
	name, q := r.PathValue("env"), r.URL.Query()
	if !p.vouched(r) {
		p.warnOutsider("log-in link not started: it lacks this proxy's key", "env", name)
		http.Redirect(w, r, p.noticeURL("login-unvouched", name), http.StatusSeeOther)
		return
	}
	if e, err := p.env(r.Context(), name); err == nil {
		// A refusal ends the wait of the command that asked, at once: its
		// configuration and this proxy's no longer agree (one changed
		// since it asked, or the link was opened later), as it would have
		// stopped (exit 2) had they disagreed when it asked. The page,
		// where the command points, says why, as the browser does.
		refuse := func(why string) {
			p.logins.fail(name, q.Get("attempt"), kinds.Config.Row().Code)
			e.fail(p.now(), errors.New(why))
			http.Error(w, why, http.StatusConflict)
		}
		// A `freshtoken login` of another configuration names its client:
		// logging in this proxy's would replace that one's tokens. It names
		// its token endpoint by the digest, or, a command older than the
		// digest, by the URL itself.
		id, tu, sum := q.Get("client_id"), q.Get("token_url"), q.Get("token_url_sha256")
		if id != "" && id != e.conf.ClientID || tu != "" && tu != e.conf.TokenURL || sum != "" && sum != TokenURLDigest(e.conf.TokenURL) {
			p.log.Warn("log-in link refused: it is for another client", "env", name)
			refuse("This freshtoken proxy serves " + name + " for another client or provider than the configuration that asked to log in; nothing was changed. Stop this proxy, or log in with its configuration.")
			return
		}
		// Nor may it log in for another API: the tokens would be addressed
		// to this proxy's audience and resources, not the command's. A link
		// of a command older than this check names neither.
		// Nor for another issuer, whose log-in is at another provider. A
		// link of a command older than this check names none.
		if q.Has("issuer") && q.Get("issuer") != e.conf.Issuer {
			p.log.Warn("log-in link refused: it is for another issuer", "env", name)
			refuse("This freshtoken proxy serves " + name + " for another client or provider than the configuration that asked to log in; nothing was changed. Stop this proxy, or log in with its configuration.")
			return
		}
		// It names them by their digest, or, a command older than the
		// digest, by the values themselves.
		if q.Has("api_sha256") && q.Get("api_sha256") != APIDigest(e.conf.Audience, e.conf.BoundResources()) ||
			q.Has("audience") && (q.Get("audience") != e.conf.Audience || q.Get("resource") != store.Resources(e.conf.BoundResources())) {
			p.log.Warn("log-in link refused: it is for another audience or resource", "env", name)
			refuse("This freshtoken proxy serves " + name + " for another audience or resource than the configuration that asked to log in; nothing was changed. Stop this proxy, or log in with its configuration.")
			return
		}
		// The link starts a browser log-in, whose tokens would be stored
		// as those of whatever grant this proxy serves the environment with.
		if e.conf.Grant != config.GrantAuthorizationCode {
			p.log.Warn("log-in link refused: the environment uses another grant", "env", name, "grant", e.conf.Grant)
			refuse("This freshtoken proxy serves " + name + " with grant = \"" + e.conf.Grant + "\", which does not log in through a browser; nothing was changed. Restart the proxy if you changed the grant in the config.")
			return
		}
	}
	wait, _ := time.ParseDuration(q.Get("wait")) // none, or not one: the proxy's own
	// The other configurations' tokens the command would replace: a
	// command older than this names none, and replaces none here. Its
	// leave lasts while the command waits: the link, kept in the browser's
	// history, opened again later would replace tokens stored since, which
	// no one was asked about.
	over := replacing{any: q.Get("replace") == "other", grants: q["replace_grant"], files: q["replace_file"]}
	if (over.any || len(over.grants) > 0 || len(over.files) > 0) && !p.now().Before(replaceUntil(q)) {
		p.log.Warn("log-in link not started: the freshtoken login that made it has stopped waiting", "env", name)
		http.Redirect(w, r, p.noticeURL("login-link-expired", name), http.StatusSeeOther)
		return
	}
	// The command's configuration file, which the record names as the
	// one that logged in: another file on this machine sharing the record
	// with the proxy's. A command older than this names none.
	if caller := q.Get("config_file"); filepath.IsAbs(caller) && filepath.Clean(caller) == caller {
		over.caller = caller
	}
	p.sendToProvider(w, r, name, q.Get("attempt"), wait, over)
}

// vouched reports whether r, a request for the log-in link, was made by a
// program on this machine: it carries the key that the grant answer gives
// only to programs on this machine, which no web page can read. Without
// it, any web page could start a log-in whose tokens, of whatever account
// the browser is signed in to at the provider, replace those stored, or
// note a refusal against the environment: in a browser that sends no
// Sec-Fetch-Site (Safari before 16.4, older Firefox and Chrome, web views)
// by a link or a frame, and in Chromium by a redirect from a site opened
// from outside any page (typed, or a link in a mail program), which it
// marks Sec-Fetch-Site: none, as if the person had opened the link.
func (p *Proxy) vouched(r *http.Request) bool {
	return subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("key")), []byte(p.loginKey)) == 1
}

// attemptFailed keeps err as the failure of the log-in that the
// `freshtoken login` named attempt began, if one did.
func (p *Proxy) attemptFailed(env, attempt string, err error) {
	_, pr := p.engineProblem(env, err)
	p.logins.fail(env, attempt, pr.Code)
}

// askedFromThisMachine answers 403 to a question from another machine,
// and reports whether r came from this one.
func askedFromThisMachine(w http.ResponseWriter, r *http.Request) bool {
	if !fromThisMachine(r) {
		writeKind(w, kinds.Forbidden, problem{Message: "only a program on this machine may ask"})
		return false
	}
	return true
}

// handleAttempt says whether this proxy holds the log-in that the
// `freshtoken login` named attempt began here, whether its browser came
// back, and whether it failed, with which problem code. The command
// believes only an end (a failure, or a log-in no longer held), which can
// do no more than end its wait early.
func (p *Proxy) handleAttempt(w http.ResponseWriter, r *http.Request) {
	if !askedFromThisMachine(w, r) {
		return
	}
	name, attempt := r.PathValue("env"), r.PathValue("attempt")
	st := p.logins.attempt(name, attempt, p.now())
	writeJSON(w, http.StatusOK, struct {
		Env      string `json:"env"`
		Attempt  string `json:"attempt"`
		Held     bool   `json:"held"`
		Answered bool   `json:"answered"`
		Failed   bool   `json:"failed"`
		Code     string `json:"error,omitempty"`
	}{name, attempt, st.held, st.answered, st.code != "", st.code})
}

// AttemptURL is where the proxy at base says whether the log-in to env
// that a `freshtoken login` began as attempt has failed.
func AttemptURL(base, env, attempt string) string {
	return base + controlPrefix + "envs/" + url.PathEscape(env) + "/attempts/" + url.PathEscape(attempt)
}

// grantInfo is what `freshtoken login` checks before opening the log-in
// link: which client and store this proxy serves the environment for, and
// for which API. The token endpoint, the audience and the resource
// indicators, which may carry a key (an API gateway's
// ?subscription-key=…), are told to any program on this machine that asks
// only by their digests, to compare, and masked (redact.URL), for people:
// a `freshtoken login` older than a digest compares the masked values with
// its own, and refuses a log-in a key made them differ in.
type grantInfo struct {
	Env            string `json:"env"`
	ClientID       string `json:"client_id"`
	TokenURL       string `json:"token_url"`
	TokenURLSHA256 string `json:"token_url_sha256"` // TokenURLDigest
	Issuer         string `json:"issuer"`           // "" for none
	Grant          string `json:"grant"`
	Store          string `json:"store"`
	Audience       string `json:"audience"`
	Resource       string `json:"resource"`   // as store.Grant names them
	APISHA256      string `json:"api_sha256"` // APIDigest
	LoginKey       string `json:"login_key"`  // for the log-in link (WithLoginKey)
	// NamesLoginFile: the record of a log-in through the link names the
	// configuration file the link names (ForConfigFile), not the proxy's.
	NamesLoginFile bool `json:"names_login_file"`
}

// handleGrant says which client and store the proxy serves env for, so a
// `freshtoken login` of another configuration can stop before it starts.
func (p *Proxy) handleGrant(w http.ResponseWriter, r *http.Request) {
	if !askedFromThisMachine(w, r) {
		return
	}
	name := r.PathValue("env")
	e, err := p.env(r.Context(), name)
	if err != nil {
		status, pr := p.engineProblem(name, err)
		writeError(w, status, pr)
		return
	}
	resources := e.conf.BoundResources()
	writeJSON(w, http.StatusOK, grantInfo{Env: name, ClientID: e.conf.ClientID, TokenURL: redact.URL(e.conf.TokenURL), TokenURLSHA256: TokenURLDigest(e.conf.TokenURL),
		Issuer: e.conf.Issuer, Grant: e.conf.Grant, Store: e.src.Location(),
		Audience: redact.URL(e.conf.Audience), Resource: strings.Join(store.ShownResources(store.Resources(resources)), " "), APISHA256: APIDigest(e.conf.Audience, resources),
		LoginKey: p.loginKey, NamesLoginFile: true})
}

// TokenURLDigest is how the proxy and `freshtoken login` name a token
// endpoint to each other: its URL's SHA-256, in hex, which compares as
// exactly as the URL and shows no key it carries.
func TokenURLDigest(tokenURL string) string { return digest("token_url", tokenURL) }

// APIDigest is how the proxy and `freshtoken login` name the API tokens
// are requested for, an audience and resource indicators (in any order),
// to each other: as TokenURLDigest names a token endpoint.
func APIDigest(audience string, resources []string) string {
	return digest("api", audience+"\x00"+store.Resources(resources))
}

// digest is the SHA-256, in hex, of value, named what.
func digest(what, value string) string {
	sum := sha256.Sum256([]byte("freshtoken " + what + "\x00" + value))
	return hex.EncodeToString(sum[:])
}

// GrantURL is where the proxy at base says which client and store it
// serves env for.
func GrantURL(base, env string) string {
	return base + controlPrefix + "envs/" + url.PathEscape(env) + "/grant"
}

// ForAPI adds to link, a LoginURL, the digest (APIDigest) of the audience
// and the resource indicators of the configuration that asks to log in,
// which the proxy refuses the link unless it serves env for.
func ForAPI(link, audience string, resources []string) string {
	return withParam(link, "api_sha256", APIDigest(audience, resources))
}

// ForOlderAPIProxy is the log-in link for a proxy older than APIDigest,
// which ignores the digest: it names the audience and the resource
// indicators themselves, which such a proxy compares.
func ForOlderAPIProxy(link, audience string, resources []string) string {
	return withParam(withParam(link, "audience", audience), "resource", store.Resources(resources))
}

// ForIssuer is the log-in link for an environment of issuer ("" for none),
// which the proxy refuses if it serves env for another.
func ForIssuer(link, issuer string) string { return withParam(link, "issuer", issuer) }

// ForOlderProxy is the log-in link for a proxy older than TokenURLDigest,
// which ignores the digest: it names the token endpoint by its URL, which
// such a proxy compares, and hands out, itself.
func ForOlderProxy(link, tokenURL string) string { return withParam(link, "token_url", tokenURL) }

// GrantDigest is how `freshtoken login` names to the proxy the grant of
// another configuration's tokens that it may replace: the SHA-256, in hex,
// of every field of g, its URLs whole, which shows no key its URLs carry.
func GrantDigest(g store.Grant) string {
	b, _ := json.Marshal(g) // strings and a bool: never fails
	return digest("grant", string(b))
}

// Replacing is the log-in link for a `freshtoken login` that may replace
// the tokens of the grants others, and those of this grant that the other
// configuration files files logged in (the ones the person confirmed
// replacing as it began), or with any, every other configuration's stored
// before the log-in's are (--yes, or no terminal to ask on): the proxy
// replaces no others. The leave holds only if the link is opened before
// until, when the command stops waiting; after it, the proxy starts nothing.
func Replacing(link string, until time.Time, any bool, others []store.Grant, files []string) string {
	path, query, _ := strings.Cut(link, "?")
	q, _ := url.ParseQuery(query) // LoginURL's own
	if any {
		q.Set("replace", "other")
	}
	for _, g := range others {
		q.Add("replace_grant", GrantDigest(g))
	}
	for _, file := range files {
		q.Add("replace_file", file)
	}
	if any || len(others) > 0 || len(files) > 0 {
		q.Set("replace_until", strconv.FormatInt(until.Unix(), 10))
	}
	return path + "?" + q.Encode()
}

// replaceUntil is when the leave to replace that a log-in link q carries
// ends (see Replacing): the zero time, long past, for a link naming no end.
func replaceUntil(q url.Values) time.Time {
	sec, err := strconv.ParseInt(q.Get("replace_until"), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

// ForConfigFile is the log-in link of a `freshtoken login` with the
// configuration file at path (absolute, symbolic links resolved; "" for
// none), which the record of the log-in names as the one that logged in.
func ForConfigFile(link, path string) string {
	if path == "" {
		return link
	}
	return withParam(link, "config_file", path)
}

// WithLoginKey is the log-in link carrying the key of the proxy's grant
// answer, which vouches that a program on this machine made it; a proxy
// older than the key gives none, and the link is left as it is.
func WithLoginKey(link, key string) string {
	if key == "" {
		return link
	}
	return withParam(link, "key", key)
}

// withParam is link, a LoginURL, with its parameter key set to value.
func withParam(link, key, value string) string {
	path, query, _ := strings.Cut(link, "?")
	q, _ := url.ParseQuery(query) // LoginURL's own
	q.Set(key, value)
	return path + "?" + q.Encode()
}

// LoginURL is the link that starts a log-in to env through the proxy at
// base (such as http://127.0.0.1:8787), for the client at tokenURL with
// clientID: the proxy refuses it if it serves env for another. It names
// the token endpoint by its digest (TokenURLDigest), as the link is
// printed and kept in the browser's history. attempt, a random word of
// the command's, is what it asks after at AttemptURL; wait (0: the proxy's
// own) is how long the command waits for the browser, and so how long the
// proxy's log-in does.
func LoginURL(base, env, clientID, tokenURL, attempt string, wait time.Duration) string {
	link := base + controlPrefix + "envs/" + url.PathEscape(env) + "/login"
	q := url.Values{}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	if tokenURL != "" {
		q.Set("token_url_sha256", TokenURLDigest(tokenURL))
	}
	for k, v := range map[string]string{"client_id": clientID, "attempt": attempt} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) > 0 {
		link += "?" + q.Encode()
	}
	return link
}
