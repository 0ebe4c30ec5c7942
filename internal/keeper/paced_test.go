package keeper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestManyEnvironmentsExpiringTogetherArePaced: an accountant's 30
// environments, one per client company, all logged in at once with one
// FreeAgent user, so their tokens expire together, at each hour and after
// a night with the lid closed. FreeAgent allows a user 15 token refreshes
// a minute: the keeper renewed all 30 in the same second, and half met a
// 429. It renews at most keptPerMinute environments of one token endpoint
// in any minute, the rest in the minutes after, and renews every one; the
// clock set back holds none back for as long as it was set back. Their
// refresh_before, 5 minutes, leaves room to spread them (see
// TestPacingLetsNothingLapse).
func TestManyEnvironmentsExpiringTogetherArePaced(t *testing.T) {
	k, p, clock := keeperOfMany(t, 30, devprovider.Options{}, true, 5*time.Minute)
	names, _ := k.Envs()
	ctx := context.Background()
	k.round(ctx, time.Minute) // the token files written
	// The hour's renewals; a night asleep, and the clock set back three
	// hours a look after the wake, as the first keptPerMinute were
	// renewed: those renewals are then noted ahead of it (the tokens
	// issued ahead, which are renewed at once, on this clock), and held
	// every renewal back for the three hours.
	for _, step := range []struct {
		gap    time.Duration
		rounds int
	}{{54 * time.Minute, 60}, {10 * time.Hour, 1}, {-3 * time.Hour, 60}} {
		var counts []int // renewals at each 5 s look
		start := p.Stats().Refreshes
		clock.Advance(step.gap)
		for range step.rounds {
			before := p.Stats().Refreshes
			k.round(ctx, time.Minute)
			counts = append(counts, p.Stats().Refreshes-before)
			clock.Advance(5 * time.Second)
		}
		if most, from := busiestMinute(counts); most > keptPerMinute {
			t.Fatalf("after %v: %d renewals in the minute from %v (%v); want %d at most", step.gap, most, from, counts, keptPerMinute)
		}
		if got := p.Stats().Refreshes - start; step.rounds > 1 && got != len(names) {
			t.Fatalf("after %v: %d renewals in five minutes (%v); want one for each of the %d environments", step.gap, got, counts, len(names))
		}
		if s := p.Stats(); s.RateLimited != 0 {
			t.Fatalf("after %v: the provider answered %d 429s", step.gap, s.RateLimited)
		}
	}
}

// keeperOfMany is a Keeper of n environments of one token endpoint, all
// logged in at once on a provider started with opts, keeping their token
// files fresh when keepAccess, renewing renewBefore ahead (0 for the
// default), and their token files written.
func keeperOfMany(t *testing.T, n int, opts devprovider.Options, keepAccess bool, renewBefore time.Duration) (*Keeper, *devprovider.Provider, *fakeclock.Clock) {
	t.Helper()
	p, root, clock := devserver.StartOnClock(t, opts)
	k := keeperLoggedIn(t, filestore.New(filepath.Join(t.TempDir(), "tokens")), root, clock, clientNames(n), keepAccess, renewBefore)
	return k, p, clock
}

// keeperLoggedIn is keeperOn's Keeper with each of names logged in at the
// clock's time and looked at once.
func keeperLoggedIn(t *testing.T, st store.Store, root string, clock *fakeclock.Clock, names []string, keepAccess bool, renewBefore time.Duration) *Keeper {
	t.Helper()
	k := keeperOn(t, st, root, clock, names, keepAccess, renewBefore)
	logInAll(t, k, clock, names)
	k.round(context.Background(), time.Minute)
	return k
}

// farRedis is a store on a Redis that is far away once far is set: each
// read of a record then takes 600 ms of the clock, and read, if not nil,
// is called with the record's key.
func farRedis(t *testing.T, clock *fakeclock.Clock, read func(key string)) (st *redisstore.Store, far *atomic.Bool) {
	t.Helper()
	far = new(atomic.Bool)
	relay := redistest.Start(t).Relay(t, func(args []string) {
		if far.Load() && strings.EqualFold(args[0], "get") {
			clock.Advance(600 * time.Millisecond)
			if read != nil {
				read(args[1])
			}
		}
	})
	return redistest.OpenStore(t, "redis://"+relay+"/0"), far
}

