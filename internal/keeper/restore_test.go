package keeper

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestKeeperPutsBackWhatARestartLost: a Redis restarted without
// persistence comes back empty, and every machine said "not logged in",
// though the keeper held the grant's latest tokens. The keeper's next look
// puts them back (one warning, saying nothing was lost), and another
// machine reads them; a log-out on another machine after that is never
// undone, by that look or after another restart.
func TestKeeperPutsBackWhatARestartLost(t *testing.T) {
	w := newRestartWorld(t)
	srv, p, clock, log, source := w.srv, w.p, w.clock, w.log, w.source
	st, other := w.newStore(), w.newStore()
	src := source(st)
	devserver.LoginSource(t, src, clock.Now())
	k, n := keepingTold(src, "", clock)
	tells(t, k, n, "")
	held, err := other.Load(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}

	srv.Restart(t)
	if _, err := source(other).Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("another machine after the restart: %v; want a log-in asked for, before the keeper's look", err)
	}
	clock.Advance(time.Minute)
	tells(t, k, n, "")
	back, err := other.Load(context.Background(), "dev")
	if err != nil || back.RefreshToken != held.RefreshToken {
		t.Fatalf("after the keeper's look, another machine reads %v, %v; want the tokens put back", back, err)
	}
	if tok, err := source(other).Token(); err != nil || tok.AccessToken != held.AccessToken {
		t.Fatalf("another machine's token after the put-back: %v, %v", tok, err)
	}
	if got := strings.Count(log.String(), "level=WARN"); got != 1 || !strings.Contains(log.String(), "nothing is lost") {
		t.Fatalf("%d warnings; want one, saying nothing is lost:\n%s", got, log.String())
	}
	if st := p.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want no reuse", st)
	}

	// A log-out on another machine: never put back.
	if err := source(other).Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	tells(t, k, n, "")
	if v := srv.Get(t, "freshtoken:dev"); v != "" {
		t.Fatalf("the log-out was undone: %s", v)
	}
	srv.Restart(t)
	clock.Advance(time.Minute)
	tells(t, k, n, "")
	if v := srv.Get(t, "freshtoken:dev"); v != "" {
		t.Fatalf("the log-out was undone after another restart: %s", v)
	}
}

// TestKeeperReplacesAnOlderPutBack: the keeper holds the latest tokens (its
// process renewed); another machine that read them before that renewal
// finds Redis restarted empty first and puts its older copy back, whose
// refresh token the renewal spent. The keeper's next look took the older
// copy for the stored tokens, and its next renewal sent the spent refresh
// token again; it now puts its later copy back in its place.
func TestKeeperReplacesAnOlderPutBack(t *testing.T) {
	w := newRestartWorld(t)
	srv, p, clock, source, newStore := w.srv, w.p, w.clock, w.source, w.newStore
	st, other := newStore(), newStore()
	src := source(st)
	devserver.LoginSource(t, src, clock.Now())
	k, n := keepingTold(src, "", clock)
	tells(t, k, n, "")
	older := source(other)
	if _, err := older.Token(); err != nil {
		t.Fatal(err)
	}
	renewed, err := source(st).Renew(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	tells(t, k, n, "") // the keeper holds the renewed copy

	srv.Restart(t)
	clock.Advance(time.Minute)
	if _, err := older.Token(); err != nil { // puts its older copy back
		t.Fatal(err)
	}
	tells(t, k, n, "")
	got, err := newStore().Load(context.Background(), "dev")
	if err != nil || got.AccessToken != renewed.AccessToken {
		t.Fatalf("after the keeper's look Redis holds %v, %v; want the keeper's renewed copy", got, err)
	}
	clock.Advance(31 * time.Second) // past the rest after the put-back, which holds back a forced renewal too
	if _, err := source(newStore()).Renew(context.Background()); err != nil {
		t.Fatalf("a renewal on another machine: %v", err)
	}
	if st := p.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want no reuse", st)
	}
}

// restartWorld is a Redis without persistence, the dev provider on a fake
// clock, and the log the Sources of "dev" made by source write to.
type restartWorld struct {
	srv   *redistest.Server
	p     *devprovider.Provider
	clock *fakeclock.Clock
	log   *testenv.Output
	root  string
	t     *testing.T
}

func newRestartWorld(t *testing.T) *restartWorld {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour})
	return &restartWorld{srv: redistest.StartWithoutPersistence(t), p: p, clock: clock, log: testenv.NewOutput(), root: root, t: t}
}

// newStore is a store on the world's Redis, as another machine's.
func (w *restartWorld) newStore() *redisstore.Store {
	return redistest.OpenStore(w.t, w.srv.URL)
}

// source is a Source of "dev" on st.
func (w *restartWorld) source(st store.Store) *freshtoken.Source {
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: w.root + "/v2/token_endpoint", AuthURL: w.root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader},
		freshtoken.Options{Store: st, Clock: w.clock.Now, Logger: slog.New(slog.NewTextHandler(w.log, nil))})
	if err != nil {
		w.t.Fatal(err)
	}
	return src
}

// TestKeeperPutBackWaitsNoLongerForTheLock: Redis restarted without
// persistence while another machine holds the renewal lock (its renewal
// waiting for a slow provider, or an answer Redis refused kept with its
// lock). The keeper's put-back waited for the lock with the keeper's own
// context, unbounded, where a look at the store (freshtoken's
// storeCheckWait) waits a second: the environment's watch stood still,
// its token file and notices with it, for as long as the lock was held.
// It now gives up after putBackWait, puts nothing back without the lock,
// and puts the tokens back at the next round once the lock is free.
func TestKeeperPutBackWaitsNoLongerForTheLock(t *testing.T) {
	w := newRestartWorld(t)
	srv, clock, source := w.srv, w.clock, w.source
	st, other := w.newStore(), w.newStore()
	src := source(st)
	devserver.LoginSource(t, src, clock.Now())
	file := filepath.Join(t.TempDir(), "token")
	k, n := keepingTold(src, file, clock)
	tells(t, k, n, "")
	held, err := other.Load(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}

	srv.Restart(t)
	unlock, err := other.Lock(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	clock.Advance(time.Minute)
	done := make(chan struct{})
	go func() {
		k.round(context.Background(), time.Minute)
		close(done)
	}()
	testenv.Receive(t, "the keeper's round, another machine holding the lock its put-back waits for", done)
	if got := n.Current(); len(got) != 0 {
		t.Fatalf("notices %+v after a put-back the lock held back; want none: nothing is lost", got)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != held.AccessToken+"\n" {
		t.Fatalf("token file after a put-back the lock held back: %q, %v; want the token held, kept", b, err)
	}
	if v := srv.Get(t, "freshtoken:dev"); v != "" {
		t.Fatalf("put back without the lock: %s", v)
	}
	unlock()
	clock.Advance(time.Minute)
	k.round(context.Background(), time.Minute)
	back, err := other.Load(context.Background(), "dev")
	if err != nil || back.RefreshToken != held.RefreshToken {
		t.Fatalf("after the next round, Redis holds %v, %v; want the tokens put back", back, err)
	}
}
