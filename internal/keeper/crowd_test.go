package keeper

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestACrowdFallingDueTogetherIsSpreadAhead: 30 environments logged in
// together (a bulk log-in, an import), their token files renewed the
// default minute ahead, fall due in the same second of each hour. Pacing
// may hold none past 30 s, half the minute left, so the keeper sent all 30
// within it: a provider allowing 15 a minute answered 429s, every hour.
// Some are renewed ahead of their plan, 12 a minute at most, none of them
// lapsing, and the hour after they fall due spread, renewed each at its
// plan.
func TestACrowdFallingDueTogetherIsSpreadAhead(t *testing.T) {
	k, p, clock := keeperOfMany(t, 30, devprovider.Options{}, true, 0)
	names, _ := k.Envs()
	ctx := context.Background()
	loggedIn := clock.Now()
	var planned map[string]time.Time // each environment's renewal as its tokens plan it
	for hour, within := range []time.Duration{time.Hour, 2 * time.Hour} {
		planned = map[string]time.Time{}
		for _, env := range names {
			planned[env] = record(t, k, env).Expiry.Add(-time.Minute)
		}
		first := slices.MinFunc(slices.Collect(maps.Values(planned)), time.Time.Compare)
		start := p.Stats().Refreshes
		sent := runAsWatches(ctx, k, clock, names, loggedIn.Add(within), func() int { return p.Stats().Refreshes })
		t.Logf("hour %d: renewals in each minute: %v, sent from %v to %v after the first plan", hour+1, perMinute(sent), sent[0].Sub(first), sent[len(sent)-1].Sub(first))
		if got := p.Stats().Refreshes - start; got != len(names) {
			t.Fatalf("hour %d: %d renewals; want one for each of the %d environments", hour+1, got, len(names))
		}
		if most := busiest(sent); most > keptPerMinute {
			t.Errorf("hour %d: %d renewals in one minute (%v); want %d at most", hour+1, most, perMinute(sent), keptPerMinute)
		}
		if s := p.Stats(); s.RateLimited != 0 {
			t.Fatalf("hour %d: the provider answered %d 429s", hour+1, s.RateLimited)
		}
		for _, env := range names {
			rec := record(t, k, env)
			ahead := planned[env].Sub(rec.RenewedAt)
			switch {
			case !rec.Expiry.After(clock.Now()):
				t.Errorf("hour %d: %s's token file holds a token that expired at %v", hour+1, env, rec.Expiry)
			case ahead > 15*time.Minute:
				t.Errorf("hour %d: %s renewed %v ahead of its plan; want a quarter of its hour at most", hour+1, env, ahead)
			case hour == 1 && ahead != 0:
				t.Errorf("hour %d: %s renewed %v ahead of its plan; want at its plan, the crowd spread the hour before", hour+1, env, ahead)
			}
		}
	}
}

// runAsWatches plays k's watches of names as Run does, each environment
// looked at again when its last look said to, on clock, until until; it
// returns when each renewal was sent, as renewals (the provider's count)
// shows them.
func runAsWatches(ctx context.Context, k *Keeper, clock *fakeclock.Clock, names []string, until time.Time, renewals func() int) []time.Time {
	var ws []watched
	for _, env := range names {
		ws = append(ws, watched{k, env, clock.Now()})
	}
	return runWatches(ctx, clock, ws, until, renewals)
}

// watched is an environment watched by a keeper, to look at next at next.
type watched struct {
	k    *Keeper
	env  string
	next time.Time
}

// runWatches plays ws as their keepers' Run does (see runAsWatches).
func runWatches(ctx context.Context, clock *fakeclock.Clock, ws []watched, until time.Time, renewals func() int) []time.Time {
	var sent []time.Time
	for {
		w := &ws[0]
		for i := range ws {
			if ws[i].next.Before(w.next) {
				w = &ws[i]
			}
		}
		if w.next.After(until) {
			return sent
		}
		if d := w.next.Sub(clock.Now()); d > 0 {
			clock.Advance(d)
		}
		before := renewals()
		wait := w.k.keep(ctx, w.env, time.Minute)
		for range renewals() - before {
			sent = append(sent, clock.Now())
		}
		w.next = clock.Now().Add(wait)
	}
}

