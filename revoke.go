package freshtoken

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
)

// Revoke asks the provider to end the grant (RFC 7009): the refresh token,
// then the access token, at Settings.RevocationURL. It stores nothing and
// forgets nothing; RevokeAndLogoutOf forgets them too, unless the
// revocation's outcome keeps them (see RevokeAndLogoutOf). A revocation endpoint that is plain http to another
// machine is sent nothing (ErrClearText): the tokens would cross the
// network readable. It does
// nothing when no revocation endpoint is known, or when no tokens of this
// environment's grant are stored. It holds the renewal lock from reading
// the tokens until the provider has answered, so that no renewal replaces
// them meanwhile with tokens it was not asked to revoke; tokens a renewal
// brought that the store refused, kept to be saved later, are revoked in
// place of those they replace. An endpoint that cannot answer now (a 5xx,
// a 429), or whose answer is lost or breaks off, is tried again,
// Settings.RetryBackoff apart or as long as its Retry-After asks, up to 10
// seconds (not one whose certificate this machine does not trust, nor a
// host name with no address: no try changes those); the whole revocation, both tokens and every try, ends within
// Settings.Timeout, as a person waits on it with the renewal lock held.
// Given up as ctx ends once the provider has revoked the refresh token,
// the error wraps ErrGrantRevoked too. Once the refresh token is revoked
// the grant has ended: the access token's refusal then
// (unsupported_token_type, or a refusal of its own), or its failure (a
// 5xx at every try, no time left), is no failure, and the access token
// lasts until it expires.
func (s *Source) Revoke(ctx context.Context) error {
	_, err := s.RevokeGrant(ctx)
	return err
}

// RevokeGrant is Revoke, and says when the provider revoked nothing as it
// no longer knew the tokens: unknown is its error code (invalid_token)
// when the refresh token (or, with none, the access token) was answered
// so, a 400 or 404 with an OAuth error about the token itself (revoked or
// expired already; RFC 7009 would answer 200), and no other token was
// revoked; never the description, which may quote the token. Nothing is
// left to revoke then, but nothing was revoked either: a log-out that says
// so tells the truth whoever answered, and names the endpoint that did. A
// revocation_url that is the token endpoint (a slip of copy and paste) is
// sent nothing: whatever it answers says nothing of the grant
// (ErrClientRejected, the configuration's to fix).
func (s *Source) RevokeGrant(ctx context.Context) (unknown string, err error) {
	return s.revokeGrantOf(ctx, nil, nil, nil)
}

// RevokeAndLogoutOf ends the grant of the log-in whose tokens loggedIn
// holds (Record's answer, as LogoutOf is given it), renewed since or not,
// and forgets its tokens, under one hold of the renewal lock: let go in
// between, a renewer waiting for it (a proxy's or a service's keeper) took
// it and sent the refresh token just revoked, and the provider's
// invalid_grant was stored, and told, as a grant ended for an environment
// logged out of on purpose. It revokes as RevokeGrant does (unknown and
// revokeErr are its answers), but only that log-in's tokens: when the
// store holds a later log-in's by the time the lock is taken (one stored
// while a client_secret_cmd asked a passphrase, say), nothing is sent and
// they are kept, revokeErr wrapping store.ErrChanged. Revoking them would
// end a grant no one asked to end; revoking the tokens loggedIn holds,
// which that log-in may have replaced by renewing, could end it too where
// the provider ends every grant of the client and user with one.
//
// Every other revocation failure keeps the tokens (kept is true), for the
// log-out to be tried again: forgotten, nothing but the provider's own
// pages could end the grant. All but one: a revocation given up as ctx
// ended once the provider had revoked the refresh token (revokeErr
// wrapping ErrGrantRevoked), whose grant has ended; its tokens are
// forgotten.
// Tokens not kept are forgotten as LogoutOf forgets them, even once ctx
// has ended (the revocation's outcome, known by then, decided it); err is
// that log-out's, nil when the tokens were kept.
func (s *Source) RevokeAndLogoutOf(ctx context.Context, loggedIn *store.Record) (unknown string, kept bool, revokeErr, err error) {
	return s.RevokeAndLogoutOfUnder(ctx, loggedIn, nil)
}

