// Package login obtains a first token with the authorization-code flow:
// PKCE S256 and a random state on every attempt, the callback served on the
// loopback address of the redirect URI (RFC 8252), and a paste-back mode for
// redirect URIs that are not on this machine.
package login

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/term"

	"github.com/freshtoken/freshtoken/internal/paste"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/tokenerr"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// DefaultTimeout is how long a login waits for the browser to come back.
const DefaultTimeout = 5 * time.Minute

// ErrStateMismatch means a callback did not carry this login's state.
var ErrStateMismatch = errors.New("the answer's state does not match this login")

// ErrMixUp means a callback's iss (RFC 9207) names another issuer than the
// environment's: the provider logged in at sent the browser on to another.
// A callback without iss from a provider that promises it is ErrMixUp too.
var ErrMixUp = errors.New("the log-in was answered by another provider")

// ErrNotApproved means the person did not approve access in time, or the
// provider answered that access was denied.
var ErrNotApproved = errors.New("access was not approved")

// ErrBadPaste means what was pasted in a manual login is not the address
// the browser landed on after approving.
var ErrBadPaste = errors.New("that is not the address your browser landed on")

// ErrPortBusy means another program listens on the redirect URI's address,
// or, for a redirect_uri on localhost, on [::1] of its port, where a
// browser may open it; BusyAddr says which.
var ErrPortBusy = errors.New("the redirect address is in use")

// ErrPortRefused means the system refused to let this user listen on the
// redirect URI's port (one below 1024, such as 80 for a URI without one).
var ErrPortRefused = errors.New("the redirect port may not be opened")

// ErrCannotListen means the redirect URI's address cannot be listened on for
// another reason than ErrPortBusy and ErrPortRefused: an address this
// machine does not have (127.0.0.2 where only 127.0.0.1 is configured, ::1
// without IPv6), or the system refusing for its own reasons.
var ErrCannotListen = errors.New("the redirect address cannot be opened")

// ErrNotLoopback means the redirect URI is not on this machine, so the log-in
// cannot listen for the browser's answer: it takes --manual.
var ErrNotLoopback = errors.New("the redirect URI is not on this machine")

// Flow is one login attempt.
type Flow struct {
	Env    string
	Config *oauth2.Config // RedirectURL set; endpoint AuthStyle explicit
	// OpenBrowser opens the authorisation URL; nil means print it only.
	OpenBrowser func(url string) error
	// Manual reads the URL the browser landed on from Stdin instead of
	// serving the callback.
	Manual bool
	// ManualCommand is this log-in run with --manual, which the sentence
	// for a browser that cannot open names (see NoBrowser); "": login
	// --manual.
	ManualCommand string
	// Listener serves the callback when set; otherwise Run listens on the
	// redirect URI's loopback address.
	Listener net.Listener
	Stdin    io.Reader
	// InTTY says that a person types at Stdin (a terminal; Stdin itself
	// is checked too): a manual log-in asks them to press Enter, and asks
	// again after a paste that is no answer. Otherwise (a pipe, a file,
	// /dev/null) nobody is there to be asked: the URL is read as a line,
	// and a line that is no answer ends the log-in at once, in one line.
	InTTY  bool
	Stderr io.Writer
	// Person, if not nil, is also told where to log in (see announce):
	// the session's terminal when Stderr goes to a log, so that the
	// person waiting at the terminal sees what to do, while a script
	// still reads the URL from Stderr.
	Person  io.Writer
	Timeout time.Duration // 0: DefaultTimeout
	// HTTP carries the code exchange: the Source's TokenClient, so that it
	// gets the environment's token parameters and client authentication as
	// every other token request does; nil: a plain client with a 30 s timeout.
	HTTP   *http.Client
	Logger *slog.Logger
	Clock  func() time.Time
	// Issuer is the environment's issuer, when it has one: an answer whose
	// iss names another (RFC 9207) is refused, its code never exchanged.
	Issuer string
	// IssuerInAnswers (freshtoken.Endpoints') says that the provider names
	// Issuer in every answer: an answer without iss is refused too, its
	// code never exchanged (RFC 9207 section 2.4).
	IssuerInAnswers bool
	// TokenURLSetting names the setting to check of a token endpoint that
	// cannot be reached or answers as none (config.Env.TokenURLSetting).
	TokenURLSetting string
	// Exchanging, if not nil, is told just before the code is sent to the
	// token endpoint: the code is spent once the provider answers, so its
	// answer must be stored before the process ends (Options.Sending).
	Exchanging func()
	// Storable, if not nil, is asked just before the code is sent whether
	// the tokens may be stored (see NewerCheck): an error ends the log-in
	// with it, the code never sent.
	Storable func(ctx context.Context) error
}

// Result is what a successful login obtained.
type Result struct {
	Token  *oauth2.Token
	SentAt time.Time // when the code exchange was sent
}

// Request is the authorisation request of one attempt: the URL to open and
// the secrets that must come back with the code.
type Request struct {
	URL      string
	State    string
	Verifier string
}

// NewRequest makes a fresh state and PKCE verifier for conf.
func NewRequest(conf *oauth2.Config) Request {
	state := httpx.RandomToken()
	verifier := oauth2.GenerateVerifier()
	remember(conf, state, verifier)
	return Request{
		URL:      conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)),
		State:    state,
		Verifier: verifier,
	}
}

