// Package keeper is the long-running process's watch over every configured
// environment: it renews each grant when its plan says so (before the
// refresh token expires, within the provider's idle limit), so that a
// grant never lapses while nobody uses it. Renewals go through the engine,
// so they stay one at a time with every other process and machine.
package keeper

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	failures "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/resting"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
)

// DefaultLook is how often the keeper looks again when nothing is planned
// sooner, so a log-in, a logout or a new environment is seen within it.
const DefaultLook = time.Minute

// Keeper keeps the grants of the environments Envs names alive.
type Keeper struct {
	Envs   func() ([]string, error)                                          // the configured environments, read every look
	Open   func(ctx context.Context, env string) (*freshtoken.Source, error) // as any command opens one
	Logger *slog.Logger
	Look   time.Duration // default DefaultLook
	// TokenFile names the file kept holding env's current access token; ""
	// for none.
	TokenFile func(env string) string
	// Notify, if set, is told each environment's state after each look.
	Notify *notify.Notifier
	// Suggesting, if set, rewrites the freshtoken commands a message
	// suggests as the command line writes them (naming its --config).
	Suggesting func(msg string) string
	// SecretWhere, if set, says where env's client secret comes from
	// (config's ClientSecretWhere: "$FREEAGENT_SECRET", never the secret),
	// for the step after the provider rejected the client to name it.
	SecretWhere func(env string) string
	// Now is the clock, the engine's own (nil: time.Now).
	Now func() time.Time
	// Ledger is the folder noting what freshtoken wrote to each token file
	// (see ForgetTokenFile); "" for none.
	Ledger string
	// Config is the configuration file's path ("": not known), which with
	// an environment's name says whose token a token file holds (see
	// Owner): a token file another configuration's keeper keeps is not
	// written over.
	Config string
	// Refuse, if set, says why no token file may be written at path, or
	// returns "": the process's own log file, which an edit may name.
	Refuse func(path string) string
	// Settings, if set, is env's configuration as it stands now, read
	// afresh at each call (the command line gives its *config.Env), or nil
	// when it cannot be read; values are compared with reflect.DeepEqual
	// and never shown. A client the provider rejected is tried again an
	// hour later (rejectedRetry), unless these settings have changed
	// since: an edit of the configuration may have fixed it (token_url,
	// the client secret), and is tried at the next look.
	Settings func(env string) any
	// CheckStore, if set, reports whether env's store is fit for its
	// renewals, writing nothing: an error wrapping store.ErrDenied (a
	// Redis user that may read freshtoken's keys, not write them; a Redis
	// that evicts keys when full) or store.ErrRestartLoses is warned of, and told (StoreUnfit), at
	// the first look that reads the store, not found out at a renewal
	// perhaps hours later. It is asked again every storeRecheck, and at
	// once of another store: permissions taken away (an ACL changed under
	// a proxy running for weeks) are told within that, and given back,
	// the notice ends.
	CheckStore func(ctx context.Context, env string) error

	mu      sync.Mutex         // guards the maps below, which each environment's watch uses
	failing map[string]failure // since when, and why, renewals of each environment fail
	wrote   map[string]string  // what the keeper last wrote to each token file
	// paths are the token file the keeper last wrote for each environment.
	paths map[string]string
	// unnamed are the environments whose last look found no token file
	// named (see keep).
	unnamed map[string]bool
	// unwritten is since when, and why, each environment's token file
	// cannot be written.
	unwritten map[string]failure
	// rejected is when and why the provider rejected the client of each
	// environment that has no record to note it in (client credentials
	// never had).
	rejected map[string]*store.Problem
	// rejectedWith is the settings (Settings) each environment's client
	// was rejected with, as first seen after the rejection noted at.
	rejectedWith map[string]settingsAt
	// storeChecked is what CheckStore last answered for each
	// environment.
	storeChecked map[string]storeCheck
	// held is the record the keeper last read or renewed for each
	// environment, kept to put back in a store that lost it (a Redis
	// restarted without persistence; see freshtoken.Source.Restore).
	held map[string]*store.Record
	// beforeLock and beforeWrite, if set, are called as a token file is
	// about to be written: before its lock is taken, and under it once the
	// store is read again, just before the write. Tests put a log-out
	// there.
	beforeLock, beforeWrite func()
	// unremoved is, for each token file that could not be removed once
	// its tokens were not to be used, the failure last warned of (see
	// removeTokenFile),
	// until a live grant's token is to be written there.
	unremoved map[string]string
	// lockHeld holds each token file whose lock was found held past
	// tokenFileLockWait, warned of once, until the lock is taken again.
	lockHeld map[string]bool
	// litterLooked is when the keeper last looked for litter beside each
	// token file (see clearLitter).
	litterLooked map[string]time.Time
	// noGain is, for each environment whose last renewal gained nothing
	// (see noteGain), when its next renewal may be made.
	noGain map[string]time.Time
	// hurried holds each environment whose last renewal was followed by
	// the next within hurriedWithin (see notePace).
	hurried map[string]bool
	// sources is the Source each environment's looks use while its
	// Settings are unchanged (see source).
	sources map[string]openedSource
	// paced is, for each token endpoint, when the keeper last began a
	// renewal of each environment it serves, and which wait their turn
	// (see turn).
	paced map[string]*pace
}

// openedSource is a Source as opened, with the Settings it was opened with.
type openedSource struct {
	src      *freshtoken.Source
	settings any
}

// storeCheck is CheckStore's answer of an environment's store (its
// Location), when: nil, or an error wrapping store.ErrDenied or
// store.ErrRestartLoses.
type storeCheck struct {
	where string
	at    time.Time
	err   error
}

// settingsAt is an environment's settings at a rejection of its client,
// which the provider noted at.
type settingsAt struct {
	at       time.Time
	settings any
}

// Thresholds for telling a person.
const (
	// expiringWithin is how close to its expiry a refresh token that
	// renewing does not extend is told of.
	expiringWithin = 7 * 24 * time.Hour
	// failingFor is how long renewals must keep failing (to reach the
	// provider, or for a reason of this machine's) before a person is told.
	failingFor = 15 * time.Minute
	// storeRecheck is how often the store is checked again (CheckStore):
	// each check is a few commands that write nothing, and permissions
	// are taken away seldom; a renewal is rarely sooner.
	storeRecheck = 10 * time.Minute
	// rejectedRetry is how long after the provider rejected the client it
	// is tried again: a configuration error, never retried at every look,
	// but its secret may be fixed where the configuration does not show it
	// (a variable, the keychain).
	rejectedRetry = time.Hour
)

// failure is something of an environment's that keeps failing (its
// renewals, its token file): since when, the latest reason, and whether
// it was a renewal that failed, rather than reading the configuration or
// the stored tokens.
type failure struct {
	since    time.Time
	err      error
	renewing bool
	issued   time.Time // of the tokens a failing renewal left stored
	// lost is how a try of a renewal since lost its answer (see
	// tokenerr.LostIn), "" if none did: the refresh token may have been
	// spent then, whatever the renewals after it met.
	lost string
	// asleep is how far the wall clock moved apart from the timers since
	// (see Keeper.slept): ahead as the machine slept, or the clock was set
	// forward; behind, the clock set back.
	asleep time.Duration
}

// lasted is how long f has gone on by now, awake.
func (f failure) lasted(now time.Time) time.Duration {
	return now.Sub(f.since) - f.asleep
}

// Run keeps the grants alive until ctx ends: each environment on a watch
// of its own, so that one whose provider is slow to answer (each renewal
// waiting out its timeout and its retries) holds up no other. The
// configuration is read again every look, for environments added or
// removed; each watch reads it too, and tells when it cannot.
func (k *Keeper) Run(ctx context.Context) {
	look := k.Look
	if look <= 0 {
		look = DefaultLook
	}
	watches := map[string]watching{}
	// gone are the watched environments the last look found configured no
	// more: a watch ends at the second look in a row, as a configuration
	// read while an editor saves it (truncated, or moved aside for a
	// moment) may name none, and its end removes the token file.
	gone := map[string]bool{}
	// ending are the watches ended whose last look may still go on (a
	// renewal's answer that its store will not yet take): a next watch of
	// the environment begins once it is over, as the end removes the
	// token file and forgets the environment's failures and tokens.
	ending := map[string]chan struct{}{}
	var wg sync.WaitGroup
	defer func() {
		for _, w := range watches {
			w.stop(nil)
		}
		wg.Wait()
	}()
	for {
		if names, ok := k.configured(); ok {
			for name, w := range watches {
				switch {
				case slices.Contains(names, name):
					delete(gone, name)
				case !gone[name]:
					gone[name] = true
				default:
					w.stop(errUnconfigured)
					ending[name] = w.done
					delete(watches, name)
					delete(gone, name)
				}
			}
			for name, done := range ending {
				select {
				case <-done:
					delete(ending, name)
				default:
				}
			}
			for _, name := range names {
				if _, ok := watches[name]; !ok {
					watches[name] = k.startWatch(ctx, &wg, name, look, ending[name])
					delete(ending, name)
				}
			}
			k.keepNotices(slices.Collect(maps.Keys(watches)))
		}
		t := time.NewTimer(look)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// watching is an environment's watch under way: stop ends it, and done is
// closed once it is over.
type watching struct {
	stop context.CancelCauseFunc
	done chan struct{}
}

// startWatch starts a watch of env in wg, once last (the done of env's
// last watch, ended, or nil) is closed.
func (k *Keeper) startWatch(ctx context.Context, wg *sync.WaitGroup, env string, look time.Duration, last chan struct{}) watching {
	ctx, stop := context.WithCancelCause(ctx)
	w := watching{stop: stop, done: make(chan struct{})}
	wg.Go(func() {
		defer close(w.done)
		if last != nil {
			select {
			case <-last:
			default:
				k.Logger.Debug("keeper: the environment is configured again; its watch begins once the last one's look is over", "env", env)
				select {
				case <-last:
				case <-ctx.Done():
					return
				}
			}
		}
		k.watch(ctx, env, look)
	})
	return w
}

// configured lists the environments configured; false when the
// configuration cannot be read.
func (k *Keeper) configured() ([]string, bool) {
	names, err := k.Envs()
	if err != nil {
		k.Logger.Warn("keeper: cannot read the configuration; looking again later", "error", err.Error())
		return nil, false
	}
	return names, true
}

// unconfigured reports whether the configuration, read now, names env no
// more; false when it cannot be read.
func (k *Keeper) unconfigured(env string) bool {
	names, err := k.Envs()
	return err == nil && !slices.Contains(names, env)
}

// keepNotices forgets the notices of every environment but envs, those
// still watched.
func (k *Keeper) keepNotices(envs []string) {
	if k.Notify != nil {
		k.Notify.Keep(envs)
	}
}

// errUnconfigured ends the watch of an environment taken out of the
// configuration.
var errUnconfigured = errors.New("no longer configured")

// watch keeps env's grant alive until ctx ends. Ended because env was
// taken out of the configuration, it removes the token file it kept, which
// nothing keeps current any more.
func (k *Keeper) watch(ctx context.Context, env string, look time.Duration) {
	for {
		// The machine may sleep while a look goes on, as a renewal waits
		// on a provider that does not answer: that time is not counted as
		// failing either.
		looking := k.readClocks(env)
		next := k.keep(ctx, env, look)
		k.slept(looking)
		if !k.wait(ctx, env, next) {
			break
		}
	}
	if errors.Is(context.Cause(ctx), errUnconfigured) {
		k.leaveTokenFile(env, "")
		k.forget(env)
	}
}

// forget drops what the keeper remembers of env, taken out of the
// configuration: configured again later (an edit undone, an init), it
// starts afresh. Its failures went on counting from before, and one
// failed renewal then was told as having failed since before it was
// taken out; and the tokens it held stayed in memory for good.
func (k *Keeper) forget(env string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.failing, env)
	delete(k.unwritten, env)
	delete(k.unnamed, env)
	delete(k.rejected, env)
	delete(k.rejectedWith, env)
	delete(k.storeChecked, env)
	delete(k.held, env)
	delete(k.sources, env)
	delete(k.noGain, env)
	delete(k.hurried, env)
	for _, p := range k.paced {
		delete(p.began, env)
		p.leave(env)
	}
}

// wakeCheck is how often a watch's wait looks at the wall clock (see wait).
var wakeCheck = 5 * time.Second

// sleepSlack is how far the wall clock may move apart from the timers
// while a watch looks or waits before the difference is taken for a sleep
// or the clock set: NTP's slewing moves it by milliseconds.
const sleepSlack = 2 * time.Second

// wait returns true once d has passed, on the timers' clock or the wall
// clock, whichever comes first, and false if ctx ends first. Timers run on
// a clock that stands still while the machine sleeps (Linux's
// CLOCK_MONOTONIC, macOS's uptime clock): after a night with the
// lid closed a watch still had up to a look to wait, its token file
// holding an expired token, and a renewal planned meanwhile came as late.
// The wall clock is read every wakeCheck, so a wake, or the clock set
// forward, is seen within that. How far the wall clock moved apart from
// the timers meanwhile is not counted in how long env's failures have
// gone on (see slept): renewals failing for a minute before the lid
// closed, and once more as it opens before the network is back, have not
// failed for the night.
func (k *Keeper) wait(ctx context.Context, env string, d time.Duration) bool {
	waiting := k.readClocks(env)
	defer k.slept(waiting)
	timer := time.NewTimer(d)
	defer timer.Stop()
	check := time.NewTicker(wakeCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-check.C:
			if !k.now().Before(waiting.wall.Add(d)) {
				return true
			}
		}
	}
}

