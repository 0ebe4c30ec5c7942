package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/keeper"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

type logoutOptions struct {
	f     *Factory
	Local bool
	Yes   bool
}

func newLogoutCmd(f *Factory) *cobra.Command {
	opts := &logoutOptions{f: f}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "End an environment's grant at the provider and forget its tokens",
		Long: `Revoke the environment's tokens at the provider's revocation endpoint (RFC 7009,
revocation_url in the config) when it has one, then delete them from the store,
and the environment's token_file when freshtoken wrote what it holds for
this environment (not one another configuration's keeper keeps).
If revocation fails for a reason the configuration has to fix (no revocation
endpoint answers at revocation_url: a 404, a web page or a redirect, or it
is the token endpoint, or answers invalid_request; the provider refuses the
client; the client secret cannot be read, from a variable, a command or a
keychain), the tokens are kept, as they are needed to end the grant once
that is fixed, and it exits 2 (5 for a locked keychain): fix it and log out
again, or use --local to forget them without ending the grant. An endpoint
answering that it no longer knows the tokens (invalid_token, revoked or
expired already) revoked nothing: they are forgotten, and it says so. An
endpoint answering that it cannot answer now (a 5xx, a 429), or whose answer
was lost or broke off, is tried again a few times, waiting as its Retry-After
asks up to 10 seconds (not a certificate this machine does not trust, nor a
host name with no address, which says to check revocation_url: no try
changes those); the whole revocation ends
within the environment's timeout (30s by default). If the provider cannot be
reached or fails (a network error, a 5xx, an answer that broke off or never
ended, unsupported_token_type for the refresh token, an invalid_request from
the endpoint its discovery document or its provider preset names), the tokens
are kept, as they are needed to end the grant, and the message says what
failed and that the grant may still be valid (exit 5): log out again later,
or remove the app's access in your account at the provider and use --local
to forget them; a running proxy or service keeps renewing them meanwhile.
A refusal with an error code of the provider's own (account_locked, say)
quotes its words, which say what to do, and keeps the tokens too (exit 2).
Once the provider has revoked the refresh token, the grant has ended: a
failure of the access token's revocation then is none (exit 0), and the
tokens are forgotten. A token store failing before anything is sent (no room
for its lock file, Redis out of reach) keeps them (exit 5), and one failing to
delete them once the provider revoked the grant says so, and to log out again
once it is fixed; interrupted
(Ctrl-C) before the provider revoked the refresh token, it keeps them and
says so; after, they are forgotten, and it says the grant has ended. Tokens
of a log-in made
while it ran (in another terminal, or the proxy's page) are kept, and it
says so. A revocation_url that is plain http to another machine is sent
nothing: the tokens are kept, and it says what to do. Tokens stored under
the name for another client or API (another configuration's) are left
alone, neither revoked nor deleted, and it exits 0: there is nothing of this
environment's to log out of. A stored record that cannot be read (a corrupt
file) is deleted, and it says so and exits 0: nothing in it can be revoked
at the provider. An environment whose own settings have a mistake, for which
other commands refuse the file, is logged out of all the same, read as far as
its settings allow (as remove reads it), saying which settings were left out;
its tokens are kept (exit 2), saying what to fix, when the mistake is in a
setting that says whose they are (provider, api_url, token_url, client_id…),
as another configuration's may be stored under its name, or, without --local,
in one their revocation is made with (revocation_url, the client secret's,
client_auth…). Tokens of the same client that another configuration file on
this machine logged in are shared with it, and a log-out ends them for it
too: on a terminal logout asks first (default no); --yes skips the
question, and without a terminal logout goes ahead after saying so.
--local only forgets the tokens. The configuration is kept;
` + "`freshtoken login`" + ` logs in again.`,
		Example: `  freshtoken logout -e sandbox
  freshtoken logout -e sandbox --local   # forget the tokens, leave the grant at the provider`,
		Args: exactArgs(0, "no arguments"),
		RunE: runner(opts, nil, runLogout),
	}
	cmd.Flags().BoolVar(&opts.Local, "local", false, "only forget the tokens; do not revoke them at the provider")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "log out of another configuration file's log-in without asking")
	return cmd
}

