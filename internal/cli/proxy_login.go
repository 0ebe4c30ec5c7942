package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/sockowner"
	"github.com/freshtoken/freshtoken/store"
)

const (
	// storePoll is how often a log-in through the proxy looks at the store.
	storePoll = 200 * time.Millisecond
	// attemptPoll is how often it asks the proxy whether the log-in failed.
	attemptPoll = time.Second
	// lostGrace is how long the store is still watched once the proxy no
	// longer holds the log-in (it stopped, or restarted) before the log-in
	// is taken for lost: a proxy that stops finishes the code exchange of
	// a browser that came back just before (and of one it said came back
	// within proxy.ExchangeTimeout more).
	lostGrace = 5 * time.Second
)

// loginThroughProxy completes a log-in through the freshtoken proxy that
// holds the redirect address, so one registered redirect URI serves both:
// it opens the proxy's own log-in link, and the proxy receives the browser,
// exchanges the code and stores the tokens. Nothing the program on that
// port says is trusted: the log-in has succeeded only once the store holds
// tokens for this environment's client issued by a log-in (not a renewal)
// after it began. Only a failure is taken from the proxy, by its problem
// code alone (never its words), for all it can do is end the wait early.
// The proxy replaces another configuration's tokens as guard would: those
// the person confirmed replacing as the log-in began, and, with --yes or
// without a terminal, any stored meanwhile, which guard tells of as it
// sees them; on a terminal such tokens end the log-in, as the proxy keeps
// them. busy is the error of listening there, which names the address
// (login.BusyAddr: the redirect address, or [::1] of its port for a
// localhost redirect_uri), reported when no proxy answers.
func loginThroughProxy(ctx context.Context, opts *loginOptions, env *config.Env, src *freshtoken.Source, guard *replaceGuard, busy error) error {
	f := opts.f
	addr := login.BusyAddr(busy)
	base := "http://" + addr
	if uid, known := sockowner.Listener(addr); known && uid != os.Getuid() {
		// On a shared machine, another user's program there would get the
		// browser, and with it the log-in.
		return fmt.Errorf("%s: %w, by a program of another user (uid %d), which is not trusted with your log-in; stop it, or set another port in redirect_uri (and register it with the provider)", env.Name, busy, uid)
	}
	g, ok := proxyGrant(ctx, base, env.Name)
	if !ok {
		return fmt.Errorf("%s: %w, and not by a freshtoken proxy serving %s; stop the program using it (another `freshtoken login` still waiting for its browser, perhaps), or set another port in redirect_uri (and register it with the provider)", env.Name, busy, env.Name)
	}
	// That proxy runs another configuration (it reads its own again at
	// each request): the steps are serving this one there, then this
	// log-in, as the command line names it (see loginOptions.again).
	otherConfig := func(format string, a ...any) error {
		msg := fmt.Sprintf(format, a...)
		return login.Again(fmt.Sprintf("%s: stop that proxy, and run `%s`, which serves this configuration, then ", msg, startCommand(f, &proxyOptions{Listen: addr})), "", usageErrorf("%s", msg))
	}
	if g.Grant != "" && g.Grant != env.Grant {
		return otherConfig("%s: the freshtoken proxy at %s serves %s with grant = %q, not this configuration's %q; logging in through it would store tokens of the wrong grant",
			env.Name, base, env.Name, g.Grant, env.Grant)
	}
	// An issuer is compared unless the proxy is older than this check (nil):
	// two of one client id whose token endpoints are both discovered have
	// the same token_url, none.
	if g.ClientID != env.ClientID || !g.servesTokenURL(env.TokenURL) || g.Issuer != nil && *g.Issuer != env.Issuer || g.Store != src.Location() {
		return otherConfig("%s: the freshtoken proxy at %s serves %s for %s with tokens in %s, not this configuration's %s with tokens in %s; logging in through it would not give this configuration tokens",
			env.Name, base, env.Name, g.shown(), g.Store, grantOf(env.ClientID, env.Issuer, env.TokenURL), src.Location())
	}
	if !g.servesAPI(env.Audience, env.BoundResources()) {
		return otherConfig("%s: the freshtoken proxy at %s serves %s for %s, not for this configuration's %s; logging in through it would not give this configuration tokens for its API",
			env.Name, base, env.Name, g.shownAPI(), forAPI(redact.URL(env.Audience), shownResources(store.Resources(env.BoundResources()))))
	}
	// A proxy older than a digest compares what it names by its value,
	// which the link, printed and kept in the browser's history, would
	// then carry, key and all.
	// Its step is restarting the proxy, then this log-in, which the
	// command line names as it was run (see loginOptions.again).
	if where := g.keyForOlderProxy(env); where != "" {
		return login.Again(fmt.Sprintf("%s: the freshtoken proxy at %s is older than this freshtoken, and a log-in through it would put the key in %s into the log-in link, which is printed and kept in the browser's history; restart that proxy with this freshtoken (it does so by itself within a couple of minutes of an upgrade; one you started yourself: stop it, and run `%s`), then ",
			env.Name, base, where, startCommand(f, &proxyOptions{Listen: addr})), "", usageErrorf("%s: the freshtoken proxy at %s is older than this freshtoken", env.Name, base))
	}
	began := clock.Now() // as the store notes a log-in, and the proxy reads the link's wait
	start := logInWait(ctx, src, began)
	attempt := httpx.RandomToken()
	link := proxy.ForIssuer(proxy.ForAPI(proxy.LoginURL(base, env.Name, env.ClientID, env.TokenURL, attempt, opts.Timeout), env.Audience, env.BoundResources()), env.Issuer)
	link = proxy.ForConfigFile(link, src.ConfigFile().Path)
	if g.TokenURLSHA256 == "" && env.TokenURL != "" {
		link = proxy.ForOlderProxy(link, env.TokenURL)
	}
	if g.comparesAPIByValue() {
		link = proxy.ForOlderAPIProxy(link, env.Audience, env.BoundResources())
	}
	link = proxy.WithLoginKey(proxy.Replacing(link, began.Add(opts.Timeout), opts.Yes || !f.IO.InTTY, guard.others, guard.otherFiles), g.LoginKey)
	if opts.NoBrowser || f.OpenBrowser == nil {
		fmt.Fprintf(f.IO.ErrOut, "Open this URL in a browser on this computer to log in to %s through the freshtoken proxy at %s (waiting up to %s):\n%s\n", env.Name, base, opts.Timeout, link)
	} else if err := f.OpenBrowser(link); err != nil {
		fmt.Fprintln(f.IO.ErrOut, login.NoBrowser(err, manualCommand(opts, env.Name)))
		fmt.Fprintf(f.IO.ErrOut, "Open this URL in a browser on this computer to log in to %s through the freshtoken proxy at %s (waiting up to %s):\n%s\n", env.Name, base, opts.Timeout, link)
	} else {
		fmt.Fprintf(f.IO.ErrOut, "Opening your browser to log in to %s through the freshtoken proxy at %s. If it does not open, visit:\n%s\n", env.Name, base, link)
	}
	wait, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	tick := time.NewTicker(storePoll)
	defer tick.Stop()
	ask := time.NewTicker(attemptPoll)
	defer ask.Stop()
	// Tokens of another client stored meanwhile are another
	// configuration's log-in (or the proxy's, serving another since it was
	// asked): not this one's end, which the proxy may still store; so are
	// those of this client that another configuration file logged in, when
	// the proxy names this one's in its log-in's record. Nor is a renewal
	// of the tokens held before: no log-in (LogInWait.Made).
	var foreign, refused error
	othersFile := func(rec *store.Record) bool {
		return g.NamesLoginFile && rec.LoggedInWith.OtherThan(src.ConfigFile()) != ""
	}
	stored := func() bool {
		rec, err := src.Record(wait)
		if err == nil && rec != nil && (src.CheckGrant(rec) != nil || othersFile(rec)) {
			refused = guard.check(rec, nil)
		}
		if err == nil && rec != nil && start.Made(rec) && !othersFile(rec) {
			if foreign = src.CheckGrant(rec); foreign == nil {
				fmt.Fprintf(f.IO.ErrOut, "Logged in to %s through the freshtoken proxy at %s; tokens stored in %s.\n", env.Name, base, src.Location())
				warnNoRefreshToken(f, env.Name, rec.RefreshToken, rec.Expiry)
				warnUnusableToken(wait, f, env.Name, src)
				return true
			}
		}
		return false
	}
	watch := &attemptWatch{f: f, env: env.Name, base: base, attempt: attempt}
	for {
		if stored() {
			return nil
		}
		if refused != nil {
			return refused
		}
		select {
		case <-tick.C:
		case <-ask.C:
			// An end the proxy tells of, or its going, is believed only
			// while the store holds no new tokens.
			if err := watch.ended(wait, time.Now()); err != nil {
				if stored() {
					return nil
				}
				return err
			}
		case <-wait.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if foreign != nil {
				return fmt.Errorf("%w; they were stored while this log-in waited, by another configuration's log-in or by the freshtoken proxy at %s serving another client", foreign, base)
			}
			return login.Again(fmt.Sprintf("%s: %v: no new tokens reached %s within %s (if the proxy at %s uses another configuration, they went to its own store); ",
				env.Name, login.ErrNotApproved, src.Location(), opts.Timeout, base), " and approve access in the browser", login.ErrNotApproved)
		}
	}
}