// clockReading is the wall clock and the timers' clock read at once, with
// since when env's failures then going on began (zero for none).
type clockReading struct {
	env          string
	wall, timers time.Time
	failing      time.Time
	unwritten    time.Time
}

// readClocks reads the clocks for slept.
func (k *Keeper) readClocks(env string) clockReading {
	wall, timers := k.now().Round(0), time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	return clockReading{env: env, wall: wall, timers: timers, failing: k.failing[env].since, unwritten: k.unwritten[env].since}
}

// slept takes the time the wall clock ran ahead of the timers since r was
// read (the machine slept, or the clock was set forward), or behind them
// (the clock set back), out of how long each of r.env's failures that went
// on throughout has lasted (see failure.lasted), so that it is the time
// the machine was awake. Both ways count: a clock set forward a day and
// back again, or one that jumps at every wake and is set right by NTP
// after, held a failure untold a day longer each time, for good once the
// jumps came more often than the failures' 15 minutes.
func (k *Keeper) slept(r clockReading) {
	ahead := k.now().Round(0).Sub(r.wall) - time.Since(r.timers)
	if ahead.Abs() <= sleepSlack {
		return
	}
	k.Logger.Debug("keeper: the wall clock moved apart from the keeper's timers (the machine slept, or the clock was set); that time is not counted as failing", "env", r.env, "ahead", ahead.Round(time.Second))
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, going := range []struct {
		m     map[string]failure
		since time.Time
	}{{k.failing, r.failing}, {k.unwritten, r.unwritten}} {
		if f, ok := going.m[r.env]; ok && f.since.Equal(going.since) {
			f.asleep += ahead
			going.m[r.env] = f
		}
	}
}

// keep renews env's grant if it is due, tells what needs a person, keeps
// its token file, and returns how long to sleep until its next plan, at
// most look.
func (k *Keeper) keep(ctx context.Context, name string, look time.Duration) time.Duration {
	var rec *store.Record
	settings := k.settings(name) // those the Source is opened with, as near as can be
	src, err := k.source(ctx, name, settings)
	if err == nil {
		rec, err = src.Record(ctx)
	}
	// The store lost the tokens the keeper holds, and putting them back
	// waits for the next round (the lock held elsewhere): they are not
	// ended, and the token file keeps their access token.
	pending := false
	if err == nil {
		rec, pending = k.restore(ctx, name, src, rec)
	}
	if err != nil && src == nil && k.unconfigured(name) {
		// Taken out (`remove`, an edit), or read as an editor saves the
		// file: Run ends the watch once it reads so at two looks in a
		// row. Nothing is warned of (it said to add the environment back)
		// nor counted as failing.
		k.Logger.Debug("keeper: the configuration names the environment no more; its watch ends once that is read twice", "env", name, "error", err.Error())
		return look
	}
	if err != nil {
		k.Logger.Warn("keeper: cannot read the environment's configuration or tokens", "env", name, "error", err.Error())
		k.noteFailure(name, err, nil)
		k.tell(ctx, src, name, nil)
		return look
	}
	k.checkStore(ctx, name, src)
	endpoint := tokenEndpoint(src)
	s := k.schedule(ctx, name, endpoint, src, rec, settings, look)
	if s.renew {
		k.Logger.Debug("keeper: renewing to keep the grant alive", "env", name, "why", s.why)
		src = k.renewing(ctx, name, settings, src)
		renewed, err := src.KeepAliveAhead(ctx, s.ahead)
		if errors.Is(err, freshtoken.ErrLoginRequired) && errors.Is(err, store.ErrNotFound) {
			// Gone while the renewal waited for the lock: a log-out, which
			// holds it while the provider revokes the tokens, deleted them
			// (or a store lost them, and the next look puts them back, see
			// restore). No renewal failed: warned of as a failure, it went
			// on while the environment stayed logged out, and was told to
			// a person 15 minutes on.
			k.Logger.Debug("keeper: the tokens were gone from the store once the renewal had the lock (a log-out deleted them); nothing to keep alive", "env", name)
			renewed, err = nil, nil
		}
		k.noteFailure(name, err, rec)
		k.noteRejected(name, rec, err)
		if err != nil {
			k.Logger.Warn("keeper: renewal failed", "env", name, "error", err.Error())
			if again, rerr := src.Record(ctx); rerr == nil { // the failure may be recorded there
				rec = again
				if p := k.rejection(name, rec); p != nil {
					k.rejectedAt(name, p, settings, true) // rejected with these: an edit after it is tried at once
				}
				if grantEnded(rec) && src.CheckGrant(rec) == nil {
					k.removeTokenFile(name, grantEndedHere, rec)
				}
				k.tell(ctx, src, name, rec)
			}
			return k.afterFailure(name, rec, err, look)
		}
		s = k.planned(ctx, name, src, rec, renewed, settings)
		rec = renewed
	} else {
		k.noteRead(name, rec)
	}
	if k.TokenFile != nil {
		// No token file named is believed at the second look in a row: a
		// configuration read as an editor saves it may name none.
		path := k.TokenFile(name)
		k.mu.Lock()
		again := k.unnamed[name]
		put(&k.unnamed, name, path == "")
		k.mu.Unlock()
		if path != "" || again {
			k.leaveTokenFile(name, path)
		}
	}
	if rec != nil && !rec.Grant.Bound && k.tokenFile(name) != "" && src.CheckGrant(rec) == nil {
		// Stored before grants were (or were bound), the record belongs to
		// the first environment that uses it, and its token going into the
		// token file is a use: it is adopted first (the engine serves it
		// unrecorded where the store takes no writes), or found adopted by
		// another configuration meanwhile.
		src = k.renewing(ctx, name, settings, src)
		if adopted, err := src.KeepAlive(ctx); err == nil {
			rec = adopted
		} else if again, err := src.Record(ctx); err == nil {
			rec = again
		}
	}
	if rec != nil {
		k.hold(name, rec)
	}
	awaitingLogin := false
	switch {
	case pending:
	case rec == nil:
		k.removeTokenFile(name, tokensGone, nil)
		awaitingLogin = true
	case src.CheckGrant(rec) != nil: // never another client's token
		k.removeTokenFile(name, anotherClients, nil)
		awaitingLogin = true
	case grantEnded(rec):
		k.removeTokenFile(name, grantEndedHere, rec)
		awaitingLogin = true
	default:
		k.writeTokenFile(ctx, name, src, rec)
	}
	k.tell(ctx, src, name, rec)
	if awaitingLogin && k.tokenFile(name) != "" {
		look = min(look, loginLook)
	}
	return k.untilNext(ctx, name, endpoint, s, look)
}

// step is what a look does about an environment's renewal: make it now,
// ahead of its plan by ahead, or look again for it at at (zero: nothing
// is planned), why saying why. asks says the look at at asks for a place
// in the minute (see turn and pulled), so the renewals made elsewhere are
// read readAhead before it (see untilNext).
type step struct {
	renew bool
	ahead time.Duration
	at    time.Time
	asks  bool
	why   string
}

