package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
)

type loginOptions struct {
	f         *Factory
	NoBrowser bool
	Manual    bool
	Timeout   time.Duration
	// Yes logs in over another configuration's tokens without asking.
	Yes bool
	// TimeoutSet says --timeout was given: a device log-in then waits no
	// longer, where it otherwise waits as long as its code lasts.
	TimeoutSet bool
}

func newLoginCmd(f *Factory, runF func(*loginOptions) error) *cobra.Command {
	opts := &loginOptions{f: f}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in with your browser and store the tokens",
		Long: `Log in with the authorization-code flow (PKCE S256, a random state): your
browser opens the provider's approval page, and the answer comes back to
redirect_uri (default http://127.0.0.1:8787/callback), where freshtoken
listens on the loopback address only. The tokens are then stored and kept
fresh by every other command.

When redirect_uri is not on this machine (Postman's callback, say), use
--manual and paste the URL your browser lands on.

When a freshtoken proxy already listens at redirect_uri's address, login
logs in through it: it opens (or, with --no-browser, prints) the proxy's
own log-in link, which carries a key the proxy gives only to programs on
this computer, and succeeds once the store holds the new tokens. A proxy
serving the environment for another configuration stops it (exit 2).

With grant = "device_code" (RFC 8628; for SSH sessions and machines without
a browser), login prints a verification URL and a code to enter there on any
device, opens the URL where a browser can (not with --no-browser), and waits
until you approve (Ctrl-C stops). With grant = "client_credentials" there is
nothing to log in to: tokens are fetched with the client's own credentials.

When the store holds tokens for this name that belong to another
configuration (another client, provider, grant type or API sharing the
store), a log-in replaces them, and that configuration must then log in
again; tokens of the same client that another configuration file on this
machine logged in are shared with it, and it then uses this log-in's
account. On a terminal login asks first (default no); --yes skips the
question, and without a terminal login goes ahead after saying so.
Tokens a newer freshtoken stored are asked about in the same way, but
without a terminal login keeps them unless given --yes: upgrade
freshtoken to use them. Such tokens stored while login waits for you, up
to the moment it stores its own, are kept too (it stores nothing and exits
2), unless given --yes, which replaces them with a warning. Another
configuration's tokens stored meanwhile are kept on a terminal (exit 2;
--yes replaces them) and replaced, with a warning, without one; tokens it
may not read (a file others may read) are kept, exit 2, --yes or not. An
environment taken out of the configuration while login waits (freshtoken
remove in another terminal), or whose [store] url changes meanwhile
(freshtoken store migrate), gets no tokens: login stores nothing, exit 2.`,
		Example: `  freshtoken login -e sandbox
  freshtoken login --no-browser     # print the URL instead of opening a browser
  freshtoken login --manual         # paste the URL you land on
  freshtoken login --yes            # replace another configuration's tokens without asking`,
		Args: exactArgs(0, "no arguments"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.NoBrowser && opts.Manual {
				return usageErrorf("--manual never opens a browser (it prints the URL for you to open); drop --no-browser")
			}
			if opts.Timeout <= 0 {
				return usageErrorf("--timeout %s is too short; give how long to wait for the approval, such as 10m", opts.Timeout)
			}
			opts.TimeoutSet = cmd.Flags().Changed("timeout")
			return nil
		},
		RunE: runner(opts, runF, runLogin),
	}
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "print the authorisation URL on stderr instead of opening a browser")
	cmd.Flags().BoolVar(&opts.Manual, "manual", false, "for a redirect URI that is not on this machine: paste the URL you land on")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "replace tokens another configuration (or a newer freshtoken) stored under this name without asking")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", login.DefaultTimeout, "how long to wait for the browser log-in; a device log-in waits as long as its code lasts unless this is given")
	return cmd
}

