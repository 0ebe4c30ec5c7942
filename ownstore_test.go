package freshtoken_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestOwnStoreUnreachableAsStoreSays: what store.Store says of a store of a
// program's own that cannot be reached holds. One whose failure wraps
// store.ErrUnreachable, down while the access token is due for renewal but
// still valid, has the token served with a warning, and, once the token
// has expired, callers told by store.ErrUnreachable and
// freshtoken.ErrUnreachable; one whose failure wraps no sentinel is a
// refusal, and the due token is not served.
func TestOwnStoreUnreachableAsStoreSays(t *testing.T) {
	for _, c := range []struct {
		name        string
		err         error
		servesValid bool
	}{
		{"unreachable", fmt.Errorf("%w: dial tcp db.internal:5432: connection refused", store.ErrUnreachable), true},
		{"refusal", errors.New("pq: permission denied for table tokens"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := loggedIn(t)
			st := &ownStore{Store: r.store, downErr: c.err}
			logs := testenv.NewOutput()
			src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now,
				Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatal(err)
			}
			valid, err := src.Token()
			if err != nil {
				t.Fatal(err)
			}
			st.down.Store(true)
			r.clock.Advance(time.Hour - 30*time.Second) // due, 30 s left
			tok, err := src.Token()
			switch {
			case c.servesValid && (err != nil || tok.AccessToken != valid.AccessToken):
				t.Fatalf("the still valid token was not served while the store was down: %v", err)
			case c.servesValid && !strings.Contains(logs.String(), "WARN"):
				t.Fatalf("serving the still valid token was not warned of:\n%s", logs.String())
			case !c.servesValid && !errors.Is(err, c.err):
				t.Fatalf("the store's refusal: err = %v, want it", err)
			}
			r.clock.Advance(time.Minute) // expired
			_, err = src.Token()
			if !errors.Is(err, c.err) || errors.Is(err, freshtoken.ErrUnreachable) != c.servesValid || errors.Is(err, store.ErrUnreachable) != c.servesValid {
				t.Fatalf("expired, the store down: err = %v", err)
			}
			if st := r.provider.Stats(); st.Refreshes != 0 {
				t.Fatalf("%d refreshes sent without the store", st.Refreshes)
			}
		})
	}
}