// schedule is the step a look at env, whose record src read as rec, takes
// now. These are the keeper's rules, each stated here once:
//   - a renewal falls due when due says;
//   - due, it asks its turn (turn): at most keptPerMinute renewals of a
//     token endpoint begin in any minute, counting those made elsewhere
//     (countElsewhere), unless waiting would let what it keeps alive
//     lapse; one waiting asks again within aheadLook;
//   - not yet due, one of a crowd falling due together is made at its
//     slot (slot), ahead of its plan by its pull at most (pullable), if
//     the minute has a place for it (pulled), else asked again aheadLook
//     on.
func (k *Keeper) schedule(ctx context.Context, env, endpoint string, src *freshtoken.Source, rec *store.Record, settings any, look time.Duration) step {
	plan, at, why := k.due(env, src, rec, settings)
	now := k.now()
	pull := k.pullable(env, plan, at)
	k.member(env, endpoint, src, at, pull)
	if at.IsZero() || now.Before(at) {
		if pull == 0 || at.Sub(now) > pull+look {
			return step{at: at, asks: true, why: why}
		}
		slot := k.slot(env, endpoint)
		switch {
		case !slot.Before(at):
			return step{at: at, asks: true, why: why}
		case slot.After(now):
			k.Logger.Debug("keeper: renewal to be made ahead of its plan, to spread the renewals of its token endpoint falling due together", "env", env, "at", slot.Format(time.RFC3339), "plan", at.Format(time.RFC3339))
			return step{at: slot, asks: true, why: why}
		}
		k.countElsewhere(ctx, env, endpoint)
		if !k.pulled(env, endpoint) {
			return step{at: now.Add(aheadLook), why: "the minute is full; asking again in case a place frees, ahead of its plan (" + why + ")"}
		}
		return step{renew: true, ahead: at.Sub(now), why: "ahead of its plan, to spread the renewals of its token endpoint falling due together (" + why + ")"}
	}
	k.countElsewhere(ctx, env, endpoint)
	turn := k.turn(env, endpoint, plan.Lapses)
	if !turn.After(k.now()) { // now, as turn read the clock
		return step{renew: true, why: why}
	}
	k.Logger.Debug("keeper: renewal due, waiting its turn: as many environments of its token endpoint as are renewed in a minute were renewed in the last one", "env", env, "why", why, "at", turn.Format(time.RFC3339))
	k.warnLapsing(ctx, env, endpoint, rec, turn)
	again := now.Add(aheadLook)
	if turn.Before(again) {
		again = turn
	}
	return step{at: again, why: "waiting its turn (" + why + ")"}
}

// warnLapsing tells that env's token file holds an expired access token
// (rec's) until its renewal's turn: warned of for the first of the crowd
// waiting at endpoint, the others told at --debug, each once a wait.
func (k *Keeper) warnLapsing(ctx context.Context, env, endpoint string, rec *store.Record, turn time.Time) {
	if k.tokenFile(env) == "" || rec == nil || rec.AccessToken == "" || rec.Expiry.IsZero() || rec.Expiry.After(turn) {
		return
	}
	untold, first := k.lapsingUntold(env, endpoint)
	if !untold {
		return
	}
	level, others := slog.LevelDebug, ""
	if first {
		level, others = slog.LevelWarn, ", and so may others of its token endpoint's, told at --debug"
	}
	k.Logger.Log(ctx, level, fmt.Sprintf("keeper: the token file holds an expired access token until its renewal's turn%s: %d environments of a token endpoint are renewed in a minute at most, and as many were renewed in the last one", others, keptPerMinute),
		"env", env, "token_file", k.TokenFile(env), "expires", rec.Expiry.Format(time.RFC3339), "turn", turn.Format(time.RFC3339))
}

// due is when env's renewal falls due, with its record rec, and why: at
// its plan (src.Plan); one whose client the provider rejected, an hour
// after the rejection (rejectedRetry), or at once after an edit of the
// configuration since; one after a renewal that gained nothing (see
// noteGain), no sooner than noteGain said; and none sooner than the
// engine would make it (src.RenewableAt).
func (k *Keeper) due(env string, src *freshtoken.Source, rec *store.Record, settings any) (plan freshtoken.KeepAlivePlan, at time.Time, why string) {
	plan = src.Plan(rec)
	now, at, why := k.now(), plan.At, plan.Reason()
	if at.IsZero() {
		return plan, at, why
	}
	// A rejection noted in the future was noted by a clock ahead of this
	// one, or before it was set back: the wait after it cannot be trusted,
	// and a try now notes it again on this clock, should it fail.
	if p := k.rejection(env, rec); p != nil && !p.At.After(now) {
		switch again := p.At.Add(rejectedRetry); {
		case !at.Before(again):
		case k.editedSince(env, p, settings):
			// Not an hour later: an edit of the configuration is a person
			// fixing it, who wants to know now whether it worked.
			why = "the provider rejected the client, and the environment's configuration has changed since"
		default:
			at, why = again, "the provider rejected the client; trying again in case its secret was fixed"
		}
	}
	k.mu.Lock()
	until, held := k.noGain[env]
	k.mu.Unlock()
	// One further ahead than the wait was noted before the clock was set
	// back.
	if held && at.Before(until) && until.Sub(now) <= noGainWait {
		at, why = until, "the last renewal gained nothing, and one made at once would gain nothing either ("+why+")"
	}
	// The engine renews at most once a second: due sooner, the look is
	// made once the second is over, not every minWait until then.
	if floor := src.RenewableAt(rec); at.Before(floor) {
		at, why = floor, "the last renewal was under a second ago, and renewals come once a second at most ("+why+")"
	}
	return plan, at, why
}

// noGainWait is how long after a renewal that gained nothing (see
// noteGain) the next renewal of its environment waits, unless the token it
// brought expires sooner.
const noGainWait = time.Minute

// noteGain notes whether env's renewal, which replaced was with rec, its
// plan now falling due at at, gained anything for its token file. One
// that brought an access token expiring no later than the one it
// replaced, or within a second of its arrival, and left its plan due again
// within noGainWait, did not: renewing again at once would gain nothing
// either. A provider that hands back its cached token until it expires, or
// issues tokens lasting a second (or expired as a slow answer arrives), had
// the keeper renew as often as the engine allows, once a second, 60 a
// minute where FreeAgent allows 15. Its next renewal waits noGainWait, or
// until that token expires if sooner (see due), and the log says so once, until a renewal gains again. Without a
// token file the access token is not what a renewal is for; nor is a
// refresh token expiring within twice noGainWait held for it, which would
// end the grant. A renewal the engine did not make (another process's
// taken instead) is not judged.
func (k *Keeper) noteGain(ctx context.Context, env string, was, rec *store.Record, at time.Time) {
	if !renewedNow(was, rec) || k.tokenFile(env) == "" {
		return
	}
	now := k.now()
	until := now.Add(noGainWait)
	gained := rec.Expiry.IsZero() || rec.Expiry.After(was.Expiry) && rec.Expiry.Sub(now) > time.Second ||
		at.IsZero() || !at.Before(until) || !rec.RefreshExpiry.IsZero() && rec.RefreshExpiry.Before(until.Add(noGainWait))
	k.mu.Lock()
	defer k.mu.Unlock()
	if gained {
		delete(k.noGain, env)
		return
	}
	// A cached token handed back is renewed as it expires, when the
	// provider has a new one to give: held a minute, one handed back with
	// 30 s left stayed in the token file expired for the 30 s after.
	if rec.Expiry.Sub(now) > time.Second && rec.Expiry.Before(until) {
		until = rec.Expiry
	}
	_, told := k.noGain[env]
	put(&k.noGain, env, until)
	level := slog.LevelWarn
	if told {
		level = slog.LevelDebug
	}
	// The next step is the cause's: a provider handing back its cached
	// token issues a new one once that expires, and needs nothing done; a
	// token that expires as it arrives needs its lifetime raised.
	msg := "keeper: the renewal gained nothing: the provider's new access token expires within a second of its arrival (its tokens last that short, or its answer came that slowly), so the token file holds an expired token until the next renewal, which waits a minute; raise the access token lifetime in the provider's settings (--debug shows how long each answer took)"
	if !rec.Expiry.After(was.Expiry) && rec.Expiry.Sub(now) > time.Second {
		msg = "keeper: the renewal gained nothing: the provider handed back an access token expiring no later than the one it replaced (its cached token, which it keeps until it expires); the next renewal waits until that token expires, or a minute if sooner, and nothing needs doing unless a renewal then gains nothing either"
	}
	k.Logger.Log(ctx, level, msg, "env", env, "expires", rec.Expiry.Format(time.RFC3339), "replaced", was.Expiry.Format(time.RFC3339), "next", until.Format(time.RFC3339))
}

// renewedNow reports whether rec, a renewal's record, holds other tokens
// than was, the record it was asked to renew: the engine renewed, or took
// another process's renewal made meanwhile.
func renewedNow(was, rec *store.Record) bool {
	return was != nil && rec != nil && !rec.IssuedAt.Equal(was.IssuedAt)
}

// hurriedWithin is the time between two renewals of an environment under
// which the keeper warns that its provider's tokens last too short (see
// notePace).
const hurriedWithin = time.Minute

// notePace warns, once until its renewals come further apart again, that
// env's renewal, which replaced was with rec, is followed by the next at
// at, within hurriedWithin: a token file whose access tokens last two
// seconds was renewed once a second, and a grant whose refresh tokens
// last one at the engine's floor, without a word. No floor of the
// keeper's would help: the token file would hold an expired token, or the
// grant lapse. A renewal held by noteGain is told of there.
func (k *Keeper) notePace(ctx context.Context, env string, was, rec *store.Record, plan freshtoken.KeepAlivePlan, at time.Time) {
	if !renewedNow(was, rec) {
		return
	}
	now := k.now()
	k.mu.Lock()
	_, held := k.noGain[env]
	told := k.hurried[env]
	hurried := !held && !at.IsZero() && at.Sub(now) < hurriedWithin
	put(&k.hurried, env, hurried)
	k.mu.Unlock()
	if !hurried || told {
		return
	}
	cause, step := "the provider's tokens last so short", "raise their lifetime in the provider's settings"
	switch {
	case !plan.Deadline.IsZero() && !rec.RefreshExpiry.IsZero():
		cause = "the provider's refresh tokens last " + rec.RefreshExpiry.Sub(rec.IssuedAt).Round(100*time.Millisecond).String()
		step = "raise the refresh token lifetime in the provider's settings"
	case k.tokenFile(env) != "" && !rec.Expiry.IsZero():
		cause = "the provider's access tokens last " + rec.Expiry.Sub(rec.IssuedAt).Round(100*time.Millisecond).String() + ", and its token_file is kept fresh"
		step = "raise the access token lifetime in the provider's settings, or, if the tools reading the token file can run a command instead, take token_file out and have them run `freshtoken token`, which renews only when asked"
	}
	if k.Suggesting != nil {
		step = k.Suggesting(step)
	}
	k.Logger.Warn(fmt.Sprintf("keeper: this environment's renewals come every %s, more than once a minute, as %s: a provider that limits renewals may refuse some (FreeAgent allows 15 a minute); %s",
		at.Sub(now).Round(100*time.Millisecond), cause, step), "env", env, "why", plan.Reason(), "next", at.Format(time.RFC3339))
}

// planned is the step after env's renewal, which replaced was with rec.
func (k *Keeper) planned(ctx context.Context, env string, src *freshtoken.Source, was, rec *store.Record, settings any) step {
	k.noteGain(ctx, env, was, rec, src.Plan(rec).At)
	plan, at, why := k.due(env, src, rec, settings)
	k.notePace(ctx, env, was, rec, plan, at)
	return step{at: at, asks: true, why: why}
}

