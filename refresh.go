package freshtoken

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/resting"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
)

// renewal asks the token endpoint for the tokens that replace r, in the way
// the environment's grant renews: by spending r's refresh token, or for
// client credentials by presenting the client's credentials again. r is
// nil when client credentials have never been used. The request goes
// through s.http with the environment's oauth2 configuration, so whatever
// decorates token requests there applies to every grant.
type renewal struct {
	grantType string
	send      func(ctx context.Context, r *store.Record) (*oauth2.Token, error)
}

// Only the wait for what the request needs (the endpoints, the client
// secret) ends with ctx: nothing is sent yet.
func (s *Source) renewal(ctx context.Context) (renewal, error) {
	conf, err := s.OAuth2Config(ctx, "")
	if err != nil {
		return renewal{}, err
	}
	if s.set.Grant == GrantClientCredentials {
		cc := clientCredentials(conf, nil)
		return renewal{GrantClientCredentials, func(ctx context.Context, _ *store.Record) (*oauth2.Token, error) {
			return cc.Token(ctx)
		}}, nil
	}
	return renewal{"refresh_token", func(ctx context.Context, r *store.Record) (*oauth2.Token, error) {
		return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: r.RefreshToken}).Token()
	}}, nil
}

// clientCredentials is a token request that authenticates the client as
// conf does, with params added to the form: the client_credentials grant,
// or with params naming another grant_type, any request whose answer is
// tokens (the device grant's polls).
func clientCredentials(conf *oauth2.Config, params url.Values) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID: conf.ClientID, ClientSecret: conf.ClientSecret, TokenURL: conf.Endpoint.TokenURL,
		Scopes: conf.Scopes, AuthStyle: conf.Endpoint.AuthStyle, EndpointParams: params,
	}
}