// RevokeAndLogoutOfUnder is RevokeAndLogoutOf with held (unless nil) run
// once the renewal lock is held, before anything is sent or deleted: a
// program that must find something of its own unchanged under that hold
// (its configuration still naming this store) checks it there. An error
// from held stops the log-out: nothing is sent or deleted, the tokens are
// kept (kept is true), and revokeErr is that error.
func (s *Source) RevokeAndLogoutOfUnder(ctx context.Context, loggedIn *store.Record, held func() error) (unknown string, kept bool, revokeErr, err error) {
	if s.unmade() {
		return "", false, nil, errNotMade
	}
	locked := false  // the revocation took the lock, and forgot the tokens under it unless kept
	refused := false // held refused: the tokens are kept, whatever its error wraps
	if h := held; h != nil {
		held = func() error {
			err := h()
			refused = err != nil
			return err
		}
	}
	unknown, revokeErr = s.revokeGrantOf(ctx, loggedIn, held, func(revokeErr error) {
		locked = true
		if !refused && !revocationKeeps(revokeErr) {
			err = s.forget(context.WithoutCancel(ctx), loggedIn)
		}
	})
	kept = refused || revocationKeeps(revokeErr)
	if !locked && !kept { // nothing was sent: revokeErr is nil
		err = s.LogoutOfUnder(ctx, loggedIn, func(logout func() error) error {
			if held != nil {
				if revokeErr = held(); revokeErr != nil {
					kept = true
					return nil
				}
			}
			return logout()
		})
	}
	return unknown, kept, revokeErr, err
}

// revocationKeeps reports whether a log-out keeps the tokens for err, the
// outcome of their revocation: every failure keeps them but a later
// log-in's tokens found in their place (store.ErrChanged), which the
// log-out keeps itself, and a revocation given up once the provider had
// revoked the refresh token (ErrGrantRevoked): the grant has ended.
func revocationKeeps(err error) bool {
	return err != nil && !errors.Is(err, store.ErrChanged) && !errors.Is(err, ErrGrantRevoked)
}