// clientNames is n environments' names, client001 on.
func clientNames(n int) []string {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("client%03d", i+1))
	}
	return names
}

// logInAll logs each of names in through k, at the clock's time.
func logInAll(t *testing.T, k *Keeper, clock *fakeclock.Clock, names []string) {
	t.Helper()
	for _, env := range names {
		src, _ := k.Open(context.Background(), env)
		devserver.LoginSource(t, src, clock.Now())
	}
}

// record is env's record as k reads it.
func record(t *testing.T, k *Keeper, env string) *store.Record {
	t.Helper()
	src, _ := k.Open(context.Background(), env)
	rec, err := src.Record(context.Background())
	if err != nil || rec == nil {
		t.Fatalf("%s: %v", env, err)
	}
	return rec
}

// busiestMinute is the most renewals in any minute of counts, the
// renewals at looks 5 s apart, and when that minute began.
func busiestMinute(counts []int) (most int, from time.Duration) {
	for i := range counts {
		inMinute := 0
		for _, c := range counts[i:min(i+12, len(counts))] {
			inMinute += c
		}
		if inMinute > most {
			most, from = inMinute, time.Duration(i)*5*time.Second
		}
	}
	return most, from
}

// lookEvery5s has k look at its environments n times, 5 s apart, as Run does.
func lookEvery5s(k *Keeper, clock *fakeclock.Clock, n int) {
	for range n {
		k.round(context.Background(), time.Minute)
		clock.Advance(5 * time.Second)
	}
}

