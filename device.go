package freshtoken

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
)

// DeviceLogin is an RFC 8628 log-in under way: a person opens
// VerificationURI on any device with a browser and enters UserCode there
// (or opens VerificationURIComplete, which carries the code), while Wait
// polls the token endpoint until they have approved or denied it.
type DeviceLogin struct {
	VerificationURI         string
	VerificationURIComplete string // "" when the provider gives none
	UserCode                string
	// Expiry is when the code expires unapproved, and Wait gives up: as the
	// provider says, within an hour, or 15 minutes after it was issued
	// when the provider does not say.
	Expiry time.Time
	// Check, if not nil, is asked before each poll with the record stored
	// then, and whether the tokens a poll brings may be stored, as
	// SaveLoginIf asks it (under the renewal lock: see LoginCheck): its
	// error is Wait's, no more polls sent and nothing stored. It is set
	// before Wait is called.
	Check LoginCheck

	src      *Source
	code     string        // the device code: a secret, never shown
	interval time.Duration // between polls; slow_down adds 5 s
	began    time.Time
}

// String shows what the person needs (the verification URI, the user code
// and the expiry), and not the device code, with which whoever holds it
// collects the tokens once the person approves: a program may print or log
// a DeviceLogin (%v, %+v, slog).
func (d DeviceLogin) String() string { return d.printed().String() }

// GoString is String for %#v.
func (d DeviceLogin) GoString() string { return d.printed().GoString() }

// LogValue is String for slog.
func (d DeviceLogin) LogValue() slog.Value { return d.printed().LogValue() }

// MarshalJSON is what String shows, as fields: slog's JSON handler,
// marshalling a DeviceLogin held in a struct, a map or a slice, logged
// "!ERROR" for its Check, a function.
func (d DeviceLogin) MarshalJSON() ([]byte, error) { return d.printed().MarshalJSON() }

// printed shows what a DeviceLogin shows of itself.
func (d DeviceLogin) printed() redact.Printed {
	type shown struct {
		VerificationURI         string
		VerificationURIComplete string
		UserCode                string
		Expiry                  time.Time
	}
	return redact.Printed{Name: "freshtoken.DeviceLogin", Shown: shown{d.VerificationURI, d.VerificationURIComplete, d.UserCode, d.Expiry}}
}

// DevicePoll is a poll that found the log-in not yet approved, for a
// caller reporting progress.
type DevicePoll struct {
	Answer   string        // "authorization_pending" or "slow_down"
	Waited   time.Duration // since the code was issued
	Left     time.Duration // until the code expires
	Interval time.Duration // until the next poll
}

// defaultDeviceInterval is the wait between polls when the provider gives
// none, as RFC 8628 §3.2 says.
const defaultDeviceInterval = 5 * time.Second

// A device log-in's code lives as long as the provider says, within
// maxDeviceCodeLife, and defaultDeviceCodeLife when it does not say (RFC
// 8628 requires it to), so that no log-in waits for ever. An interval
// longer than maxDeviceInterval is taken as maxDeviceInterval: a person who
// approves should not wait longer than that to be told.
const (
	defaultDeviceCodeLife = 15 * time.Minute
	maxDeviceCodeLife     = time.Hour
	maxDeviceInterval     = time.Minute
)

// slowDownStep is how much each slow_down answer lengthens the wait between
// polls, for that poll and all after it (RFC 8628 §3.5).
const slowDownStep = 5 * time.Second

