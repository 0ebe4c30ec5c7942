// Package store defines where freshtoken keeps each environment's tokens and
// how renewals are serialised: a Store holds one Record per environment and
// hands out a per-environment lock that excludes other renewers, whether they
// are goroutines, processes or machines.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/stallwatch"
)

// Record is everything freshtoken knows about one environment's grant.
// Its JSON (json.Marshal, and what calls it: slog's JSON handler for a
// record in a struct, a map or a slice; expvar) is the stored form, the
// tokens whole, as json.Unmarshal reads it back: a program logging a
// struct that holds a record logs the record itself (its LogValue) or its
// String instead, which mask them.
type Record struct {
	AccessToken   string    `json:"access_token,omitempty"`
	TokenType     string    `json:"token_type,omitempty"`
	Expiry        time.Time `json:"expiry,omitzero"`
	RefreshToken  string    `json:"refresh_token,omitempty"`
	RefreshExpiry time.Time `json:"refresh_token_expiry,omitzero"`
	IssuedAt      time.Time `json:"issued_at,omitzero"`
	// LoggedInAt is when the log-in that began these tokens' grant asked
	// for them, kept through renewals; zero in records written before it
	// was, and for client credentials.
	LoggedInAt time.Time `json:"logged_in_at,omitzero"`
	RenewedAt  time.Time `json:"renewed_at,omitzero"`
	Renewals   int       `json:"renewals"`
	// RenewedFor says why the last renewal happened: RenewedForExpiry,
	// RenewedForRejection or RenewedOnRequest.
	RenewedFor string `json:"renewed_for,omitempty"`
	// RejectedInARow counts the renewals in a row that the API's 401s
	// caused, each for the token the one before brought: 1 after a 401
	// renewed a token from any other cause, 0 when the last renewal had
	// another cause. It spaces out further renewals for 401s.
	RejectedInARow int `json:"rejected_in_a_row,omitempty"`
	// RefreshNotExtended is set once a renewal made to keep the grant alive
	// left the refresh token's expiry where it was: renewing cannot extend
	// it, and only a log-in will, before it expires.
	RefreshNotExtended bool `json:"refresh_not_extended,omitempty"`
	// Scope is the scope the provider granted, space-separated, as the
	// last answer that named one said it (RFC 6749 §5.1: an answer names
	// it when it grants other than asked); "" when none did.
	Scope string `json:"scope,omitempty"`
	// LoggedInWith is the configuration file whose log-in (or import)
	// began these tokens' grant, kept through renewals: configurations
	// that share a store and an environment of the same grant share the
	// record, and this tells which of them chose the account. Zero in
	// records written before it was, by a program that names no file, and
	// by an older freshtoken's renewal, which drops it.
	LoggedInWith ConfigFile `json:"logged_in_with,omitzero"`
	// Grant says which grant the tokens belong to. Tokens are used by, and
	// sent for, only an environment configured with the same grant. Records
	// written before it existed have none.
	Grant Grant `json:"grant,omitzero"`
	// Problem is the last renewal failure that needs a person, kept until a
	// renewal or a log-in succeeds; nil when all is well.
	Problem *Problem `json:"problem,omitempty"`
	// Rest holds renewals back, unless forced, after one gave up because
	// the token endpoint kept failing or asked to wait, in every process
	// and on every machine sharing the store; nil when none did since the
	// tokens were last renewed.
	Rest *Rest `json:"rest,omitempty"`
}

// ScopesNotGranted lists the scopes of asked that r's granted Scope
// lacks, in asked's order; none when no answer named a scope. Names are
// compared without regard to case (Microsoft grants user.read as
// User.Read). A scope granted under a longer name ending in it (Google
// grants email as https://www.googleapis.com/auth/userinfo.email) counts,
// as does one asked for under a longer name ending in the one granted
// (Microsoft grants https://graph.microsoft.com/User.Read as User.Read),
// a resource's .default (which asks for whatever the app was allowed, and
// is never named back), and offline_access when r holds a refresh token,
// which is what it asks for (Microsoft never names it in the scope
// granted).
func (r Record) ScopesNotGranted(asked []string) []string {
	if r.Scope == "" {
		return nil
	}
	granted := ScopeWords(strings.ToLower(r.Scope))
	has := func(a string) bool {
		a = strings.ToLower(a)
		return a == "offline_access" && r.RefreshToken != "" || a == ".default" || strings.HasSuffix(a, "/.default") ||
			slices.ContainsFunc(granted, func(g string) bool {
				return g == a || strings.HasSuffix(g, "/"+a) || strings.HasSuffix(g, "."+a) || strings.HasSuffix(a, "/"+g)
			})
	}
	var missing []string
	for _, a := range asked {
		if !has(a) && !slices.Contains(missing, a) {
			missing = append(missing, a)
		}
	}
	return missing
}

// ScopeWords splits a scope as a provider names it into its scopes: at
// spaces (RFC 6749 §3.3), and at commas, which some providers (GitHub's
// OAuth apps) put between them instead.
func ScopeWords(scope string) []string {
	return strings.FieldsFunc(scope, func(c rune) bool { return c == ',' || unicode.IsSpace(c) })
}

// String shows the record with its access and refresh tokens masked, so
// that a program may print or log one (%v, %+v, slog) without handing out
// the grant.
func (r Record) String() string { return r.printed().String() }

// GoString is String for %#v.
func (r Record) GoString() string { return r.printed().GoString() }

// LogValue is String for slog, whose JSON handler would otherwise marshal
// the record, tokens and all.
func (r Record) LogValue() slog.Value { return r.printed().LogValue() }

func (r Record) printed() redact.Printed {
	type shown Record
	r.AccessToken, r.RefreshToken = redact.MaskSet(r.AccessToken), redact.MaskSet(r.RefreshToken)
	return redact.Printed{Name: "store.Record", Shown: shown(r)}
}

