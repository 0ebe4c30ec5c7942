package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/keeper"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/resting"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

type statusOptions struct {
	f    *Factory
	JSON bool
}

func newStatusCmd(f *Factory) *cobra.Command {
	opts := &statusOptions{f: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every environment: logged in or not, expiries, last renewal",
		Long: `Show every configured environment, or with -e NAME that one alone
($FRESHTOKEN_ENV and default_env do not narrow it): whether it is logged
in, when its access and refresh tokens expire, when it was last renewed and
where its tokens are stored. It never prints a secret and never renews
anything. In --json, logged_in says whether it is logged in now,
needs_login whether the grant has a log-in at all (false only for client
credentials), and access_token_held whether an access token is stored (not
when only a refresh token was imported: the next call fetches one).
access_token_unusable, when present, says that the stored access token cannot
be used (control characters in it, or a type bound to a key, as DPoP), and
what to run for another. problem, when present, is the last failure that
needs a person ({"kind","message","at"}, kind grant_ended,
client_rejected or renewal_refused (the provider's own error, its words
quoted), until a renewal or log-in succeeds, or other_client: the
stored tokens are another client's, and are not used); error, when present,
says why the environment's tokens could not be read (a store out of reach,
no keychain, a file others may read). token_file_problem, when present, says
that its token_file holds the token another configuration's environment
keeps there, so this one's is not written there. renewal_lock_stuck, when
present, says that a stopped process (Ctrl-Z, SIGSTOP) holds the
environment's renewal lock, which every renewal waits for, and how to
resume it (known on Linux only, of the file and keychain stores). Every
member is described at
https://github.com/freshtoken/freshtoken/blob/main/docs/status.md

It exits 0 when every environment has what it needs here, even one that
needs a log-in (its lines say so). When one does not, it exits with that
problem's code: 5 for a store that could not be reached, 2 for a store that
refused access, one that no command uses (a folder where a record belongs,
a token folder others may read, a record written by a newer freshtoken),
or a client secret that cannot be had: a client_secret_env naming a
variable that is not set (or is empty) here, or none configured for a
provider that needs one (FreeAgent, QuickBooks), which
client_secret_problem in --json tells of, with what to set. A Redis store
whose user may read the tokens but not write them (a renewal, log-in or
log-out would fail) is a store that refused access: store_problem in --json
says so, and names the user's permissions to check. Finding it out writes
nothing. It exits 5 for a stored access token that no command can use
(access_token_unusable), as each command using it exits.`,
		Example: `  freshtoken status
  freshtoken -e sandbox status
  freshtoken status --json`,
		Args: exactArgs(0, "no arguments"),
		RunE: runner(opts, nil, runStatus),
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array, one object per environment")
	return cmd
}

type envStatus struct {
	Env        string `json:"env"`
	Default    bool   `json:"default"`
	Production bool   `json:"production"`
	Provider   string `json:"provider"`
	APIURL     string `json:"api_url"`
	// Grant is how the environment obtains tokens (`grant =` in the
	// config); NeedsLogin is false for client credentials, which need none.
	Grant          string     `json:"grant"`
	NeedsLogin     bool       `json:"needs_login"`
	LoggedIn       bool       `json:"logged_in"`
	ExpiresAt      *time.Time `json:"access_token_expires_at,omitempty"`
	ExpiresIn      *int64     `json:"access_token_expires_in,omitempty"`
	RefreshExpires *time.Time `json:"refresh_token_expires_at,omitempty"`
	LastRenewal    *time.Time `json:"last_renewal,omitempty"`
	RenewedFor     string     `json:"last_renewal_for,omitempty"`
	Renewals       int        `json:"renewals"`
	// LoggedInWith is the configuration file on this machine that logged
	// in these tokens, when it is not this one: the two share the
	// environment's tokens (one store, one name, one grant), and a log-in
	// with either chooses the account both use.
	LoggedInWith string `json:"logged_in_with,omitempty"`
	// NextRenewal is when a long-running freshtoken (the proxy) renews the
	// grant so that it does not lapse unused, and why.
	NextRenewal *plannedRenewal `json:"next_renewal,omitempty"`
	// Scope is the scope the provider granted, when an answer named one;
	// ScopesNotGranted those of the configuration's scopes it lacks.
	Scope            string   `json:"scope,omitempty"`
	ScopesNotGranted []string `json:"scopes_not_granted,omitempty"`
	// scope is the text's row of them, as the proxy's page shows it.
	scope string
	Store string `json:"store"`
	// ClientSecretIn says where the client secret is kept (never the
	// secret itself).
	ClientSecretIn string `json:"client_secret_in"`
	// ClientSecretProblem says that the client secret cannot be had here,
	// and what to do: its variable (client_secret_env) is not set, or
	// none is configured for a provider that needs one.
	ClientSecretProblem string `json:"client_secret_problem,omitempty"`
	// Problem is what needs a person before the tokens can be used or
	// renewed again: the grant ended, the client was rejected, or the
	// stored tokens belong to another client.
	Problem *store.Problem `json:"problem,omitempty"`
	// Rest is the wait before the next token request after a renewal gave
	// up (the provider kept failing or asked to wait), while it lasts.
	Rest *store.Rest `json:"renewals_rest,omitempty"`
	// AccessTokenHeld is false for a record holding a refresh token alone
	// (imported, or kept from an answer cut off): the next call renews.
	AccessTokenHeld bool `json:"access_token_held"`
	// RefreshTokenHeld is false when the provider issued no refresh token
	// (always, for client credentials): a log-in then ends with its access
	// token.
	RefreshTokenHeld bool `json:"refresh_token_held"`
	// RefreshNotExtended says that renewals have been seen not to extend
	// the refresh token's expiry (a grant of a fixed lifetime): a log-in
	// is needed before it, as the proxy's refresh_token_expiring notice
	// tells.
	RefreshNotExtended bool `json:"refresh_token_not_extended,omitempty"`
	// AccessTokenUnusable says that the stored access token can be
	// neither sent nor shown (control characters in it, or a token type
	// bound to a key, DPoP or MAC), so every command fails until a renewal
	// brings another, and what to run for it.
	AccessTokenUnusable string `json:"access_token_unusable,omitempty"`
	Error               string `json:"error,omitempty"`
	// StoreProblem says that the store, read, cannot be written: a Redis
	// user that may read freshtoken's keys but not write them, whose
	// next renewal, log-in or log-out fails.
	StoreProblem string `json:"store_problem,omitempty"`
	// TokenFileProblem says that the environment's token_file holds the
	// token another configuration's environment keeps there, so its
	// keeper does not write this one's there, and what to do.
	TokenFileProblem string `json:"token_file_problem,omitempty"`
	// RenewalLockStuck says that the environment's renewal lock is held
	// by a stopped process, which every renewal waits for, and what to do
	// (freshtoken.Source.StuckLocks): told without waiting for the lock.
	RenewalLockStuck string `json:"renewal_lock_stuck,omitempty"`
	// ended: the tokens are held, but the access token expired and there
	// is no refresh token to renew it with.
	ended bool
	// refreshExpired: the access token expired, and the refresh token is
	// past the expiry the provider gave it, so no renewal can help (as
	// the proxy's page says).
	refreshExpired bool
}

type plannedRenewal struct {
	At  time.Time `json:"at"`
	Why string    `json:"why"` // its times in RFC 3339
	// plan is the same as data, for the text to write its times as the
	// rest of the text does, and then what the renewal waits for or meets
	// besides it (keeper.NextRenewal).
	plan freshtoken.KeepAlivePlan
	then string
}

// andThen is then, what a planned renewal waits for or meets besides its
// plan (keeper.NextRenewal), as it follows the plan's why.
func andThen(then string) string {
	if then == "" {
		return ""
	}
	return "; " + then
}

// problemOtherClient is status's kind for stored tokens that belong to
// another client or provider than the environment's.
const problemOtherClient = "other_client"

func runStatus(ctx context.Context, opts *statusOptions) error {
	conf, err := opts.f.Config()
	if err != nil {
		return err
	}
	names := conf.Names()
	if opts.f.EnvFlag != "" { // -e, given, narrows it to that environment; $FRESHTOKEN_ENV and default_env do not
		// Said as every command says it, of a file missing too: the
		// init to run names the environment.
		e, err := opts.f.envIn(conf)
		if err != nil {
			return err
		}
		names = []string{e.Name}
	} else if _, err := opts.f.configured("run `freshtoken init` to add one"); err != nil {
		return err
	}
	def, _ := conf.Select("")
	var all []envStatus
	// setupProblem is the first environment's problem with what it needs
	// here, which status finds itself, rather than reads of a renewal that
	// failed: the store could not be reached, refused access or is not
	// safe to use (store.ErrInsecure), or the
	// client secret's variable is not set. It gives the exit code.
	var setupProblem error
	// Whether Redis evicts keys is the whole store's: asked once, of the
	// first environment whose record could be read.
	evicts := sync.OnceValue(func() error { return checkEviction(ctx, conf.StoreURL) })
	// The store every environment shares, once it could not be reached: a
	// Redis that takes connections and never answers kept status waiting
	// for it again for each environment, seconds each.
	var unreachable error
	// Who holds the renewal locks is looked at once, for every
	// environment: a look costs as much as the system holds locks.
	var stuckLocks func(env string) string
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err // interrupted while a store kept it waiting: the rest is not worth reading
		}
		e := conf.Envs[name]
		st := envStatus{Env: name, Provider: e.Provider, APIURL: e.APIURL, Default: def != nil && def.Name == name, Production: e.IsProduction(),
			ClientSecretIn: e.ClientSecretWhere(), Grant: e.Grant, NeedsLogin: e.Grant != config.GrantClientCredentials}
		if st.ClientSecretProblem = e.ClientSecretProblem(); st.ClientSecretProblem != "" && setupProblem == nil {
			setupProblem = config.Invalidf("%s: %s", name, st.ClientSecretProblem)
		}
		src, err := opts.f.sourceIn(ctx, conf, name) // conf read once: read again for each, 2000 environments took minutes
		if err != nil {
			st.Error = err.Error()
			all = append(all, st)
			continue
		}
		if stuckLocks == nil {
			stuckLocks = src.StuckLocks() // the store, [store] url, is every environment's
		}
		st.Store, st.RenewalLockStuck = src.Location(), stuckLocks(name)
		var rec *store.Record
		if err = unreachable; err == nil {
			rec, err = src.Record(ctx)
		}
		if errors.Is(err, store.ErrUnreachable) {
			unreachable = err
		}
		switch {
		case err != nil:
			st.Error = err.Error()
			if setupProblem == nil && (errors.Is(err, store.ErrUnreachable) || errors.Is(err, store.ErrDenied) || errors.Is(err, store.ErrInsecure) || errors.Is(err, keyringstore.ErrNoKeychain) ||
				errors.Is(err, store.ErrNewerFormat)) { // a newer freshtoken's: this one uses it nowhere
				setupProblem = err
			}
		case rec != nil && src.CheckGrant(rec) != nil:
			// Nothing of them is the environment's, as the text and the
			// proxy's page show nothing of them.
			st.Problem = &store.Problem{Kind: problemOtherClient, Message: src.CheckGrant(rec).Error()}
		case rec != nil:
			fillStatus(&st, rec, e.Scopes)
			st.LoggedInWith = rec.LoggedInWith.OtherThan(src.ConfigFile())
			var fe *freshtoken.Error
			if err := src.Unusable(rec); errors.As(err, &fe) {
				// Every command fails on it, as this exits: login warns
				// of it, and status said "logged in: yes".
				st.AccessTokenUnusable = fmt.Sprintf("%s; run `freshtoken token --force -e %s` for another, and tell the provider if it happens again", fe.Msg, name)
				if setupProblem == nil {
					setupProblem = err
				}
			}
			if p := src.Plan(rec); !p.At.IsZero() {
				now := clock.Now()
				at, then := keeper.NextRenewal(p, rec, now, configfile.TokenFileLedger(), e.TokenFile)
				st.NextRenewal = &plannedRenewal{At: jsonTime(at), Why: p.Reason() + andThen(then), plan: p, then: then}
			}
		}
		st.TokenFileProblem = keeper.TokenFileProblem(configfile.TokenFileLedger(), e.TokenFile, opts.f.tokenFileOwner(name), clock.Now())
		if err == nil {
			if err := checkStore(ctx, conf.StoreURL, name, evicts); err != nil {
				err = fmt.Errorf("%s: %w", name, err)
				st.StoreProblem = err.Error()
				if setupProblem == nil && (errors.Is(err, store.ErrUnreachable) || errors.Is(err, store.ErrDenied)) {
					setupProblem = err
				}
			}
		}
		all = append(all, st)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if opts.JSON {
		for i := range all { // the text is rewritten whole below
			all[i].AccessTokenUnusable = opts.f.suggesting(all[i].AccessTokenUnusable)
		}
		enc := json.NewEncoder(opts.f.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			return err
		}
	} else {
		var b bytes.Buffer // written at once, so that a failed write fails the command
		for i, st := range all {
			if i > 0 {
				b.WriteString("\n")
			}
			printStatus(&b, st, opts.f.IO.OutTTY && !colorsOff())
		}
		if _, err := io.WriteString(opts.f.IO.Out, opts.f.suggesting(b.String())); err != nil {
			return err
		}
	}
	if setupProblem != nil { // each environment's problem says where and why
		return &silentError{code: ExitCode(setupProblem)}
	}
	return nil
}

