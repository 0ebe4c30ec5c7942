package freshtoken_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/store"
)

// TestLogoutKeepsAnotherClientsLoginThatLandsInTheGap: a log-out looked at
// the record (this environment's grant), then deleted whatever Redis held:
// another configuration's log-in under the same name, stored by a machine
// that took the lock while the log-out was paused past it, was deleted
// with it. Now only the record looked at is deleted; the one stored in
// between is looked at again, and another client's is kept.
func TestLogoutKeepsAnotherClientsLoginThatLandsInTheGap(t *testing.T) {
	r, fleet, st, src := loggedInOnRedis(t)
	ctx := context.Background()
	theirs := &store.Record{AccessToken: "their-access", RefreshToken: "their-refresh", Grant: store.Grant{TokenURL: r.settings.TokenURL, ClientID: "another-client", Type: "authorization_code", Bound: true}}
	st.Land = func() {
		if err := fleet.Save(ctx, "sandbox", theirs); err != nil {
			t.Errorf("the other log-in: %v", err)
		}
	}
	st.Armed.Store(true)
	err := src.Logout(ctx)
	if !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("Logout with another client's log-in stored in between: %v; want it refused as another client's", err)
	}
	if got, err := fleet.Load(ctx, "sandbox"); err != nil || got.RefreshToken != theirs.RefreshToken {
		t.Fatalf("Redis holds %v (%v); want the other client's tokens kept", got, err)
	}
}

// loggedInOnRedis is a rig whose source, logged in, keeps its tokens in a
// Redis store where another machine's writes land after a Load once armed,
// through fleet, another store on the same Redis.
func loggedInOnRedis(t *testing.T) (r *rig, fleet store.Store, st *storetest.LandsAfterLoad, src *freshtoken.Source) {
	t.Helper()
	r = newRig(t, devprovider.Options{})
	srv := redistest.Start(t)
	fleet = redistest.OpenStore(t, srv.URL)
	st = &storetest.LandsAfterLoad{Store: redistest.OpenStore(t, srv.URL)}
	src = r.sourceOn(st)
	r.login(src)
	return r, fleet, st, src
}

// TestLogoutKeepsANewerFreshtokensLoginThatLandsInTheGap: a log-out that
// found no tokens (or only unreadable ones) deleted, as unreadable, a
// record a newer freshtoken stored in between (a log-in on a machine
// upgraded first, which took the lock while this one was paused past it):
// the format this one cannot read was taken for a corrupt record. A newer
// freshtoken's tokens are left alone, as a log-out that finds them first
// leaves them: only that freshtoken can tell whose they are, and revoke
// them.
func TestLogoutKeepsANewerFreshtokensLoginThatLandsInTheGap(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	srv := redistest.Start(t)
	st := &storetest.LandsAfterLoad{Store: redistest.OpenStore(t, srv.URL)}
	src := r.sourceOn(st)
	data, err := store.Marshal("sandbox", storetest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(data), `"version": 1,`, `"version": 99,`, 1)
	st.Land = func() { srv.Command(t, "SET", "freshtoken:sandbox", newer) }
	st.Armed.Store(true)
	err = src.Logout(context.Background())
	if !errors.Is(err, store.ErrNewerFormat) {
		t.Fatalf("Logout with a newer freshtoken's log-in stored in between: %v; want it refused as a newer freshtoken's", err)
	}
	if got := srv.Get(t, "freshtoken:sandbox"); got != newer {
		t.Fatalf("Redis holds %q; want the newer freshtoken's record kept", got)
	}
}

// loggedInOn is a source for the rig's environment backed by st, logged
// in, and the record its log-in stored.
func (r *rig) loggedInOn(st store.Store) (*freshtoken.Source, *store.Record) {
	r.t.Helper()
	src := r.sourceOn(st)
	r.login(src)
	rec, err := src.Record(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return src, rec
}

// TestLogoutOfKeepsALaterLogIn: LogoutOf deletes the log-in it was given,
// renewed since or not, and keeps a later log-in's tokens, stored after it
// was looked at (as a revocation let the renewal lock go), with
// store.ErrChanged: Logout deleted whatever this environment's grant the
// store held, and the later log-in's grant lived on with nothing to end it.
func TestLogoutOfKeepsALaterLogIn(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	st := &storetest.LandsAfterLoad{Store: r.store}
	src, loggedIn := r.loggedInOn(st)
	ctx := context.Background()
	if _, err := src.Renew(ctx); err != nil { // renewed since: the same log-in
		t.Fatal(err)
	}
	if err := src.LogoutOf(ctx, loggedIn); err != nil {
		t.Fatalf("LogoutOf the log-in renewed since: %v", err)
	}
	if rec, err := r.store.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after LogoutOf the store holds %+v (%v); want the renewed log-in deleted", rec, err)
	}
	r.login(src)
	loggedIn, err := src.Record(ctx)
	if err != nil {
		t.Fatal(err)
	}
	later := storetest.LaterLogIn(loggedIn)
	st.Land = func() {
		if err := r.store.Save(ctx, "sandbox", later); err != nil {
			t.Errorf("the later log-in: %v", err)
		}
	}
	st.Armed.Store(true)
	if err := src.LogoutOf(ctx, loggedIn); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("LogoutOf with a later log-in stored in between: %v; want store.ErrChanged", err)
	}
	if got, err := r.store.Load(ctx, "sandbox"); err != nil || got.RefreshToken != later.RefreshToken {
		t.Fatalf("the store holds %+v (%v); want the later log-in's tokens kept", got, err)
	}
}

// TestLogoutOfTokensThatKeepChanging: each time LogoutOf was about to
// delete the tokens it had read under the renewal lock, another process
// renewed them past the lock (one paused longer than a Redis lock lasts).
// After the third try it returned store.ErrChanged itself: `freshtoken
// logout` took it for a later log-in kept, and other callers for a bug
// (exit 1) with no word of what to do. It says the tokens kept changing,
// that nothing was deleted, and to try again, as a failure of the store
// (exit 5), not as store.ErrChanged.
func TestLogoutOfTokensThatKeepChanging(t *testing.T) {
	_, fleet, st, src := loggedInOnRedis(t)
	ctx := context.Background()
	loggedIn, err := src.Record(ctx)
	if err != nil {
		t.Fatal(err)
	}
	renewals := 0
	st.Land = func() { // another process's renewal, stored past the lock
		renewals++
		renewed := *loggedIn
		renewed.AccessToken = fmt.Sprintf("renewed-access-%d", renewals)
		if err := fleet.Save(ctx, "sandbox", &renewed); err != nil {
			t.Errorf("the renewal: %v", err)
		}
		st.Armed.Store(true)
	}
	st.Armed.Store(true)
	err = src.LogoutOf(ctx, loggedIn)
	st.Armed.Store(false)
	if err == nil || errors.Is(err, store.ErrChanged) || failure.Of(err).Row().Exit != 5 ||
		!strings.Contains(err.Error(), "changed each of the 3 times this log-out was about to delete them") || !strings.Contains(err.Error(), "nothing was deleted, and they are kept: try again") {
		t.Fatalf("LogoutOf with the tokens renewed past the lock at each try: %v (exit %d); want exit 5 saying they kept changing, nothing was deleted, and to try again", err, failure.Of(err).Row().Exit)
	}
	if got, err := fleet.Load(ctx, "sandbox"); err != nil || got.RefreshToken != loggedIn.RefreshToken {
		t.Fatalf("Redis holds %v (%v); want the renewed tokens kept", got, err)
	}
}