func runLogout(ctx context.Context, opts *logoutOptions) error {
	f := opts.f
	conf, broken, err := f.logoutConfig()
	if err != nil {
		return err
	}
	if err := f.named(conf, "nothing to log out of"); err != nil {
		return err
	}
	env, err := f.envIn(conf)
	if err != nil {
		return err
	}
	// A token file freshtoken wrote goes with the tokens, and outlives
	// none: a keeper's, of tokens logged out on another machine.
	tokenFileToo := func() {
		if said := forgetTokenFile(ctx, f, env, nil, false); said != "" {
			fmt.Fprintln(f.IO.ErrOut, said)
		}
	}
	// `store migrate` in another terminal may move the tokens while this
	// log-out waits for the renewal lock: what it then found (or deleted)
	// in the store it began with is not what the environment holds.
	movedAway := func() error {
		changed, removed := f.storeChanged(env.Name, conf.StoreURL)
		if changed == "" || removed {
			return nil
		}
		again := "logout"
		if opts.Local {
			again += " --local"
		}
		return usageErrorf("%s: %s while this log-out ran, so its tokens may be there, not logged out of; run `%s` again", env.Name, changed, f.commandLine(again+" -e "+env.Name))
	}
	nothing := func(location string) error {
		if err := movedAway(); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "%s has no stored tokens (nothing in %s); nothing to log out of.\n", env.Name, location)
		tokenFileToo()
		return nil
	}
	if broken != nil {
		if err := logoutBroken(ctx, f, conf, env, broken, opts.Local); err != nil || !broken.GrantKnown {
			if errors.Is(err, errNothingStored) {
				_, location, _ := storedRecord(ctx, conf, env.Name)
				return nothing(location)
			}
			return err
		}
	}
	src, err := f.sourceIn(ctx, conf, env.Name)
	if err != nil {
		return err
	}
	rec, err := src.Record(ctx)
	if err == nil && rec == nil {
		return nothing(src.Location())
	}
	// Another configuration's tokens are neither revoked nor forgotten, and
	// there is nothing of this one's to log out of (a log-in is not what a
	// log-out was after). Told so whether found here or, when another
	// configuration took an older record over meanwhile, under the lock.
	notOwn := func(err error) bool {
		var fe *freshtoken.Error
		if !errors.As(err, &fe) || !errors.Is(err, freshtoken.ErrLoginRequired) || errors.Is(err, store.ErrNotFound) {
			return false
		}
		fmt.Fprintf(f.IO.ErrOut, "%s has no tokens of its own to log out of: %s.\n", src.Env(), fe.Msg)
		return true
	}
	switch {
	case err == nil:
		if err := src.CheckGrant(rec); err != nil {
			if notOwn(err) {
				return nil
			}
			return err
		}
		if ok, err := confirmLogoutOfOther(ctx, opts, src, rec); !ok || err != nil {
			return err
		}
	case errors.Is(err, store.ErrNewerFormat):
		return src.Logout(ctx) // a newer freshtoken's: refused, nothing deleted
	case errors.Is(err, store.ErrCorrupt):
		if err := logoutUnreadable(ctx, f, src, opts.Local, err); err != nil {
			return err
		}
		tokenFileToo()
		return nil
	case err != nil: // one it may not read (a file others may read): neither revocable nor known to be its own, as remove says
		return fmt.Errorf("%w; nothing was revoked or deleted", err)
	}
	// A signal stops the log-out where it is: a revocation left unanswered
	// may or may not have ended the grant (one whose refresh token the
	// provider was seen to revoke has ended, and it says so), and the
	// tokens are kept for the log-out run again to finish.
	// So does a signal that ended a command it ran (client_secret_cmd,
	// sent Ctrl-C with freshtoken, or a closed terminal's SIGHUP) before
	// freshtoken acted on it: nothing was sent, and tokens deleted then
	// would leave nothing to end the grant with.
	stopped := func(cause error) error {
		again, revoked := "logout", ""
		switch {
		case opts.Local:
			again += " --local"
		case errors.Is(cause, freshtoken.ErrGrantRevoked):
			revoked = " (the provider revoked the refresh token, ending the grant; the access token may stay valid until it expires)"
		case failure.RevocationSent(cause):
			revoked = " (the provider may have revoked them already)"
		}
		msg := fmt.Sprintf("%s: the log-out stopped before its tokens were deleted: they are kept in %s%s; run `freshtoken %s -e %s` to finish it", src.Env(), src.Location(), revoked, again, src.Env())
		if signalOf(cause) != 0 {
			return &signalStopped{msg: msg, err: cause}
		}
		return errors.New(msg)
	}
	again := "logout"
	if opts.Local {
		again += " --local"
	}
	again = f.commandLine(again + " -e " + src.Env())
	// kept is err, the store failing before anything was deleted (a disk
	// with no room for the lock file, Redis out of reach), with did, what
	// was done: the tokens are kept, for the same log-out once it is fixed.
	kept := func(err error, did string) error {
		return fmt.Errorf("%w; %s: the tokens are kept in %s, for `%s` once that is fixed", filestore.KeptInPlace(src.Env(), err), did, src.Location(), again)
	}
	var revokeErr error
	unknown := ""          // the provider's answer that it no longer knows the tokens
	keptForRevoke := false // the revocation's failure kept the tokens: told below
	// [store] url is checked under the renewal lock (which a move holds
	// until [store] url names the new store), before anything is sent or
	// deleted: checked once the lock was let go, a move made right after
	// had the log-out say that tokens it had ended were not.
	var moved error
	stillHere := func() error {
		moved = movedAway()
		return moved
	}
	if opts.Local {
		if ctx.Err() != nil {
			return stopped(nil)
		}
		err = src.LogoutOfUnder(ctx, rec, func(logout func() error) error {
			if err := stillHere(); err != nil {
				return err
			}
			return logout()
		})
	} else {
		// Revoked and deleted under one hold of the renewal lock, so that
		// no renewal (a proxy's or a service's) comes between to spend
		// the refresh token just revoked.
		unknown, keptForRevoke, revokeErr, err = src.RevokeAndLogoutOfUnder(ctx, rec, stillHere)
	}
	if moved != nil {
		return moved
	}
	if keptForRevoke {
		switch {
		case notOwn(revokeErr):
			return nil
		case errors.Is(revokeErr, freshtoken.ErrLoginRequired) && errors.Is(revokeErr, store.ErrNotFound):
			// Deleted while it waited for the lock (another logout
			// finished first): nothing was sent, and nothing is left.
			return nothing(src.Location())
		case errors.Is(revokeErr, freshtoken.ErrClearText):
			return clearTextRevocation(f, env)
		case ctx.Err() != nil || signalOf(revokeErr) != 0:
			return stopped(revokeErr)
		case failure.RevocationToFix(revokeErr):
			return revocationMisconfigured(f, src, revokeErr)
		case failure.Of(revokeErr) == failure.StoreUnreachable:
			// The store failed as the revocation read the tokens or took
			// the lock, before anything was sent; the delete would fail
			// the same way.
			return kept(revokeErr, "nothing was sent to the provider and nothing deleted")
		}
		return revocationFailedKept(f, src, revokeErr)
	}
	// A log-in stored before the revocation took the lock (as a
	// client_secret_cmd asked a passphrase): nothing was sent, and the
	// grant logged out of was not ended.
	unrevoked := errors.Is(revokeErr, store.ErrChanged)
	if unrevoked {
		revokeErr = nil
	}
	gone := "deleted from " + src.Location() // what became of its tokens
	laterKept := false
	if errors.Is(err, store.ErrChanged) && ctx.Err() == nil {
		// A log-in (another terminal's, the proxy page's) stored its
		// tokens since this log-out read them: they are its, kept.
		gone = "replaced in " + src.Location() + " by those of a log-in made while this log-out ran, which were kept"
		laterKept = true
		defer fmt.Fprintf(f.IO.ErrOut, "Run `%s` to log out of the log-in made since too.\n", again)
	} else if err != nil {
		if ctx.Err() != nil {
			return stopped(errors.Join(err, revokeErr))
		}
		if opts.Local && failure.Of(err) == failure.StoreUnreachable {
			return kept(err, "nothing was deleted")
		}
		if notOwn(err) {
			return nil
		}
		if !opts.Local && revokeErr == nil && !unrevoked && unknown == "" && src.CanRevoke() {
			// Revoked, then not deleted: told only that nothing was
			// deleted, a person took the grant for alive, and a renewal
			// with the tokens kept (a proxy's, a service's) was refused,
			// and told as a grant ended, to log in again.
			return fmt.Errorf("%w; the provider revoked the grant, so the tokens kept are of no use: run `%s` once that is fixed to delete them", err, again)
		}
		return errors.Join(err, revokeErr)
	}
	if said := forgetTokenFile(ctx, f, env, rec, laterKept || unrevoked); said != "" {
		defer fmt.Fprintln(f.IO.ErrOut, said) // after what the log-out did
	}
	switch {
	case errors.Is(revokeErr, freshtoken.ErrGrantRevoked):
		// Stopped (Ctrl-C) as the access token's revocation was under
		// way, once the provider had ended the grant: the refresh token
		// is of no more use, and the tokens were forgotten.
		fmt.Fprintf(f.IO.ErrOut, "Logged out of %s: the provider ended the grant, and its tokens were %s; the access token's revocation was stopped, and it may stay valid until it expires.\n", src.Env(), gone)
	case opts.Local:
		fmt.Fprintf(f.IO.ErrOut, "Logged out of %s: its tokens were %s.\n", src.Env(), gone)
	case unrevoked:
		fmt.Fprintf(f.IO.ErrOut, "Logged out of %s: its tokens were %s; nothing was revoked at the provider, as that log-in stored its tokens before the revocation could be sent, so the grant logged out of was not ended there: it stays valid until it expires, or until you remove the app's access at the provider.\n", src.Env(), gone)
	case unknown != "":
		eps, _ := src.Endpoints(ctx) // found already, by the revocation
		fmt.Fprintf(f.IO.ErrOut, "Logged out of %s: the provider's revocation endpoint %s answered that it no longer knows its tokens (%s), revoked or expired already, so nothing was revoked; they were %s.\n",
			src.Env(), redact.URL(eps.RevocationURL), unknown, gone)
	case !src.CanRevoke():
		fmt.Fprintf(f.IO.ErrOut, "Logged out of %s: its tokens were %s; the provider has no revocation endpoint (revocation_url), so the grant was not ended there: it stays valid until it expires or you remove the app's access at the provider.\n", src.Env(), gone)
	default:
		fmt.Fprintf(f.IO.ErrOut, "Logged out of %s: the grant was revoked at the provider, and its tokens were %s.\n", src.Env(), gone)
	}
	return nil
}

