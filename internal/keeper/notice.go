package keeper

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/freshtoken/freshtoken"
	failures "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/resting"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
)

// What keeps failing for each environment, and what a person is told of
// it (see tell).

// noteFailure remembers since when, and why, env's renewals fail (err;
// rec, the record a renewal that failed left stored, nil if reading the
// configuration or the tokens failed), and forgets it when they work (err
// nil). The provider ending the grant or rejecting the client is noted in
// the record, and told as such first.
func (k *Keeper) noteFailure(env string, err error, rec *store.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.state(env)
	e.failing = k.noted(e.failing, err, rec != nil)
	if e.failing == nil {
		return
	}
	if rec != nil {
		e.failing.issued = rec.IssuedAt
	}
	if lost := tokenerr.LostIn(err); lost != "" {
		e.failing.lost = lost
	}
}

// warnNow reports whether env's failure err (a renewal's, or reading its
// configuration or tokens), noted already (see noteFailure), is to be
// warned of: the first of a run of failures, or one of another kind
// (failure.Of) than the last warned of. A provider
// down for hours is one warning, and the looks after it are logged at
// debug level: each look warned, a line a minute in a service's journal.
func (k *Keeper) warnNow(env string, err error) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.state(env).failing
	if f == nil {
		return true
	}
	kind := failures.Of(err)
	if f.warned && f.kind == kind {
		return false
	}
	f.warned, f.kind = true, kind
	return true
}

// warnedOf reports whether env's renewals are failing and were warned of
// (see warnNow).
func (k *Keeper) warnedOf(env string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.state(env).failing
	return f != nil && f.warned
}

// readFailureWarned reports whether env's configuration or tokens could
// not be read at its last look, and that was warned of (see warnNow).
func (k *Keeper) readFailureWarned(env string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.state(env).failing
	return f != nil && !f.renewing && f.warned
}

// noteWrite remembers since when, and why, env's token file cannot be
// written (err), and forgets it when it was, or needs not be (err nil).
func (k *Keeper) noteWrite(env string, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.state(env)
	e.unwritten = k.noted(e.unwritten, err, false)
}

// noted is the failure f (nil for none) going on with err, or one that
// began now; nil when err is nil, as it ended. The caller holds k.mu.
func (k *Keeper) noted(f *failure, err error, renewing bool) *failure {
	if err == nil {
		return nil
	}
	var n failure
	if f != nil {
		n = *f
	}
	if f == nil || n.since.After(k.now()) { // a failure "since" the future: the clock was set back
		n.since, n.asleep = k.now(), 0
	}
	n.err, n.renewing = err, renewing
	return &n
}

// unwrittenErr is why env's token file cannot be written, nil while it
// can. The caller holds k.mu.
func (k *Keeper) unwrittenErr(env string) error {
	if f := k.state(env).unwritten; f != nil {
		return f.err
	}
	return nil
}

// noteRejected remembers err if it is the provider rejecting env's client
// where there is no record (rec) to hold it, and forgets it on success. A
// rejection of the kind remembered already keeps when it was first met
// (store.Problem.Then), as the engine's note in a record does.
func (k *Keeper) noteRejected(env string, rec *store.Record, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.state(env)
	switch {
	case err == nil:
		e.rejected, e.rejectedWith, e.refused = nil, nil, false
	case rec == nil && errors.Is(err, freshtoken.ErrClientRejected):
		e.rejected = e.rejected.Then(store.Problem{Kind: refusalKind(err), Message: err.Error(), At: k.now()})
	}
}

// refusalKind is the kind of problem a renewal's error err is noted as
// when the provider refused it (store.ProblemClientRejected or
// store.ProblemRefused), or "" when it did not.
func refusalKind(err error) string {
	switch {
	case errors.Is(err, tokenerr.ErrOwnRefusal):
		return store.ProblemRefused
	case errors.Is(err, freshtoken.ErrClientRejected):
		return store.ProblemClientRejected
	}
	return ""
}

