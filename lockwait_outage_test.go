package freshtoken_test

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
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
	rs, err := redisstore.New(srv.URL + "?max_retries=-1&read_timeout=3s") // one try of 3 s, its stall told at 2 s
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

// TestLockWaitToldAfterAnOutageOfAStoreThatTellsNoAnswers: a program's own
// store (or the file store, out of file descriptors) whose Lock failed
// with store.ErrUnreachable, at once and telling no stall, works again,
// and a renewal then waits for the lock another renewer holds: the wait
// is warned of. It was never again, for the life of the Source: the
// warning was held back until the store told an answer to a Lock's call
// (store.WithAnswered), which such a store never tells.
func TestLockWaitToldAfterAnOutageOfAStoreThatTellsNoAnswers(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	dir := t.TempDir() + "/tokens"
	r.store = filestore.New(dir)
	st := &ownStore{Store: r.store, downErr: fmt.Errorf("%w: dial tcp db.internal:5432: connection refused", store.ErrUnreachable)}
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src)
	r.clock.Advance(2 * time.Hour) // expired
	st.down.Store(true)
	if _, err := src.Token(); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("a renewal while the store is down: %v; want store.ErrUnreachable", err)
	}
	st.down.Store(false)
	r.clock.Advance(time.Minute)                                        // past the renewals' rest
	unlock, err := filestore.New(dir).Lock(t.Context(), r.settings.Env) // another renewer's
	if err != nil {
		t.Fatal(err)
	}
	renewed := make(chan error, 1)
	go func() {
		_, err := src.Token()
		renewed <- err
	}()
	logs.WaitFor(t, "the wait for the lock another renewer holds warned of", regexp.MustCompile("waiting for the renewal lock"))
	unlock()
	if err := testenv.Receive(t, "the renewal once the lock is free", renewed); err != nil {
		t.Fatalf("the renewal once the lock is free: %v", err)
	}
}