func runLogin(ctx context.Context, opts *loginOptions) error {
	f := opts.f
	file, err := f.Config()
	if err != nil {
		return err
	}
	env, err := f.envIn(file)
	if err != nil {
		return err
	}
	src, err := f.sourceIn(ctx, file, env.Name)
	if err != nil {
		return err
	}
	warnClearText(f.IO.ErrOut, env)
	f.loggingIn(env.Name, loginArgs(opts, env.Name))
	if env.Grant == config.GrantClientCredentials {
		return runClientCredentialsLogin(ctx, opts, env.Name, src)
	}
	// A store that cannot take the tokens fails now, before the person
	// approves in the browser or on the device page; a corrupt record is
	// fine, as logging in replaces it, but a newer freshtoken's is asked
	// about, as another configuration's is.
	rec, err := src.Record(ctx)
	if err != nil && !errors.Is(err, store.ErrCorrupt) {
		return err
	}
	if err := opts.f.roomForLogin(file.StoreURL, env.Name); err != nil {
		return err
	}
	guard := &replaceGuard{opts: opts, env: env.Name, src: src, storeURL: file.StoreURL, overNewer: errors.Is(err, store.ErrNewerFormat)}
	if guard.overNewer {
		if ok, err := confirmReplaceNewer(ctx, opts, env.Name, src); !ok || err != nil {
			return err
		}
	} else if ok, err := confirmReplace(ctx, opts, env.Name, src, rec); !ok || err != nil {
		return err
	} else if rec != nil {
		guard.allow(rec)
	}
	// Tokens stored while the person approves are not replaced unasked
	// either, up to the moment the log-in's are stored (see replaceGuard).
	if env.Grant == config.GrantDeviceCode {
		return runDeviceLogin(ctx, opts, env, src, guard.check)
	}
	conf, err := src.OAuth2Config(ctx, env.RedirectURI)
	if err != nil {
		return err
	}
	ep, err := loginEndpoints(ctx, env, src)
	if err != nil {
		return err
	}
	ios, person := f.IO, io.Writer(nil)
	if opts.Manual { // it asks for the address the browser landed on
		ios = f.dialogue()
	} else {
		person = f.personAside()
	}
	flow := &login.Flow{
		Env:      env.Name,
		Config:   conf,
		Manual:   opts.Manual,
		Stdin:    ios.In,
		InTTY:    ios.InTTY,
		Stderr:   ios.ErrOut,
		Person:   person,
		Timeout:  opts.Timeout,
		Logger:   f.Logger(),
		Clock:    clock.Now,
		HTTP:     src.TokenClient(),
		Issuer:   src.Issuer(),
		Storable: func(ctx context.Context) error { return guard.check(src.Record(ctx)) },

		// What the person wrote, where a preset made token_url from it.
		TokenURLSetting: env.TokenURLSetting(),
		IssuerInAnswers: ep.IssuerInAnswers,
		ManualCommand:   manualCommand(opts, env.Name),
	}
	if !opts.NoBrowser && !opts.Manual {
		flow.OpenBrowser = f.OpenBrowser
	}
	// From the code's exchange until its answer is stored, a signal waits
	// for them, as for a renewal's: the answer spends the code.
	var (
		mu     sync.Mutex
		stored = func() {}
	)
	if f.Sending != nil {
		flow.Exchanging = func() {
			done := f.Sending(freshtoken.Renewal{Env: env.Name, TokenURL: conf.Endpoint.TokenURL, Timeout: env.Timeout, LogIn: true})
			mu.Lock()
			stored = done
			mu.Unlock()
		}
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		stored()
	}()
	res, err := flow.Run(ctx)
	if errors.Is(err, login.ErrPortBusy) {
		return opts.again(env.Name, loginThroughProxy(ctx, opts, env, src, guard, err))
	}
	if msg, rejected := login.ClientRejection(err); rejected {
		src.NoteClientRejected(ctx, msg)
	}
	if errors.Is(err, login.ErrNotLoopback) {
		manual := *opts // the log-in that reads the address landed on
		manual.Manual = true
		return manual.again(env.Name, err)
	}
	if err != nil {
		return opts.again(env.Name, err)
	}
	if err := src.SaveLoginIf(context.WithoutCancel(ctx), res.Token, res.SentAt, guard.check); err != nil {
		return opts.again(env.Name, err)
	}
	fmt.Fprintf(f.IO.ErrOut, "Logged in to %s; tokens stored in %s.\n", env.Name, src.Location())
	warnNoRefreshToken(f, env.Name, res.Token.RefreshToken, res.Token.Expiry)
	warnUnusableToken(ctx, f, env.Name, src)
	return nil
}