// revokeGrantOf is RevokeGrant of the log-in whose tokens loggedIn holds
// (any, when nil; see RevokeAndLogoutOf), calling held (unless nil) once
// it holds the renewal lock, its error stopping the revocation there, and
// locked (unless nil) with its error once done, before it lets go of the
// renewal lock, when it took it.
func (s *Source) revokeGrantOf(ctx context.Context, loggedIn *store.Record, held func() error, locked func(err error)) (unknown string, err error) {
	if s.unmade() {
		return "", errNotMade
	}
	if !s.CanRevoke() {
		return "", nil
	}
	if r, err := s.load(ctx); err != nil || r == nil {
		return "", err
	}
	eps, err := s.Endpoints(ctx)
	if err != nil {
		return "", err
	}
	if !s.CanRevoke() { // discovery found none
		return "", nil
	}
	if u, err := url.Parse(eps.RevocationURL); err == nil && sameEndpoint(u, eps.TokenURL) {
		return "", &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: fmt.Sprintf("the revocation endpoint %s is the token endpoint, not a revocation endpoint, so nothing was sent and nothing revoked; check revocation_url",
			redact.URL(s.set.RevocationURL))}
	}
	if u, err := url.Parse(s.set.RevocationURL); err == nil && strings.EqualFold(u.Scheme, "http") && !httpx.IsLoopback(u.Hostname()) {
		return "", &Error{Env: s.set.Env, Kind: ErrClearText, Msg: fmt.Sprintf("the revocation endpoint %s is plain http to another machine, where anyone on the way could read the tokens it would be sent; nothing was sent, and the tokens are kept: use the provider's https address",
			redact.OneLine(u.Scheme+"://"+u.Host+u.Path, 200))}
	}
	secret, err := s.clientSecret(ctx)
	if err != nil {
		return "", err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	if locked != nil {
		// Run before unlock, deferred earlier, with the error returned.
		defer func() { locked(err) }()
	}
	if held != nil {
		if err := held(); err != nil {
			return "", err
		}
	}
	r, err := s.load(ctx)
	if err != nil || r == nil {
		return "", err
	}
	if loggedIn != nil && !r.LoggedInAt.Equal(loggedIn.LoggedInAt) {
		return "", laterLogIn(s.Location(), "nothing was revoked")
	}
	if u := s.unsavedNow(); u != nil && u.spent == r.RefreshToken {
		// A renewal's answer the store refused, kept to be saved later,
		// rotated r's refresh token: its own is the grant's live one, and
		// a log-out forgets it (see LogoutOf).
		r = u.rec
	}
	grantEnded := false // the refresh token was revoked, or no longer known: its answer read
	deadline := time.Now().Add(s.set.Timeout)
	for _, t := range []struct{ token, hint string }{{r.RefreshToken, "refresh_token"}, {r.AccessToken, "access_token"}} {
		if t.token == "" {
			continue
		}
		err := s.revokeRetried(ctx, deadline, secret, t.token, t.hint)
		var gone *tokenUnknown
		switch {
		case errors.As(err, &gone):
			if !grantEnded { // the first token sent: the grant's
				unknown = gone.answer
			}
			grantEnded = true
			continue
		case err != nil:
			what := strings.ReplaceAll(t.hint, "_", " ")
			if ctx.Err() != nil {
				if grantEnded {
					did := "revoked the refresh token"
					if unknown != "" {
						did = "no longer knew the refresh token (" + unknown + ")"
					}
					return "", fmt.Errorf("%s: the provider %s, ending the grant (%w); the revocation of the %s was %w: %w", s.set.Env, did, ErrGrantRevoked, what, tokenerr.ErrGivenUp, ctx.Err())
				}
				return "", fmt.Errorf("%s: the revocation of the %s was %w: %w", s.set.Env, what, tokenerr.ErrGivenUp, ctx.Err())
			}
			if grantEnded {
				// The endpoint is there and took this client for the
				// refresh token, whose revocation (or the answer that it
				// was no longer known) ended the grant; whatever becomes
				// of the access token's now, a refusal (a 404 of its own
				// for a token invalidated with the grant) or a failure (a
				// 5xx at every try, the time-out spent on the refresh
				// token), is no failure of the log-out: taken for the
				// configuration's, logout kept the ended grant's tokens at
				// every try; taken for the provider's, it said the grant
				// may still be valid.
				s.log.Debug("the grant has ended; the access token could not be revoked, and lasts until it expires", "url", redact.URL(s.set.RevocationURL), "answer", httpx.UnwrapURLError(err).Error())
				return unknown, nil
			}
			// An *Error, whose message masks a key in the endpoint's query,
			// and whose Kind says whose the failure is.
			couldNot := fmt.Sprintf("the provider's revocation endpoint %s could not revoke the %s (%v)", redact.URL(s.set.RevocationURL), what, httpx.UnwrapURLError(err))
			var refused *revocationRefused
			if !errors.As(err, &refused) {
				if noSuchHost(err) {
					// A name no server knows: a mistyped revocation_url as
					// often as not, and no try changes it.
					couldNot += "; " + s.revocationURLToCheck()
				}
				return "", &Error{Env: s.set.Env, Kind: ErrUnreachable, Err: err, Msg: couldNot}
			}
			switch {
			case refused.notThere:
				return "", &Error{Env: s.set.Env, Kind: refused.kind, Msg: fmt.Sprintf("no revocation endpoint answers at %s (%v), so the %s was not revoked; %s", redact.URL(s.set.RevocationURL), err, what, s.revocationURLToCheck())}
			}
			if refused.own {
				return "", &Error{Env: s.set.Env, Kind: refused.kind, Err: tokenerr.ErrOwnRevocationRefusal, Msg: fmt.Sprintf("the provider's revocation endpoint %s refused to revoke the %s with an error of its own, which only its words explain (%v); check what they name", redact.URL(s.set.RevocationURL), what, err)}
			}
			if refused.invalidRequest && errors.Is(refused.kind, ErrClientRejected) {
				couldNot += "; check revocation_url"
			}
			return "", &Error{Env: s.set.Env, Kind: refused.kind, Msg: couldNot}
		}
		s.log.Debug("token revoked", "url", redact.URL(s.set.RevocationURL), "token_type_hint", t.hint)
		grantEnded = t.hint == "refresh_token"
		unknown = "" // something was revoked
	}
	return unknown, nil
}

// revocationURLToCheck is what to do of a revocation endpoint where none
// answers, or whose host name has no address: the setting to check when a person wrote it; where the
// provider's documentation (a preset) or discovery document put it, what
// overrides it.
func (s *Source) revocationURLToCheck() string {
	switch {
	case s.set.RevocationURLFromProvider:
		return "set revocation_url to where the provider's revocation endpoint is now (this one is where its documentation put it)"
	case s.revocationFound:
		return "set revocation_url to where the provider's revocation endpoint is (this one is where its discovery document puts it)"
	}
	return "check revocation_url"
}

// maxRevocationWait is the longest a revocation waits, between tries, for
// an endpoint that cannot answer now: a log-out is a person waiting.
const maxRevocationWait = 10 * time.Second