// refresh replaces r's tokens as the grant renews (see renewal). The caller
// holds the store's lock. The requests and the store write use work, which
// no caller can cancel; ctx only ends the waits between tries, and the
// check of the lock before each, when no request is in flight. The new
// record is saved before it is returned; on failure nothing is written. Before every retry and before reporting
// invalid_grant it re-reads the store, in case a renewer that ignores the
// lock replaced the tokens. A caller that takes r's access token while it
// is valid (servesValid: Token, the proxy) is not held up by a 429's wait
// when that token still serves.
func (s *Source) refresh(ctx, work context.Context, r *store.Record, reason string, servesValid bool) (*store.Record, error) {
	req, err := s.renewal(ctx)
	if err != nil {
		return nil, err
	}
	backoff := s.set.RetryBackoff
	first, err := s.resumeTries(ctx, r)
	if err != nil {
		return nil, err
	}
	// lost is what became of an earlier try that the token endpoint got
	// and never answered (see answerLostError), "" if none.
	lost := ""
	for attempt := first; ; attempt++ {
		if err := s.stillLocked(ctx, r); err != nil { // nothing is sent yet: the caller may still give up
			return nil, err
		}
		// ctx is looked at once more after Options.Sending is told: a
		// program that ends ctx and then waits for the requests told (the
		// command line, as it exits) either waits for this one, or is sure
		// it is never sent.
		told := s.sending(s.inFlight())
		if err := ctx.Err(); err != nil {
			s.whenUnlocked(told)
			return nil, fmt.Errorf("%s: %w", s.set.Env, err)
		}
		sentAt, sentOn := s.now(), s.timers()
		s.log.Debug("refresh request", "url", redact.URL(s.set.TokenURL), "grant_type", req.grantType,
			"client_auth", string(s.set.ClientAuth), "refresh_token", redact.Secret(refreshToken(r)), "attempt", attempt+1)
		start := time.Now()
		n, err := s.exchange(work, told, req, r, sentAt, reason)
		if err == nil {
			if n.IssuedAt.Equal(sentAt) {
				s.sawFirst(n, sentOn)
			}
			s.restAfter(0, nil)
			// Stored already: only now is anything about the answer logged,
			// as a log line that cannot be written may end the process.
			at, known := s.expiry(n)
			s.log.Debug("refresh answered and stored", "duration", time.Since(start).Round(time.Microsecond),
				"access_token", redact.Secret(n.AccessToken), "lifetime_known", known,
				"refresh_token_rotated", n.RefreshToken != refreshToken(r), "expires", at.Format(logTime))
			s.log.Info("token renewed", "for", reason, "expires", at.Format(logTime), "renewals", n.Renewals)
			return n, nil
		}
		var unsaved *unsavedError
		switch {
		case errors.Is(err, errLockLost):
			return nil, err
		case errors.As(err, &unsaved):
			// Each caller asking again would be a token request whose
			// answer the store refuses again.
			return nil, s.restAfter(failedRest, s.unsavedFailure(unsaved.err))
		}
		kind, wait, desc := tokenerr.Classify(err)
		s.log.Debug("refresh failed", "duration", time.Since(start).Round(time.Microsecond), "error", desc)
		if why := answerLost(err); why != "" {
			lost = why
		}
		switch {
		case errors.Is(err, ErrUnusableToken):
			r = n // what the failures after it say is stored
			// The answer's new refresh token is stored: the next try spends
			// it, as soon as renewals may come (once a second). A provider
			// that always answers so is one that keeps failing.
			if attempt >= len(backoff) {
				return nil, s.restAfter(failedRest, err)
			}
			wait = minRenewalGap
		case kind == tokenerr.BadClient && tokenerr.NotThere(err):
			// Noted as a rejected client is: status tells of it, and the
			// keeper asks again 5 minutes on (hourly after an hour of
			// refusals), until the configuration is fixed.
			msg := s.notThere(s.set.TokenURL, desc)
			s.note(work, r, r, store.ProblemClientRejected, msg)
			return nil, s.restAfter(failedRest, &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: msg})
		case kind == tokenerr.BadClient:
			// A refusal is answered alike to every call until a person acts:
			// renewals rest, or each of a proxy's requests would send one.
			s.forgetClientCredentials()
			msg := s.refused(err, desc, "renewal")
			if tokenerr.RefusalOf(err) == tokenerr.RefusedUnknown {
				// The step is logging in again when they name the log-in: a
				// logInAgainError, whose command the command line names.
				refusal := &Error{Env: s.set.Env, Kind: ErrClientRejected, Err: tokenerr.ErrOwnRefusal, Msg: msg + ", or "}
				e := logInAgain(refusal, tokenerr.LogInIfNamed)
				s.note(work, r, r, store.ProblemRefused, refusal.Msg) // the words status and the keeper take the steps from (failure.Steps)
				return nil, s.restAfter(failedRest, e)
			}
			s.note(work, r, r, store.ProblemClientRejected, msg)
			return nil, s.restAfter(failedRest, &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: msg})
		case kind == tokenerr.BadGrant:
			if s.set.Grant == GrantClientCredentials {
				// No refresh token was spent: the provider refuses the
				// client's credentials grant, which only configuration fixes.
				s.forgetClientCredentials()
				msg := fmt.Sprintf("the token endpoint %s refused the client credentials grant (%s)", redact.URL(s.set.TokenURL), desc)
				s.note(work, r, r, store.ProblemClientRejected, msg)
				return nil, &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: msg}
			}
			latest, lerr := s.load(work)
			if lerr == nil && latest.RefreshToken != r.RefreshToken {
				if grantEnded(latest) && reason != store.RenewedOnRequest {
					// Another renewer's, since refused too: its tokens are
					// served to no one, and its refresh token is spent only
					// by a forced renewal (see grantEnded).
					s.cur.Store(latest)
					return nil, s.endedError(latest)
				}
				s.log.Debug("the store has a newer refresh token; retrying with it")
				if latest.AccessToken != r.AccessToken && !grantEnded(latest) && s.fresh(latest, "store after invalid_grant") {
					s.remember(latest)
					return latest, nil
				}
				r = latest
				continue
			}
			msg := fmt.Sprintf("the provider refused the refresh token (%s), so the grant has ended", desc)
			if lost != "" {
				// Not the provider's doing alone: a strict one takes a
				// refresh token sent again after it rotated it for a theft.
				msg += fmt.Sprintf("; an earlier try of this renewal reached the token endpoint and got no whole answer (%s): the provider may have renewed then, its new refresh token lost with the answer, and taken the try after it for a reuse of the old one", lost)
			}
			read := r
			if lerr == nil {
				read = latest
			}
			noted, nerr := s.note(work, read, read, store.ProblemGrantEnded, msg)
			if errors.Is(nerr, store.ErrChanged) {
				// Other tokens were stored since latest was read (a log-in,
				// or a renewer that took the lock while this one was
				// paused past it): they are kept, and served if they can be.
				if again, aerr := s.load(work); aerr == nil && again.RefreshToken != r.RefreshToken && !grantEnded(again) && s.fresh(again, "store after invalid_grant") {
					s.log.Debug("the store holds other tokens, stored since the refresh token was refused; using them")
					s.remember(again)
					return again, nil
				}
			}
			// Noted in memory too, whether or not the store took it: the
			// token r holds, which a 401 may have brought here, is not
			// served again (see grantEnded); the next call reads the store.
			s.cur.Store(noted)
			return nil, s.loginError(msg)
		case kind == tokenerr.RateLimited:
			if !s.waitsOut(wait) || attempt >= len(backoff) {
				rest := max(wait, failedRest)
				msg := fmt.Sprintf("the token endpoint is rate limiting renewals and asks to wait %s; %s", httpx.SayWait(wait), tokenerr.KeptThen(r, lost, "", askedAgain(wait, resting.Max, s.now())))
				if s.waitsOut(wait) {
					// Its waits were waited out: what is left is the rest,
					// whatever the last one asked (a date past, 0s).
					msg = fmt.Sprintf("the token endpoint kept rate limiting renewals after %d tries; %s", attempt+1, tokenerr.KeptThen(r, lost, "", "try again at "+resting.Ends(s.now().Add(min(rest, resting.Max)))))
				}
				return nil, s.restShared(work, r, rest, &Error{Env: s.set.Env, Kind: ErrUnreachable, Err: ErrRateLimited, Msg: msg})
			}
			if servesValid && s.stillServes(r) {
				// Due early (refresh_before), the token still serves: its
				// callers (every request a proxy holds) get it rather than
				// wait, and renewals rest as long as the provider asked.
				// The error is the rest's, told to callers once it has
				// expired.
				msg := fmt.Sprintf("the token endpoint is rate limiting renewals and asks to wait %s; %s", httpx.SayWait(wait), tokenerr.KeptThen(r, lost, "", "try again then"))
				return nil, s.restShared(work, r, wait, &Error{Env: s.set.Env, Kind: ErrUnreachable, Err: ErrRateLimited, Msg: msg})
			}
			s.log.Warn("the token endpoint is rate limiting renewals; waiting as it asks", "wait", wait)
		case kind == tokenerr.Passing:
			if wait > failedRest {
				// The endpoint asks for longer than the tries and the rest
				// after them would wait (a 503's Retry-After for
				// maintenance): tries until then would fail too, so
				// renewals rest as long as it asks, up to resting.Failing.
				return nil, s.restShared(work, r, min(wait, resting.Failing), &Error{Env: s.set.Env, Kind: ErrUnreachable, Err: lostMark(lost),
					Msg: fmt.Sprintf("the token endpoint %s is failing (%s) and asks to wait %s; %s", redact.URL(s.set.TokenURL), desc, httpx.SayWait(wait), tokenerr.KeptThen(r, lost, desc, askedAgain(wait, resting.Failing, s.now())))})
			}
			if attempt >= len(backoff) {
				return nil, s.restShared(work, r, failedRest, &Error{Env: s.set.Env, Kind: ErrUnreachable, Err: lostMark(lost),
					Msg: fmt.Sprintf("the token endpoint %s kept failing after %d tries (%s)%s; %s", redact.URL(s.set.TokenURL), attempt+1, desc, s.tokenHostToCheck(err), tokenerr.KeptThen(r, lost, desc, "try again later"))})
			}
			wait = backoff[attempt]
		}
		s.log.Debug("retrying refresh", "after", wait)
		next := s.now().Add(wait)
		if perr := s.pause(ctx, wait); perr != nil {
			s.leaveTries(&leftTries{made: attempt + 1, next: next, wait: wait})
			kept := tokenerr.Kept(r)
			if lost != "" {
				kept = tokenerr.KeptThen(r, lost, desc, "try again")
			}
			return nil, fmt.Errorf("%s: renewal abandoned (%w) after: %s; %s", s.set.Env, perr, desc, kept)
		}
		latest, err := s.load(work)
		if err != nil {
			return nil, err
		}
		if latest != nil && (r == nil || latest.AccessToken != r.AccessToken) && s.fresh(latest, "store before retry") {
			s.log.Debug("another renewer stored a new token meanwhile; using it")
			s.remember(latest)
			return latest, nil
		}
		r = latest
	}
}

