package cli

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/extraparams"
)

// extraFlags are init's flags for how the client authenticates without a
// secret and what extras its requests carry.
type extraFlags struct {
	Resources   []string
	AuthParams  []string // KEY=VALUE
	TokenParams []string
}

func (x *extraFlags) add(fl *pflag.FlagSet, s *config.EnvSettings) {
	fl.StringVar(&s.KeyFile, "key-file", "", "the PEM private key of --client-auth private_key_jwt (its public half is registered with the provider)")
	fl.StringVar(&s.KeyID, "key-id", "", "the key's id at the provider (the assertions' kid)")
	fl.StringVar(&s.KeyAlg, "key-alg", "", "the signing algorithm: "+strings.Join(config.KeyAlgs(), ", ")+" (default: RS256 for RSA, ES256 or ES384 for EC)")
	fl.StringVar(&s.Audience, "audience", "", "the API the tokens are for, as the provider names it (its audience parameter)")
	fl.Var((*repeatable)(&x.Resources), "resource", "the API's URI as RFC 8707 resource indicator (repeat for several)")
	fl.Var((*repeatable)(&x.AuthParams), "auth-param", "KEY=VALUE added to the authorization request, such as prompt=consent (repeatable)")
	fl.Var((*repeatable)(&x.TokenParams), "token-param", "KEY=VALUE added to every token request (repeatable)")
}

// apply puts the flags into s, checking each as the flag it came from.
func (x *extraFlags) apply(s *config.EnvSettings) error {
	for _, r := range x.Resources {
		if u, err := url.Parse(r); err != nil || !u.IsAbs() || u.Fragment != "" {
			return usageErrorf("--resource %s: not an absolute URI without a fragment, such as https://api.example.com/", r)
		}
		s.Resource = append(s.Resource, r)
	}
	var err error
	if s.AuthParams, err = paramFlags("--auth-param", x.AuthParams, extraparams.CheckAuth); err != nil {
		return err
	}
	if s.TokenParams, err = paramFlags("--token-param", x.TokenParams, extraparams.CheckToken); err != nil {
		return err
	}
	if s.KeyFile != "" {
		if s.KeyFile, err = filepath.Abs(s.KeyFile); err != nil {
			return usageErrorf("--key-file: %v", err)
		}
		if _, err := config.ReadClientKey(s.KeyFile); err != nil {
			return usageErrorf("--key-file %v", err)
		}
	}
	return nil
}

// ownParamFlags are the flags for parameters --auth-param and
// --token-param may not set.
var ownParamFlags = map[string]string{"Scopes": "--scopes", "Audience": "--audience", "Resources": "--resource"}

func paramFlags(flag string, pairs []string, check func(string) error) (config.Params, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := config.Params{}
	for _, kv := range pairs {
		// The value is never shown: it may be a secret (client_secret=…),
		// and so may what is given without a KEY= (a secret pasted alone).
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok || strings.TrimSpace(k) == "":
			return nil, usageErrorf("%s takes KEY=VALUE, such as prompt=consent; what was given has no KEY= (it is not shown, as it may be a secret)", flag)
		case strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			return nil, usageErrorf("%s %q=…: a parameter's name has no white space or control characters; write KEY=VALUE, such as prompt=consent", flag, k)
		}
		var own *extraparams.OwnError
		switch err := check(k); {
		case errors.As(err, &own) && own.Setting == "":
			return nil, usageErrorf("%s %s=…: freshtoken sets %q itself", flag, k, k)
		case errors.As(err, &own):
			return nil, usageErrorf("%s %s=…: %q has a flag of its own: use %s", flag, k, k, ownParamFlags[own.Setting])
		case err != nil:
			return nil, usageErrorf("%s %s=…: %v", flag, k, err)
		}
		out[k] = v
	}
	return out, nil
}

// clientAuthNames are the values --client-auth takes.
func clientAuthNames() []string {
	auths := freshtoken.ClientAuths()
	names := make([]string, len(auths))
	for i, a := range auths {
		names[i] = string(a)
	}
	return names
}

// checkClientAuthFlag checks --client-auth and --key-alg.
func checkClientAuthFlag(s config.EnvSettings) error {
	if s.ClientAuth != "" && !slices.Contains(freshtoken.ClientAuths(), freshtoken.ClientAuth(s.ClientAuth)) {
		return usageErrorf("--client-auth %s: use basic, body, none or private_key_jwt", shownChoice(s.ClientAuth, clientAuthNames()))
	}
	if s.KeyAlg != "" && !slices.Contains(config.KeyAlgs(), s.KeyAlg) {
		return usageErrorf("--key-alg %s: use one of %s", shownChoice(s.KeyAlg, config.KeyAlgs()), strings.Join(config.KeyAlgs(), ", "))
	}
	return nil
}

// mergeClientAuth keeps what an existing environment had of the client's
// authentication and extras unless a flag replaces it (mergeSettings
// replaces the text settings a flag gives, such as --key-file). A client
// authentication that uses no secret drops the old secret, and one that
// uses no key drops the old key.
func mergeClientAuth(m *config.EnvSettings, flags config.EnvSettings) {
	if !config.SendsSecret(flags.ClientAuth) {
		m.ClientSecret, m.ClientSecretEnv, m.ClientSecretCmd, m.ClientSecretKeyring = "", "", "", false
	}
	if flags.ClientAuth != "" && flags.ClientAuth != string(freshtoken.ClientAuthPrivateKeyJWT) {
		m.KeyFile, m.KeyID, m.KeyAlg, m.AssertionAudience = "", "", "", nil
	}
	if flags.Resource != nil {
		m.Resource = flags.Resource
	}
	for _, t := range []struct {
		into *config.Params
		from config.Params
	}{{&m.AuthParams, flags.AuthParams}, {&m.TokenParams, flags.TokenParams}} {
		if len(t.from) > 0 && *t.into == nil {
			*t.into = config.Params{}
		}
		for k, v := range t.from {
			(*t.into)[k] = v
		}
	}
}

// checkKeyFileAnswer checks the answer to the question for the key file.
func checkKeyFileAnswer(v string) error {
	if !filepath.IsAbs(v) {
		return fmt.Errorf("%q is not an absolute path", v)
	}
	_, err := config.ReadClientKey(v)
	return err
}