// confirmLogoutOfOther is asked before a log-out of rec, tokens of this
// configuration's grant that another configuration file on this machine
// logged in (see store.ConfigFile.OtherThan): that file shares
// them, and the log-out ends them for it too. On a terminal, without --yes,
// it asks first, default no: no ends the log-out (ok false, err nil: exit
// 0), nothing sent or deleted. Otherwise it says so in one line and goes
// on, as login does over another file's log-in.
func confirmLogoutOfOther(ctx context.Context, opts *logoutOptions, src *freshtoken.Source, rec *store.Record) (ok bool, err error) {
	other := rec.LoggedInWith.OtherThan(src.ConfigFile())
	if other == "" {
		return true, nil
	}
	f := opts.f
	whose := fmt.Sprintf("tokens stored for %s in %s were logged in with %s, another configuration, which shares them", src.Env(), src.Location(), other)
	if opts.Yes || !f.IO.InTTY {
		fmt.Fprintf(f.IO.ErrOut, "freshtoken: %s: warning: the %s; this log-out ends them for it too, and it will have to log in again\n", src.Env(), whose)
		return true, nil
	}
	yes, err := f.askYesNo(ctx, fmt.Sprintf("The %s; logging out ends them for it too, and it will have to log in again. Log out?", whose))
	if err != nil || !yes {
		if err == nil {
			args := "logout -e " + src.Env()
			if opts.Local {
				args = "logout --local -e " + src.Env()
			}
			fmt.Fprintf(f.IO.ErrOut, "Nothing was sent and nothing changed: the tokens %s logged in with are kept for %s. Run `%s --yes` to log out of them for both.\n", other, src.Env(), f.commandLine(args))
		}
		return false, err
	}
	return true, nil
}

