package proxy

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configfile"
	kinds "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/keeper"
	"github.com/freshtoken/freshtoken/internal/resting"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

//go:embed web
var web embed.FS

var (
	// page is parsed when first served, not at every start of the program.
	page      = sync.OnceValue(func() *template.Template { return template.Must(template.ParseFS(web, "web/status.html")) })
	static, _ = fs.Sub(web, "web/static")
	files     = http.StripPrefix(controlPrefix+"static/", http.FileServerFS(static))
)

func serveStatic(w http.ResponseWriter, r *http.Request) { files.ServeHTTP(w, r) }

func serveFavicon(w http.ResponseWriter, r *http.Request) {
	http.ServeFileFS(w, r, static, "favicon.svg")
}

// pageHeaders keep the status page to itself: no framing (its buttons
// cannot be clickjacked), no scripts or styles but its own, no caching, and
// no Referer sent to the provider. (With no Referer at all, browsers would
// also send "Origin: null" on the page's own forms, which the guard refuses.)
func pageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

type pageData struct {
	Base        string
	Start       string // the command line that starts the proxy again
	CSRF        string
	Local       bool // the viewer is on this machine, where the buttons work
	AllowRemote bool // other machines can reach the proxy
	Notice      *notice
	Banner      []string // what a person is needed for, as the notifications said it
	ConfigError string
	Init        string // the command that adds an environment (naming --config)
	Envs        []envView
	Requests    []requestView
}

type notice struct {
	Done  string // what it reports, as the redirect's done parameter names it
	Error bool
	Text  string
}

type envView struct {
	Name, Provider, APIURL, ProxyURL, Store string
	Default                                 bool
	Production                              bool // may hold real data: marked so it is not taken for a sandbox
	LoggedIn                                bool
	State                                   string // logged-in, logged-out or attention
	Expiry                                  string
	LastRenewal                             string
	NextRenewal                             string // when this process renews the grant to keep it alive, and why
	Rest                                    string // the wait before renewals try again, after they gave up (as status's "renewals" row)
	Renewals                                int
	Scope                                   string // the scope granted, and those configured it lacks, as status's "scope" row
	Problem                                 string
	ProblemAgo                              string
	LoginFixes                              bool // logging in again fixes the problem
	// TokenFileProblem says that the environment's token_file holds the
	// token another configuration's environment keeps there, as status's
	// "token file" row does.
	TokenFileProblem string
	// StuckLock says that a stopped process holds the environment's
	// renewal lock, which every renewal, and so every request needing
	// one, waits for, and how to resume it, as status's "problem" row
	// says it (freshtoken.Source.StuckLocks).
	StuckLock string
	// NoLogin is set for client credentials, which need no log-in.
	NoLogin bool
	// NewerTokens is set when the stored tokens were written by a newer
	// freshtoken: Log in replaces them only once the person confirms.
	NewerTokens bool
	// OtherTokens is set, to their grant's digest (GrantDigest), when the
	// stored tokens are another configuration's: Log in replaces them only
	// once the person confirms, and only those. OtherGrant is whose they
	// are (store.Grant.String), which the question asked names: the page
	// renews itself, and may have come to show another's since it was read.
	OtherTokens, OtherGrant string
	// LoggedInWith is the configuration file on this machine that logged
	// in the tokens, when it is not the proxy's own, as status's "logged
	// in with" row: the two share them, and Log in asks before replacing
	// them, the form naming the file (replace_file); so does Log out,
	// which ends them for that configuration too (other_file).
	LoggedInWith string
	// A device log-in waiting for the person: where to go, and the code
	// to enter there.
	DeviceURI, DeviceLink, UserCode, DeviceExpiry string
}

type requestView struct {
	Time, Env, Method, Path, Duration string
	Status                            int
	Class                             string // ok, redirect or error
}

