package freshtoken_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestLogoutLetsNoRenewalInBetween: a log-out revoked the grant under the
// renewal lock, let the lock go, and took it again to delete the tokens. A
// keeper (another process, a proxy or a service) waiting for the lock took
// it in between and renewed with the refresh token just revoked: the
// provider answered invalid_grant, the store noted the grant as ended, and
// a "grant ended, log in again" notice could go out for an environment
// logged out of on purpose. RevokeAndLogoutOf revokes and deletes under one
// hold of the lock: the keeper, waiting meanwhile, finds no tokens, and
// sends nothing, on the file, Redis and keychain stores alike.
func TestLogoutLetsNoRenewalInBetween(t *testing.T) {
	for _, kind := range []string{"file", "redis", "keyring"} {
		t.Run(kind, func(t *testing.T) {
			newStore := sharedStore(t, kind)
			r := newRig(t, devprovider.Options{})
			r.settings.RevocationURL = r.url + "/v2/revoke"
			st := &heldStore{Store: newStore()}
			src, loggedIn := r.loggedInOn(st)
			ctx := context.Background()
			keeper := r.sourceOn(newStore()) // another process's, on the same store
			renewed := make(chan error, 1)
			var sent int // token requests before the keeper's renewal
			st.held = func() {
				// The log-out holds the lock: the keeper comes to renew, and waits.
				sent = r.provider.Stats().TokenRequests
				var once sync.Once
				waiting := make(chan struct{})
				go func() {
					_, err := keeper.Renew(store.WithWaiting(ctx, func() { once.Do(func() { close(waiting) }) }))
					renewed <- err
				}()
				<-waiting
			}
			st.released = func() { // let go: the keeper takes the lock, and renews, before the log-out goes on
				if err := <-renewed; !errors.Is(err, store.ErrNotFound) {
					t.Errorf("the keeper's renewal once the log-out let go of the lock: %v; want no tokens found (store.ErrNotFound)", err)
				}
				if n := r.provider.Stats().TokenRequests - sent; n != 0 {
					t.Errorf("the keeper sent %d token requests (the refresh token just revoked) between the revocation and the deletion; want none", n)
				}
			}
			st.armed.Store(true)
			_, kept, revokeErr, err := src.RevokeAndLogoutOf(ctx, loggedIn)
			if kept || revokeErr != nil || err != nil {
				t.Fatalf("RevokeAndLogoutOf: kept %t, revocation %v, log-out %v; want both done", kept, revokeErr, err)
			}
			if s := r.provider.Stats(); s.Revocations == 0 {
				t.Fatal("nothing was revoked; want the grant revoked")
			}
			if rec, err := newStore().Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after the log-out the store holds %+v (%v); want nothing", rec, err)
			}
		})
	}
}