// keeperOn is a Keeper of the environments names on st, all of the dev
// provider at root, as keeperOfMany's: a process of its own (its own
// Sources, its own token files).
func keeperOn(t *testing.T, st store.Store, root string, clock *fakeclock.Clock, names []string, keepAccess bool, renewBefore time.Duration) *Keeper {
	t.Helper()
	dir := t.TempDir()
	sources := map[string]*freshtoken.Source{}
	for _, env := range names {
		src, err := freshtoken.New(freshtoken.Settings{Env: env, ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
			TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader,
			KeepAccess: keepAccess, RenewBefore: renewBefore},
			freshtoken.Options{Store: st, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		sources[env] = src
	}
	return &Keeper{Envs: func() ([]string, error) { return names, nil },
		Open:      func(_ context.Context, env string) (*freshtoken.Source, error) { return sources[env], nil },
		Logger:    slog.New(slog.DiscardHandler),
		TokenFile: func(env string) string { return filepath.Join(dir, env) },
		Now:       clock.Now}
}

// TestPacingLetsNothingLapse: pacing never holds a renewal back for more
// than half the time left before what it keeps alive lapses. 30
// environments of one app, each another user's (whose limit is their
// own), renewing a minute ahead (the default): held until their turn, 18
// token files' tokens reached their expiry every hour, 6 of them expired
// for a minute after (a fleet of 100: 88, for up to seven minutes);
// and 30 whose refresh tokens live 10 minutes (renewed one ahead): 18
// grants ended, each needing a log-in.
func TestPacingLetsNothingLapse(t *testing.T) {
	ctx := context.Background()
	t.Run("access tokens", func(t *testing.T) {
		k, p, clock := keeperOfMany(t, 30, devprovider.Options{}, true, 0)
		names, _ := k.Envs()
		start, expiry := p.Stats().Refreshes, clock.Now().Add(time.Hour)
		clock.Advance(59 * time.Minute) // the tokens expire in a minute
		for clock.Now().Before(expiry) {
			k.round(ctx, time.Minute)
			clock.Advance(5 * time.Second)
		}
		if got := p.Stats().Refreshes - start; got != len(names) {
			t.Errorf("%d environments renewed before their tokens expired; want all %d", got, len(names))
		}
	})
	t.Run("refresh tokens", func(t *testing.T) {
		k, _, clock := keeperOfMany(t, 30, devprovider.Options{RefreshTTL: 10 * time.Minute}, false, 0)
		names, _ := k.Envs()
		clock.Advance(9 * time.Minute) // the refresh tokens expire in a minute
		lookEvery5s(k, clock, 36)
		for _, env := range names {
			src, _ := k.Open(ctx, env)
			if rec, err := src.Record(ctx); err != nil || grantEnded(rec) || !rec.RefreshExpiry.After(clock.Now()) {
				t.Errorf("%s: its grant lapsed while its renewal waited its turn (%v)", env, err)
			}
		}
	})
}

// TestRenewalsNotedBeforeTheClockWasSetBackHoldNoneBack: keptPerMinute
// environments renewed, then the clock set back an hour (NTP correcting a
// wrong RTC) by less than their tokens' margin for a clock ahead, so they
// are not renewed again: their renewals, noted an hour ahead of the clock,
// held every other environment's back for the hour, its token file
// holding an expired token.
func TestRenewalsNotedBeforeTheClockWasSetBackHoldNoneBack(t *testing.T) {
	clock := fakeclock.New()
	k := &Keeper{Now: clock.Now}
	for i := range keptPerMinute {
		if turn := k.turn(fmt.Sprintf("client%02d", i), "https://login.example/token", time.Time{}); !turn.Equal(clock.Now()) {
			t.Fatalf("renewal %d waits its turn until %v; want now", i, turn)
		}
	}
	if turn := k.turn("late", "https://login.example/token", time.Time{}); !turn.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("renewal past the minute's waits until %v; want a minute on", turn)
	}
	if turn := k.turn("other", "https://other.example/token", time.Time{}); !turn.Equal(clock.Now()) {
		t.Fatalf("another token endpoint's renewal waits until %v; want now", turn)
	}
	clock.Advance(-time.Hour)
	if turn := k.turn("late", "https://login.example/token", time.Time{}); !turn.Equal(clock.Now()) {
		t.Fatalf("after the clock was set back an hour, the renewal waits until %v; want now, %v", turn, clock.Now())
	}
}

// TestEnvironmentsOfOtherIssuersArePacedApart: environments whose token
// endpoint their issuer's discovery finds (no token_url set) are paced
// with those of their issuer alone, not with every other issuer's.
func TestEnvironmentsOfOtherIssuersArePacedApart(t *testing.T) {
	endpoint := func(issuer string) string {
		src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", Issuer: issuer, AuthStyle: oauth2.AuthStyleInHeader,
			Discover: func(context.Context) (freshtoken.Endpoints, error) {
				return freshtoken.Endpoints{}, errors.New("not asked here")
			}},
			freshtoken.Options{Store: filestore.New(filepath.Join(t.TempDir(), "tokens"))})
		if err != nil {
			t.Fatal(err)
		}
		return tokenEndpoint(src)
	}
	if a, b := endpoint("https://login.example/realms/a"), endpoint("https://login.example/realms/b"); a == b {
		t.Fatalf("two issuers' environments are paced as one token endpoint's, %q", a)
	}
}

// TestShortTokensStarveNoEnvironment: thirteen environments of one token
// endpoint, twelve of them with tokens renewed every 10 s (a token_file
// each, tokens of 20 s). Each renewal of the twelve, as their own, was
// not held back and kept the minute full: the thirteenth waited its turn
// for ever, its token file never written. One waiting its turn goes before
// one renewing again.
func TestShortTokensStarveNoEnvironment(t *testing.T) {
	lateBegan := lateBegins(3*time.Minute, 0)
	if lateBegan == 0 {
		t.Fatalf("the environment past the first %d never began its renewal in three minutes; want within two", keptPerMinute)
	}
	if lateBegan > 2*time.Minute {
		t.Fatalf("the environment past the first %d began its renewal %v after the start; want within two minutes", keptPerMinute, lateBegan)
	}
}