// TestKeepersSharingAStoreSpreadACrowdOnce: the per-user service and a
// proxy started by hand, each keeping the same 30 environments logged in
// together on one store, the second's looks 300 ms after the first's.
// Each renews the same crowd ahead of its plans at the same slots: each
// environment is renewed once an hour, not once by each, 12 a minute at
// most.
func TestKeepersSharingAStoreSpreadACrowdOnce(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	dir := filepath.Join(t.TempDir(), "tokens")
	names := clientNames(30)
	a := keeperOn(t, filestore.New(dir), root, clock, names, true, 0)
	b := keeperOn(t, filestore.New(dir), root, clock, names, true, 0)
	logInAll(t, a, clock, names)
	var ws []watched
	for _, env := range names {
		ws = append(ws, watched{a, env, clock.Now()}, watched{b, env, clock.Now().Add(300 * time.Millisecond)})
	}
	sent := runWatches(context.Background(), clock, ws, clock.Now().Add(2*time.Hour), func() int { return p.Stats().Refreshes })
	if len(sent) != 2*len(names) {
		t.Errorf("%d renewals in two hours (%v a minute); want one an hour for each of the %d environments", len(sent), perMinute(sent), len(names))
	}
	if most := busiest(sent); most > keptPerMinute {
		t.Errorf("%d renewals in one minute (%v); want %d at most", most, perMinute(sent), keptPerMinute)
	}
}