// revokeRetried is revoke, tried again while the endpoint answers that it
// cannot now (a 5xx, a 429) or its answer is lost (the connection closed
// before it ended), up to Settings.RetryBackoff's tries: revoking a token
// again is harmless (RFC 7009 2.2), and given up, a log-out keeps tokens
// the person wants ended. It waits as RetryBackoff says, or as long as the
// answer's Retry-After asks when that is longer, up to maxRevocationWait,
// and never past deadline, the end of the whole revocation: an endpoint
// asking for longer is given up at once. Each try ends at deadline too,
// so a slow endpoint failing slowly holds a person, and the renewal lock,
// no longer than Settings.Timeout in all.
func (s *Source) revokeRetried(ctx context.Context, deadline time.Time, secret, token, hint string) error {
	for attempt := 0; ; attempt++ {
		err := s.revoke(ctx, deadline, secret, token, hint)
		var refused *revocationRefused
		isRefused := errors.As(err, &refused)
		if err == nil || ctx.Err() != nil || isRefused && !refused.passing || !isRefused && !revocationLost(err) {
			return err
		}
		wait := time.Duration(0)
		if isRefused {
			wait = refused.wait
		}
		if attempt < len(s.set.RetryBackoff) {
			wait = max(s.set.RetryBackoff[attempt], wait)
		}
		late := !time.Now().Add(wait).Before(deadline)
		if attempt >= len(s.set.RetryBackoff) || wait > maxRevocationWait || late {
			said := ""
			if attempt > 0 {
				said = fmt.Sprintf(", at each of %d tries", attempt+1)
			}
			if late && wait <= maxRevocationWait && attempt < len(s.set.RetryBackoff) {
				said += fmt.Sprintf(", until the %s a revocation is given (timeout) ran out", s.set.Timeout)
			}
			if !isRefused {
				return fmt.Errorf("%w%s", err, said)
			}
			refused.answer += said
			return err
		}
		answer := err.Error()
		if isRefused && refused.wait > 0 {
			s.log.Warn("the revocation endpoint cannot answer now; trying again as it asks", "url", redact.URL(s.set.RevocationURL), "answer", answer, "wait", wait)
		} else {
			s.log.Debug("retrying the revocation", "url", redact.URL(s.set.RevocationURL), "answer", answer, "after", wait)
		}
		if s.pause(ctx, wait) != nil {
			return err // ctx ended: told by the caller
		}
	}
}

// revocationLost reports whether err, a revocation request's failure
// other than a refusal, lost the answer on the way (a connection refused,
// reset or closed before the status came), which the next try may get
// whole: not a time-out, which spent the time the revocation had, nor an
// answer too large, which the endpoint gives again, nor a certificate
// this machine does not trust or a host name with no address, which stay
// so until a person acts.
func revocationLost(err error) bool {
	var (
		late *tokenerr.TimeoutError
		gone *tokenUnknown
		cert *tls.CertificateVerificationError // what an httpx.CertificateError wraps
	)
	return !errors.As(err, &late) && !errors.As(err, &gone) && !errors.Is(err, tokenerr.ErrAnswerTooLarge) &&
		!errors.As(err, &cert) && !noSuchHost(err)
}