// proxyLoginError is a log-in through the proxy that the proxy says failed.
type proxyLoginError struct {
	env, base string
	kind      failure.Kind
}

func (e *proxyLoginError) Error() string {
	return fmt.Sprintf("%s: the log-in through the freshtoken proxy at %s failed (%s); its page, %s/, says why", e.env, e.base, e.kind.Row().Code, e.base)
}

func (e *proxyLoginError) FailureKind() failure.Kind { return e.kind }

// LogInAgain is the message before its step, when that is logging in
// again (a refused log-in), and after it: the command line names the
// log-in as it was run. before is "" when the step is another.
func (e *proxyLoginError) LogInAgain() (before, after string) {
	if e.kind != failure.LoginRefused {
		return "", ""
	}
	return e.Error() + "; ", " and approve access in the browser"
}

// proxyLostError is a log-in that the proxy held and no longer does: it
// stopped, or restarted, before it stored tokens.
type proxyLostError struct{ env, base string }

func (e *proxyLostError) Error() string {
	return fmt.Sprintf("%s: the freshtoken proxy at %s stopped or restarted while this log-in waited, and the log-in it held ended with it, storing nothing", e.env, e.base)
}

func (e *proxyLostError) FailureKind() failure.Kind { return failure.LoginRefused }

// LogInAgain is the message before its step, logging in again, and after
// it: the command line names the log-in as it was run.
func (e *proxyLostError) LogInAgain() (before, after string) {
	return e.Error() + "; ", " and approve access in the browser"
}

