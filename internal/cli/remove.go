package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

type removeOptions struct {
	f   *Factory
	Yes bool
}

func newRemoveCmd(f *Factory) *cobra.Command {
	opts := &removeOptions{f: f}
	cmd := &cobra.Command{
		Use:   "remove",
		Short: "Take an environment out of the config and forget its tokens",
		Long: `Remove the environment named with -e from the configuration file, after
deleting its stored tokens; the comments written directly above its table go
with it, the others stay. Its token_file goes too when freshtoken wrote
what it holds for this environment (a file of your own there, or one
another configuration's keeper keeps, is left, and said so). On a
terminal it asks first; scripts pass --yes.
Tokens stored under that name for another client (by another configuration)
are left alone, and so are those another configuration file on this machine
logged in with, of the same client, which uses them still (its logout ends
them), and so is a client secret in the system keychain
(client_secret_keyring), which other configurations of the client may read:
remove says where it is, to delete it there if none does. Removing the
default environment takes default_env out too; init -e NAME --default makes
another the default. An environment whose own settings have a mistake, which
other commands refuse the file for, is removed too; its tokens are kept, and
said so, when the mistake is in a setting that says whose they are
(provider, api_url, token_url, client_id…).`,
		Example: `  freshtoken remove -e old-sandbox
  freshtoken remove -e old-sandbox --yes`,
		Args: exactArgs(0, "no arguments; name the environment with -e"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if f.EnvFlag == "" {
				return usageErrorf("name the environment to remove with -e NAME")
			}
			return nil
		},
		RunE: runner(opts, nil, runRemove),
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "remove without asking")
	return cmd
}

