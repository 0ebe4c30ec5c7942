package freshtoken_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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

// TestLockWaitToldOnceForOneOutage: renewals that each wait for the lock
// of a Redis that takes connections and answers nothing (paused), one
// after the other as renewals' rests end, warn of the wait once for the
// outage, not at each renewal: a proxy's log said "waiting for the
// renewal lock…" every 7 s for as long as Redis was silent. Once Redis
// has answered, a wait is warned of again.
func TestLockWaitToldOnceForOneOutage(t *testing.T) {
	srv := redistest.Start(t)
	rs, err := redisstore.New(srv.URL + "?max_retries=-1&read_timeout=2s") // one try of 2 s
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	logs := testenv.NewOutput()
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: rs, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src)
	const waiting = "waiting for the renewal lock"
	for outage := range 2 {
		r.clock.Advance(2 * time.Hour) // expired
		before := strings.Count(logs.String(), waiting)
		srv.Pause(t)
		for range 2 {
			if _, err := src.Token(); !errors.Is(err, store.ErrUnreachable) {
				t.Fatalf("a renewal Redis leaves unanswered: %v; want store.ErrUnreachable", err)
			}
			r.clock.Advance(time.Minute) // past the renewals' rest
		}
		if got := strings.Count(logs.String(), waiting) - before; got != 1 {
			t.Fatalf("outage %d, two renewals: the lock's wait was warned of %d times; want once:\n%s", outage+1, got, logs)
		}
		srv.Resume(t)
		if _, err := src.Token(); err != nil {
			t.Fatalf("a renewal Redis answers: %v", err)
		}
	}
}

// TestLockWaitToldAfterAnUnansweredLockOfAStoreThatDoesNotTell: a store
// that does not tell when it answers (a file store out of files, a
// program's own store) gives up one Lock unanswered, then takes the next:
// a later wait for its lock is warned of. The warning stayed silent for
// the rest of the process's life: only a store's answered call ended the
// outage, and only the Redis and keychain stores tell of one.
func TestLockWaitToldAfterAnUnansweredLockOfAStoreThatDoesNotTell(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	st := &unansweredLocks{Store: r.store}
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src)
	r.clock.Advance(2 * time.Hour) // expired
	st.silent.Store(true)
	if _, err := src.Token(); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("a renewal whose Lock the store gave up unanswered: %v; want store.ErrUnreachable", err)
	}
	st.silent.Store(false)
	r.clock.Advance(time.Minute) // past the renewal's rest
	if _, err := src.Token(); err != nil {
		t.Fatalf("a renewal the store answers: %v", err)
	}

	r.clock.Advance(2 * time.Hour)                                    // expired again
	unlock, err := r.store.Lock(context.Background(), r.settings.Env) // another renewer holds it
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := src.Token()
		done <- err
	}()
	testenv.WaitFor(t, "the wait for a lock another renewer holds to be warned of", func() bool {
		return strings.Contains(logs.String(), "waiting for the renewal lock")
	})
	unlock()
	if err := testenv.Receive(t, "the renewal", done); err != nil {
		t.Fatalf("a renewal once the lock is let go: %v", err)
	}
}

// unansweredLocks is a store whose Lock, while silent, gives up
// unanswered, as a file store out of files does, without telling of
// answers (store.WithAnswered).
type unansweredLocks struct {
	store.Store
	silent atomic.Bool
}

func (u *unansweredLocks) Lock(ctx context.Context, env string) (func(), error) {
	if u.silent.Load() {
		return nil, fmt.Errorf("locking %s: too many open files: %w", env, store.ErrUnreachable)
	}
	return u.Store.Lock(ctx, env)
}
