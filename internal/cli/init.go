package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken/internal/config"
)

type initOptions struct {
	f        *Factory
	Settings config.EnvSettings
	Scopes   string
}

func newInitCmd(f *Factory, runF func(*initOptions) error) *cobra.Command {
	opts := &initOptions{f: f}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Add or update an environment in the configuration",
		Long: `Write an environment into the configuration file (other environments and
comments are kept) and print the redirect URI to register with the provider.
The environment is named by -e; without it, freeagent-sandbox is called
"sandbox" and freeagent "production".`,
		Example: `  freshtoken init -e sandbox --provider freeagent-sandbox --client-id ID --client-secret-env FREEAGENT_SECRET
  freshtoken init -e production --provider freeagent --client-id ID --client-secret-cmd "pass show freeagent"
  freshtoken init -e myapi --provider generic --api-url https://api.example.com/ \
      --auth-url https://login.example.com/authorize --token-url https://login.example.com/token \
      --client-id ID --client-secret-env MYAPI_SECRET --scopes read,offline_access --client-auth body`,
		Args: exactArgs(0, "no arguments; the environment is named with -e"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runInit(cmd, opts)
		},
	}
	fl := cmd.Flags()
	s := &opts.Settings
	fl.StringVar(&s.Provider, "provider", "", "freeagent, freeagent-sandbox or generic")
	fl.StringVar(&s.ClientID, "client-id", "", "the app's OAuth identifier")
	fl.StringVar(&s.ClientSecretEnv, "client-secret-env", "", "read the client secret from this environment variable")
	fl.StringVar(&s.ClientSecretCmd, "client-secret-cmd", "", "run this command to get the client secret (e.g. \"pass show freeagent\")")
	fl.StringVar(&s.RedirectURI, "redirect-uri", "", "redirect URI registered with the provider (default "+config.DefaultRedirectURI+")")
	fl.StringVar(&s.APIURL, "api-url", "", "API root URL (presets fill it)")
	fl.StringVar(&s.AuthURL, "auth-url", "", "authorisation endpoint (presets fill it)")
	fl.StringVar(&s.TokenURL, "token-url", "", "token endpoint (presets fill it)")
	fl.StringVar(&s.ClientAuth, "client-auth", "", "how the client authenticates at the token endpoint: basic (default) or body")
	fl.StringVar(&opts.Scopes, "scopes", "", "comma-separated scopes to request")
	cmd.RegisterFlagCompletionFunc("provider", cobra.FixedCompletions(config.Presets(), cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("client-auth", cobra.FixedCompletions([]string{"basic", "body"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runInit(cmd *cobra.Command, opts *initOptions) error {
	f := opts.f
	s := opts.Settings
	if opts.Scopes != "" {
		for _, sc := range strings.Split(opts.Scopes, ",") {
			if sc = strings.TrimSpace(sc); sc != "" {
				s.Scopes = append(s.Scopes, sc)
			}
		}
	}
	name := f.EnvFlag
	if name == "" {
		switch s.Provider {
		case "freeagent-sandbox":
			name = "sandbox"
		case "freeagent":
			name = "production"
		default:
			return usageErrorf("name the environment with -e NAME")
		}
	}
	path, err := f.ConfigPath()
	if err != nil {
		return err
	}
	old, err := config.Load(path)
	if err != nil {
		return err
	}
	if prev, ok := old.Settings[name]; ok {
		s = mergeSettings(prev, s)
	}
	if s.ClientID == "" {
		return usageErrorf("--client-id is required: copy the OAuth identifier from the provider's developer dashboard")
	}
	conf, err := config.WriteEnv(path, name, s, true)
	if err != nil {
		return err
	}
	e := conf.Envs[name]
	fmt.Fprintf(f.IO.ErrOut, "Wrote environment %q to %s.\nRegister this redirect URI with the provider (for FreeAgent: the app's page in the developer dashboard), exactly as shown:\n", name, path)
	fmt.Fprintln(f.IO.Out, e.RedirectURI)
	fmt.Fprintf(f.IO.ErrOut, "Then run: freshtoken login -e %s\n", name)
	return nil
}

// mergeSettings keeps what an existing environment had unless a flag
// replaces it.
func mergeSettings(prev, flags config.EnvSettings) config.EnvSettings {
	pick := func(p *string, v string) {
		if v != "" {
			*p = v
		}
	}
	m := prev
	pick(&m.Provider, flags.Provider)
	pick(&m.ClientID, flags.ClientID)
	pick(&m.RedirectURI, flags.RedirectURI)
	pick(&m.APIURL, flags.APIURL)
	pick(&m.AuthURL, flags.AuthURL)
	pick(&m.TokenURL, flags.TokenURL)
	pick(&m.ClientAuth, flags.ClientAuth)
	if flags.ClientSecretEnv != "" || flags.ClientSecretCmd != "" || flags.ClientSecret != "" {
		m.ClientSecret, m.ClientSecretEnv, m.ClientSecretCmd = flags.ClientSecret, flags.ClientSecretEnv, flags.ClientSecretCmd
	}
	if flags.Scopes != nil {
		m.Scopes = flags.Scopes
	}
	return m
}