// LoggedInSince reports whether r's tokens come of a log-in made at t or
// later, renewed since or not. A record written before LoggedInAt was
// tells only while it has not been renewed.
func (r *Record) LoggedInSince(t time.Time) bool {
	if !r.LoggedInAt.IsZero() {
		return !r.LoggedInAt.Before(t)
	}
	return r.RenewedAt.IsZero() && !r.IssuedAt.Before(t)
}

// LogInWait is what a process waiting for a log-in that another stores
// (the proxy's, through its link; one made another way, beside a device
// log-in) knew of the store as it began to wait.
type LogInWait struct {
	began time.Time // as the store notes a log-in
	held  time.Time // the log-in time of the record stored then; zero for none
	read  bool      // whether the store could be read then
}

// NewLogInWait is a wait for a log-in begun at began, the store then
// holding held (nil for none), or failing to be read with err.
func NewLogInWait(began time.Time, held *Record, err error) LogInWait {
	w := LogInWait{began: began, read: err == nil}
	if held != nil {
		w.held = held.LoggedInAt
	}
	return w
}

// Made reports whether rec, the record stored now, comes of a log-in made
// since w began: noted at its start or later, or at another time than the
// record stored then (a renewal keeps its log-in's time). A clock set
// back since w began (NTP, the time corrected) notes a log-in made since
// at an earlier time: such a log-in was waited for until the wait timed
// out, and taken for none.
func (w LogInWait) Made(rec *Record) bool {
	if rec.LoggedInSince(w.began) {
		return true
	}
	return w.read && !rec.LoggedInAt.IsZero() && !rec.LoggedInAt.Equal(w.held)
}

// Rest is a wait before the next token request: until Until, a renewal
// answers Message, the failure that began it, instead of asking.
// RateLimited says the token endpoint asked for the wait (a 429). PutBack
// says the record was put back after the store lost it (a Redis restarted
// without persistence): a renewal elsewhere may still be storing its
// answer over it, and a forced renewal waits too, on every machine.
type Rest struct {
	Until       time.Time `json:"until"`
	Message     string    `json:"message"`
	RateLimited bool      `json:"rate_limited,omitempty"`
	PutBack     bool      `json:"put_back,omitempty"`
}

// String shows the rest's fields, as %+v would: a Record printed or logged
// shows them so, not the address its Rest is kept at.
func (r Rest) String() string { return fmt.Sprintf("%+v", shownRest(r)) }

type shownRest Rest