// logInWait reads the record src stores, for a wait for a log-in that
// began at.
func logInWait(ctx context.Context, src *freshtoken.Source, began time.Time) store.LogInWait {
	held, err := src.Record(ctx)
	return store.NewLogInWait(began, held, err)
}

// attemptWatch follows the log-in that a `freshtoken login` began as
// attempt at the proxy at base, for its end alone: the proxy saying it
// failed, or no longer holding it (stopped or restarted: its state and
// PKCE verifier, and so the log-in, went with the process).
type attemptWatch struct {
	f                  *Factory
	env, base, attempt string
	held               bool      // the proxy said it holds the log-in
	answered           bool      // and that its browser came back
	goneSince          time.Time // since the proxy no longer held it
}

// ended asks the proxy once, at now, and returns the log-in's end, or nil
// while it may still end in the store. A failure's kind that could not
// come of a log-in (the proxy stopping, say) is a refused log-in. Once the
// browser came back, the proxy finishes the code exchange even as it
// stops, so the store is watched as long as that may take.
func (a *attemptWatch) ended(ctx context.Context, now time.Time) error {
	var st struct {
		Held     bool   `json:"held"`
		Answered bool   `json:"answered"`
		Failed   bool   `json:"failed"`
		Code     string `json:"error"`
	}
	err := getJSON(ctx, proxy.AttemptURL(a.base, a.env, a.attempt), &st)
	switch {
	case err == nil && st.Failed:
		kind, known := failure.OfCode(st.Code)
		if !known {
			return nil
		}
		a.f.Logger().Debug("the freshtoken proxy says the log-in failed", "env", a.env, "error", st.Code)
		if kind == failure.Interrupted {
			kind = failure.LoginRefused
		}
		return &proxyLoginError{env: a.env, base: a.base, kind: kind}
	case err == nil && st.Held:
		if !a.held {
			a.f.Logger().Debug("the freshtoken proxy holds the log-in", "env", a.env)
		}
		a.held, a.answered, a.goneSince = true, st.Answered, time.Time{}
	case a.held && (err == nil || nothingListens(err)):
		if a.goneSince.IsZero() {
			a.f.Logger().Debug("the freshtoken proxy no longer holds the log-in", "env", a.env)
			a.goneSince = now
		}
		grace := lostGrace
		if a.answered {
			grace += proxy.ExchangeTimeout
		}
		if now.Sub(a.goneSince) >= grace {
			return &proxyLostError{env: a.env, base: a.base}
		}
	}
	return nil
}

