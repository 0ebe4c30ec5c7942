package freshtoken_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// rig is one environment wired to a dev provider over loopback HTTP.
type rig struct {
	t        *testing.T
	clock    *fakeclock.Clock
	provider *devprovider.Provider
	url      string // the provider's root, no trailing slash
	store    *filestore.Store
	settings freshtoken.Settings
}

// newRig starts a provider with popts (its Clock is set to the rig's) and
// returns settings for it; change r.settings before calling r.source.
func newRig(t *testing.T, popts devprovider.Options) *rig {
	t.Helper()
	p, base, c := devserver.StartOnClock(t, popts)
	return &rig{
		t: t, clock: c, provider: p, url: base,
		store: filestore.New(t.TempDir() + "/tokens"),
		settings: freshtoken.Settings{
			Env:          "sandbox",
			ClientID:     "dev-client-id",
			ClientSecret: "dev-client-secret",
			AuthURL:      base + "/v2/approve_app",
			TokenURL:     base + "/v2/token_endpoint",
			APIURL:       base + "/",
			AuthStyle:    oauth2.AuthStyleInHeader,
			RenewBefore:  time.Minute,
			RetryBackoff: []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond},
		},
	}
}

func (r *rig) source() *freshtoken.Source {
	r.t.Helper()
	return r.sourceOn(r.store)
}

// login obtains a first grant the way a browser would (auto-approved, with
// PKCE), exchanging the code through src's TokenClient as internal/login
// does, and stores it through src.
func (r *rig) login(src *freshtoken.Source) {
	r.t.Helper()
	devserver.LoginSource(r.t, src, r.clock.Now())
}

// loggedInSource is a source for the rig's environment that has logged
// in through the rig.
func (r *rig) loggedInSource() *freshtoken.Source {
	r.t.Helper()
	src := r.source()
	r.login(src)
	return src
}

// wholeGrant takes src through a grant's whole life: a log-in, renewals
// renewals, and revocation.
func (r *rig) wholeGrant(src *freshtoken.Source, renewals int) {
	r.t.Helper()
	r.login(src)
	for range renewals {
		if _, err := src.Renew(context.Background()); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := src.Revoke(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// moveTokenEndpoint points the environment at a token endpoint at url, and
// the stored grant with it, as if the provider had moved.
func (r *rig) moveTokenEndpoint(url string) {
	r.t.Helper()
	rec := r.record()
	rec.Grant.TokenURL = url
	if err := r.store.Save(context.Background(), r.settings.Env, rec); err != nil {
		r.t.Fatal(err)
	}
	r.settings.TokenURL = url
}

// tokenAtOnce has n goroutines ask for a token at once, spread over srcs,
// and returns the token they all got; it fails the test unless every one
// got the same.
func tokenAtOnce(t *testing.T, n int, srcs ...*freshtoken.Source) string {
	t.Helper()
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		src := srcs[i%len(srcs)]
		wg.Go(func() {
			tok, err := src.Token()
			errs[i] = err
			if err == nil {
				tokens[i] = tok.AccessToken
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || tokens[i] != tokens[0] {
			t.Fatalf("caller %d: %q, %v; want %q", i, tokens[i], errs[i], tokens[0])
		}
	}
	return tokens[0]
}

func (r *rig) record() *store.Record {
	r.t.Helper()
	rec, err := r.store.Load(context.Background(), r.settings.Env)
	if err != nil {
		r.t.Fatal(err)
	}
	return rec
}

// regrant stores the rig's record again with its grant as edit leaves it,
// as an older freshtoken wrote it (no grant, or one not bound), and
// returns the grant before.
func (r *rig) regrant(edit func(*store.Grant)) store.Grant {
	r.t.Helper()
	rec := r.record()
	was := rec.Grant
	edit(&rec.Grant)
	if err := r.store.Save(context.Background(), r.settings.Env, rec); err != nil {
		r.t.Fatal(err)
	}
	return was
}

// loggedIn is a rig whose access tokens last an hour, with a source that
// has logged in through it.
func loggedIn(t *testing.T) (*rig, *freshtoken.Source) {
	t.Helper()
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	return r, r.loggedInSource()
}

// ownStore is the rig's file store behind a program's own store.Store, as a
// library user may write one: while broken, its Save fails; while down, its
// Load and Lock fail with downErr (a database that cannot be reached, or
// refuses); from the hangFrom-th Load on (0: never), Load waits until its
// context ends; with nilForNone, Load tells of no record with (nil, nil)
// instead of store.ErrNotFound.
type ownStore struct {
	store.Store
	broken     atomic.Bool
	down       atomic.Bool
	downErr    error
	loads      atomic.Int32
	hangFrom   int32
	nilForNone bool
}

func (o *ownStore) Lock(ctx context.Context, env string) (func(), error) {
	if o.down.Load() {
		return nil, o.downErr
	}
	return o.Store.Lock(ctx, env)
}

func (o *ownStore) Load(ctx context.Context, env string) (*store.Record, error) {
	if o.down.Load() {
		return nil, o.downErr
	}
	if n := o.loads.Add(1); o.hangFrom > 0 && n >= o.hangFrom {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	r, err := o.Store.Load(ctx, env)
	if o.nilForNone && errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return r, err
}

func (o *ownStore) Save(ctx context.Context, env string, r *store.Record) error {
	if o.broken.Load() {
		return errors.New("the program's store is down")
	}
	return o.Store.Save(ctx, env, r)
}

// sourceOn is a source for the rig's environment backed by st.
func (r *rig) sourceOn(st store.Store) *freshtoken.Source {
	r.t.Helper()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now})
	if err != nil {
		r.t.Fatal(err)
	}
	return src
}

// sourceWith is a source of set, another environment's settings, over the
// rig's store and on its clock.
func (r *rig) sourceWith(set freshtoken.Settings) *freshtoken.Source {
	r.t.Helper()
	src, err := freshtoken.New(set, freshtoken.Options{Store: r.store, Clock: r.clock.Now})
	if err != nil {
		r.t.Fatal(err)
	}
	return src
}

// getStatus GETs u through src's client, which adds the token, and returns
// the status of the answer, its body read and closed.
func getStatus(t *testing.T, src *freshtoken.Source, u string) int {
	t.Helper()
	return getStatusWith(t, src.Client(), u)
}

// getStatusWith GETs u with c and returns the status of the answer, its
// body read and closed; a request that fails ends the test.
func getStatusWith(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// loggedInLogging is a source for the rig's environment whose debug log
// goes to the Output it returns, logged in through the rig.
func (r *rig) loggedInLogging() (*freshtoken.Source, *testenv.Output) {
	r.t.Helper()
	return r.loggedInLoggingAt(slog.LevelDebug)
}

// loggedInLoggingAt is loggedInLogging with the log from level up.
func (r *rig) loggedInLoggingAt(level slog.Level) (*freshtoken.Source, *testenv.Output) {
	r.t.Helper()
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		r.t.Fatal(err)
	}
	r.login(src)
	return src, logs
}

// givesUp asserts that src.TokenContext(ctx), ctx having ended or about to,
// returns ctx's error (want) within 10 s; who describes the caller.
func givesUp(t *testing.T, src *freshtoken.Source, ctx context.Context, want error, who string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := src.TokenContext(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, want) {
			t.Fatalf("%s got %v, want %v", who, err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s was still waiting 10 s on", who)
	}
}