// notices are the messages a button's redirect back to the page asks for;
// {env} stands for the environment's name.
var notices = map[string]struct {
	error bool
	text  string
}{
	"logged-in":             {false, "Logged in to {env}. freshtoken will keep its token fresh. If you started this from a terminal, you can close this tab."},
	"login-failed":          {true, "Could not log in to {env}; see the details below."},
	"renewed":               {false, "Renewed the token of {env}."},
	"renew-failed":          {true, "Could not renew the token of {env}; see the details below."},
	"logged-out":            {false, "Logged out of {env}: its tokens are forgotten."},
	"logout-failed":         {true, "Could not log out of {env}; see the details below."},
	"logout-revoked-kept":   {true, "The grant of {env} was revoked at the provider, but its tokens could not be deleted; see the details below."},
	"logged-out-later-kept": {false, "Logged out of {env}'s log-in; a log-in made while this log-out ran (freshtoken login in a terminal, say) stored its own tokens, which are kept: {env} is logged in with them. Click Log out again to log out of them too."},
	"later-kept-unrevoked":  {false, "Nothing was revoked or forgotten: a log-in made as this log-out began (freshtoken login in a terminal, say) stored its own tokens first, which are kept: {env} is logged in with them. The grant of the log-in you logged out of was not ended at the provider: it stays valid until it expires, or until you remove the app's access in your account at the provider. Click Log out again to log out of the log-in kept."},
	"logout-of-other-file":  {true, "Nothing was revoked or forgotten: the tokens stored for {env} were logged in with another configuration on this machine (see below), which shares them and would be logged out too. Click Log out and confirm to log out of them for both."},
	"nothing-to-log-out":    {false, "{env} has no stored tokens: there was nothing to log out of."},
	"logged-out-unknown":    {false, "Logged out of {env}: the provider's revocation endpoint answered that it no longer knows its tokens, revoked or expired already, so nothing was revoked; they are forgotten here."},
	"logged-out-unrevoked":  {false, "Logged out of {env}: its tokens are forgotten here; the provider has no revocation endpoint (revocation_url), so the grant was not ended there: it stays valid until it expires or you remove the app's access in your account at the provider."},
	"logged-out-unreadable": {false, "Logged out of {env}: its stored record could not be read, and was deleted; nothing in it could be revoked at the provider, so a grant it held stays valid there until it expires, or until you remove the app's access in your account at the provider."},
	"login-unvouched":       {true, "A link asked to log in to {env}, but it does not carry the key that this proxy gives freshtoken login for its links (the proxy may have restarted since), so this proxy cannot tell whether you opened it or another web site sent you to it, and nothing was started. If you ran freshtoken login, click Log in (or Log in again) for {env} below; the command sees the new tokens. Otherwise, ignore this."},
	"login-link-expired":    {true, "Nothing was started: that log-in link for {env} came from a freshtoken login that has stopped waiting (was it opened again from the browser's history?), and its permission to replace another configuration's tokens ended with it. Click Log in (or Replace and log in) below, or run freshtoken login again."},
	"stale-login":           {true, "This answer is to no log-in this proxy is waiting for: one started elsewhere, or expired (was the proxy restarted?). If freshtoken login --manual waits for it in a terminal, copy this page's address from the browser's address bar and paste it there. Otherwise click Log in to start again."},
	"device-login":          {false, "To log in to {env}, open the page shown below on any device and enter the code. This page updates once you approve."},
	"login-not-needed":      {false, "{env} uses client credentials: no log-in is needed."},
	"login-over-other":      {true, "Nothing was started or changed: the tokens stored for {env} belong to another configuration (see below), which would have to log in again. Give this configuration a store of its own ([store] url) to keep both, or click Replace and log in to replace them."},
	"other-tokens-changed":  {true, "Nothing was started or changed: the tokens stored for {env} changed since this page was shown, and now belong to another configuration than the one you chose to replace (see below). Click Replace and log in again to replace these."},
	"login-over-other-file": {true, "Nothing was started or changed: the tokens stored for {env} were logged in with another configuration on this machine (see below), which shares them and would then use the account you log in to. Give this configuration a store of its own ([store] url) to keep them apart, or log in from this page and confirm, to replace them."},
	"login-over-newer":      {true, "Nothing was started or changed: the tokens stored for {env} were written by a newer freshtoken, which can use them and this one cannot read. Upgrade freshtoken to use them, or click Replace and log in to log in with this one; the newer freshtoken will then have to log in again."},
}