// lateBegins plays, for up to limit, looks 5 s apart at thirteen
// environments of one token endpoint: twelve quick ones renewed 10 s after
// each of their renewals begins, and "late" once. With quickLapses, each
// quick one's token file lapses that long after each look (it is let in by
// its lapse bound), and late's has lapsed already (no bound). It returns
// how long after the first look late began its renewal, 0 if it never did.
func lateBegins(limit, quickLapses time.Duration) time.Duration {
	const endpoint = "https://login.example/token"
	clock := fakeclock.New()
	start := clock.Now()
	k := &Keeper{Now: clock.Now}
	var envs []string
	for i := range keptPerMinute {
		envs = append(envs, fmt.Sprintf("quick%02d", i+1))
	}
	envs = append(envs, "late")
	next := map[string]time.Time{}
	for clock.Now().Sub(start) < limit {
		for _, env := range envs {
			if clock.Now().Before(next[env]) {
				continue
			}
			var lapses time.Time
			if env != "late" && quickLapses > 0 {
				lapses = clock.Now().Add(quickLapses)
			}
			if turn := k.turn(env, endpoint, lapses); turn.After(clock.Now()) {
				next[env] = turn
				if again := clock.Now().Add(aheadLook); again.Before(turn) {
					next[env] = again
				}
				continue
			}
			if env == "late" {
				return clock.Now().Sub(start)
			}
			next[env] = clock.Now().Add(10 * time.Second)
		}
		clock.Advance(5 * time.Second)
	}
	return 0
}

// TestTurnWithMoreWaitingThanTheMinuteHolds: more environments wait their
// turn than a minute's renewals, and those noted are a minute old: one of
// the last asks before those ahead of it. Its turn is a minute after they
// take the minute's places (it was counted from a renewal the minute no
// longer held), and they take them as they ask.
func TestTurnWithMoreWaitingThanTheMinuteHolds(t *testing.T) {
	const endpoint = "https://login.example/token"
	clock := fakeclock.New()
	k := &Keeper{Now: clock.Now}
	for i := range 2*keptPerMinute + 1 {
		k.turn(fmt.Sprintf("client%02d", i), endpoint, time.Time{})
	}
	clock.Advance(time.Minute)
	last := fmt.Sprintf("client%02d", 2*keptPerMinute)
	if turn := k.turn(last, endpoint, time.Time{}); !turn.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("with %d waiting ahead, the turn is %v; want %v, a minute after they take the minute's places", 2*keptPerMinute-keptPerMinute, turn, clock.Now().Add(time.Minute))
	}
	for i := keptPerMinute; i < 2*keptPerMinute; i++ {
		if turn := k.turn(fmt.Sprintf("client%02d", i), endpoint, time.Time{}); !turn.Equal(clock.Now()) {
			t.Fatalf("client%02d, waiting longest, is told to wait until %v; want now", i, turn)
		}
	}
}

// TestRenewalsLetInByTheirLapseStarveNoEnvironment: as
// TestShortTokensStarveNoEnvironment, but the twelve quick environments'
// token files lapse 10 s after each renewal is due, so each is let in by
// its lapse bound however full the minute, and the thirteenth's token
// file lapsed already (no bound). Each quick renewal let in took the
// place of the one waiting ahead of it: the thirteenth waited for ever.
func TestRenewalsLetInByTheirLapseStarveNoEnvironment(t *testing.T) {
	lateBegan := lateBegins(5*time.Minute, 10*time.Second)
	if lateBegan == 0 {
		t.Fatalf("the environment past the first %d never began its renewal in five minutes; want within two", keptPerMinute)
	}
	if lateBegan > 2*time.Minute {
		t.Fatalf("the environment past the first %d began its renewal %v after the start; want within two minutes", keptPerMinute, lateBegan)
	}
}