// remember has every log mask a login's secrets. They are the current
// values of the client's logins, so a long-running process that logs in
// again and again (the proxy) masks a bounded set.
func remember(conf *oauth2.Config, values ...string) {
	redact.Set("login for "+conf.ClientID+" at "+conf.Endpoint.AuthURL, values...)
}

// Run performs the login and returns the tokens; it stores nothing.
func (f *Flow) Run(ctx context.Context) (*Result, error) {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := NewRequest(f.Config)
	if f.Manual {
		return f.manual(ctx, req, timeout)
	}
	ln := f.Listener
	if ln == nil {
		var err error
		if ln, err = Listen(f.Config.RedirectURL); err != nil {
			if errors.Is(err, ErrNotLoopback) {
				// The log-in to run reads the address landed on: the
				// command line names it, --manual, with this one's flags.
				return nil, &againError{before: fmt.Sprintf("%s: %v; ", f.Env, err), after: " and paste the URL you land on", err: err}
			}
			if errors.Is(err, ErrPortBusy) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", f.Env, err)
		}
	}
	defer ln.Close()
	codes := make(chan callback, 1)
	var turn answerTurn
	srv := &http.Server{Handler: f.callbackHandler(req, codes, &turn), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	// Shutdown, not Close: the browser must get the whole result page, and
	// the handler signals the result before its response has gone out.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	f.logger().Debug("waiting for the browser", "listen", ln.Addr().String(), "timeout", timeout)
	f.announce(req.URL, timeout)
	select {
	case cb := <-codes:
		if cb.err != nil {
			return nil, cb.err
		}
		return cb.result, nil
	case <-ctx.Done():
		if !turn.close() {
			// The browser came back in time, and its code is being
			// exchanged: the answer spends it, and is the log-in's.
			cb := <-codes
			return cb.result, cb.err
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, f.cancelled()
		}
		// A provider that refused the redirect URI (not the one
		// registered: localhost for 127.0.0.1, another port) keeps the
		// browser on its own page, with nothing to approve.
		if turn.strayed() {
			return nil, &againError{before: fmt.Sprintf("%s: %v: within %s the browser came back only with the answer to another log-in (a tab left from an earlier one?), never this one's; ",
				f.Env, ErrNotApproved, timeout), after: " and approve in the page it opens, not an older tab", err: ErrNotApproved}
		}
		return nil, &againError{before: fmt.Sprintf("%s: %v: no answer from the browser within %s (if the provider's page refused the redirect URI, register %s with the provider exactly as shown, or set redirect_uri to the one registered); ",
			f.Env, ErrNotApproved, timeout, f.Config.RedirectURL), after: " and approve access in the browser", err: ErrNotApproved}
	}
}

// announce shows the person where to log in: the browser opens there, or
// the URL is printed alone on its own line after one line saying what to
// do with it, also when the browser could not be opened.
func (f *Flow) announce(authURL string, timeout time.Duration) {
	w := Shown(f.Stderr, f.Person)
	if f.OpenBrowser != nil {
		err := f.OpenBrowser(authURL)
		if err == nil {
			fmt.Fprintf(w, "Opening your browser to log in to %s. If it does not open, visit:\n%s\n", f.Env, authURL)
			return
		}
		fmt.Fprintln(w, NoBrowser(err, f.ManualCommand))
	}
	fmt.Fprintf(w, "Open this URL in a browser on this computer and approve access to %s (waiting up to %s):\n%s\n", f.Env, timeout, authURL)
}

// NoBrowser is the sentence for a browser that could not open (err) for a
// log-in: the browser must be this computer's, as the callback is on its
// loopback address (a proxy's too). Reached over SSH, it has none, and the
// URL opened elsewhere lands on that computer's 127.0.0.1, where nothing
// answers: --manual takes the address landed on, with manual, this
// log-in's command line run so ("": login --manual). (It said to use
// --no-browser, which only prints the same URL.)
func NoBrowser(err error, manual string) string {
	if manual == "" {
		manual = "login --manual"
	}
	return fmt.Sprintf("Could not open a browser (%s); set browser in the config or $BROWSER, or, over SSH with no browser on this computer, press Ctrl-C and run `%s`.", redact.OneLine(err.Error(), 200), manual)
}

// Shown is w, where a script reads what it is told, and also person, if
// not nil: the terminal where a person waits, told where to log in. Each
// is written whatever the other does: a log that refuses the lines (a
// full disk) does not keep them from the person.
func Shown(w, person io.Writer) io.Writer {
	if person == nil {
		return w
	}
	return shown{w, person}
}

type shown struct{ w, person io.Writer }

func (s shown) Write(b []byte) (int, error) {
	s.person.Write(b) // the script's copy decides the outcome
	return s.w.Write(b)
}

func (f *Flow) manual(ctx context.Context, req Request, timeout time.Duration) (*Result, error) {
	person := f.InTTY || isTerminal(f.Stdin)
	then := "Then paste the whole URL your browser landed on, and press Enter:"
	if !person {
		then = "Then write the whole URL your browser landed on to the standard input, as one line:"
	}
	fmt.Fprintf(f.Stderr, "Open this URL in a browser and approve access:\n%s\n%s\n", req.URL, then)
	type pasted struct {
		line string
		long bool  // the line was longer than maxPaste, and not kept
		err  error // why nothing was pasted, if nothing was
	}
	rd := bufio.NewReader(f.Stdin)
	var skip bool // the rest of a line too long to be an answer is no paste
	next := func() <-chan pasted {
		lines := make(chan pasted, 1)
		go func() {
			line, long, err := readPaste(rd, &skip)
			line = paste.Unwrapped(paste.Trim(line))
			if line != "" || long {
				err = nil
			}
			lines <- pasted{line, long, err}
		}()
		return lines
	}
	// A paste that is no answer (words, the URL to open, an earlier
	// log-in's answer) is said, and another asked for: the approval the
	// browser shows is still good, and starting over would ask for it
	// again. Input that ends then ends the log-in with what was wrong.
	var bad error
	for lines := next(); ; lines = next() {
		var p pasted
		select {
		case p = <-lines:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, f.cancelled()
			}
			if bad != nil {
				return nil, &againError{before: fmt.Sprintf("%s: %v: the address your browser landed on was not pasted within %s (what was pasted was not it); ", f.Env, ErrNotApproved, timeout), err: ErrNotApproved}
			}
			return nil, &againError{before: fmt.Sprintf("%s: %v: no URL was pasted within %s; ", f.Env, ErrNotApproved, timeout), err: ErrNotApproved}
		}
		switch {
		case errors.Is(p.err, io.EOF) && bad != nil:
			return nil, bad
		case errors.Is(p.err, io.EOF) && person: // Ctrl-D
			return nil, &againError{before: fmt.Sprintf("%s: nothing was pasted: the input ended (Ctrl-D); ", f.Env), after: " and paste the whole address your browser lands on", err: ErrBadPaste}
		case errors.Is(p.err, io.EOF):
			return nil, &againError{before: fmt.Sprintf("%s: nothing was pasted: the standard input ended (it is not a terminal); ", f.Env), after: " in a terminal", err: ErrBadPaste}
		case p.err != nil: // the terminal closed
			return nil, fmt.Errorf("%s: nothing was pasted: %w", f.Env, p.err)
		}
		var ask string // what to paste instead
		u, err := url.Parse(p.line)
		switch {
		case p.long:
			ask = "paste the whole address from the browser's address bar, starting with http"
			bad = &againError{before: fmt.Sprintf("%s: %v: it is too long to be one; %s; ", f.Env, ErrBadPaste, ask), err: ErrBadPaste}
			ask = "That is too long to be the address your browser landed on: " + ask
		case err != nil || !u.IsAbs():
			ask = "paste the whole address from the browser's address bar, starting with http"
			bad = &againError{before: fmt.Sprintf("%s: %v: %s; ", f.Env, ErrBadPaste, ask), err: ErrBadPaste}
			ask = "That is not the address your browser landed on: " + ask
		case req.cutShort(u.Query()) && atRedirectURI(u, f.Config.RedirectURL):
			ask = "paste the whole address from the browser's address bar"
			bad = &againError{before: fmt.Sprintf("%s: %v: it lacks all or part of this log-in's state, as an address cut short does; %s; ", f.Env, ErrBadPaste, ask), err: ErrBadPaste}
			ask = "That address lacks all or part of this log-in's state, as an address cut short does: " + ask
		case !req.answers(u.Query()):
			bad = &againError{before: fmt.Sprintf("%s: %v (an earlier log-in's URL?); ", f.Env, ErrStateMismatch), err: ErrStateMismatch}
			ask = "That address answers another log-in (an earlier one?): paste the one your browser landed on after approving the URL above"
		case !u.Query().Has("code") && !u.Query().Has("error"):
			bad = &againError{before: fmt.Sprintf("%s: %v: it has no code (the URL to open, perhaps); ", f.Env, ErrBadPaste), after: ", approve access and paste the address you land on", err: ErrBadPaste}
			ask = "That address has no code (the URL to open, perhaps): open the URL above, approve access, and paste the address you land on"
		case !atRedirectURI(u, f.Config.RedirectURL):
			bad = &againError{before: fmt.Sprintf("%s: %v: it is not at redirect_uri %s, where this log-in's answer comes (the provider may have sent your browser on to another provider's log-in); its code was not sent anywhere; ", f.Env, ErrBadPaste, f.Config.RedirectURL), err: ErrBadPaste}
			ask = "That address is not at the redirect URI, " + f.Config.RedirectURL + ", where this log-in's answer comes (did the provider send your browser on to another provider's log-in?): paste the one your browser landed on after approving the URL above"
		default:
			// The exchange outlives a signal: the code is single use.
			return f.Complete(context.WithoutCancel(ctx), req, u.Query())
		}
		if !person {
			// Nobody could paste another: `printf 'junk\n' | freshtoken
			// login --manual` printed the question to press Enter, then
			// ended at the input's end.
			return nil, bad
		}
		fmt.Fprintf(f.Stderr, "%s, and press Enter (Ctrl-C to stop):\n", ask)
	}
}