// noSuchHost reports whether err is a request whose host name has no
// address: the name servers answered that none exists, as for a mistyped
// name, not that they could not be asked.
func noSuchHost(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

// revoke sends one RFC 7009 request, under work, bounded by the
// environment's timeout and by deadline. An answer whose connection was
// lost, or that did not end by then, after its status came is one the
// endpoint may give whole at the next try: its status says nothing
// certain of what was revoked.
func (s *Source) revoke(work context.Context, deadline time.Time, secret, token, hint string) error {
	within := min(s.set.Timeout, time.Until(deadline))
	if within <= 0 {
		return tokenerr.NewTimeoutError(s.set.Timeout, context.DeadlineExceeded)
	}
	ctx, cancel := context.WithTimeout(work, within)
	defer cancel()
	resp, err := s.postForm(ctx, s.set.RevocationURL, secret, url.Values{"token": {token}, "token_type_hint": {hint}})
	var redirect *tokenerr.RedirectError
	if errors.As(err, &redirect) { // no endpoint answers so: a mistyped path, a double slash a router cleans
		return &revocationRefused{answer: redirect.Error(), kind: ErrClientRejected, notThere: true}
	}
	// An endpoint silent past the timeout (the client's, or ctx's) is told
	// as such, not as Go's "context deadline exceeded" or "Client.Timeout
	// exceeded while awaiting headers"; work's own end is told as it was.
	// The time-out told is the whole revocation's, which it ends.
	if err != nil {
		return tokenerr.TimedOut(work, s.set.Timeout, err)
	}
	defer httpx.Drain(resp)
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		var late *tokenerr.TimeoutError
		switch err = tokenerr.TimedOut(work, s.set.Timeout, err); {
		case work.Err() != nil:
			return work.Err()
		case errors.As(err, &late):
			late.Begun = true
			return late
		}
		return &revocationRefused{answer: "HTTP " + redact.OneLine(resp.Status, 80) + ", whose answer broke off (" + httpx.UnwrapURLError(err).Error() + ")", kind: ErrUnreachable, passing: true}
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		// RFC 7009 answers 200 (HTTP any 2xx: a 204 No Content) and has
		// the body ignored, and providers send none or {}; a web page is a
		// sign-in page or a single-page app answering a mistyped path,
		// where nothing was revoked.
		if webPage(resp.Header.Get("Content-Type"), body) {
			return &revocationRefused{answer: "HTTP " + redact.OneLine(resp.Status, 80) + ", a web page rather than an OAuth answer", kind: ErrClientRejected, notThere: true}
		}
		return nil
	}
	re := tokenerr.Retrieved(resp, body)
	if hint == "access_token" && re.ErrorCode == "unsupported_token_type" {
		// RFC 7009 2.2.1: the provider does not revoke access tokens.
		// The refresh token, revoked first, ended the grant; the access
		// token lasts until it expires.
		s.log.Debug("the provider does not revoke access tokens; the access token lasts until it expires", "url", redact.URL(s.set.RevocationURL))
		return nil
	}
	if st := resp.StatusCode; (st == http.StatusBadRequest || st == http.StatusNotFound) && slices.Contains(unknownToken, re.ErrorCode) {
		// An OAuth answer about the token itself: the endpoint is there,
		// and the token is no longer valid at the provider (revoked or
		// expired already), which RFC 7009 2.2 answers with a 200. Nothing
		// is left to revoke; taken for a missing endpoint, logout kept
		// the dead tokens at every try until --local.
		gone := &tokenUnknown{answer: re.ErrorCode} // one of unknownToken: the description may quote the token
		s.log.Debug("the provider no longer knows the token (revoked or expired already); nothing is left to revoke", "url", redact.URL(s.set.RevocationURL), "token_type_hint", hint, "answer", gone.answer)
		return gone
	}
	// A 404 or 405 web page is no endpoint there too (a web server's own
	// page for a mistyped path), as a 200 one is: taken for a gateway's
	// passing fault, logout forgot the tokens, and with them the means to
	// end the grant once revocation_url was corrected.
	missing := (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) && re.ErrorCode == "" && webPage(resp.Header.Get("Content-Type"), body)
	refused := &revocationRefused{answer: "HTTP " + redact.OneLine(resp.Status, 80), kind: ErrUnreachable, notThere: tokenerr.NotThere(re) || missing, invalidRequest: re.ErrorCode == "invalid_request"}
	if re.ErrorCode != "" {
		refused.answer += ", " + tokenerr.Answer(re.ErrorCode, "") // not the description, which may quote the token
	}
	class, _, _ := tokenerr.Classify(re)
	// Not a 4xx web page, which Classify takes for a gateway's: it is a
	// mistyped path's as often, and no try changes it.
	refused.passing = class == tokenerr.RateLimited || class == tokenerr.Passing && (resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || re.ErrorCode != "")
	if refused.passing {
		if wait, known := httpx.RetryAfter(resp.Header, time.Now()); known {
			refused.wait = wait
			refused.answer += ", asking to wait " + httpx.SayWait(wait)
		}
	}
	switch {
	case re.ErrorCode == "unsupported_token_type":
		// RFC 7009's own answer, from a revocation endpoint that takes the
		// client and revokes no refresh tokens: nothing in the
		// configuration fixes that, and the tokens are not kept for it.
	case refused.invalidRequest && (s.revocationFound || s.set.RevocationURLFromProvider):
		// A request the provider's own endpoint, as its discovery document
		// or its documentation (a preset) names it, finds malformed, from
		// a client its token endpoint takes: nothing in the configuration
		// fixes that, and the tokens are not kept for it (a log-out kept
		// them at every try, telling to check a revocation_url no one
		// wrote).
	case refused.invalidRequest:
		// What an endpoint of another kind (introspection, user info)
		// answers a revocation: revocation_url is the one to check, not
		// the client's credentials, which the provider did not refuse.
		refused.kind = ErrClientRejected
	case refused.notThere:
		refused.kind = ErrClientRejected
	case class == tokenerr.BadClient && tokenerr.RefusalOf(re) != tokenerr.RefusedClient:
		// An error of the provider's own (account_locked), or one of a
		// token request's (invalid_scope, invalid_target: a revocation
		// sends neither): only its words explain it, told as a renewal
		// tells them, with any token sent in them masked (tokenerr.Answer
		// masks the tokens the source registered as it read or stored
		// them, the only ones it sends). Told as a rejected client,
		// logout sent a person to check client_id and the client secret,
		// and left out the words that said what to do.
		refused.kind = ErrClientRejected
		refused.own = true
		refused.answer = "HTTP " + redact.OneLine(resp.Status, 80) + ", " + tokenerr.Answer(re.ErrorCode, re.ErrorDescription)
	case class == tokenerr.BadClient:
		refused.kind = ErrClientRejected
	}
	return refused
}

