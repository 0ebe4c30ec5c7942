// Package keeper is the long-running process's watch over every configured
// environment: it renews each grant when its plan says so (before the
// refresh token expires, within the provider's idle limit), so that a
// grant never lapses while nobody uses it. Renewals go through the engine,
// so they stay one at a time with every other process and machine.
package keeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/clock"
	failures "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/resting"
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
	// and never shown. A client the provider rejected is tried again
	// rejectedRetry later, unless these settings have changed since: an
	// edit of the configuration may have fixed it (token_url, the client
	// secret), and is tried at the next look.
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

	mu sync.Mutex // guards what follows, which each environment's watch uses
	// envs is what the keeper remembers of each environment (see
	// envState).
	envs  map[string]*envState
	wrote map[string]string // what the keeper last wrote to each token file
	// beforeLock and beforeWrite, if set, are called as a token file is
	// about to be written: before its lock is taken, and under it once the
	// store is read again, just before the write. Tests put a log-out
	// there.
	beforeLock, beforeWrite func()
	// unremoved is, for each token file that could not be removed once
	// its tokens were not to be used, the failure last warned of (see
	// removeTokenFile), until a live grant's token is to be written there.
	unremoved map[string]string
	// lockHeld holds each token file whose lock was found held past
	// tokenFileLockWait, warned of once, until the lock is taken again.
	lockHeld map[string]bool
	// litterLooked is when the keeper last looked for litter beside each
	// token file (see clearLitter).
	litterLooked map[string]time.Time
	// paced is, for each token endpoint, when the keeper last began a
	// renewal of each environment it serves, and which wait their turn
	// (see turn).
	paced map[string]*pace
}

// envState is what the keeper remembers of one environment from one look
// to the next, guarded by Keeper.mu: forget drops it whole, as the
// environment is taken out of the configuration.
type envState struct {
	// failing is since when, and why, its renewals fail; nil while they
	// work.
	failing *failure
	// unwritten is since when, and why, its token file cannot be written;
	// nil while it can.
	unwritten *failure
	// path is the token file the keeper last wrote for it; "" for none.
	path string
	// unnamed says its last look found no token file named (see
	// keepTokenFile).
	unnamed bool
	// rejected is when and why the provider rejected its client, when it
	// has no record to note it in (client credentials never had).
	rejected *store.Problem
	// rejectedWith is the settings (Settings) its client was rejected
	// with, as first seen after the rejection noted at.
	rejectedWith *settingsAt
	// refused says its own renewal was refused since the keeper started,
	// its last renewal succeeded or a look found no refusal noted (see
	// wasRefusedHere).
	refused bool
	// storeChecked is what CheckStore last answered of its store.
	storeChecked *storeCheck
	// held is the record the keeper last read or renewed, kept to put
	// back in a store that lost it (a Redis restarted without
	// persistence; see freshtoken.Source.Restore).
	held *store.Record
	// noGain is, after a renewal that gained nothing (see noteGain), when
	// its next renewal may be made; zero for none.
	noGain time.Time
	// heldNoted is the noGain its token file's ledger note holds (see
	// noteHold).
	heldNoted time.Time
	// hurried says its last renewal was followed by the next within
	// hurriedWithin (see notePace).
	hurried bool
	// source is the Source its looks use while its Settings are unchanged
	// (see source).
	source *openedSource
}