// askedAgain says when to try again after the token endpoint asked, at
// now, to wait for wait, renewals resting for it, most at the longest: a
// wait past most (a Retry-After of a day, or too large to count) is not
// what to tell a person, as freshtoken asks the endpoint again once most
// is over. It names the time of day, not the time left: the message is
// also the rest's in the store (see restShared), read by status, the
// proxy's page and every renewal until the rest ends, and "asks it again
// in 1h0m0s" read half an hour on beside "resting 30 minutes more" told
// of two ends.
func askedAgain(wait, most time.Duration, now time.Time) string {
	if wait > most {
		return "freshtoken asks it again at " + resting.Ends(now.Add(most)) + ", try again then"
	}
	return "try again then"
}

// waitsOut reports whether the engine waits out a Retry-After of d: one
// up to MaxRetryAfter, unless it is the longest httpx.RetryAfter gives,
// which stands for a wait as long or longer (a year, a number too large
// to count), that a day's wait would not see through.
func (s *Source) waitsOut(d time.Duration) bool {
	return d <= s.set.MaxRetryAfter && d < httpx.LongestRetryAfter
}

// failedRest is how long renewals rest, unless forced, after one gave up
// because the token endpoint kept failing or refused it, or its answer
// could not be stored: without it each of a proxy's clients would send a volley of token
// requests of its own, turning the provider's outage into a refresh storm.
// After a 429 they rest as long as the provider asked, up to resting.Max;
// after a failure whose Retry-After asks for longer than failedRest (a
// 503 for maintenance), up to resting.Failing.
const failedRest = 30 * time.Second

// restAfter holds renewals back for d, at most resting.Max, after one that gave
// up with err: renew answers err meanwhile. A token another process stores
// is still used, and a forced renewal still asks. It returns err; with a
// nil err (a success) it ends the rest.
func (s *Source) restAfter(d time.Duration, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.restErr = nil
		return nil
	}
	s.restLength = min(d, resting.Max)
	s.restUntil, s.restErr = s.now().Add(s.restLength), err
	return err
}

// restShared is restAfter for a renewal of r that gave up because the token
// endpoint kept failing or asked to wait: the rest is also written into
// r's record, so that other processes and machines sharing the store rest
// too (see restingElsewhere). A script that runs freshtoken in a loop
// would otherwise make a volley of token requests at every run. The caller
// holds the lock. err's RetryAt is set to the rest's end.
func (s *Source) restShared(work context.Context, r *store.Record, d time.Duration, err *Error) error {
	err.RetryAt = s.now().Add(min(d, resting.Max))
	if r != nil {
		n := *r
		n.Rest = &store.Rest{Until: err.RetryAt, Message: err.Msg, RateLimited: errors.Is(err, ErrRateLimited)}
		if serr := s.store.Save(work, s.set.Env, &n); serr != nil {
			s.log.Debug("could not record the rest in the store", "error", serr.Error())
		}
	}
	return s.restAfter(d, err)
}

// restingElsewhere is the error of a renewal that another process gave up
// on, while renewals rest after it (r.Rest, see restShared); nil otherwise.
// This process then rests as long. meanwhile: it is a forced renewal's,
// that waited while that renewal was made (see restedSince).
func (s *Source) restingElsewhere(r *store.Record, meanwhile bool) error {
	if r == nil || r.Rest == nil {
		return nil
	}
	left := resting.Left(r, s.now())
	if left <= 0 {
		if r.Rest.Until.After(s.now()) {
			s.log.Debug("the store holds a rest longer than any renewal takes, written by a clock ahead of this one; not following it", "until", r.Rest.Until.Format(logTime))
		}
		return nil
	}
	s.log.Debug("a renewal gave up moments ago, or the tokens were put back, maybe in another process; not asking the token endpoint again yet", "until", r.Rest.Until.Format(logTime))
	unless := "unless forced"
	switch {
	case r.Rest.PutBack:
		unless = "forced or not; try again then"
	case meanwhile:
		unless = "and this forced renewal, which waited while that one was made, shares its outcome: force one again to ask now"
	}
	// Rounded up: a rest with less than half a second left is not told as
	// "another 0s".
	err := &Error{Env: s.set.Env, Kind: ErrUnreachable, RetryAt: r.Rest.Until, Msg: fmt.Sprintf(
		"%s (renewals rest after that, so no token request is sent for another %s, %s)", r.Rest.Message, (left + time.Second - 1).Truncate(time.Second), unless)}
	if r.Rest.RateLimited {
		err.Err = ErrRateLimited
	}
	return s.restAfter(left, err)
}

// resting is the error of the renewal that gave up, while renewals rest
// after it; nil otherwise.
func (s *Source) resting() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heldBack(s.restUntil, s.restLength, s.restErr, "the last renewal gave up moments ago; not asking the token endpoint again yet")
}

// leftTries are the tries of a renewal abandoned during the wait before
// its next (its caller gave up), when that next try was due, and how long
// that wait was.
type leftTries struct {
	made int
	next time.Time
	wait time.Duration
}

// leaveTries leaves l to the next renewal (see resumeTries).
func (s *Source) leaveTries(l *leftTries) {
	s.mu.Lock()
	s.left = l
	s.mu.Unlock()
}

// resumeTries takes up the tries a renewal left when its caller gave up
// (see leaveTries): it waits, or until ctx ends, for what is left of the wait
// before the next try, and returns how many tries were made. Starting the
// tries afresh at once would let callers that give up, such as a proxy's
// clients with short timeouts, ignore a Retry-After and never reach the
// rest after a renewal that gave up: a refresh storm. Tries left longer
// than failedRest ago are forgotten. What is left is never more than the
// wait was: the clock set back since (NTP, the time corrected) held the
// renewal for as long as it was set back.
func (s *Source) resumeTries(ctx context.Context, r *store.Record) (int, error) {
	s.mu.Lock()
	l := s.left
	s.left = nil
	s.mu.Unlock()
	if l == nil || s.now().After(l.next.Add(failedRest)) {
		return 0, nil
	}
	if wait := min(l.next.Sub(s.now()), l.wait); wait > 0 {
		s.log.Debug("waiting what is left of the wait before a renewal's next try, whose caller gave up", "wait", wait, "tries", l.made)
		if err := s.pause(ctx, wait); err != nil {
			s.leaveTries(l)
			return 0, fmt.Errorf("%s: renewal abandoned (%w) while waiting, as the token endpoint asked or kept failing, before asking it again; %s", s.set.Env, err, tokenerr.Kept(r))
		}
	}
	return l.made, nil
}