// TestARenewalDoneElsewhereLeavesNoWaiterAhead: 30 environments fall due
// together; the keeper renews twelve, and another process sharing the
// store (a proxy started by hand beside the service) renews twelve of the
// eighteen waiting. Those twelve, no longer due, still counted as waiting
// ahead until they had not asked for two minutes: the last six waited a
// minute past their turn.
func TestARenewalDoneElsewhereLeavesNoWaiterAhead(t *testing.T) {
	k, p, clock := keeperOfMany(t, 30, devprovider.Options{}, true, 5*time.Minute)
	names, _ := k.Envs()
	ctx := context.Background()
	k.round(ctx, time.Minute)
	clock.Advance(56 * time.Minute)
	start := p.Stats().Refreshes
	k.round(ctx, time.Minute)
	if got := p.Stats().Refreshes - start; got != keptPerMinute {
		t.Fatalf("%d renewals in the first look; want %d", got, keptPerMinute)
	}
	var elsewhere int
	for _, env := range names {
		src, _ := k.Open(ctx, env)
		rec, err := src.Record(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !src.Plan(rec).At.After(clock.Now()) && elsewhere < keptPerMinute {
			if _, err := src.KeepAlive(ctx); err != nil {
				t.Fatal(err)
			}
			elsewhere++
		}
	}
	clock.Advance(time.Minute)
	start = p.Stats().Refreshes
	k.round(ctx, time.Minute)
	if got, want := p.Stats().Refreshes-start, len(names)-2*keptPerMinute; got != want {
		t.Fatalf("%d renewals a minute after the first; want the %d left", got, want)
	}
}

// TestALapsedTokenFileWaitingItsTurnIsToldOnce: 30 environments, their
// token files' tokens expired over a night asleep, are renewed 12 a
// minute: the 18 waiting their turn hold an expired token meanwhile, told
// only at --debug, at every look. Each is told of once, and none of those
// renewed at the first look; the first of them is warned of, the others
// told at --debug: each was warned of, 18 lines a morning of a wait that
// ends by itself within minutes. Once those told have had their turn, the
// next crowd's first is warned of again.
func TestALapsedTokenFileWaitingItsTurnIsToldOnce(t *testing.T) {
	k, p, clock := keeperOfMany(t, 30, devprovider.Options{}, true, 0)
	names, _ := k.Envs()
	var log bytes.Buffer
	k.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for night := range 2 {
		log.Reset()
		clock.Advance(10 * time.Hour)
		start := p.Stats().Refreshes
		lookEvery5s(k, clock, 36) // three minutes
		if got := p.Stats().Refreshes - start; got != len(names) {
			t.Fatalf("night %d: %d renewals in three minutes; want one for each of the %d environments", night+1, got, len(names))
		}
		told, warned := map[string]int{}, 0
		for line := range strings.Lines(log.String()) {
			if !strings.Contains(line, "holds an expired access token until its renewal's turn") {
				continue
			}
			if strings.Contains(line, "level=WARN") {
				warned++
			}
			for _, env := range names {
				if strings.Contains(line, "env="+env+" ") {
					told[env]++
				}
			}
		}
		if len(told) != len(names)-keptPerMinute {
			t.Errorf("night %d: %d environments told their token file holds an expired token until their turn; want the %d waiting it\n%s", night+1, len(told), len(names)-keptPerMinute, log.String())
		}
		for env, n := range told {
			if n != 1 {
				t.Errorf("night %d: %s told %d times; want once", night+1, env, n)
			}
		}
		if warned != 1 {
			t.Errorf("night %d: %d warnings of token files holding an expired token until their turn; want one, the others at --debug", night+1, warned)
		}
	}
}

// TestKeepersSharingAStorePaceTogether: the per-user service and a proxy
// started by hand, or two machines on one Redis, each keeping the same 30
// environments of one FreeAgent user. Each paced only its own renewals:
// the first renewed 12, the second, a second later, the next 12, 24 in a
// minute at one token endpoint (FreeAgent allows a user 15). Each counts
// the renewals the store's records show, and together they renew 12 a
// minute, every one renewed.
func TestKeepersSharingAStorePaceTogether(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) func() store.Store // each call a process's own opening
	}{
		{"file", func(t *testing.T) func() store.Store {
			dir := filepath.Join(t.TempDir(), "tokens")
			return func() store.Store { return filestore.New(dir) }
		}},
		{"redis", func(t *testing.T) func() store.Store {
			srv := redistest.Start(t)
			return func() store.Store {
				return redistest.OpenStore(t, srv.URL)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
			open := tt.open(t)
			names := clientNames(30)
			a := keeperOn(t, open(), root, clock, names, true, 5*time.Minute)
			b := keeperOn(t, open(), root, clock, names, true, 5*time.Minute)
			ctx := context.Background()
			logInAll(t, a, clock, names)
			a.round(ctx, time.Minute)
			b.round(ctx, time.Minute)
			clock.Advance(56 * time.Minute) // all due, 4 minutes before they expire
			start := p.Stats().Refreshes
			var counts []int // renewals at each 5 s look: a's, then b's a second later
			for range 48 {
				before := p.Stats().Refreshes
				a.round(ctx, time.Minute)
				clock.Advance(time.Second)
				b.round(ctx, time.Minute)
				clock.Advance(4 * time.Second)
				counts = append(counts, p.Stats().Refreshes-before)
			}
			if most, from := busiestMinute(counts); most > keptPerMinute {
				t.Fatalf("%d renewals in the minute from %v (%v); want %d at most", most, from, counts, keptPerMinute)
			}
			if got := p.Stats().Refreshes - start; got != len(names) {
				t.Fatalf("%d renewals in four minutes (%v); want one for each of the %d environments", got, counts, len(names))
			}
		})
	}
}