// state is env's envState, made when first asked. The caller holds k.mu.
func (k *Keeper) state(env string) *envState {
	e := k.envs[env]
	if e == nil {
		e = &envState{}
		put(&k.envs, env, e)
	}
	return e
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
	// rejectedRetry is how long after the provider rejected the client (or
	// refused a renewal with its own error) it is tried again, while it
	// does, whenever the plan falls due: a configuration error, never
	// retried at every look, but its secret may be fixed where the
	// configuration does not show it (the keychain, client_secret_cmd's store),
	// and the person who fixed it expects it seen soon. Tried an hour
	// later, a fix in the keychain was seen up to an hour on, and with a
	// plan days away not until then. A token request the provider refuses
	// for its client spends no refresh token, and 12 an hour are far from
	// any provider's limit (FreeAgent allows 15 a minute).
	rejectedRetry = 5 * time.Minute
	// abandonedRetry is rejectedRetry once refusals have lasted
	// abandonedAfter: a client nobody fixed within the hour (abandoned, its
	// app deleted at the provider) was tried 288 times a day, for ever.
	abandonedRetry = time.Hour
	abandonedAfter = time.Hour
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
	// warned says a failure of kind was warned of since, so the same
	// kind is logged at debug level until renewals work again (a store
	// out of reach: until it can be read again).
	warned bool
	kind   failures.Kind
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
		next := k.keepUntil(ctx, env, look)
		k.slept(looking)
		if !k.wait(ctx, env, next, look) {
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
	delete(k.envs, env)
	for _, p := range k.paced {
		delete(p.began, env)
		p.leave(env)
	}
}

// wakeCheck is how often a watch's wait looks at the wall clock (see wait).
var wakeCheck = clock.WallCheck

// sleepSlack is how far the wall clock may move apart from the timers
// while a watch looks or waits before the difference is taken for a sleep
// or the clock set: NTP's slewing moves it by milliseconds.
const sleepSlack = 2 * time.Second

// wait returns true once the wall clock reads until, or as long as it then
// was from until (most at most) has passed on the timers' clock, whichever
// comes first, and false if ctx ends first. until is the time the look
// before it planned on the wall clock, so that the clock set forward
// between that look and the wait is seen as well as during the wait; most,
// a look, keeps the clock set back meanwhile from lengthening it. Timers run on
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
func (k *Keeper) wait(ctx context.Context, env string, until time.Time, most time.Duration) bool {
	waiting := k.readClocks(env)
	defer k.slept(waiting)
	timer := time.NewTimer(min(until.Sub(waiting.wall), most))
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
			if !k.now().Before(until) {
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
	wall, timers := k.now(), time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	r := clockReading{env: env, wall: wall, timers: timers}
	if e := k.state(env); e.failing != nil {
		r.failing = e.failing.since
	}
	if e := k.state(env); e.unwritten != nil {
		r.unwritten = e.unwritten.since
	}
	return r
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
	ahead := k.now().Sub(r.wall) - time.Since(r.timers)
	if ahead.Abs() <= sleepSlack {
		return
	}
	k.Logger.Debug("keeper: the wall clock moved apart from the keeper's timers (the machine slept, or the clock was set); that time is not counted as failing", "env", r.env, "ahead", ahead.Round(time.Second))
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.state(r.env)
	for _, going := range []struct {
		f     *failure
		since time.Time
	}{{e.failing, r.failing}, {e.unwritten, r.unwritten}} {
		if going.f != nil && going.f.since.Equal(going.since) {
			going.f.asleep += ahead
		}
	}
}

// keepUntil renews env's grant if it is due, tells what needs a person,
// keeps its token file, and returns when to look again, for its next
// plan: within look.
func (k *Keeper) keepUntil(ctx context.Context, name string, look time.Duration) time.Time {
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
		return k.now().Add(look)
	}
	if err != nil {
		// A store out of reach (Redis down, a locked keychain) is warned
		// of once, as renewal failures are (see warnNow): each look warned
		// of it, a line a minute for as long as it lasted. Every other
		// failure (a configuration moved away, a mistake in it) is warned
		// of at each look, until it is fixed.
		k.noteFailure(name, err, nil)
		level := slog.LevelWarn
		if !k.warnNow(name, err) && failures.Of(err) == failures.StoreUnreachable {
			level = slog.LevelDebug
		}
		k.Logger.Log(ctx, level, "keeper: cannot read the environment's configuration or tokens", "env", name, "error", err.Error())
		k.tell(ctx, src, name, nil)
		return k.now().Add(look)
	}
	if k.readFailureWarned(name) {
		k.Logger.Info("keeper: the environment's configuration and tokens can be read again", "env", name)
	}
	k.checkStore(ctx, name, src)
	endpoint := tokenEndpoint(src)
	s := k.schedule(ctx, name, endpoint, src, rec, settings, look)
	if s.renew {
		k.Logger.Debug("keeper: renewing to keep the grant alive", "env", name, "why", s.why)
		src = k.renewing(ctx, name, settings, src)
		began := k.now()
		renewed, err := k.renew(ctx, src, s)
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
		refused := k.rejection(name, rec) // before this renewal
		if renewed != nil && k.warnedOf(name) {
			k.Logger.Info("keeper: renewals work again", "env", name)
		}
		k.noteFailure(name, err, rec)
		k.noteRejected(name, rec, err)
		if err != nil {
			return k.renewalFailed(ctx, name, settings, src, rec, refused, err, look)
		}
		s = k.planned(ctx, name, src, rec, renewed, settings, began)
		rec = renewed
	} else {
		k.noteRead(name, rec)
	}
	rec, awaitingLogin := k.keepTokenFile(ctx, name, settings, src, rec, pending)
	if rec != nil {
		k.hold(name, rec)
		k.noteHold(name, rec)
	}
	k.tell(ctx, src, name, rec)
	if awaitingLogin {
		look = min(look, loginLook)
	}
	return k.untilNext(ctx, name, endpoint, s, look)
}

// renew makes the renewal s says through src, and returns the record it
// left: a retry of a refused client before the plan falls due (s.force)
// is a keep-alive made whatever the plan (KeepAliveNow), which waits out a
// rest and spends no refresh token of a grant that has ended. Made as
// `freshtoken token --force` makes one, status told it as asked for by a
// person, and it sent an ended grant's refresh token.
func (k *Keeper) renew(ctx context.Context, src *freshtoken.Source, s step) (*store.Record, error) {
	if s.force {
		return src.KeepAliveNow(ctx)
	}
	return src.KeepAliveAhead(ctx, s.ahead)
}

// renewalFailed tells of env's renewal through src that failed with err,
// rec being the record the look read, and returns when to look again (see
// afterFailure). The record is read again, as the failure may be noted
// there: a rejection, noted against the settings it was made with (an
// edit after it is tried at once), or the grant's end, whose token file
// goes.
func (k *Keeper) renewalFailed(ctx context.Context, env string, settings any, src *freshtoken.Source, rec *store.Record, refused *store.Problem, err error, look time.Duration) time.Time {
	// A refusal tried again every rejectedRetry (refused, noted before
	// this renewal) is warned of once, and at --debug after: it stays told
	// (see tell) until it ends. Told by its kind, not its words, which
	// change with every answer of some providers (Entra's Trace ID).
	level := slog.LevelWarn
	if refused != nil && refusalKind(err) == refused.Kind || !k.warnNow(env, err) {
		level = slog.LevelDebug
	}
	k.Logger.Log(ctx, level, "keeper: renewal failed", "env", env, "error", err.Error())
	if errors.Is(err, freshtoken.ErrClientRejected) {
		k.refusedHere(env)
	}
	if again, rerr := src.Record(ctx); rerr == nil {
		rec = again
		if p := k.rejection(env, rec); p != nil {
			k.rejectedAt(env, p, settings, true)
		}
		if grantEnded(rec) && src.CheckGrant(rec) == nil {
			k.removeTokenFile(env, grantEndedHere, rec)
		}
		k.tell(ctx, src, env, rec)
	}
	return k.afterFailure(env, rec, err, look)
}

// keepTokenFile keeps env's token file after a look that read or renewed
// rec through src: removed when rec holds no live grant of env's, written
// otherwise, and left while tokens put back are yet to be stored
// (pending, see restore). It returns rec, as adopted if it was (see
// below), and whether env has a token file awaiting a log-in.
func (k *Keeper) keepTokenFile(ctx context.Context, env string, settings any, src *freshtoken.Source, rec *store.Record, pending bool) (*store.Record, bool) {
	if k.TokenFile != nil {
		// No token file named is believed at the second look in a row: a
		// configuration read as an editor saves it may name none.
		path := k.TokenFile(env)
		k.mu.Lock()
		e := k.state(env)
		again := e.unnamed
		e.unnamed = path == ""
		k.mu.Unlock()
		if path != "" || again {
			k.leaveTokenFile(env, path)
		}
	}
	if rec != nil && !rec.Grant.Bound && k.tokenFile(env) != "" && src.CheckGrant(rec) == nil {
		// Stored before grants were (or were bound), the record belongs to
		// the first environment that uses it, and its token going into the
		// token file is a use: it is adopted first (the engine serves it
		// unrecorded where the store takes no writes), or found adopted by
		// another configuration meanwhile.
		src = k.renewing(ctx, env, settings, src)
		if adopted, err := src.KeepAlive(ctx); err == nil {
			rec = adopted
		} else if again, err := src.Record(ctx); err == nil {
			rec = again
		}
	}
	switch {
	case pending:
		return rec, false
	case rec == nil:
		k.removeTokenFile(env, tokensGone, nil)
	case src.CheckGrant(rec) != nil: // never another client's token
		k.removeTokenFile(env, anotherClients, nil)
	case grantEnded(rec):
		k.removeTokenFile(env, grantEndedHere, rec)
	default:
		k.writeTokenFile(ctx, env, src, rec)
		return rec, false
	}
	return rec, k.tokenFile(env) != ""
}

// step is what a look does about an environment's renewal: make it now,
// ahead of its plan by ahead, or forced (force: a refused client tried
// again before its plan), or look again for it at at (zero: nothing
// is planned), why saying why. asks says the look at at asks for a place
// in the minute (see turn and pulled), so the renewals made elsewhere are
// read readAhead before it (see untilNext).
type step struct {
	renew bool
	ahead time.Duration
	force bool
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
		return step{renew: true, force: at.Before(plan.At), why: why}
	}
	k.Logger.Debug("keeper: renewal due, waiting its turn: as many environments of its token endpoint as are renewed in a minute were renewed in the last one", "env", env, "why", why, "at", turn.Format(time.RFC3339))
	k.warnLapsing(ctx, env, endpoint, rec, turn)
	again := now.Add(aheadLook)
	if turn.Before(again) {
		again = turn
	}
	return step{at: again, why: "waiting its turn (" + why + ")"}
}

