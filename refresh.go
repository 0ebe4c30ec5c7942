package freshtoken

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
)

// minRetryAfter is the shortest wait after a 429, whatever Retry-After says.
const minRetryAfter = time.Second

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

func (s *Source) renewal(work context.Context) (renewal, error) {
	conf, err := s.OAuth2Config(work, "")
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
// no caller can cancel; ctx only ends the waits between tries, when no
// request is in flight. The new record is saved before it is returned; on
// failure nothing is written. Before every retry and before reporting
// invalid_grant it re-reads the store, in case a renewer that ignores the
// lock replaced the tokens.
func (s *Source) refresh(ctx, work context.Context, r *store.Record, reason string) (*store.Record, error) {
	req, err := s.renewal(work)
	if err != nil {
		return nil, err
	}
	backoff := s.set.RetryBackoff
	first, err := s.resumeTries(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := first; ; attempt++ {
		if err := s.stillLocked(work); err != nil {
			return nil, err
		}
		sentAt := s.now()
		s.log.Debug("refresh request", "url", s.set.TokenURL, "grant_type", req.grantType,
			"client_auth", string(s.set.ClientAuth), "refresh_token", redact.Secret(refreshToken(r)), "attempt", attempt+1)
		start := time.Now()
		n, err := s.exchange(work, req, r, sentAt, reason)
		if err == nil {
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
		if errors.As(err, &unsaved) {
			// Each caller asking again would be a token request whose
			// answer the store refuses again.
			return nil, s.restAfter(failedRest, s.unsavedFailure(unsaved.err))
		}
		kind, wait, desc := tokenerr.Classify(err)
		s.log.Debug("refresh failed", "duration", time.Since(start).Round(time.Microsecond), "error", desc)
		switch kind {
		case tokenerr.BadClient:
			msg := fmt.Sprintf("the token endpoint %s rejected the client (%s)", s.set.TokenURL, desc)
			s.note(work, r, store.ProblemClientRejected, msg)
			return nil, &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: msg}
		case tokenerr.BadGrant:
			if s.set.Grant == GrantClientCredentials {
				// No refresh token was spent: the provider refuses the
				// client's credentials grant, which only configuration fixes.
				msg := fmt.Sprintf("the token endpoint %s refused the client credentials grant (%s)", s.set.TokenURL, desc)
				s.note(work, r, store.ProblemClientRejected, msg)
				return nil, &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: msg}
			}
			latest, lerr := s.load(work)
			if lerr == nil && latest.RefreshToken != r.RefreshToken {
				s.log.Debug("the store has a newer refresh token; retrying with it")
				if latest.AccessToken != r.AccessToken && s.fresh(latest, "store after invalid_grant") {
					s.remember(latest)
					return latest, nil
				}
				r = latest
				continue
			}
			msg := fmt.Sprintf("the provider refused the refresh token (%s), so the grant has ended", desc)
			s.note(work, r, store.ProblemGrantEnded, msg)
			return nil, s.loginError(msg)
		case tokenerr.RateLimited:
			if wait > s.set.MaxRetryAfter || attempt >= len(backoff) {
				return nil, s.restAfter(max(wait, failedRest), &Error{Env: s.set.Env, Kind: ErrUnreachable,
					Msg: fmt.Sprintf("the token endpoint is rate limiting renewals and asks to wait %s; your stored tokens are unchanged, try again then", wait.Round(time.Second))})
			}
			wait = max(wait, minRetryAfter)
			s.log.Warn("the token endpoint is rate limiting renewals; waiting as it asks", "wait", wait)
		case tokenerr.Passing:
			if attempt >= len(backoff) {
				return nil, s.restAfter(failedRest, &Error{Env: s.set.Env, Kind: ErrUnreachable,
					Msg: fmt.Sprintf("the token endpoint %s kept failing after %d tries (%s); your stored tokens are unchanged, try again later", s.set.TokenURL, attempt+1, desc)})
			}
			wait = backoff[attempt]
		}
		s.log.Debug("retrying refresh", "after", wait)
		next := s.now().Add(wait)
		if err := s.pause(ctx, wait); err != nil {
			s.leaveTries(&leftTries{made: attempt + 1, next: next})
			return nil, fmt.Errorf("%s: renewal abandoned (%w) after: %s; your stored tokens are unchanged", s.set.Env, err, desc)
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

// failedRest is how long renewals rest, unless forced, after one gave up
// because the token endpoint kept failing, or its answer could not be
// stored: without it each of a proxy's clients would send a volley of token
// requests of its own, turning the provider's outage into a refresh storm.
// After a 429 they rest as long as the provider asked, up to maxRest.
const (
	failedRest = 30 * time.Second
	maxRest    = time.Hour
)

// restAfter holds renewals back for d, at most maxRest, after one that gave
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
	s.restUntil, s.restErr = s.now().Add(min(d, maxRest)), err
	return err
}

// resting is the error of the renewal that gave up, while renewals rest
// after it; nil otherwise.
func (s *Source) resting() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restErr == nil || !s.now().Before(s.restUntil) {
		return nil
	}
	s.log.Debug("the last renewal gave up moments ago; not asking the token endpoint again yet", "until", s.restUntil.Format(logTime))
	return s.restErr
}

// leftTries are the tries of a renewal abandoned during the wait before
// its next (its caller gave up), and when that next try was due.
type leftTries struct {
	made int
	next time.Time
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
// than failedRest ago are forgotten.
func (s *Source) resumeTries(ctx context.Context) (int, error) {
	s.mu.Lock()
	l := s.left
	s.left = nil
	s.mu.Unlock()
	if l == nil || s.now().After(l.next.Add(failedRest)) {
		return 0, nil
	}
	if wait := l.next.Sub(s.now()); wait > 0 {
		s.log.Debug("waiting what is left of the wait before a renewal's next try, whose caller gave up", "wait", wait, "tries", l.made)
		if err := s.pause(ctx, wait); err != nil {
			s.leaveTries(l)
			return 0, fmt.Errorf("%s: renewal abandoned (%w) while waiting, as the token endpoint asked or kept failing, before asking it again; your stored tokens are unchanged", s.set.Env, err)
		}
	}
	return l.made, nil
}

// exchange sends req's request for r once, bounded by Settings.Timeout, and
// stores the answer before returning it. While the request is in flight or
// its answer unstored, Options.Sending knows.
func (s *Source) exchange(work context.Context, req renewal, r *store.Record, sentAt time.Time, reason string) (*store.Record, error) {
	defer s.sending(Renewal{Env: s.set.Env, TokenURL: s.set.TokenURL, Timeout: s.set.Timeout})()
	defer s.sayIfSlow("waiting for the token endpoint to answer (it may take up to the timeout)", "url", s.set.TokenURL, "timeout", s.set.Timeout)()
	rctx, cancel := context.WithTimeout(work, s.set.Timeout)
	defer cancel()
	tok, err := req.send(context.WithValue(rctx, oauth2.HTTPClient, s.http), r)
	if err != nil {
		return nil, err
	}
	n := s.recordFrom(tok, r, sentAt, reason)
	if err := s.save(work, n); err != nil {
		if spent := refreshToken(r); spent != "" && n.RefreshToken != spent {
			u := &unsavedRenewal{rec: n, spent: spent}
			s.mu.Lock()
			s.unsaved = u
			s.mu.Unlock()
			go s.saveLater(u)
		}
		return nil, &unsavedError{err}
	}
	s.remember(n)
	return n, nil
}

// errLockLost means the store's renewal lock passed to another renewer
// before a token request was sent: that renewer may have spent the refresh
// token already, so nothing was sent.
var errLockLost = errors.New("the renewal lock passed to another renewer")

// stillLocked returns errLockLost when the store's renewal lock, which the
// caller took, has passed to another renewer, as a lock with a time limit
// does when its holder was paused past it. Only a request that spends a
// refresh token needs it: client credentials spend nothing.
func (s *Source) stillLocked(work context.Context) error {
	c, ok := s.store.(store.LockChecker)
	if !ok || s.set.Grant == GrantClientCredentials {
		return nil
	}
	held, err := c.HoldsLock(work, s.set.Env)
	switch {
	case errors.Is(err, store.ErrUnreachable):
		return &Error{Env: s.set.Env, Kind: ErrUnreachable, Msg: err.Error() + "; nothing was sent, your stored tokens are unchanged", Err: err}
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

// unsavedFailure reports a renewal whose answer could not be stored: kept
// to be saved later when it rotated the refresh token, else not needed.
func (s *Source) unsavedFailure(err error) error {
	s.mu.Lock()
	kept := s.unsaved != nil
	s.mu.Unlock()
	if !kept {
		return fmt.Errorf("%s: the provider issued new tokens but they could not be saved (%w); they were not used, and as the refresh token was not rotated, the stored tokens still work once the store is fixed", s.set.Env, err)
	}
	return fmt.Errorf("%s: the provider issued new tokens but they could not be saved (%w); they were not used, and this program keeps them and saves them as soon as the store works again; if it exits first and the provider rotated the refresh token, a log-in will be needed once the store is fixed", s.set.Env, err)
}

// unsavedRenewal is a renewal's answer rec that the store refused; spent is
// the refresh token it rotated out.
type unsavedRenewal struct {
	rec   *store.Record
	spent string
}

// saveUnsaved stores the answer of an earlier renewal that the store
// refused (see saveLater), if the store still holds the refresh token that
// renewal spent, and returns the record the store now holds. Spending that
// token again would end the grant at a provider that detects reuse. When
// the store holds other tokens (a log-in, another renewer's), they win and
// the unsaved answer is dropped. The caller holds the lock.
func (s *Source) saveUnsaved(work context.Context, r *store.Record) (*store.Record, error) {
	s.mu.Lock()
	u := s.unsaved
	s.mu.Unlock()
	if u == nil {
		return r, nil
	}
	if r == nil || r.RefreshToken != u.spent {
		s.dropUnsaved(u)
		s.log.Debug("the store no longer holds the refresh token an unsaved renewal spent; dropping that renewal's tokens")
		return r, nil
	}
	if err := s.save(work, u.rec); err != nil {
		return nil, s.unsavedFailure(err)
	}
	s.dropUnsaved(u)
	s.log.Info("tokens renewed earlier, which the store refused then, are saved now", "renewals", u.rec.Renewals)
	s.remember(u.rec)
	return u.rec, nil
}

// saveLater tries again and again, in the background, to save u under the
// lock, until it is saved or dropped, so that other processes sharing the
// store find the rotated tokens as soon as it works again rather than spend
// the refresh token they replace. A log-out made meanwhile drops u.
func (s *Source) saveLater(u *unsavedRenewal) {
	for wait := time.Second; s.isUnsaved(u); wait = min(2*wait, time.Minute) {
		s.pause(context.Background(), wait)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if unlock, err := s.lock(ctx); err == nil {
			r, err := s.load(ctx)
			switch {
			case errors.Is(err, ErrLoginRequired):
				s.dropUnsaved(u)
			case err == nil:
				s.saveUnsaved(ctx, r)
			}
			unlock()
		}
		cancel()
	}
}

func (s *Source) isUnsaved(u *unsavedRenewal) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unsaved == u
}

func (s *Source) dropUnsaved(u *unsavedRenewal) {
	s.mu.Lock()
	if s.unsaved == u {
		s.unsaved = nil
	}
	s.mu.Unlock()
}

// note records in r, which the caller holds the lock for, a failure that
// needs a person, so that status and the proxy's page tell of it until a
// renewal or log-in succeeds. The tokens are kept as they are. With no
// record (client credentials never obtained) there is nowhere to note it.
func (s *Source) note(work context.Context, r *store.Record, kind, msg string) {
	if r == nil {
		return
	}
	n := *r
	n.Problem = &store.Problem{Kind: kind, Message: msg, At: s.now()}
	if err := s.store.Save(work, s.set.Env, &n); err != nil {
		s.log.Debug("could not record the problem in the store", "error", err.Error())
	}
}

// refreshToken is r's refresh token; "" when there is no record.
func refreshToken(r *store.Record) string {
	if r == nil {
		return ""
	}
	return r.RefreshToken
}