// TestWaitingTurnsReadTheStoreLittle: 60 environments of one token
// endpoint on one Redis, all due after a night asleep, 48 of them waiting
// their turn. Each look of each one read every other environment's record
// for the renewals made elsewhere: 60 environments asked Redis 119 times
// a look (3.5 without that reading), 7000 times every 5 s, and 200 on a
// file store took three quarters of a second of the machine every 5 s,
// growing as the square of their number, for as long as any waited. Each
// record is read at most once an aheadLook.
func TestWaitingTurnsReadTheStoreLittle(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	srv := redistest.Start(t)
	st := redistest.OpenStore(t, srv.URL)
	names := clientNames(60)
	k := keeperLoggedIn(t, st, root, clock, names, true, 0)
	clock.Advance(10 * time.Hour)
	start, renewals := srv.Commands(t), p.Stats().Refreshes
	const rounds = 12 // a minute of looks 5 s apart
	lookEvery5s(k, clock, rounds)
	if got := p.Stats().Refreshes - renewals; got != keptPerMinute {
		t.Fatalf("%d renewals in the first minute; want %d", got, keptPerMinute)
	}
	looks := rounds * len(names)
	if perLook := float64(srv.Commands(t)-start) / float64(looks); perLook > 10 {
		t.Errorf("%.1f Redis commands a look of an environment (%d looks); want 10 at most", perLook, looks)
	}
}

// TestATurnPastTheMinuteIsToldTrue: 40 environments, their token files'
// tokens expired over a night asleep: those past the places of the first
// two minutes were told their token file holds an expired token until a
// turn 5 s away, and renewed minutes later. Each is told the turn its
// renewal comes at.
func TestATurnPastTheMinuteIsToldTrue(t *testing.T) {
	k, _, clock := keeperOfMany(t, 40, devprovider.Options{}, true, 0)
	names, _ := k.Envs()
	var log bytes.Buffer
	k.Logger = slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock.Advance(10 * time.Hour)
	lookEvery5s(k, clock, 48) // four minutes
	told := map[string]time.Time{}
	for line := range strings.Lines(log.String()) {
		var warning struct {
			Env  string
			Turn time.Time
		}
		if err := json.Unmarshal([]byte(line), &warning); err == nil && !warning.Turn.IsZero() {
			told[warning.Env] = warning.Turn
		}
	}
	if len(told) != len(names)-keptPerMinute {
		t.Fatalf("%d environments told of their turn; want the %d waiting it\n%s", len(told), len(names)-keptPerMinute, log.String())
	}
	for env, turn := range told {
		rec := record(t, k, env)
		if late := rec.RenewedAt.Sub(turn); late < 0 || late > aheadLook {
			t.Errorf("%s renewed at %v, told its turn was %v", env, rec.RenewedAt.Format(time.TimeOnly), turn.Format(time.TimeOnly))
		}
	}
}

// TestRenewalsFarBehindInLineAreLetInByTheirLapse: 60 environments
// whose token files are kept fresh 5 minutes ahead fall due together.
// Those past the places of the minute to come were told to ask again in
// 5 s, and their lapse bound was counted from that: the last twelve
// waited 4 of the 5 minutes left before their tokens expired, leaving one
// for retries. None waits more than half the time left when it fell due.
func TestRenewalsFarBehindInLineAreLetInByTheirLapse(t *testing.T) {
	k, _, clock := keeperOfMany(t, 60, devprovider.Options{}, true, 5*time.Minute)
	names, _ := k.Envs()
	clock.Advance(55 * time.Minute) // all due: the access tokens expire in 5 minutes
	due := clock.Now()
	lookEvery5s(k, clock, 60)
	for _, env := range names {
		rec := record(t, k, env)
		if waited := rec.RenewedAt.Sub(due); waited > 150*time.Second {
			t.Errorf("%s renewed %v after it fell due, its token file's token expiring 5m after; want 2m30s at most", env, waited)
		}
	}
}