// due is when env's renewal falls due, with its record rec, and why: at
// its plan (src.Plan); one whose client the provider rejected (see
// NextRenewal), when retry says, whatever the plan, or
// at once after an edit of the configuration since, or at its plan if
// sooner while the keeper's own renewal has not met the rejection; one
// after a renewal that gained nothing (see noteGain), no sooner than
// noteGain said. The plan is never sooner than
// the engine would renew (a second after the last renewal), so a renewal
// due within that second is looked at once, as it ends, not every minWait.
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
		again, when := retry(p)
		switch {
		case k.editedSince(env, p, settings):
			// An edit of the configuration is a person fixing it, who
			// wants to know now whether it worked.
			if now.Before(at) {
				at = now
			}
			why = "the provider rejected the client, and the environment's configuration has changed since"
		case !at.After(again) && !k.wasRefusedHere(env):
			// Only another process met it (a command given another
			// secret, say): the keeper's own renewal, due sooner, may
			// well work, and waiting would leave its token file expired.
			why = "another process's renewal was refused, not the keeper's yet (" + why + ")"
		default:
			at, why = again, "the provider refused the client; trying again "+when+", in case it was fixed where the configuration does not show it (the keychain, say)"
		}
	}
	k.mu.Lock()
	until := k.state(env).noGain
	k.mu.Unlock()
	// One further ahead than the wait was noted before the clock was set
	// back.
	if !until.IsZero() && at.Before(until) && until.Sub(now) <= noGainWait {
		at, why = until, "the last renewal gained nothing, and one made at once would gain nothing either ("+why+")"
	}
	// A try ahead of the plan (see renew) is looked at once renewals rest
	// no more (a 429's Retry-After), as NextRenewal tells: the engine,
	// which sends nothing meanwhile, would answer each look before with
	// the rest's failure.
	if left := resting.Left(rec, now); left > 0 && at.Before(plan.At) && at.Before(now.Add(left)) {
		at, why = now.Add(left), "renewals rest after one that gave up ("+why+")"
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
// until that token expires if sooner (see due), and the log says so once,
// until a renewal gains again. Without a token file the access token is
// not what a renewal is for; nor is a refresh token expiring within twice
// noGainWait held for it, which would end the grant. A look that brought
// no other tokens than was is not judged; another process's renewal,
// taken in place of one of the keeper's own (see renewedNow), is, as
// renewing again at once would gain nothing either.
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
	e := k.state(env)
	if gained {
		e.noGain = time.Time{}
		return
	}
	// A cached token handed back is renewed as it expires, when the
	// provider has a new one to give: held a minute, one handed back with
	// 30 s left stayed in the token file expired for the 30 s after.
	if rec.Expiry.Sub(now) > time.Second && rec.Expiry.Before(until) {
		until = rec.Expiry
	}
	told := !e.noGain.IsZero()
	e.noGain = until
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

// noteHold notes in the ledger when env's next renewal may be made after
// one that gained nothing (see noteGain), or that none is held, once that
// changed, so that status and the proxy's page, which read it
// (heldUntil), tell when the keeper renews, as the plan alone does not:
// rec is the record whose token its token file holds.
func (k *Keeper) noteHold(env string, rec *store.Record) {
	path := k.tokenFile(env)
	if k.Ledger == "" || path == "" || rec.AccessToken == "" {
		return
	}
	k.mu.Lock()
	e := k.state(env)
	held, noted := e.noGain, e.heldNoted
	k.mu.Unlock()
	if held.Equal(noted) {
		return
	}
	if err := noteHeld(k.Ledger, path, rec.AccessToken+"\n", k.owner(env), held); err != nil {
		k.Logger.Debug("keeper: the wait after a renewal that gained nothing could not be noted (tried again at the next look); status may name a sooner renewal meanwhile", "env", env, "path", path, "error", err.Error())
		return
	}
	k.mu.Lock()
	e.heldNoted = held
	k.mu.Unlock()
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
// env's renewal, begun at began, which replaced was with rec, is followed
// by the next at at, within hurriedWithin of its start (not its end: an
// answer taking 100 ms made renewals a second apart "every 900ms"): a
// token file whose access tokens last two seconds was renewed once a
// second, and a grant whose refresh tokens last one at the engine's
// floor, without a word. No floor of the
// keeper's would help: the token file would hold an expired token, or the
// grant lapse. A renewal held by noteGain is told of there.
func (k *Keeper) notePace(ctx context.Context, env string, was, rec *store.Record, plan freshtoken.KeepAlivePlan, began, at time.Time) {
	if !renewedNow(was, rec) {
		return
	}
	k.mu.Lock()
	e := k.state(env)
	told := e.hurried
	hurried := e.noGain.IsZero() && !at.IsZero() && at.Sub(began) < hurriedWithin
	e.hurried = hurried
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
	k.Logger.Warn(fmt.Sprintf("keeper: this environment is renewed %s, more than once a minute, as %s: a provider that limits renewals may refuse some (FreeAgent allows 15 a minute); %s",
		every(at.Sub(began)), cause, step), "env", env, "why", plan.Reason(), "next", at.Format(time.RFC3339))
}

// every says how often something a gap apart under a minute happens, as
// a person reads it: "once a second", "every 5 seconds". The engine
// renews no more than once a second, so a shorter gap is that.
func every(gap time.Duration) string {
	if s := gap.Round(time.Second); s > time.Second {
		return fmt.Sprintf("every %d seconds", s/time.Second)
	}
	return "once a second"
}

// planned is the step after env's renewal, begun at began, which
// replaced was with rec.
func (k *Keeper) planned(ctx context.Context, env string, src *freshtoken.Source, was, rec *store.Record, settings any, began time.Time) step {
	k.noteGain(ctx, env, was, rec, src.Plan(rec).At)
	plan, at, why := k.due(env, src, rec, settings)
	k.notePace(ctx, env, was, rec, plan, began, at)
	return step{at: at, asks: true, why: why}
}

// untilNext is when env's watch looks again after a look that took step
// s: at s.at, or look on if that is sooner, but minWait on at least. When the
// next look asks for a place in the minute, the renewals made elsewhere
// are counted readAhead before it (a look of its own), or now if that is
// sooner (see countElsewhere).
func (k *Keeper) untilNext(ctx context.Context, env, endpoint string, s step, look time.Duration) time.Time {
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
	if soonest := k.now().Add(minWait); next.Before(soonest) { // the clock read after any counting
		return soonest
	}
	return next
}

// source is env's Source for a look: the one its last look used while
// env's settings (Settings, as read for this look) are the same, else one
// opened anew. Opened anew at each look, a proxy of 2000 environments
// made 20 KB of garbage at each of its 33 looks a second. Without
// Settings, or settings that cannot be read, each look opens its own.
func (k *Keeper) source(ctx context.Context, env string, settings any) (*freshtoken.Source, error) {
	k.mu.Lock()
	o := k.state(env).source
	k.mu.Unlock()
	if o != nil && settings != nil && reflect.DeepEqual(o.settings, settings) {
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
		k.state(env).source = nil
		return src, err
	}
	k.state(env).source = &openedSource{src: src, settings: settings}
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

// afterFailure is when the keeper looks again after a renewal of env that
// failed with err, rec being the record it left stored: the whole look,
// unless env has a token file and rec's access token, the one it holds,
// expires within the look or has expired. Then the next try is as soon as
// renewals may be tried again (err's RetryAt: the end of the engine's rest
// after a renewal that gave up, or of the provider's Retry-After), so that
// once the provider is back the file holds an expired token that long at
// most, not up to a look. The rest keeps the tries far from a storm: a
// renewal's few token requests, then failedRest (30 s), about 8 a minute
// where FreeAgent allows 15.
func (k *Keeper) afterFailure(env string, rec *store.Record, err error, look time.Duration) time.Time {
	now := k.now()
	var fe *freshtoken.Error
	if k.tokenFile(env) == "" || rec == nil || rec.AccessToken == "" || rec.Expiry.IsZero() ||
		!errors.As(err, &fe) || fe.RetryAt.IsZero() || rec.Expiry.After(now.Add(look)) {
		return now.Add(look)
	}
	return now.Add(min(look, max(fe.RetryAt.Sub(now), minWait)))
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
	held := k.state(env).held
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
	e := k.state(env)
	if held := e.held; rec != nil && held != nil && store.LaterCopy(held, rec) {
		return
	}
	e.held = rec
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
	var last storeCheck
	k.mu.Lock()
	c := k.state(env).storeChecked
	k.mu.Unlock()
	checked := c != nil
	if checked {
		last = *c
	}
	// A check "at" a time ahead was made before the clock was set back.
	if checked && last.where == where && now.Sub(last.at) < storeRecheck && !last.at.After(now) {
		return
	}
	err := k.CheckStore(ctx, env)
	if err != nil && !errors.Is(err, store.ErrDenied) && !errors.Is(err, store.ErrRestartLoses) {
		return
	}
	k.mu.Lock()
	k.state(env).storeChecked = &storeCheck{where: where, at: now, err: err}
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
	if c := k.state(env).storeChecked; c != nil && c.where == where {
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

// now is the wall clock alone, as Now reads it (clock.Wall): by the
// timers' reading, a wait until a time the look planned missed a wake, and
// a failure's time asleep (see slept) was taken out of how long it lasted
// twice.
func (k *Keeper) now() time.Time { return clock.Wall(k.Now) }

// loginLook is how soon the keeper looks again at an environment with a
// token file that awaits a log-in (none stored, another client's tokens, a
// grant ended): a log-in in another terminal has its token file written
// within seconds rather than at the next look, up to a minute on, while
// scripts reading the file found none. Other environments wait the whole
// look, which keeps a --debug log of a proxy left running for weeks from
// growing by a line every few seconds for each environment not logged in.
const loginLook = 5 * time.Second

// minWait keeps a plan that stays due from spinning the keeper, without
// sleeping past a plan.
const minWait = 100 * time.Millisecond
