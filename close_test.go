package freshtoken_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestCloseSavesAnUnsavedRotation: Redis refuses to save a renewal's
// answer, which rotated the refresh token (the user may take the lock and
// read the record, not write it: a real ACL), so the process keeps the
// answer and tries again in the background, without the lock. A program
// that then closes its Store (defer st.Close()) and exits lost the new
// tokens: Close waited only for a lock held, and the record in Redis kept
// the refresh token the provider had rotated out, so the next run needed a
// browser log-in. Close now makes one last try at once, waiting for a try
// under way: with Redis taking writes again, the answer is stored and the
// grant lives on; with Redis still refusing, Close says that the new tokens
// could not be stored and what that costs. A renewal under way as Close
// is called, whose answer Redis refuses, has its answer tried too, once it
// unlocks: Close looked for kept answers before it waited for the lock,
// found none, and returned nil.
func TestCloseSavesAnUnsavedRotation(t *testing.T) {
	t.Run("store works again", func(t *testing.T) { closeWithUnsavedRotation(t, true, false) })
	t.Run("store still refuses", func(t *testing.T) { closeWithUnsavedRotation(t, false, false) })
	t.Run("renewal under way", func(t *testing.T) { closeWithUnsavedRotation(t, false, true) })
}

// closeWithUnsavedRotation closes a Redis store whose user may no longer
// write the record, once a renewal's answer was refused, or while a renewal
// waits for its answer (underWay); with worksAgain, the user may write again
// just before Close.
func closeWithUnsavedRotation(t *testing.T, worksAgain, underWay bool) {
	testenv.WaitFor(t, "earlier tests' saving goroutines to end", func() bool { return savingGoroutines() == 0 })
	srv := redistest.Start(t)
	srv.SetFleetUser(t, "freshtoken", "pw")
	st, err := redisstore.New("redis://freshtoken:pw@" + srv.Addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.login(r.sourceOn(st))
	var (
		closing  = make(chan error, 1)
		answered atomic.Bool
	)
	// With underWay, the provider's answer comes back once Redis refuses
	// writes and Close waits for the renewal's lock.
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now, HTTPClient: &http.Client{Transport: afterAnswer(func() {
		if !underWay || answered.Swap(true) {
			return
		}
		srv.SetUser(t, "freshtoken", "resetkeys", "%R~freshtoken:*", "~freshtoken:*:lock", "~freshtoken:*:renewing")
		go func() { closing <- st.Close() }()
		testenv.WaitFor(t, "Close to wait for the renewal lock", closeWaits)
	})}})
	if err != nil {
		t.Fatal(err)
	}
	// The background tries wait until the test ends: only Close tries.
	held := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(held) }) }
	t.Cleanup(free)
	freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error {
		select {
		case <-held:
		case <-ctx.Done():
			return ctx.Err()
		}
		return httpx.Wait(ctx, d)
	})
	admin, err := redisstore.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	stored := func() *store.Record {
		t.Helper()
		rec, err := admin.Load(context.Background(), "sandbox")
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	spent := stored().RefreshToken

	if !underWay {
		srv.SetUser(t, "freshtoken", "resetkeys", "%R~freshtoken:*", "~freshtoken:*:lock", "~freshtoken:*:renewing") // the record may be read, not written
	}
	if _, err := src.Renew(context.Background()); err == nil || !strings.Contains(err.Error(), "could not be saved") {
		t.Fatalf("err = %v; want the renewal's answer refused by Redis", err)
	}
	if n := r.provider.Stats().Refreshes; n != 1 {
		t.Fatalf("refreshes = %d; want the one whose answer Redis refused", n)
	}
	if stored().RefreshToken != spent {
		t.Fatal("Redis changed while it refused writes")
	}

	if underWay {
		err := <-closing
		if err == nil || !strings.Contains(err.Error(), "could not be stored") {
			t.Fatalf("Close: %v; want it to say the renewal's new tokens could not be stored", err)
		}
		if stored().RefreshToken != spent {
			t.Fatal("Redis changed while it refused writes")
		}
	} else if worksAgain {
		srv.SetUser(t, "freshtoken", "~freshtoken:*")
		if err := st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if stored().RefreshToken == spent {
			t.Fatal("after Close, Redis still holds the refresh token the provider rotated out: the renewal's answer was lost")
		}
		r.clock.Advance(2 * time.Hour)
		next, err := redisstore.New(srv.URL) // the program's next run
		if err != nil {
			t.Fatal(err)
		}
		defer next.Close()
		if _, err := r.sourceOn(next).Token(); err != nil {
			t.Fatalf("the next run: %v", err)
		}
		if st := r.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
			t.Fatalf("stats %+v: the rotated-out refresh token was spent again", st)
		}
	} else {
		err := st.Close()
		if err == nil {
			t.Fatal("Close returned nil, with the renewal's new tokens never stored")
		}
		msg := err.Error()
		for _, want := range []string{"sandbox", "could not be stored", "NOPERM", "log-in will be needed"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Close: %q; want it to say %q", msg, want)
			}
		}
		t.Log(msg)
		if strings.Contains(msg, "\n") {
			t.Errorf("Close: %q; want one line", msg)
		}
		if stored().RefreshToken != spent {
			t.Fatal("Redis changed while it refused writes")
		}
	}
	// The background tries end with the Store: there is no more to try through it.
	free()
	testenv.WaitFor(t, "the saving goroutine to end", func() bool { return savingGoroutines() == 0 })
}

// closeWaits reports whether a redisstore.Store's Close waits for a
// renewal lock the Store holds.
func closeWaits() bool {
	for g := range strings.SplitSeq(goroutines(), "\n\n") {
		if strings.Contains(g, "redisstore.(*Store).Close") && strings.Contains(g, "sync.(*Cond).Wait") {
			return true
		}
	}
	return false
}