// busiest is the most of times in any minute.
func busiest(times []time.Time) int {
	most := 0
	for i, from := range times {
		n := 0
		for _, at := range times[i:] {
			if at.Sub(from) < time.Minute {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// perMinute counts times in each minute from the first.
func perMinute(times []time.Time) []int {
	var counts []int
	for _, at := range times {
		i := int(at.Sub(times[0]) / time.Minute)
		for len(counts) <= i {
			counts = append(counts, 0)
		}
		counts[i]++
	}
	return counts
}

// TestRenewalsArePulledAheadOnlyWhereItCostsNothing: a crowd falling due
// together is not spread ahead where renewing early costs something, or
// would renew a token soon after its last renewal: refresh tokens whose
// expiry renewing does not extend (each renewal ahead of time brings
// nearer the log-in they need), and tokens that live 4 minutes, each
// renewed no sooner than three quarters of the way to its plan.
func TestRenewalsArePulledAheadOnlyWhereItCostsNothing(t *testing.T) {
	for _, tt := range []struct {
		name        string
		opts        devprovider.Options
		notExtended bool
		mostAhead   func(interval time.Duration) time.Duration
	}{
		{"refresh token not extended", devprovider.Options{}, true, func(time.Duration) time.Duration { return 0 }},
		{"4-minute tokens", devprovider.Options{AccessTTL: 4 * time.Minute}, false, func(interval time.Duration) time.Duration { return interval / 4 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, root, clock := devserver.StartOnClock(t, tt.opts)
			st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
			names := clientNames(30)
			k := keeperOn(t, st, root, clock, names, true, 0)
			logInAll(t, k, clock, names)
			ctx := context.Background()
			if tt.notExtended {
				for _, env := range names {
					rec, err := st.Load(ctx, env)
					if err != nil {
						t.Fatal(err)
					}
					rec.RefreshNotExtended = true
					if err := st.Save(ctx, env, rec); err != nil {
						t.Fatal(err)
					}
				}
			}
			planned := map[string]time.Time{}
			interval := map[string]time.Duration{}
			for _, env := range names {
				rec := record(t, k, env)
				src, _ := k.Open(ctx, env)
				planned[env], interval[env] = src.Plan(rec).At, src.Plan(rec).At.Sub(rec.IssuedAt)
			}
			start := p.Stats().Refreshes
			// Until half the minute after the plan that pacing may hold a
			// renewal: each renewed once.
			runAsWatches(ctx, k, clock, names, planned[names[0]].Add(30*time.Second), func() int { return p.Stats().Refreshes })
			if got := p.Stats().Refreshes - start; got != len(names) {
				t.Fatalf("%d renewals; want one for each of the %d environments", got, len(names))
			}
			for _, env := range names {
				if ahead := planned[env].Sub(record(t, k, env).RenewedAt); ahead > tt.mostAhead(interval[env]) {
					t.Errorf("%s renewed %v ahead of its plan, %v after its last renewal; want %v ahead at most", env, ahead, interval[env]-ahead, tt.mostAhead(interval[env]))
				}
			}
		})
	}
}

// TestAnEnvironmentMovedToAnotherTokenEndpointHoldsNoneBack: 30
// environments of one token endpoint due after a night asleep, 18 waiting
// their turn; the token_url of six of those waiting is edited to another
// provider's (they await a log-in there). They stayed waiting at the old
// endpoint, ahead of the others, for two minutes: a minute on, six were
// renewed where twelve places had freed.
func TestAnEnvironmentMovedToAnotherTokenEndpointHoldsNoneBack(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	_, otherRoot := devserver.Start(t, devprovider.Options{Clock: clock.Now, AutoApprove: true})
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	names := clientNames(30)
	moved := names[keptPerMinute : keptPerMinute+6]
	k := keeperLoggedIn(t, st, root, clock, names, true, 0)
	elsewhere := keeperOn(t, st, otherRoot, clock, moved, true, 0)
	ctx := context.Background()
	clock.Advance(10 * time.Hour)
	k.round(ctx, time.Minute) // 12 renewed, 18 waiting
	open := k.Open
	k.Open = func(ctx context.Context, env string) (*freshtoken.Source, error) {
		if slices.Contains(moved, env) {
			return elsewhere.Open(ctx, env)
		}
		return open(ctx, env)
	}
	clock.Advance(5 * time.Second)
	k.round(ctx, time.Minute) // the edit seen
	clock.Advance(time.Minute)
	start := p.Stats().Refreshes
	k.round(ctx, time.Minute)
	if got := p.Stats().Refreshes - start; got != keptPerMinute {
		t.Fatalf("%d renewals a minute on, 12 waiting; want %d", got, keptPerMinute)
	}
}

// TestRenewalsElsewhereAreReadAheadOfTheRenewal: 30 environments of one
// token endpoint on a Redis far away, each read of a record taking 600
// ms. The look at which a renewal fell due first read the other records
// for renewals made elsewhere, for up to a second, and the renewal waited
// for it. Its watch reads them at a look ahead of it: the look that
// renews reads no other record.
func TestRenewalsElsewhereAreReadAheadOfTheRenewal(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	const env = "client030" // renewed at its plan: the last of those due together
	var others atomic.Int32 // reads of other records than env's
	st, far := farRedis(t, clock, func(key string) {
		if key != "freshtoken:"+env {
			others.Add(1)
		}
	})
	names := clientNames(30)
	k := keeperLoggedIn(t, st, root, clock, names, true, 0)
	ctx := context.Background()
	clock.Advance(58*time.Minute + 30*time.Second) // due in 30 s
	far.Store(true)
	for range 10 { // env's watch, as Run keeps it
		before, read := p.Stats().Refreshes, others.Load()
		wait := k.keep(ctx, env, time.Minute)
		if p.Stats().Refreshes != before {
			if n := others.Load() - read; n != 0 {
				t.Fatalf("the look that renewed read %d other records first; want none, read ahead", n)
			}
			return
		}
		clock.Advance(wait)
	}
	t.Fatal("not renewed in 10 looks")
}

// TestTheLookBeforeARenewalOnASlowStoreWakesAtItsPlan: on a Redis far
// away, each read of a record taking 600 ms, the look readAhead before a
// renewal reads the records for renewals made elsewhere, and its watch
// sleeps until the plan from the clock read after that reading: from the
// one read before it, the watch woke, and renewed, as late as the reading
// took.
func TestTheLookBeforeARenewalOnASlowStoreWakesAtItsPlan(t *testing.T) {
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	st, far := farRedis(t, clock, nil)
	const env = "client001"
	k := keeperLoggedIn(t, st, root, clock, clientNames(1), true, 0)
	plan := record(t, k, env).Expiry.Add(-time.Minute)
	clock.Advance(plan.Add(-1500 * time.Millisecond).Sub(clock.Now()))
	far.Store(true)
	wait := k.keep(context.Background(), env, time.Minute)
	if next := clock.Now().Add(wait); next.After(plan) && wait > minWait {
		t.Fatalf("the look 1.5 s before the plan (%s) ended at %s and slept until %s; want the plan at the latest",
			plan.Format(time.TimeOnly), clock.Now().Format("15:04:05.000"), next.Format("15:04:05.000"))
	}
}

// TestSlotsAreWorkedOutOnlyAsPlansChange: 2000 environments of one token
// endpoint planned together. Worked out again at each look of each, the
// slots of all 2000 (see slot) would take seconds of the machine a
// minute: they are worked out again only once a plan changes. Counted in
// allocations, not time.
func TestSlotsAreWorkedOutOnlyAsPlansChange(t *testing.T) {
	const endpoint = "https://login.example/token"
	clock := fakeclock.New()
	k := &Keeper{Now: clock.Now}
	var names []string // in the order of their slots
	for i := range 2000 {
		names = append(names, fmt.Sprintf("c%04d", i))
	}
	for _, env := range names {
		k.member(env, endpoint, nil, clock.Now().Add(10*time.Minute), 14*time.Minute)
	}
	if got, want := k.slot(names[1990], endpoint), clock.Now().Add(10*time.Minute-9*spacing); !got.Equal(want) {
		t.Fatalf("the tenth from the last is slotted at %v; want %v", got, want)
	}
	if allocs := testing.AllocsPerRun(100, func() { k.slot(names[1000], endpoint) }); allocs != 0 {
		t.Errorf("%v allocations a look's slot, no plan changed; want none", allocs)
	}
	k.member(names[1999], endpoint, nil, clock.Now().Add(70*time.Minute), 14*time.Minute) // renewed
	if got, want := k.slot(names[1998], endpoint), clock.Now().Add(10*time.Minute); !got.Equal(want) {
		t.Errorf("the last of the crowd, the one after it renewed, is slotted at %v; want its plan, %v", got, want)
	}
}

// TestACrowdLargerThanItsPullIsRenewedAhead12AMinute: 40 environments
// of 10-minute tokens logged in together. A quarter of the time to their
// plan, 2m15s, holds 28 slots 5 s apart, so 13 share the earliest: each
// renewal pulled ahead takes a place of the minute only if one is free,
// and those 13 are renewed 12 in the first minute, not all at once.
func TestACrowdLargerThanItsPullIsRenewedAhead12AMinute(t *testing.T) {
	k, p, clock := keeperOfMany(t, 40, devprovider.Options{AccessTTL: 10 * time.Minute}, true, 0)
	names, _ := k.Envs()
	planned := record(t, k, names[0]).Expiry.Add(-time.Minute)
	sent := runAsWatches(context.Background(), k, clock, names, planned.Add(-time.Second), func() int { return p.Stats().Refreshes })
	if len(sent) < 2*keptPerMinute {
		t.Fatalf("%d renewals ahead of the plan (%v a minute); want the minutes ahead filled", len(sent), perMinute(sent))
	}
	if most := busiest(sent); most > keptPerMinute {
		t.Errorf("%d renewals ahead of the plan in one minute (%v); want %d at most", most, perMinute(sent), keptPerMinute)
	}
}

// TestARenewalAheadThatFailedWaitsForItsPlan: a crowd of 30 spread ahead
// of its plans, the provider failing the first renewal pulled ahead (a
// 503, each retry too). That environment is renewed at its plan, not
// pulled ahead again at its next looks, which would add tries to a
// provider failing them.
func TestARenewalAheadThatFailedWaitsForItsPlan(t *testing.T) {
	k, p, clock := keeperOfMany(t, 30, devprovider.Options{}, true, 0)
	names, _ := k.Envs()
	const first = "client001" // the earliest slot
	planned := record(t, k, first).Expiry.Add(-time.Minute)
	clock.Advance(planned.Add(-5 * time.Minute).Sub(clock.Now()))
	p.Fault(devprovider.Fault5xx, 1+len(freshtoken.DefaultRetryBackoff()))
	runAsWatches(context.Background(), k, clock, names, planned.Add(30*time.Second), func() int { return p.Stats().Refreshes })
	if renewed := record(t, k, first).RenewedAt; renewed.Before(planned) {
		t.Errorf("%s, its renewal ahead failed, renewed %v ahead of its plan; want at its plan", first, planned.Sub(renewed))
	}
}

// TestARefreshTokenNotExtendedIsPulledAheadOnlyAtItsFirstRenewal: 30
// environments logged in together at a provider whose refresh tokens
// expire when the first one did (renewing does not extend them). The
// engine learns that at a grant's first renewal to keep it alive, so the
// first hour's crowd is spread ahead as any other, 12 a minute at most
// (held to its plans, it was sent within half a minute). Once learned,
// none is renewed ahead: all 30 renewed together again (a script's
// `token --force` for each), they are renewed an hour on at their plans.
func TestARefreshTokenNotExtendedIsPulledAheadOnlyAtItsFirstRenewal(t *testing.T) {
	k, p, clock := keeperOfMany(t, 30, devprovider.Options{FixedRefreshExpiry: true}, true, 0)
	names, _ := k.Envs()
	ctx := context.Background()
	renewals := func() int { return p.Stats().Refreshes }
	sent := runAsWatches(ctx, k, clock, names, clock.Now().Add(time.Hour), renewals)
	if len(sent) != len(names) {
		t.Fatalf("%d renewals in the first hour; want one for each of the %d environments", len(sent), len(names))
	}
	if most := busiest(sent); most > keptPerMinute {
		t.Errorf("%d renewals in one minute of the first hour (%v); want %d at most", most, perMinute(sent), keptPerMinute)
	}
	for _, env := range names {
		if !record(t, k, env).RefreshNotExtended {
			t.Fatalf("%s's record does not say, after its first renewal, that renewing does not extend its refresh token", env)
		}
		src, _ := k.Open(ctx, env)
		if _, err := src.Renew(ctx); err != nil {
			t.Fatal(err)
		}
	}
	planned := record(t, k, names[0]).Expiry.Add(-time.Minute)
	runAsWatches(ctx, k, clock, names, planned.Add(30*time.Second), renewals)
	for _, env := range names {
		if renewed := record(t, k, env).RenewedAt; renewed.Before(planned) {
			t.Errorf("%s renewed %v ahead of its plan; want at its plan, its refresh token known not extended", env, planned.Sub(renewed))
		}
	}
}