// TestUnreadableRecordsLeaveTheRestCounted: two keepers sharing a file
// store, 30 environments, six of whose records cannot be read (a newer
// freshtoken's, or damaged). Reading the records for renewals made
// elsewhere stopped at the first that failed, as a store out of reach
// does: the other keeper's renewals read after it went uncounted, and the
// two renewed up to 24 in a minute. One record unreadable is passed over.
func TestUnreadableRecordsLeaveTheRestCounted(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	dir := filepath.Join(t.TempDir(), "tokens")
	names := clientNames(30)
	a := keeperOn(t, filestore.New(dir), root, clock, names, true, 5*time.Minute)
	b := keeperOn(t, filestore.New(dir), root, clock, names, true, 5*time.Minute)
	ctx := context.Background()
	logInAll(t, a, clock, names)
	a.round(ctx, time.Minute)
	b.round(ctx, time.Minute)
	for _, env := range names[24:] {
		if err := os.WriteFile(filestore.New(dir).Location(env), []byte("{damaged"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(56 * time.Minute) // all due, 4 minutes before they expire
	start := p.Stats().Refreshes
	a.round(ctx, time.Minute)
	clock.Advance(time.Second)
	b.round(ctx, time.Minute)
	if got := p.Stats().Refreshes - start; got != keptPerMinute {
		t.Fatalf("%d renewals by the two keepers a second apart; want %d", got, keptPerMinute)
	}
}

// TestRenewalsElsewhereOfEnvironmentsLookedAtLaterAreCounted: a keeper
// started beside another that has just renewed 11 environments (the
// service restarted while a proxy started by hand runs). Its first due
// environment looks before it knows of the others; the environments the
// other renewed, looked at next, are counted by the next due one, not
// only after 5 s: the keeper renewed 12 more, 23 in the minute.
func TestRenewalsElsewhereOfEnvironmentsLookedAtLaterAreCounted(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	dir := filepath.Join(t.TempDir(), "tokens")
	names := clientNames(30)
	a := keeperOn(t, filestore.New(dir), root, clock, names[:11], true, 5*time.Minute)
	// The second keeper looks first at one it must renew, then at those
	// the first renewed, then at the rest.
	order := append(append([]string{names[11]}, names[:11]...), names[12:]...)
	b := keeperOn(t, filestore.New(dir), root, clock, order, true, 5*time.Minute)
	ctx := context.Background()
	logInAll(t, b, clock, names)
	clock.Advance(56 * time.Minute) // all due, 4 minutes before they expire
	start := p.Stats().Refreshes
	a.round(ctx, time.Minute)
	if got := p.Stats().Refreshes - start; got != 11 {
		t.Fatalf("the first keeper renewed %d; want its 11", got)
	}
	clock.Advance(time.Second)
	b.round(ctx, time.Minute)
	if got := p.Stats().Refreshes - start; got != keptPerMinute {
		t.Fatalf("%d renewals by the two keepers a second apart; want %d", got, keptPerMinute)
	}
}

// TestAStoreFarAwayHoldsNoRenewalPastItsLapse: 100 environments of one
// token endpoint on a Redis far away, each read of a record taking 600
// ms, their token files' tokens a minute from expiry. Before the first
// due renewal took its turn, the keeper read the other 99 records for
// renewals made elsewhere, one after another: a minute, and the token
// file held an expired token by the time it was renewed. The reading
// stops after elsewhereWait, the records left read at the looks after;
// the renewal is sent within half the minute left, the lapse bound.
func TestAStoreFarAwayHoldsNoRenewalPastItsLapse(t *testing.T) {
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	st, far := farRedis(t, clock, nil)
	names := clientNames(100)
	k := keeperLoggedIn(t, st, root, clock, names, true, 0)
	ctx := context.Background()
	clock.Advance(59 * time.Minute) // all due, the tokens expiring in a minute
	due := clock.Now()
	far.Store(true)
	k.keep(ctx, names[0], time.Minute)
	rec := record(t, k, names[0])
	if sent := rec.RenewedAt.Sub(due); sent > 30*time.Second {
		t.Fatalf("the first due renewal was sent %v after it fell due, its token file's token expiring a minute after; want 30s at most", sent)
	}
}

// TestAStoreThatFailsIsReadNoFurther: 30 environments on a Redis whose
// user may read only two of their records now (its ACL changed), both
// due. Reading the records for renewals made elsewhere stops at the first
// that fails, and no look reads further for aheadLook: each due look read
// on, one record a look, as a store out of reach makes each read wait its
// time-out before the look's own renewal.
func TestAStoreThatFailsIsReadNoFurther(t *testing.T) {
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	srv := redistest.Start(t)
	srv.SetFleetUser(t, "keeper", "keeper-password")
	var counting atomic.Bool
	var others atomic.Int32 // reads of the records of neither due environment
	relay := srv.Relay(t, func(args []string) {
		if counting.Load() && strings.EqualFold(args[0], "get") && args[1] != "freshtoken:client001" && args[1] != "freshtoken:client002" {
			others.Add(1)
		}
	})
	st := redistest.OpenStore(t, "redis://keeper:keeper-password@"+relay+"/0")
	names := clientNames(30)
	k := keeperLoggedIn(t, st, root, clock, names, true, 0)
	ctx := context.Background()
	clock.Advance(59 * time.Minute) // all due
	srv.SetUser(t, "keeper", "resetkeys", "~freshtoken:client001*", "~freshtoken:client002*")
	counting.Store(true)
	k.keep(ctx, "client001", time.Minute)
	k.keep(ctx, "client002", time.Minute)
	if n := others.Load(); n != 1 {
		t.Fatalf("%d records read that could not be; want 1, then none", n)
	}
}

// TestRenewalsOfAnotherGrantAreNotCounted: two configuration files
// sharing the default store folder name twelve environments alike, each
// for another app at another provider; the other's log-ins hold those
// records now, and it has just renewed them. They are no renewals at this
// keeper's token endpoint: its twelve others due are renewed at once, not
// held a minute behind them.
func TestRenewalsOfAnotherGrantAreNotCounted(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	_, otherRoot := devserver.Start(t, devprovider.Options{Clock: clock.Now, AutoApprove: true})
	dir := filepath.Join(t.TempDir(), "tokens")
	names := clientNames(24)
	k := keeperOn(t, filestore.New(dir), root, clock, names, true, 5*time.Minute)
	other := keeperOn(t, filestore.New(dir), otherRoot, clock, names[:12], true, 5*time.Minute)
	ctx := context.Background()
	logInAll(t, k, clock, names[12:])
	logInAll(t, other, clock, names[:12])
	k.round(ctx, time.Minute)
	clock.Advance(56 * time.Minute) // all due, 4 minutes before they expire
	other.round(ctx, time.Minute)
	start := p.Stats().Refreshes
	k.round(ctx, time.Minute)
	if got := p.Stats().Refreshes - start; got != 12 {
		t.Fatalf("%d of the keeper's 12 environments due renewed, after another app's 12 records of the same names were; want all 12", got)
	}
}

// TestADueRenewalIsMadeOnTheSystemsClock: one look at an environment whose
// renewal is due (a token file of client credentials, none fetched yet)
// makes it, on the system's clock, which moves during the look. A turn
// that was now when taken, compared with the time the look began, was
// taken for one still to come: the keeper waited its turn at every look
// and never renewed. Tests on a fake clock, which stands still during a
// look, could not see it.
func TestADueRenewalIsMadeOnTheSystemsClock(t *testing.T) {
	p, root := devserver.Start(t, devprovider.Options{})
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true, Grant: freshtoken.GrantClientCredentials},
		freshtoken.Options{Store: filestore.New(filepath.Join(t.TempDir(), "tokens"))})
	if err != nil {
		t.Fatal(err)
	}
	k := keeping(src, filepath.Join(t.TempDir(), "token"))
	k.keep(context.Background(), "dev", time.Minute)
	if got := p.Stats().ClientCredentials; got != 1 {
		t.Fatalf("%d tokens fetched by a look at a token file of client credentials with none yet; want 1", got)
	}
	if _, err := os.Stat(k.TokenFile("dev")); err != nil {
		t.Fatalf("the token file after the look: %v", err)
	}
}