// exchange sends req's request for r once, bounded by Settings.Timeout, and
// stores the answer before returning it (see keep). While the request is in
// flight or its answer unstored, and until the renewal lock is released,
// Options.Sending knows (told is what it returned, for the request); and
// from the answer, that it is being stored.
//
// An answer that x/oauth2 refuses (no access token, or an empty one) but
// that holds a new refresh token is stored all the same, since the provider
// has rotated out the one sent: sending that again would end the grant at
// a provider that detects reuse. The error then wraps ErrUnusableToken,
// and the record stored is returned with it.
func (s *Source) exchange(work context.Context, told func(), req renewal, r *store.Record, sentAt time.Time, reason string) (*store.Record, error) {
	defer s.whenUnlocked(told)
	sentIn(work)
	answered := s.sayIfSlow("waiting for the token endpoint to answer (it may take up to the timeout)", "url", redact.URL(s.set.TokenURL), "timeout", s.set.Timeout)
	defer answered()
	// The time this process ran (see withRunningTimeout), not the
	// client's Timeout, whose timer a stop outlasts.
	rctx, cancel := withRunningTimeout(work, s.set.Timeout)
	defer cancel()
	ans := &tokenerr.Copy{} // of an answer x/oauth2 refuses, to be read again (see rotatedOnly)
	client := *s.http
	client.Timeout = 0
	traced, wrote := tokenerr.SentWhole(rctx)
	tok, err := req.send(context.WithValue(tokenerr.WithCopy(traced, ans), oauth2.HTTPClient, &client), r)
	err = s.timedOut(work, rctx, err)
	// The answer is in: a wait from here on is the store's (see save),
	// not the token endpoint's.
	answered()
	defer s.sayIfSlow("waiting for the token store to take the new tokens", "store", s.Location())()
	if err != nil {
		n := s.rotatedOnly(ans, r, sentAt, reason)
		if n == nil {
			return nil, lostAnswer(ans.Explain(err), wrote, ans)
		}
		if err := s.keep(work, n, r); err != nil {
			return nil, err
		}
		// As the answer is told: one cut off by the timeout began to come.
		_, _, desc := tokenerr.Classify(ans.Explain(err))
		return n, &Error{Env: s.set.Env, Kind: ErrUnreachable, Err: ErrUnusableToken, Msg: fmt.Sprintf(
			"the provider answered the renewal with a new refresh token but no usable access token (%s); %s", desc, tokenerr.NewRefreshTokenKept)}
	}
	n := s.recordFrom(tok, r, sentAt, reason)
	if err := s.keep(work, n, r); err != nil {
		return nil, err
	}
	if r != nil && r.RefreshToken != "" && !storableRefreshToken(tok.RefreshToken) {
		s.log.Warn("the provider's new refresh token holds bytes that are not UTF-8 text, so it cannot be stored as sent; the refresh token before it is kept, which a provider that rotates refresh tokens may refuse at the next renewal: then log in again")
	}
	s.warnNarrowed(n, r)
	s.answered.Add(1)
	return n, nil
}

// answerLostError is a token request that went out whole and whose answer
// was lost (see tokenerr.Lost): the provider may have acted on it, and
// rotated the refresh token sent. why says how.
type answerLostError struct {
	err error
	why string
}

func (e *answerLostError) Error() string { return e.err.Error() }
func (e *answerLostError) Unwrap() error { return e.err }

// lostAnswer is err, the failure of a token request, as an
// *answerLostError when the request went out whole (wrote) and its answer
// was lost (see tokenerr.Lost).
func lostAnswer(err error, wrote *atomic.Bool, ans *tokenerr.Copy) error {
	if why := tokenerr.Lost(err, wrote.Load(), ans); why != "" {
		return &answerLostError{err, why}
	}
	return err
}

// lostMark is the Err of the error of a renewal that gave up after a try
// lost its answer as lost says (see tokenerr.AnswerLostError); nil when
// none did.
func lostMark(lost string) error {
	if lost == "" {
		return nil
	}
	return &tokenerr.AnswerLostError{Why: lost}
}

// answerLost says how err, if an *answerLostError, lost its answer; ""
// otherwise.
func answerLost(err error) string {
	var lost *answerLostError
	if errors.As(err, &lost) {
		return lost.why
	}
	return ""
}

// inFlight describes the renewal under way for Options.Sending.
func (s *Source) inFlight() Renewal {
	return Renewal{Env: s.set.Env, TokenURL: s.set.TokenURL, Timeout: s.set.Timeout,
		NothingToLose: s.set.Grant == GrantClientCredentials}
}

// keep saves n, the answer to a renewal of r, and makes it the token
// served. Until the store takes it or first refuses it, it is told to
// Options.Sending as being stored. An answer that rotated r's refresh
// token is, from the store's first refusal of it, told to Options.Sending
// as unsaved until it is stored: through save's own tries (their success
// ends it at once, the request's own telling lasting until the lock is
// released), and after them, when it is kept to be saved later (see
// saveLater); the error is then an *unsavedError, or wraps errLockLost
// when the store refused it because the renewal lock passed to another
// renewer.
func (s *Source) keep(work context.Context, n, r *store.Record) error {
	spent := refreshToken(r)
	rotated := spent != "" && n.RefreshToken != spent
	storing := s.inFlight()
	storing.Storing, storing.NothingToLose = true, storing.NothingToLose || !rotated
	inHand := sync.OnceFunc(s.sending(storing)) // once refused, or once keep returns
	defer inHand()
	var unsaved func() // Options.Sending's for the answer, once the store refused it
	refused := func() {
		if rotated && unsaved == nil {
			u := s.inFlight()
			u.Unsaved = true
			unsaved = s.sending(u)
		}
		inHand()
	}
	err := s.saveRefused(work, n, r, refused)
	if err == nil {
		if unsaved != nil {
			unsaved()
		}
		s.remember(n)
		return nil
	}
	refused()
	if rotated {
		u := &unsavedRenewal{key: s.unsavedKey(), rec: n, read: r, spent: spent, stored: func() { s.whenUnlocked(unsaved) }}
		u.gone, u.leave = context.WithCancel(context.Background())
		u.refused(err, s.now())
		tries, endTries := context.WithCancel(u.gone)
		if f, ok := s.store.(store.Flusher); ok {
			withdraw := f.KeepUnsaved(s.set.Env, func(ctx context.Context) error {
				defer endTries() // the last try through this store: it is closing
				return s.flush(ctx, u)
			})
			told := u.stored
			u.stored = func() { withdraw(); told() }
		}
		u.keep()
		if !errors.Is(err, errLockLost) {
			s.log.Warn("the store refused the new tokens; keeping them and trying again until it takes them", "store", s.Location(), "error", err.Error())
		}
		go func() {
			defer endTries()
			s.saveLater(u, tries)
		}()
	}
	if errors.Is(err, errLockLost) {
		return err
	}
	return &unsavedError{err}
}