func runRemove(ctx context.Context, opts *removeOptions) error {
	f := opts.f
	path, err := f.ConfigPath()
	if err != nil {
		return err
	}
	// An environment whose settings have a mistake is removed too, read
	// as far as they allow: remove is how a person gets rid of it.
	conf, broken, err := config.LoadForRemoval(path, f.EnvFlag)
	if err != nil {
		return err
	}
	if err := f.named(conf, "nothing was removed"); err != nil {
		return err
	}
	env, err := f.envIn(conf)
	if err != nil {
		return err
	}
	// A file freshtoken does not edit (read-only, one of several hard
	// links) is refused before the person is asked, not after they said yes.
	if err := configedit.CheckEditable(conf.Path); err != nil {
		return fmt.Errorf("%s: %w; nothing was removed", env.Name, err)
	}
	if !opts.Yes {
		deletes, ask := "its tokens and its settings in "+conf.Path, fmt.Sprintf("Remove %s from %s and delete its stored tokens?", env.Name, conf.Path)
		if broken != nil && !broken.GrantKnown { // its tokens are kept (below)
			kept := "stored tokens are kept, as " + mistakesOfTheGrant(broken.Whose)
			deletes = fmt.Sprintf("its settings in %s (its %s)", conf.Path, kept)
			ask = fmt.Sprintf("Remove %s from %s? Its %s.", env.Name, conf.Path, kept)
		}
		if !f.IO.InTTY {
			return usageErrorf("removing %s deletes %s; pass --yes to do it without being asked", env.Name, deletes)
		}
		yes, err := f.askYesNo(ctx, ask)
		if err != nil || !yes {
			if err == nil {
				fmt.Fprintln(f.IO.ErrOut, "Nothing was removed.")
			}
			return err
		}
	}
	// Whose the stored tokens are is told by the settings of the grant;
	// with one of them refused, it cannot be, and they are only looked at.
	var (
		src      *freshtoken.Source
		rec      *store.Record
		location string
	)
	if broken == nil || broken.GrantKnown {
		if src, err = f.sourceIn(ctx, conf, env.Name); err != nil {
			return err
		}
		rec, err = src.Record(ctx)
	} else {
		rec, location, err = storedRecord(ctx, conf, env.Name)
	}
	tokens := "it had no stored tokens"
	none := rec == nil && err == nil
	// The tokens are deleted once the configuration's edit is written, just
	// before it replaces the file: a configuration that cannot be written
	// (a full disk) keeps the environment and its tokens both.
	var forget func(logout func() error) error
	forgotten, tokenFile := false, ""
	switch {
	case errors.Is(err, store.ErrNewerFormat): // whose they are, and how to revoke them, only a newer freshtoken can tell
		return fmt.Errorf("%s: %w; nothing was removed", env.Name, err)
	case err != nil && !errors.Is(err, store.ErrCorrupt):
		return fmt.Errorf("%w; nothing was removed", err)
	case src == nil && !none:
		tokens = fmt.Sprintf("its tokens in %s were kept: %s, so they cannot be told from another configuration's %s; if no other configuration uses %s, delete them there",
			location, mistakesOfTheGrant(broken.Whose), env.Name, env.Name)
	case rec != nil && src.CheckGrant(rec) != nil:
		tokens = fmt.Sprintf("the tokens in %s belong to another client and were kept", src.Location())
	case rec != nil && rec.LoggedInWith.OtherThan(src.ConfigFile()) != "":
		// Another configuration file on this machine logged in with them,
		// and uses them still: removing this one's environment is no
		// log-out of that one's (logout is, and asks).
		other := rec.LoggedInWith.OtherThan(src.ConfigFile())
		tokens = fmt.Sprintf("its tokens in %s were kept, as %s logged in with them and shares them (run `freshtoken --config %s logout -e %s` to end them)",
			src.Location(), other, shellquote.Word(other), env.Name)
	case rec != nil || err != nil:
		forget = func(logout func() error) error {
			if err := logout(); err != nil {
				return err
			}
			tokenFile = forgetTokenFile(ctx, f, env, rec, false)
			forgotten = true
			tokens = "its tokens were deleted from " + src.Location()
			if err != nil {
				tokens = fmt.Sprintf("its stored record could not be read (%s), and was deleted", failure.Corruption(err))
			}
			return nil
		}
	}
	// `store migrate` in another terminal may move the tokens while this
	// removal waits: the store it began with then holds none of them.
	var after *config.File
	edit := func(logout func() error) (err error) {
		after, err = configedit.RemoveEnvAfter(conf.Path, env.Name, func() error {
			if changed, removed := f.storeChanged(env.Name, conf.StoreURL); changed != "" && !removed {
				return usageErrorf("%s: %s while this removal waited, so its tokens may be there; nothing was removed: run the same command again", env.Name, changed)
			}
			if forget == nil {
				return nil
			}
			return forget(logout)
		})
		return err
	}
	// The renewal lock is taken before the configuration's, as store
	// migrate takes them: each waited for the other for ever.
	if forget != nil {
		err = src.LogoutOfUnder(ctx, nil, edit)
	} else {
		err = edit(nil)
	}
	if err != nil {
		var ce *config.Error
		switch {
		case forgotten: // the file could not be replaced after all
			return fmt.Errorf("%s: %w (%s)", env.Name, err, tokens)
		case errors.As(err, &ce):
			return fmt.Errorf("%s: %w; nothing was removed", env.Name, err)
		case errors.As(err, new(*usageError)): // says so
			return err
		}
		return fmt.Errorf("%w; nothing was removed", err)
	}
	if none || src == nil { // a token file a keeper wrote may outlive the tokens (a log-out elsewhere), and says whose it is
		tokenFile = forgetTokenFile(ctx, f, env, nil, false)
	}
	if dir, err := config.StoreDir(conf.StoreURL); err == nil && forgotten {
		// The last record gone, the token folder's disk-space reserve has
		// none to serve; the folder stays, as another configuration may
		// use it.
		filestore.RemoveUnusedReserve(dir)
	}
	fmt.Fprintf(f.IO.ErrOut, "Removed %s from %s; %s.\n", env.Name, conf.Path, tokens)
	if tokenFile != "" {
		fmt.Fprintln(f.IO.ErrOut, tokenFile)
	}
	if broken != nil && slices.Contains(broken.Unread, "token_file") {
		fmt.Fprintln(f.IO.ErrOut, "Its token_file was left alone, as its setting was refused.")
	}
	if conf.DefaultEnv == env.Name {
		sayDefaultRemoved(f, env.Name, after.Names())
	}
	if env.ClientSecretKeyring {
		// Kept: it is one per client and provider, which environments of
		// other configurations may share.
		fmt.Fprintf(f.IO.ErrOut, "Its client secret stays in the %s, as other configurations of client %q may read it there; if none does, delete it there.\n",
			strings.TrimPrefix(env.ClientSecretWhere(), "the "), env.ClientID)
	}
	return nil
}