// again is err, a log-in of env that failed, with its last step, logging
// in again, naming this command, with the flags that shape it
// (loginArgs), for the same environment and file (see logInAgain).
func (opts *loginOptions) again(env string, err error) error {
	return opts.f.logInAgain(err, loginArgs(opts, env))
}

// logInAgain is err, a failure whose last step is logging in again (the
// words of the engine and of internal/login, which name no command),
// naming the command to run: freshtoken with args (login -e ENV and its
// flags), for the configuration file in use. Their error gives its message
// without the step; what err says around it is kept, and err is left as
// it is when it says more after it, when its step is another (before is
// ""), or when the command line has told it already.
func (f *Factory) logInAgain(err error, args string) error {
	var told interface {
		error
		LogInAgain() (before, after string)
	}
	if !errors.As(err, &told) || errors.As(err, new(*retoldError)) {
		return err
	}
	before, after := told.LogInAgain()
	around, ok := strings.CutSuffix(err.Error(), told.Error())
	if before == "" || !ok {
		return err
	}
	return &retoldError{msg: around + before + "run `" + f.commandLine(args) + "`" + after, err: err}
}

// retoldError is err told in msg, the command line's words, for its kind
// and exit code.
type retoldError struct {
	msg string
	err error
}

func (e *retoldError) Error() string { return e.msg }
func (e *retoldError) Unwrap() error { return e.err }

// replaceGuard decides whether a log-in's tokens may replace those
// stored for env, from when the person was asked at the start (see
// confirmReplace and confirmReplaceNewer) until they are stored: tokens a
// newer freshtoken, or another configuration, stored meanwhile are
// replaced as those found at the start would have been. Over a newer
// freshtoken's, --yes replaces them with a warning, and otherwise the
// log-in ends, nothing stored (exit 2). Over another configuration's
// tokens it is the same on a terminal, where the person would have been
// asked, and without a terminal, where a log-in goes ahead over them
// after saying so, it does so. Tokens it may not read (a record file others
// may read) stop it, --yes or not, as they stop a log-in as it begins.
type replaceGuard struct {
	opts      *loginOptions
	env       string
	src       *freshtoken.Source
	storeURL  string        // [store] url as the log-in began, where src stores
	overNewer bool          // a newer freshtoken's tokens may be replaced
	others    []store.Grant // so may these other configurations' tokens
	// otherFiles are the other configuration files on this machine whose
	// log-ins of this configuration's grant may be replaced too.
	otherFiles []string
}

// allow lets the log-in replace rec's tokens, if another configuration's
// (see othersTokens).
func (g *replaceGuard) allow(rec *store.Record) {
	if g.src.CheckGrant(rec) != nil {
		g.others = append(g.others, rec.Grant)
	} else if other := rec.LoggedInWith.OtherThan(g.src.ConfigFile()); other != "" {
		g.otherFiles = append(g.otherFiles, other)
	}
}

// allows reports whether the log-in may replace rec's tokens unasked:
// this configuration's own, or another's that allow let it replace.
func (g *replaceGuard) allows(rec *store.Record) bool {
	if g.src.CheckGrant(rec) != nil {
		return slices.Contains(g.others, rec.Grant)
	}
	other := rec.LoggedInWith.OtherThan(g.src.ConfigFile())
	return other == "" || slices.Contains(g.otherFiles, other)
}

// roomForLogin is why the store at storeURL could not store env's first
// tokens now (see configedit.LogInRoom), said before the person approves.
func (f *Factory) roomForLogin(storeURL, env string) error {
	if err := configedit.LogInRoom(storeURL, env); err != nil {
		return fmt.Errorf("%s: %w, then run `%s`", env, err, f.commandLine("login -e "+env))
	}
	return nil
}