// StartDeviceLogin asks the device authorization endpoint
// (Settings.DeviceAuthURL, set or discovered) for a user code, authenticating the client as
// the token endpoint does; Wait completes the log-in.
func (s *Source) StartDeviceLogin(ctx context.Context) (*DeviceLogin, error) {
	if s.unmade() {
		return nil, errNotMade
	}
	ep, err := s.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	endpoint, shown := ep.DeviceAuthURL, redact.URL(ep.DeviceAuthURL) // shown: for messages, a key in its query masked
	if endpoint == "" {
		return nil, &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: "no device authorization endpoint is known; set device_auth_url"}
	}
	secret, err := s.clientSecret(ctx)
	if err != nil {
		return nil, err
	}
	// This is the grant's authorization request: the API the tokens are
	// for is asked for here (Auth0 reads audience nowhere else in this
	// grant; RFC 8707 puts resource here).
	form := extraParams(&s.set, nil)
	form.Set("client_id", s.set.ClientID)
	if len(s.set.Scopes) > 0 {
		form.Set("scope", strings.Join(s.set.Scopes, " "))
	}
	rctx, cancel := context.WithTimeout(ctx, s.set.Timeout)
	defer cancel()
	sentAt := s.now()
	s.log.Debug("device authorization request", "url", shown, "client_auth", string(s.set.ClientAuth))
	resp, err := s.postForm(rctx, endpoint, secret, form)
	if err != nil {
		err = tokenerr.TimedOut(ctx, s.set.Timeout, err)
		return nil, logInAgain(&Error{Env: s.set.Env, Kind: ErrUnreachable, Err: err,
			Msg: fmt.Sprintf("the device authorization endpoint %s could not be reached (%v); check device_auth_url and your network, then ", shown, httpx.UnwrapURLError(err))}, "")
	}
	defer httpx.Drain(resp)
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable, Err: err,
			Msg: fmt.Sprintf("the device authorization endpoint %s stopped answering (%v)", shown, err)}
	}
	// An error answer with a 200 (GitHub's, for an app whose device flow
	// is not enabled) is a refusal all the same, in the provider's words.
	if re := tokenerr.Retrieved(resp, body); resp.StatusCode != http.StatusOK || re.ErrorCode != "" {
		class, _, desc := tokenerr.Classify(re)
		if class == tokenerr.BadClient && tokenerr.NotThere(re) {
			return nil, &Error{Env: s.set.Env, Kind: ErrClientRejected,
				Msg: fmt.Sprintf("no device authorization endpoint answers at %s (%s); check device_auth_url", shown, desc)}
		}
		if class == tokenerr.BadClient || class == tokenerr.BadGrant {
			return nil, &Error{Env: s.set.Env, Kind: ErrClientRejected,
				Msg: fmt.Sprintf("the device authorization endpoint %s refused the client (%s)", shown, desc)}
		}
		return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable,
			Msg: fmt.Sprintf("the device authorization endpoint %s failed (%s); try again later", shown, desc)}
	}
	var a struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURL         string `json:"verification_url"` // as Google spells it
		VerificationURIComplete string `json:"verification_uri_complete"`
		// Numbers, or strings holding them as some providers write them.
		ExpiresIn json.RawMessage `json:"expires_in"`
		Interval  json.RawMessage `json:"interval"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.DeviceCode == "" || a.UserCode == "" || a.VerificationURI == "" && a.VerificationURL == "" {
		return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable,
			Msg: fmt.Sprintf("the device authorization endpoint %s answered without a device code, user code and verification URI; check device_auth_url", shown)}
	}
	redact.Register(a.DeviceCode)
	d := &DeviceLogin{
		VerificationURI: cmp.Or(a.VerificationURI, a.VerificationURL),
		UserCode:        a.UserCode,
		src:             s,
		code:            a.DeviceCode,
		interval:        defaultDeviceInterval,
		began:           sentAt,
	}
	page, err := showableURI(d.VerificationURI)
	unsafe := ""
	switch n := utf8.RuneCountInString(d.UserCode); {
	case err != nil:
		unsafe = "a verification URI that is not an http(s) page of printable ASCII"
	case len(d.VerificationURI) > maxVerificationURI:
		unsafe = fmt.Sprintf("a verification URI of %d characters, far more than a page's address made to be typed (at most %d)", len(d.VerificationURI), maxVerificationURI)
	case n > maxUserCode:
		unsafe = fmt.Sprintf("a user code of %d characters, far more than one made to be typed (at most %d)", n, maxUserCode)
	case !showableCode(d.UserCode):
		unsafe = "a user code holding control characters"
	}
	if unsafe != "" {
		return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable,
			Msg: fmt.Sprintf("the device authorization endpoint %s answered with %s, which cannot be shown safely, so nothing of it is; check device_auth_url", shown, unsafe)}
	}
	here := httpx.LeadsHere(ctx, page.Hostname()) && !httpx.LeadsHere(ctx, endpointHost(endpoint))
	if err := ctx.Err(); err != nil {
		// Stopped (Ctrl-C) while the page's name was looked up, which
		// leaves it unjudged: nothing is shown or opened.
		return nil, fmt.Errorf("%s: log-in abandoned (%w)", s.set.Env, err)
	}
	if here {
		// The browser would open, and the person be sent to, a page of
		// whatever program listens there (this computer's freshtoken
		// proxy, which adds the tokens of the environment the path
		// names), at a path the provider elsewhere chose.
		return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable,
			Msg: fmt.Sprintf("the device authorization endpoint %s answered with a verification URI on this computer, %s, where a provider elsewhere serves no page: it would have your browser open a page of a program here; nothing of it is shown and no log-in began; check device_auth_url",
				shown, redact.OneLine(page.Scheme+"://"+page.Host, 120))}
	}
	if page.Scheme == "http" && !httpx.IsLoopback(page.Hostname()) {
		// The person types the user code into this page: in clear text
		// to another machine, anyone on the way could serve their own
		// (and approve their account into the environment), as an
		// endpoint in a discovery document is refused.
		return nil, &Error{Env: s.set.Env, Kind: ErrClearText,
			Msg: fmt.Sprintf("the device authorization endpoint %s answered with a verification URI, %s, that is plain http to another machine, where anyone on the way could change the page you would type the user code into; nothing of it is shown and no log-in began: have the provider serve that page over https",
				shown, redact.OneLine(page.Scheme+"://"+page.Host+page.Path, 120))}
	}
	if a.VerificationURIComplete != "" {
		// It is opened in the browser and linked from the proxy's page,
		// where the person cannot check it as they can the URI they read.
		if complete, err := showableURI(a.VerificationURIComplete); err == nil && len(a.VerificationURIComplete) <= maxVerificationURI && complete.Scheme == page.Scheme && strings.EqualFold(complete.Host, page.Host) {
			d.VerificationURIComplete = a.VerificationURIComplete
		} else {
			s.log.Debug("verification_uri_complete ignored: not an http(s) page on the verification URI's host, or too long to show")
		}
	}
	life := defaultDeviceCodeLife
	if secs, ok := tokenerr.WholeSeconds(a.ExpiresIn); ok && secs > 0 {
		life = time.Duration(min(secs, int64(maxDeviceCodeLife/time.Second))) * time.Second
	}
	d.Expiry = sentAt.Add(life)
	if secs, ok := tokenerr.WholeSeconds(a.Interval); ok && secs > 0 {
		d.interval = time.Duration(min(secs, int64(maxDeviceInterval/time.Second))) * time.Second
	}
	s.log.Debug("device authorization answered", "verification_uri", d.VerificationURI, "user_code", d.UserCode,
		"device_code", redact.Secret(d.code), "expires", d.Expiry.Format(logTime), "interval", d.interval)
	return d, nil
}

// Wait polls the token endpoint at the interval the provider asked for
// until the person approves or denies the log-in or the code expires, and
// stores the tokens as SaveLogin does. A slow_down answer lengthens the
// interval by 5 s for good; progress, if not nil, is told of each poll that
// found the log-in still pending. Passing failures and 429s are retried as
// renewals are. A denied or expired log-in is an error wrapping
// ErrLoginRefused. ctx ends the waits between polls; a poll in flight and
// the storing of its answer run to completion.
func (d *DeviceLogin) Wait(ctx context.Context, progress func(DevicePoll)) error {
	if d == nil || d.src.unmade() {
		return errors.New("freshtoken: this DeviceLogin is nil or the zero DeviceLogin; use the one Source.StartDeviceLogin returns")
	}
	s := d.src
	work := context.WithoutCancel(ctx)
	conf, err := s.OAuth2Config(work, "")
	if err != nil {
		return err
	}
	conf.Scopes = nil // not part of the device grant's token request
	poll := clientCredentials(conf, url.Values{"grant_type": {GrantDeviceCode}, "device_code": {d.code}})
	wait, failures := d.interval, 0
	// lost is what became of an earlier poll that the token endpoint got
	// and never answered whole (see answerLostError), "" if none: its
	// answer may have held the tokens, the device code spent. A later
	// poll answered pending clears it: the provider issued nothing before.
	lost := ""
	for attempt := 1; ; attempt++ {
		if err := s.pause(ctx, min(wait, max(d.Expiry.Sub(s.now()), 0))); err != nil {
			return fmt.Errorf("%s: log-in abandoned (%w)", s.set.Env, err)
		}
		if !s.now().Before(d.Expiry) {
			return d.refused("the code expired before the log-in was approved")
		}
		if d.Check != nil {
			// Asked before each poll too, as a browser log-in asks before
			// it sends the code: once the person has approved, a poll
			// spends the device code, and tokens Check would refuse are
			// issued only to be thrown away.
			if err := d.Check(s.Record(work)); err != nil {
				return err
			}
		}
		err := d.poll(work, poll)
		var unsaved *unsavedError
		if errors.As(err, &unsaved) {
			return unsaved.err
		}
		answer := "approved"
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			answer = re.ErrorCode
		} else if err != nil {
			answer = ""
		}
		s.log.Debug("device poll", "attempt", attempt, "answer", answer)
		if err == nil {
			return nil
		}
		switch answer {
		case "authorization_pending", "slow_down":
			failures, lost = 0, ""
			if answer == "slow_down" {
				d.interval += slowDownStep
			}
			wait = d.interval
			if progress != nil {
				progress(DevicePoll{Answer: answer, Waited: s.now().Sub(d.began), Left: d.Expiry.Sub(s.now()), Interval: wait})
			}
			continue
		case "expired_token":
			return d.refused(d.afterLost("the code expired before the log-in was approved", lost))
		case "access_denied", "authorization_declined": // RFC 8628's word, and Microsoft's
			return d.refused("the log-in was denied at the provider")
		}
		class, retryAfter, desc := tokenerr.Classify(err)
		if why := answerLost(err); why != "" {
			lost = why
		}
		switch class {
		case tokenerr.BadGrant:
			return d.refused(d.afterLost(fmt.Sprintf("the provider refused the device code (%s)", desc), lost))
		case tokenerr.BadClient:
			if tokenerr.NotThere(err) {
				return &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: s.notThere(s.set.TokenURL, desc)}
			}
			s.forgetClientCredentials()
			refusal := &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: s.refused(err, desc, "log-in")}
			if tokenerr.RefusalOf(err) == tokenerr.RefusedUnknown {
				refusal.Err = tokenerr.ErrOwnRefusal
			}
			return refusal
		case tokenerr.RateLimited:
			if !s.waitsOut(retryAfter) {
				return logInAgain(&Error{Env: s.set.Env, Kind: ErrUnreachable, Err: ErrRateLimited, RetryAt: s.now().Add(retryAfter), Msg: fmt.Sprintf("the token endpoint is rate limiting the log-in and asks to wait %s; ", httpx.SayWait(retryAfter))}, " then")
			}
			wait = max(retryAfter, d.interval)
		case tokenerr.Passing:
			if failures >= len(s.set.RetryBackoff) {
				return logInAgain(&Error{Env: s.set.Env, Kind: ErrUnreachable, Msg: fmt.Sprintf("the token endpoint %s kept failing during the log-in (%s)%s; ", redact.URL(s.set.TokenURL), desc, s.tokenHostToCheck(err))}, " later")
			}
			wait = max(s.set.RetryBackoff[failures], d.interval)
			failures++
		}
		s.log.Debug("device poll failed; polling again", "after", wait, "error", desc)
	}
}

// poll sends one device token request, bounded by Settings.Timeout, and
// stores the tokens it brings, if any, as SaveLogin does (a failure to
// store them is an *unsavedError). Until they are stored or the request
// has failed, Options.Sending knows: the device code is spent once the
// provider answers with tokens.
func (d *DeviceLogin) poll(work context.Context, req *clientcredentials.Config) error {
	s := d.src
	defer s.whenUnlocked(s.sending(Renewal{Env: s.set.Env, TokenURL: s.set.TokenURL, Timeout: s.set.Timeout, LogIn: true}))
	// The time this process ran (see withRunningTimeout), not the
	// client's Timeout, whose timer a stop outlasts: the answer spends the
	// device code.
	rctx, cancel := withRunningTimeout(work, s.set.Timeout)
	defer cancel()
	client := *s.http
	client.Timeout = 0
	sentAt := s.now()
	ans := &tokenerr.Copy{} // a web page in place of the answer is told as one (see Copy.Explain)
	traced, wrote := tokenerr.SentWhole(rctx)
	tok, err := req.Token(context.WithValue(tokenerr.WithCopy(traced, ans), oauth2.HTTPClient, &client))
	if err != nil {
		return lostAnswer(ans.Explain(s.timedOut(work, rctx, err)), wrote, ans)
	}
	if err := s.SaveLoginIf(work, tok, sentAt, d.Check); err != nil {
		return &unsavedError{err}
	}
	return nil
}

// showableURI parses a verification URI, which is printed on the person's
// terminal, linked from the proxy's page and opened in their browser: an
// absolute http(s) URL of printable ASCII (no escape sequences, no
// look-alike letters), naming its host without user info (as in
// https://login.example.com@evil.example/).
func showableURI(raw string) (*url.URL, error) {
	if !httpx.PrintableASCII(raw) || strings.Contains(raw, " ") {
		return nil, errors.New("not printable ASCII without spaces")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil {
		return nil, errors.New("not an http(s) URL naming its host alone")
	}
	return u, nil
}

// endpointHost is the host of endpoint, a URL New or Endpoints checked.
func endpointHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// maxVerificationURI is the longest verification URI shown, in bytes
// (printable ASCII, one a character): RFC 8628's is short, made to be
// typed, and a longer one printed whole filled the terminal, pushing the
// user code off the screen.
const maxVerificationURI = 2048

// maxUserCode is the longest user code shown; RFC 8628's are a few
// characters, made to be typed.
const maxUserCode = 64

// showableCode reports whether a user code can be printed and shown as it
// is: printable characters only (no escape sequences, carriage returns or
// bidi overrides), and short.
func showableCode(code string) bool {
	if utf8.RuneCountInString(code) > maxUserCode {
		return false
	}
	for _, r := range code {
		if !unicode.IsGraphic(r) {
			return false
		}
	}
	return true
}

// afterLost is msg, the provider's refusal of the device code, saying
// that an earlier poll got no whole answer (lost, "" if none): the
// provider may have issued the tokens in it and spent the code.
func (d *DeviceLogin) afterLost(msg, lost string) string {
	if lost == "" {
		return msg
	}
	return msg + fmt.Sprintf("; an earlier poll reached the token endpoint and got no whole answer (%s): the provider may have issued the tokens in it, lost with the answer, and spent the device code then", lost)
}

func (d *DeviceLogin) refused(msg string) error {
	return &Error{Env: d.src.set.Env, Kind: ErrLoginRefused, Msg: msg}
}