// mistakesOfTheGrant says which of an environment's settings that say
// whose its stored tokens are have a mistake: those named in whose, or
// all of them when none can be named.
func mistakesOfTheGrant(whose []string) string {
	switch len(whose) {
	case 0:
		return "its settings have mistakes that keep freshtoken from reading those that say whose they are"
	case 1:
		return fmt.Sprintf("its %s, which says whose they are, has a mistake", whose[0])
	}
	return fmt.Sprintf("its %s, which say whose they are, have mistakes", strings.Join(whose, ", "))
}

// storedRecord is the record the store of conf holds for env, nil for
// none, and where it is.
func storedRecord(ctx context.Context, conf *config.File, env string) (*store.Record, string, error) {
	st, err := config.OpenStore(conf.StoreURL)
	if err != nil {
		return nil, "", err
	}
	rec, err := st.Load(ctx, env)
	if errors.Is(err, store.ErrNotFound) {
		return nil, st.Location(env), nil
	}
	return rec, st.Location(env), err
}

// sayDefaultRemoved tells, after remove of name, the default environment,
// that default_env went with it, and what commands without -e do now: use
// the only environment left, or need one named, with the command that sets
// another.
func sayDefaultRemoved(f *Factory, name string, left []string) {
	switch len(left) {
	case 0:
	case 1:
		fmt.Fprintf(f.IO.ErrOut, "%s was the default environment; default_env is removed, and commands without -e now use %s, the only one left.\n", name, left[0])
	default:
		fmt.Fprintf(f.IO.ErrOut, "%s was the default environment; default_env is removed, so commands without -e need -e NAME or $FRESHTOKEN_ENV: to set another, run %s (configured: %s).\n",
			name, f.commandLine("init -e NAME --default"), strings.Join(left, ", "))
	}
}

// named is nil, or the usage error of remove or logout when the
// environment named (-e, or $FRESHTOKEN_ENV without -e) is not in conf,
// saying what was not done (then), and where the default configuration
// has it (configuredInTheDefault). When it is there, or Select says
// better what is wrong (a typo's suggestion, a name no environment can
// have, a file that is not there), it is nil and Select speaks after: its
// next step for a name not configured, to add it with init, is the
// opposite of what they were asked.
func (f *Factory) named(conf *config.File, then string) error {
	name, from := f.EnvFlag, ""
	if name == "" { // named by $FRESHTOKEN_ENV, as Select takes it (in a shell exec started, say)
		if name = os.Getenv("FRESHTOKEN_ENV"); name != "" {
			from = " (from $FRESHTOKEN_ENV)"
		}
	}
	if name == "" || !conf.Exists || conf.Envs[name] != nil || conf.Closest(name) != "" || store.ValidateEnvName(name) != nil {
		return nil
	}
	known := "none"
	if len(conf.Envs) > 0 {
		known = strings.Join(conf.Names(), ", ")
	}
	return f.configuredInTheDefault(conf, name, usageErrorf("environment %s%s is not configured in %s (configured: %s); %s", redact.Name(name), from, conf.Path, known, then))
}