// Grant identifies an authorisation: the token endpoint (or, for endpoints
// found by discovery, the issuer) that issued it, the client it was issued
// to, how it was obtained, and the API its access tokens are addressed to.
type Grant struct {
	TokenURL string `json:"token_url,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Type     string `json:"type,omitempty"` // the OAuth grant type that began it, such as authorization_code
	// Audience and Resource are what the tokens were requested for: the
	// audience parameter, and the resource indicators of RFC 8707, sorted
	// and separated by spaces (a space within one written %20). Both are
	// empty when none was asked for, and in records written before they
	// were recorded. Scopes are not part of a grant: they change what a
	// token may do at its API, not which API it is addressed to.
	Audience string `json:"audience,omitempty"`
	Resource string `json:"resource,omitempty"`
	// IssuerTokenURL is the token endpoint set beside the issuer, where the
	// refresh tokens go: "" without an issuer, or with one whose discovery
	// names it. ScopeResource, at a provider that addresses each access
	// token to the API its scopes name (Microsoft's identity platform), is
	// those APIs as Resource writes them, when no resource indicator was
	// asked for: "" for the provider's default API.
	IssuerTokenURL string `json:"issuer_token_url,omitempty"`
	ScopeResource  string `json:"scope_resource,omitempty"`
	// Bound says that the grant records all its tokens are bound to:
	// Audience and Resource exactly what they were requested for (none
	// when empty), and IssuerTokenURL and ScopeResource. Every grant this
	// freshtoken writes is bound. One that is not was written by an older
	// freshtoken, which knew none of these but the audience and resource
	// (and drops the fields it does not know when it saves): the first
	// environment that it is otherwise the grant of adopts it, and so does
	// the first of its client to name an audience or resource when it
	// names neither, as its tokens may have been requested for one. A
	// bound grant is an environment's only when it is the same.
	Bound bool `json:"bound,omitempty"`
}

// ConfigFile names a configuration file as a log-in records it: the name
// of the host it is on, and its absolute path there with symbolic links
// resolved. The host tells a fleet's machines apart, each with its own
// file, sharing one record on purpose.
type ConfigFile struct {
	Host string `json:"host"`
	Path string `json:"path"`
}

// OtherThan is the configuration file, on this machine, that c (a record's
// LoggedInWith: whose log-in began the grant of its tokens) names, when it
// is not ours; "" otherwise. Two configurations that keep tokens in one
// store under one environment name, for one grant (a work setup and a
// personal one with the same app's sandbox), share the record, and a
// log-in with either chooses the account both then use. It is "" for a
// log-in with ours (by another path to the same file, too), one that named
// no file (a record written before log-ins named it, settings of no file,
// tokens fetched with client credentials), one made on another host (a
// fleet's machines share one record on purpose, each with its own file),
// one with a file no longer there, through which nothing uses the tokens,
// and one of a path no file has (not absolute and clean, or holding a
// character that would act on a terminal: a shared store's record may come
// from anywhere).
func (c ConfigFile) OtherThan(ours ConfigFile) string {
	if c.Path == "" || ours.Path == "" || c.Host != ours.Host || c.Path == ours.Path || !fileName(c.Path) {
		return ""
	}
	// A file this user may not look at (another user's, sharing the
	// store) may be there; one the system cannot find is not.
	them, err := os.Stat(c.Path)
	if err != nil && !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	if us, uerr := os.Stat(ours.Path); err == nil && uerr == nil && os.SameFile(them, us) {
		return ""
	}
	return c.Path
}

// fileName reports whether path may name a file that a log-in recorded
// (see config.Open): absolute, clean, UTF-8 text with nothing in it that a
// terminal would act on.
func fileName(path string) bool {
	return filepath.IsAbs(path) && filepath.Clean(path) == path && utf8.ValidString(path) && strings.IndexFunc(path, redact.Unsafe) < 0
}

// IsZero reports whether g identifies nothing, as in records that predate it.
func (g Grant) IsZero() bool { return g == Grant{} }

// GoString is Go syntax for %#v, which calls no String, with a key or a
// password in the URLs masked as String masks them.
func (g Grant) GoString() string {
	type shown Grant
	return redact.Printed{Name: "store.Grant", Shown: shown(g.shown())}.GoString()
}

// shown is g with a key or a password in its URLs masked, as String
// masks them.
func (g Grant) shown() Grant {
	redact.MaskURLs(&g.TokenURL, &g.Issuer, &g.IssuerTokenURL, &g.Audience)
	g.Resource, g.ScopeResource = strings.Join(ShownResources(g.Resource), " "), strings.Join(ShownResources(g.ScopeResource), " ")
	return g
}

// LogValue is String for slog, whose JSON handler would otherwise marshal
// the fields, the URLs whole, as json.Marshal encodes a grant: in the
// stored form.
func (g Grant) LogValue() slog.Value { return slog.StringValue(g.String()) }

// String describes g for people: "client ID at TOKEN_URL" (or "of ISSUER",
// and "of ISSUER at TOKEN_URL" when a token endpoint was set beside it),
// "by device code" or the like, and "for audience AUDIENCE" and "for
// resource URI" when it names them: two grants of one client differ only
// in their type and what they are for. A key in a URL's query (the token
// endpoint's, the audience's, a resource's) shows masked.
func (g Grant) String() string {
	s := fmt.Sprintf("client %q at %s", g.ClientID, redact.URL(g.TokenURL))
	switch {
	case g.Issuer != "" && g.IssuerTokenURL != "":
		s = fmt.Sprintf("client %q of %s at %s", g.ClientID, redact.URL(g.Issuer), redact.URL(g.IssuerTokenURL))
	case g.Issuer != "":
		s = fmt.Sprintf("client %q of %s", g.ClientID, redact.URL(g.Issuer))
	}
	switch g.Type {
	case "":
	case "urn:ietf:params:oauth:grant-type:device_code":
		s += " by device code"
	default:
		s += " by " + strings.ReplaceAll(g.Type, "_", " ")
	}
	if g.Audience != "" {
		s += fmt.Sprintf(" for audience %q", redact.URL(g.Audience))
	}
	for _, r := range []string{g.Resource, g.ScopeResource} {
		if r != "" {
			s += " for resource " + strings.Join(ShownResources(r), " and ")
		}
	}
	return s
}

// ShownResources is the resource indicators of resource, a grant's
// Resource (see Resources), to show: each with its user, and the value of
// each parameter of its query or fragment named as a secret (api_key=…),
// masked; one that does not parse, whole.
func ShownResources(resource string) []string {
	shown := strings.Fields(resource)
	for i, r := range shown {
		shown[i] = redact.URL(r)
	}
	return shown
}

// Resources is the Resource of a grant whose tokens were requested for the
// resource indicators given, in any order.
func Resources(indicators []string) string {
	r := make([]string, 0, len(indicators))
	for _, i := range indicators {
		r = append(r, strings.ReplaceAll(i, " ", "%20"))
	}
	slices.Sort(r)
	return strings.Join(slices.Compact(r), " ")
}

// Problem is a renewal failure that retrying cannot fix.
type Problem struct {
	Kind    string    `json:"kind"`    // ProblemGrantEnded, ProblemClientRejected or ProblemRefused
	Message string    `json:"message"` // what happened, without secrets
	At      time.Time `json:"at,omitzero"`
	// Since is when a problem of this Kind was first noted, the renewals
	// after it meeting it again until At; zero when At is the first (or
	// in a record written before it was kept).
	Since time.Time `json:"since,omitzero"`
}

// First is when a problem of p's Kind was first noted: Since, or At when
// it keeps none.
func (p Problem) First() time.Time {
	if p.Since.IsZero() {
		return p.At
	}
	return p.Since
}

// Then is next, a problem noted after p (nil when there was none): one of
// p's Kind keeps when that kind was first noted (Since), so that a
// problem met at every try tells how long it has lasted.
func (p *Problem) Then(next Problem) *Problem {
	if p != nil && p.Kind == next.Kind {
		next.Since = p.First()
	}
	return &next
}

// String shows the problem's fields, as %+v would: a Record printed or
// logged shows them so, not the address its Problem is kept at.
func (p Problem) String() string { return fmt.Sprintf("%+v", shownProblem(p)) }

type shownProblem Problem

// Kinds of Problem.
const (
	// ProblemGrantEnded: the provider refused the refresh token
	// (invalid_grant); only a log-in helps.
	ProblemGrantEnded = "grant_ended"
	// ProblemClientRejected: the provider refused the client's credentials;
	// the configuration needs fixing.
	ProblemClientRejected = "client_rejected"
	// ProblemRefused: the provider refused a renewal with an error code of
	// its own, not one OAuth defines (an account locked, say); its words,
	// in the message, say what a person must do.
	ProblemRefused = "renewal_refused"
)

// Reasons for a renewal, as Record.RenewedFor records them.
const (
	RenewedForExpiry    = "expiry"     // the token was about to expire
	RenewedForRejection = "rejection"  // the API answered 401 to it
	RenewedOnRequest    = "request"    // someone asked (Source.Renew, as `token --force` does)
	RenewedToKeepAlive  = "keep-alive" // the grant would have lapsed unused
)

// Store keeps records. Implementations make Save durable before returning:
// a saved refresh token survives a crash the instant after Save returns.
// Every method is called from many goroutines at once.
//
// A store across the network (a database, a service of your own) that
// cannot be reached or does not answer fails with an error wrapping
// ErrUnreachable: the engine then goes on serving a token due for renewal
// but still valid (with a warning), tries a save again for up to 30
// seconds, and its callers can tell the failure by that sentinel. Any other
// error is a refusal: the call it ends fails (a token due for renewal is
// not served), and a save is tried once more.
type Store interface {
	// Load returns the environment's record, ErrNotFound when there is none,
	// or an error wrapping ErrCorrupt when it cannot be read back. The
	// record is the caller's own, which it may change: a store that keeps
	// records in memory returns a copy.
	Load(ctx context.Context, env string) (*Record, error)
	// Save replaces the environment's record. Callers hold Lock.
	Save(ctx context.Context, env string, r *Record) error
	// Delete forgets the environment's record; deleting nothing is not an error.
	Delete(ctx context.Context, env string) error
	// Lock blocks until the caller is the environment's only renewer, or ctx
	// ends (an error wrapping ctx.Err()). The returned function releases
	// the lock. It excludes every other renewer of the records: other
	// Store values opened on them, other processes and other machines, as
	// far as they reach (a mutex excludes only the goroutines of one
	// process).
	Lock(ctx context.Context, env string) (unlock func(), err error)
	// Location says where the environment's record lives, for people and
	// for the engine, which tells stores apart by it: two stores give one
	// Location only when they keep the same records (two openings of one
	// folder). A store per customer names the customer in it.
	Location(env string) string
}

// Swapper is a Store that saves a record only if the one it holds is still
// the one the caller read, in one step (compare-and-set), as the Redis
// store checks it in the script that saves. A renewer paused past its lock
// (a stopped process, a suspended machine) must not save its answer over a
// record another renewer changed meanwhile: tokens it renewed since, or
// the note that the provider ended the grant when it presented the same
// refresh token. With a Store that is not a Swapper, the engine reads,
// compares and saves under the renewal lock: enough for a lock no other
// renewer can take while its holder is stopped, as the file store's, the
// kernel's, is.
type Swapper interface {
	// SaveIf replaces env's record with r if the stored record is still
	// read, as Unchanged compares them; otherwise it writes nothing and
	// returns an error wrapping ErrChanged. No record stored, or one that
	// cannot be read, is not read. Otherwise it is Save.
	SaveIf(ctx context.Context, env string, r, read *Record) error
}

// CheckedDeleter is a Store that deletes a record only if it is still the
// one the caller read, in one step (compare-and-delete), as the Redis
// store checks it in the script that deletes. A caller paused past its
// renewal lock (a Redis lock expires) must not delete what another
// renewer stored meanwhile: a renewal's answer holds the only live
// refresh token. See DeleteIf for a Store that is not one.
type CheckedDeleter interface {
	// DeleteIf deletes env's record if the stored record is still read,
	// as Unchanged compares them; with read nil (the caller found none,
	// or one it could not read), only a record that cannot be read, and
	// not one a newer freshtoken wrote (ErrNewerFormat), which it can.
	// Otherwise it deletes nothing and returns an error wrapping
	// ErrChanged. No record stored is nothing to delete: nil.
	DeleteIf(ctx context.Context, env string, read *Record) error
}

// DeleteIf deletes env's record from st only if it is still read (see
// CheckedDeleter): in one step in a CheckedDeleter; in another Store,
// read again and compared first, under the lock the caller holds, which
// no other writer takes while its holder runs (a lock file's).
func DeleteIf(ctx context.Context, st Store, env string, read *Record) error {
	if cd, ok := st.(CheckedDeleter); ok {
		return cd.DeleteIf(ctx, env, read)
	}
	cur, err := st.Load(ctx, env)
	switch {
	case read == nil && errors.Is(err, ErrNewerFormat):
		return fmt.Errorf("%w: %s holds tokens a newer freshtoken stored since it was read; nothing was deleted", ErrChanged, st.Location(env))
	case read == nil && err != nil: // none, or still none that can be read
	case errors.Is(err, ErrNotFound):
	case errors.Is(err, ErrCorrupt):
		return fmt.Errorf("%w: %s holds no tokens it held when read; nothing was deleted", ErrChanged, st.Location(env))
	case err != nil:
		return err
	case !Unchanged(cur, read):
		return fmt.Errorf("%w: %s was changed by another renewer or a log-in; nothing was deleted", ErrChanged, st.Location(env))
	}
	return st.Delete(ctx, env)
}

// Restorer is a Store that can lose every record at once without anyone
// deleting them, and tell that apart from a deletion: a Redis restarted
// without persistence comes back empty, where a log-out deletes one key. A
// process that still holds an environment's record in memory (a proxy, a
// keeper) puts it back, so that no one has to log in again.
type Restorer interface {
	// Restore stores r, env's record as the caller last read or stored it
	// through this Store, back where the store lost it: only if the store
	// was emptied (a Redis restarted) since this Store last found or saved
	// env's record, and only if no record is stored now (set if absent);
	// another copy of the same log-in that someone put back first, renewed
	// fewer times than r (see RenewedLater), is replaced, compared and set
	// in one step; a later copy the Store itself found or saved since is
	// put back in r's place. It returns the record the store holds now
	// (that copy, or another's, later or of another log-in), and whether
	// this call wrote it. A record deleted since (a log-out, or a wipe of
	// a store that was not restarted), or a store that cannot tell, is not
	// restored: an error wrapping ErrNotFound, unless a record was stored
	// meanwhile, which is returned. The caller holds env's renewal lock.
	Restore(ctx context.Context, env string, r *Record) (rec *Record, restored bool, err error)
}

// RenewedLater reports whether a holds later tokens than b, another copy
// of the same grant. Copies of one log-in are told apart by how often each
// was renewed, which the records count, so no machine's clock decides
// which refresh token is live; copies of two log-ins, or of one written
// before records kept their log-in's time, by when each was issued.
func RenewedLater(a, b *Record) bool {
	if SameLogIn(a, b) {
		return a.Renewals > b.Renewals
	}
	return a.IssuedAt.After(b.IssuedAt)
}

// LaterCopy reports whether a is a later copy of b's log-in: the same
// log-in (SameLogIn), renewed more times. Only a copy put back after the
// store lost the record (see Restorer) is ever older than one a process
// holds; its refresh token a renewal since spent.
func LaterCopy(a, b *Record) bool {
	return SameLogIn(a, b) && a.Renewals > b.Renewals
}

// SameLogIn reports whether a and b are copies of one log-in: records of
// a log-in at the same time (LoggedInAt). A record written before records
// kept that time tells neither way: it is of no log-in known to be the
// same (SameLogIn) or another (OtherLogIn).
func SameLogIn(a, b *Record) bool {
	return a != nil && b != nil && !a.LoggedInAt.IsZero() && a.LoggedInAt.Equal(b.LoggedInAt)
}

// OtherLogIn reports whether a and b are tokens of two log-ins, not copies
// of one: both keep their log-in's time, and not the same (see SameLogIn).
func OtherLogIn(a, b *Record) bool {
	return a != nil && b != nil && !a.LoggedInAt.IsZero() && !b.LoggedInAt.IsZero() && !a.LoggedInAt.Equal(b.LoggedInAt)
}

// ErrRestartLoses is a store whose restart would lose the tokens, with no
// running freshtoken able to put them back (a Redis that keeps nothing on
// disk, or whose run_id the user may not read): renewals go on, and
// nothing is spent twice; after such a restart, a log-in is needed.
var ErrRestartLoses = errors.New("a restart of the store would lose the tokens")

// ErrChanged comes from a Swapper's SaveIf that found the stored record
// changed since it was read: nothing was written.
var ErrChanged = errors.New("the stored tokens changed since they were read")

// Unchanged reports whether stored is still the record read, as far as a
// renewal's answer replacing it is concerned: the same tokens, renewal
// count and issue time, and the same problem noted (or none). A rest noted
// or a grant adopted meanwhile is no change.
func Unchanged(stored, read *Record) bool {
	return stored != nil && read != nil && stamp(stored) == stamp(read)
}

// stamp is what Unchanged compares of r, in one string: its renewal count,
// issue time, refresh and access tokens, and the kind and time of its
// problem, as Marshal writes them, each on a line.
func stamp(r *Record) string {
	kind, at := "", time.Time{}
	if r.Problem != nil {
		kind, at = r.Problem.Kind, r.Problem.At
	}
	return strings.Join([]string{strconv.Itoa(r.Renewals), jsonTime(r.IssuedAt), r.RefreshToken, r.AccessToken, kind, jsonTime(at)}, "\n")
}

// jsonTime is t as Marshal writes it: "" for the zero time, which it omits.
func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	b, err := t.MarshalJSON()
	if err != nil {
		return ""
	}
	return strings.Trim(string(b), `"`)
}

