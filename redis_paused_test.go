package freshtoken_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestRedisPausedWhileTheProviderAnswers: Redis paused (SIGSTOP here; a VM
// migration, a long fork) for longer than the renewal lock lives, while
// machine A's token request is in flight, expires A's lock by Redis's
// clock. The provider answered A and rotated the refresh token; A could
// not save meanwhile. When Redis ran again, machine B's lock attempt,
// reaching Redis before A's save, took the lock, read the old tokens and
// sent the refresh token A's answer replaced: the provider ended the
// grant, and A's save was refused. Now the in-flight mark A set with its
// last check of the lock, just before its token request, keeps B waiting,
// A's save is taken under it, and B uses A's tokens.
//
// The test makes B's lock attempt reach Redis before A's save: A's answer
// is held in A's transport until Redis, run again, has run B's attempt
// (seen through MONITOR). B comes after the pause, or waits for the lock
// through it: a waiter takes the lock from a holder whose mark it watched
// not extended for half the lock's life (a dead holder's), and the pause,
// which held A's extensions up, must not count; A's answer is then held
// until B has polled Redis for longer than that after the pause.
func TestRedisPausedWhileTheProviderAnswers(t *testing.T) {
	t.Run("the other machine comes after", func(t *testing.T) { redisPausedWhileTheProviderAnswers(t, false) })
	t.Run("the other machine waits through it", func(t *testing.T) { redisPausedWhileTheProviderAnswers(t, true) })
}

func redisPausedWhileTheProviderAnswers(t *testing.T, waitThrough bool) {
	// Long enough that the holder's extensions (a third of it apart) come well
	// within a waiter's grace (half of it) on a loaded machine.
	const lockTTL = 600 * time.Millisecond
	srv := redistest.Start(t)
	newStore := func() *redisstore.Store {
		st := redistest.OpenStore(t, srv.URL)
		st.LockTTL = lockTTL
		st.InFlightTTL = 30 * time.Second // past the pause; never waited for
		return st
	}
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour}) // a reused refresh token ends the grant
	r.login(r.sourceOn(newStore()))
	b := r.sourceOn(newStore())

	type result struct {
		tok *oauth2.Token
		err error
	}
	bDone := make(chan result, 1)
	var once sync.Once
	hold := func() {
		once.Do(func() {
			// A has the provider's answer, which rotated the refresh
			// token, and has not saved it yet.
			holderA := srv.Get(t, "freshtoken:sandbox:lock")
			if holderA == "" {
				t.Error("A's lock is gone before Redis was paused")
				return
			}
			seen := srv.Monitor(t)
			// B's lock attempts: a script on A's lock key, without A's
			// value (every script of A's passes its value, and a takeover
			// of B's too).
			attempt := func(line string) bool {
				return strings.Contains(line, `] "eval`) && strings.Contains(line, `"freshtoken:sandbox:lock"`) && !strings.Contains(line, holderA)
			}
			startB := func() {
				go func() {
					tok, err := b.Token()
					bDone <- result{tok, err}
				}()
			}
			if waitThrough {
				startB()
				for n := 0; n < 2; {
					if attempt(<-seen) {
						n++
					}
				}
			}
			srv.Pause(t)
			// What is tested is Redis's clock passing the lock's end while
			// Redis is stopped: nothing extends it meanwhile.
			time.Sleep(3 * lockTTL)
			resumed := float64(time.Now().UnixMicro()) / 1e6
			srv.Resume(t)
			if !waitThrough {
				startB()
			}
			for {
				select {
				case line := <-seen:
					if !attempt(line) {
						continue
					}
					if !waitThrough {
						return
					}
					// Redis's time of B's attempt: B has watched A's mark,
					// which A extends, for longer than the grace since the
					// pause.
					at, _, _ := strings.Cut(line, " ")
					if ts, err := strconv.ParseFloat(at, 64); err == nil && ts > resumed+lockTTL.Seconds() {
						return
					}
				case got := <-bDone: // B went ahead without A's answer
					bDone <- got
					return
				}
			}
		})
	}
	a, err := freshtoken.New(r.settings, freshtoken.Options{Store: newStore(), Clock: r.clock.Now, HTTPClient: &http.Client{Transport: afterAnswer(hold)}})
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour) // both need a renewal

	tokA, errA := a.Token()
	got := <-bDone
	if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v (A: %v; B: %v): B sent the refresh token A's answer replaced, and the grant ended", st, errA, got.err)
	}
	if errA != nil || got.err != nil {
		t.Fatalf("A: %v; B: %v; want both served", errA, got.err)
	}
	if tokA.AccessToken != got.tok.AccessToken {
		t.Fatalf("A got %q, B %q; want B to use the tokens A's renewal stored", tokA.AccessToken, got.tok.AccessToken)
	}
	stored, err := newStore().Load(context.Background(), "sandbox")
	if err != nil || stored.AccessToken != tokA.AccessToken {
		t.Fatalf("Redis holds %+v, %v; want A's answer", stored, err)
	}
	if n, v := r.provider.Stats().Refreshes, srv.Get(t, "freshtoken:sandbox:renewing"); n != 1 || v != "" {
		t.Fatalf("refreshes = %d, in-flight mark %q; want A's one renewal, and its mark cleared with its save", n, v)
	}
	r.clock.Advance(2 * time.Hour) // the stored refresh token is the live one
	if _, err := r.sourceOn(newStore()).Token(); err != nil {
		t.Fatalf("the next renewal: %v", err)
	}
}
