package keeper

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestRedisPermissionsTakenAwayAreTold: against a real redis-server, the
// ACL of freshtoken's user is changed under a running keeper to read
// alone (weeks after it started, say). The keeper checked once, at its
// first look, and found out only when a renewal failed to store what it
// brought, perhaps hours later; it looks again every storeRecheck, writing
// nothing, and tells a person once (store_unfit) with what Redis refused
// and what to do, and takes the notice back once the user may write again.
func TestRedisPermissionsTakenAwayAreTold(t *testing.T) {
	srv := redistest.Start(t)
	srv.SetFleetUser(t, "freshtoken", "pw")
	st := redistest.OpenStore(t, "redis://freshtoken:pw@"+srv.Addr+"/0")
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour})
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader},
		freshtoken.Options{Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, src, clock.Now())
	k, n := keepingTold(src, "", clock)
	checks := 0
	k.CheckStore = func(ctx context.Context, env string) error {
		checks++
		return st.CheckWrite(ctx, env)
	}
	sent := countingWebhook(t, n)
	looks := func(d time.Duration, want string) {
		t.Helper()
		for range int(d / time.Minute) {
			clock.Advance(time.Minute)
			tells(t, k, n, want)
		}
	}
	tells(t, k, n, "")
	looks(time.Hour, "")
	if checks < 2 || checks > 60/int(storeRecheck/time.Minute)+1 {
		t.Fatalf("%d checks of the store in an hour of looks; want one every %s", checks, storeRecheck)
	}
	srv.SetUser(t, "freshtoken", "reset", "on", ">pw", "~freshtoken:*", "+@connection", "+@read")
	clock.Advance(storeRecheck)
	tells(t, k, n, "dev: the token store is not set up as renewals need")
	got := n.Current()[0]
	if got.Event != notify.StoreUnfit || !strings.Contains(got.Message, "refused access") || !strings.Contains(got.Message, "permissions") || strings.Contains(got.Message, ":pw@") {
		t.Fatalf("notice %+v; want store_unfit, saying Redis refused access and to check the user's permissions, without its password", got)
	}
	looks(time.Hour, "dev: the token store is not set up as renewals need")
	if got := sent(); got != 1 {
		t.Fatalf("%d notices sent in an hour of a store that may not be written; want 1", got)
	}
	if got := srv.Command(t, "DBSIZE"); got != ":1" {
		t.Errorf("DBSIZE %s after the checks; want 1, the record alone: a check writes nothing", got)
	}
	srv.SetFleetUser(t, "freshtoken", "pw")
	clock.Advance(storeRecheck)
	tells(t, k, n, "")
	if rec, err := src.Record(context.Background()); err != nil || rec == nil || rec.Problem != nil {
		t.Fatalf("record %+v, %v; want the tokens, untouched", rec, err)
	}
}

// TestAStoreUnfitDoesNotHideRenewalsFailing: a Redis that evicts keys when
// full (or a user without +pttl) is unfit for renewals (store_unfit), yet
// renews; the provider then goes down for hours. The store's notice was
// chosen before every failure of renewals, so a person kept the first
// notice and was never told that renewals had failed, the tokens about to
// end; renewals failing is told once they have failed for 15 minutes, as
// it is of a fit store, and the store's notice comes back once they renew.
func TestAStoreUnfitDoesNotHideRenewalsFailing(t *testing.T) {
	st := evictingStore(t, "volatile-lru")
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour})
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader,
		KeepAccess: true, RetryBackoff: []time.Duration{time.Millisecond}},
		freshtoken.Options{Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, src, clock.Now())
	k, n := keepingTold(src, "", clock)
	k.CheckStore = func(ctx context.Context, env string) error { return st.CheckEviction(ctx) }
	tells(t, k, n, "dev: the token store is not set up as renewals need")
	p.Fault(devprovider.Fault5xx, 1<<20)
	clock.Advance(2 * time.Hour) // the access token is due
	for range 30 {
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if got := n.Current(); len(got) != 1 || got[0].Event != notify.Unreachable {
		t.Fatalf("notices %+v after 30 minutes of renewals failing; want renewals_failing", got)
	}
	p.ClearFaults()
	clock.Advance(time.Minute)
	tells(t, k, n, "dev: the token store is not set up as renewals need")
}

// TestAStoreUnfitIsNotToldOfAnother: an edit moves an environment from a
// Redis that evicts keys (told as store_unfit) to another Redis that
// cannot be reached, whose fitness cannot be asked. The first store's
// answer stood for the environment, so the notice went on naming a Redis
// the configuration no longer uses; it is of the store it was asked of,
// and ends with the move.
func TestAStoreUnfitIsNotToldOfAnother(t *testing.T) {
	evicting := evictingStore(t, "allkeys-lru")
	gone := redistest.Start(t)
	addr := gone.Addr
	gone.Stop()
	away := redistest.OpenStore(t, "redis://"+addr+"/0")
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour})
	open := func(st store.Store) *freshtoken.Source {
		src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
			TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader},
			freshtoken.Options{Store: st, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	first := open(evicting)
	devserver.LoginSource(t, first, clock.Now())
	k, n := keepingTold(first, "", clock)
	stores := map[string]interface{ CheckEviction(context.Context) error }{first.Location(): evicting}
	src := first
	k.Open = func(context.Context, string) (*freshtoken.Source, error) { return src, nil }
	k.CheckStore = func(ctx context.Context, env string) error { return stores[src.Location()].CheckEviction(ctx) }
	tells(t, k, n, "dev: the token store is not set up as renewals need")
	src = open(away)
	stores[src.Location()] = away
	clock.Advance(time.Minute)
	tells(t, k, n, "")
}

// evictingStore is a store in a new redis-server that evicts keys by
// policy when its memory is full.
func evictingStore(t *testing.T, policy string) *redisstore.Store {
	t.Helper()
	srv := redistest.Start(t)
	srv.Command(t, "CONFIG", "SET", "maxmemory", "100mb")
	srv.Command(t, "CONFIG", "SET", "maxmemory-policy", policy)
	return redistest.OpenStore(t, "redis://"+srv.Addr+"/0")
}