// check is a freshtoken.LoginCheck: asked before the code is sent, and
// again under the renewal lock as the tokens are stored. The log-in's
// tokens replace this configuration's own, renewed or not meanwhile, and
// are not stored once the file no longer has them stored where the log-in
// began (see configChanged).
func (g *replaceGuard) check(rec *store.Record, err error) error {
	f := g.opts.f
	if changed, next := g.configChanged(); changed != "" {
		return usageErrorf("%s: %s while this log-in was under way, so it stored nothing; %s", g.env, changed, next)
	}
	again := "`" + replaceCommand(g.opts, g.env) + "`"
	switch {
	case errors.Is(err, store.ErrNewerFormat) && !g.overNewer:
		if !g.opts.Yes {
			return &login.NewerMeanwhileError{Env: g.env, Replace: again}
		}
		warnReplacingNewer(f, g.env, g.src)
		g.overNewer = true // said once
	case err == nil && rec != nil && !g.allows(rec):
		theirs := login.Whose(rec, g.src.ConfigFile())
		if !g.opts.Yes && f.IO.InTTY {
			return &login.NewerMeanwhileError{Env: g.env, Replace: again, Other: theirs, Where: g.src.Location()}
		}
		fmt.Fprintf(f.IO.ErrOut, "freshtoken: %s: warning: tokens of %s (another configuration's) were stored for %s in %s while this log-in was under way; this log-in replaces them once it succeeds, and %s\n",
			g.env, theirs, g.env, g.src.Location(), afterReplacing(g.src, rec))
		g.allow(rec) // said once
	default:
		return login.UnreadableMeanwhile(g.env, g.src.Location(), err) // --yes or not, as at the start
	}
	return nil
}

// configChanged says how the configuration file no longer has the log-in
// store where it began, and what to do then (see Factory.storeChanged).
func (g *replaceGuard) configChanged() (changed, next string) {
	f := g.opts.f
	changed, removed := f.storeChanged(g.env, g.storeURL)
	switch {
	case removed:
		return changed, "run `" + f.commandLine("init -e "+g.env) + "` to add it again, then log in"
	case changed != "":
		return changed, "run `" + f.commandLine(loginArgs(g.opts, g.env)) + "` again"
	}
	return "", ""
}

// storeChanged says how the configuration file no longer has env's tokens
// in the store storeURL names, as it did when a command began: env taken
// out of it (`freshtoken remove` in another terminal; removed is then
// true), or its [store] url changed (`freshtoken store migrate`, or an
// edit), so that what the command does in that store misses the tokens.
// "" while it does, or when the file cannot be read (the next command
// tells of its mistake).
func (f *Factory) storeChanged(env, storeURL string) (changed string, removed bool) {
	path, err := f.ConfigPath()
	if err != nil {
		return "", false
	}
	conf, err := config.Load(path)
	switch {
	case err != nil:
		return "", false
	case conf.Envs[env] == nil:
		return fmt.Sprintf("%s was taken out of %s", env, path), true
	}
	return storeURLChanged(path, conf.StoreURL, storeURL), false
}

// storeURLChanged says how [store] url in the configuration file at path,
// nowURL, no longer names the store storeURL names: "" while it does,
// however either is spelled (a Redis URL with its /0 or without, its host
// in capitals, a folder by a link or a bind mount: configedit.SameStore).
func storeURLChanged(path, nowURL, storeURL string) string {
	if nowURL == storeURL || configedit.SameStore(nowURL, storeURL) {
		return ""
	}
	return fmt.Sprintf("[store] url in %s was changed (by `freshtoken store migrate`, or an edit) to %s", path, shownStore(nowURL))
}

// manualCommand is this log-in as a command line run with --manual, what
// to run where no browser opens.
func manualCommand(opts *loginOptions, env string) string {
	manual := *opts
	manual.Manual, manual.NoBrowser = true, false
	return opts.f.commandLine(loginArgs(&manual, env))
}

// loginArgs are the arguments of this log-in, as a command to run again:
// every flag that shapes it, --yes aside.
func loginArgs(opts *loginOptions, env string) string {
	args := "login"
	switch {
	case opts.Manual:
		args += " --manual"
	case opts.NoBrowser:
		args += " --no-browser"
	}
	if opts.TimeoutSet {
		args += " --timeout " + flagDuration(opts.Timeout)
	}
	return args + " -e " + env
}

// replaceCommand is this log-in as a command that replaces the tokens
// stored without asking.
func replaceCommand(opts *loginOptions, env string) string {
	return opts.f.commandLine(loginArgs(opts, env) + " --yes")
}

// flagDuration is d as a flag takes it, without the zero units
// time.Duration's String ends with: 10m, not 10m0s.
func flagDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// loginEndpoints are the endpoints src knows, discovering them if need
// be, or env.MissingLoginEndpoint for them.
func loginEndpoints(ctx context.Context, env *config.Env, src *freshtoken.Source) (freshtoken.Endpoints, error) {
	ep, err := src.Endpoints(ctx)
	if err != nil {
		return ep, err
	}
	return ep, env.MissingLoginEndpoint(ep)
}

