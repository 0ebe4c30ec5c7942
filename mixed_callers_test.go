package freshtoken_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestMixedCallersRefreshOncePerRenewalNeeded: goroutines spread over three
// Sources on one store (two sharing a store.Store, one with its own, as
// another process would; in Redis, each with its own, as machines would)
// ask at once for tokens, forced renewals and API requests, across
// expiries, access tokens revoked (401s) and contexts that end at any
// step. Each expiry and each revocation costs exactly one refresh, a
// forced renewal never returns the token it was to replace, every request
// succeeds, and the provider, which rotates refresh tokens, sees none
// spent twice.
func TestMixedCallersRefreshOncePerRenewalNeeded(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: 10 * time.Minute, RefreshesPerMinute: 1000000, RequestsPerMinute: -1})
		dir := t.TempDir() + "/tokens"
		r.store = filestore.New(dir)
		a := r.loggedInSource()
		mixedCallers(t, r, []*freshtoken.Source{a, r.source(), r.sourceOn(filestore.New(dir))})
	})
	t.Run("redis", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: 10 * time.Minute, RefreshesPerMinute: 1000000, RequestsPerMinute: -1})
		srv := redistest.Start(t)
		var srcs []*freshtoken.Source
		for range 3 {
			st, err := redisstore.New(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			srcs = append(srcs, r.sourceOn(st))
		}
		r.login(srcs[0])
		mixedCallers(t, r, srcs)
	})
}

func mixedCallers(t *testing.T, r *rig, srcs []*freshtoken.Source) {
	record := func() string {
		rec, err := srcs[0].Record(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return rec.AccessToken
	}
	api := r.url + "/v2/contacts"
	// Phases of three kinds in turn: 0, every token due; 1, every token
	// refused; 2, a random wait, the tokens refused or not, and forced
	// renewals among the callers.
	for phase := range 60 {
		kind := phase % 3
		before := r.provider.Stats()
		prev := record()
		switch kind {
		case 0:
			r.clock.Advance(9*time.Minute + 30*time.Second)
		case 1:
			r.clock.Advance(2 * time.Second)
			r.provider.RevokeAccessTokens()
		case 2:
			r.clock.Advance(time.Duration(120+rand.IntN(480)) * time.Second)
			if rand.IntN(2) == 0 {
				r.provider.RevokeAccessTokens()
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []string
		renews := 0
		for i := range 24 {
			src := srcs[i%len(srcs)]
			op := rand.IntN(3)
			if kind != 2 && op == 1 {
				op = 0
			}
			if op == 1 {
				renews++
			}
			wg.Go(func() {
				ctx := context.Background()
				if kind == 2 && rand.IntN(4) == 0 { // a context that ends at some step
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, time.Duration(rand.IntN(3000))*time.Microsecond)
					defer cancel()
				}
				fail := func(f string, args ...any) {
					if ctx.Err() != nil {
						return
					}
					mu.Lock()
					errs = append(errs, fmt.Sprintf("phase %d caller %d: ", phase, i)+fmt.Sprintf(f, args...))
					mu.Unlock()
				}
				switch op {
				case 0:
					tok, err := src.TokenContext(ctx)
					if err != nil {
						fail("Token: %v", err)
					} else if kind == 0 && tok.AccessToken == prev {
						fail("Token: the token due")
					}
				case 1:
					tok, err := src.Renew(ctx)
					if err != nil {
						fail("Renew: %v", err)
					} else if tok.AccessToken == prev {
						fail("Renew: returned the token it was to replace")
					}
				case 2:
					req, _ := http.NewRequestWithContext(ctx, "GET", api, nil)
					resp, err := src.Client().Do(req)
					if err != nil {
						fail("GET: %v", err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						fail("GET: %d", resp.StatusCode)
					}
				}
			})
		}
		wg.Wait()
		after := r.provider.Stats()
		for _, e := range errs {
			t.Error(e)
		}
		n := after.Refreshes - before.Refreshes
		switch {
		case after.ReuseDetected != 0 || after.GrantsRevoked != 0:
			t.Fatalf("phase %d: reuse %d, grants revoked %d", phase, after.ReuseDetected, after.GrantsRevoked)
		case kind != 2 && n != 1:
			t.Errorf("phase %d (kind %d): %d refreshes, want 1", phase, kind, n)
		case kind == 2 && n > renews+2:
			t.Errorf("phase %d: %d refreshes for %d renews", phase, n, renews)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}