// logoutConfig is the configuration for logout: as every command reads
// it, or, when the environment named (-e, or $FRESHTOKEN_ENV) has a
// mistake in its own settings, for which the others refuse the file, the
// rest of it with that environment read as far as its settings allow, as
// remove reads it (config.LoadForRemoval), and what was left out: a
// mistake in one setting kept the tokens from being dropped at all,
// --local too.
func (f *Factory) logoutConfig() (*config.File, *config.BrokenEnv, error) {
	conf, err := f.Config()
	name := cmp.Or(f.EnvFlag, os.Getenv("FRESHTOKEN_ENV"))
	if err == nil || name == "" || !errors.Is(err, config.ErrInvalid) {
		return conf, nil, err
	}
	path, perr := f.ConfigPath()
	if perr != nil {
		return nil, nil, err
	}
	read, broken, rerr := config.LoadForRemoval(path, name)
	if rerr != nil || broken == nil {
		return nil, nil, err // the file's mistake is not, or not only, the environment's own
	}
	return read, broken, nil
}

// errNothingStored is logoutBroken's: no tokens are stored for the
// environment.
var errNothingStored = errors.New("nothing stored")

// logoutBroken says what logout of env, whose settings have the mistakes
// broken tells, leaves out, or why it does nothing: tokens that cannot be
// told from another configuration's (a setting that says whose they are
// has a mistake) are kept, and so, unless local, are tokens whose
// revocation could not be made as configured (a setting it needs has
// one), both exit 2 saying what to fix. errNothingStored when no tokens
// are stored. nil: log out with what was read.
func logoutBroken(ctx context.Context, f *Factory, conf *config.File, env *config.Env, broken *config.BrokenEnv, local bool) error {
	rec, location, err := storedRecord(ctx, conf, env.Name)
	switch {
	case err != nil && !errors.Is(err, store.ErrCorrupt):
		return err
	case rec == nil && err == nil:
		return errNothingStored
	case !broken.GrantKnown:
		return config.Invalidf("%s: %s, so its tokens in %s cannot be told from another configuration's %s; nothing was deleted: fix it in %s, then run `%s` again",
			env.Name, mistakesOfTheGrant(broken.Whose), location, env.Name, conf.Path, f.commandLine("logout -e "+env.Name))
	case !local && len(broken.Revocation()) > 0:
		return config.Invalidf("%s: its %s in %s, which the revocation of its tokens is made with, %s; nothing was sent or deleted: the tokens are kept in %s, for `%s` to end the grant once that is fixed, or run `%s` to forget them without ending it",
			env.Name, strings.Join(broken.Revocation(), ", "), conf.Path, hasMistakes(broken.Revocation()), location,
			f.commandLine("logout -e "+env.Name), f.commandLine("logout --local -e "+env.Name))
	}
	fmt.Fprintf(f.IO.ErrOut, "%s: its %s in %s %s, left out of this log-out; every other command refuses the file until it is fixed.\n",
		env.Name, strings.Join(broken.Unread, ", "), conf.Path, hasMistakes(broken.Unread))
	return nil
}