// warnNoRefreshToken says, after a log-in whose answer held no refresh
// token for an access token that expires, that freshtoken cannot renew it
// and when it ends: providers such as Xero and Microsoft issue one only to
// a log-in that asks for it, and without a word the person learned of it
// an hour later, from a failed command. (An access token of no stated
// lifetime and no refresh token, as GitHub's OAuth apps issue, lasts until
// it is revoked.)
func warnNoRefreshToken(f *Factory, env, refreshToken string, expiry time.Time) {
	if refreshToken != "" || expiry.IsZero() {
		return
	}
	f.warn(fmt.Sprintf("%s: warning: the provider issued no refresh token, so freshtoken cannot renew this log-in: it ends when the access token expires (in %s, %s); if the provider issues one when asked (most want the scope offline_access in scopes), ask for it and run `%s` again",
		env, human(max(expiry.Sub(clock.Now()), 0)), expiry.Local().Format("2006-01-02 15:04:05 MST"), f.commandLine("login -e "+env)))
}

// warnUnusableToken warns when the log-in just stored brought an access
// token that no command can use (control characters in it, or bound to a
// key): it said "Logged in", and status "logged in: yes", while every
// command then failed.
func warnUnusableToken(ctx context.Context, f *Factory, env string, src *freshtoken.Source) {
	rec, err := src.Record(ctx)
	if err != nil || rec == nil {
		return
	}
	var e *freshtoken.Error
	if err := src.Unusable(rec); errors.As(err, &e) {
		f.warn(fmt.Sprintf("%s: warning: %s; no command can use it: run `%s` for another, and tell the provider if it happens again",
			env, e.Msg, f.commandLine("token --force -e "+env)))
	}
}

// warnClearText warns, in one line, of e's endpoints on another machine
// that are plain http: the client secret, the codes and the tokens cross
// the network there where anyone on the way can read them. (Discovery and
// issuer refuse this; an address written by hand, such as an identity
// provider on a home network, is the person's to choose.)
func warnClearText(w io.Writer, e *config.Env) {
	var keys []string
	for _, u := range []struct{ key, url string }{
		{"api_url", e.APIURL}, {"auth_url", e.AuthURL}, {"token_url", e.TokenURL},
		{"revocation_url", e.RevocationURL}, {"device_auth_url", e.DeviceAuthURL},
	} {
		if p, err := url.Parse(u.url); err == nil && strings.EqualFold(p.Scheme, "http") && !httpx.IsLoopback(p.Hostname()) {
			keys = append(keys, u.key+" "+redact.OneLine(p.Scheme+"://"+p.Host+p.Path, 120))
		}
	}
	verb := "are"
	switch len(keys) {
	case 0:
		return
	case 1:
		verb = "is"
	}
	fmt.Fprintf(w, "freshtoken: %s: warning: %s %s plain http to another machine, where anyone on the way can read the client secret and the tokens; use the provider's https address\n",
		e.Name, strings.Join(keys, ", "), verb)
}

// confirmReplace is asked before a log-in sends anything: when rec, the
// record stored for env, holds another configuration's tokens (see
// othersTokens), a log-in that succeeds replaces them: a configuration of
// another grant loses its refresh token, and one of the same grant (another
// configuration file on this machine sharing the store) then uses the
// account this log-in chooses. On a terminal, without --yes, it asks
// first, default no: no ends the log-in (ok false, err nil: exit 0, as
// remove declined), nothing sent, nothing changed. Otherwise it says so in
// one line and goes on, as a script's log-in always did.
func confirmReplace(ctx context.Context, opts *loginOptions, env string, src *freshtoken.Source, rec *store.Record) (ok bool, err error) {
	if rec == nil || !othersTokens(src, rec) {
		return true, nil
	}
	f := opts.f
	whose := fmt.Sprintf("tokens stored for %s in %s belong to %s (another configuration's, or this one's before a change), not to this configuration's %s",
		env, src.Location(), rec.Grant, src.OwnGrant())
	if src.CheckGrant(rec) == nil { // this grant's, of another file's log-in
		ours := src.ConfigFile().Path // as the record names files: absolute, links resolved
		if ours == "" {
			ours, _ = f.ConfigPath()
		}
		whose = fmt.Sprintf("tokens stored for %s in %s were logged in with %s, not with this configuration (%s): the two share them, as both configure %s",
			env, src.Location(), rec.LoggedInWith.OtherThan(src.ConfigFile()), ours, rec.Grant)
	}
	after := afterReplacing(src, rec)
	if opts.Yes || !f.IO.InTTY {
		fmt.Fprintf(f.IO.ErrOut, "freshtoken: %s: warning: the %s; this log-in replaces them once it succeeds, and %s\n", env, whose, after)
		return true, nil
	}
	return askReplace(ctx, f, fmt.Sprintf("The %s; %s. Log in and replace them?", whose, after),
		"the other configuration's tokens are kept. Give this configuration a store of its own ([store] url), or run `%s` to replace them.", replaceCommand(opts, env))
}