// rotatedOnly is the record for a 2xx answer to a renewal of r that x/oauth2
// refused, when it holds a new refresh token; nil otherwise. It is read as
// x/oauth2 reads answers (form-encoded when so labelled or text/plain,
// else JSON), but as JSON whatever its label when it begins as a JSON
// object does (see tokenerr.Lenient). An answer cut off (its connection
// lost, its JSON unfinished, or longer than tokenerr.MaxAnswer) is read as
// far as it is whole: the provider that wrote it has rotated out the
// refresh token sent. r's access token is kept while it is valid, unless
// it was issued in the tick of the clock this renewal was sent in;
// otherwise the record holds none, and the next call renews with the new
// refresh token.
func (s *Source) rotatedOnly(ans *tokenerr.Copy, r *store.Record, sentAt time.Time, reason string) *store.Record {
	spent := refreshToken(r)
	if ans.Body == nil || spent == "" || s.set.Grant == GrantClientCredentials {
		return nil
	}
	tok := &oauth2.Token{}
	body := bytes.TrimPrefix(ans.Body, []byte("\ufeff"))
	object := bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))
	if ct, _, _ := mime.ParseMediaType(ans.ContentType); !object && (ct == "application/x-www-form-urlencoded" || ct == "text/plain") {
		form := string(body)
		if ans.Cut { // only values ended by the next "&" are whole
			form = form[:strings.LastIndex(form, "&")+1]
		}
		vals, err := url.ParseQuery(form)
		if err != nil {
			return nil
		}
		tok.RefreshToken = vals.Get("refresh_token")
		tok = tok.WithExtra(vals)
	} else {
		var fields map[string]any
		if json.Unmarshal(body, &fields) == nil {
			tok = tok.WithExtra(fields)
		}
		tok.RefreshToken = partialRefreshToken(body)
	}
	if tokenerr.Blank(tok.RefreshToken) || tok.RefreshToken == spent || !storableRefreshToken(tok.RefreshToken) {
		return nil
	}
	n := s.recordFrom(tok, r, sentAt, reason)
	n.AccessToken, n.Expiry = "", time.Time{}
	// A kept access token's issue time must differ from the renewal's, by
	// which tokenerr.RefreshedOnly tells this record from one whose
	// renewal brought an access token: one issued in the same tick of the
	// clock (by a renewal just before, which a 401 or --force followed) is
	// not kept, and the retry renews with the new refresh token.
	if s.lasts(r, 0) && !r.IssuedAt.Equal(sentAt) {
		n.AccessToken, n.TokenType, n.Expiry, n.IssuedAt = r.AccessToken, r.TokenType, r.Expiry, r.IssuedAt
	}
	// No access token came, so the row of renewals that 401s caused is
	// as r left it: the next try, spending the new refresh token, counts
	// its cause. (A kept access token, issued before this renewal, is not
	// one it brought: see renewLocked.)
	n.RenewedFor, n.RejectedInARow = r.RenewedFor, r.RejectedInARow
	return n
}

// partialRefreshToken is the refresh_token member of the JSON object that
// body begins, read as far as body is valid JSON and as tokenerr.Lenient
// reads it whole (tokenerr.TokenText: one written as a number is its
// digits, when something after it in body shows where it ends): the last
// one whole there (encoding/json takes the last of repeated members), or
// "".
func partialRefreshToken(body []byte) string {
	d := json.NewDecoder(bytes.NewReader(body))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	found := ""
	for d.More() {
		key, err := d.Token()
		if err != nil {
			return found
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return found
		}
		// A number the body ends in may be cut short: nothing shows where
		// it ends, and its digits may be a part of the token.
		if key == "refresh_token" && (v[0] == '"' || d.InputOffset() < int64(len(body))) {
			found, _ = tokenerr.TokenText(v)
		}
	}
	return found
}

// errLockLost means the store's renewal lock passed to another renewer
// before a token request was sent, or before its answer was stored: that
// renewer may have spent the refresh token already, or stored newer tokens,
// so nothing was sent, or the answer was not stored.
var errLockLost = errors.New("the renewal lock passed to another renewer")

// errSaveRefused wraps errLockLost: the store refused to save a record, as
// its renewal lock had passed to another renewer (see Source.save).
var errSaveRefused = fmt.Errorf("%w before the tokens were stored", errLockLost)

// lockLost reports whether the renewal lock the caller took has passed to
// another renewer (see stillLocked).
func (s *Source) lockLost(ctx context.Context) bool {
	return errors.Is(s.stillLocked(ctx, nil), errLockLost)
}

// stillLocked returns errLockLost when the store's renewal lock, which the
// caller took, has passed to another renewer, as a lock with a time limit
// does when its holder was paused past it. Only a request that spends a
// refresh token needs it: client credentials spend nothing. r is what the
// renewal holds as stored, which a store that cannot be reached leaves as
// it is: an earlier try's answer may have stored a new refresh token in it.
func (s *Source) stillLocked(work context.Context, r *store.Record) error {
	c, ok := s.store.(store.LockChecker)
	if !ok || s.set.Grant == GrantClientCredentials {
		return nil
	}
	held, err := c.HoldsLock(work, s.set.Env)
	switch {
	case errors.Is(err, store.ErrUnreachable):
		return &Error{Env: s.set.Env, Kind: ErrUnreachable, Msg: err.Error() + "; nothing was sent, " + tokenerr.Kept(r), Err: err}
	case err != nil:
		return fmt.Errorf("%s: %w", s.set.Env, err)
	case !held:
		return errLockLost
	}
	return nil
}