// LockChecker is a Store whose renewal lock can end while its holder still
// runs: a lock with a time limit, as in Redis, expires while its holder is
// paused past it (a suspended machine, a stopped process) and may pass to
// another renewer; a lock file removed while held lets another renewer lock
// a new one. The engine asks just before each token request, and
// sends none with a lock it no longer holds: the other renewer may have
// spent the refresh token already.
type LockChecker interface {
	// HoldsLock reports whether env's lock, taken through this Store's
	// Lock and not yet released, is still the caller's.
	HoldsLock(ctx context.Context, env string) (bool, error)
}

// StuckHolderTeller is a Store that can tell, without waiting for it, that
// an environment's renewal lock is held by a holder that cannot let it go
// until a person acts: a process that is stopped (Ctrl-Z, SIGSTOP) holds a
// lock with no time limit for as long as it stays stopped, and taking the
// lock from it would be unsafe, as it may have sent the refresh token
// already.
type StuckHolderTeller interface {
	// StuckHolders looks now at who holds the store's renewal locks, and
	// tells from that one look, for any number of environments (a waiting
	// renewal asks of its own, status of every one), that env's lock is
	// held by a stuck holder and what to do, in one line that holds no
	// secret (a process's id and name, never its arguments): "the renewal
	// lock of ENV: …"; "" when its holder is not known to be stuck.
	StuckHolders() func(env string) string
}

