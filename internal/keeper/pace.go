package keeper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/store"
)

// The pace of renewals at each token endpoint: at most keptPerMinute a
// minute, a crowd falling due together spread ahead of its plans, renewals
// made elsewhere counted (see schedule, which applies these rules).

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
	failing := k.state(env).failing != nil
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