// TestLogoutRevokesTheTokensOfARenewalItWaitedFor: a log-out that finds a
// keeper renewing, and waits for the lock, revokes the refresh token the
// keeper has just stored, not the one it read before the wait, which the
// renewal rotated out (the grant would live on where the provider revokes
// only the token it is sent).
func TestLogoutRevokesTheTokensOfARenewalItWaitedFor(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	dir := t.TempDir() + "/tokens"
	r.store = filestore.New(dir)
	var mu sync.Mutex
	var revoked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		mu.Lock()
		revoked = append(revoked, req.PostForm.Get("token_type_hint")+" "+req.PostForm.Get("token"))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.settings.RevocationURL = srv.URL + "/revoke"
	src := r.loggedInSource()
	ctx := context.Background()
	loggedIn, err := src.Record(ctx) // read before the wait
	if err != nil {
		t.Fatal(err)
	}
	st := &heldStore{Store: filestore.New(dir)} // another process's, on the same folder
	keeper := r.sourceOn(st)
	loggedOut := make(chan error, 1)
	st.held = func() {
		// The keeper holds the lock: the log-out comes, and waits.
		var once sync.Once
		waiting := make(chan struct{})
		go func() {
			_, _, revokeErr, err := src.RevokeAndLogoutOf(store.WithWaiting(ctx, func() { once.Do(func() { close(waiting) }) }), loggedIn)
			loggedOut <- errors.Join(revokeErr, err)
		}()
		<-waiting
	}
	var stored *store.Record // by the keeper's renewal
	st.releasing = func() {
		if stored, err = r.store.Load(ctx, "sandbox"); err != nil {
			t.Error(err)
		}
	}
	st.armed.Store(true)
	if _, err := keeper.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-loggedOut; err != nil {
		t.Fatalf("the log-out that waited for the keeper: %v", err)
	}
	if stored == nil || stored.RefreshToken == loggedIn.RefreshToken {
		t.Fatal("the keeper's renewal kept the refresh token; want it rotated")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(revoked) == 0 || revoked[0] != "refresh_token "+stored.RefreshToken {
		t.Fatalf("revoked first %q; want the refresh token the keeper stored while the log-out waited", revoked)
	}
}

// heldStore is a Store whose first Lock once armed, taken, calls held
// before it returns, and whose release of it calls releasing (unless nil)
// before the lock is let go and released (unless nil) after.
type heldStore struct {
	store.Store
	armed               atomic.Bool
	held                func()
	releasing, released func()
}

func (h *heldStore) Lock(ctx context.Context, env string) (func(), error) {
	unlock, err := h.Store.Lock(ctx, env)
	if err != nil || !h.armed.CompareAndSwap(true, false) {
		return unlock, err
	}
	h.held()
	return func() {
		if h.releasing != nil {
			h.releasing()
		}
		unlock()
		if h.released != nil {
			h.released()
		}
	}, nil
}

// TestRevokeAndLogoutOfUnderStopsWhereHeldSays: held runs under the
// renewal lock before anything is sent or deleted, with a revocation
// endpoint and without one; its error keeps the tokens, nothing revoked,
// and is the revocation's. A log-out checking its configuration only after
// the hold said that tokens it had ended may have moved.
func TestRevokeAndLogoutOfUnderStopsWhereHeldSays(t *testing.T) {
	for _, c := range []struct {
		name       string
		revocation bool
		moved      error
	}{
		{"revocation endpoint", true, errors.New("the configuration names another store now")},
		{"none", false, errors.New("the configuration names another store now")},
		// A refusal that wraps an error the revocation's own outcome
		// forgets the tokens for: they were forgotten all the same.
		{"revocation endpoint, held's error wraps store.ErrChanged", true, fmt.Errorf("moved: %w", store.ErrChanged)},
		{"none, held's error wraps ErrGrantRevoked", false, fmt.Errorf("moved: %w", freshtoken.ErrGrantRevoked)},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{})
			if c.revocation {
				r.settings.RevocationURL = r.url + "/v2/revoke"
			}
			src, loggedIn := r.loggedInOn(r.store)
			moved := c.moved
			var lockHeld bool
			_, kept, revokeErr, err := src.RevokeAndLogoutOfUnder(context.Background(), loggedIn, func() error {
				noWait, cancel := context.WithCancel(context.Background())
				cancel()
				unlock, err := r.store.Lock(noWait, "sandbox")
				if err == nil {
					unlock()
				}
				lockHeld = err != nil
				return moved
			})
			if !kept || !errors.Is(revokeErr, moved) || err != nil {
				t.Fatalf("RevokeAndLogoutOfUnder: kept %t, revocation %v, log-out %v; want kept, the revocation's error held's", kept, revokeErr, err)
			}
			if !lockHeld {
				t.Error("held ran with the renewal lock free")
			}
			if n := r.provider.Stats().Revocations; n != 0 {
				t.Errorf("%d revocations sent; want none", n)
			}
			if rec, err := r.store.Load(context.Background(), "sandbox"); err != nil || rec.RefreshToken != loggedIn.RefreshToken {
				t.Fatalf("the tokens after the log-out held stopped: %v; want them kept", err)
			}
		})
	}
}