// hasMistakes says of keys, settings, that it has a mistake, or they have.
func hasMistakes(keys []string) string {
	if len(keys) == 1 {
		return "has a mistake"
	}
	return "have mistakes"
}

// revocationFailedKept is the log-out whose revocation the provider failed
// (out of reach, a 5xx at every try, an answer that broke off, a refusal
// the configuration cannot fix): the tokens are kept, as forgotten they
// could not end the grant when the provider answers again, and it lived on
// at the provider. A person ending access (a lost laptop) is told that the
// grant may live on, and how to end it now, at the provider, when it
// refuses at every try. It exits 5.
func revocationFailedKept(f *Factory, src *freshtoken.Source, revokeErr error) error {
	kind := failure.Of(revokeErr)
	if kind == failure.Unexpected {
		kind = failure.ProviderUnreachable
	}
	return &keptTokensError{kind: kind, msg: fmt.Sprintf("%s: %s; nothing was deleted: the tokens are kept in %s, and the grant may still be valid at the provider: run `%s` later to end it, or remove the app's access in your account at the provider and run `%s` to forget them",
		src.Env(), trimEnv(revokeErr, src.Env()), src.Location(), f.commandLine("logout -e "+src.Env()), f.commandLine("logout --local -e "+src.Env()))}
}

