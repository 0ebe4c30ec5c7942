package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/await"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/keeper"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/postman"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

func newImportCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Bring environments and tokens over from another tool",
		Long: `Create environments, with their tokens, from what another tool kept, so that
they work at once, with no browser log-in.`,
		Example: `  freshtoken import postman FreeAgent.postman_environment.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("freshtoken cannot import from %s; it can import: postman", shownChoice(args[0], []string{"postman"}))
			}
			return nil
		},
		RunE: showHelp,
	}
	cmd.AddCommand(newImportPostmanCmd(f, nil))
	return cmd
}

type importPostmanOptions struct {
	f               *Factory
	File            string
	Force           bool
	ClientSecretEnv string
	// ClientSecretKeyring puts the export's client secret into the system
	// keychain instead of the configuration file.
	ClientSecretKeyring bool
}

func newImportPostmanCmd(f *Factory, runF func(*importPostmanOptions) error) *cobra.Command {
	opts := &importPostmanOptions{f: f}
	cmd := &cobra.Command{
		Use:   "postman FILE",
		Short: "Import a Postman environment export (FreeAgent settings and tokens)",
		Long: `Read a Postman environment export (in Postman: Environments, ⋯, Export) and
create a FreeAgent environment for what it holds, with its tokens stored, so
that the very next command works without logging in again. FILE - reads the
export from stdin, piped in (not a terminal, where it would show its secrets).

Two layouts are understood. The seed layout keeps ClientId and ClientSecret
once, and Resource_<key>, RefreshToken_<key>, AccessToken_<key>,
AccessTokenIss_<key> and AccessTokenExp_<key> for each key: each key becomes
an environment of that name (sand, prod, …), and -e KEY imports only that
one. The common layout keeps url, client_id, client_secret, refresh_token and
access_token: it becomes one environment, named by -e or after the Postman
environment. The API's address comes from Resource_<key> or url. Disabled
values are ignored.

