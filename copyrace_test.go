package freshtoken_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/store"
)

// TestConcurrentRenewalsKeepEachTheirOwnRotation: two environments sharing
// one *http.Client renew at once, and each provider answers with a new
// refresh token but no access token, the two answers read at the same
// time. Each environment stores the refresh token its own provider
// rotated in: the copy of an answer x/oauth2 refuses belongs to the
// request that brought it (run under -race).
func TestConcurrentRenewalsKeepEachTheirOwnRotation(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	var arrived sync.WaitGroup
	arrived.Add(2)
	endpoint := func(env string) *httptest.Server {
		var mu sync.Mutex
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			if first {
				arrived.Done()
				arrived.Wait() // both first requests are in before either is answered
				fmt.Fprintf(w, `{"refresh_token":"rotated-%s","token_type":"bearer"}`, env)
				return
			}
			fmt.Fprintf(w, `{"access_token":"access-%s","refresh_token":"rotated-again-%s","token_type":"bearer","expires_in":3600}`, env, env)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	shared := &http.Client{}
	var srcs []*freshtoken.Source
	for _, env := range []string{"a", "b"} {
		srv := endpoint(env)
		set := r.settings
		set.Env, set.TokenURL = env, srv.URL
		old := &store.Record{AccessToken: "old", TokenType: "bearer", RefreshToken: "first-" + env,
			IssuedAt: r.clock.Now().Add(-2 * time.Hour), Expiry: r.clock.Now().Add(-time.Hour),
			Grant: store.Grant{TokenURL: srv.URL, ClientID: set.ClientID, Type: freshtoken.GrantAuthorizationCode}}
		if err := r.store.Save(context.Background(), env, old); err != nil {
			t.Fatal(err)
		}
		src, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now, HTTPClient: shared})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			rec, err := r.store.Load(ctx, env)
			if err != nil || rec.RefreshToken != "rotated-"+env {
				return fmt.Errorf("%s stored %+v, %v before the retry; want its own rotated-%s", env, rec, err, env)
			}
			return nil
		})
		srcs = append(srcs, src)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(srcs))
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = src.Renew(context.Background())
		}()
	}
	wg.Wait()
	for i, env := range []string{"a", "b"} {
		if errs[i] != nil {
			t.Fatalf("%s: %v", env, errs[i])
		}
		if rec, err := r.store.Load(context.Background(), env); err != nil || rec.RefreshToken != "rotated-again-"+env {
			t.Fatalf("%s: stored %+v, %v; want rotated-again-%s", env, rec, err, env)
		}
	}
}
