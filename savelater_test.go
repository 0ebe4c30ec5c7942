package freshtoken_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestAKeptAnswerEndsItsTriesOnceElsewhereDone: the goroutine that keeps
// trying to save a renewal's answer the store refused took the lock once
// more after the answer was saved by the next renewal, or dropped by a
// log-out, its wait between tries running on: a program that then logged
// out, or deleted the token folder, found the lock file, and the folder,
// back up to 5 seconds later (the test suite left hundreds of folders
// holding only tokens/sandbox.lock in /tmp). The tries now end at once,
// and a log-out drops the answer, which would replace the tokens it
// deleted. The waits between tries here last until the test says.
func TestAKeptAnswerEndsItsTriesOnceElsewhereDone(t *testing.T) {
	for _, then := range []string{"renewed", "logged out"} {
		t.Run(then, func(t *testing.T) {
			r, own := loggedInOnOwnStore(t)
			src := r.sourceOn(own)
			waited := make(chan struct{})
			pauseUntil(src, waited)
			lockFile := filepath.Join(filepath.Dir(src.Location()), "sandbox.lock")
			own.broken.Store(true)
			if _, err := src.Renew(context.Background()); err == nil {
				t.Fatal("a renewal whose answer the store refused succeeded")
			}
			own.broken.Store(false)
			switch then {
			case "renewed": // the next renewal saves the kept answer first
				if _, err := src.Renew(context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := os.RemoveAll(filepath.Dir(lockFile)); err != nil {
					t.Fatal(err)
				}
			case "logged out":
				if err := src.Logout(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			close(waited) // the wait between tries is over
			testenv.WaitFor(t, "the saving goroutine to end", func() bool { return savingGoroutines() == 0 })
			if _, err := os.Lstat(lockFile); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s is there once the kept answer was %s (%v); want the store left alone", lockFile, then, err)
			}
		})
	}
}

// TestAKeptAnswerOutlivesARedisRestart: Redis refuses a renewal's answer,
// which the process keeps, and then restarts without persistence, empty.
// The goroutine saving the answer took the empty store for a log-out and
// dropped it, the grant's one live refresh token; the process's next
// renewal then put back the tokens it had read, whose refresh token the
// answer had rotated out, and spent it: the provider ended the grant. The
// goroutine now puts back what the renewal read, as a renewal does (see
// TestSourcePutsBackWhatARestartLost), and saves the answer in its place.
func TestAKeptAnswerOutlivesARedisRestart(t *testing.T) {
	testenv.WaitFor(t, "earlier tests' saving goroutines to end", func() bool { return savingGoroutines() == 0 })
	srv := redistest.StartWithoutPersistence(t)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	st := &refusingRedis{Store: redistest.OpenStore(t, srv.URL)}
	a := r.sourceOn(st)
	r.login(a)
	read, err := a.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	pauseUntil(a, waited)
	st.broken.Store(true)
	if _, err := a.Renew(context.Background()); err == nil {
		t.Fatal("a renewal whose answer Redis refused succeeded")
	}
	st.broken.Store(false)
	srv.Restart(t)
	close(waited) // the saving goroutine tries again
	testenv.WaitFor(t, "the saving goroutine to end", func() bool { return savingGoroutines() == 0 })
	got, err := redistest.OpenStore(t, srv.URL).Load(context.Background(), "sandbox")
	if err != nil || got.RefreshToken == read.RefreshToken || got.Renewals != read.Renewals+1 {
		t.Fatalf("Redis holds %v, %v once the goroutine ended; want the kept answer", got, err)
	}
	r.clock.Advance(2 * time.Hour) // the next renewal
	if _, err := a.Token(); err != nil {
		t.Fatal(err)
	}
	if s := r.provider.Stats(); s.ReuseDetected != 0 || s.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want no refresh token spent twice", s)
	}
}

// pauseUntil has src's pauses (those of the saving goroutine) last until
// waited is closed, or they are ended.
func pauseUntil(src *freshtoken.Source, waited <-chan struct{}) {
	freshtoken.SetPause(src, func(ctx context.Context, _ time.Duration) error {
		select {
		case <-waited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// refusingRedis is a Redis store whose saves fail while broken, as a Redis
// out of memory refuses writes.
type refusingRedis struct {
	*redisstore.Store
	broken atomic.Bool
}

func (o *refusingRedis) Save(ctx context.Context, env string, r *store.Record) error {
	if o.broken.Load() {
		return errors.New("OOM command not allowed when used memory > 'maxmemory'")
	}
	return o.Store.Save(ctx, env, r)
}

func (o *refusingRedis) SaveIf(ctx context.Context, env string, r, read *store.Record) error {
	if o.broken.Load() {
		return errors.New("OOM command not allowed when used memory > 'maxmemory'")
	}
	return o.Store.SaveIf(ctx, env, r, read)
}

// TestALogOutRevokesTheKeptAnswersTokens: the store refused a renewal's
// answer, which the process keeps, and a log-out (the proxy page's Log
// out, over a store that takes deletions but refuses writes, as a Redis
// out of memory does) revoked the tokens stored, whose refresh token the
// answer had rotated out, and then forgot the answer: the grant's live
// refresh token was never revoked, and at a provider that ends a grant
// only for its live token, the grant the person asked to end lived on.
// The revocation now sends the kept answer's tokens.
func TestALogOutRevokesTheKeptAnswersTokens(t *testing.T) {
	testenv.WaitFor(t, "earlier tests' saving goroutines to end", func() bool { return savingGoroutines() == 0 })
	var mu sync.Mutex
	var revoked []string
	srv, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		if req.PostForm.Get("token_type_hint") == "refresh_token" {
			mu.Lock()
			revoked = append(revoked, req.PostForm.Get("token"))
			mu.Unlock()
		}
	})
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.RevocationURL = srv.URL + "/revoke"
	own := &ownStore{Store: r.store}
	src := r.sourceOn(own)
	r.login(src)
	read, err := src.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pauseUntil(src, nil) // the saving goroutine makes no try
	own.broken.Store(true)
	if _, err := src.Renew(context.Background()); err == nil {
		t.Fatal("a renewal whose answer the store refused succeeded")
	}
	if err := src.Revoke(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := src.LogoutOf(context.Background(), read); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(revoked) != 1 || revoked[0] == read.RefreshToken || revoked[0] == "" {
		t.Fatalf("revoked %d refresh tokens, the stored one: %t; want the one the kept answer holds", len(revoked), len(revoked) > 0 && revoked[0] == read.RefreshToken)
	}
}