// Flusher is a Store that, as it closes, has the records its users still
// keep for it saved first. The engine keeps a renewal's answer that the
// store refused, which may hold the only copy of a refresh token the
// provider rotated, and tries again in the background, between tries
// without the renewal lock (the Redis store keeps it for the answer), to
// save it; it hands a Flusher, for each such answer, a function that makes
// one more try at once. The Store's Close
// calls them (see FlushUnsaved) before it closes anything, its Lock still
// taking locks for the context it gives them, and returns their error, so
// that a program that closes the Store and exits loses no answer silently.
// Once closed, its Lock fails with an error wrapping ErrClosed, which ends
// the engine's background tries.
type Flusher interface {
	// KeepUnsaved registers flush, which tries once, under env's renewal
	// lock, to save a record kept for env, and returns nil once the record
	// needs no saving any more (saved, or given up for other tokens the
	// store holds), or an error that says what was lost. The function
	// returned withdraws flush; the engine calls it once the record is
	// saved or given up.
	KeepUnsaved(env string, flush func(ctx context.Context) error) (withdraw func())
}

// Unsaved is what a Flusher keeps: a Store embeds it, its zero value ready,
// to be a Flusher, and calls FlushUnsaved in its Close before it closes
// anything.
type Unsaved struct {
	mu      sync.Mutex
	next    int
	flushes map[int]func(context.Context) error
}

// KeepUnsaved implements Flusher.
func (u *Unsaved) KeepUnsaved(env string, flush func(context.Context) error) func() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.flushes == nil {
		u.flushes = map[int]func(context.Context) error{}
	}
	id := u.next
	u.next++
	u.flushes[id] = flush
	return func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		delete(u.flushes, id)
	}
}