// nothingListens reports whether err is a connection refused: no program
// listens there any more.
func nothingListens(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && !op.Timeout()
}

// grantInfo is what a proxy says it serves an environment for.
type grantInfo struct {
	ClientID string `json:"client_id"`
	// TokenURL is masked, and TokenURLSHA256 its digest to compare
	// (proxy.TokenURLDigest); from a proxy older than the digest, TokenURL
	// is the URL itself, and TokenURLSHA256 "".
	TokenURL       string `json:"token_url"`
	TokenURLSHA256 string `json:"token_url_sha256"`
	// Issuer is nil from a proxy older than its check.
	Issuer *string `json:"issuer"`
	Grant  string  `json:"grant"` // "" from a proxy older than grants
	Store  string  `json:"store"`
	// Audience and Resource are nil from a proxy older than grants that
	// name them; Resource as store.Grant names resource indicators. They
	// are masked, and APISHA256 their digest to compare (proxy.APIDigest);
	// from a proxy older than the digest, they are the values themselves,
	// and APISHA256 "".
	Audience  *string `json:"audience"`
	Resource  *string `json:"resource"`
	APISHA256 string  `json:"api_sha256"`
	// LoginKey vouches for the log-in link (proxy.WithLoginKey); "" from
	// a proxy older than it.
	LoginKey string `json:"login_key"`
	// NamesLoginFile: the record of the log-in names this configuration
	// file (proxy.ForConfigFile); false from a proxy older than that,
	// whose log-ins name its own.
	NamesLoginFile bool `json:"names_login_file"`
}

// comparesAPIByValue reports whether the proxy is older than the API's
// digest and yet compares the audience and resource indicators a log-in
// link names: by their values.
func (g grantInfo) comparesAPIByValue() bool {
	return g.APISHA256 == "" && g.Audience != nil && g.Resource != nil
}

// servesAPI reports whether the proxy serves the environment for the API
// of audience and resources: by the digest it gives, or, a proxy older
// than the digest, by the values it gives, exactly; a proxy older than
// both names none, and is not refused for it.
func (g grantInfo) servesAPI(audience string, resources []string) bool {
	switch {
	case g.APISHA256 != "":
		return g.APISHA256 == proxy.APIDigest(audience, resources)
	case g.comparesAPIByValue():
		return *g.Audience == audience && *g.Resource == store.Resources(resources)
	}
	return true
}