// untilNext is how long env's watch sleeps after a look that took step s:
// until s.at, or look if that is sooner, but minWait at least. When the
// next look asks for a place in the minute, the renewals made elsewhere
// are counted readAhead before it (a look of its own), or now if that is
// sooner (see countElsewhere).
func (k *Keeper) untilNext(ctx context.Context, env, endpoint string, s step, look time.Duration) time.Duration {
	now := k.now()
	next := now.Add(look)
	if !s.at.IsZero() {
		k.Logger.Debug("keeper: next renewal planned", "env", env, "at", s.at.Format(time.RFC3339), "why", s.why)
		if !next.Before(s.at) {
			next = s.at
			if s.asks {
				if before := s.at.Add(-readAhead); before.After(now) {
					next = before
				} else {
					k.countElsewhere(ctx, env, endpoint)
				}
			}
		}
	}
	return max(next.Sub(k.now()), minWait) // the clock read after any counting
}

// source is env's Source for a look: the one its last look used while
// env's settings (Settings, as read for this look) are the same, else one
// opened anew. Opened anew at each look, a proxy of 2000 environments
// made 20 KB of garbage at each of its 33 looks a second. Without
// Settings, or settings that cannot be read, each look opens its own.
func (k *Keeper) source(ctx context.Context, env string, settings any) (*freshtoken.Source, error) {
	k.mu.Lock()
	o, ok := k.sources[env]
	k.mu.Unlock()
	if ok && settings != nil && reflect.DeepEqual(o.settings, settings) {
		return o.src, nil
	}
	return k.open(ctx, env, settings)
}

// open opens env's Source anew, and keeps it for the next looks while
// env's settings are still settings.
func (k *Keeper) open(ctx context.Context, env string, settings any) (*freshtoken.Source, error) {
	src, err := k.Open(ctx, env)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil || settings == nil {
		delete(k.sources, env)
		return src, err
	}
	put(&k.sources, env, openedSource{src: src, settings: settings})
	return src, nil
}

// renewing is the Source a renewal of env goes through: one opened anew,
// which fetches the client secret afresh (a Source keeps the one it
// fetched until the provider rejects it), so that a secret changed in the
// keychain or by its command since the last renewal is the one sent, as
// when each look opened its own; src, the look's, if that cannot be had.
func (k *Keeper) renewing(ctx context.Context, env string, settings any, src *freshtoken.Source) *freshtoken.Source {
	if settings == nil {
		return src // opened for this look alone
	}
	if fresh, err := k.open(ctx, env, settings); err == nil {
		return fresh
	}
	return src
}

// afterFailure is how long the keeper waits after a renewal of env that
// failed with err, rec being the record it left stored: the whole look,
// unless env has a token file and rec's access token, the one it holds,
// expires within the look or has expired. Then the next try is as soon as
// renewals may be tried again (err's RetryAt: the end of the engine's rest
// after a renewal that gave up, or of the provider's Retry-After), so that
// once the provider is back the file holds an expired token that long at
// most, not up to a look. The rest keeps the tries far from a storm: a
// renewal's few token requests, then failedRest (30 s), about 8 a minute
// where FreeAgent allows 15.
func (k *Keeper) afterFailure(env string, rec *store.Record, err error, look time.Duration) time.Duration {
	var fe *freshtoken.Error
	if k.tokenFile(env) == "" || rec == nil || rec.AccessToken == "" || rec.Expiry.IsZero() ||
		!errors.As(err, &fe) || fe.RetryAt.IsZero() {
		return look
	}
	now := k.now()
	if rec.Expiry.After(now.Add(look)) {
		return look
	}
	return min(look, max(fe.RetryAt.Sub(now), minWait))
}

// restore is rec, env's record as src just read it, or, when the store
// holds none and the keeper holds the record it read last, that record put
// back if the store lost it without a log-out (see
// freshtoken.Source.Restore), or the later copy another machine put back
// first. A record deleted on purpose is forgotten, and never put back.
//
// Each put-back waits for the renewal lock putBackWait at most, as a look
// at the store does: another machine's renewal holding it (a slow
// provider, an answer its Redis refused kept with its lock) held the
// watch of env still, its token file and notices with it. It is tried
// again at the next round: pending reports a put-back of the record held
// into a store that holds none that failed so (not one refused as
// deleted), the record returned being nil.
func (k *Keeper) restore(ctx context.Context, env string, src *freshtoken.Source, rec *store.Record) (_ *store.Record, pending bool) {
	k.mu.Lock()
	held := k.held[env]
	k.mu.Unlock()
	if rec != nil && held != nil && store.LaterCopy(held, rec) {
		// An older copy of the log-in the keeper holds, put back by a
		// machine that read it before a renewal here, its refresh token
		// spent: the keeper's goes back in its place.
		back, err := putBack(ctx, src, held)
		if err != nil {
			k.Logger.Debug("keeper: could not put the later tokens back over an older copy in the store; trying again at the next look", "env", env, "error", err.Error())
			return rec, false
		}
		rec = back
	}
	if rec != nil {
		k.hold(env, rec)
		return rec, false
	}
	if held == nil {
		return nil, false
	}
	back, err := putBack(ctx, src, held)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			k.hold(env, nil)
			return nil, false
		}
		k.Logger.Debug("keeper: could not put the tokens back in the store; trying again at the next look", "env", env, "error", err.Error())
		return nil, true
	}
	k.hold(env, back)
	return back, false
}

// putBack puts held back in src's store (src.Restore), waiting for the
// renewal lock putBackWait at most.
func putBack(ctx context.Context, src *freshtoken.Source, held *store.Record) (*store.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, putBackWait)
	defer cancel()
	return src.Restore(ctx, held)
}

// putBackWait bounds a put-back's wait for the renewal lock (see restore):
// a second, as the engine's look at the store (freshtoken's
// storeCheckWait). Restore, once it has the lock, writes whatever the
// wait, so a put-back under way is never cut off.
const putBackWait = time.Second

// hold keeps rec as env's record the keeper read last; nil forgets it. An
// older copy of the log-in held (see store.LaterCopy) does not replace it.
func (k *Keeper) hold(env string, rec *store.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if rec == nil {
		delete(k.held, env)
		return
	}
	if held := k.held[env]; held != nil && store.LaterCopy(held, rec) {
		return
	}
	put(&k.held, env, rec)
}

// checkStore asks whether env's store (src's) is fit for its renewals
// (see CheckStore), unless it was asked of that store within
// storeRecheck, and warns when the answer becomes no (or another no),
// tells when it becomes yes again; tell tells a person. A store that could
// not be asked is asked again at the next look, the last answer standing.
func (k *Keeper) checkStore(ctx context.Context, env string, src *freshtoken.Source) {
	if k.CheckStore == nil {
		return
	}
	where, now := src.Location(), k.now()
	k.mu.Lock()
	last, checked := k.storeChecked[env]
	k.mu.Unlock()
	// A check "at" a time ahead was made before the clock was set back.
	if checked && last.where == where && now.Sub(last.at) < storeRecheck && !last.at.After(now) {
		return
	}
	err := k.CheckStore(ctx, env)
	if err != nil && !errors.Is(err, store.ErrDenied) && !errors.Is(err, store.ErrRestartLoses) {
		return
	}
	k.mu.Lock()
	put(&k.storeChecked, env, storeCheck{where: where, at: now, err: err})
	k.mu.Unlock()
	was := checked && last.where == where
	switch {
	case err != nil && (!was || last.err == nil || last.err.Error() != err.Error()):
		k.Logger.Warn("keeper: the token store is not set up as renewals need (the error says why, and what to do)", "env", env, "error", err.Error())
	case err == nil && was && last.err != nil:
		k.Logger.Info("keeper: the token store is set up as renewals need again", "env", env)
	}
}

// unfitStore is why env's store (src's) is not fit for its renewals, as
// CheckStore last answered of it, or nil: an answer of another store (one
// an edit moved env from) or of none (src nil) is not.
func (k *Keeper) unfitStore(env string, src *freshtoken.Source) error {
	if src == nil {
		return nil
	}
	where := src.Location()
	k.mu.Lock()
	defer k.mu.Unlock()
	if c := k.storeChecked[env]; c.where == where {
		return c.err
	}
	return nil
}

// tokenFile is the token file named for env, "" for none.
func (k *Keeper) tokenFile(env string) string {
	if k.TokenFile == nil {
		return ""
	}
	return k.TokenFile(env)
}

// put sets (*m)[key] to v, making the map first if need be.
func put[K comparable, V any](m *map[K]V, key K, v V) {
	if *m == nil {
		*m = map[K]V{}
	}
	(*m)[key] = v
}

func (k *Keeper) now() time.Time {
	if k.Now == nil {
		return time.Now()
	}
	return k.Now()
}

// loginLook is how soon the keeper looks again at an environment with a
// token file that awaits a log-in (none stored, another client's tokens, a
// grant ended): a log-in in another terminal has its token file written
// within seconds rather than at the next look, up to a minute on, while
// scripts reading the file found none. Other environments wait the whole
// look, which keeps a --debug log of a proxy left running for weeks from
// growing by a line every few seconds for each environment not logged in.
const loginLook = 5 * time.Second

// keptPerMinute is how many environments of one token endpoint the keeper
// renews in any minute. An accountant's environments, one per client
// company, all logged in at once by one FreeAgent user, expire together,
// at each hour and after a night asleep: the keeper renewed them all in
// the same second, and FreeAgent, which allows a user 15 token refreshes a
// minute, answered the 16th and after with 429. Kept under 15, room is
// left for a command or a proxy's client renewing meanwhile.
const keptPerMinute = 12

// tokenEndpoint names the token endpoint src's renewals go to: its
// token_url, or its issuer's, which discovery finds.
func tokenEndpoint(src *freshtoken.Source) string {
	g := src.OwnGrant()
	return cmp.Or(g.TokenURL, g.IssuerTokenURL, g.Issuer)
}

// pace is one token endpoint's renewals: when the keeper last began one
// for each environment it serves (or saw one made elsewhere, see
// renewedElsewhere), since when each environment waiting its turn has
// waited, and each environment of it (see member), with the slots their
// renewals are to be made at (see slot), nil until worked out again.
type pace struct {
	began   map[string]begun
	waiting map[string]waiter
	members map[string]member
	slots   map[string]time.Time
}

// leave drops env from the environments of p's endpoint and those waiting
// their turn there.
func (p *pace) leave(env string) {
	if _, ok := p.members[env]; ok {
		delete(p.members, env)
		p.slots = nil
	}
	delete(p.waiting, env)
}

// member is an environment of a token endpoint: the Source it was last
// looked at through, when renewedElsewhere last read its record, and, as
// its last look found, when its renewal is planned (zero for none) and how
// far ahead of that it may be made to spread a crowd (see pullable).
type member struct {
	src  *freshtoken.Source
	read time.Time
	at   time.Time
	pull time.Duration
	// counted is when a look of its counted the renewals made elsewhere
	// (see countElsewhere).
	counted time.Time
}

