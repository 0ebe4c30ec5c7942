package freshtoken

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
)

// minRetryAfter is the shortest wait after a 429, whatever Retry-After says.
const minRetryAfter = time.Second

// refresh spends r's refresh token. The caller holds the store's lock. The
// requests and the store write use work, which no caller can cancel; ctx
// only ends the waits between tries, when no request is in flight. The new
// record is saved before it is returned; on failure nothing is written.
// Before every retry and before reporting invalid_grant it re-reads the
// store, in case a renewer that ignores the lock replaced the tokens.
func (s *Source) refresh(ctx, work context.Context, r *store.Record, reason string) (*store.Record, error) {
	conf, err := s.OAuth2Config(work, "")
	if err != nil {
		return nil, err
	}
	backoff := s.set.RetryBackoff
	for attempt := 0; ; attempt++ {
		sentAt := s.now()
		s.log.Debug("refresh request", "url", s.set.TokenURL, "grant_type", "refresh_token",
			"client_auth", string(s.set.ClientAuth), "refresh_token", redact.Secret(r.RefreshToken), "attempt", attempt+1)
		start := time.Now()
		n, err := s.exchange(work, conf, r, sentAt, reason)
		if err == nil {
			// Stored already: only now is anything about the answer logged,
			// as a log line that cannot be written may end the process.
			at, known := s.expiry(n)
			s.log.Debug("refresh answered and stored", "duration", time.Since(start).Round(time.Microsecond),
				"access_token", redact.Secret(n.AccessToken), "lifetime_known", known,
				"refresh_token_rotated", n.RefreshToken != r.RefreshToken, "expires", at.Format(logTime))
			s.log.Info("token renewed", "for", reason, "expires", at.Format(logTime), "renewals", n.Renewals)
			return n, nil
		}
		var unsaved *unsavedError
		if errors.As(err, &unsaved) {
			return nil, fmt.Errorf("%s: the provider issued new tokens but they could not be saved (%w); they were not used, and if the provider rotated the refresh token a log-in will be needed once the store is fixed", s.set.Env, unsaved.err)
		}
		kind, wait, desc := tokenerr.Classify(err)
		s.log.Debug("refresh failed", "duration", time.Since(start).Round(time.Microsecond), "error", desc)
		switch kind {
		case tokenerr.BadClient:
			msg := fmt.Sprintf("the token endpoint %s rejected the client (%s)", s.set.TokenURL, desc)
			s.note(work, r, store.ProblemClientRejected, msg)
			return nil, &Error{Env: s.set.Env, Kind: ErrClientRejected, Msg: msg}
		case tokenerr.BadGrant:
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
				return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable,
					Msg: fmt.Sprintf("the token endpoint is rate limiting renewals and asks to wait %s; your stored tokens are unchanged, try again then", wait.Round(time.Second))}
			}
			wait = max(wait, minRetryAfter)
			s.log.Warn("the token endpoint is rate limiting renewals; waiting as it asks", "wait", wait)
		case tokenerr.Passing:
			if attempt >= len(backoff) {
				return nil, &Error{Env: s.set.Env, Kind: ErrUnreachable,
					Msg: fmt.Sprintf("the token endpoint %s kept failing after %d tries (%s); your stored tokens are unchanged, try again later", s.set.TokenURL, attempt+1, desc)}
			}
			wait = backoff[attempt]
		}
		s.log.Debug("retrying refresh", "after", wait)
		if err := s.pause(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: renewal abandoned (%w) after: %s; your stored tokens are unchanged", s.set.Env, err, desc)
		}
		latest, err := s.load(work)
		if err != nil {
			return nil, err
		}
		if latest.AccessToken != r.AccessToken && s.fresh(latest, "store before retry") {
			s.log.Debug("another renewer stored a new token meanwhile; using it")
			s.remember(latest)
			return latest, nil
		}
		r = latest
	}
}

// exchange spends r's refresh token in one request, bounded by
// Settings.Timeout, and stores the answer before returning it. While the
// request is in flight or its answer unstored, Options.Sending knows.
func (s *Source) exchange(work context.Context, conf *oauth2.Config, r *store.Record, sentAt time.Time, reason string) (*store.Record, error) {
	defer s.sending(Renewal{Env: s.set.Env, TokenURL: s.set.TokenURL, Timeout: s.set.Timeout})()
	defer s.sayIfSlow("waiting for the token endpoint to answer (it may take up to the timeout)", "url", s.set.TokenURL, "timeout", s.set.Timeout)()
	rctx, cancel := context.WithTimeout(work, s.set.Timeout)
	defer cancel()
	tok, err := conf.TokenSource(context.WithValue(rctx, oauth2.HTTPClient, s.http), &oauth2.Token{RefreshToken: r.RefreshToken}).Token()
	if err != nil {
		return nil, err
	}
	n := s.recordFrom(tok, r, sentAt, reason)
	if err := s.save(work, n); err != nil {
		return nil, &unsavedError{err}
	}
	s.remember(n)
	return n, nil
}

// unsavedError is a refresh the provider answered whose tokens could not be
// stored.
type unsavedError struct{ err error }

func (e *unsavedError) Error() string { return e.err.Error() }

// note records in r, which the caller holds the lock for, a failure that
// needs a person, so that status and the proxy's page tell of it until a
// renewal or log-in succeeds. The tokens are kept as they are.
func (s *Source) note(work context.Context, r *store.Record, kind, msg string) {
	n := *r
	n.Problem = &store.Problem{Kind: kind, Message: msg, At: s.now()}
	if err := s.store.Save(work, s.set.Env, &n); err != nil {
		s.log.Debug("could not record the problem in the store", "error", err.Error())
	}
}