// noticeURL is the status page showing the notice done about env ("" for
// none), as the proxy's own redirects send the browser back to it. It is
// signed: any web page can send the browser to the status page, and one
// that chose the notice could make the page say what did not happen (that
// tokens were forgotten, or that the person should remove the app's access
// at the provider).
func (p *Proxy) noticeURL(done, env string) string {
	q := url.Values{"done": {done}}
	if env != "" {
		q.Set("env", env)
	}
	q.Set("sig", p.noticeMAC(done, env))
	return "/?" + q.Encode()
}

// noticeMAC signs a notice with the proxy's own key.
func (p *Proxy) noticeMAC(done, env string) string {
	m := hmac.New(sha256.New, p.noticeKey)
	m.Write([]byte(done + "\x00" + env))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// noticeSigned reports whether q, the status page's query, holds a notice
// the proxy itself sent the browser to.
func (p *Proxy) noticeSigned(q url.Values) bool {
	return hmac.Equal([]byte(q.Get("sig")), []byte(p.noticeMAC(q.Get("done"), q.Get("env"))))
}

func (p *Proxy) handleStatusPage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeKind(w, kinds.MethodNotAllowed, problem{Message: "the status page only answers GET"})
		return
	}
	done, env := "", ""
	if q := r.URL.Query(); p.noticeSigned(q) {
		done, env = q.Get("done"), q.Get("env")
	}
	p.servePage(w, r, http.StatusOK, done, env)
}

// servePage serves the status page with status, showing the notice done
// about env ("" for none): a notice the proxy sent the browser to, or, for
// an answer it must leave in the address bar, one it shows in place.
func (p *Proxy) servePage(w http.ResponseWriter, r *http.Request, status int, done, env string) {
	data := pageData{Base: p.base, Start: p.o.StartCommand, Local: fromThisMachine(r), AllowRemote: p.o.AllowRemote}
	if data.Start == "" {
		data.Start = "freshtoken proxy"
	}
	if p.o.Banner != nil {
		for _, line := range p.o.Banner() {
			data.Banner = append(data.Banner, p.suggest(line))
		}
	}
	if data.Local {
		data.CSRF = p.csrf
	}
	data.Init = strings.Trim(p.suggest("`freshtoken init`"), "`")
	conf, err := p.config()
	var def *config.Env
	if err != nil {
		// The environments served still, as last read, are listed: the
		// page listed none, and seemed to say none was served.
		data.ConfigError = p.suggest(err.Error())
		if conf = p.served(); conf != nil {
			def, _ = p.read.Load().conf.Select("")
		}
	} else {
		def, _ = conf.Select("")
	}
	if conf != nil {
		// Who holds the renewal locks is looked at once for the page: a
		// look costs as much as the system holds locks.
		var look func(env string) string
		stuckLock := func(src *freshtoken.Source, env string) string {
			if look == nil {
				look = src.StuckLocks() // the store, [store] url, is every environment's
			}
			return look(env)
		}
		for _, name := range conf.Names() {
			v := p.envView(r.Context(), name, data.Local, stuckLock)
			v.Default, v.Problem = def != nil && def.Name == name, p.suggest(v.Problem)
			if e := conf.Envs[name]; e != nil {
				v.TokenFileProblem = keeper.TokenFileProblem(configfile.TokenFileLedger(), e.TokenFile, keeper.NewOwner(conf.Path, name), p.now())
			}
			data.Envs = append(data.Envs, v)
		}
		if n, ok := notices[done]; ok {
			if conf.Envs[env] == nil {
				env = "this environment"
			}
			data.Notice = &notice{Done: done, Error: n.error, Text: strings.ReplaceAll(n.text, "{env}", env)}
		}
	}
	for _, req := range p.recent.newestFirst() {
		data.Requests = append(data.Requests, requestView{
			Time: req.At.Local().Format("15:04:05"), Env: req.Env, Method: req.Method, Path: req.Path,
			Status: req.Status, Class: statusClass(req.Status), Duration: milliseconds(req.Duration),
		})
	}
	pageHeaders(w.Header())
	w.WriteHeader(status)
	if err := page().Execute(w, data); err != nil {
		p.log.Debug("status page not sent", "error", err.Error())
	}
}