// begun is a renewal begun: when, and whether before its turn, let in by
// its lapse bound.
type begun struct {
	at    time.Time
	early bool
}

// waiter is an environment waiting its turn: since when, and when it last
// asked. One whose renewal a look finds no longer due is dropped (see
// member); one that has not asked for waiterGone (its looks failing
// before its plan was read) holds no renewal back.
type waiter struct {
	since, asked time.Time
	// lapsingTold says it was told that its token file holds an expired
	// token before its turn (see lapsingUntold).
	lapsingTold bool
}

// lapsingUntold reports whether env, waiting its turn at endpoint, is yet
// to be told that its token file holds an expired token meanwhile, and
// notes it told: once a wait, not at every look. first reports whether no
// other waiting there was told: a crowd's first is warned of, the others
// told at --debug, as 30 environments after a night asleep warned 18
// lines a morning, of a wait that ends by itself within minutes.
func (k *Keeper) lapsingUntold(env, endpoint string) (untold, first bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.paced[endpoint]
	if p == nil {
		return false, false
	}
	w, ok := p.waiting[env]
	if !ok || w.lapsingTold {
		return false, false
	}
	w.lapsingTold = true
	p.waiting[env] = w
	for name, other := range p.waiting {
		if name != env && other.lapsingTold {
			return true, false
		}
	}
	return true, true
}

// waiterGone is how long an environment waiting its turn may go without
// asking again before it is no longer counted as waiting: a turn is at
// most a minute away, and a look may come a minute after it.
const waiterGone = 2 * time.Minute

// member notes env as one of endpoint's environments, looked at through
// src, whose records renewedElsewhere reads, its renewal planned at at,
// and which may be pulled that far ahead (see slot); and as no other
// endpoint's. An environment whose token_url was edited stayed one of its
// old endpoint's, waiting its turn there, ahead of the others, for two
// minutes, and read for renewals there until it was removed. Its renewals
// begun there still count there for their minute. One whose renewal is
// not due (done by another process sharing the store, or its plan moved)
// waits its turn no more, and holds none back.
func (k *Keeper) member(env, endpoint string, src *freshtoken.Source, at time.Time, pull time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for other, p := range k.paced {
		if other != endpoint {
			p.leave(env)
		}
	}
	p := k.paceOf(endpoint)
	if at.IsZero() || k.now().Before(at) {
		delete(p.waiting, env)
	}
	m, ok := p.members[env]
	if !ok || !m.at.Equal(at) || m.pull != pull {
		p.slots = nil
	}
	m.src, m.at, m.pull = src, at, pull
	p.members[env] = m
}

// spacing is the time between renewals that keeps them keptPerMinute a
// minute.
const spacing = time.Minute / keptPerMinute

// slot is when env's renewal, not yet due, is to be made so that the
// renewals of endpoint's environments falling due together are spread
// spacing apart, never held past their plans: taken from the last planned
// back, each is made at its plan, or a spacing before the next one's if
// that is sooner, but no further ahead of its plan than its pull. Made so,
// they fall due spread the next time too. Zero when env's is not planned
// yet. 30 environments logged in together, their token files renewed the
// default minute ahead, all fell due in the same second of each hour;
// pacing could hold none past 30 s (half the minute left), so all 30 were
// sent within it, and a provider allowing 15 a minute answered 429s.
//
// A slot depends on the plans after it alone, so the endpoint's are worked
// out again only once a plan changes (see member), not at each look, which
// for 2000 environments planned together would take seconds of the
// machine a minute.
func (k *Keeper) slot(env, endpoint string) time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.paceOf(endpoint)
	if p.slots == nil {
		p.slots = slotsOf(p.members)
	}
	return p.slots[env]
}

// slotsOf works out the slots of members' renewals (see slot).
func slotsOf(members map[string]member) map[string]time.Time {
	type planned struct {
		env  string
		at   time.Time
		pull time.Duration
	}
	var crowd []planned
	for env, m := range members {
		if !m.at.IsZero() {
			crowd = append(crowd, planned{env, m.at, m.pull})
		}
	}
	slices.SortFunc(crowd, func(a, b planned) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(b.env, a.env)
	})
	slots := make(map[string]time.Time, len(crowd))
	var next time.Time
	for _, c := range crowd {
		at := c.at
		if before := next.Add(-spacing); !next.IsZero() && before.Before(at) {
			at = c.at.Add(-c.pull)
			if before.After(at) {
				at = before
			}
		}
		slots[c.env] = at
		next = at
	}
	return slots
}

// pullable is how far ahead of its plan (at) env's renewal may be made to
// spread a crowd (see slot): as far as its tokens allow (plan.Ahead), but
// not at all while a rejected client waits (at is not the plan's) or its
// renewals fail.
func (k *Keeper) pullable(env string, plan freshtoken.KeepAlivePlan, at time.Time) time.Duration {
	if !at.Equal(plan.At) {
		return 0
	}
	k.mu.Lock()
	_, failing := k.failing[env]
	k.mu.Unlock()
	if failing {
		return 0
	}
	return plan.Ahead
}

// pulled reports whether env's renewal, not yet due, may be made now,
// ahead of its plan, and notes it begun if so: only into a place of the
// minute that no renewal made, nor any waiting its turn, takes (see place).
func (k *Keeper) pulled(env, endpoint string) bool {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.paceOf(endpoint)
	if p.place(env, now).After(now) {
		return false
	}
	p.began[env] = begun{at: now}
	return true
}

// paceOf is endpoint's renewals, made when first asked. The caller holds k.mu.
func (k *Keeper) paceOf(endpoint string) *pace {
	p := k.paced[endpoint]
	if p == nil {
		p = &pace{began: map[string]begun{}, waiting: map[string]waiter{}, members: map[string]member{}}
		put(&k.paced, endpoint, p)
	}
	return p
}

// turn is when env's renewal, now due, at endpoint may begin: its place
// of the minute (see place), or now, noted as begun, when that is now or
// waiting for it would take more than half the time left until what the
// renewal keeps alive lapses (lapses, zero when it has lapsed already):
// the rest is left for retries should it fail. Held until its turn, a
// grant's refresh token or idle limit lapsed (a log-in needed), and so did
// the token file's access token, every hour for minutes, in a fleet of
// users on one app whose limit is each user's: pacing is a courtesy to the
// provider, and a 429 is retried, but a lapse is what a person meets. A
// renewal so let in before its turn takes no place of those waiting
// already: twelve environments whose tokens last seconds, each let in so,
// kept the minute full, and one whose token file had lapsed (no bound)
// waited for ever. Its keeper asks again sooner than its turn all the same
// (see aheadLook), in case those ahead go.
func (k *Keeper) turn(env, endpoint string, lapses time.Time) time.Time {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.paceOf(endpoint)
	turn := p.place(env, now)
	if early := turn.After(now); !early || !lapses.IsZero() && 2*turn.Sub(now) > lapses.Sub(now) {
		p.began[env] = begun{at: now, early: early}
		delete(p.waiting, env)
		return now
	}
	me, waited := p.waiting[env]
	if !waited {
		me.since = now
	}
	me.asked = now
	p.waiting[env] = me
	return turn
}

// place is when env's renewal at p's endpoint may take a place of the
// minute: now, unless keptPerMinute other environments began theirs in the
// minute before, counting those that have waited their turn longer than env
// (all of them, when env is not waiting); then when enough of theirs are a
// minute old. One environment's own renewals are not held back for its
// own: the engine keeps them at most one a second, and its token's
// lifetime sets their pace. But an environment waiting its turn goes
// before one renewing again: environments whose tokens last seconds, each
// renewed as they expired, kept the minute full, and the others waited for
// ever. A renewal or a wait noted after now was noted before the clock was
// set back, and no longer counts. A place past the places of this minute
// is counted from the places as those ahead take them: told to ask again
// in 5 s, such a renewal was let in by its lapse bound only in the last
// 10 s before it lapsed, and its warning named a turn 5 s away that came
// minutes later. The caller holds k.mu.
func (p *pace) place(env string, now time.Time) time.Time {
	for other, w := range p.waiting {
		if w.asked.After(now) || now.Sub(w.asked) >= waiterGone {
			delete(p.waiting, other)
		}
	}
	me, waited := p.waiting[env]
	var recent []time.Time
	for other, b := range p.began {
		switch {
		case b.at.After(now) || now.Sub(b.at) >= time.Minute:
			delete(p.began, other)
		case other == env:
		case b.early && waited && !b.at.Before(me.since):
			// Let in by its lapse bound while env waited: it takes
			// no place of env's.
		default:
			recent = append(recent, b.at)
		}
	}
	ahead := 0
	for other, w := range p.waiting {
		if other != env && (!waited || w.since.Before(me.since) || w.since.Equal(me.since) && other < env) {
			ahead++
		}
	}
	if len(recent)+ahead < keptPerMinute {
		return now
	}
	// The minute's places, each free again a minute after it was taken
	// (those free now are taken now by those ahead), go to those ahead as
	// they free, in turn, then env: its place is the q-th to free. Each
	// taken again is taken when it frees, and frees a minute after.
	places := recent
	for len(places) < keptPerMinute {
		places = append(places, now)
	}
	slices.SortFunc(places, time.Time.Compare)
	q := len(recent) - keptPerMinute + ahead
	for len(places) <= q {
		places = append(places, places[len(places)-keptPerMinute].Add(time.Minute))
	}
	return places[q].Add(time.Minute)
}

// renewedElsewhere counts, as begun at endpoint, the renewals of its
// environments in the minute before now that their records in the store
// show and this keeper did not begin: another keeper's sharing the store
// (the service and a proxy started by hand, machines on one Redis), or a
// command's. Each keeper paced only its own: two renewed 24 in a minute
// at one token endpoint. Nothing new is stored, so nothing new can fail:
// a record that cannot be read back (ErrCorrupt; the reading stopped
// there, and the renewals after it went uncounted) or was renewed by a
// clock ahead of this one counts for nothing, and a store that fails a
// read otherwise is read no further, by this look nor any within
// aheadLook, so that one out of reach does not hold each renewal for a
// time-out more. Each record is read
// at most once an aheadLook: read at each look of each environment due,
// every aheadLook for each waiting its turn, 200 environments on a file
// store took three quarters of a second of the machine's every 5 s,
// growing as the square of their number. Nor does one look read for
// longer than elsewhereWait: the due renewal waits for the reading, and
// 100 records read one after another from a Redis far away held it a
// minute, past its token's expiry; the records left are read at the looks
// after. A renewal sent but not yet stored, or stored since its record was
// read, or whose record is yet to be read, is not seen: keepers renewing
// within moments of each other may pass the limit.
func (k *Keeper) renewedElsewhere(ctx context.Context, endpoint string) {
	now := k.now()
	k.mu.Lock()
	names := slices.Collect(maps.Keys(k.paceOf(endpoint).members))
	k.mu.Unlock()
	for _, name := range names {
		if k.now().Sub(now) >= elsewhereWait {
			return
		}
		src := k.toRead(endpoint, name, now)
		if src == nil {
			continue
		}
		rec, err := src.Record(ctx)
		if err != nil && !errors.Is(err, store.ErrCorrupt) {
			for _, rest := range names {
				k.toRead(endpoint, rest, now) // by no look within aheadLook either
			}
			return
		}
		if rec == nil || src.CheckGrant(rec) != nil || rec.RenewedAt.After(now) || now.Sub(rec.RenewedAt) >= time.Minute {
			continue
		}
		k.mu.Lock()
		p := k.paceOf(endpoint)
		if b, ok := p.began[name]; !ok || b.at.After(now) || now.Sub(b.at) >= time.Minute {
			p.began[name] = begun{at: rec.RenewedAt}
		}
		k.mu.Unlock()
	}
}