// atRedirectURI reports whether u, a pasted address, is at redirectURI,
// where the provider sends this log-in's answer, however the browser
// writes it (the host's case, a default port). An answer elsewhere is not
// this log-in's, even with its state: environments with redirect URIs of
// their own are the defence against a provider that sends the browser on
// to another provider with the state (a mix-up, RFC 9700 §4.4.2), whose
// code comes back to its own environment's redirect URI, and would be
// exchanged, with the PKCE verifier, at the first provider's token
// endpoint.
func atRedirectURI(u *url.URL, redirectURI string) bool {
	r, err := url.Parse(redirectURI)
	if err != nil || r.Host == "" {
		return true // nothing to compare with; the state still is
	}
	path := func(u *url.URL) string { return cmp.Or(u.EscapedPath(), "/") }
	return httpx.SameOrigin(u, r) && path(u) == path(r)
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// maxPaste is the longest line a manual log-in takes for an answer: far
// more than an address the browser lands on (a terminal passes a line of
// 4 KiB at most), so that what is no answer (`< /dev/zero`, a file pasted)
// is not read into memory whole.
const maxPaste = 64 << 10

// readPaste reads one line from rd, without keeping more than maxPaste of
// it: a longer line is reported long as soon as it is, and *skip set, so
// that the next call first passes over the rest of it.
func readPaste(rd *bufio.Reader, skip *bool) (line string, long bool, err error) {
	var b []byte
	for {
		chunk, err := rd.ReadSlice('\n')
		switch {
		case *skip:
			if err != bufio.ErrBufferFull {
				*skip = false
				if err != nil {
					return "", false, err
				}
			}
			continue
		case len(b)+len(chunk) > maxPaste:
			*skip = err == bufio.ErrBufferFull
			return "", true, nil
		}
		b = append(b, chunk...)
		if err != bufio.ErrBufferFull {
			return string(b), false, err
		}
	}
}

// cancelled is the error of a login stopped by Ctrl-C.
func (f *Flow) cancelled() error {
	return fmt.Errorf("%s: login cancelled; nothing was stored", f.Env)
}

// answers reports whether the query a callback received carries req's state.
func (req Request) answers(q url.Values) bool {
	return subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(req.State)) == 1
}