func fillStatus(st *envStatus, rec *store.Record, asked []string) {
	st.Scope, st.ScopesNotGranted, st.scope = rec.Scope, rec.ScopesNotGranted(asked), failure.Scope(rec, asked)
	st.LoggedIn = rec.Problem == nil || rec.Problem.Kind != store.ProblemGrantEnded
	if rec.Problem != nil {
		p := *rec.Problem
		p.At = jsonTime(p.At)
		st.Problem = &p
	}
	if resting.Left(rec, clock.Now()) > 0 {
		r := *rec.Rest
		r.Until = jsonTime(r.Until.Add(time.Second - 1)) // rounded up: a script waiting until then finds the rest over
		st.Rest = &r
	}
	st.Renewals = rec.Renewals
	st.AccessTokenHeld = rec.AccessToken != ""
	st.RefreshTokenHeld = rec.RefreshToken != ""
	st.RefreshNotExtended = rec.RefreshNotExtended && st.RefreshTokenHeld
	now := clock.Now()
	if st.NeedsLogin && !st.RefreshTokenHeld && (!st.AccessTokenHeld || !rec.Expiry.IsZero() && !now.Before(rec.Expiry)) {
		st.LoggedIn, st.ended = false, true // nothing left to renew with, as every command would say
	}
	st.refreshExpired = st.NeedsLogin && st.RefreshTokenHeld && !rec.Expiry.IsZero() && !now.Before(rec.Expiry) &&
		!rec.RefreshExpiry.IsZero() && !now.Before(rec.RefreshExpiry)
	if !rec.Expiry.IsZero() {
		t := jsonTime(rec.Expiry)
		// Rounded down, as expires_at is: a token expired half a second
		// ago has -1 left, not 0.
		in := int64(math.Floor(rec.Expiry.Sub(now).Seconds()))
		st.ExpiresAt, st.ExpiresIn = &t, &in
	}
	if !rec.RefreshExpiry.IsZero() {
		t := jsonTime(rec.RefreshExpiry)
		st.RefreshExpires = &t
	}
	if !rec.RenewedAt.IsZero() {
		t := jsonTime(rec.RenewedAt)
		st.LastRenewal = &t
		st.RenewedFor = rec.RenewedFor
	}
}