// readAhead is how long before a renewal its watch looks to count the
// renewals made elsewhere (see countElsewhere), less than aheadLook.
const readAhead = 2 * time.Second

// countElsewhere counts the renewals made elsewhere (renewedElsewhere)
// before env's renewal asks for a place in the minute, unless a look of
// env's counted them within aheadLook: one readAhead before the renewal
// (see untilNext), so that on a store slow to answer the renewal waits for
// no reading (it waited up to elsewhereWait for one).
func (k *Keeper) countElsewhere(ctx context.Context, env, endpoint string) {
	now := k.now()
	k.mu.Lock()
	counted := k.paceOf(endpoint).members[env].counted
	k.mu.Unlock()
	if !counted.IsZero() && !counted.After(now) && now.Sub(counted) < aheadLook {
		return
	}
	k.renewedElsewhere(ctx, endpoint)
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.paceOf(endpoint)
	if m, ok := p.members[env]; ok {
		m.counted = now
		p.members[env] = m
	}
}

// elsewhereWait is how long a look reads records at most for the
// renewals made elsewhere before its due renewal takes its turn (see
// renewedElsewhere), as putBackWait bounds a put-back.
const elsewhereWait = time.Second

// toRead is the Source to read name's record through for
// renewedElsewhere at now, noted read, so that no look reads it again
// within aheadLook; nil when name is no longer an environment of
// endpoint's, its renewal in the minute is counted already, or its record
// was read within aheadLook (by another environment's look meanwhile).
func (k *Keeper) toRead(endpoint, name string, now time.Time) *freshtoken.Source {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.paceOf(endpoint)
	m, ok := p.members[name]
	if !ok {
		return nil
	}
	if b, ok := p.began[name]; ok && !b.at.After(now) && now.Sub(b.at) < time.Minute {
		return nil // counted already
	}
	if !m.read.After(now) && now.Sub(m.read) < aheadLook {
		return nil // read lately
	}
	m.read = now
	p.members[name] = m
	return m.src
}

// aheadLook is how soon at most an environment waiting its turn asks
// again for it: those ahead of it may go (renewed elsewhere, or no longer
// due), and its place come sooner.
const aheadLook = 5 * time.Second

// minWait keeps a plan that stays due from spinning the keeper, without
// sleeping past a plan.
const minWait = 100 * time.Millisecond

// tokenFileLockWait is the longest the keeper waits for a token file's
// lock (see lockTokenFile), which its holders keep for moments: one held
// longer is held by a process stopped (Ctrl-Z) or hung, and the file is
// written without it.
var tokenFileLockWait = 10 * time.Second

// noteFailure remembers since when, and why, env's renewals fail (err;
// rec, the record a renewal that failed left stored, nil if reading the
// configuration or the tokens failed), and forgets it when they work (err
// nil). The provider ending the grant or rejecting the client is noted in
// the record, and told as such first.
func (k *Keeper) noteFailure(env string, err error, rec *store.Record) {
	k.note(&k.failing, env, err, rec != nil)
	if err == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.failing[env]
	if rec != nil {
		f.issued = rec.IssuedAt
	}
	if lost := tokenerr.LostIn(err); lost != "" {
		f.lost = lost
	}
	k.failing[env] = f
}

// noteWrite remembers since when, and why, env's token file cannot be
// written (err), and forgets it when it was, or needs not be (err nil).
func (k *Keeper) noteWrite(env string, err error) {
	k.note(&k.unwritten, env, err, false)
}

// note records in *m env's failure err, which began now unless it goes
// on, or forgets it when err is nil.
func (k *Keeper) note(m *map[string]failure, env string, err error, renewing bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		delete(*m, env)
		return
	}
	f, ok := (*m)[env]
	if !ok || f.since.After(k.now()) { // a failure "since" the future: the clock was set back
		f.since, f.asleep = k.now(), 0
	}
	f.err, f.renewing = err, renewing
	put(m, env, f)
}

// noteRejected remembers err if it is the provider rejecting env's client
// where there is no record (rec) to hold it, and forgets it on success.
func (k *Keeper) noteRejected(env string, rec *store.Record, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case err == nil:
		delete(k.rejected, env)
		delete(k.rejectedWith, env)
	case rec == nil && errors.Is(err, freshtoken.ErrClientRejected):
		kind := store.ProblemClientRejected
		if errors.Is(err, tokenerr.ErrOwnRefusal) {
			kind = store.ProblemRefused
		}
		put(&k.rejected, env, &store.Problem{Kind: kind, Message: err.Error(), At: k.now()})
	}
}

// noteRead forgets env's failures once its configuration and tokens were
// read (rec), when they were failures to read them, or when rec holds
// other tokens than the last renewal that failed left: another process or
// machine renewed, or someone logged in. Told by the tokens' issue time
// changing, not by its being after the failures began, which another
// machine's clock, set behind, would hide.
func (k *Keeper) noteRead(env string, rec *store.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if f, ok := k.failing[env]; ok && (!f.renewing || rec != nil && !rec.IssuedAt.Equal(f.issued)) {
		delete(k.failing, env)
	}
}

