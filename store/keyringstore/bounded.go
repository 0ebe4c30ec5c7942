package keyringstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/freshtoken/freshtoken/store"
)

// answerTimeout is the longest freshtoken waits for the keychain to answer
// one call. A keychain waiting on an unlock or access prompt that nobody
// sees (over ssh, from cron or a service) would otherwise hold the command
// forever.
var answerTimeout = 30 * time.Second

// againTimeout bounds each call made while the keychain has not answered
// since a call went unanswered: a command reading many environments
// (status, store migrate), or a proxy serving many, waited answerTimeout
// for each, minutes in all, for a keychain already known not to answer.
// The first call answered within it makes the keychain answered again.
var againTimeout = 3 * time.Second

// unanswered is set when a call goes unanswered, and cleared when one is
// answered.
var unanswered atomic.Bool

// errNoAnswer is why a call's context ends when the keychain took too long.
var errNoAnswer = errors.New("the keychain did not answer in time")

// StallName is how the keychain's calls name it to the listeners of
// store.WithStalled and store.WithAnswered.
func StallName() string { return "the " + systemName }

// calling admits one call to the keychain at a time in the process. A call
// given up on keeps its place until the keychain answers it, so that calls
// to a keychain that does not answer do not pile up (each a goroutine and a
// D-Bus call waiting for ever), and its late answer (a part written or
// removed) never lands after a later call's.
var calling = make(chan struct{}, 1)

// bounded runs do, one call to the keychain, for at most answerTimeout and
// no longer than ctx lasts, the wait for an earlier call still unanswered
// included. A call that takes longer is abandoned, not stopped (the
// keychain library takes no context): its answer, if it ever comes, is
// dropped. Any call may wait for a prompt (store.Waiting), and says so
// once it has waited store.StallNotice (store.WatchStall).
func bounded[T any](ctx context.Context, do func(context.Context) (T, error)) (T, error) {
	store.Waiting(ctx)
	stop, answered := store.WatchStall(ctx, StallName()), false
	defer func() { stop(answered) }()
	limit, again := answerTimeout, unanswered.Load()
	if again {
		limit = min(againTimeout, answerTimeout)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, limit, errNoAnswer)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	var zero T
	select {
	case calling <- struct{}{}:
	case <-ctx.Done():
		return zero, ended(ctx, limit, again)
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-calling }()
		v, err := do(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && errors.Is(context.Cause(ctx), errNoAnswer) {
			unanswered.Store(true)
			return r.v, noAnswer(limit, again)
		}
		unanswered.Store(false)
		answered = true
		return r.v, r.err
	case <-ctx.Done():
		return zero, ended(ctx, limit, again)
	}
}

// ended is why a keychain call's ctx ended: the keychain not answering
// within limit (again: while it had not answered since a call went
// unanswered), or the caller's own context.
func ended(ctx context.Context, limit time.Duration, again bool) error {
	if errors.Is(context.Cause(ctx), errNoAnswer) {
		unanswered.Store(true)
		return noAnswer(limit, again)
	}
	return ctx.Err()
}

// noAnswer says that the keychain did not answer within limit (again:
// nor had it since a call went unanswered before), and what to do.
func noAnswer(limit time.Duration, again bool) error {
	what := fmt.Sprintf("did not answer within %s", limit)
	if again {
		what = fmt.Sprintf("still does not answer (it did not within %s, nor now within %s)", answerTimeout, limit)
	}
	return &UnusableError{kind: store.ErrUnreachable, fix: tokensFix, reason: fmt.Sprintf(
		"%v: the %s %s, as when it waits on an unlock or access prompt nobody can see (over ssh, from cron or a service); unlock it in your desktop session, or run freshtoken there",
		store.ErrUnreachable, systemName, what)}
}

// get is keyring.Get bounded: keyring.ErrNotFound as it is, other failures
// worded for people.
func get(ctx context.Context, service, account string) (string, error) {
	v, err := bounded(ctx, func(context.Context) (string, error) { return keyring.Get(service, account) })
	return v, worded(vanished(err))
}

// set is the keychain library's Set (librarySet) bounded, its failures
// worded for people.
func set(ctx context.Context, service, account, value string) error {
	_, err := bounded(ctx, func(context.Context) (struct{}, error) { return struct{}{}, librarySet(service, account, value) })
	return worded(err)
}

// setRecordItem is writeItem bounded, its failures worded for people.
func setRecordItem(ctx context.Context, service, env, account, value string) error {
	_, err := bounded(ctx, func(context.Context) (struct{}, error) { return struct{}{}, writeItem(service, env, account, value) })
	return worded(err)
}

// remove is keyring.Delete bounded: keyring.ErrNotFound as it is, other
// failures worded for people.
func remove(ctx context.Context, service, account string) error {
	_, err := bounded(ctx, func(context.Context) (struct{}, error) { return struct{}{}, keyring.Delete(service, account) })
	return worded(vanished(err))
}

// worded is err from the keychain library for people: keyring.ErrNotFound,
// a context's end and errors already worded are left as they are.
func worded(err error) error {
	var ue *UnusableError
	if err == nil || errors.Is(err, keyring.ErrNotFound) || errors.As(err, &ue) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return failed(err)
}