// jsonTime is t as status --json writes it: UTC, in whole seconds, as
// token --json writes expires_at, and as jq's fromdate reads it (which
// refuses a fraction of a second).
func jsonTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

// oneLine is a message kept in the store (a failure, a rest), on one line
// and without the control characters a terminal acts on: freshtoken
// writes them so, but another program sharing the store (an older
// freshtoken) may not have.
func oneLine(msg string) string { return redact.OneLine(msg, 1000) }

func printStatus(w io.Writer, st envStatus, colour bool) {
	name := st.Env
	if st.Default {
		name += " (default)"
	}
	if st.Production {
		mark := "PRODUCTION: live data"
		if colour {
			mark = "\x1b[1;31m" + mark + "\x1b[0m"
		}
		name += "  " + mark
	}
	fmt.Fprintf(w, "%s\n", name)
	row := func(k, v string) { fmt.Fprintf(w, "  %-15s %s\n", k+":", v) }
	row("provider", st.Provider+"  "+st.APIURL)
	row("grant", grantText(st))
	switch {
	case st.Error != "":
		row("problem", oneLine(st.Error))
	case st.Problem != nil && st.Problem.Kind == problemOtherClient:
		row("logged in", "no: "+oneLine(strings.TrimPrefix(st.Problem.Message, st.Env+": ")))
	case !st.LoggedIn && !st.NeedsLogin:
		row("access token", "none yet; one is fetched with the client's credentials when needed")
	case st.ended && st.Problem == nil:
		row("logged in", fmt.Sprintf("no: the access token expired, and the provider issued no refresh token; run `freshtoken login -e %s`", st.Env))
	case !st.LoggedIn && st.Problem != nil:
		row("logged in", fmt.Sprintf("no: %s, %s; %s", oneLine(st.Problem.Message), ago(st.Problem.At), failure.LoginStep(st.Problem.Message, st.Env)))
	case !st.LoggedIn:
		row("logged in", fmt.Sprintf("no; run `freshtoken login -e %s`", st.Env))
	default:
		loggedIn, unusable := "yes", ", but the stored access token cannot be used"
		if !st.NeedsLogin {
			// Not "not needed, but": a but against nothing.
			loggedIn, unusable = "not needed", "; the stored access token cannot be used"
		}
		if st.AccessTokenUnusable != "" {
			loggedIn += unusable
		}
		if st.refreshExpired {
			but := ", but" // after "but the stored access token cannot be used": "; and"
			if st.AccessTokenUnusable != "" {
				but = "; and"
			}
			loggedIn += fmt.Sprintf("%s the refresh token has expired too, so no renewal can help: run `freshtoken login -e %s`", but, st.Env)
		}
		row("logged in", loggedIn)
		if st.LoggedInWith != "" {
			row("logged in with", fmt.Sprintf("%s, another configuration, which shares these tokens: a log-in with either chooses the account both use (give one a [store] url of its own to keep them apart)", st.LoggedInWith))
		}
		if st.Problem != nil {
			// When first, as the page's "Last problem (…):" says it: after
			// the message, it closed a parenthesis of the message's own
			// ("… (HTTP 401 …) (0s ago (2026-…))").
			problem := fmt.Sprintf("%s: %s", ago(st.Problem.At), oneLine(st.Problem.Message))
			if st.Problem.Kind == store.ProblemClientRejected || st.Problem.Kind == store.ProblemRefused { // it stays until a renewal succeeds
				said, steps := failure.Steps(st.Problem.Message, st.ClientSecretIn,
					fmt.Sprintf("run `freshtoken token --force -e %s`", st.Env), fmt.Sprintf("`freshtoken login -e %s`", st.Env))
				problem = fmt.Sprintf("%s: %s%s", ago(st.Problem.At), oneLine(said), steps)
			}
			row("problem", problem)
		}
		if st.Rest != nil {
			force := "--force does not wait"
			if st.Rest.PutBack {
				force = "--force waits too"
			}
			row("renewals", fmt.Sprintf("resting %s more (until %s; %s) after: %s",
				human(st.Rest.Until.Sub(clock.Now())), resting.Ends(st.Rest.Until), force, oneLine(st.Rest.Message)))
		}
		// expiry is a token's row: what stands instead when there is none,
		// else when it expires, if the provider said.
		expiry := func(token string, none bool, instead string, at *time.Time) {
			switch {
			case none:
				row(token, instead)
			case at != nil:
				row(token, relative("expires", "expired", *at))
			default:
				row(token, "no expiry given by the provider")
			}
		}
		if st.AccessTokenUnusable != "" {
			row("access token", "cannot be used: "+st.AccessTokenUnusable)
		} else {
			expiry("access token", !st.AccessTokenHeld, "none held; the next call fetches one with the refresh token", st.ExpiresAt)
		}
		switch {
		case !st.NeedsLogin:
			row("refresh token", "none; a new access token is fetched with the client's credentials when due")
		case !st.RefreshTokenHeld && st.ExpiresAt == nil:
			row("refresh token", "none: the provider issued none")
		case !st.RefreshTokenHeld:
			row("refresh token", "none: the provider issued none; log in again when the access token expires")
		case st.RefreshNotExtended && st.RefreshExpires != nil:
			// As the proxy's refresh_token_expiring notice says it.
			when := relative("expires", "expired", *st.RefreshExpires)
			if clock.Now().Before(*st.RefreshExpires) {
				row("refresh token", fmt.Sprintf("%s; renewing does not extend it: run `freshtoken login -e %s` before then", when, st.Env))
			} else { // no "before then" to log in by
				row("refresh token", fmt.Sprintf("%s; renewing did not extend it: run `freshtoken login -e %s`", when, st.Env))
			}
		case st.RefreshExpires == nil:
			// A Postman export carries no refresh token expiry: "no
			// expiry given by the provider" was untrue of its tokens.
			row("refresh token", "its expiry not known (the provider gave none, or the tokens were imported without it)")
		default:
			expiry("refresh token", false, "", st.RefreshExpires)
		}
		if st.NextRenewal != nil {
			row("keep-alive", fmt.Sprintf("%s, by a running `freshtoken proxy`, as %s%s", relative("due", "was due", st.NextRenewal.At), st.NextRenewal.plan.Why(stamp), andThen(st.NextRenewal.then)))
		}
		if st.LastRenewal != nil {
			why := renewedFor(st.RenewedFor, !st.NeedsLogin)
			if !st.NeedsLogin { // each token is fetched; the first one is no renewal
				row("last token", fmt.Sprintf("fetched %s%s; %d so far", ago(*st.LastRenewal), why, st.Renewals+1))
			} else {
				row("last renewal", fmt.Sprintf("%s%s; %d so far", ago(*st.LastRenewal), why, st.Renewals))
			}
		} else {
			row("last renewal", "never (logged in, not yet renewed)")
		}
		if st.scope != "" {
			row("scope", st.scope)
		}
	}
	if st.StoreProblem != "" {
		row("problem", st.StoreProblem)
	}
	if st.RenewalLockStuck != "" {
		row("problem", st.RenewalLockStuck)
	}
	if st.TokenFileProblem != "" {
		row("token file", st.TokenFileProblem)
	}
	if st.Store != "" {
		row("stored in", st.Store)
	}
	if st.ClientSecretProblem != "" {
		row("client secret", st.ClientSecretProblem) // it names the variable, or what to set
	} else {
		row("client secret", st.ClientSecretIn)
	}
}