// noteRead forgets env's failures once its configuration and tokens were
// read (rec), when they were failures to read them, or when rec holds
// other tokens than the last renewal that failed left: another process or
// machine renewed, or someone logged in. Told by the tokens' issue time
// changing, not by its being after the failures began, which another
// machine's clock, set behind, would hide. A record that notes no
// refusal ends the keeper's own (see wasRefusedHere): a command's renewal
// (`token --force`) or a log-in succeeded since.
func (k *Keeper) noteRead(env string, rec *store.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.state(env)
	if e.failing != nil && (!e.failing.renewing || rec != nil && !rec.IssuedAt.Equal(e.failing.issued)) {
		e.failing = nil
	}
	if rec != nil && refusal(rec) == nil {
		e.refused = false
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
	return k.state(env).rejected
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
// proxy's page say will happen, as due does it. After the provider
// refused a renewal, it is tried again when retry says, whatever the
// plan: status said "due in 18d" of a client whose secret
// was fixed in the keychain meanwhile, which the keeper saw only then. No
// renewal is sent while renewals rest (rec.Rest). An edit of the
// configuration since a refusal, tried at the keeper's next look, and a
// refusal only another process met (the keeper's own renewal due sooner
// is made at its plan) are not known here. After a renewal that gained
// nothing, the keeper holds the next as ledger notes beside the
// environment's token file, tokenFile ("" for none; see heldUntil), which
// the plan does not show: status said "was due 20s ago" of a renewal the
// keeper made 40 s later.
func NextRenewal(plan freshtoken.KeepAlivePlan, rec *store.Record, now time.Time, ledger, tokenFile string) (at time.Time, then string) {
	at = plan.At
	if at.IsZero() || rec == nil {
		return at, ""
	}
	held := heldUntil(ledger, tokenFile, rec.AccessToken, now)
	if p := refusal(rec); p != nil && !p.At.After(now) { // a refusal ahead of this clock is tried at once (see due)
		at, then = retry(p)
		then += ", in case it was fixed where the configuration does not show it (the keychain, say; an edit of the configuration is tried within a minute): the provider refused the last try, so this one fails too unless the problem is fixed first"
	}
	if at.Before(held) {
		at, then = held, "the last renewal gained nothing (the provider handed back a token expiring no later, or one expiring as it arrived), so the next waits a minute, or until that token expires if sooner"
	}
	if left := resting.Left(rec, now); left > 0 && at.Before(now.Add(left)) {
		return now.Add(left), "once renewals rest no more"
	}
	return at, then
}

// retry is when a refusal p, the provider's last at p.At, is tried
// again, and the words saying when: rejectedRetry after it, or
// abandonedRetry once refusals have lasted abandonedAfter since the first
// (p.Since). Told by the record alone, so that every keeper sharing the
// store, status and the proxy's page tell one time. A first refusal ahead
// of the last (another machine's clock) counts as one just met.
func retry(p *store.Problem) (at time.Time, when string) {
	if p.At.Sub(p.First()) >= abandonedAfter {
		return p.At.Add(abandonedRetry), inWords(abandonedRetry) + " after the provider's last refusal, as it has refused every try for over " + inWords(abandonedAfter)
	}
	return p.At.Add(rejectedRetry), inWords(rejectedRetry) + " after the provider's last refusal"
}

// inWords says d, a whole number of minutes, as a person reads it: "5
// minutes", "an hour".
func inWords(d time.Duration) string {
	if d == time.Hour {
		return "an hour"
	}
	return fmt.Sprintf("%d minutes", d/time.Minute)
}

// refusedHere notes that env's renewal by the keeper was refused.
func (k *Keeper) refusedHere(env string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.state(env).refused = true
}

// wasRefusedHere reports whether the keeper's own renewal of env was
// refused since it started, its last renewal succeeded or a look found
// no refusal noted (see refusedHere, noteRead): a refusal only a command met, given another client secret
// (another $FREEAGENT_SECRET, say), left a token file due then expired
// until the keeper's retry, though the keeper's own renewal would have
// worked. Not whether the refusal the record notes now is the keeper's
// own: keepers sharing a store (a fleet's machines, the per-user service
// and a proxy started by hand) each took the other's refusal, noted after
// its own, for one only a command met, and tried again at every look. A
// refusal noted before the keeper started is taken for another's, and
// tried once at once.
func (k *Keeper) wasRefusedHere(env string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.state(env).refused
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
	e := k.state(env)
	if w := e.rejectedWith; w != nil && w.at.Equal(p.At) && !again {
		return
	}
	e.rejectedWith = &settingsAt{at: p.At, settings: settings}
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
	w := k.state(env).rejectedWith
	return w != nil && w.settings != nil && !reflect.DeepEqual(w.settings, now)
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

// refusedSteps is msg, a renewal of env refused with an error of the
// provider's own, with its steps, each a command, as status says them.
func (k *Keeper) refusedSteps(env, msg string) string {
	where := ""
	if k.SecretWhere != nil {
		where = k.SecretWhere(env)
	}
	said, steps := failures.Steps(msg, where, "run `freshtoken token --force -e "+env+"`", "`freshtoken login -e "+env+"`")
	return said + steps
}

// tell passes env's state, as rec and the keeper's own failures show it,
// to the notifier; src may be nil when rec is.
func (k *Keeper) tell(ctx context.Context, src *freshtoken.Source, env string, rec *store.Record) {
	if k.Notify == nil {
		return
	}
	login := fmt.Sprintf("; run `freshtoken login -e %s`", env)
	ours := rec != nil && src.CheckGrant(rec) == nil
	var failing, unwritten failure
	k.mu.Lock()
	e := k.state(env)
	failed, unwrote, rejected := e.failing != nil, e.unwritten != nil, e.rejected
	if failed {
		failing = *e.failing
	}
	if unwrote {
		unwritten = *e.unwritten
	}
	k.mu.Unlock()
	unfit := k.unfitStore(env, src)
	var keptBy *keptElsewhereError
	failed = failed && failing.lasted(k.now()) >= failingFor
	unwrote = unwrote && unwritten.lasted(k.now()) >= failingFor
	event, msg := "", ""
	switch {
	case rec == nil && rejected != nil && rejected.Kind == store.ProblemRefused:
		event, msg = notify.RenewalRefused, k.refusedSteps(env, strings.TrimPrefix(rejected.Message, env+": "))
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
		event, msg = notify.RenewalRefused, k.refusedSteps(env, rec.Problem.Message)
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
	// keeper's tries every 5 minutes, a command's renewal, a log-in
	// rejected too) keeps the tokens, and is not, nor at a restart's tries, unlike the
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