// cutShort reports whether the query of a pasted address lacks all or the
// end of req's state, and says no error: the address was cut short, as a
// terminal's line or a selection may cut it, after the code that comes
// before the state. An error without a state is some provider's own.
func (req Request) cutShort(q url.Values) bool {
	state := q.Get("state")
	return !q.Has("error") && len(state) < len(req.State) && strings.HasPrefix(req.State, state)
}

// issuerWrittenOtherwise is an answer refused for an iss that is the
// environment's issuer written with or without a trailing slash: ErrMixUp
// to errors.Is, in words that do not tell of a mix-up.
type issuerWrittenOtherwise struct{ msg string }

func (e issuerWrittenOtherwise) Error() string { return e.msg }

func (e issuerWrittenOtherwise) Unwrap() error { return ErrMixUp }

// otherIssuer is the first of isses, an answer's iss values (RFC 9207),
// that is not issuer, the environment's; false if all are, if there are
// none, or if the environment has no issuer to compare them with.
func otherIssuer(isses []string, issuer string) (string, bool) {
	if issuer == "" {
		return "", false
	}
	for _, iss := range isses {
		if iss != issuer {
			return iss, true
		}
	}
	return "", false
}

// Complete checks the query a callback received for req and exchanges its
// code. A server that serves the callback itself (the proxy) calls it.
func (f *Flow) Complete(ctx context.Context, req Request, q url.Values) (*Result, error) {
	// Nothing in an answer is looked at before its state proves it is the
	// answer to this request: any web page can send the browser here.
	if !req.answers(q) {
		return nil, &againError{before: fmt.Sprintf("%s: %v (a stale tab, or a forged request); ", f.Env, ErrStateMismatch), err: ErrStateMismatch}
	}
	// A provider that sends the browser on to another provider's
	// authorization endpoint with this request (a mix-up) would be sent
	// the other's code, and the PKCE verifier with it, by the exchange.
	// Every iss counts, an empty one too: the redirect URI that provider
	// chose may carry one of its own before the other provider's.
	if iss, ok := otherIssuer(q["iss"], f.Issuer); ok {
		if strings.TrimSuffix(iss, "/") == strings.TrimSuffix(f.Issuer, "/") && iss != "" {
			// The environment's issuer is the one its provider's discovery
			// document names (config checks it), so this is no mix-up: the
			// provider names itself two ways, a trailing slash apart,
			// which RFC 9207, comparing them as strings, does not allow.
			return nil, issuerWrittenOtherwise{fmt.Sprintf("%s: the provider names itself %q in its answer, but %q in its discovery document, as the environment's issuer (a trailing slash counts: RFC 9207 compares them exactly); its code was not sent anywhere; tell the provider that it writes its issuer two ways",
				f.Env, redact.OneLine(iss, 200), f.Issuer)}
		}
		return nil, &againError{before: fmt.Sprintf("%s: %v: the answer names issuer %q, not this environment's %q, so the provider you logged in at sent your browser on to another; its code was not sent anywhere; check the environment's issuer and auth_url, then ",
			f.Env, ErrMixUp, redact.OneLine(iss, 200), f.Issuer), err: ErrMixUp}
	}
	if f.IssuerInAnswers && f.Issuer != "" && !q.Has("iss") {
		// A provider that promises iss in every answer did not write
		// this one, or does not keep its promise (some leave iss out of
		// error answers, or out of all): only the person can tell which,
		// by the page where they approved, and the way to log in with
		// such a provider is an auth_url of its own, held to no promise.
		auth, host := f.Config.Endpoint.AuthURL, ""
		if u, err := url.Parse(auth); err == nil {
			host = u.Host
		}
		return nil, &againError{before: fmt.Sprintf("%s: the answer names no issuer, though the discovery document of this environment's provider, %q, says that it names itself in every answer (RFC 9207), so its code was not sent anywhere: another provider wrote it, if your browser was sent on to one, or the provider does not keep its promise; if you approved access on %s, tell the provider that its answers lack iss, and to log in meanwhile set auth_url = %q in the environment, which holds the provider to no such promise; then ",
			f.Env, f.Issuer, redact.OneLine(host, 200), redact.URL(auth)), err: ErrMixUp}
	}
	if e := q.Get("error"); e != "" {
		return nil, &AuthorizeError{Env: f.Env, Code: redact.OneLine(e, 60), Description: redact.OneLine(q.Get("error_description"), 200)}
	}
	code := q.Get("code")
	if code == "" {
		return nil, &againError{before: fmt.Sprintf("%s: the answer has no code; ", f.Env)}
	}
	remember(f.Config, req.State, req.Verifier, code)
	if f.Storable != nil {
		if err := f.Storable(ctx); err != nil {
			return nil, err
		}
	}
	sentAt := f.now()
	if f.Exchanging != nil {
		f.Exchanging()
	}
	log := f.logger()
	log.Debug("code exchange", "url", redact.URL(f.Config.Endpoint.TokenURL), "grant_type", "authorization_code", "code", redact.Secret(code), "code_verifier", redact.Secret(req.Verifier))
	hc := f.HTTP
	if hc == nil {
		hc = tokenerr.Lenient(&http.Client{Timeout: 30 * time.Second})
	}
	ans := &tokenerr.Copy{} // a web page in place of the answer is told as one (see Copy.Explain)
	traced, wrote := tokenerr.SentWhole(ctx)
	tok, err := f.Config.Exchange(context.WithValue(tokenerr.WithCopy(traced, ans), oauth2.HTTPClient, hc), code, oauth2.VerifierOption(req.Verifier))
	if err != nil {
		// The client's time-out, which Go tells as "Client.Timeout
		// exceeded while awaiting headers", is told plainly.
		if hc.Timeout > 0 {
			err = tokenerr.TimedOut(ctx, hc.Timeout, err)
		}
		err = ans.Explain(err)
		xe := f.exchangeError(err)
		xe.Unreadable = ans.Status != 0 && !xe.TooLarge
		xe.Lost = tokenerr.Lost(err, wrote.Load(), ans)
		return nil, xe
	}
	remember(f.Config, req.State, req.Verifier, code, tok.AccessToken, tok.RefreshToken)
	log.Debug("code exchange answered", "access_token", redact.Secret(tok.AccessToken), "refresh_token", redact.Secret(tok.RefreshToken), "expires_in", tok.ExpiresIn)
	return &Result{Token: tok, SentAt: sentAt}, nil
}

