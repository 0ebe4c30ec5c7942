package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/config"
	"github.com/freshtoken/freshtoken/internal/postman"
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
				return usageErrorf("freshtoken cannot import from %q; it can import: postman", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newImportPostmanCmd(f, nil))
	return cmd
}

type importPostmanOptions struct {
	f               *Factory
	File            string
	Force           bool
	ClientSecretEnv string
}

func newImportPostmanCmd(f *Factory, runF func(*importPostmanOptions) error) *cobra.Command {
	opts := &importPostmanOptions{f: f}
	cmd := &cobra.Command{
		Use:   "postman FILE",
		Short: "Import a Postman environment export (FreeAgent settings and tokens)",
		Long: `Read a Postman environment export (in Postman: Environments, ⋯, Export) and
create a FreeAgent environment for what it holds, with its tokens stored, so
that the very next command works without logging in again.

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
from instead. An environment that already exists is replaced only with
--force. A malformed export changes nothing.

Once imported, let freshtoken alone renew the tokens: remove the pre-request
script that renews them from Postman, or Postman will present a refresh token
freshtoken has already replaced, and FreeAgent may end the authorisation.`,
		Example: `  freshtoken import postman FreeAgent.postman_environment.json
  freshtoken import postman FreeAgent.postman_environment.json -e sand --force
  freshtoken import postman sandbox.json -e sandbox --client-secret-env FREEAGENT_SECRET
  freshtoken -e sand get /v2/company`,
		Args: exactArgs(1, "the exported FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.ClientSecretEnv != "" && !config.IsEnvVarName(opts.ClientSecretEnv) {
				return usageErrorf("--client-secret-env %q is not an environment variable name such as FREEAGENT_SECRET", opts.ClientSecretEnv)
			}
			if runF != nil {
				return runF(opts)
			}
			return runImportPostman(cmd.Context(), opts)
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace environments that already exist, and their tokens")
	cmd.Flags().StringVar(&opts.ClientSecretEnv, "client-secret-env", "", "read the client secret from this environment variable instead of storing it")
	return cmd
}

func runImportPostman(ctx context.Context, opts *importPostmanOptions) error {
	f := opts.f
	exp, err := postman.ReadFile(opts.File)
	if errors.Is(err, fs.ErrNotExist) {
		return usageErrorf("%s does not exist", opts.File)
	}
	if err != nil {
		return usageErrorf("%s: %v; nothing was imported", opts.File, err)
	}
	envs, err := chooseImported(exp, f.EnvFlag)
	if err != nil {
		return err
	}
	for _, e := range envs {
		if e.ClientSecret == "" && opts.ClientSecretEnv == "" {
			return usageErrorf("%s has no client secret for %s; pass --client-secret-env NAME to read it from an environment variable; nothing was imported", opts.File, e.Name)
		}
	}
	path, err := f.ConfigPath()
	if err != nil {
		return err
	}
	conf, err := config.Load(path)
	if err != nil {
		return err
	}
	var clash []string
	for _, e := range envs {
		if _, ok := conf.Envs[e.Name]; ok && !opts.Force {
			clash = append(clash, e.Name)
		}
	}
	if len(clash) > 0 {
		verb := "exists"
		if len(clash) > 1 {
			verb = "exist"
		}
		return usageErrorf("%s already %s in %s; pass --force to replace it with the import, tokens included; nothing was imported",
			plural(clash, "environment"), verb, path)
	}

	staging, err := stageConfig(path)
	if err != nil {
		return err
	}
	defer os.Remove(staging)
	def := defaultImported(envs)
	for _, e := range envs {
		s := config.EnvSettings{Provider: freeAgentPreset(e.APIURL), APIURL: e.APIURL, ClientID: e.ClientID}
		if opts.ClientSecretEnv != "" {
			s.ClientSecretEnv = opts.ClientSecretEnv
		} else {
			s.ClientSecret = e.ClientSecret
		}
		if _, err := config.WriteEnv(staging, e.Name, s, e.Name == def); err != nil {
			return fmt.Errorf("%w; nothing was imported", err)
		}
	}
	now := time.Now()
	stored := make([]string, len(envs))
	for i, e := range envs {
		src, err := freshtoken.Open(ctx, freshtoken.OpenOptions{ConfigPath: staging, Env: e.Name, Logger: f.Logger()})
		if err != nil {
			return err
		}
		if stored[i], err = importTokens(ctx, src, e, now); err != nil {
			return err
		}
	}
	if err := os.Rename(staging, path); err != nil {
		return fmt.Errorf("tokens were stored, but the configuration could not be written to %s: %w", path, err)
	}
	printImported(f, opts, exp, envs, stored, path)
	return nil
}

// chooseImported picks the environments to import and names them: -e
// picks one key of the seed layout, or names the common layout's one.
func chooseImported(exp *postman.Export, flag string) ([]postman.Env, error) {
	envs := exp.Envs
	switch {
	case exp.Layout == postman.Common && flag != "":
		envs[0].Name = flag
	case exp.Layout == postman.Common && envs[0].Name == "":
		return nil, usageErrorf("the export's name %q cannot name an environment; name it with -e NAME", exp.Name)
	case flag != "":
		var names []string
		for _, e := range envs {
			if e.Name == flag {
				return []postman.Env{e}, nil
			}
			names = append(names, e.Name)
		}
		return nil, usageErrorf("the export has no key %q (it has %s)", flag, strings.Join(names, ", "))
	}
	return envs, nil
}

// defaultImported is the environment to make the default when the
// configuration has none: the one Postman's ResourceKey was set to, else
// the first.
func defaultImported(envs []postman.Env) string {
	for _, e := range envs {
		if e.Active {
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

// stageConfig copies the configuration file (if any) to a private file
// beside it, for the import to write to and check before it replaces the
// original in one rename.
func stageConfig(path string) (string, error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".config.toml.import-*")
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(old); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// importTokens stores e's tokens as a log-in's, through the engine and
// under its lock, and says what was stored. An access token whose expiry
// the export does not give is left out: the first call renews it. An
// environment with no tokens has any old ones deleted.
func importTokens(ctx context.Context, src *freshtoken.Source, e postman.Env, now time.Time) (string, error) {
	tok := &oauth2.Token{TokenType: "Bearer", RefreshToken: e.RefreshToken}
	sentAt := now
	expiry, known := e.Expiry()
	if known {
		tok.AccessToken, tok.ExpiresIn, sentAt = e.AccessToken, int64(e.Lifetime/time.Second), e.IssuedAt
	}
	if tok.AccessToken == "" && tok.RefreshToken == "" {
		if err := src.Logout(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("no tokens; run `freshtoken login -e %s`", e.Name), nil
	}
	if err := src.SaveLogin(ctx, tok, sentAt); err != nil {
		return "", err
	}
	access := ""
	switch {
	case known && expiry.After(now):
		access = "access token valid until " + expiry.Local().Format("2006-01-02 15:04 MST")
	case known:
		access = "access token expired"
	case e.AccessToken != "":
		access = "access token left out: its expiry is unknown"
	}
	switch {
	case tok.RefreshToken == "":
		return fmt.Sprintf("%s, no refresh token; after that run `freshtoken login -e %s`", access, e.Name), nil
	case access == "":
		return "refresh token", nil
	}
	return "refresh token; " + access, nil
}

// printImported summarises the import, without a secret: the environments
// on stdout, what to do next on stderr.
func printImported(f *Factory, opts *importPostmanOptions, exp *postman.Export, envs []postman.Env, stored []string, path string) {
	fmt.Fprintf(f.IO.Out, "Imported %s from %s (Postman %s layout) into %s:\n", plural(names(envs), "environment"), opts.File, exp.Layout, path)
	tw := tabwriter.NewWriter(f.IO.Out, 0, 0, 2, ' ', 0)
	for i, e := range envs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Name, e.APIURL, stored[i])
	}
	tw.Flush()

	w := f.IO.ErrOut
	if opts.ClientSecretEnv != "" {
		fmt.Fprintf(w, "The client secret will be read from $%s; the export's was not stored.", opts.ClientSecretEnv)
		if os.Getenv(opts.ClientSecretEnv) == "" {
			fmt.Fprintf(w, " It is not set in this shell: export %s=… before renewing.", opts.ClientSecretEnv)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "The client secret is stored in %s as client_secret; only you can read that file.\n", path)
	}
	fmt.Fprintln(w, "From now on, let freshtoken alone renew these tokens: remove Postman's pre-request script that renews them, or it will spend a refresh token freshtoken has replaced and FreeAgent may end the authorisation.")
	fmt.Fprintf(w, "Try: freshtoken -e %s get /v2/company\n", defaultImported(envs))
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