The client secret is written into the configuration file (readable by you
alone) unless --client-secret-env names an environment variable to read it
from instead, or --client-secret-keyring puts it into the system keychain.
An environment that already exists is replaced only with --force, which
takes the provider, api_url and client_id from the export, drops the old
provider's endpoints (auth_url, token_url, revocation_url, issuer,
device_auth_url), grant, and a client_auth that sends no secret (none,
private_key_jwt, with its key), and keeps the rest of its settings
(redirect_uri, scopes, client_auth, refresh_before, timeout) and where its
client secret comes from: a secret read from a variable or a command is
not written into the file (for another client id than the environment's,
only when it gives the export's secret; otherwise the import is refused:
pass --client-secret-env or --client-secret-keyring), and one in the
system keychain stays there (the export's is put there if the keychain
holds none for the export's client). An environment of another provider
(xero, google, …) is not replaced: remove it first. Tokens renewed since
the export was made are kept, as that renewal spent the export's refresh
token (logout --local first to store the export's anyway).

A malformed export changes nothing. Every environment's token store is
checked before anything is written; should storing the tokens still fail
partway, the tokens already written are put back as they were (unless
renewed meanwhile, by a running proxy say: those are newer, and kept), and
so are those of the write that failed if the store holds them all the
same (a Redis or keychain that took them after the import stopped waiting,
at Ctrl-C or for want of an answer; one that cannot be asked is said to
perhaps hold them), so are the client secrets in the system keychain (one
put where it held none is removed), the configuration file is left
unchanged, and the error says so.

A configuration without default_env gets one, naming the environment that
commands without -e use: the one Postman's ResourceKey names, else the
sandbox; but a configuration of one environment keeps that one, which such
commands already use, and the import says so. A default_env already there
is left alone (init -e NAME --default changes it).

Export after the last renewal Postman's script makes, and send nothing from
Postman until it goes through the proxy: a renewal Postman makes after the
export spends the export's refresh token, which freshtoken's first renewal
then presents, and FreeAgent may end the authorisation. The import cannot
tell such an export: the file holds no trace of it. Safest: remove the
script, then export. Once imported, let freshtoken alone renew the tokens:
remove the pre-request script that renews them from Postman, or Postman will
present a refresh token freshtoken has already replaced, with the same end.`,
		Example: `  freshtoken import postman FreeAgent.postman_environment.json
  freshtoken import postman FreeAgent.postman_environment.json -e sand --force
  freshtoken import postman sandbox.json -e sandbox --client-secret-env FREEAGENT_SECRET
  freshtoken import postman FreeAgent.postman_environment.json --client-secret-keyring
  freshtoken -e sand get /v2/company`,
		Args: exactArgs(1, "the exported FILE"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if err := checkSecretEnvFlag(opts.ClientSecretEnv); err != nil {
				return err
			}
			if opts.ClientSecretEnv != "" && opts.ClientSecretKeyring {
				return usageErrorf("--client-secret-env and --client-secret-keyring cannot be used together: choose one place for the client secret")
			}
			return nil
		},
		RunE: runner(opts, runF, runImportPostman),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace environments that already exist, and their tokens (also tokens another configuration stored under the same name)")
	cmd.Flags().StringVar(&opts.ClientSecretEnv, "client-secret-env", "", "read the client secret from this environment variable instead of storing it")
	cmd.Flags().BoolVar(&opts.ClientSecretKeyring, "client-secret-keyring", false, "keep the export's client secret in the system keychain, not in the configuration file")
	return cmd
}

func runImportPostman(ctx context.Context, opts *importPostmanOptions) error {
	f := opts.f
	if f.EnvFlag != "" {
		if err := badEnvName(f.EnvFlag); err != nil {
			return usageErrorf("-e %s cannot name an environment: %v; nothing was imported", redact.Name(f.EnvFlag), err)
		}
	}
	if opts.File == "-" && f.IO.InTTY {
		// Nothing piped in: an export pasted there would show its client
		// secret and refresh tokens on the screen, and a mistaken - waited
		// without a word.
		return usageErrorf("- reads the export from standard input, and standard input is a terminal, where an export pasted would show its client secret and tokens: pipe it in (%s), or give the export's path; nothing was imported",
			f.commandLine("import postman - < FILE"))
	}
	exp, err := await.Result(ctx, func() (*postman.Export, error) {
		if opts.File == "-" {
			return postman.Read(f.IO.In)
		}
		return postman.ReadFile(opts.File)
	})
	switch {
	case errors.Is(err, fs.ErrNotExist) && opts.File != "-":
		where := ""
		if wd, err := os.Getwd(); err == nil && !filepath.IsAbs(opts.File) {
			where = " in " + wd
		}
		return usageErrorf("%s does not exist%s; give the path of the file Postman exported (Environments, ⋯, Export), such as ~/Downloads/%s; nothing was imported",
			opts.File, where, filepath.Base(opts.File))
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, errHungUp): // the terminal closed: told as its SIGHUP, as -d @- is
		return fmt.Errorf("%s: %w; nothing was imported", opts.source(), err)
	case err != nil && opts.File != "-" && isFolder(opts.File):
		return usageErrorf("%s is a folder; give the path of the file Postman exported (Environments, ⋯, Export), or - to read it from stdin; nothing was imported", opts.File)
	case err != nil:
		return usageErrorf("%s: %v; nothing was imported", opts.source(), err)
	}
	envs, skipped, err := chooseImported(exp, f.EnvFlag, opts.source())
	if err != nil {
		return err
	}
	conf, err := f.Config()
	if err != nil {
		return err
	}
	// An export an older freshtoken imported under a name with a '-' or
	// '_' first ("--sandbox") is imported again under that name, as it
	// was then, not beside it under a new one with the same grant.
	if exp.Layout == postman.Common && f.EnvFlag == "" {
		_, configured := conf.Settings[envs[0].Name]
		former := postman.FormerEnvName(exp.Name)
		if _, was := conf.Settings[former]; was && !configured {
			envs[0].Name = former
		}
	}
	// Only -e can give a new name a '-' or '_' first: postman makes the
	// export's name and its keys' start with a letter or digit.
	for _, e := range envs {
		check := newEnvName
		if e.Name == f.EnvFlag {
			check = typedEnvName
		}
		if err := check(conf, e.Name); err != nil {
			return usageErrorf("-e %s cannot name a new environment: %v; give a name such as sandbox after -e; nothing was imported", redact.Name(e.Name), err)
		}
	}
	path := conf.Path
	var clash []string
	for _, e := range envs {
		if _, ok := conf.Envs[e.Name]; ok && !opts.Force {
			clash = append(clash, e.Name)
		}
	}
	if len(clash) > 0 {
		verb, them := "exists", "it"
		if len(clash) > 1 {
			verb, them = "exist", "them"
		}
		return usageErrorf("%s already %s in %s; pass --force to replace %s with the import, tokens included; nothing was imported",
			plural(clash, "environment"), verb, path, them)
	}
	settings := make([]config.EnvSettings, len(envs))
	unchecked := make([]string, len(envs)) // the old client of a kept secret source the export cannot check
	for i, e := range envs {
		var prev *config.EnvSettings
		if p, ok := conf.Settings[e.Name]; ok {
			prev = &p
			// Another provider's settings kept under FreeAgent's would make
			// an environment of neither (init refuses the same). A generic
			// one may be FreeAgent's, configured by hand.
			switch was := strings.TrimSpace(p.Provider); was {
			case "", "generic", "freeagent", "freeagent-sandbox":
			default:
				return usageErrorf("environment %q is configured for provider %s (client %s); --force would mix its settings (scopes, client secret, …) into a FreeAgent environment: take it out first with `%s`, then import again; nothing was imported",
					e.Name, was, strings.TrimSpace(p.ClientID), f.commandLine("remove -e "+e.Name))
			}
		}
		settings[i] = importSettings(e, prev, opts.ClientSecretEnv, opts.ClientSecretKeyring)
		s := settings[i]
		if opts.ClientSecretEnv == "" && !opts.ClientSecretKeyring { // a source the flags name is the user's word
			if unchecked[i], err = keptSecretFits(ctx, f, e, prev, s, opts.source()); err != nil {
				return err
			}
		}
		if opts.ClientSecretKeyring && e.ClientSecret == "" {
			return usageErrorf("%s has no client secret for %s to put into the keychain; nothing was imported", opts.source(), e.Name)
		}
		if s.ClientSecret == "" && s.ClientSecretEnv == "" && s.ClientSecretCmd == "" && !s.ClientSecretKeyring {
			return usageErrorf("%s has no client secret for %s; pass --client-secret-env NAME to read it from an environment variable; nothing was imported", opts.source(), e.Name)
		}
	}

	// The environments' stores are opened from the configuration as it will
	// be, with nothing written; the configuration itself gets them last, in
	// one edit of what it holds then, so that an edit made meanwhile (init,
	// another import) is kept.
	named := make([]configedit.NamedEnv, len(envs))
	for i, e := range envs {
		named[i] = configedit.NamedEnv{Name: e.Name, Settings: settings[i]}
	}
	def := defaultImported(envs, settings)
	kept := keptDefault(conf, envs, settings)
	if kept != "" {
		def = kept
	}
	preview, err := configedit.PreviewEnvs(path, named, def)
	if err != nil {
		return fmt.Errorf("%w; nothing was imported", err)
	}

	// Check every environment's store before writing any: a problem found
	// now changes nothing. What each held before is kept, to be put back if
	// a write fails all the same.
	targets := make([]importTarget, len(envs))
	st, err := config.OpenStore(preview.StoreURL)
	if err != nil {
		return usageErrorf("%s: token store: %v; nothing was imported", path, err)
	}
	for i, e := range envs {
		src, err := preview.Open(ctx, config.OpenOptions{Env: e.Name, Logger: f.Logger(), Clock: clock.Now, Sending: f.Sending})
		if err != nil {
			return fmt.Errorf("%w; nothing was imported", err)
		}
		t := importTarget{env: e, src: src, st: st, force: opts.Force}
		if was := conf.Envs[e.Name]; was != nil {
			t.tokenFile = was.TokenFile
		}
		t.prev, err = src.Record(ctx)
		switch {
		case errors.Is(err, store.ErrCorrupt):
			// Unreadable tokens are replaced, as a log-in would; they
			// cannot be put back, but they were of no use.
			t.prevUnreadable = true
		case err != nil:
			return fmt.Errorf("%s: the tokens cannot be stored: %w; nothing was imported", e.Name, err)
		case t.prev != nil && !opts.Force && othersImport(src, t.prev, e):
			// Not this configuration's (it has no such environment, or the
			// clash above would have stopped the import; or another
			// configuration file logged in with them): another
			// configuration sharing the store is logged in with them.
			return fmt.Errorf("%w; nothing was imported", anotherConfigurations(src, e.Name, t.prev))
		}
		targets[i] = t
	}

	// The export's client secret goes into the keychain with
	// --client-secret-keyring, and for an environment replaced with --force
	// that keeps reading its secret there when the keychain holds none for
	// the export's client at its provider (another client, or another
	// API's): kept out, the first renewal failed for want of it.
	// A keychain that cannot be asked (none, locked, gone) stops the import
	// with nothing written: it went on, said it was done, and the first
	// renewal found no secret for the export's client.
	keychained := make([]bool, len(envs))
	for i, e := range envs {
		switch {
		case opts.ClientSecretKeyring:
			keychained[i] = true
		case settings[i].ClientSecretKeyring && e.ClientSecret != "":
			pe := preview.Envs[e.Name]
			held, err := pe.KeychainHoldsClientSecret(ctx)
			if err != nil {
				err = keyringstore.WithFix(err, "or import with --client-secret-env NAME, to read the client secret from an environment variable")
				return fmt.Errorf("%s: it keeps its client secret in the system keychain, which could not be asked whether it holds one for client %s: %w; nothing was imported",
					e.Name, strings.TrimSpace(e.ClientID), err)
			}
			keychained[i] = !held
		}
	}
	var replaced []keychainSecret // put back if the import fails
	for i, e := range envs {
		if keychained[i] {
			pe := preview.Envs[e.Name]
			old, had, err := pe.KeychainClientSecret(ctx)
			if err == nil {
				err = pe.KeepClientSecret(ctx, e.ClientSecret)
			}
			if err != nil {
				if opts.ClientSecretKeyring { // the other way, as this command's flag
					err = keyringstore.WithFix(err, "or import with --client-secret-env NAME in place of --client-secret-keyring, to read the secret from an environment variable")
				}
				done := f.puttingBack("the client secrets the keychain held", "the keychain may hold the export's client secret in their place")
				lost, causes := putSecretsBack(ctx, replaced)
				done()
				if len(lost) > 0 {
					return fmt.Errorf("%s: the client secret could not be kept in the keychain: %w; nothing was imported, but the keychain holds the export's client secret for %s, where it could not be put back as it was (%s)",
						e.Name, err, strings.Join(lost, ", "), strings.Join(causes, "; "))
				}
				return fmt.Errorf("%s: the client secret could not be kept in the keychain: %w; nothing was imported", e.Name, err)
			}
			if !had || old != e.ClientSecret {
				replaced = append(replaced, keychainSecret{pe, old, had})
			}
		}
	}

	now := clock.Now()
	stored := make([]string, len(envs))
	held := make([]bool, len(envs))
	for i := range targets {
		targets[i].untouched = keepsStored(targets[i].src, targets[i].prev, targets[i].env)
		imported := f.importingTokens(importLeft(targets[:i], replaced))
		stored[i], held[i], err = importTokens(ctx, &targets[i], now)
		imported()
		if err != nil {
			what := fmt.Sprintf("the tokens of %s could not be stored (%v)", targets[i].env.Name, storeCause(err))
			if ctx.Err() != nil { // a signal: the store is not at fault
				what = fmt.Sprintf("the import stopped while the tokens of %s were being stored", targets[i].env.Name)
			}
			written := targets[:i]
			if mayTakeLate(preview.StoreURL) && (ctx.Err() != nil || errors.Is(err, store.ErrUnreachable)) {
				// The write may have been taken all the same: Redis may
				// take a write it never answered, or answered after the
				// signal, and the keychain one freshtoken gave up waiting
				// for (see mayTakeLate). It is put back too, if the store
				// holds what it wrote. A store that refused it holds
				// what it held, and so does a folder, which finishes a
				// write or fails it before it returns.
				targets[i].unsure = true
				written = targets[:i+1]
			}
			return importFailed(ctx, f, what, err, written, replaced)
		}
	}
	if _, err := configedit.WriteEnvs(path, named, def); err != nil {
		return importFailed(ctx, f, fmt.Sprintf("the configuration could not be written to %s (%v)", path, err), err, targets, replaced)
	}
	printImported(f, opts, exp, envs, skipped, settings, keychained, unchecked, stored, held, path)
	if kept != "" {
		next := defaultImported(envs, settings)
		fmt.Fprintf(f.IO.ErrOut, "%s stays the default environment, as the only one before: commands without -e still use it (default_env in %s); `%s` makes %s the default.\n",
			kept, path, f.commandLine("init -e "+next+" --default"), next)
	}
	return nil
}

// keptDefault is the environment to keep as the default when the
// configuration has no default_env and one environment: commands without
// -e use that one, the only one, and keep using it, whether the import
// leaves it alone or replaces it (--force) with the export's of that
// name. One the import brings made the default, they reached it instead
// (the export's production, beside a sandbox left by remove). "" when
// the import would make that one the default anyway.
func keptDefault(conf *config.File, envs []postman.Env, settings []config.EnvSettings) string {
	if conf.DefaultEnv != "" || len(conf.Envs) != 1 {
		return ""
	}
	if only := conf.Names()[0]; only != defaultImported(envs, settings) {
		return only
	}
	return ""
}

// mayTakeLate reports whether the store at storeURL may take a write after
// freshtoken gave up waiting for its answer (a signal, or none in time):
// Redis, across the network, and the system keychain, whose calls are
// abandoned, not stopped (its library takes no context); not a folder.
func mayTakeLate(storeURL string) bool {
	_, err := config.StoreDir(storeURL)
	return err != nil
}

// isFolder reports whether path is a folder.
func isFolder(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// source names where the export was read from in messages: its file, or
// standard input for -.
func (o *importPostmanOptions) source() string {
	if o.File == "-" {
		return "standard input"
	}
	return o.File
}

// importTarget is one environment being imported, with the tokens it had.
type importTarget struct {
	env            postman.Env
	src            *freshtoken.Source
	st             store.Store   // src's store, where prev is put back as it was
	prev           *store.Record // nil: it had none, or none readable
	prevUnreadable bool
	// untouched: the import kept the stored tokens (keepsStored), so there
	// is nothing to put back; put back all the same, they replaced any a
	// renewal had stored since, whose refresh token had spent theirs.
	untouched bool
	// wrote is what the import stored: its tokens and log-in time, nil
	// when it deleted the environment's tokens (the export has none).
	wrote *store.Record
	// tokenFile is the environment's token_file in the configuration as
	// it was ("": none), which a failed import leaves so: a keeper (a
	// running proxy's) may have written the import's access token there.
	tokenFile string
	// force: another configuration's tokens stored under env's name are
	// replaced (--force).
	force bool
	// unsure: the write of wrote failed, and may have been taken all the
	// same (a store that took it after freshtoken stopped waiting: see
	// mayTakeLate): the store holds wrote, or prev as it was (see
	// restoreTokens).
	unsure bool
}

// errUntouched is a put-back not needed: the import's write failed, and
// the store holds what it held before, which it never replaced.
var errUntouched = errors.New("the import's write was not taken")

// holdsPrev reports whether cur (nil: the store holds none; unreadable:
// it holds one that cannot be read) is still what t held before the
// import.
func (t importTarget) holdsPrev(cur *store.Record, unreadable bool) bool {
	switch {
	case t.prevUnreadable || unreadable:
		return t.prevUnreadable && unreadable
	case t.prev == nil || cur == nil:
		return t.prev == nil && cur == nil
	}
	return store.Unchanged(cur, t.prev)
}

// errChangedSince is a put-back not made: the environment's tokens changed
// after the import stored them (a running proxy renewed them, a log-in
// replaced them), and the newer ones are kept.
var errChangedSince = errors.New("the tokens changed after the import stored them")

// holdsWhatItWrote reports whether cur (nil: the store holds none) is
// still what the import stored for t: not renewed (a renewal counts
// itself, and brings a new access token) nor replaced by a log-in.
func (t importTarget) holdsWhatItWrote(cur *store.Record) bool {
	if t.wrote == nil || cur == nil {
		return t.wrote == nil && cur == nil
	}
	return cur.Renewals == 0 && cur.LoggedInAt.Equal(t.wrote.LoggedInAt) &&
		cur.AccessToken == t.wrote.AccessToken && cur.RefreshToken == t.wrote.RefreshToken
}

// followTokenFile has t's token file follow the tokens put back: a
// keeper (a running proxy's) may have written there the access token the
// import stored, which it held until that keeper's next look, or for good
// with none running. It then holds the access token put back, or none
// (none put back, or of a grant the provider ended, which no command
// serves), for env of this configuration (owner).
func (t importTarget) followTokenFile(ctx context.Context, owner keeper.Owner) error {
	if t.wrote == nil {
		return nil
	}
	now, expires := "", time.Time{}
	if t.prev != nil && (t.prev.Problem == nil || t.prev.Problem.Kind != store.ProblemGrantEnded) {
		now, expires = t.prev.AccessToken, t.prev.Expiry
	}
	return keeper.FollowTokenFile(ctx, t.tokenFile, t.wrote.AccessToken, now, configfile.TokenFileLedger(), owner, expires)
}

// keychainSecret is the client secret the keychain held for env's client
// before the import put the export's in its place.
type keychainSecret struct {
	env *config.Env
	old string
	had bool // false: the keychain held none, and the export's is removed
}

// importLeft is what an import abandoned (a second Ctrl-C) while it
// stores the tokens of the environment after written leaves as it is,
// not put back: the tokens it stored for written (in place of any they
// had), those it removed (the export has none), and the export's client
// secret it kept in the keychain; "" if nothing.
func importLeft(written []importTarget, secrets []keychainSecret) string {
	var tokens, removed, kept []string
	for _, t := range written {
		switch {
		case t.untouched:
		case t.wrote != nil:
			tokens = append(tokens, t.env.Name)
		case t.prev != nil:
			removed = append(removed, t.env.Name)
		}
	}
	for _, k := range secrets {
		kept = append(kept, k.env.Name)
	}
	var left []string
	if len(tokens) > 0 {
		left = append(left, "the tokens of "+strings.Join(tokens, ", ")+" are the export's")
	}
	if len(removed) > 0 {
		those := "the tokens"
		if len(left) > 0 {
			those = "those"
		}
		left = append(left, those+" of "+strings.Join(removed, ", ")+" are removed")
	}
	if len(kept) > 0 {
		left = append(left, "the keychain holds the export's client secret for "+strings.Join(kept, ", "))
	}
	if len(left) == 0 {
		return ""
	}
	return strings.Join(left, ", and ") + ", not put back as they were"
}

// importFailed puts back the tokens of the environments already written,
// and the client secrets the keychain held, and says exactly where that
// leaves things. The configuration file itself is never changed by a
// failed import.
func importFailed(ctx context.Context, f *Factory, what string, cause error, written []importTarget, secrets []keychainSecret) error {
	// Put back even after a signal, which stopped the import: a signal
	// that cancelled the putting back left the export's tokens stored
	// for environments the configuration does not name, in place of any
	// tokens they had. A second Ctrl-C waits for it too.
	ctx = f.storeWarnings(context.WithoutCancel(ctx))
	if len(written) > 0 || len(secrets) > 0 {
		defer f.puttingBack("what the failed import replaced",
			fmt.Sprintf("the export's tokens may be stored in place of the earlier ones, and its client secret in the keychain: import again, or run `%s` for each environment it named", f.commandLine("login -e NAME")))()
	}
	var restored, kept, lost, untold []string
	var causes, untoldCauses []string
	for i := len(written) - 1; i >= 0; i-- {
		t := written[i]
		err := restoreTokens(ctx, t)
		switch {
		case errors.Is(err, errUntouched):
			continue
		case errors.Is(err, errChangedSince):
			kept = append(kept, t.env.Name)
			continue
		case err != nil && t.unsure:
			untold = append(untold, t.env.Name)
			untoldCauses = append(untoldCauses, fmt.Sprintf("%s: %v", t.env.Name, err))
			continue
		case err != nil:
			lost = append(lost, t.env.Name)
			causes = append(causes, fmt.Sprintf("%s: %v", t.env.Name, err))
			continue
		}
		restored = append(restored, t.env.Name)
		if err := t.followTokenFile(f.tokenFileWait(ctx, t.env.Name, t.tokenFile), f.tokenFileOwner(t.env.Name)); err != nil {
			f.warn(fmt.Sprintf("%s: warning: its token file %s still holds the access token the import stored (%v); delete it, or run `%s` to have it written again", t.env.Name, t.tokenFile, err, f.commandLine("proxy")))
		}
	}
	slices.Reverse(restored)
	slices.Reverse(kept)
	slices.Reverse(lost)
	slices.Reverse(untold)
	lostSecrets, secretCauses := putSecretsBack(ctx, secrets)
	var b strings.Builder
	b.WriteString(what)
	b.WriteString("; the configuration was not changed")
	if len(restored) > 0 {
		fmt.Fprintf(&b, ", and the tokens of %s were put back as they were", strings.Join(restored, ", "))
	}
	if len(kept) > 0 {
		fmt.Fprintf(&b, "; the tokens of %s changed after the import stored them (another freshtoken, such as a running proxy, renewed them) and were left as they are, as putting the earlier ones back would throw the newer away", strings.Join(kept, ", "))
	}
	if len(lost) == 0 && len(lostSecrets) == 0 && len(untold) == 0 {
		b.WriteString(": nothing was imported")
		if atomicfile.DiskFull(cause) { // what to free (space, or files) its words say
			b.WriteString("; once there is room, import again")
		}
		return &importFailure{msg: b.String(), cause: cause}
	}
	if len(lost) > 0 {
		fmt.Fprintf(&b, "; but the export's tokens for %s are stored and the earlier ones could not be put back (%s): run `freshtoken import` again once the store is fixed, or `freshtoken login` for each",
			strings.Join(lost, ", "), strings.Join(causes, "; "))
	}
	if len(untold) > 0 {
		login := f.commandLine("login -e " + untold[0])
		if len(untold) > 1 {
			login = f.commandLine("login -e NAME") + " for each"
		}
		fmt.Fprintf(&b, "; but the token store may hold the export's tokens for %s rather than what it held before, as it did not answer whether it took them, and could not be asked again (%s): once it answers, run the import again, or `%s`",
			strings.Join(untold, ", "), strings.Join(untoldCauses, "; "), login)
	}
	if len(lostSecrets) > 0 {
		fmt.Fprintf(&b, "; and the keychain holds the export's client secret for %s, where it could not be put back as it was (%s)",
			strings.Join(lostSecrets, ", "), strings.Join(secretCauses, "; "))
	}
	return &importFailure{msg: b.String(), cause: cause}
}

// importFailure is a failed import, said as msg, whose exit is its cause's
// (a store that could not be written, a configuration error): it was 1, a
// bug's, for a full disk or a token file of loose permissions.
type importFailure struct {
	msg   string
	cause error
}

func (e *importFailure) Error() string { return e.msg }
func (e *importFailure) Unwrap() error { return e.cause }

// putSecretsBack puts back the client secrets the keychain held before the
// import, and removes those the import put where it held none; it returns
// the environments whose secret could not be, and why. Last written, first
// put back: two environments of one client at one API share an item, and
// the first's "none" is what it held before the second's "the first's".
func putSecretsBack(ctx context.Context, secrets []keychainSecret) (lost, causes []string) {
	for _, k := range slices.Backward(secrets) {
		put := k.env.ForgetClientSecret
		if k.had {
			put = func(ctx context.Context) error { return k.env.KeepClientSecret(ctx, k.old) }
		}
		if err := put(context.WithoutCancel(ctx)); err != nil {
			lost = append(lost, k.env.Name)
			causes = append(causes, fmt.Sprintf("%s: %v", k.env.Name, err))
		}
	}
	slices.Reverse(lost) // told in the order written
	slices.Reverse(causes)
	return lost, causes
}

// restoreTokens puts back the record t had before the import, as it was,
// under the renewal lock, only while the store holds what the import
// wrote (errChangedSince otherwise): tokens a renewal stored since (a
// running proxy's, whose refresh token spent the export's) or a log-in's
// are newer than any put back, and were lost under them. The record goes
// back bound to the grant it was stored for, which the configuration (left
// unchanged) still names. Put back as a log-in through the import's
// Source, it was bound to the export's client and API, and the unchanged
// configuration took the tokens for another client's, to be replaced by a
// browser log-in.
func restoreTokens(ctx context.Context, t importTarget) error {
	if t.untouched {
		return nil
	}
	name := t.env.Name
	lockCtx := ctx
	if t.prev == nil {
		lockCtx = store.WithoutWrites(ctx) // only a delete, as a log-out's
	}
	unlock, err := t.st.Lock(lockCtx, name)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := t.st.Load(ctx, name)
	unreadable := errors.Is(err, store.ErrCorrupt)
	switch {
	case errors.Is(err, store.ErrNotFound) || unreadable:
		cur = nil
	case err != nil:
		return err
	}
	switch {
	case t.unsure && t.holdsPrev(cur, unreadable):
		return errUntouched
	case unreadable:
		return err
	case !t.holdsWhatItWrote(cur):
		return errChangedSince
	case t.prevUnreadable:
		return errors.New("they were unreadable before the import")
	case t.prev == nil:
		err := store.DeleteIf(ctx, t.st, name, cur)
		if errors.Is(err, store.ErrChanged) {
			return errChangedSince
		}
		return err
	}
	if err := t.st.Save(ctx, name, t.prev); err != nil && !errors.Is(err, store.ErrReserveUsed) {
		return err // a full disk's reserve, or the record in place, holds it all the same
	}
	return nil
}

// storeCause is why the engine could not store tokens, without the words
// it uses for a renewal ("the provider issued new tokens but…"), which do
// not fit an import.
func storeCause(err error) error {
	var fe *freshtoken.Error
	if errors.As(err, &fe) {
		return errors.New(fe.Msg)
	}
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}

// importSettings is what e is written as: the export's provider, API root
// and client id. With --force over an existing environment, the rest of its
// settings are kept (redirect_uri, scopes, client_auth, refresh_before,
// timeout), and so is where its client secret comes from: a secret kept out
// of the file stays out, unless --client-secret-env names another variable
// or keyring puts the export's into the system keychain.
// auth_url and token_url are dropped, for the preset to derive them from
// the new api_url, and so is what belonged to the old provider alone.
func importSettings(e postman.Env, prev *config.EnvSettings, secretEnv string, keyring bool) config.EnvSettings {
	var s config.EnvSettings
	if prev != nil {
		s = *prev
		// What named the old provider's endpoints goes, and its grant: a
		// kept revocation_url was sent these tokens and the client secret
		// at logout, a kept issuer was asked for endpoints, and a grant
		// other than a log-in's cannot use the export's refresh token.
		s.AuthURL, s.TokenURL, s.RevocationURL, s.DeviceAuthURL, s.Issuer = "", "", "", "", ""
		s.AssertionAudience, s.Tenant, s.Grant = nil, "", ""
		// So do its extras, which every log-in and renewal would send to
		// FreeAgent's endpoints.
		s.Audience, s.Resource, s.AuthParams, s.TokenParams = "", nil, nil, nil
		// A client that sends no secret (a public one, or one signing
		// with its key) is not FreeAgent's, which sends the export's.
		if !config.SendsSecret(s.ClientAuth) {
			s.ClientAuth, s.KeyFile, s.KeyID, s.KeyAlg = "", "", "", ""
		}
	}
	s.Provider, s.APIURL, s.ClientID = freeAgentPreset(e.APIURL), e.APIURL, e.ClientID
	switch {
	case secretEnv != "":
		s.ClientSecret, s.ClientSecretEnv, s.ClientSecretCmd, s.ClientSecretKeyring = "", secretEnv, "", false
	case keyring:
		s.ClientSecret, s.ClientSecretEnv, s.ClientSecretCmd, s.ClientSecretKeyring = "", "", "", true
	case s.ClientSecretEnv != "" || s.ClientSecretCmd != "" || s.ClientSecretKeyring:
	case e.ClientSecret != "":
		s.ClientSecret = e.ClientSecret
	}
	return s
}

// keptSecretFits refuses an import --force that keeps reading the client
// secret from a variable or a command (client_secret_env,
// client_secret_cmd) set up for another client than the export's: the
// first renewal sent the old client's secret with the export's client id,
// and the provider answered invalid_client. The source is kept when it
// gives the export's own secret (it was already changed for the new
// client), and when the export has no secret to tell it by, nor to use in
// its place: the old client's id is then returned, for the summary to say
// to check it, as it is for the old client's client_secret kept in the file
// when the export has none. Nothing is written before this refusal.
func keptSecretFits(ctx context.Context, f *Factory, e postman.Env, prev *config.EnvSettings, s config.EnvSettings, source string) (unchecked string, err error) {
	if prev == nil {
		return "", nil
	}
	oldID, newID, exported := strings.TrimSpace(prev.ClientID), strings.TrimSpace(e.ClientID), strings.TrimSpace(e.ClientSecret)
	if oldID == newID {
		return "", nil
	}
	ce, err := config.NewEnv(e.Name, s)
	if err != nil {
		return "", nil
	}
	inFile := strings.TrimSpace(ce.ClientSecret) != ""
	switch {
	case inFile && exported == "":
		// The old client's client_secret, kept in the file: the export
		// has none to put in its place. It was told as stored there as
		// if it were the export's.
		return oldID, nil
	case inFile || ce.ClientSecretKeyring || ce.ClientSecretEnv == "" && ce.ClientSecretCmd == "":
		return "", nil // the secret is the export's, or the keychain's for the export's client
	}
	if exported == "" {
		return oldID, nil
	}
	where := "$" + ce.ClientSecretEnv
	if ce.ClientSecretEnv == "" {
		where = "its client_secret_cmd"
	}
	asked, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := ce.ClientSecretValue(asked)
	switch {
	case err != nil && ctx.Err() != nil:
		// A signal stopped the import while the command ran: no fault of
		// the source's, and no flag to suggest.
		return "", fmt.Errorf("%w; nothing was imported", ctx.Err())
	case err != nil && signalOf(err) != 0:
		// Ctrl-C or a closed terminal reached the command first.
		return "", fmt.Errorf("%w; nothing was imported", err)
	case err == nil && v == exported:
		return "", nil
	case err == nil:
		where += ", which gives another secret than the export's"
	case ce.ClientSecretCmd != "":
		// Why: it failed (a locked vault) or hung past its time.
		why := strings.TrimPrefix(err.Error(), "environment "+e.Name+": ")
		where += ", which could not be read here (" + why + ")"
	default:
		where += ", which could not be read here"
	}
	return "", usageErrorf("%s: --force would keep reading its client secret from %s, set up for client %s, but %s is for client %s: pass --client-secret-env NAME naming a variable that holds client %s's secret, or --client-secret-keyring to keep the export's in the system keychain, or take %s out first with `%s` to store the export's in the configuration file; nothing was imported",
		e.Name, where, oldID, source, newID, newID, e.Name, f.commandLine("remove -e "+e.Name))
}

// chooseImported picks the environments to import and names them: -e
// picks one key of the seed layout, whose values alone then matter, or
// names the common layout's one. Without -e, keys with no API address are
// skipped (returned, to be told); any other unusable key stops the import.
func chooseImported(exp *postman.Export, flag, file string) ([]postman.Env, []postman.Unusable, error) {
	if exp.Layout == postman.Common {
		envs := exp.Envs
		switch {
		case flag != "":
			envs[0].Name = flag
		case envs[0].Name == "":
			return nil, nil, usageErrorf("the export's name %q cannot name an environment; name it with -e NAME", exp.Name)
		default:
			if err := store.ValidateEnvName(envs[0].Name); err != nil { // too long
				return nil, nil, usageErrorf("the export's name %q cannot name an environment: %v; name it with -e NAME; nothing was imported", exp.Name, err)
			}
		}
		return envs, nil, nil
	}
	envs, skipped, found, err := exp.Choose(flag)
	switch {
	case err != nil:
		return nil, nil, usageErrorf("%s: %v; nothing was imported", file, err)
	case !found:
		return nil, nil, usageErrorf("the export has no key %s (it has %s); pass -e with one of those, or no -e to import them all; nothing was imported", redact.Name(flag), strings.Join(exp.Names(), ", "))
	}
	return envs, skipped, nil
}

// defaultImported is the environment to make the default when the
// configuration has none: the one Postman's ResourceKey was set to, else
// the first that is not production (FreeAgent's sandbox), else the first.
// A command run without -e then never reaches the live books by accident.
func defaultImported(envs []postman.Env, settings []config.EnvSettings) string {
	for _, e := range envs {
		if e.Active {
			return e.Name
		}
	}
	for i, e := range envs {
		if ce, err := config.NewEnv(e.Name, settings[i]); err == nil && !ce.IsProduction() {
			return e.Name
		}
	}
	return envs[0].Name
}

// freeAgentPreset is the preset for a FreeAgent API root.
func freeAgentPreset(api string) string {
	if u, err := url.Parse(api); err == nil && u.Host == "api.sandbox.freeagent.com" {
		return "freeagent-sandbox"
	}
	return "freeagent"
}

// importTokens stores the export's tokens for t as a log-in's, through the
// engine and under its lock, and says what was stored. An access token
// whose expiry the export does not give is left out: the first call renews
// it. An environment with no tokens has any old ones deleted. Stored tokens
// newer than the export's are kept (t.untouched). held says whether the
// environment has tokens afterwards, so that its next call needs no log-in.
func importTokens(ctx context.Context, t *importTarget, now time.Time) (summary string, held bool, err error) {
	src, e := t.src, t.env
	if t.untouched {
		how := "renewed since the export, whose refresh token they replaced"
		if e.IssuedAt.IsZero() {
			how = "which may be newer than the export's (it does not say when its own were issued)"
		}
		return fmt.Sprintf("kept the stored tokens, %s; to store the export's anyway, run `freshtoken logout --local -e %s` first", how, e.Name), true, nil
	}
	tok := &oauth2.Token{TokenType: "Bearer", RefreshToken: e.RefreshToken}
	sentAt := now
	expiry, known := e.Expiry()
	if known {
		// The expiry itself, not expires_in: a lifetime under a second
		// would round to an expires_in of 0, which means "never expires".
		tok.AccessToken, tok.Expiry, sentAt = e.AccessToken, expiry, e.IssuedAt
		if sentAt.IsZero() { // only the expiry is known: take FreeAgent's hour
			sentAt = expiry.Add(-time.Hour)
			if sentAt.After(now) {
				sentAt = now
			}
		}
	}
	if tok.AccessToken == "" && tok.RefreshToken == "" {
		if err := src.Logout(ctx); err != nil {
			return "", false, err
		}
		if e.EmptyRefreshKey != "" {
			return fmt.Sprintf("no tokens: %s is empty in the export (Postman exports initial values: use Persist All on the environment and export again), or run `freshtoken login -e %s`", e.EmptyRefreshKey, e.Name), false, nil
		}
		return fmt.Sprintf("no tokens; run `freshtoken login -e %s`", e.Name), false, nil
	}
	t.wrote = &store.Record{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, LoggedInAt: sentAt}
	switch err := src.SaveLoginIf(ctx, tok, sentAt, t.storable); {
	case errors.Is(err, errRenewedMeanwhile):
		t.untouched, t.wrote = true, nil
		return importTokens(ctx, t, now)
	case err != nil:
		return "", false, err
	}
	access := ""
	switch {
	case known && expiry.After(now):
		access = "access token valid until " + expiry.Local().Format("2006-01-02 15:04 MST")
	case known:
		access = "access token expired"
	case e.AccessToken != "" && e.Implausible != "":
		access = "access token left out: " + e.Implausible + "; it is renewed on first use"
	case e.AccessToken != "":
		access = "access token left out: its expiry is unknown"
	}
	switch {
	case tok.RefreshToken == "" && !expiry.After(now): // an expired access token alone
		// It said "after that run `freshtoken login`", of a token already
		// expired, and not why the refresh token was missing.
		if e.EmptyRefreshKey != "" {
			return fmt.Sprintf("%s, and %s is empty in the export (Postman exports initial values: use Persist All on the environment and export again), or run `freshtoken login -e %s`", access, e.EmptyRefreshKey, e.Name), false, nil
		}
		return fmt.Sprintf("%s, no refresh token; run `freshtoken login -e %s`", access, e.Name), false, nil
	case tok.RefreshToken == "": // an access token alone, of known expiry
		return fmt.Sprintf("%s, no refresh token; after that run `freshtoken login -e %s`", access, e.Name), true, nil
	case access == "":
		return "refresh token", true, nil
	}
	return "refresh token; " + access, true, nil
}

// keepsStored reports whether an import leaves the stored tokens in place:
// they are of the environment's grant, which has not ended (a rejected
// client leaves it alive, and the import may be its fix), and hold a
// refresh token other than the export's, issued after the export's tokens
// (or the export does not say when those were). Such tokens came from a
// renewal that spent the export's refresh token, and a provider that rotates
// refresh tokens ends the grant when it sees a spent one again. Tokens
// another configuration file on this machine logged in (see othersImport)
// are not kept: they may be another account's, which the import, given
// --force, replaces.
func keepsStored(src *freshtoken.Source, prev *store.Record, e postman.Env) bool {
	ended := prev != nil && prev.Problem != nil && prev.Problem.Kind == store.ProblemGrantEnded
	return prev != nil && !ended && prev.RefreshToken != "" && prev.RefreshToken != e.RefreshToken &&
		!othersImport(src, prev, e) && (e.IssuedAt.IsZero() || prev.IssuedAt.After(e.IssuedAt))
}

// othersImport reports whether prev holds another configuration's tokens
// (othersTokens) that an import of e replaces only with --force. Not those
// another configuration file on this machine imported from this same
// export (a log-in begun at its tokens' issue time, which renewals keep):
// they are the export's account's, and once renewed they hold the live
// refresh token of a grant whose export's is spent, which a provider that
// rotates refresh tokens takes for a stolen one, ending the grant.
func othersImport(src *freshtoken.Source, prev *store.Record, e postman.Env) bool {
	fromExport := !e.IssuedAt.IsZero() && prev.LoggedInAt.Equal(e.IssuedAt) && src.CheckGrant(prev) == nil
	return othersTokens(src, prev) && !fromExport
}

// storable is importTokens' freshtoken.LoginCheck: the tokens stored for
// t's environment as the export's are (under the renewal lock) are
// judged as those read when the import began: another configuration's
// are kept unless given --force, a newer freshtoken's or unreadable ones
// stop it, and tokens of t's grant renewed from the export's refresh token
// meanwhile (a running proxy's renewal) are kept (errRenewedMeanwhile).
// They were replaced, and the export's spent refresh token stored.
func (t *importTarget) storable(rec *store.Record, err error) error {
	switch {
	case errors.Is(err, store.ErrCorrupt):
		return nil
	case err != nil:
		return err
	case rec != nil && !t.force && othersImport(t.src, rec, t.env):
		return anotherConfigurations(t.src, t.env.Name, rec)
	case keepsStored(t.src, rec, t.env):
		return errRenewedMeanwhile
	}
	return nil
}

// errRenewedMeanwhile is a record keepsStored keeps, stored after the
// import read the environment's tokens.
var errRenewedMeanwhile = errors.New("the stored tokens were renewed from the export's refresh token meanwhile")

// anotherConfigurations is the import's refusal of rec, tokens stored
// for env that are not this configuration's (another configuration
// sharing the store is logged in with them), unless given --force.
func anotherConfigurations(src *freshtoken.Source, env string, rec *store.Record) error {
	return usageErrorf("%s: %s already holds tokens named %s for %s, perhaps of another configuration that uses this store; pass --force to replace them, or give this configuration a [store] url of its own",
		env, src.Location(), env, login.Whose(rec, src.ConfigFile()))
}

// printImported summarises the import, without a secret: the environments
// on stdout, what to do next on stderr.
func printImported(f *Factory, opts *importPostmanOptions, exp *postman.Export, envs []postman.Env, skipped []postman.Unusable, settings []config.EnvSettings, keychained []bool, unchecked, stored []string, held []bool, path string) {
	fmt.Fprintf(f.IO.Out, "Imported %s from %s (Postman %s layout) into %s:\n", plural(names(envs), "environment"), opts.source(), exp.Layout, path)
	tw := tabwriter.NewWriter(f.IO.Out, 0, 0, 2, ' ', 0)
	for i, e := range envs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Name, e.APIURL, f.suggesting(stored[i]))
	}
	tw.Flush()

	w := f.IO.ErrOut
	for _, u := range skipped {
		fmt.Fprintf(w, "Skipped %s: %v; to import it too, set it in Postman, export again and run `%s`.\n",
			u.Name, u.Err, f.commandLine("import postman -e "+u.Name+" "+shellquote.Word(opts.File)))
	}
	notSet := func(v string) {
		if os.Getenv(v) == "" {
			fmt.Fprintf(w, " It is not set in this shell: export %s=… before renewing.", v)
		}
		fmt.Fprintln(w)
	}
	if opts.ClientSecretEnv != "" {
		fmt.Fprintf(w, "The client secret will be read from $%s; the export's was not stored.", opts.ClientSecretEnv)
		notSet(opts.ClientSecretEnv)
	} else {
		// Without the flag, an environment replaced with --force keeps
		// where its secret came from; the others store the export's.
		var inFile []string
		for i, e := range envs {
			switch s := settings[i]; {
			case s.ClientSecretEnv != "":
				fmt.Fprintf(w, "%s keeps reading its client secret from $%s; the export's was not stored.", e.Name, s.ClientSecretEnv)
				notSet(s.ClientSecretEnv)
			case s.ClientSecretCmd != "":
				fmt.Fprintf(w, "%s keeps getting its client secret from its client_secret_cmd; the export's was not stored.\n", e.Name)
			case s.ClientSecretKeyring && keychained[i]:
				where := "system keychain"
				if ce, err := config.NewEnv(e.Name, s); err == nil {
					where = ce.ClientSecretWhere()
				}
				fmt.Fprintf(w, "The client secret of %s is kept in the %s; the configuration file holds none.\n", e.Name, where)
			case s.ClientSecretKeyring:
				fmt.Fprintf(w, "%s keeps reading its client secret from the system keychain; the export's was not stored.\n", e.Name)
			case unchecked[i] != "":
				fmt.Fprintf(w, "%s keeps the client_secret in %s, set up for client %s: the export has none to replace it; check that it is client %s's, otherwise the first renewal fails (invalid_client).\n",
					e.Name, path, unchecked[i], strings.TrimSpace(e.ClientID))
				continue
			default:
				inFile = append(inFile, e.Name)
			}
			if unchecked[i] != "" {
				fmt.Fprintf(w, "Check that it gives client %s's secret: it was set up for client %s, and the export has none to compare; otherwise the first renewal fails (invalid_client).\n",
					strings.TrimSpace(e.ClientID), unchecked[i])
			}
		}
		switch {
		case len(inFile) == len(envs):
			fmt.Fprintf(w, "The client secret is stored in %s as client_secret; only you can read that file.\n", path)
		case len(inFile) > 0:
			fmt.Fprintf(w, "For %s, the client secret is stored in %s as client_secret; only you can read that file.\n", strings.Join(inFile, ", "), path)
		}
	}
	fmt.Fprintln(w, "From now on, let freshtoken alone renew these tokens: remove Postman's pre-request script that renews them, or it will spend a refresh token freshtoken has replaced and FreeAgent may end the authorisation.")
	next := defaultImported(envs, settings)
	for i, e := range envs {
		if e.Name == next && !held[i] {
			fmt.Fprintf(w, "Next, log in, as the export brought no tokens that work: %s\n", f.commandLine("login -e "+next))
			return
		}
	}
	fmt.Fprintf(w, "Try: %s\n", f.commandLine("-e "+next+" get /v2/company"))
}

func names(envs []postman.Env) []string {
	n := make([]string, len(envs))
	for i, e := range envs {
		n[i] = e.Name
	}
	return n
}

// plural says "environment a" or "environments a, b".
func plural(items []string, noun string) string {
	if len(items) == 1 {
		return noun + " " + items[0]
	}
	return noun + "s " + strings.Join(items, ", ")
}