// grantText names st's grant for people, and whether it needs a log-in.
func grantText(st envStatus) string {
	switch st.Grant {
	case config.GrantClientCredentials:
		return "client credentials (no log-in needed)"
	case config.GrantDeviceCode:
		return "device code (log in with a code on any device)"
	}
	return "authorization code (log in with a browser)"
}

// renewedFor says in words why the last renewal (or, for client
// credentials, fetch) was made, from the reason the record keeps
// (store.RenewedFor…), as ", as …" to follow when it was; it said ", for
// request". "" when no reason is kept.
func renewedFor(reason string, fetched bool) string {
	switch reason {
	case "":
		return ""
	case store.RenewedForExpiry:
		if fetched {
			return ", when one was due"
		}
		return ", as the access token was due to expire"
	case store.RenewedForRejection:
		return ", as the API refused the access token (401)"
	case store.RenewedOnRequest:
		if fetched {
			return ", as asked (a log-in, `token --force`, or Renew now on the proxy's page)"
		}
		return ", as asked (`token --force`, or Renew now on the proxy's page)"
	case store.RenewedToKeepAlive:
		return ", by a running `freshtoken proxy`'s keep-alive"
	}
	return ", for " + reason // a reason written by a newer freshtoken
}

// stamp is a moment as status's text writes it.
func stamp(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }

func relative(future, past string, t time.Time) string {
	d := t.Sub(clock.Now())
	if d < 0 {
		return fmt.Sprintf("%s %s ago (%s)", past, human(negated(d)), stamp(t))
	}
	return fmt.Sprintf("%s in %s (%s)", future, human(d), stamp(t))
}

func ago(t time.Time) string {
	d := clock.Now().Sub(t)
	switch {
	case t.IsZero(): // by another program sharing the store
		return "its time not recorded"
	case d < -time.Minute: // by another machine, its clock ahead
		return fmt.Sprintf("%s, by a clock %s ahead of this one", stamp(t), human(negated(d)))
	}
	return fmt.Sprintf("%s ago (%s)", human(max(d, 0)), stamp(t))
}

// negated is -d, d a time.Until or time.Since: for a time more than 292
// years away (a record someone edited, a clock set to year 9999) they
// give the least Duration, whose negation is itself, and status read
// "expired -2562047h47m16.854775808s ago".
func negated(d time.Duration) time.Duration {
	if d == math.MinInt64 {
		return math.MaxInt64
	}
	return -d
}

// human rounds d to what a person wants to read: "42s", "5m", "3h12m", "19d".
func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// checkStore reports whether the store at storeURL is fit for env's
// renewals, writing nothing: a Redis user may be allowed to read
// freshtoken's keys and not write them (redisstore's CheckWrite), and a
// Redis that evicts keys when full may drop a renewing machine's lock and
// in-flight mark, and one that keeps nothing on disk loses the tokens at a
// restart (evicts: checkEviction, which is the whole store's, so a
// caller asking of several environments asks it once). The other stores'
// writes fail as their reads do, which status and the keeper find out: nil.
func checkStore(ctx context.Context, storeURL, env string, evicts func() error) error {
	st := redisAt(storeURL)
	if st == nil {
		return nil
	}
	// A user that may renew but not read the run_id (ErrRestartLoses) is
	// told of after an eviction (ErrDenied), which may let two machines
	// spend one refresh token: the graver, and the exit code's.
	err := st.CheckWrite(ctx, env)
	if err != nil && !errors.Is(err, store.ErrRestartLoses) {
		return err
	}
	if e := evicts(); e != nil && (err == nil || !errors.Is(e, store.ErrRestartLoses)) {
		return e
	}
	return err
}

// checkEviction is redisstore's CheckEviction of the store at storeURL,
// then its CheckPersistence, or nil for a store that neither evicts nor
// forgets at a restart.
func checkEviction(ctx context.Context, storeURL string) error {
	if st := redisAt(storeURL); st != nil {
		if err := st.CheckEviction(ctx); err != nil {
			return err
		}
		return st.CheckPersistence(ctx)
	}
	return nil
}

// redisAt is the Redis store storeURL names, or nil for another store and
// for a Redis URL that does not open (every command says so).
func redisAt(storeURL string) *redisstore.Store {
	if !config.IsRedisURL(storeURL) {
		return nil
	}
	st, err := config.OpenStore(storeURL)
	if err != nil {
		return nil
	}
	r, _ := st.(*redisstore.Store)
	return r
}