// AuthorizeError is the authorization endpoint's refusal of a log-in,
// sent back to the redirect URI (RFC 6749 §4.1.2.1). Only a person's
// refusal (access_denied, or a code this does not know) is ErrNotApproved;
// a request the provider cannot take (Misconfigured) is the
// configuration's to fix, and a provider that cannot serve the log-in now
// (Unavailable) is trouble to wait out: approving in the browser fixes
// neither.
type AuthorizeError struct {
	Env, Code, Description string // one line each
}

// misconfigured are the authorization endpoint's errors that say the
// request itself is wrong: what it asks for (scopes, a resource, as RFC
// 8707's invalid_target and Microsoft's invalid_resource say, parameters,
// a redirect URI not registered, as GitHub's redirect_uri_mismatch says)
// or the client asking (GitHub's application_suspended).
var misconfigured = []string{"invalid_request", "unauthorized_client", "unsupported_response_type", "invalid_scope", "invalid_target", "invalid_resource", "invalid_client", "invalid_request_uri", "invalid_request_object", "redirect_uri_mismatch", "application_suspended"}

// Misconfigured reports whether the provider refused the request itself,
// which only the configuration can fix.
func (e *AuthorizeError) Misconfigured() bool { return slices.Contains(misconfigured, e.Code) }

// Unavailable reports whether the provider could not serve the log-in now.
func (e *AuthorizeError) Unavailable() bool {
	return e.Code == "server_error" || e.Code == "temporarily_unavailable"
}

func (e *AuthorizeError) Error() string {
	before, after := e.LogInAgain()
	return before + "log in again" + after
}

// Unwrap is tokenerr.ErrOwnRefusal for a refusal with the provider's own
// error code (renewal_refused), as a renewal's is.
func (e *ExchangeError) Unwrap() error {
	if e.Class == tokenerr.BadClient && !e.NotThere && e.Refusal == tokenerr.RefusedUnknown {
		return tokenerr.ErrOwnRefusal
	}
	return nil
}

// LogInAgain is the message around its step, logging in again (a request
// to fix first, a provider to wait for, access to approve): before it, and
// after it (" later", or what to do then), for a caller that names the
// log-in to run (the command line names its command).
func (e *AuthorizeError) LogInAgain() (before, after string) {
	answered := tokenerr.Answer(e.Code, e.Description)
	switch {
	case e.Misconfigured():
		return fmt.Sprintf("%s: the provider refused the log-in request: it answered %s; check scopes, resource, audience, client_id, redirect_uri, auth_url and auth_params in the config, then ", e.Env, answered), ""
	case e.Unavailable():
		return fmt.Sprintf("%s: the provider could not serve the log-in: it answered %s; ", e.Env, answered), " later"
	}
	return fmt.Sprintf("%s: %v: the provider answered %s; ", e.Env, ErrNotApproved, answered), " and approve access in the browser"
}