// unsavedError is a refresh the provider answered whose tokens could not be
// stored.
type unsavedError struct{ err error }

func (e *unsavedError) Error() string { return e.err.Error() }

// unsavedFailure reports a renewal whose answer could not be stored (err):
// kept to be saved later when it rotated the refresh token, else not needed.
func (s *Source) unsavedFailure(err error) error {
	return &unsavedAnswerError{env: s.set.Env, err: err, kept: s.unsavedNow()}
}

// unsavedAnswerError is the error of a renewal whose answer the store refused;
// kept is that answer, kept to be saved later, or nil when it rotated
// nothing. Its message tells how things stand when it is read, which for a
// command is once the kept answer is saved.
type unsavedAnswerError struct {
	env  string
	err  error
	kept *unsavedRenewal
}

func (e *unsavedAnswerError) Error() string {
	switch {
	case e.kept == nil:
		return fmt.Sprintf("%s: the provider issued new tokens but they could not be saved (%v); they were not used, and as the refresh token was not rotated, the stored tokens still work once the store is fixed", e.env, e.err)
	case e.kept.saved.Load():
		return fmt.Sprintf("%s: the provider issued new tokens that the store refused (%v), and took later, once it worked again; nothing is lost, try again", e.env, e.err)
	case !e.kept.pending():
		return fmt.Sprintf("%s: the provider issued new tokens that the store refused (%v); meanwhile the store came to hold other tokens (a log-in's or another renewer's) or none (a log-out), which stand instead", e.env, e.err)
	case atomicfile.TooLarge(e.err):
		// Raised where freshtoken starts, the limit is this process's
		// still: the tokens kept are saved only once its own is raised.
		return fmt.Sprintf("%s: the provider issued new tokens but they could not be saved (%v); they were not used, and this program keeps them and tries again, at most a minute apart, to save them, which it can only once its own file size limit is raised while it runs (on Linux, `prlimit --pid %d --fsize=unlimited`); if it exits first, they are lost, and a log-in will be needed", e.env, e.err, os.Getpid())
	}
	return fmt.Sprintf("%s: the provider issued new tokens but they could not be saved (%v); they were not used, and this program keeps them and saves them as soon as the store works again; if it exits first and the provider rotated the refresh token, a log-in will be needed once the store is fixed", e.env, e.err)
}

func (e *unsavedAnswerError) Unwrap() error { return e.err }

// unsavedRenewal is a renewal's answer rec that the store refused; spent is
// the refresh token it rotated out.
type unsavedRenewal struct {
	key    string // where it is to be stored (Source.unsavedKey)
	rec    *store.Record
	read   *store.Record // the record the renewal read under the lock, and renewed
	spent  string
	stored func()      // Options.Sending's, called once it is saved or dropped
	saved  atomic.Bool // it was saved
	// gone ends once it is no longer kept: saved, dropped, or replaced by
	// a newer answer (leave ends it).
	gone  context.Context
	leave context.CancelFunc
	// denied is the store's last refusal of it when only a person mends
	// that (store.ErrDenied: a folder the user may not write in, a record
	// larger than this process's file size limit), met at deniedAt, the
	// denials-th in a row; nil otherwise. Guarded by unsavedMu.
	denied   error
	deniedAt time.Time
	denials  int
}

// deniedRetry is the longest wait before a kept answer, refused by the
// store again and again for a reason only a person mends
// (store.ErrDenied), is tried again: after a second at first, then twice
// as long after each refusal, so that a fix made at once is seen at once.
// Renewals meanwhile are told the refusal without a try. Tried every few
// seconds, and at every call (each of a proxy's requests), a record larger
// than this process's file size limit, which no try saves until that limit
// is raised, was written up to the limit and refused for as long as the
// process ran.
const deniedRetry = time.Minute

// refused notes err, the store's refusal of u at now.
func (u *unsavedRenewal) refused(err error, now time.Time) {
	unsavedMu.Lock()
	defer unsavedMu.Unlock()
	if !errors.Is(err, store.ErrDenied) {
		u.denied, u.deniedAt, u.denials = nil, time.Time{}, 0
		return
	}
	u.denied, u.deniedAt, u.denials = err, now, u.denials+1
}

// deniedFor is how long, from now, u is still left untried after the
// store refused it for a reason only a person mends (see deniedRetry), and
// that refusal; 0 and nil when it may be tried now.
func (u *unsavedRenewal) deniedFor(now time.Time) (time.Duration, error) {
	unsavedMu.Lock()
	defer unsavedMu.Unlock()
	if u.denied == nil {
		return 0, nil
	}
	wait := min(time.Second<<min(u.denials-1, 6), deniedRetry)
	left := u.deniedAt.Add(wait).Sub(now)
	if left <= 0 || left > wait { // past, or noted by a clock since set back
		return 0, nil
	}
	return left, u.denied
}

// unsavedAnswers holds the renewals' answers that a store refused, by where
// each is to be stored, for every Source of the process: a program that
// builds a Source for each job must not have the next one spend the refresh
// token an earlier one's answer rotated out, nor have each keep trying to
// save an answer of its own.
var (
	unsavedMu      sync.Mutex
	unsavedAnswers = map[string]*unsavedRenewal{}
)

// unsavedKey names where the environment's record is stored.
func (s *Source) unsavedKey() string { return s.Location() + "\x00" + s.set.Env }

// unsavedNow is the answer kept to be saved where s stores its record; nil
// when there is none.
func (s *Source) unsavedNow() *unsavedRenewal {
	unsavedMu.Lock()
	defer unsavedMu.Unlock()
	return unsavedAnswers[s.unsavedKey()]
}

// keep makes u the answer to be saved where it belongs, in place of any
// older one there.
func (u *unsavedRenewal) keep() {
	unsavedMu.Lock()
	old := unsavedAnswers[u.key]
	unsavedAnswers[u.key] = u
	unsavedMu.Unlock()
	if old != nil {
		old.leave()
		old.stored()
	}
}

// pending reports whether u is still to be saved.
func (u *unsavedRenewal) pending() bool {
	unsavedMu.Lock()
	defer unsavedMu.Unlock()
	return unsavedAnswers[u.key] == u
}