// shownAPI is the API the proxy serves, as forAPI names it: as given when
// given with its digest (masked already: masked again, the length of a key
// in it would be miscounted), else masked.
func (g grantInfo) shownAPI() string {
	var audience, resource string
	if g.Audience != nil && g.Resource != nil {
		audience, resource = *g.Audience, *g.Resource
	}
	if g.APISHA256 == "" {
		audience, resource = redact.URL(audience), shownResources(resource)
	}
	return forAPI(audience, resource)
}

// keyForOlderProxy names the setting of env whose key a log-in link for
// the proxy, older than its digest, would carry: token_url, audience or
// resource; "" when none would.
func (g grantInfo) keyForOlderProxy(env *config.Env) string {
	switch {
	case g.TokenURLSHA256 == "" && redact.Keyed(env.TokenURL):
		return "token_url"
	case g.comparesAPIByValue() && redact.Keyed(env.Audience):
		return "audience"
	case g.comparesAPIByValue() && slices.ContainsFunc(env.BoundResources(), redact.Keyed):
		return "resource"
	}
	return ""
}

// servesTokenURL reports whether the proxy serves the environment with
// the token endpoint at tokenURL: by the digest it gives, or, a proxy older
// than the digest, by the URL it gives, exactly.
func (g grantInfo) servesTokenURL(tokenURL string) bool {
	if g.TokenURLSHA256 != "" {
		return g.TokenURLSHA256 == proxy.TokenURLDigest(tokenURL)
	}
	return g.TokenURL == tokenURL
}

// shown is the grant the proxy serves, as store.Grant names it for people.
// A token URL given with its digest is masked already, and is shown as
// given: masked again, the length of a key in it would be miscounted.
func (g grantInfo) shown() string {
	issuer := ""
	if g.Issuer != nil {
		issuer = *g.Issuer
	}
	if g.TokenURLSHA256 == "" {
		return grantOf(g.ClientID, issuer, g.TokenURL).String()
	}
	switch s := grantOf(g.ClientID, issuer, "").String(); {
	case issuer == "": // client "ID" at
		return s + g.TokenURL
	case g.TokenURL != "":
		return s + " at " + g.TokenURL
	default:
		return s
	}
}

// grantOf is the grant, as store.Grant names it for people, of a client
// at an issuer ("" for none) and a token URL ("" for the one it names).
func grantOf(clientID, issuer, tokenURL string) store.Grant {
	if issuer != "" {
		return store.Grant{ClientID: clientID, Issuer: issuer, IssuerTokenURL: tokenURL}
	}
	return store.Grant{ClientID: clientID, TokenURL: tokenURL}
}

// shownResources is resource, as store.Grant names resource indicators,
// each masked.
func shownResources(resource string) string { return strings.Join(store.ShownResources(resource), " ") }

// forAPI names what tokens are requested for: an audience and resource
// indicators, as store.Grant names them.
func forAPI(audience, resource string) string {
	switch {
	case audience == "" && resource == "":
		return "no audience or resource"
	case resource == "":
		return fmt.Sprintf("audience %q", audience)
	case audience == "":
		return "resource " + resource
	}
	return fmt.Sprintf("audience %q and resource %s", audience, resource)
}

// proxyGrant asks the program at base, as a freshtoken proxy, which client
// and store it serves env for; ok is false when it does not answer as one.
// The answer is used only to refuse a log-in that could not help, never to
// believe one that did.
func proxyGrant(ctx context.Context, base, env string) (grantInfo, bool) {
	var g grantInfo
	return g, getJSON(ctx, proxy.GrantURL(base, env), &g) == nil
}

// getJSON reads the JSON answer of a proxy's endpoint at link into v: an
// error unless it answered 200 with JSON, within 5 seconds.
func getJSON(ctx context.Context, link string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(v)
}