// rejection is the provider's rejection of env's client, as its record
// rec notes it, or as the keeper noted it where there is no record; nil
// when there is none.
func (k *Keeper) rejection(env string, rec *store.Record) *store.Problem {
	if rec != nil {
		return refusal(rec)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rejected[env]
}

// refusal is the provider's refusal of a renewal that rec notes (the
// client rejected, or a renewal refused), or nil.
func refusal(rec *store.Record) *store.Problem {
	if rec.Problem != nil && (rec.Problem.Kind == store.ProblemClientRejected || rec.Problem.Kind == store.ProblemRefused) {
		return rec.Problem
	}
	return nil
}

// NextRenewal is when a running keeper next renews the grant of rec,
// planned as plan (its Source's Plan), as of now, and what it waits for or
// meets then besides the plan ("" for nothing): what status and the
// proxy's page say will happen, as due does it. A plan due sooner than
// an hour after the provider refused a renewal is tried then
// (rejectedRetry), and one due later meets the refusal too unless it is
// fixed first: status said "due in 18d" while renewals were refused. No
// renewal is sent while renewals rest (rec.Rest). An edit of the
// configuration since a refusal, tried at the keeper's next look, is not
// known here.
func NextRenewal(plan freshtoken.KeepAlivePlan, rec *store.Record, now time.Time) (at time.Time, then string) {
	at = plan.At
	if at.IsZero() || rec == nil {
		return at, ""
	}
	if p := refusal(rec); p != nil && !p.At.After(now) { // a refusal ahead of this clock is tried at once (see due)
		if again := p.At.Add(rejectedRetry); at.Before(again) {
			return again, "an hour after the provider's last refusal (within a minute of an edit of this environment's configuration, if sooner)"
		}
		return at, "the provider refused the last try, so this one fails too unless the problem is fixed first"
	}
	if left := resting.Left(rec, now); left > 0 && at.Before(now.Add(left)) {
		return now.Add(left), "once renewals rest no more"
	}
	return at, ""
}

// settings is env's settings as they stand now (Settings), or nil when
// there is no telling.
func (k *Keeper) settings(env string) any {
	if k.Settings == nil {
		return nil
	}
	return k.Settings(env)
}

// rejectedAt remembers settings as those env's client was rejected with,
// in the rejection p: the keeper's own renewal was (again: true), or p was
// not seen before. A rejection noted again keeps its time when the record
// could not be written; the settings it stands against are still these.
func (k *Keeper) rejectedAt(env string, p *store.Problem, settings any, again bool) {
	if settings == nil {
		return // no telling: a later look's are taken
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if w, ok := k.rejectedWith[env]; ok && w.at.Equal(p.At) && !again {
		return
	}
	put(&k.rejectedWith, env, settingsAt{at: p.At, settings: settings})
}

// editedSince reports whether env's settings now differ from those its
// client was rejected with, in the rejection p. A rejection not seen
// before (noted by another process) is taken to stand against the
// settings of now; settings that cannot be read are no edit.
func (k *Keeper) editedSince(env string, p *store.Problem, now any) bool {
	if now == nil {
		return false
	}
	k.rejectedAt(env, p, now, false)
	k.mu.Lock()
	defer k.mu.Unlock()
	was := k.rejectedWith[env].settings
	return was != nil && !reflect.DeepEqual(was, now)
}

// noticeTime is how a notice writes a time.
const noticeTime = "2006-01-02 15:04 MST"

// checkClient is msg, the provider's rejection of env's client, and the
// next step, naming where its client secret comes from (SecretWhere);
// none when msg says what to check itself (a token URL where no endpoint
// is).
func (k *Keeper) checkClient(env, msg string) string {
	if failures.NamesItsCheck(msg) {
		return msg
	}
	where := ""
	if k.SecretWhere != nil {
		where = k.SecretWhere(env)
	}
	return msg + "; " + failures.CheckClient(where)
}

// tell passes env's state, as rec and the keeper's own failures show it,
// to the notifier; src may be nil when rec is.
func (k *Keeper) tell(ctx context.Context, src *freshtoken.Source, env string, rec *store.Record) {
	if k.Notify == nil {
		return
	}
	login := fmt.Sprintf("; run `freshtoken login -e %s`", env)
	ours := rec != nil && src.CheckGrant(rec) == nil
	k.mu.Lock()
	failing, failed := k.failing[env]
	unwritten, unwrote := k.unwritten[env]
	rejected := k.rejected[env]
	k.mu.Unlock()
	unfit := k.unfitStore(env, src)
	var keptBy *keptElsewhereError
	failed = failed && failing.lasted(k.now()) >= failingFor
	unwrote = unwrote && unwritten.lasted(k.now()) >= failingFor
	event, msg := "", ""
	switch {
	case rec == nil && rejected != nil && rejected.Kind == store.ProblemRefused:
		event, msg = notify.RenewalRefused, strings.TrimPrefix(rejected.Message, env+": ")
	case rec == nil && rejected != nil:
		event, msg = notify.ClientRejected, k.checkClient(env, strings.TrimPrefix(rejected.Message, env+": "))
	case rec != nil && !ours:
		// An edit of client_id, token_url or issuer: the tokens are never
		// used, and only a log-in helps.
		event, msg = notify.GrantEnded, "the stored tokens belong to another client, token endpoint, grant, audience or resource than the configuration names, so they are not used"+login
	case ours && rec.Problem != nil && rec.Problem.Kind == store.ProblemGrantEnded:
		event, msg = notify.GrantEnded, rec.Problem.Message+"; "+failures.LoginStep(rec.Problem.Message, env)
	case ours && rec.Problem != nil && rec.Problem.Kind == store.ProblemClientRejected:
		event, msg = notify.ClientRejected, k.checkClient(env, rec.Problem.Message)
	case ours && rec.Problem != nil && rec.Problem.Kind == store.ProblemRefused:
		event, msg = notify.RenewalRefused, rec.Problem.Message
	case ours && rec.RefreshToken == "" && src.NeedsLogin() && rec.AccessToken != "" && !rec.Expiry.IsZero() && !k.now().Before(rec.Expiry):
		// A log-in that brought no refresh token ends with its access token.
		event, msg = notify.GrantEnded, "the access token expired, and the provider issued no refresh token to renew it"+login
	case ours && rec.RefreshNotExtended && rec.RefreshExpiry.Sub(k.now()) < expiringWithin:
		event, msg = notify.RefreshExpiring, fmt.Sprintf("the refresh token expires %s and renewing does not extend it%s before then",
			rec.RefreshExpiry.Local().Format(noticeTime), login)
	case failed && errors.Is(failing.err, freshtoken.ErrUnreachable):
		// "since", not "for": the notice stays as first told while the
		// failures go on.
		kept := tokenerr.Kept(rec)
		if failing.lost != "" {
			kept = tokenerr.KeptThen(rec, failing.lost, "", "renewals go on")
		}
		event, msg = notify.Unreachable, fmt.Sprintf("renewals have failed to reach the provider since %s; %s", failing.since.Local().Format(noticeTime), kept)
	case failed:
		event, msg = notify.Unreachable, fmt.Sprintf("renewals have failed since %s: %s", failing.since.Local().Format(noticeTime), strings.TrimPrefix(failing.err.Error(), env+": "))
	case unwrote && errors.Is(unwritten.err, errSharedTokenFile):
		event, msg = notify.TokenFileFailing, fmt.Sprintf("the token file %s has been written by something else too since %s, with other tokens than this environment's, so its readers may get those; if another freshtoken configuration (a service's, another proxy's) names it, give each a token_file of its own", k.TokenFile(env), unwritten.since.Local().Format(noticeTime))
	case unwrote && errors.As(unwritten.err, &keptBy):
		event, msg = notify.TokenFileFailing, fmt.Sprintf("the token file %s is not written since %s, as it holds the token that %s keeps there; give each environment a token_file of its own", k.TokenFile(env), unwritten.since.Local().Format(noticeTime), keptBy.other)
	case unwrote:
		event, msg = notify.TokenFileFailing, fmt.Sprintf("the token file %s cannot be written since %s (%v); check token_file and its folder", k.TokenFile(env), unwritten.since.Local().Format(noticeTime), unwritten.err)
	case unfit != nil:
		// Told as soon as found, not 15 minutes later, but after a
		// failure that lasts: a store unfit in a way that still renews (a
		// Redis that evicts keys, a user without +pttl) would hide
		// renewals failing for another reason, the provider down for
		// hours; renewals failing for the store's are told with its words.
		event, msg = notify.StoreUnfit, "the token store is not set up as renewals need: "+strings.TrimPrefix(unfit.Error(), env+": ")
	}
	if msg != "" {
		msg = env + ": " + msg
	}
	// A grant's end is the end of the tokens one log-in or renewal issued,
	// which their issue time names: another end, after a log-in between
	// two looks, is told too, and the same end read again (a renewal
	// refused again, --force) is not. A rejection of the client is named
	// so too: it lasts until a renewal or a log-in succeeds, which issues
	// other tokens, so a rejection after one (fixed, then rejected again
	// between two looks) is told too; the same rejection noted again (the
	// keeper's hourly try, a command's renewal, a log-in rejected too)
	// keeps the tokens, and is not, nor at a restart's tries, unlike the
	// time of the rejection, noted anew at each. Another client's tokens
	// are one state however often that client renews them; a rejection
	// with no tokens stored ends only with the keeper's own success.
	occurrence := ""
	if (event == notify.GrantEnded || event == notify.ClientRejected || event == notify.RenewalRefused) && ours {
		occurrence = rec.IssuedAt.UTC().Format(time.RFC3339Nano)
	}
	if k.Suggesting != nil {
		msg = k.Suggesting(msg)
	}
	k.Notify.SetOccurrence(ctx, env, event, occurrence, msg)
}

// writeTokenFile puts rec's access token in env's token file, if it has
// one, the file does not hold it already (it may have been removed or
// changed under the keeper) and an HTTP header can carry it: a temp file,
// 0600, synced, renamed over the old one, so a reader sees the old token
// or the new one, never a part. It reads src's store again under the token
// file's lock first (see lockTokenFile): tokens a log-out or a remove
// deleted since rec was read leave nothing written, and tokens renewed
// since are the ones written; one written without the lock (held by a
// stopped or hung process) is read once more after, and a token a log-out
// forgot meanwhile is taken back. A file that holds the token another
// configuration's environment's keeper keeps there is left to it, and
// warned of once.
func (k *Keeper) writeTokenFile(ctx context.Context, env string, src *freshtoken.Source, rec *store.Record) {
	if k.TokenFile == nil || rec == nil || rec.AccessToken == "" {
		return
	}
	path := k.TokenFile(env)
	// The grant is live: a removal failing at a later grant's end is told
	// again, whoever writes this one's token there (another keeper of the
	// same configuration may have, and this one then writes nothing).
	k.mu.Lock()
	delete(k.unremoved, path)
	k.mu.Unlock()
	if path != "" {
		k.clearLitter(path)
	}
	if path == "" {
		k.noteWrite(env, nil)
		return
	}
	if holds(path, rec.AccessToken+"\n") {
		k.noteWrite(env, nil)
		k.keeps(env, path, rec.AccessToken+"\n")
		return
	}
	if k.Refuse != nil {
		if why := k.Refuse(path); why != "" {
			k.noteWrite(env, errors.New(why))
			k.Logger.Warn("keeper: the token file is not written", "env", env, "path", path, "error", why)
			return
		}
	}
	if err := foreignFile(path); err != nil {
		k.noteWrite(env, err)
		k.Logger.Warn("keeper: the token file names a file of something else, which it does not replace", "env", env, "path", path, "error", err.Error())
		return
	}
	if k.beforeLock != nil {
		k.beforeLock()
	}
	// A lock held past tokenFileLockWait is one a stopped or hung process
	// holds: waiting on, the environment would go unrenewed, unsaid.
	waitFor, stop := context.WithTimeout(ctx, tokenFileLockWait)
	unlock, err := lockTokenFile(waitFor, k.Ledger, path)
	held := waitFor.Err() != nil
	stop()
	k.mu.Lock()
	warned := k.lockHeld[path]
	if held && err != nil {
		put(&k.lockHeld, path, true)
	} else if err == nil {
		delete(k.lockHeld, path)
	}
	k.mu.Unlock()
	unlocked := err != nil
	switch {
	case err != nil && ctx.Err() != nil:
		return
	case err != nil && held:
		if !warned {
			k.Logger.Warn(fmt.Sprintf("keeper: the token file's lock has been held for %s, by a freshtoken (logout, remove or keeper) that is stopped or hung: resume or end it; the token file is written without the lock meanwhile", tokenFileLockWait), "env", env, "path", path)
		}
		unlock = func(bool) {}
	case err != nil:
		k.Logger.Debug("keeper: the token file's lock could not be taken; writing it without", "env", env, "path", path, "error", err.Error())
		unlock = func(bool) {}
	}
	defer unlock(false)
	stored, err := src.Record(ctx)
	if err != nil || !liveTokens(src, stored) {
		// Logged out or replaced since rec was read: the next look
		// removes the file, or writes the new log-in's token.
		k.Logger.Debug("keeper: the tokens changed as their token file was to be written; it is left to the next look", "env", env, "path", path)
		return
	}
	rec = stored
	content := rec.AccessToken + "\n"
	if holds(path, content) {
		k.noteWrite(env, nil)
		k.keeps(env, path, content)
		return
	}
	if !httpx.PrintableASCII(rec.AccessToken) {
		// A line break in it would reach a script's request as a header
		// of its own; the next renewal may bring a usable token.
		k.Logger.Warn("keeper: the provider issued an access token holding control or non-ASCII characters, which no HTTP header can carry; the token file is left as it was", "env", env, "path", path)
		return
	}
	by := k.owner(env)
	if other, kept := keptFor(k.Ledger, path, by, k.now()); kept {
		k.keptForAnother(env, path, by, other)
		return
	}
	if k.beforeWrite != nil {
		k.beforeWrite()
	}
	shared := k.writtenByAnother(path, content)
	if err := atomicfile.Write(path, []byte(content), atomicfile.Options{}); err != nil {
		err = unwritableBecause(path, err)
		// Warned when it starts or its reason changes, not at every look
		// (a line a minute in the journal for as long as a disk was full).
		k.mu.Lock()
		was, failing := k.unwritten[env]
		k.mu.Unlock()
		k.noteWrite(env, err)
		if !failing || was.err.Error() != err.Error() {
			k.Logger.Warn("keeper: cannot write the token file", "env", env, "path", path, "error", err.Error())
		}
		return
	}
	if shared {
		k.mu.Lock()
		again := errors.Is(k.unwritten[env].err, errSharedTokenFile)
		k.mu.Unlock()
		if !again {
			k.Logger.Warn("keeper: the token file held another token than the one this freshtoken wrote there: something else writes it too, such as a freshtoken with another configuration naming the same token_file, so its readers may get that one's token; it is written again, but give each a token_file of its own", "env", env, "path", path)
		}
		k.noteWrite(env, errSharedTokenFile)
	} else {
		k.noteWrite(env, nil)
	}
	if err := noteWritten(k.Ledger, path, content, by, rec.Expiry); err != nil {
		k.Logger.Debug("keeper: what the token file holds could not be noted; a log-out removes it only while it holds the stored token", "env", env, "path", path, "error", err.Error())
	}
	if unlocked {
		// A log-out or a remove between the read above and the write,
		// not held off by the lock, removed the file before it was
		// written: read again, and take back a logged-out token.
		if again, err := src.Record(ctx); err == nil && !liveTokens(src, again) && holds(path, content) {
			os.Remove(path)
			forgetNote(k.Ledger, path)
			k.Logger.Debug("keeper: the tokens were forgotten as their token file was written without its lock; it is removed", "env", env, "path", path)
			return
		}
	}
	k.keeps(env, path, content)
	k.Logger.Debug("keeper: token file written", "env", env, "path", path)
}

// keeps notes content, env's stored access token as its token file at path
// holds it, as what the keeper keeps there: written by it, or found there
// already, written by another keeper of the same configuration (the
// service and a proxy started by hand), as it would have written it. One
// found so and not noted was, at this keeper's next write, another
// writer's token: two keepers of one grant were told that something else
// writes their token file (see writtenByAnother).
func (k *Keeper) keeps(env, path, content string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	put(&k.wrote, path, content)
	put(&k.paths, env, path)
}

// liveTokens reports whether stored, src's record, holds an access token
// of its grant to write to a token file: none once the tokens were logged
// out or replaced, or the grant ended.
func liveTokens(src *freshtoken.Source, stored *store.Record) bool {
	return stored != nil && src.CheckGrant(stored) == nil && !grantEnded(stored) && stored.AccessToken != ""
}

// owner is the Owner of env's token file: env of the keeper's
// configuration.
func (k *Keeper) owner(env string) Owner { return NewOwner(k.Config, env) }

// keptForAnother notes that env's token file, at path, is not written as
// it holds the token the keeper of other (another configuration's
// environment) keeps there, and warns of it once while it lasts: two
// keepers writing one file each put their own token back at every look,
// and its readers got either environment's.
func (k *Keeper) keptForAnother(env, path string, by, other Owner) {
	err := &keptElsewhereError{other: other}
	k.mu.Lock()
	var was *keptElsewhereError
	again := errors.As(k.unwritten[env].err, &was) && was.other == other
	k.mu.Unlock()
	k.noteWrite(env, err)
	if !again {
		k.Logger.Warn("keeper: the token file holds the token that "+other.String()+" keeps there, so this environment's is not written there; give each environment a token_file of its own (or delete the file, if that configuration is no longer used)",
			"env", env, "config", by.Config, "path", path)
	}
}

// keptElsewhereError is noted as a token file's failure while it holds
// the token another configuration's environment keeps there.
type keptElsewhereError struct{ other Owner }

func (e *keptElsewhereError) Error() string {
	return "it holds the token that " + e.other.String() + " keeps there; give each environment a token_file of its own"
}

// unwritableBecause is err, a write of the token file at path that failed,
// as a person can act on it: a folder that does not exist, or on a disk
// mounted read-only, or a full disk, a folder at path or a file in place
// of its folder, named with what to do; any other reason names the folder
// and the system's words, never the temp file. Go's words named the
// temp file the write failed at (open /run/x/.token.tmp-651581525: no
// such file or directory), a name the person never gave.
func unwritableBecause(path string, err error) error {
	dir := filepath.Dir(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("its folder %s does not exist; make it, or name a token_file in a folder that does", dir)
		}
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("its folder %s is on a disk mounted read-only; name a token_file on one that can be written", dir)
	case atomicfile.DiskFull(err):
		return fmt.Errorf("the disk of its folder %s %s; %s", dir, atomicfile.IsFull(err), atomicfile.FreeSome(err, dir, ""))
	}
	if fi, serr := os.Lstat(path); serr == nil && fi.IsDir() {
		// Made since the configuration was read (it is refused there):
		// Go's words named a new temp file at each look, "rename
		// …/.token.tmp-412637872 …: file exists".
		return fmt.Errorf("%s is a folder now; remove it, or name a token_file in it, such as %s", path, filepath.Join(path, "token"))
	}
	if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
		return fmt.Errorf("its folder %s is a file now; remove it and make the folder, or name a token_file in a folder", dir)
	}
	// The system's reason alone: Go's words name the temp file, a new
	// one at each look, so the warning given once per reason came at
	// every look.
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("it cannot be written in its folder %s (%v)", dir, errno)
	}
	return err
}