// drop forgets u, saved or given up for other tokens the store holds.
func (u *unsavedRenewal) drop() {
	unsavedMu.Lock()
	mine := unsavedAnswers[u.key] == u
	if mine {
		delete(unsavedAnswers, u.key)
	}
	unsavedMu.Unlock()
	if mine {
		u.leave()
		u.stored()
	}
}

// saveUnsaved stores the answer of an earlier renewal that the store
// refused (see saveLater), made by this Source or another of the process,
// if the store still holds the record that renewal read, or holds nothing
// once wiped (r nil), and returns the record the store now holds.
// Spending that refresh token again would end the grant at a provider that
// detects reuse. When the store holds other tokens (a log-in, another
// renewer's), or none (a log-out) and was not wiped, they win and the
// unsaved answer is dropped. When it holds the same refresh token with a
// note that the provider ended the grant, made since (another renewer took
// the lock while this one was paused past it, and spent the same refresh
// token), that stands: see endedMeanwhile. Any other change since (a rest
// noted) leaves the answer to be saved. The save is conditional on r, so
// that nothing written between this read and it is overwritten. With
// paced (a renewal's, not saveLater's nor Close's), an answer the store
// refused for a reason only a person mends is not tried before saveLater
// tries it again (see deniedRetry): that refusal is the error. The
// caller holds the lock.
func (s *Source) saveUnsaved(work context.Context, r *store.Record, wiped, paced bool) (*store.Record, error) {
	u := s.unsavedNow()
	if u == nil {
		return r, nil
	}
	if r == nil && !wiped || r != nil && r.RefreshToken != u.spent {
		u.drop()
		s.log.Debug("the store no longer holds the refresh token an unsaved renewal spent; dropping that renewal's tokens")
		return r, nil
	}
	if r != nil && endedSince(r, u.read) {
		return nil, s.endedMeanwhile(work, r, u)
	}
	if _, denied := u.deniedFor(s.now()); paced && denied != nil {
		return nil, s.unsavedFailure(denied)
	}
	if err := s.save(work, u.rec, r); err != nil {
		if errors.Is(err, errLockLost) {
			return nil, err
		}
		u.refused(err, s.now())
		return nil, s.unsavedFailure(err)
	}
	u.saved.Store(true)
	u.drop()
	if wiped {
		how := "deleted by something that takes no renewal lock, such as a clean-up of the token folder or of the keychain"
		if _, ok := s.store.(store.Restorer); ok { // a store that loses records unasked: Redis
			how = "Redis emptied by FLUSHALL, or restarted without persistence"
		}
		s.log.Warn("the store lost the tokens while the provider answered a renewal ("+how+"); the renewal's answer is stored again, and nothing is lost", "store", s.Location())
	}
	s.log.Info("tokens renewed earlier, which the store refused then, are saved now", "renewals", u.rec.Renewals)
	s.remember(u.rec)
	return u.rec, nil
}

// endedSince reports whether r, which holds the refresh token that read
// held, notes that the provider ended the grant, which read did not: a
// renewer that took the lock after read was read spent that token again,
// and the provider refused it.
func endedSince(r, read *store.Record) bool {
	p := r.Problem
	if p == nil || p.Kind != store.ProblemGrantEnded || read == nil {
		return false
	}
	return read.Problem == nil || read.Problem.Kind != p.Kind || !read.Problem.At.Equal(p.At)
}

// endedMeanwhile is the error of the renewal whose answer u the store
// refused, when another renewer, which took the lock while this one was
// paused past it, spent the same refresh token, and the provider refused
// it and ended the grant (r notes it): what was wrong was that this
// renewer then saved its answer over that note, and printed tokens the
// provider had revoked with them, and status said all was well.
//
// A strict provider (a reused refresh token ends the whole grant, as the
// built-in one and fosite do) has revoked u's tokens too. Another may have
// refused only the reuse, leaving u's refresh token, which only this
// process holds, the grant's one valid copy: it is not thrown away. It is
// stored in r's place with the note kept, and without u's access token, so
// that no call serves a token the provider may have revoked and status
// still says a log-in is needed; a forced renewal (Renew, `freshtoken
// token --force`) spends the kept refresh token, which is no reuse, and
// either renews (the grant was kept) or confirms that it ended. If even that cannot be stored, the
// note stands and nothing is lost that a log-in does not bring back.
func (s *Source) endedMeanwhile(work context.Context, r *store.Record, u *unsavedRenewal) error {
	u.drop()
	kept := *u.rec
	kept.AccessToken, kept.TokenType, kept.Expiry = "", "", time.Time{}
	kept.Problem = &store.Problem{Kind: store.ProblemGrantEnded, At: r.Problem.At, Message: r.Problem.Message +
		"; the tokens a renewal paused meanwhile received for the same refresh token are kept, in case the provider refused only the reuse: " + tokenerr.KeptTokensTried}
	then := "the new tokens this renewal received are kept in case they still work: " + tokenerr.KeptTokensTried
	if err := s.save(work, &kept, r); err != nil {
		s.log.Debug("could not keep the paused renewal's tokens beside the note that the grant ended", "error", err.Error())
		then = "the new tokens this renewal received could not be stored beside that note either, and are lost"
	} else {
		redact.Set(s.Location(), kept.RefreshToken)
	}
	s.cur.Store(nil)
	return s.loginError(fmt.Sprintf("the provider ended the grant while this renewal was paused past the renewal lock: another renewer sent the same refresh token, and the provider refused it (%s); %s", r.Problem.Message, then))
}

// saveLaterMax is the longest wait between saveLater's tries: short, as
// until the answer is saved another process may spend the refresh token
// it replaces, and a try is one lock, one read and one write.
const saveLaterMax = 5 * time.Second

// saveLater tries again and again, in the background, with growing waits,
// to save u under the lock, until it is saved or dropped, so that other
// processes sharing the store find the rotated tokens as soon as it works
// again rather than spend the refresh token they replace; after refusals
// only a person mends, as deniedRetry says. It stops once the store holds
// other tokens than those u replaces (a log-in or another renewer's), or
// none (a log-out), or another client's, and when a newer answer takes
// u's place. It also stops once the store is closed: at once when tries
// ends, as a store.Flusher's Close made the last try (see flush), or at
// its next try (store.ErrClosed). It stops at once, whatever it waits for,
// when u is saved or dropped elsewhere (a renewal, a log-out, Close): a
// try after that would take the lock of a store its program may have
// logged out of or deleted, and bring the lock file, and the folder, back.
func (s *Source) saveLater(u *unsavedRenewal, tries context.Context) {
	for wait := time.Second; ; wait = min(2*wait, saveLaterMax) {
		if left, denied := u.deniedFor(s.now()); denied != nil {
			wait = left
		}
		if s.pause(tries, wait) != nil || !s.trySaving(u) {
			return
		}
	}
}