// Unwrap is ErrNotApproved for a person's refusal.
func (e *AuthorizeError) Unwrap() error {
	if e.Misconfigured() || e.Unavailable() {
		return nil
	}
	return ErrNotApproved
}

// ExchangeError is a code exchange the provider refused.
type ExchangeError struct {
	Env string
	// TokenURL is where the code went, as messages show it: a key in its
	// query masked.
	TokenURL string
	// Setting names the setting to check of a token endpoint that cannot
	// be reached or answers as none (Flow.TokenURLSetting).
	Setting string
	// Class sorts the failure by the same rules as a renewal's.
	Class      tokenerr.Class
	Descriptor string
	// Wait is how long a RateLimited exchange's Retry-After asks to wait.
	Wait time.Duration
	// Refusal sorts a BadClient refusal by its error code, as a renewal's
	// is (see tokenerr.RefusalOf): the client rejected, a setting to
	// check, or the provider's own code, which only its words explain.
	Refusal tokenerr.Refusal
	// NotThere: no token endpoint answers at the token URL (see
	// tokenerr.NotThere); the client was not rejected.
	NotThere bool
	// TooLarge: the answer was longer than freshtoken reads (see
	// tokenerr.ErrAnswerTooLarge); nothing failed to connect.
	TooLarge bool
	// Unreadable: the token endpoint answered 2xx with what is no token
	// answer (a web page, no access token, JSON cut short); it was
	// reached, once.
	Unreadable bool
	// Status is the HTTP status of the token endpoint's error answer (a
	// 503), 0 when none came: it was reached, and failed the code, which
	// is sent once.
	Status int
	// Lost says how the answer to the code, sent whole, was lost (see
	// tokenerr.Lost): the provider may have spent the code, which works
	// once, so only a new log-in can help. "" when none was.
	Lost string
}

func (e *ExchangeError) Error() string {
	if before, after := e.LogInAgain(); before != "" {
		return before + "log in again" + after
	}
	// What is left is a BadClient: a refusal no log-in again helps.
	if e.NotThere {
		return fmt.Sprintf("%s: no token endpoint answers at the token URL (%s); check %s", e.Env, e.Descriptor, e.Setting)
	}
	return fmt.Sprintf("%s: the token endpoint %s", e.Env, tokenerr.Refused(e.Refusal, e.Descriptor, "log-in"))
}

// LogInAgain is the message around its step, when that is logging in
// again (a token endpoint to wait for, a setting to check first, a code
// refused):
// before it, and after it (" later", " in 30s", or ""), for a caller that
// names the log-in to run (the command line names its command). before
// is "" when the step is another.
func (e *ExchangeError) LogInAgain() (before, after string) {
	switch {
	case e.Class == tokenerr.RateLimited:
		return fmt.Sprintf("%s: the token endpoint is rate limiting log-ins (%s); ", e.Env, e.Descriptor), " in " + httpx.SayWait(max(e.Wait, time.Second))
	case e.Class == tokenerr.BadGrant:
		return fmt.Sprintf("%s: the provider refused the login code (%s); ", e.Env, e.Descriptor), " and approve access in the browser"
	case e.Class != tokenerr.Passing:
		return "", ""
	case e.TooLarge:
		return fmt.Sprintf("%s: the answer of the token endpoint %s to the log-in was not read: %v; check %s, then ", e.Env, e.TokenURL, tokenerr.ErrAnswerTooLarge, e.Setting), ""
	case e.Lost != "":
		return fmt.Sprintf("%s: the token endpoint %s got the log-in's code, and its answer was lost (%s); the provider may have spent the code, which works once: ", e.Env, e.TokenURL, e.Lost), ""
	case e.Unreadable:
		return fmt.Sprintf("%s: the token endpoint %s answered the log-in without tokens freshtoken can read (%s); check %s, then ", e.Env, e.TokenURL, e.Descriptor, e.Setting), ""
	case e.Status != 0:
		// A code works once, so the exchange is sent once: no retries,
		// and nothing but this answer came.
		when := " later"
		if e.Wait > 0 {
			when = " in " + httpx.SayWait(e.Wait) + ", as it asks"
		}
		return fmt.Sprintf("%s: the token endpoint %s failed the log-in: it answered its code, which is sent once, with %s; no tokens were stored: ", e.Env, e.TokenURL, e.Descriptor), when
	}
	return fmt.Sprintf("%s: the token endpoint %s could not be reached (%s); check your connection and %s, then ", e.Env, e.TokenURL, e.Descriptor, e.Setting), ""
}

// ClientRejection says how the token endpoint rejected the client, or the
// request its configuration makes, in the code exchange that failed with
// err, without the environment's name; ok is false for any other failure,
// a refusal with the provider's own error code among them.
func ClientRejection(err error) (msg string, ok bool) {
	var xe *ExchangeError
	if !errors.As(err, &xe) || xe.Class != tokenerr.BadClient || !xe.NotThere && xe.Refusal == tokenerr.RefusedUnknown {
		return "", false
	}
	if xe.NotThere {
		return fmt.Sprintf("no token endpoint answered a log-in at the token URL (%s); check %s", xe.Descriptor, xe.Setting), true
	}
	if xe.Refusal == tokenerr.RefusedClient {
		return fmt.Sprintf("the token endpoint rejected the client in a log-in (%s)", xe.Descriptor), true
	}
	return "the token endpoint " + tokenerr.Refused(xe.Refusal, xe.Descriptor, "log-in"), true
}

