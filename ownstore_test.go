package freshtoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
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

// TestOwnStoreOfJSONKeepsARotatingGrant: a store of a program's own that
// saves a record with json.Marshal and reads it with json.Unmarshal, as
// programs wrote theirs with every earlier version, keeps a grant whose
// provider rotates refresh tokens and refuses one used again alive across
// a renewal and a new process. While json.Marshal of a Record masked its
// tokens, the renewal stored the new refresh token masked, after the
// provider had let go of the old one: the next process could not read the
// record, and the grant needed a browser log-in.
func TestOwnStoreOfJSONKeepsARotatingGrant(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	dir, locks := t.TempDir(), filepath.Join(t.TempDir(), "locks")
	src := r.sourceOn(&jsonStore{dir: dir, locks: filestore.New(locks)})
	r.login(src)
	r.clock.Advance(time.Hour)
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}

	next := r.sourceOn(&jsonStore{dir: dir, locks: filestore.New(locks)}) // a new process
	r.clock.Advance(time.Hour)
	if _, err := next.Token(); err != nil {
		t.Fatalf("a new process renewing the tokens its store kept: %v", err)
	}
	if got := getStatus(t, next, r.url+"/v2/company"); got != http.StatusOK {
		t.Fatalf("the API answered %d", got)
	}
	if st := r.provider.Stats(); st.Refreshes != 2 || st.GrantsRevoked != 0 {
		t.Fatalf("provider: %+v; want two renewals and the grant alive", st)
	}
}

// jsonStore is a store of a program's own that keeps each record in a file
// of dir as json.Marshal writes it, its lock the file store's in locks.
type jsonStore struct {
	dir   string
	locks *filestore.Store
}

func (s *jsonStore) file(env string) string { return filepath.Join(s.dir, env+".json") }

func (s *jsonStore) Load(_ context.Context, env string) (*store.Record, error) {
	b, err := os.ReadFile(s.file(env))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var r store.Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", store.ErrCorrupt, s.file(env), err)
	}
	return &r, nil
}

func (s *jsonStore) Save(_ context.Context, env string, r *store.Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return os.WriteFile(s.file(env), b, 0o600)
}

func (s *jsonStore) Delete(_ context.Context, env string) error {
	if err := os.Remove(s.file(env)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s *jsonStore) Lock(ctx context.Context, env string) (func(), error) {
	return s.locks.Lock(ctx, env)
}

func (s *jsonStore) Location(env string) string { return s.file(env) }