// errSharedTokenFile is noted as a token file's failure while something
// else keeps writing other tokens to it (see writtenByAnother).
var errSharedTokenFile = errors.New("something else writes other tokens to it too")

// writtenByAnother reports whether the token file at path, which the
// keeper is about to write content to, holds something else than what
// the keeper last wrote there and than content: another writer changed it
// since. Two freshtoken processes with other configurations (a service
// and a proxy started by hand) naming one token_file each put their own
// environment's token back at every look, and its readers get either.
func (k *Keeper) writtenByAnother(path, content string) bool {
	k.mu.Lock()
	last, ok := k.wrote[path]
	k.mu.Unlock()
	if !ok {
		return false
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > maxTokenFile {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && string(b) != last && string(b) != content
}

// leaveTokenFile removes the token file the keeper last wrote for env
// when env's token file is now another, at path, or none (""): token_file
// was moved or taken out, or env taken out of the configuration. It goes
// only if it still holds what the keeper wrote there, and no other
// environment's token file is there: an access token nothing keeps
// current any more is not left behind, usable until it expires.
func (k *Keeper) leaveTokenFile(env, path string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	old, ok := k.paths[env]
	if !ok || old == path {
		return
	}
	delete(k.paths, env)
	for _, p := range k.paths {
		if p == old {
			return
		}
	}
	content, ok := k.wrote[old]
	delete(k.wrote, old)
	if !ok || !holds(old, content) {
		return
	}
	if err := os.Remove(old); err != nil {
		k.Logger.Warn("keeper: cannot remove the token file the configuration no longer names; remove it yourself", "env", env, "path", old, "error", err.Error())
		return
	}
	forgetNote(k.Ledger, old)
	k.Logger.Info("keeper: token file removed, as the configuration no longer names it", "env", env, "path", old)
}

// maxTokenFile is the most a file the keeper replaces may hold: more is
// something else than a token.
const maxTokenFile = 64 << 10

// foreignFile says why the file at path is something else than a token
// file the keeper may replace, or nil: a token_file mistyped or misread as
// a file to update (~/.netrc, a script's settings) names a file of
// several lines, which replacing it whole with a token would destroy.
func foreignFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	if fi.Size() > maxTokenFile {
		return fmt.Errorf("it holds %d bytes, not a token; move it away, or name another token_file", fi.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("it cannot be read (%v), so it may not be a token file; move it away, or name another token_file", errors.Unwrap(err))
	}
	if i := bytes.IndexByte(bytes.TrimRight(b, "\n"), '\n'); i >= 0 {
		return errors.New("it holds several lines, not a token; move it away, or name another token_file")
	}
	return nil
}

// removal is why a token file is removed: its tokens are gone from the
// store, or are another client's, or of a grant the provider ended.
type removal int

const (
	tokensGone removal = iota
	anotherClients
	grantEndedHere
)

// removeTokenFile removes env's token file once its tokens are not to be
// used, for the reason why: gone (a log-out, the store's folder removed,
// a Redis emptied: told, as its readers fail from now on), another
// client's (an edit of the configuration), or, rec's, of a grant the
// provider ended (no command serves its access token, which a strict
// provider revoked with the grant, and a tool reading the file would send
// it; the next log-in's is written there). It goes if it holds what the
// keeper wrote there, or the ended grant's access token as the keeper
// writes it (written before the keeper last started): never a file of
// someone else's. A removal that fails is warned of once, not at every
// look, until it works or fails otherwise.
func (k *Keeper) removeTokenFile(env string, why removal, rec *store.Record) {
	k.noteWrite(env, nil)
	path := k.tokenFile(env)
	if path == "" {
		return
	}
	k.clearLitter(path)
	k.mu.Lock()
	defer k.mu.Unlock()
	content, ours := k.wrote[path]
	if !(ours && holds(path, content)) && !(why == grantEndedHere && rec.AccessToken != "" && holds(path, rec.AccessToken+"\n")) {
		return
	}
	if err := os.Remove(path); err != nil {
		if k.unremoved[path] != err.Error() {
			put(&k.unremoved, path, err.Error())
			msg := "keeper: cannot remove the token file of an environment that has no tokens of its own; remove it yourself"
			if why == grantEndedHere {
				msg = "keeper: cannot remove the token file, which holds the access token of a grant the provider ended; remove it yourself, as tools reading it would send a revoked token"
			}
			k.Logger.Warn(msg, "env", env, "path", path, "error", err.Error())
		}
		return
	}
	forgetNote(k.Ledger, path)
	delete(k.unremoved, path)
	delete(k.wrote, path)
	delete(k.paths, env)
	switch why {
	case anotherClients:
		k.Logger.Debug("keeper: token file removed, as the environment has no tokens of its own", "env", env, "path", path)
	case grantEndedHere:
		k.Logger.Info("keeper: token file removed, as the provider ended the grant; the next log-in's token is written there", "env", env, "path", path)
	default:
		msg := fmt.Sprintf("keeper: token file removed, as the store holds the environment's tokens no more; it is written again after `freshtoken login -e %s`", env)
		if k.Suggesting != nil {
			msg = k.Suggesting(msg) // the log-in of this configuration, not the default one's
		}
		k.Logger.Info(msg, "env", env, "path", path)
	}
}

// grantEnded reports whether rec notes that the provider ended its grant:
// its access token is served to no one (see freshtoken.Source.Token).
func grantEnded(rec *store.Record) bool {
	return rec != nil && rec.Problem != nil && rec.Problem.Kind == store.ProblemGrantEnded
}

// holds reports whether path is a regular file (not a link, nor a pipe
// that reading would wait on) that only the user can read (where modes
// say so: not on Windows), holding exactly content.
func holds(path, content string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(content)) ||
		runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && string(b) == content
}

// staleTemp is how long a temp file of a token file's goes untouched
// before it is taken for one a crashed writer left: a live writer renames
// its own within moments of making it.
const staleTemp = 10 * time.Minute

// clearLitter removes the litter beside the token file at path
// (removeLitter) at one look in each staleTemp at most, as none is
// removed sooner after it was made: at every look, a keeper of 2000
// environments awaiting a log-in, their token files in one folder, read
// the folder's 2000 names for each of them every 5 s.
func (k *Keeper) clearLitter(path string) {
	now := k.now()
	k.mu.Lock()
	last, looked := k.litterLooked[path]
	due := !looked || now.Sub(last) >= staleTemp || last.After(now) // after: the clock was set back
	if due {
		put(&k.litterLooked, path, now)
	}
	k.mu.Unlock()
	if due {
		removeLitter(path)
	}
}

// removeLitter removes the temp files that a writer of the token file at
// path killed mid-write (SIGKILL, power loss) left beside it, named as
// atomicfile names them: each holds an access token, in a folder of the
// user's, where nothing else would remove it. Another keeper may be
// writing the token file now (a service and a proxy started by hand), and
// no lock is held, so only files untouched for staleTemp go.
func removeLitter(path string) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".tmp-"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
