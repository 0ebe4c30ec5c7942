package freshtoken_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/store"
)

// TestAnswerNotSavedOverAGrantEndedNote: while the provider answers a
// renewal, the record it read is changed behind it: another renewer notes
// that the provider ended the grant, for the same refresh token, as one
// that took the lock from this renewer, paused past it, does (see e2e:
// TestResumedLockHolderKeepsTheGrantEndedNote). The answer was saved over
// the note and served. It is now refused (the save is conditional on the
// record read: for a store that is no store.Swapper, as the file store,
// the engine reads and compares under the lock), the renewal reports the
// ended grant, and the answer's refresh token is kept beside the note
// without its access token. The Redis store's SaveIf: e2e.
func TestAnswerNotSavedOverAGrantEndedNote(t *testing.T) {
	r := grantEndedAtRenewal(t, nil)
	src := r.sourceOn(r.store)
	r.login(src)
	before := r.record()
	tok, err := src.Renew(context.Background())
	if !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("Renew: %v, %v; want ErrLoginRequired, the grant ended meanwhile", tok, err)
	}
	rec := r.record()
	switch {
	case rec.Problem == nil || rec.Problem.Kind != store.ProblemGrantEnded:
		t.Fatalf("the note that the grant ended was lost: %v", rec)
	case rec.AccessToken != "":
		t.Fatalf("an access token the provider may have revoked is stored beside the note: %v", rec)
	case rec.RefreshToken == before.RefreshToken || rec.Renewals != before.Renewals+1:
		t.Fatalf("the answer's refresh token was not kept beside the note: %v", rec)
	}
	tok2, err2 := src.Token()
	if err2 == nil {
		t.Fatalf("Token after the grant ended: %v; want an error", tok2)
	}
	// The library says what happened, not which command to run (the
	// command line adds that): the kept tokens are tried by a forced
	// renewal, Renew, for a program.
	for _, said := range []string{err.Error(), err2.Error(), rec.Problem.Message} {
		if strings.Contains(said, "freshtoken ") || strings.Contains(said, "`") || !strings.Contains(said, "a forced renewal tries them") {
			t.Errorf("a program is told %q; want the kept tokens' forced renewal, and no command of the command line", said)
		}
	}
}

// TestAnswerNotKeptBesideTheNoteIsNotSaidKept: as in
// TestAnswerNotSavedOverAGrantEndedNote, another renewer notes that the
// grant ended while the provider answers this renewal; here the store
// then refuses every save, so the answer cannot be kept beside the note
// either. The renewal's error said its tokens were kept for `token
// --force` to try all the same: they are gone, and only a log-in helps.
func TestAnswerNotKeptBesideTheNoteIsNotSaidKept(t *testing.T) {
	var own *ownStore
	r := grantEndedAtRenewal(t, func() { own.broken.Store(true) })
	own = &ownStore{Store: r.store}
	src := r.sourceOn(own)
	r.login(src)
	_, err := src.Renew(context.Background())
	if !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("Renew: %v; want ErrLoginRequired, the grant ended meanwhile", err)
	}
	if strings.Contains(err.Error(), "are kept") || strings.Contains(err.Error(), "--force") {
		t.Errorf("Renew: %v; want no tokens said kept, nor token --force to try them: none could be stored", err)
	}
	if rec := r.record(); rec.Problem == nil || rec.Problem.Kind != store.ProblemGrantEnded {
		t.Fatalf("the note that the grant ended was lost: %v", rec)
	}
}

// grantEndedAtRenewal is a rig whose store, as the first renewal's request
// reaches the provider, comes to note that the provider ended the grant
// (another renewer's note, for the same refresh token, written while this
// one waits for its answer); then, if set, runs after the note.
func grantEndedAtRenewal(t *testing.T, then func()) *rig {
	var armed atomic.Bool
	armed.Store(true)
	return grantEndedAtArmedRenewal(t, &armed, "the provider refused the refresh token elsewhere", 0, then)
}

// grantEndedAtArmedRenewal is grantEndedAtRenewal for the first renewal
// whose request reaches the provider once armed is set (it unsets it): the
// note says says, and is dated later than the rig's clock by later.
func grantEndedAtArmedRenewal(t *testing.T, armed *atomic.Bool, says string, later time.Duration, then func()) *rig {
	var r *rig
	r = newRig(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: func(grant string) {
		if grant != "refresh_token" || !armed.CompareAndSwap(true, false) {
			return
		}
		rec := r.record()
		rec.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: says, At: r.clock.Now().Add(later)}
		if err := r.store.Save(context.Background(), r.settings.Env, rec); err != nil {
			t.Error(err)
		}
		if then != nil {
			then()
		}
	}})
	return r
}

// TestAForcedRenewalAfterANoteMeetsANewerNote: a forced renewal of tokens
// kept beside a note that the grant ended (as a paused renewal keeps them:
// TestAnswerNotSavedOverAGrantEndedNote) reads that note; while the
// provider answers, another renewer notes the grant ended again, later,
// having spent the same refresh token. That newer note stands, as the
// first one would: the answer is not saved over it.
func TestAForcedRenewalAfterANoteMeetsANewerNote(t *testing.T) {
	var armed atomic.Bool
	r := grantEndedAtArmedRenewal(t, &armed, "the provider refused the refresh token again", time.Minute, nil)
	src := r.sourceOn(r.store)
	r.login(src)
	rec := r.record()
	rec.AccessToken, rec.TokenType, rec.Expiry = "", "", time.Time{}
	rec.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: r.clock.Now()}
	if err := r.store.Save(context.Background(), r.settings.Env, rec); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("Renew: %v; want ErrLoginRequired, the grant ended again meanwhile", err)
	}
	if got := r.record(); got.Problem == nil || !strings.HasPrefix(got.Problem.Message, "the provider refused the refresh token again") || got.AccessToken != "" {
		t.Fatalf("after the forced renewal: %+v; want the newer note standing, no access token beside it", got)
	}
}