// FlushUnsaved calls, one after another, every flush KeepUnsaved
// registered and not yet withdrawn, and returns their errors in one,
// told on one line; nil when every record kept is saved or given up.
func (u *Unsaved) FlushUnsaved(ctx context.Context) error {
	u.mu.Lock()
	ids := make([]int, 0, len(u.flushes))
	for id := range u.flushes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	flushes := make([]func(context.Context) error, 0, len(ids))
	for _, id := range ids {
		flushes = append(flushes, u.flushes[id])
	}
	u.mu.Unlock()
	var errs []error
	for _, flush := range flushes { // each takes u.mu to withdraw itself
		if err := flush(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return oneLine(errs)
}

// oneLine is errors told one after another on one line.
type oneLine []error

func (e oneLine) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; and ")
}

func (e oneLine) Unwrap() []error { return e }

// waitingKey is the context key of the function WithWaiting adds.
type waitingKey struct{}

// WithWaiting returns a copy of ctx with which a Store's calls call
// waiting, once or more, just before a wait that may last: for another
// process's hold on a record, or for a server across the network. A
// program that handles signals only once it may wait, to start fast,
// starts handling them there.
func WithWaiting(ctx context.Context, waiting func()) context.Context {
	return context.WithValue(ctx, waitingKey{}, waiting)
}

// Waiting calls the function WithWaiting gave ctx, if any. A Store calls
// it before a wait that may last, and need not before a quick one (a
// local file free to read).
func Waiting(ctx context.Context) {
	if waiting, _ := ctx.Value(waitingKey{}).(func()); waiting != nil {
		waiting()
	}
}

// StallNotice is how long a Store's call waits unanswered for a server
// before it says so (WatchStall).
const StallNotice = 2 * time.Second

// WithStalled returns a copy of ctx with which a Store's calls tell
// stalled whether what they call answers ("Redis at
// redis://host:6379/0", never a password; "the system keychain (Secret
// Service)"): stalled(what, true, since) once a call has waited
// StallNotice for it unanswered, since being when that call was sent
// (a caller that joins a wait already under way, such as the engine's
// renewal, is told it later, with the same since), and stalled(what,
// false, since) as a call ends within that time, or is answered after
// it (the stall is over), its caller still waiting for it. (The engine
// also tells a stall's end as its own call it held up ends, a read or a
// renewal, the store's call given up unanswered: the next call tells
// whether the server answers; WithAnswered tells it.)
// So a program whose user is at a terminal can say why it is quiet before
// the store gives up, and say it again when the server, answering since,
// stalls again. A function ctx already had is told too, first: each
// layer (a command, the proxy, the engine) may listen. It may be called
// from another goroutine, and for each call; it must return promptly (a
// write to a terminal waits while a person has paused it, Ctrl-S) and
// not call the store: while it runs, the server's other calls wait, to be
// sent as well as to be told.
func WithStalled(ctx context.Context, stalled func(what string, stalled bool, since time.Time)) context.Context {
	if outer := stallwatch.Listener(ctx); outer != nil {
		inner := stalled
		stalled = func(what string, s bool, since time.Time) {
			outer(what, s, since)
			inner(what, s, since)
		}
	}
	return stallwatch.With(ctx, stalled)
}

// answeredKey is the context key of the function WithAnswered adds.
type answeredKey struct{}

// WithAnswered returns a copy of ctx with which a Store's calls tell
// answered(what) each time the server what (named as WithStalled names
// it) answers one of them, an error reply included: a stall of it told
// (WithStalled) is over. A stall's end WithStalled tells without an
// answer (a call given up, the engine's call held up ending) does not say
// that the server answers: a program that says a stall once for each
// outage (a person's terminal) says it again only after an answer, not
// for each call given up while the server stays silent. A function ctx
// already had is told too, first. As WithStalled's function, answered
// may be called from another goroutine, under the server's lock: it must
// return promptly and not call the store.
func WithAnswered(ctx context.Context, answered func(what string)) context.Context {
	if outer, _ := ctx.Value(answeredKey{}).(func(string)); outer != nil {
		inner := answered
		answered = func(what string) {
			outer(what)
			inner(what)
		}
	}
	return context.WithValue(ctx, answeredKey{}, answered)
}

// WatchStall is called by a Store as it sends a call to what, a server,
// and stop as the call ends, saying whether the server answered it (an
// answer that is an error included; not a time-out or a lost
// connection): it tells the function WithStalled gave ctx, if any, when
// the call has waited StallNotice unanswered while the server answered
// nothing, or while it answered calls sent after it (the call is left
// waiting on a connection of its own, dropped by a firewall unseen: it
// waited for the store's own time-out, told nothing), and, unless ctx
// ended the call, when it ends within that time, or is answered after it,
// once its stall has been told. A call the server left waiting while it
// answered another (Redis answering what it was sent while paused, one
// call at a time) is not told stalled until StallNotice after that
// answer, or after the first answer to a call sent after it: the call's
// own notice, due a moment after another's answer had ended the stall,
// told the stall a second time, as its own answer came.
func WatchStall(ctx context.Context, what string) (stop func(answered bool)) {
	stalled := stallwatch.Listener(ctx)
	heard, _ := ctx.Value(answeredKey{}).(func(string))
	switch {
	case stalled == nil && heard == nil:
		return func(bool) {}
	case heard == nil:
		heard = func(string) {}
	}
	v, _ := servers.LoadOrStore(what, &server{waiting: map[*call]bool{}})
	srv := v.(*server)
	if stalled == nil { // answers to tell, no stall: no notice to time
		sent := time.Now()
		return func(answered bool) {
			if answered {
				srv.mu.Lock()
				defer srv.mu.Unlock()
				srv.answer(sent)
				heard(what)
			}
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	c := &call{sent: time.Now()}
	srv.waiting[c] = true
	answers := srv.answers
	var (
		t             *time.Timer
		told, stopped bool
	)
	t = afterFunc(StallNotice, func() {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		switch {
		case stopped:
		case !c.overtaken.IsZero() && time.Since(c.overtaken) < StallNotice: // answering others, since less than StallNotice
			t.Reset(StallNotice - time.Since(c.overtaken))
		case c.overtaken.IsZero() && srv.answers != answers: // answered since: quiet for less than StallNotice
			answers = srv.answers
			t.Reset(StallNotice - time.Since(srv.answered))
		default:
			told = true
			stalled(what, true, c.sent)
		}
	})
	return func(answered bool) {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		stopped = true
		t.Stop()
		delete(srv.waiting, c)
		if answered {
			srv.answer(c.sent)
			heard(what)
		}
		if ctx.Err() == nil && (!told || answered) {
			stalled(what, false, c.sent)
		}
	}
}

// afterFunc is time.AfterFunc, for WatchStall's notice; a test fires the
// notice's function at a moment of its choosing.
var afterFunc = time.AfterFunc

// servers holds a *server for each server WatchStall's calls have named,
// by its name.
var servers sync.Map

// server is what WatchStall knows of a server: how many of its calls it
// has answered, and when the last, and which still wait. Its mutex is held while a stall or an
// end of one of its calls is told, so that a call's notice, due as
// another call is answered, is told before that answer's end or not
// until StallNotice after it, never just after it.
type server struct {
	mu       sync.Mutex
	answers  int
	answered time.Time
	waiting  map[*call]bool // the calls sent and not yet ended
}

// answer counts an answer to a call sent at sent, which overtakes the
// calls sent before it still waiting. srv.mu is held.
func (srv *server) answer(sent time.Time) {
	now := time.Now()
	srv.answers++
	srv.answered = now
	for w := range srv.waiting {
		if w.sent.Before(sent) && w.overtaken.IsZero() {
			w.overtaken = now
		}
	}
}

// call is a call WatchStall watches: when it was sent, and when the
// server first answered a call sent after it (zero until then).
type call struct {
	sent, overtaken time.Time
}

// warningKey is the context key of the function WithWarning adds.
type warningKey struct{}

// WithWarning returns a copy of ctx with which a Store's calls tell warn
// what the caller should know of a call that succeeded all the same (a
// save its shared store's replicas have yet to copy), in one line that
// holds no secret.
func WithWarning(ctx context.Context, warn func(msg string)) context.Context {
	return context.WithValue(ctx, warningKey{}, warn)
}

// Warn tells msg to the function WithWarning gave ctx, if any.
func Warn(ctx context.Context, msg string) {
	if warn, _ := ctx.Value(warningKey{}).(func(string)); warn != nil {
		warn(msg)
	}
}

// noWritesKey is the context key WithoutWrites sets.
type noWritesKey struct{}

// WithoutWrites returns a copy of ctx for a Lock whose holder will read or
// delete the environment's record but write none (a log-out): a Store may
// skip there what only a write needs, as the file store's refusal under a
// file size limit too small for a record.
func WithoutWrites(ctx context.Context) context.Context {
	return context.WithValue(ctx, noWritesKey{}, true)
}

// WritesNone reports whether ctx is one of WithoutWrites'.
func WritesNone(ctx context.Context) bool {
	none, _ := ctx.Value(noWritesKey{}).(bool)
	return none
}

var (
	// ErrNotFound means the environment has never been logged in (or was logged out).
	ErrNotFound = errors.New("no tokens stored")
	// ErrCorrupt means a record exists but cannot be read; it is kept as it is.
	ErrCorrupt = errors.New("stored tokens are unreadable")
	// ErrNewerFormat means a record was written by a newer freshtoken, in
	// a layout this one cannot read: upgrading reads it, where a log-in
	// would replace it. It wraps ErrCorrupt.
	ErrNewerFormat = fmt.Errorf("%w", ErrCorrupt)
	// ErrUnreachable means a shared store could not be reached (see Store).
	ErrUnreachable = errors.New("token store unreachable")
	// ErrWriteFailed comes from a store on this machine that could not
	// write a record: the disk is full (its reserve spent, and the record
	// not fitting in place of the old one), read-only, or failing. It lasts
	// until someone makes room or mends it.
	ErrWriteFailed = errors.New("token store could not write")
	// ErrDiskFull is ErrWriteFailed from a full disk (or quota), its
	// reserve spent or not yet made: it lasts until someone makes room
	// there, and its message says where. It wraps ErrWriteFailed.
	ErrDiskFull = fmt.Errorf("%w", ErrWriteFailed)
	// ErrDenied means a shared store refused the credentials or permissions
	// it was given: a configuration problem that retrying cannot fix.
	ErrDenied = errors.New("token store denied access")
	// ErrInsecure means a file or folder of the store could be read or
	// changed by someone else (loose modes, another owner, a symbolic
	// link): refused until the user fixes it, as the message says.
	ErrInsecure = errors.New("token store is not private")
	// ErrReserveUsed comes from a Save that succeeded only by giving up the
	// store's disk-space reserve, or with it spent by writing the record in
	// place of the old one: the record is saved, but the disk is full.
	ErrReserveUsed = errors.New("the disk is full; the tokens were saved in space kept in reserve")
	// ErrReservedName means a store on this system cannot keep an
	// environment of this name, valid as it is elsewhere (the file store on
	// Windows, for a device's name such as NUL): the environment is to be
	// renamed.
	ErrReservedName = errors.New("a name the system reserves")
	// ErrClosed means the Store was closed (the Redis store's Close) and
	// serves no more calls.
	ErrClosed = errors.New("token store closed")
)

// RedactURL returns a store's URL as people may see it: its scheme, host
// and path, without user, password, query or fragment, any of which could
// hold a secret. A file URL's path is shown as written (a space as a
// space), and so is one written without slashes (file:tokens), which
// holds a path, no secret. Of another URL that does not parse that way
// only the scheme is shown (redis:…), and of one that does not parse at
// all, nothing ("the URL"), its caller's message saying which URL it is
// (a configuration's [store] url, a program's own setting).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
	case u.Scheme == "file" && u.Opaque != "":
		return "file:" + u.Opaque
	case u.Scheme == "file":
		return "file://" + u.Host + u.Path
	case u.Opaque == "" && u.User == nil && strings.Contains(raw, "@"):
		// A user and password not read as such: the URL mistyped so that
		// they are its path (redis:/user:pw@host, rediss//user:pw@host),
		// or a password of digits and then a # or ? (user:8675309#x9@host)
		// read as a port and a fragment or query. What follows the last
		// @ alone, without a query or fragment.
		rest := raw[strings.LastIndex(raw, "@"):]
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			rest = rest[:i]
		}
		return "…" + rest
	case u.Opaque == "":
		return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	default:
		return u.Scheme + ":…"
	}
	return "the URL"
}