func (f *Flow) exchangeError(err error) *ExchangeError {
	class, wait, desc := tokenerr.Classify(err)
	xe := &ExchangeError{Env: f.Env, TokenURL: redact.URL(f.Config.Endpoint.TokenURL), Setting: f.TokenURLSetting, Class: class, Descriptor: desc, Wait: wait, Refusal: tokenerr.RefusalOf(err), NotThere: tokenerr.NotThere(err), TooLarge: errors.Is(err, tokenerr.ErrAnswerTooLarge)}
	if re := (*oauth2.RetrieveError)(nil); errors.As(err, &re) && re.Response != nil {
		xe.Status = re.Response.StatusCode
	}
	return xe
}

type callback struct {
	result *Result
	err    error
}

// CallbackHandler serves the redirect URI's path: it completes req and sends
// the outcome on done once. Only the first callback with req's state is
// looked at: a reload would present its code a second time, which providers
// take for a stolen code. A callback without this login's state gets a
// plain 400 whatever else it carries (an error, a code) and the login keeps
// waiting, so a stale tab or a forged request cannot end it or put its own
// words on the terminal; other paths get 404.
func (f *Flow) CallbackHandler(req Request, done chan<- callback) http.Handler {
	return f.callbackHandler(req, done, new(answerTurn))
}

// answerTurn decides, once, between the callback that answers a log-in
// and the end of the wait for it (a signal, the time limit): a code taken
// is exchanged and its answer awaited, whatever comes after; a wait ended
// takes no code.
type answerTurn struct {
	mu              sync.Mutex
	answered, ended bool
	stray           bool // an answer to another log-in came
}

// strayIn notes that an answer to another log-in came.
func (a *answerTurn) strayIn() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stray = true
}

// strayed reports whether an answer to another log-in came.
func (a *answerTurn) strayed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stray
}

// take reports whether the answer is the first, in time to be exchanged.
func (a *answerTurn) take() (first, inTime bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.answered || a.ended {
		return !a.answered, false
	}
	a.answered = true
	return true, true
}

// close ends the wait, and reports whether no answer was taken before.
func (a *answerTurn) close() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ended = true
	return !a.answered
}