// trySaving is one try of saveLater; it reports whether to go on trying.
func (s *Source) trySaving(u *unsavedRenewal) bool {
	if u.gone.Err() != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waiting, stopWaiting := context.WithTimeout(u.gone, time.Minute) // for the lock held by whoever saves or drops u
	defer stopWaiting()
	unlock, err := s.lock(waiting)
	if err != nil {
		return !errors.Is(err, store.ErrClosed) && u.gone.Err() == nil
	}
	defer unlock()
	if u.gone.Err() != nil {
		return false
	}
	r, err := s.loadToSave(ctx, u)
	switch {
	case errors.Is(err, ErrLoginRequired):
		u.drop()
	case err == nil:
		s.saveUnsaved(ctx, r, false, false)
	}
	return u.gone.Err() == nil
}

// loadToSave reads, under the lock the caller holds, the record that u,
// kept to be saved later, is to replace. A store that lost it unasked (a
// Redis restarted empty: store.Restorer) gets back the record u's renewal
// read, as a renewal puts back the one it holds (see renewLocked): taken
// for a log-out, u, the grant's one live refresh token, was dropped, and
// the next renewal put back and spent the refresh token u replaced.
func (s *Source) loadToSave(ctx context.Context, u *unsavedRenewal) (*store.Record, error) {
	r, err := s.load(ctx)
	if errors.Is(err, store.ErrNotFound) {
		if back, rerr := s.restoreLocked(ctx, u.read); rerr == nil {
			return back, s.CheckGrant(back)
		}
	}
	return r, err
}

// flush is the try a store.Flusher's Close makes to save u, at once: under
// the lock, so after a try of saveLater under way. It returns nil once u
// is saved, or given up for other tokens the store holds, or replaced by
// a newer answer; otherwise an error that says the new tokens could not be
// stored and what that costs. u is still kept then, for a renewal through
// another store opened at the same place to save.
func (s *Source) flush(ctx context.Context, u *unsavedRenewal) error {
	if !u.pending() {
		return nil
	}
	unlock, err := s.lock(ctx)
	if err == nil {
		defer unlock() // released below; this for a panic in the program's Logger
		var r *store.Record
		r, err = s.loadToSave(ctx, u)
		switch {
		case errors.Is(err, ErrLoginRequired):
			u.drop()
			err = nil
		case err == nil:
			_, err = s.saveUnsaved(ctx, r, false, false)
		}
		unlock()
	}
	if err == nil || !u.pending() {
		return nil
	}
	var kept *unsavedAnswerError
	if errors.As(err, &kept) {
		err = kept.err // the store's own failure, not what the process will do
	}
	return &unsavedAtCloseError{env: s.set.Env, where: s.Location(), err: err}
}

// unsavedAtCloseError is flush's: a renewal's answer that rotated the
// refresh token, still not stored as the store closes.
type unsavedAtCloseError struct {
	env, where string
	err        error
}

func (e *unsavedAtCloseError) Error() string {
	return fmt.Sprintf("%s: the new tokens a renewal brought, which the store at %s refused, could not be stored as it closed either (%v); the provider rotated the refresh token, so they are lost once this program exits, and a log-in will be needed once the store is fixed (until then, a renewal through a store opened again at the same place saves them)", e.env, e.where, e.err)
}

func (e *unsavedAtCloseError) Unwrap() error { return e.err }

// note records in r, which the caller holds the lock for, a failure that
// needs a person, so that status and the proxy's page tell of it until a
// renewal or log-in succeeds. The tokens are kept as they are. With no
// record (client credentials never obtained) there is nowhere to note it.
// The note is stored only over read, the record as the caller last read it
// under the lock: tokens stored since (a log-in, or a renewer that took the
// lock while this one was paused past it) are never replaced by r's, which
// would lose them. A problem of the kind noted already keeps when it was
// first noted (store.Problem.Then). It returns r with the note, nil with
// no record, and why the store did not take it (wrapping store.ErrChanged
// for that), or nil.
func (s *Source) note(work context.Context, r, read *store.Record, kind, msg string) (*store.Record, error) {
	if r == nil {
		return nil, nil
	}
	n := *r
	n.Problem = r.Problem.Then(store.Problem{Kind: kind, Message: msg, At: s.now()})
	err := s.saveIf(work, &n, read)
	if errors.Is(err, store.ErrReserveUsed) { // saved, on a full disk
		err = nil
	}
	if err != nil {
		s.log.Debug("could not record the problem in the store", "error", err.Error())
	}
	return &n, err
}

// refreshToken is r's refresh token; "" when there is no record.
func refreshToken(r *store.Record) string {
	if r == nil {
		return ""
	}
	return r.RefreshToken
}

// refused says what a refusal of a request that no retry changes (err,
// which the token endpoint answered desc), of step ("renewal", or a device
// "log-in"), is about, by its error code (see tokenerr.Refused).
func (s *Source) refused(err error, desc, step string) string {
	return "the token endpoint " + redact.URL(s.set.TokenURL) + " " + tokenerr.Refused(tokenerr.RefusalOf(err), desc, step)
}

// notThere says that no token endpoint answers at u, which answered desc
// (see tokenerr.NotThere), and what to check.
func (s *Source) notThere(u, desc string) string {
	return fmt.Sprintf("no token endpoint answers at %s (%s); %s", redact.URL(u), desc, s.tokenURLToCheck())
}

// tokenURLToCheck is the setting to check of a token endpoint that is not
// where the configuration says.
func (s *Source) tokenURLToCheck() string {
	if s.set.TokenURLSetting != "" {
		return "check " + s.set.TokenURLSetting
	}
	if s.set.Issuer != "" {
		return "check token_url, or issuer, whose discovery document names it"
	}
	return "check token_url"
}

// tokenHostToCheck is what to add to the words of a token request that
// failed with err: for a host name with no address, a mistyped token_url
// as often as not, the setting to check (retried all the same: a name
// server may answer so for a while); "" for any other failure.
func (s *Source) tokenHostToCheck(err error) string {
	if noSuchHost(err) {
		return "; " + s.tokenURLToCheck()
	}
	return ""
}