// othersTokens reports whether rec holds another configuration's tokens,
// which a log-in replaces only as the person agrees: another client's,
// provider's, grant type's or API's (CheckGrant refuses them), or of the
// same grant but logged in with another configuration file on this
// machine (store.ConfigFile.OtherThan), which uses them too.
func othersTokens(src *freshtoken.Source, rec *store.Record) bool {
	return src.CheckGrant(rec) != nil || rec.LoggedInWith.OtherThan(src.ConfigFile()) != ""
}

// afterReplacing says what a log-in replacing rec, othersTokens', does to
// the configuration whose tokens they are.
func afterReplacing(src *freshtoken.Source, rec *store.Record) string {
	if src.CheckGrant(rec) == nil {
		return rec.LoggedInWith.OtherThan(src.ConfigFile()) + " will then use the account this log-in chooses"
	}
	return "that configuration will have to log in again"
}

// confirmReplaceNewer is confirmReplace for a record a newer freshtoken
// wrote (store.ErrNewerFormat): that version can use its grant, which this
// one can neither read nor revoke, and a log-in here ends it. On a
// terminal, without --yes, it asks first, default no; with --yes it says
// so in one line and goes on; without a terminal it refuses (exit 2),
// nothing sent, as logout and remove refuse such a record: a script of an
// older freshtoken never ends a newer one's grant unasked.
func confirmReplaceNewer(ctx context.Context, opts *loginOptions, env string, src *freshtoken.Source) (ok bool, err error) {
	f := opts.f
	what := newerTokens(env, src)
	switch {
	case opts.Yes:
		warnReplacingNewer(f, env, src)
		return true, nil
	case !f.IO.InTTY:
		return false, usageErrorf("%s: the %s; nothing was sent and nothing changed: upgrade freshtoken to use them, or run `%s` to replace them",
			env, what, replaceCommand(opts, env))
	}
	return askReplace(ctx, f, "The "+what+"; the newer freshtoken will have to log in again. Log in and replace them?",
		"the newer freshtoken's tokens are kept. Upgrade freshtoken to use them, or run `%s` to replace them.", replaceCommand(opts, env))
}

// newerTokens says that the tokens stored for env in src were written by a
// newer freshtoken.
func newerTokens(env string, src *freshtoken.Source) string {
	return fmt.Sprintf("tokens stored for %s in %s were written by a newer freshtoken, which can use them and this one cannot read", env, src.Location())
}

// warnReplacingNewer is --yes's warning over a newer freshtoken's tokens.
func warnReplacingNewer(f *Factory, env string, src *freshtoken.Source) {
	fmt.Fprintf(f.IO.ErrOut, "freshtoken: %s: warning: the %s; this log-in replaces them once it succeeds, and the newer freshtoken will have to log in again\n", env, newerTokens(env, src))
}

// askReplace asks question at the terminal, default no; no says that
// nothing was sent and what was kept (kept, with %s replace, the command
// that replaces them without asking), and ends the log-in with exit 0.
func askReplace(ctx context.Context, f *Factory, question, kept, replace string) (ok bool, err error) {
	yes, err := f.askYesNo(ctx, question)
	if err != nil || !yes {
		if err == nil {
			fmt.Fprintf(f.IO.ErrOut, "Nothing was sent and nothing changed: "+kept+"\n", replace)
		}
		return false, err
	}
	return true, nil
}