func (f *Flow) callbackHandler(req Request, done chan<- callback, turn *answerTurn) http.Handler {
	path := "/"
	if u, err := url.Parse(f.Config.RedirectURL); err == nil && u.Path != "" {
		path = u.Path
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if !req.answers(q) {
			if q.Get("state") == "" || !q.Has("code") && !q.Has("error") { // no log-in's answer
				http.Error(w, "This is not the answer to the login in progress, which is still waiting. Close this tab.", http.StatusBadRequest)
				return
			}
			turn.strayIn()
			http.Error(w, "This is the answer to another login (a tab left from an earlier one?), not to the login in progress, which is still waiting. Close this tab, and approve in the page that login opened or printed.", http.StatusBadRequest)
			return
		}
		switch first, inTime := turn.take(); {
		case !first:
			http.Error(w, "This login has been answered already; see freshtoken for how it went. Close this tab.", http.StatusBadRequest)
			return
		case !inTime:
			http.Error(w, "This login has ended (stopped, or out of time) and took no code. Close this tab and log in again.", http.StatusBadRequest)
			return
		}
		// The exchange outlives a browser that gives up: the code is single use.
		res, err := f.Complete(context.WithoutCancel(r.Context()), req, q)
		var body bytes.Buffer
		page().Execute(&body, pageData{Env: f.Env, Err: errString(err)})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
		w.Write(body.Bytes())
		select {
		case done <- callback{result: res, err: err}:
		default:
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type pageData struct {
	Env string
	Err string
}

// page is parsed when a login first needs it, not at every start.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>freshtoken</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}.ok{color:#176f2c}.err{color:#a12}</style></head><body>
{{if .Err}}<h1 class="err">Login failed</h1><p>{{.Err}}</p>
{{else}}<h1 class="ok" id="success">Logged in to {{.Env}}</h1><p>You can close this tab and return to freshtoken, which stores your tokens and keeps them fresh.</p>{{end}}
</body></html>`))
})

// Listen opens the callback listener on the loopback address of redirectURI.
// "localhost" listens on 127.0.0.1, as RFC 8252 advises.
func Listen(redirectURI string) (net.Listener, error) {
	addr, err := LoopbackAddr(redirectURI)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenFailed(redirectURI, addr, err)
	}
	if err := heldOnIPv6(redirectURI, ln.Addr()); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// NamesLocalhost reports whether redirectURI's host is localhost or a
// name under it, however spelled (httpx.IsLocalhostName), which a browser
// opens at 127.0.0.1 or at ::1.
func NamesLocalhost(redirectURI string) bool {
	u, err := url.Parse(redirectURI)
	return err == nil && httpx.IsLocalhostName(u.Hostname())
}

// heldOnIPv6 is why a log-in listening on 127.0.0.1 (at) alone cannot
// take redirectURI's callback, or nil: its host is localhost (or a name
// under it), which a browser may open at ::1 as well, and another program
// listens on that port of ::1, which would get the browser, and with it
// the code, while the log-in waited in vain. That address is busy
// (ErrPortBusy, BusyAddr): a freshtoken proxy given --listen [::1]:PORT
// takes the log-in there, as one on 127.0.0.1 does.
func heldOnIPv6(redirectURI string, at net.Addr) error {
	if !NamesLocalhost(redirectURI) {
		return nil
	}
	_, port, _ := net.SplitHostPort(at.String())
	v6 := net.JoinHostPort("::1", port)
	probe, err := net.Listen("tcp", v6)
	if fault, _ := httpx.ListenFailure(err); err != nil && fault == httpx.ListenBusy {
		return portBusy(v6, fmt.Sprintf("redirect_uri %s names localhost, which a browser may open there", redirectURI))
	}
	if err == nil {
		probe.Close()
	}
	return nil
}

// portBusy is ErrPortBusy at addr (host:port), another program's, and
// why: the listen's own error, or why the log-in would need it.
func portBusy(addr, why string) error {
	return &listenError{ErrPortBusy, addr, fmt.Sprintf("%v: %s (%s)", ErrPortBusy, addr, why)}
}

// BusyAddr is the address (host:port) that err, an ErrPortBusy of Listen
// or Flow.Run, says another program listens on: where a freshtoken proxy
// holding it would take the log-in. "" for other errors.
func BusyAddr(err error) string {
	var failed *listenError
	if errors.As(err, &failed) && failed.kind == ErrPortBusy {
		return failed.addr
	}
	return ""
}

// listenFailed tells why the callback could not listen on addr, the
// loopback address of redirectURI, and what to write instead: every error
// is one of ErrPortBusy, ErrPortRefused or ErrCannotListen, each a
// configuration mistake, never an unexplained failure.
func listenFailed(redirectURI, addr string, err error) error {
	host, port, _ := net.SplitHostPort(addr)
	fault, cause := httpx.ListenFailure(err)
	switch fault {
	case httpx.ListenBusy:
		return portBusy(addr, err.Error())
	case httpx.ListenPrivileged:
		return &listenError{ErrPortRefused, addr, fmt.Sprintf("redirect_uri %s is on port %s, which only an administrator may listen on; write a port of 1024 or more in redirect_uri, such as http://127.0.0.1:8787/callback, and register that with the provider", redirectURI, port)}
	case httpx.ListenOutOfFiles:
		// No address is at fault: another port would fail alike.
		return &listenError{ErrCannotListen, addr, fmt.Sprintf("cannot listen on %s for the callback of redirect_uri %s: %v, so no connection can be opened; raise the limit on open files (ulimit -n) or close programs holding many, and run it again", addr, redirectURI, cause)}
	case httpx.ListenNoSuchAddress:
		return &listenError{ErrCannotListen, addr, fmt.Sprintf("redirect_uri %s asks for the callback on %s, which is not an address of this machine (%v); write 127.0.0.1 in redirect_uri, such as http://%s/callback, and register that with the provider, or give this machine the address %s", redirectURI, host, cause, net.JoinHostPort("127.0.0.1", port), host)}
	}
	return &listenError{ErrCannotListen, addr, fmt.Sprintf("cannot listen on %s for the callback of redirect_uri %s (%v); write another port of 1024 or more in redirect_uri, such as http://127.0.0.1:8787/callback, and register that with the provider", addr, redirectURI, cause)}
}

// listenError says why the callback could not listen on addr (host:port;
// "" when the redirect URI gives none); it is its kind (ErrPortBusy,
// ErrPortRefused or ErrCannotListen).
type listenError struct {
	kind error
	addr string
	msg  string
}

func (e *listenError) Error() string        { return e.msg }
func (e *listenError) Is(target error) bool { return target == e.kind }

// notLoopbackError says which way a redirect URI is not on this machine; it
// is ErrNotLoopback.
type notLoopbackError struct{ msg string }

func (e *notLoopbackError) Error() string        { return e.msg }
func (e *notLoopbackError) Is(target error) bool { return target == ErrNotLoopback }

// LoopbackAddr is the host:port to listen on for redirectURI, or an error
// that is ErrNotLoopback when the URI is not on this machine.
func LoopbackAddr(redirectURI string) (string, error) {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("redirect_uri %q is not a URL", redirectURI)
	}
	if u.Scheme != "http" {
		return "", &notLoopbackError{fmt.Sprintf("redirect_uri %s is not a loopback http:// address", redirectURI)}
	}
	ip, ok := httpx.ParseHost(u.Hostname())
	if !ok || !ip.IsLoopback() {
		return "", &notLoopbackError{fmt.Sprintf("redirect_uri %s is not on this machine", redirectURI)}
	}
	port, ok := httpx.Port(u.Port(), u.Scheme)
	if !ok {
		return "", &listenError{ErrCannotListen, "", fmt.Sprintf("redirect_uri %s has no port freshtoken can listen on; write a port of 1024 or more in redirect_uri, such as http://127.0.0.1:8787/callback, and register that with the provider", redirectURI)}
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(port)), nil
}

func (f *Flow) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger.With("env", f.Env)
}

func (f *Flow) now() time.Time {
	if f.Clock == nil {
		return time.Now()
	}
	return f.Clock()
}