// keptTokensError is a log-out that kept the tokens, of the exit of why
// (a locked keychain is 5, as everywhere, the rest the configuration's).
type keptTokensError struct {
	msg  string
	kind failure.Kind
}

func (e *keptTokensError) Error() string             { return e.msg }
func (e *keptTokensError) FailureKind() failure.Kind { return e.kind }

// revocationMisconfigured is the log-out whose revocation failed for the
// configuration's reason: the tokens are kept, as they are the only way to
// end the grant at the provider once the configuration is fixed (forgotten,
// nothing was left to revoke, and the grant lived on); --local forgets them
// without. It exits 2.
func revocationMisconfigured(f *Factory, src *freshtoken.Source, revokeErr error) error {
	what := revokeErr.Error()
	if next := failure.NextNaming(revokeErr, src.Env(), f.secretWhere); next != "" { // what to fix, before what to do then
		what += "; " + next
	}
	kept := fmt.Sprintf("nothing was deleted: the tokens are kept in %s, for `%s` to end the grant once that is fixed, or run `%s` to forget them without ending it",
		src.Location(), f.commandLine("logout -e "+src.Env()), f.commandLine("logout --local -e "+src.Env()))
	if failure.KeychainUnusable(revokeErr) { // the keychain's own words say what to fix
		return &keptTokensError{msg: fmt.Sprintf("%s: the client secret could not be read from the system keychain, so nothing was sent to the provider: %s; %s", src.Env(), trimEnv(revokeErr, src.Env()), kept), kind: failure.Of(revokeErr)}
	}
	return config.Invalidf("%s; %s", what, kept)
}

// clearTextRevocation is the mistake of a revocation_url that is plain http
// to another machine, which was sent nothing: the tokens are kept, for a
// log-out once it is corrected, or one with --local.
func clearTextRevocation(f *Factory, env *config.Env) error {
	where := "the configuration"
	if p, err := f.ConfigPath(); err == nil {
		where = p
	}
	return config.Invalidf("%s: revocation_url in %s, %s, is plain http to another machine, where anyone on the way could read the tokens it would be sent; nothing was sent and the tokens are kept: write the provider's https address there, or run `%s` to forget them without ending the grant",
		env.Name, where, redact.OneLine(env.RevocationURL, 200), f.commandLine("logout --local -e "+env.Name))
}