// unknownToken are the error codes by which a revocation endpoint says the
// token it was sent is not (or no longer) valid: RFC 6750's invalid_token,
// RFC 6749's invalid_grant, and the names providers give them.
var unknownToken = []string{"invalid_token", "invalid_grant", "token_not_found", "token_revoked", "token_expired", "expired_token", "invalid_refresh_token"}

// tokenUnknown is a revocation endpoint's answer that it no longer knows
// the token it was sent (one of unknownToken): nothing left to revoke.
type tokenUnknown struct{ answer string }

func (e *tokenUnknown) Error() string {
	return "the provider no longer knows the token (" + e.answer + ")"
}

// webPage reports whether an answer is a web page: HTML markup, by its
// first tag or by its label.
func webPage(contentType string, body []byte) bool {
	b := strings.ToLower(strings.TrimSpace(string(body)))
	html := strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "text/html")
	return strings.HasPrefix(b, "<!doctype html") || strings.HasPrefix(b, "<html") || html && strings.HasPrefix(b, "<")
}

// revocationRefused is a revocation endpoint's refusal: of the client
// (ErrClientRejected, the configuration's to fix) or for another reason
// (ErrUnreachable). notThere is the answer of a URL where no endpoint is
// (tokenerr.NotThere; a redirect too), a mistyped revocation_url, the
// configuration's too.
type revocationRefused struct {
	answer   string // "HTTP 404 Not Found", or a redirect's (tokenerr.RedirectError)
	kind     error
	notThere bool
	// own: refused with an error of the provider's own, whose words
	// (answer) alone explain it (tokenerr.ErrOwnRefusal).
	own bool
	// invalidRequest: the request was refused as malformed, not the
	// client; of a configured revocation_url, the setting to check.
	invalidRequest bool
	// passing: the endpoint cannot answer now (a 5xx, a 429), and may
	// later; wait is how long its Retry-After asks, 0 when it says not.
	passing bool
	wait    time.Duration
}

func (e *revocationRefused) Error() string { return e.answer }
func (e *revocationRefused) Unwrap() error { return e.kind }

// postForm posts form to endpoint through s.http (the TokenClient, which
// adds a client assertion where one is due), authenticating the client as
// the token endpoint does.
func (s *Source) postForm(ctx context.Context, endpoint, secret string, form url.Values) (*http.Response, error) {
	if s.set.AuthStyle == oauth2.AuthStyleInParams {
		form.Set("client_id", s.set.ClientID)
		if secret != "" { // none and private_key_jwt send none (TokenClient adds the assertion)
			form.Set("client_secret", secret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.set.AuthStyle == oauth2.AuthStyleInHeader {
		req.SetBasicAuth(url.QueryEscape(s.set.ClientID), url.QueryEscape(secret))
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, httpx.UnwrapURLError(err)
	}
	return resp, nil
}

// CanRevoke reports whether the provider has a revocation endpoint, or may
// have one that discovery has not looked for yet.
func (s *Source) CanRevoke() bool {
	if s.unmade() {
		return false
	}
	s.endpointsMu <- struct{}{}
	defer func() { <-s.endpointsMu }()
	return s.set.RevocationURL != "" || !s.discovered && s.set.Discover != nil
}
