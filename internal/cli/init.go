package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/await"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/paste"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
)

type initOptions struct {
	f        *Factory
	Settings config.EnvSettings
	Scopes   string
	Extras   extraFlags
	// Default makes the environment the default one (default_env).
	Default bool
}

func newInitCmd(f *Factory, runF func(*initOptions) error) *cobra.Command {
	opts := &initOptions{f: f}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Add or update an environment in the configuration",
		Long: `Write an environment into the configuration file and print the redirect
URI to register with the provider. Other environments and the comments are
kept: of this environment's table, only the lines of the keys that change are
written, as you would edit them; but a table with a table of its own
([env.NAME.auth_params]) is written anew, without the comments among its keys.
The environment is named by -e; without it, freeagent-sandbox is called
"sandbox" and freeagent "production". Flags given for an environment that
exists replace only what they name; a --provider other than its own is
refused, writing nothing (give the new one another name, or remove the old).
An environment whose own settings the file is refused for (a secret pasted
as its client id) is mended the same way: the flags replace what was
refused, and on a terminal a refused client id is asked for again. A key
no setting takes (misspelt, or a newer freshtoken's) is left to you to edit.

On a terminal, init asks for whatever the flags leave out (the provider, the
environment's name, the client id, and how to get the client secret, which is
never shown as you type it) and then offers to log in. Elsewhere, a missing
client id is an error.

With --client-secret-keyring the client secret goes into the system keychain
(asked for on a terminal, read from stdin otherwise) and the configuration
says client_secret_keyring = true, so the file holds nothing secret. The
keychain is written first: if it cannot be used, nothing is written at all.

--default makes the environment the default one, used by commands without
-e (default_env in the file). Without it, init sets default_env only when the
file has none. Given alone (init -e NAME --default), it changes only the
default_env line, of an environment already configured; on a terminal,
without -e, it asks which, and of one not configured (or with none
configured), it asks for what the environment needs, as init does.`,
		Example: `  freshtoken init                  # on a terminal: asks for what it needs
  freshtoken init -e sandbox --provider freeagent-sandbox --client-id ID --client-secret-env FREEAGENT_SECRET
  freshtoken init -e production --provider freeagent --client-id ID --client-secret-cmd "pass show freeagent"
  pass show freeagent | freshtoken init -e production --provider freeagent --client-id ID --client-secret-keyring
  freshtoken init -e myapi --provider generic --api-url https://api.example.com/ \
      --auth-url https://login.example.com/authorize --token-url https://login.example.com/token \
      --client-id ID --client-secret-env MYAPI_SECRET --scopes read,offline_access --client-auth body
  freshtoken init -e idp --provider generic --api-url https://api.example.com/ \
      --auth-url https://login.example.com/authorize --token-url https://login.example.com/token \
      --client-id ID --client-auth private_key_jwt --key-file idp-key.pem --key-id k1 \
      --audience https://api.example.com --auth-param prompt=consent
  freshtoken init -e production --default   # commands without -e now use production`,
		Args: exactArgs(0, "no arguments; the environment is named with -e"),
		RunE: runner(opts, runF, runInit),
	}
	fl := cmd.Flags()
	s := &opts.Settings
	fl.StringVar(&s.Provider, "provider", "", strings.Join(config.Presets(), ", "))
	fl.StringVar(&s.ClientID, "client-id", "", "the app's OAuth identifier")
	fl.StringVar(&s.ClientSecretEnv, "client-secret-env", "", "read the client secret from this environment variable")
	fl.StringVar(&s.ClientSecretCmd, "client-secret-cmd", "", "run this command to get the client secret (e.g. \"pass show freeagent\")")
	fl.BoolVar(&s.ClientSecretKeyring, "client-secret-keyring", false, "keep the client secret in the system keychain (asked for on a terminal, else the first line of stdin)")
	fl.StringVar(&s.RedirectURI, "redirect-uri", "", "redirect URI registered with the provider (default "+config.DefaultRedirectURI+")")
	fl.StringVar(&s.APIURL, "api-url", "", "API root URL (presets fill it)")
	fl.StringVar(&s.AuthURL, "auth-url", "", "authorisation endpoint (presets fill it)")
	fl.StringVar(&s.TokenURL, "token-url", "", "token endpoint (presets fill it)")
	fl.StringVar(&s.ClientAuth, "client-auth", "", "how the client authenticates: basic (default), body, none (a public client, no secret) or private_key_jwt (with --key-file)")
	fl.StringVar(&opts.Scopes, "scopes", "", "scopes to request, separated by commas or spaces")
	opts.Extras.add(fl, s)
	fl.StringVar(&s.Issuer, "issuer", "", "the provider's issuer URL: discovery fills the endpoints not given")
	fl.StringVar(&s.Tenant, "tenant", "", "the Microsoft tenant (default "+config.DefaultTenant+")")
	fl.StringVar(&s.CAFile, "ca-file", "", "PEM file of a private certificate authority to trust")
	fl.StringVar(&s.Grant, "grant", "", "how tokens are had: authorization_code (default, a browser log-in), device_code or client_credentials")
	fl.BoolVar(&opts.Default, "default", false, "make this the default environment, used by commands without -e (alone: only that)")
	fl.StringVar(&s.DeviceAuthURL, "device-auth-url", "", "the device authorization endpoint, for --grant device_code (discovery finds it from --issuer)")
	cmd.MarkFlagFilename("ca-file")
	cmd.MarkFlagFilename("key-file")
	cmd.MarkFlagFilename("client-secret-cmd") // a program, such as a script of the person's
	cmd.RegisterFlagCompletionFunc("grant", cobra.FixedCompletions([]string{config.GrantAuthorizationCode, config.GrantDeviceCode, config.GrantClientCredentials}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("provider", cobra.FixedCompletions(config.Presets(), cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("client-auth", cobra.FixedCompletions(clientAuthNames(), cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("key-alg", cobra.FixedCompletions(config.KeyAlgs(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runInit(ctx context.Context, opts *initOptions) error {
	f := opts.f
	s := opts.Settings
	trimSpaces(&s)
	// Scopes as the provider's documentation lists them: by commas or by
	// spaces, as a request carries them.
	s.Scopes = append(s.Scopes, strings.FieldsFunc(opts.Scopes, func(c rune) bool { return c == ',' || unicode.IsSpace(c) })...)
	if err := checkInitFlags(f.EnvFlag, s); err != nil {
		return err
	}
	if err := opts.Extras.apply(&s); err != nil {
		return err
	}
	if s.CAFile != "" { // as --key-file: a name in this folder is written whole
		abs, err := filepath.Abs(s.CAFile)
		if err != nil {
			return usageErrorf("--ca-file: %v", err)
		}
		s.CAFile = abs
	}
	// The environment named, refused for a mistake in its own settings (a
	// secret pasted as its client id), is written again with the flags
	// given (or, on a terminal, the client id asked for again): the
	// person had to edit the file.
	path, err := f.ConfigPath()
	if err != nil {
		return err
	}
	old, refused, err := config.LoadForRepair(path, f.EnvFlag)
	if err != nil {
		return err
	}
	if refused != nil && opts.onlyDefault() {
		return refused
	}
	if f.EnvFlag != "" {
		if err := typedEnvName(old, f.EnvFlag); err != nil {
			return usageErrorf("-e %s cannot name a new environment: %v; give a name such as sandbox after -e; nothing was written", redact.Name(f.EnvFlag), err)
		}
	}
	// An environment not configured, named on a terminal (or, when none
	// is, not named), is asked for as init asks for any, and then made
	// the default.
	if opts.onlyDefault() && !(f.IO.InTTY && old.Envs[f.EnvFlag] == nil && (f.EnvFlag == "" && len(old.Envs) == 0 || f.EnvFlag != "" && old.Closest(f.EnvFlag) == "")) {
		return makeDefault(ctx, f, old, f.EnvFlag)
	}
	// A file freshtoken does not edit (read-only, one of several hard
	// links) is refused before any question, not after every answer.
	if err := configedit.CheckEditable(path); err != nil {
		return err
	}
	// On a terminal, what the flags and the existing environment leave
	// missing is asked for; elsewhere it is an error.
	var p *prompter
	if f.IO.InTTY {
		p = newPrompter(f.dialogue())
	}
	name := f.EnvFlag
	if _, exists := old.Settings[name]; s.Provider == "" && p != nil && !exists {
		if s.Provider, err = askProvider(ctx, p); err != nil {
			return unchanged(err)
		}
	}
	if name == "" {
		name = defaultEnvName(s.Provider)
		if p != nil {
			// A name taken by another provider's environment is asked for
			// again: refused after every other question, all were lost.
			if name, err = p.ask(ctx, "Name for this environment", name, func(n string) error {
				if clash := providerClash(n, old.Settings, s.Provider); clash != "" {
					return fmt.Errorf("%s: give this one another name, or take that one out first with `%s`", clash, f.commandLine("remove -e "+n))
				}
				return typedEnvName(old, n)
			}); err != nil {
				return unchanged(err)
			}
		} else if name == "" {
			return usageErrorf("name the environment with -e NAME")
		} else if err := newEnvName(old, name); err != nil {
			// As -e's: refused once written, it named a line of a file
			// that was not written.
			return usageErrorf("init names a %s environment %s, which cannot be a new one: %v; or name it with -e NAME; nothing was written", s.Provider, name, err)
		}
	}
	prev, existed := old.Settings[name]
	if clash := providerClash(name, old.Settings, s.Provider); clash != "" {
		return usageErrorf("%s; init changes only what its flags name, and would mix the two providers' settings: give the new one another name (-e NAME), or take this one out first with `freshtoken remove -e %s`; nothing was written",
			clash, name)
	}
	if existed {
		s = mergeSettings(prev, s)
	}
	// A client id missing is asked for as any missing setting is: it was
	// said to be "refused: it missing", or named this very command.
	if refused != nil && refused.Key == "env."+name+".client_id" && opts.Settings.ClientID == "" && strings.TrimSpace(prev.ClientID) != "" {
		if p == nil {
			return fmt.Errorf("%w; or give the client id to write in its place: `%s`", refused, f.commandLine("init -e "+name+" --client-id ID"))
		}
		fmt.Fprintf(p.out, "The client id written for %s is refused: it %s.\n", name, refused.Msg)
		s.ClientID = "" // asked for again
	}
	if p != nil {
		if err := askMissing(ctx, p, &s); err != nil {
			return unchanged(err)
		}
	}
	if s.ClientID == "" {
		return usageErrorf("--client-id is required: copy the OAuth identifier from the provider's developer dashboard")
	}
	// A new environment given neither a provider nor an endpoint was
	// refused as "the generic provider needs api_url", a provider the
	// user never named, with a line of a file that was not written.
	if !existed && s.Provider == "" && s.APIURL == "" && s.Issuer == "" && s.AuthURL == "" && s.TokenURL == "" {
		named := slices.DeleteFunc(config.Presets(), func(p string) bool { return p == "generic" })
		return usageErrorf("environment %s: name its provider with --provider (%s), or give another provider's addresses: --api-url, and --issuer or --auth-url and --token-url; nothing was written",
			name, strings.Join(named, ", "))
	}
	// A device log-in that has no endpoint to ask would be written only for
	// login to refuse it. Refused before the keychain is written: the
	// secret kept there is every environment's of the client.
	if e, err := config.NewEnv(name, s); err == nil {
		if e.MissingDeviceAuthURL() != nil {
			return config.Invalidf(`environment %s: grant = "device_code" needs the provider's device authorization endpoint; pass --device-auth-url URL, or --issuer URL to discover it; nothing was written`, name)
		}
		// Written, it would send people through the browser only for the
		// code exchange to fail.
		if m := e.MissingClientSecret(); m != "" {
			return usageErrorf("environment %s: %s; nothing was written", name, m)
		}
	}
	// A file without default_env becomes one with this environment the
	// default, but for a file of one other environment: commands without
	// -e use that one, the only one, and keep using it. This one made the
	// default, they reached it instead (production, added beside a
	// sandbox left alone by remove).
	def := name
	if old.DefaultEnv == "" && len(old.Envs) == 1 && old.Envs[name] == nil {
		def = old.Names()[0]
	}
	if opts.Settings.ClientSecretKeyring {
		// The file as it will be, checked as writing it checks it: an
		// error names the file and the line, and says nothing was written.
		preview, err := configedit.PreviewEnvs(path, []configedit.NamedEnv{{Name: name, Settings: s}}, def)
		if err != nil {
			return err
		}
		if err := keepClientSecret(ctx, f, p, preview.Envs[name]); err != nil {
			return err
		}
	}
	var conf *config.File
	if opts.Default {
		conf, err = configedit.SetDefaultEnv(path, name, configedit.NamedEnv{Name: name, Settings: s})
	} else {
		conf, err = configedit.WriteEnvs(path, []configedit.NamedEnv{{Name: name, Settings: s}}, def)
	}
	if err != nil {
		return err
	}
	e := conf.Envs[name]
	warnClearText(f.IO.ErrOut, e)
	wrote := fmt.Sprintf("Wrote environment %q to %s.", name, path)
	if e.Grant == config.GrantClientCredentials {
		wrote += " It uses client credentials: no log-in is needed."
	}
	fmt.Fprintln(f.IO.ErrOut, wrote)
	switch {
	// Made the default without --default (the file had none): said, as
	// commands without -e that stopped for want of one now reach it.
	case conf.DefaultEnv == name && old.DefaultEnv != name && (opts.Default || len(conf.Envs) > 1):
		sayDefault(f, name, path)
	case old.DefaultEnv == "" && conf.DefaultEnv != "" && conf.DefaultEnv != name:
		fmt.Fprintf(f.IO.ErrOut, "%s stays the default environment, as the only one before: commands without -e still use it (default_env in %s); `%s` makes %s the default.\n",
			conf.DefaultEnv, path, f.commandLine("init -e "+name+" --default"), name)
	}
	switch e.Grant {
	case config.GrantClientCredentials:
		fmt.Fprintf(f.IO.ErrOut, "%s %s\n", nextStep(e, "Try:", "Then", "try:"), f.commandLine("-e "+name+" token"))
		return nil
	case config.GrantDeviceCode:
		fmt.Fprintf(f.IO.ErrOut, "%s %s (it shows a code to enter on any device)\n", nextStep(e, "Then run:", "Then", "run:"), f.commandLine("login -e "+name))
		return nil
	}
	where := "" // where a FreeAgent user registers it
	if strings.HasPrefix(e.Provider, "freeagent") {
		where = " (the app's page in FreeAgent's developer dashboard)"
	}
	fmt.Fprintf(f.IO.ErrOut, "Register this redirect URI with the provider%s, exactly as shown:\n", where)
	fmt.Fprintln(f.IO.Out, e.RedirectURI)
	if p == nil || !p.asked {
		if existed && sameLogIn(prev, s) && loggedIn(ctx, f, name) {
			fmt.Fprintf(f.IO.ErrOut, "%s is logged in, and its tokens go on serving: no new log-in is needed (`%s` logs in again).\n", name, f.commandLine("login -e "+name))
			return nil
		}
		fmt.Fprintf(f.IO.ErrOut, "%s %s\n", nextStep(e, "Then run:", "Then", "run:"), f.commandLine("login -e "+name))
		return nil
	}
	return offerLogin(ctx, f, p, e)
}

// unchanged is err, a question asked before anything was written having
// ended (Ctrl-C, a closed terminal), saying that nothing was changed, as
// input that ended does.
func unchanged(err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w; nothing was changed", err)
	}
	return err
}

// providerClash says that environment name is configured (in envs) for
// another provider than provider, or "": another provider's settings merged
// into this one's would make an environment of neither (one's endpoints
// and scopes with the other's preset), whose next log-in replaced the
// stored grant.
func providerClash(name string, envs map[string]config.EnvSettings, provider string) string {
	prev, existed := envs[name]
	was := cmp.Or(strings.TrimSpace(prev.Provider), "generic")
	if !existed || provider == "" || provider == was {
		return ""
	}
	client := ""
	if id := strings.TrimSpace(prev.ClientID); id != "" {
		client = fmt.Sprintf(" (client %s)", id)
	}
	return fmt.Sprintf("environment %q is already configured for provider %s%s", name, was, client)
}

// onlyDefault reports whether --default is all init was given: it then
// changes default_env alone.
func (o *initOptions) onlyDefault() bool {
	return o.Default && reflect.ValueOf(o.Settings).IsZero() && o.Scopes == "" && reflect.ValueOf(o.Extras).IsZero()
}

// makeDefault makes name, an environment conf configures, the default one,
// changing only the default_env line of the file. Without a name, on a
// terminal, it asks which.
func makeDefault(ctx context.Context, f *Factory, conf *config.File, name string) error {
	known := "none"
	if len(conf.Envs) > 0 {
		known = strings.Join(conf.Names(), ", ")
	}
	if name == "" && f.IO.InTTY && len(conf.Envs) > 0 {
		if err := configedit.CheckEditable(conf.Path); err != nil {
			return err // before the question
		}
		var choices []choice
		def := 1
		for i, n := range conf.Names() {
			label := n + " "
			if n == conf.DefaultEnv {
				label, def = n+"  (the default now)", i+1
			}
			choices = append(choices, choice{n, label})
		}
		var err error
		if name, err = newPrompter(f.dialogue()).choose(ctx, "Which environment should commands without -e use?", choices, def); err != nil {
			return unchanged(err)
		}
	}
	switch {
	case name == "" && len(conf.Envs) == 0:
		return usageErrorf("no environment is configured in %s to make the default; add one with `freshtoken init`, which makes the first one the default", conf.Path)
	case name == "":
		return usageErrorf("--default needs the environment named: `freshtoken init -e NAME --default` (configured: %s)", known)
	case conf.Envs[name] != nil:
	case conf.Closest(name) != "":
		_, err := conf.Select(name) // a typo: it suggests the name meant
		return err
	default:
		return usageErrorf("environment %s is not configured in %s (configured: %s); init --default alone makes a configured environment the default; to add this one, give init its other flags too (`freshtoken init --help`); nothing was written", redact.Name(name), conf.Path, known)
	}
	if conf.DefaultEnv == name {
		fmt.Fprintf(f.IO.ErrOut, "%s is already the default environment (default_env in %s); nothing was changed.\n", name, conf.Path)
		sayEnvFirst(f, name)
		return nil
	}
	if _, err := configedit.SetDefaultEnv(conf.Path, name); err != nil {
		return err
	}
	sayDefault(f, name, conf.Path)
	return nil
}

// sayDefault tells that name is now the default environment, and that
// $FRESHTOKEN_ENV, when it names another, still comes first here.
func sayDefault(f *Factory, name, path string) {
	fmt.Fprintf(f.IO.ErrOut, "%s is now the default environment: commands without -e use it (default_env in %s).\n", name, path)
	sayEnvFirst(f, name)
}

// sayEnvFirst tells, when $FRESHTOKEN_ENV names another environment than
// name, the default, that it still comes first here: a person who ran
// init --default because commands without -e reached that other one
// learns why they still do.
func sayEnvFirst(f *Factory, name string) {
	if v := os.Getenv("FRESHTOKEN_ENV"); v != "" && v != name {
		fmt.Fprintf(f.IO.ErrOut, "Here $FRESHTOKEN_ENV (%s) still comes before it: unset FRESHTOKEN_ENV for the default to apply.\n", v)
	}
}

// nextStep leads the command init suggests next: lead alone, or, when the
// client secret's variable is not set here (an export in another terminal,
// or none yet), then and verb around a word to export it first, as that
// command would fail for want of the secret.
func nextStep(e *config.Env, lead, then, verb string) string {
	if e.ClientSecretEnv == "" || e.ClientSecretProblem() == "" {
		return lead
	}
	return fmt.Sprintf("%s, with the client secret in $%s (not set here: export %s=…), %s", then, e.ClientSecretEnv, e.ClientSecretEnv, verb)
}

// sameLogIn reports whether a and b ask the provider for the same grant at
// a log-in: tokens had with a's scopes (or audience, resources, parameters)
// do not carry b's, which take a new log-in.
func sameLogIn(a, b config.EnvSettings) bool {
	type asked struct {
		AuthURL, Audience string
		Scopes            []string
		Resource          config.Strings
		AuthParams        config.Params
	}
	of := func(s config.EnvSettings) asked {
		return asked{s.AuthURL, s.Audience, s.Scopes, s.Resource, s.AuthParams}
	}
	return reflect.DeepEqual(of(a), of(b))
}

// loggedIn reports whether the environment, as now configured, has tokens
// of its grant to go on with: init that changed what leaves them serving
// (the redirect URI, the scopes of a later log-in) needs no new log-in. Any
// doubt (a store that cannot be read, another client's tokens, an ended
// grant) is false.
func loggedIn(ctx context.Context, f *Factory, name string) bool {
	src, err := f.Source(ctx, name)
	if err != nil {
		return false
	}
	rec, err := src.Record(ctx)
	if err != nil || rec == nil || src.CheckGrant(rec) != nil {
		return false
	}
	if rec.Problem != nil && rec.Problem.Kind == store.ProblemGrantEnded {
		return false
	}
	return rec.RefreshToken != "" || rec.AccessToken != "" && (rec.Expiry.IsZero() || clock.Now().Before(rec.Expiry))
}

// typedEnvName is newEnvName for a name a person typed (-e, init's
// question), refused too when it may be a secret pasted there
// (redact.MayBeSecret), which would be written into the configuration and said
// back. A name made of a Postman export's is not: it was not typed, and
// is written as the export has it.
func typedEnvName(conf *config.File, name string) error {
	if _, exists := conf.Settings[name]; !exists && redact.MayBeSecret(name) {
		return errSecretAsName
	}
	return newEnvName(conf, name)
}

// newEnvName refuses name for an environment conf does not configure yet
// when it is not one to give a new environment (store.ValidateNewEnvName),
// or differs from a configured one only in case: one configured already,
// "-prod" say, is still init's to update.
func newEnvName(conf *config.File, name string) error {
	if _, exists := conf.Settings[name]; exists {
		return nil
	}
	// Refused only once written, as the file's mistake: "rename one", of
	// an environment not yet there.
	for other := range conf.Settings {
		if strings.EqualFold(other, name) {
			return fmt.Errorf("it differs from the environment %s only in case, and a disk that ignores case (macOS, Windows) would keep both environments' tokens in one file (to change %s, use -e %s)", other, other, other)
		}
	}
	return store.ValidateNewEnvName(name)
}

// errSecretAsName is why a name that may be a secret (redact.MayBeSecret) names
// no new environment, in words that do not quote it.
var errSecretAsName = errors.New("it reads as a secret pasted there, not as a name (words of letters and a few digits, joined by '-' or '_', such as acme-prod2 or k8s-staging-eu)")

// badEnvName is store.ValidateEnvName's refusal of name, in words that do
// not quote a name that may be a secret (redact.MayBeSecret).
func badEnvName(name string) error {
	err := store.ValidateEnvName(name)
	if err != nil && redact.MayBeSecret(name) {
		return errSecretAsName
	}
	return err
}

// checkInitFlags reports a bad flag value as the flag it came from, before
// it could surface as a mistake at a line of the configuration file.
func checkInitFlags(env string, s config.EnvSettings) error {
	if env != "" {
		if err := badEnvName(env); err != nil {
			return usageErrorf("-e %s cannot name an environment: %v", redact.Name(env), err)
		}
	}
	if s.Provider != "" && !slices.Contains(config.Presets(), s.Provider) {
		return usageErrorf("--provider %s: unknown provider; use one of %s", shownChoice(s.Provider, config.Presets()), strings.Join(config.Presets(), ", "))
	}
	switch s.Grant {
	case "", config.GrantAuthorizationCode, config.GrantDeviceCode, config.GrantClientCredentials:
	default:
		return usageErrorf("--grant %s: use authorization_code, device_code or client_credentials", shownChoice(s.Grant, []string{config.GrantAuthorizationCode, config.GrantDeviceCode, config.GrantClientCredentials}))
	}
	for _, u := range []struct{ flag, val string }{{"--api-url", s.APIURL}, {"--auth-url", s.AuthURL}, {"--token-url", s.TokenURL}, {"--issuer", s.Issuer}, {"--device-auth-url", s.DeviceAuthURL}} {
		if u.val != "" {
			if err := config.CheckURL(strings.TrimSpace(u.val)); err != nil {
				return usageErrorf("%s: %v", u.flag, err)
			}
		}
	}
	if v := strings.TrimSpace(s.RedirectURI); v != "" {
		if u, err := url.Parse(v); err != nil || u.Scheme == "" || u.Host == "" {
			return usageErrorf("--redirect-uri %s: not an absolute URL such as %s", s.RedirectURI, config.DefaultRedirectURI)
		}
	}
	if err := checkSecretEnvFlag(s.ClientSecretEnv); err != nil {
		return err
	}
	if id := strings.TrimSpace(s.ClientID); slices.Contains(examplePlaceholders, strings.ToUpper(id)) {
		return usageErrorf("--client-id %s is the example's placeholder; give your app's OAuth identifier, from the provider's developer dashboard (FreeAgent: https://dev.freeagent.com)", id)
	}
	if s.ClientID != "" { // trimmed as pasted already
		if err := clientIDCheck(s.Provider)(s.ClientID); err != nil {
			return usageErrorf("--client-id: %v", err)
		}
	}
	if s.ClientSecretEnv != "" && s.ClientSecretCmd != "" {
		return usageErrorf("--client-secret-env and --client-secret-cmd cannot be used together: choose one place to get the client secret")
	}
	if s.ClientSecretKeyring && (s.ClientSecretEnv != "" || s.ClientSecretCmd != "") {
		return usageErrorf("--client-secret-keyring cannot be used with --client-secret-env or --client-secret-cmd: choose one place to get the client secret")
	}
	return checkClientAuthFlag(s)
}

// checkSecretEnvFlag checks --client-secret-env: the name of a variable,
// not the secret itself, which a newcomer may paste there. Such a value is
// not echoed, nor written where status would print it.
func checkSecretEnvFlag(name string) error {
	switch {
	case name == "":
		return nil
	case configfile.SecretForAName(name):
		return usageErrorf("--client-secret-env takes the name of the environment variable that holds the client secret, such as FREEAGENT_SECRET, and what was given looks like the secret itself (not shown); export FREEAGENT_SECRET=… and pass --client-secret-env FREEAGENT_SECRET")
	case !configfile.IsEnvVarName(name):
		return notAVariableName("--client-secret-env", name)
	}
	return nil
}

// notAVariableName refuses name, given to flag as a variable's name,
// without showing it: what is no name may be the secret itself, expanded
// by the shell (`--client-secret-env "$FREEAGENT_SECRET"`). Only the first
// character no name has is shown, or the name written with its $.
func notAVariableName(flag, name string) error {
	if rest, ok := strings.CutPrefix(name, "$"); ok && configfile.IsEnvVarName(rest) {
		return usageErrorf("%s takes the name of the environment variable without the $: %s %s", flag, flag, rest)
	}
	why := "is empty"
	for i, r := range name {
		if configfile.IsEnvVarName(name[:i+utf8.RuneLen(r)]) {
			continue
		}
		if i == 0 && unicode.IsDigit(r) {
			why = "starts with a digit, which no name does"
		} else {
			why = fmt.Sprintf("holds %q, which no name has", r)
		}
		break
	}
	return usageErrorf("%s takes the name of an environment variable, of letters, digits and _ (such as FREEAGENT_SECRET); what was given %s (the rest not shown, in case it is the secret itself)", flag, why)
}

// examplePlaceholders are the client ids the README's and --help's examples
// write, which a newcomer may copy as they are.
var examplePlaceholders = []string{"YOUR_ID", "ID"}

// defaultEnvName is the environment name a preset suggests.
func defaultEnvName(provider string) string {
	switch provider {
	case "freeagent-sandbox":
		return "sandbox"
	case "freeagent":
		return "production"
	}
	return ""
}

func askProvider(ctx context.Context, p *prompter) (string, error) {
	return p.choose(ctx, "Which provider?", []choice{
		{"freeagent-sandbox", "freeagent-sandbox  FreeAgent's sandbox, for trying things out"},
		{"freeagent", "freeagent          FreeAgent, with your real accounts"},
		{"xero", "xero               Xero"},
		{"quickbooks", "quickbooks         QuickBooks Online"},
		{"quickbooks-sandbox", "quickbooks-sandbox QuickBooks Online's sandbox companies"},
		{"google", "google             Google APIs"},
		{"microsoft", "microsoft          Microsoft Graph (Entra ID)"},
		{"generic", "generic            another OAuth 2.0 provider"},
	}, 1)
}

// askMissing asks for what s still lacks: a generic provider's URLs, the
// client id and where the client secret comes from.
func askMissing(ctx context.Context, p *prompter, s *config.EnvSettings) error {
	var err error
	if s.Provider == "" || s.Provider == "generic" {
		for _, u := range []struct {
			field    *string
			question string
		}{
			{&s.APIURL, "API root URL (such as https://api.example.com/)"},
			{&s.AuthURL, "Authorisation endpoint URL"},
			{&s.TokenURL, "Token endpoint URL"},
		} {
			if u.field == &s.AuthURL && s.Grant != "" && s.Grant != config.GrantAuthorizationCode {
				continue // only a browser log-in uses it
			}
			if *u.field == "" && (s.Issuer == "" || u.field == &s.APIURL) {
				if *u.field, err = p.ask(ctx, u.question, "", config.CheckURL); err != nil {
					return err
				}
			}
		}
	}
	isFreeAgent := strings.HasPrefix(s.Provider, "freeagent")
	if s.ClientID == "" {
		if isFreeAgent {
			fmt.Fprintln(p.out, "Your app's page in FreeAgent's developer dashboard (https://dev.freeagent.com) shows its OAuth identifier and secret.")
		}
		if s.ClientID, err = p.ask(ctx, "OAuth identifier (client ID)", "", clientIDCheck(s.Provider)); err != nil {
			return err
		}
	}
	if s.ClientAuth == string(freshtoken.ClientAuthPrivateKeyJWT) && s.KeyFile == "" {
		s.KeyFile, err = p.ask(ctx, "Private key file (PEM; its public half is registered with the provider)", "", checkKeyFileAnswer)
		return err
	}
	if s.ClientSecret != "" || s.ClientSecretEnv != "" || s.ClientSecretCmd != "" || s.ClientSecretKeyring || !config.SendsSecret(s.ClientAuth) {
		return nil
	}
	how, err := p.choose(ctx, "How should freshtoken get the client secret?", []choice{
		{"variable", "from an environment variable (recommended)"},
		{"command", `from a command that prints it, such as "pass show freeagent"`},
		{"config", "stored in the configuration file, readable by you alone"},
	}, 1)
	if err != nil {
		return err
	}
	switch how {
	case "variable":
		def := "CLIENT_SECRET"
		if isFreeAgent {
			def = "FREEAGENT_SECRET"
		}
		s.ClientSecretEnv, err = p.ask(ctx, "Variable name", def, func(v string) error {
			switch {
			case configfile.SecretForAName(v):
				return errors.New("that looks like the secret itself; give the name of the variable that holds it, such as FREEAGENT_SECRET, and export it in your shell")
			case strings.HasPrefix(v, "$") && configfile.IsEnvVarName(v[1:]):
				return fmt.Errorf("write the name without the $: %s", v[1:])
			case !configfile.IsEnvVarName(v):
				return fmt.Errorf("%q is not a variable name such as FREEAGENT_SECRET", v)
			}
			return nil
		})
	case "command":
		s.ClientSecretCmd, err = p.ask(ctx, "Command", "", nil)
	default:
		s.ClientSecret, err = p.secret(ctx, "Client secret")
	}
	return err
}

// offerLogin offers to log in at once, when the client secret can be had.
func offerLogin(ctx context.Context, f *Factory, p *prompter, e *config.Env) error {
	if _, err := e.ClientSecretValue(ctx); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "Not logging in yet (%v).\nThen run: %s\n", err, f.commandLine("login -e "+e.Name))
		return nil
	}
	yes, err := p.confirm(ctx, fmt.Sprintf("Log in to %s now?", e.Name), true)
	if errors.Is(err, errNoAnswer) { // the environment is written: only the offer went unanswered
		err = nil
	}
	if err != nil || !yes {
		if err == nil {
			fmt.Fprintf(f.IO.ErrOut, "When you are ready, run: %s\n", f.commandLine("login -e "+e.Name))
		}
		return err
	}
	f.EnvFlag = e.Name
	err = runLogin(ctx, &loginOptions{f: f, Timeout: login.DefaultTimeout})
	if err != nil && ctx.Err() != nil { // stopped, by a signal: the environment stays written
		return fmt.Errorf("%w; %s stays configured: when you are ready, run: %s", err, e.Name, f.commandLine("login -e "+e.Name))
	}
	return err
}

// trimSpaces trims what a paste brings along (a client id copied with a
// line end, a byte-order mark from a Windows file) from every text setting
// the flags give.
func trimSpaces(s *config.EnvSettings) {
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String {
			f.SetString(paste.Trim(f.String()))
		}
	}
}

// mergeSettings keeps what an existing environment had unless a flag
// replaces it.
func mergeSettings(prev, flags config.EnvSettings) config.EnvSettings {
	m := prev
	mergeClientAuth(&m, flags)
	// Every text setting a flag gives (--provider, --client-id, --key-file,
	// …) replaces the old one, so a new flag cannot be left out here; the
	// client secret's settings are replaced together below.
	to, from := reflect.ValueOf(&m).Elem(), reflect.ValueOf(flags)
	for i := range from.NumField() {
		if v := from.Field(i); v.Kind() == reflect.String && v.String() != "" {
			to.Field(i).SetString(v.String())
		}
	}
	if flags.ClientSecretEnv != "" || flags.ClientSecretCmd != "" || flags.ClientSecret != "" || flags.ClientSecretKeyring {
		m.ClientSecret, m.ClientSecretEnv, m.ClientSecretCmd = flags.ClientSecret, flags.ClientSecretEnv, flags.ClientSecretCmd
		m.ClientSecretKeyring = flags.ClientSecretKeyring
	}
	if flags.Scopes != nil {
		m.Scopes = flags.Scopes
	}
	return m
}

// keepClientSecret puts e's client secret into the system keychain: asked
// for without echo on a terminal (p), else read from stdin.
func keepClientSecret(ctx context.Context, f *Factory, p *prompter, e *config.Env) error {
	var secret string
	if p != nil {
		var err error
		if secret, err = p.secret(ctx, "Client secret (kept in the system keychain)"); err != nil {
			return unchanged(err)
		}
	} else {
		b, err := await.Result(ctx, func() ([]byte, error) { return io.ReadAll(io.LimitReader(f.IO.In, 64<<10)) })
		if err != nil {
			return unchanged(err)
		}
		var notesOnly bool
		if secret, notesOnly = paste.SecretLine(string(b)); notesOnly {
			return usageErrorf("--client-secret-keyring: the first line piped in is empty; %s; pipe it in with the secret first; nothing was written", paste.BlankFirstLine)
		}
	}
	if secret == "" {
		return usageErrorf("--client-secret-keyring: no client secret was given; pipe it in, as in `pass show freeagent | freshtoken init … --client-secret-keyring`; nothing was written")
	}
	if err := e.KeepClientSecret(ctx, secret); err != nil {
		return fmt.Errorf("the client secret could not be kept in the keychain: %w; nothing was written", err)
	}
	fmt.Fprintf(f.IO.ErrOut, "The client secret is kept in the %s.\n", e.ClientSecretWhere())
	return nil
}