// forgetTokenFile removes env's token_file when freshtoken wrote what it
// holds (rec's access token, which a log-out has just forgotten, or an
// older one a keeper wrote there for env of this configuration): a keeper
// that would notice may not be running, and the file would keep a token
// usable until it expires. With laterKept (a later log-in's tokens were
// kept), only rec's access token is removed: what a keeper wrote may be
// the later log-in's. It returns what to tell of it: its removal, or a
// file left alone, which may be the user's, or hold the token another
// configuration's environment keeps there; "" for no file.
func forgetTokenFile(ctx context.Context, f *Factory, env *config.Env, rec *store.Record, laterKept bool) string {
	if env.TokenFile == "" {
		return ""
	}
	token := ""
	if rec != nil {
		token = rec.AccessToken
	}
	forget := keeper.ForgetTokenFile
	if laterKept {
		forget = keeper.ForgetTokenFileOf
	}
	removed, keptBy, err := forget(f.tokenFileWait(ctx, env.Name, env.TokenFile), env.TokenFile, token, configfile.TokenFileLedger(), f.tokenFileOwner(env.Name))
	switch {
	case err != nil:
		f.warn(fmt.Sprintf("%s: warning: the token file %s still holds an access token freshtoken wrote (%v); delete it", env.Name, env.TokenFile, err))
	case removed:
		return fmt.Sprintf("Its token file %s, which held an access token freshtoken wrote, was removed.", env.TokenFile)
	case keptBy != keeper.Owner{}:
		return fmt.Sprintf("Its token_file %s was left as it is: it holds the token that %s keeps there; give each environment a token_file of its own.", env.TokenFile, keptBy)
	case laterKept:
		if _, err := os.Lstat(env.TokenFile); err == nil {
			return fmt.Sprintf("Its token_file %s was left as it is: it does not hold the access token of the log-in logged out of, and may hold that of the log-in kept.", env.TokenFile)
		}
	default:
		if _, err := os.Lstat(env.TokenFile); err == nil {
			// Not "freshtoken did not write it": a keeper whose notes are
			// elsewhere (a service with another $XDG_STATE_HOME), or that
			// could not note its write (a full disk), wrote it all the same.
			return fmt.Sprintf("Its token_file %s was left as it is: freshtoken has no note of writing what it holds; if that is a token of %s's, delete it.", env.TokenFile, env.Name)
		}
	}
	return ""
}

// tokenFileOwner is whose token env's token_file holds when freshtoken
// writes it: env of this configuration file (see keeper.Owner), or no one
// known when the file cannot be named.
func (f *Factory) tokenFileOwner(env string) keeper.Owner {
	p, err := f.ConfigPath()
	if err != nil {
		return keeper.Owner{}
	}
	return keeper.NewOwner(p, env)
}

// tokenFileWait is ctx with which a wait for the lock of env's token file
// at path, which a running keeper holds while it writes the file, is said
// once on stderr: a log-out waiting on one stopped or hung seemed to hang.
func (f *Factory) tokenFileWait(ctx context.Context, env, path string) context.Context {
	var once sync.Once
	return store.WithWaiting(ctx, func() {
		once.Do(func() {
			f.warn(fmt.Sprintf("%s: waiting for a running freshtoken (a proxy or service keeping its token_file) to finish writing %s; resume or end one that is stopped or hung", env, path))
		})
	})
}

// trimEnv is err's message without the "ENV: " it starts with.
func trimEnv(err error, env string) string {
	msg := err.Error()
	if len(msg) > len(env)+2 && msg[:len(env)+2] == env+": " {
		return msg[len(env)+2:]
	}
	return msg
}

// logoutUnreadable deletes a stored record that cannot be read, which
// holds no token freshtoken could revoke or use, and says so: not that its
// tokens were deleted, nor that it was kept (as readErr, the store's, does).
func logoutUnreadable(ctx context.Context, f *Factory, src *freshtoken.Source, local bool, readErr error) error {
	if err := src.Logout(ctx); err != nil {
		return err
	}
	msg := fmt.Sprintf("Logged out of %s: its stored record could not be read (%s), and was deleted", src.Env(), failure.Corruption(readErr))
	if !local && src.CanRevoke() {
		msg += "; nothing in it could be revoked at the provider, so a grant it held stays valid there until it expires, or until you remove the app's access there"
	}
	fmt.Fprintln(f.IO.ErrOut, msg+".")
	return nil
}