// MaxEnvNameLength is the longest environment name: each store can use it
// in its keys, and the file store in its file names, which a file system
// limits to 255 bytes.
const MaxEnvNameLength = 64

// ValidateEnvName reports whether name can be used as a key in every store.
func ValidateEnvName(name string) error {
	if name == "" {
		return errors.New("environment name is empty")
	}
	if len(name) > MaxEnvNameLength {
		return fmt.Errorf("environment name %.12q… is %d characters long; use at most %d", name, len(name), MaxEnvNameLength)
	}
	for _, c := range name {
		ok := c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !ok {
			return fmt.Errorf("environment name %q may only use letters, digits, '-' and '_'", name)
		}
	}
	return nil
}

// ValidateNewEnvName reports whether name can be given to a new
// environment: ValidateEnvName's rule, and a letter or digit first, as
// kubectl's names, so it is never read as an option (`init -e --help`
// made an environment named "--help"). A name configured before this rule
// (`-prod`) stays valid everywhere else: it is only never given anew.
func ValidateNewEnvName(name string) error {
	if err := ValidateEnvName(name); err != nil {
		return err
	}
	if c := name[0]; c == '-' || c == '_' {
		return fmt.Errorf("environment name %q must start with a letter or a digit", name)
	}
	return nil
}

// formatVersion is written in every stored record so a later layout can be
// detected. An older freshtoken reads a record of its own format and drops
// the fields it does not know when it saves one: raise it for a field whose
// loss would break a promise, not for one an older freshtoken may lose.
// Format 1 gained Grant (its Audience, Resource, IssuerTokenURL,
// ScopeResource and Bound among it), Problem (its Since among it), Rest,
// RefreshNotExtended, Scope and LoggedInWith without; the versions from before each forget it
// (docs/fleets.md, Upgrading).
const formatVersion = 1