// envView describes an environment for the page, opening it if need be.
// A device log-in's code is shown only to a viewer on this machine (local):
// whoever enters it at the provider approves their own account into the
// environment. stuckLock tells of a stopped holder of its renewal lock
// (freshtoken.Source.StuckLocks).
func (p *Proxy) envView(ctx context.Context, name string, local bool, stuckLock func(src *freshtoken.Source, env string) string) envView {
	v := envView{Name: name, ProxyURL: p.base + "/" + name + "/", State: "logged-out"}
	e, err := p.env(ctx, name)
	if err != nil {
		v.State, v.Problem = "attention", err.Error()
		return v
	}
	v.Provider, v.APIURL, v.Store, v.Production = e.conf.Provider, e.src.APIURL(), e.src.Location(), e.conf.IsProduction()
	v.NoLogin, v.StuckLock = !e.src.NeedsLogin(), stuckLock(e.src, name)
	if v.StuckLock != "" {
		v.State = "attention"
	}
	now := p.now()
	rec, err := e.src.Record(ctx)
	if dl := e.device.Load(); dl != nil && local && !e.loggedInSince(rec, dl.wait) {
		v.DeviceURI, v.DeviceLink, v.UserCode = dl.uri, cmp.Or(dl.complete, dl.uri), dl.userCode
		v.DeviceExpiry = "the code expires in " + human(max(dl.expires.Sub(now), 0))
	}
	if err != nil {
		v.State, v.Problem, v.NewerTokens = "attention", err.Error(), errors.Is(err, store.ErrNewerFormat)
		// A store that cannot be read hides no failure noted before (a Log
		// out's, whose revocation ended the grant before the store failed
		// to delete the tokens): said in full when it tells this one too.
		if f := e.lastErr.Load(); f != nil && f.Msg != v.Problem {
			if strings.Contains(f.Msg, v.Problem) {
				v.Problem, v.ProblemAgo = f.Msg, ago(now.Sub(f.At))
			} else {
				v.Problem += "; before that (" + ago(now.Sub(f.At)) + "): " + f.Msg
			}
		}
		return v
	}
	if rec != nil {
		if err := e.src.CheckGrant(rec); err != nil { // as `freshtoken status` says
			v.State, v.Problem, v.OtherTokens, v.OtherGrant = "attention", err.Error(), GrantDigest(rec.Grant), rec.Grant.String()
			return v
		}
		v.LoggedInWith = rec.LoggedInWith.OtherThan(e.src.ConfigFile())
	}
	// A problem recorded in the store is the one `freshtoken status` shows;
	// a stored access token no request can use (bound to a key, or holding
	// a control character) comes next, as status says it (the page said
	// "Logged in" while every request failed); then a client secret that
	// cannot be had here; then one this process met but did not record
	// (the provider unreachable).
	var unusable *freshtoken.Error
	if err := e.src.Unusable(rec); !errors.As(err, &unusable) {
		unusable = nil
	}
	unusableTold := false // the problem shown is the unusable token
	f := e.lastErr.Load()
	if f != nil && rec != nil && rec.IssuedAt.After(f.At) && !rec.IssuedAt.After(now) {
		// The store holds tokens issued since (a log-in at the command
		// line, another process's renewal): the failure is of tokens gone.
		// (Not by a clock ahead of this one, which would hide failures
		// met after them.)
		f = nil
	}
	// A refused client stays refused until the configuration is fixed:
	// what to check, naming where the secret comes from, as status says.
	clientFix := func(msg string) string {
		button := "Renew now"
		switch {
		case rec == nil && v.NoLogin:
			button = "Fetch a token"
		case rec == nil:
			button = "Log in"
		}
		said, steps := kinds.Steps(msg, e.conf.ClientSecretWhere(), "click "+button, "log in again")
		return said + steps
	}
	if rec != nil && rec.Problem != nil {
		v.State, v.Problem = "attention", rec.Problem.Message
		if !rec.Problem.At.IsZero() { // not recorded by another program sharing the store: not "106751 days ago"
			v.ProblemAgo = ago(now.Sub(rec.Problem.At))
		}
		v.LoginFixes = rec.Problem.Kind == store.ProblemGrantEnded
		if rec.Problem.Kind == store.ProblemClientRejected || rec.Problem.Kind == store.ProblemRefused {
			v.Problem = clientFix(v.Problem)
		}
	} else if unusable != nil {
		v.State, v.Problem, unusableTold = "attention", "The stored access token cannot be used: "+unusable.Msg+". Click Renew now for another, and tell the provider if it happens again.", true
	} else if why := e.conf.ClientSecretProblem(); why != "" {
		// As status's client secret line: the next renewal or log-in
		// fails for want of it (the page said "Logged in").
		v.State, v.Problem = "attention", why
	} else if f != nil && (rec != nil || !f.LoginNeeded) { // logged out needs no explaining
		v.State, v.Problem, v.ProblemAgo, v.LoginFixes = "attention", f.Msg, ago(now.Sub(f.At)), f.LoginNeeded
		if f.Kind == kinds.ClientRejected || f.Kind == kinds.Refused {
			v.Problem = clientFix(v.Problem)
		}
	}
	if rec == nil || rec.Problem != nil && rec.Problem.Kind == store.ProblemGrantEnded {
		return v
	}
	v.LoggedIn, v.Renewals = true, rec.Renewals
	if v.NoLogin {
		// Each token is fetched, the first one too, which is no renewal:
		// counted as status counts them (the page said "Last renewal 15
		// minutes ago", "Renewals so far 0", where status said "1 so far").
		v.Renewals++
	}
	if v.State != "attention" {
		v.State = "logged-in"
	}
	switch left := rec.Expiry.Sub(now); {
	case rec.AccessToken == "":
		v.Expiry = "none held; renewed on the next request"
	case unusable != nil && (rec.Expiry.IsZero() || left > 0) && unusableTold:
		// As status's "access token" row: not an expiry, as if the token
		// were good until then. (Expired, it is told as any other.)
		v.Expiry = "cannot be used (see the problem below)"
	case unusable != nil && (rec.Expiry.IsZero() || left > 0):
		v.Expiry = "cannot be used: " + unusable.Msg + "; once the problem below is fixed, click Renew now for another"
	case rec.Expiry.IsZero():
		v.Expiry = "no expiry given by the provider: used until the API refuses it"
	case left > 0 && rec.RefreshToken == "" && e.conf.Grant != config.GrantClientCredentials:
		v.Expiry = "expires in " + human(left) + ", and cannot be renewed: the provider issued no refresh token; log in again then"
	case left > 0:
		v.Expiry = "expires in " + human(left)
	case !rec.RefreshExpiry.IsZero() && !now.Before(rec.RefreshExpiry):
		v.Expiry = "expired " + ago(-left) + ", and so has the refresh token: log in again"
		v.LoginFixes = true
		if v.Problem == "" { // none told yet: a stopped lock holder is told apart
			v.State, v.Problem = "attention", "The refresh token has expired, so freshtoken cannot renew the access token."
		}
	case rec.RefreshToken == "" && e.conf.Grant != config.GrantClientCredentials:
		v.Expiry = "expired " + ago(-left) + ", and the provider issued no refresh token: log in again"
		v.LoginFixes = true
		if v.Problem == "" { // none told yet: a stopped lock holder is told apart
			v.State, v.Problem = "attention", "The provider issued no refresh token, so freshtoken cannot renew the access token."
		}
	default:
		v.Expiry = "expired " + ago(-left) + "; renewed on the next request"
	}
	if p := e.src.Plan(rec); !p.At.IsZero() {
		// Its times as a person reads them, as status's text writes them
		// (RFC 3339 is for JSON and logs).
		at, then := keeper.NextRenewal(p, rec, now, configfile.TokenFileLedger(), e.conf.TokenFile)
		v.NextRenewal = "in " + human(max(at.Sub(now), 0)) + ", as " + p.Why(func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") })
		if then != "" {
			v.NextRenewal += "; " + then
		}
	}
	v.Scope = kinds.Scope(rec, e.conf.Scopes)
	v.LastRenewal = "not yet"
	if !rec.RenewedAt.IsZero() {
		v.LastRenewal = ago(now.Sub(rec.RenewedAt))
	}
	if rest := rec.Rest; resting.Left(rec, now) > 0 {
		force := "Renew now does not wait"
		if rest.PutBack {
			force = "Renew now waits too"
		}
		v.Rest = fmt.Sprintf("resting %s more (until %s; %s) after: %s",
			human(rest.Until.Sub(now)), resting.Ends(rest.Until), force, rest.Message)
	}
	return v
}

// checkForm accepts a button's form only with this proxy's CSRF token, and
// returns the environment it names.
func (p *Proxy) checkForm(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !fromThisMachine(r) {
		p.warnOutsider("button refused: not from this machine", "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "The buttons of the freshtoken status page work only on the computer running the proxy.", http.StatusForbidden)
		return "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		p.warnOutsider("button refused: the form could not be read", "path", r.URL.Path, "error", err.Error())
		http.Error(w, "The form could not be read whole; reload the status page and try again.", http.StatusBadRequest)
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(p.csrf)) != 1 {
		p.warnOutsider("button refused: missing or wrong CSRF token", "path", r.URL.Path)
		http.Error(w, "This form is out of date, or was not sent by the freshtoken status page. Reload the status page and try again.", http.StatusForbidden)
		return "", false
	}
	return r.PathValue("env"), true
}

// buttonFailed notes err against the environment, logs it, and shows the
// page again. A token store failing is logged once, as the environment
// notes it, until the store works again, as for requests.
func (p *Proxy) buttonFailed(w http.ResponseWriter, r *http.Request, name, done string, err error) {
	told := false
	if e, ok := p.envs.Load(name); ok {
		e.(*envProxy).fail(p.now(), err)
		told = kinds.Of(err) == kinds.StoreUnreachable
	}
	if !told {
		p.log.Warn("button failed", "env", name, "action", done, "error", err.Error())
	}
	http.Redirect(w, r, p.noticeURL(done, name), http.StatusSeeOther)
}

func (p *Proxy) handleRenewButton(w http.ResponseWriter, r *http.Request) {
	name, ok := p.checkForm(w, r)
	if !ok {
		return
	}
	e, err := p.env(r.Context(), name)
	if err == nil {
		_, err = e.src.Renew(r.Context())
	}
	if err != nil {
		p.buttonFailed(w, r, name, "renew-failed", err)
		return
	}
	e.succeed()
	http.Redirect(w, r, p.noticeURL("renewed", name), http.StatusSeeOther)
}

func (p *Proxy) handleLogoutButton(w http.ResponseWriter, r *http.Request) {
	name, ok := p.checkForm(w, r)
	if !ok {
		return
	}
	// The page closed (a tab shut, a page left) as the provider takes its
	// time does not stop the log-out: stopped, it kept the tokens, the
	// grant alive at the provider, and said so only in the log, to a
	// person who had pressed Log out and gone. The proxy stopping does,
	// the page closed before or not.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	defer cancel(nil)
	defer context.AfterFunc(r.Context(), func() {
		if cause := context.Cause(r.Context()); errors.Is(cause, errStopping) {
			cancel(cause)
			return
		}
		p.log.Info("the page that pressed Log out was closed; the log-out goes on", "env", name)
	})()
	defer context.AfterFunc(p.background.ctx, func() { cancel(errStopping) })()
	e, err := p.env(ctx, name)
	var (
		rerr      error
		unknown   string // the provider's answer that it no longer knows the tokens
		unrevoked bool   // a later log-in was stored before the revocation was sent
		revoked   bool   // the provider revoked the grant, and its tokens were to be forgotten
	)
	if err == nil {
		// As `freshtoken logout`: another configuration's tokens, stored
		// under the name, are neither revoked nor forgotten.
		rec, lerr := e.src.Record(ctx)
		switch {
		case lerr == nil && rec == nil: // as `freshtoken logout`: nothing to revoke or forget
			http.Redirect(w, r, p.noticeURL("nothing-to-log-out", name), http.StatusSeeOther)
			return
		case lerr == nil:
			if gerr := e.src.CheckGrant(rec); gerr != nil {
				p.buttonFailed(w, r, name, "logout-failed", gerr)
				return
			}
			// Logged in with another configuration file on this machine,
			// which shares them: the form names the file the page showed,
			// as its question did, and the log-out ends them for it too.
			if other := rec.LoggedInWith.OtherThan(e.src.ConfigFile()); other != "" && r.PostForm.Get("other_file") != other {
				p.log.Warn("log-out not done: the stored tokens were logged in with another configuration", "env", name, "theirs", other)
				http.Redirect(w, r, p.noticeURL("logout-of-other-file", name), http.StatusSeeOther)
				return
			}
		case errors.Is(lerr, store.ErrCorrupt) && !errors.Is(lerr, store.ErrNewerFormat):
			// As `freshtoken logout`: a record that cannot be read holds
			// nothing to revoke; it is deleted, and said to be.
			if err := e.src.Logout(ctx); err != nil {
				p.buttonFailed(w, r, name, "logout-failed", err)
				return
			}
			p.log.Info("logged out; the stored record could not be read, and was deleted", "env", name, "error", kinds.Corruption(lerr))
			e.succeed()
			http.Redirect(w, r, p.noticeURL("logged-out-unreadable", name), http.StatusSeeOther)
			return
		}
		// End the grant at the provider if it can, and forget the tokens
		// unless the revocation failed (RevokeAndLogoutOf's kept): under one
		// hold of the renewal lock, so that no renewal (this proxy's
		// keeper, or a service's) comes between to spend the refresh
		// token just revoked. Only the log-in looked at is forgotten: one
		// stored before the revocation took the lock (`freshtoken login`
		// in a terminal) is kept.
		var kept bool // told below
		unknown, kept, rerr, err = e.src.RevokeAndLogoutOf(ctx, rec)
		// A log-in stored before the revocation took the lock: nothing
		// was sent, and its tokens are kept (as LogoutOf keeps them).
		unrevoked = errors.Is(rerr, store.ErrChanged)
		if unrevoked {
			rerr = nil
		}
		switch {
		case !kept:
		case errors.Is(rerr, freshtoken.ErrLoginRequired) && errors.Is(rerr, store.ErrNotFound):
			// As `freshtoken logout`: deleted while it waited for the lock
			// (Log out pressed twice, or a log-out in a terminal finished
			// first): nothing was sent, and nothing is left.
			http.Redirect(w, r, p.noticeURL("nothing-to-log-out", name), http.StatusSeeOther)
			return
		case errors.Is(rerr, freshtoken.ErrLoginRequired):
			// Another configuration's by the time the lock was taken: left
			// as they are, as when they were from the start.
			p.buttonFailed(w, r, name, "logout-failed", rerr)
			return
		case ctx.Err() != nil:
			// As `freshtoken logout` interrupted: the proxy is stopping
			// (a service stop, an upgrade's restart) before the provider
			// answered. Sent or not, it may not have ended the grant (one
			// whose refresh token the provider was seen to revoke has
			// ended, and its tokens were forgotten): the tokens are kept,
			// for Log out again to finish it. Stopped before the
			// revocation was sent (waiting for the renewal lock), nothing
			// was.
			sent := ""
			if kinds.RevocationSent(rerr) {
				sent = " (the provider may have revoked them already)"
			}
			p.buttonFailed(w, r, name, "logout-failed", fmt.Errorf("%s: the log-out stopped before its tokens were deleted (%w): they are kept in %s%s; press Log out again to finish it", name, context.Cause(ctx), e.src.Location(), sent))
			return
		case errors.Is(rerr, freshtoken.ErrClearText):
			// Nothing was sent: the tokens are kept until the
			// revocation endpoint is corrected.
			p.buttonFailed(w, r, name, "logout-failed", rerr)
			return
		case kinds.RevocationToFix(rerr):
			// As `freshtoken logout`: no revocation endpoint at
			// revocation_url, a client refused, a secret unreadable.
			// Forgotten, the tokens could not end the grant once that
			// is fixed, and it lived on at the provider.
			p.buttonFailed(w, r, name, "logout-failed", fmt.Errorf("%w; nothing was deleted: the tokens are kept, to end the grant with Log out once that is fixed, or run `freshtoken logout --local -e %s` to forget them without ending it", rerr, name))
			return
		case kinds.Of(rerr) == kinds.StoreUnreachable:
			// As `freshtoken logout`: the store failed as the revocation
			// read the tokens or took the lock, before anything was sent.
			p.buttonFailed(w, r, name, "logout-failed", fmt.Errorf("%w; nothing was sent to the provider and nothing deleted: the tokens are kept, to end the grant with Log out once that is fixed", filestore.KeptInPlace(name, rerr)))
			return
		default:
			// As `freshtoken logout`: the provider could not revoke them
			// (out of reach, a 5xx at every try, an answer cut off, a
			// refusal at every try). Forgotten, they could not end the
			// grant once it answers, and it lived on at the provider.
			p.buttonFailed(w, r, name, "logout-failed", fmt.Errorf("%w; nothing was deleted: the tokens are kept in %s, and the grant may still be valid at the provider: press Log out later to end it, or remove the app's access in your account at the provider and run `freshtoken logout --local -e %s` to forget them", rerr, e.src.Location(), name))
			return
		}
		revoked = !unrevoked && unknown == "" && e.src.CanRevoke()
		if errors.Is(rerr, freshtoken.ErrGrantRevoked) {
			// The proxy is stopping as the access token's revocation was
			// under way, once the provider had ended the grant: its tokens
			// were forgotten.
			p.log.Info("the provider ended the grant; the access token's revocation was stopped, and it may stay valid until it expires", "env", name)
		}
	}
	laterKept := errors.Is(err, store.ErrChanged) && ctx.Err() == nil
	if err != nil && !laterKept && revoked {
		// As `freshtoken logout`: revoked, then not deleted. Told only the
		// store's failure, a person took the grant for alive, and a
		// renewal with the tokens kept was refused, and told as a grant
		// ended, to log in again.
		p.buttonFailed(w, r, name, "logout-revoked-kept", fmt.Errorf("%w; the provider revoked the grant, so the tokens kept are of no use: run `freshtoken logout --local -e %s` once that is fixed to delete them", err, name))
		return
	}
	if err != nil && !laterKept {
		p.buttonFailed(w, r, name, "logout-failed", err)
		return
	}
	p.log.Info("logged out", "env", name)
	e.succeed()
	switch {
	case laterKept && unrevoked:
		p.log.Info("a log-in made as the log-out began was stored first; nothing was revoked, and its tokens were kept", "env", name, "store", e.src.Location())
		http.Redirect(w, r, p.noticeURL("later-kept-unrevoked", name), http.StatusSeeOther)
	case laterKept:
		p.log.Info("the tokens of a log-in made while logging out were kept", "env", name, "store", e.src.Location())
		http.Redirect(w, r, p.noticeURL("logged-out-later-kept", name), http.StatusSeeOther)
	case unknown != "":
		// As `freshtoken logout`: nothing was revoked, whoever answered so.
		p.log.Info("the provider's revocation endpoint no longer knows the tokens, so nothing was revoked", "env", name, "answer", unknown)
		http.Redirect(w, r, p.noticeURL("logged-out-unknown", name), http.StatusSeeOther)
	case !e.src.CanRevoke():
		http.Redirect(w, r, p.noticeURL("logged-out-unrevoked", name), http.StatusSeeOther)
	default:
		http.Redirect(w, r, p.noticeURL("logged-out", name), http.StatusSeeOther)
	}
}

func statusClass(status int) string {
	switch {
	case status >= 400 || status == 0:
		return "error"
	case status >= 300:
		return "redirect"
	}
	return "ok"
}

// human says how long d is in words: "42 seconds", "5 minutes", "3 hours 12
// minutes", "19 days".
func human(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d < time.Minute:
		return plural(int(d.Round(time.Second).Seconds()), "second")
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute")
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return plural(h, "hour")
		}
		return plural(h, "hour") + " " + plural(m, "minute")
	}
	return plural(int(d.Hours()/24), "day")
}

func ago(d time.Duration) string {
	if d < time.Second {
		return "just now"
	}
	return human(d) + " ago"
}

func milliseconds(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", ms), ".0") + " ms"
	case ms < 10000:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

// suggest rewrites the freshtoken commands msg suggests, in backquotes, as
// the command line writes them (Options.Suggesting): with the --config of
// a proxy started with another configuration file than the default, a
// command copied from the page acted on another file.
func (p *Proxy) suggest(msg string) string {
	if p.o.Suggesting == nil {
		return msg
	}
	return p.o.Suggesting(msg)
}