// stored is a Record as every store keeps it: with its layout's version and
// its environment's name.
type stored struct {
	Version int    `json:"version"`
	Env     string `json:"env"`
	Record
}

// Marshal encodes env's record r as every store keeps it: indented JSON,
// with the layout's version and the environment's name.
func Marshal(env string, r *Record) ([]byte, error) {
	data, err := json.MarshalIndent(stored{Version: formatVersion, Env: env, Record: *r}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// notARecord says what is wrong with data, which err, json.Unmarshal's
// into a stored, refused.
func notARecord(data []byte, err error) string {
	if !json.Valid(data) {
		return fmt.Sprintf("is not valid JSON (%v)", err)
	}
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		// A time refused by its own reading, the one value of a record
		// encoding/json does not read itself: Go's words ("Time.UnmarshalJSON:
		// input is not a JSON string") name no field.
		return "is not a record freshtoken wrote (a time in it is not written as freshtoken writes times)"
	}
	if field := strings.TrimPrefix(te.Field, "Record."); field != "" {
		return fmt.Sprintf("is not a record freshtoken wrote (its %s is a JSON %s)", field, te.Value)
	}
	return fmt.Sprintf("is not a record freshtoken wrote (a JSON %s, not an object)", te.Value)
}

// Unmarshal decodes a record Marshal encoded. A record that cannot be used
// (no tokens, or its tokens masked as String shows them, copied from a
// log) is an error
// wrapping ErrCorrupt, which says that it was left as it is, at where, and
// that a log-in replaces it.
func Unmarshal(data []byte, where string) (*Record, error) {
	var s stored
	if err := json.Unmarshal(data, &s); err != nil {
		// A newer layout may give a field another type: the version alone
		// tells a newer record from a damaged one.
		var v struct {
			Version int `json:"version"`
		}
		if json.Unmarshal(data, &v) == nil && v.Version > formatVersion {
			return nil, newerFormat(where, v.Version)
		}
		return nil, fmt.Errorf("%w: %s %s; it was left as it is, and a log-in replaces it", ErrCorrupt, where, notARecord(data, err))
	}
	if s.Version > formatVersion {
		return nil, newerFormat(where, s.Version)
	}
	if s.Version != formatVersion || s.RefreshToken == "" && s.AccessToken == "" {
		return nil, fmt.Errorf("%w: %s holds no tokens freshtoken can use; it was left as it is, and a log-in replaces it", ErrCorrupt, where)
	}
	if redact.IsMasked(s.AccessToken) || redact.IsMasked(s.RefreshToken) {
		return nil, fmt.Errorf("%w: %s holds its tokens masked, as a store.Record prints them (copied from what a program printed or logged), not the tokens; it was left as it is, and a log-in replaces it", ErrCorrupt, where)
	}
	return &s.Record, nil
}

// newerFormat is the error for a record at where in format version, newer
// than this freshtoken's.
func newerFormat(where string, version int) error {
	return fmt.Errorf("%w: %s was written by a newer freshtoken (format %d); upgrade freshtoken to use it", ErrNewerFormat, where, version)
}
