package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/extraparams"
)

// Strings is a list of strings that may also be written as one string:
// resource = "https://api.example.com" or resource = ["…", "…"].
type Strings []string

// UnmarshalTOML implements toml.Unmarshaler.
func (s *Strings) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		*s = Strings{x}
	case []any:
		out := make(Strings, 0, len(x))
		for _, e := range x {
			str, ok := e.(string)
			if !ok {
				return fmt.Errorf("%v is not a string; write a string or a list of strings", e)
			}
			out = append(out, str)
		}
		*s = out
	default:
		return fmt.Errorf("%v is not a string or a list of strings", v)
	}
	return nil
}

// Params is a table of extra request parameters, such as
// auth_params = { prompt = "consent" }. Numbers and booleans are sent as
// they are written.
type Params map[string]string

// UnmarshalTOML implements toml.Unmarshaler.
func (p *Params) UnmarshalTOML(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("is not a table such as { prompt = \"consent\" }")
	}
	out := Params{}
	for k, e := range m {
		switch x := e.(type) {
		case string:
			out[k] = x
		case int64:
			out[k] = strconv.FormatInt(x, 10)
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			return fmt.Errorf("%s: %v is not a string, number or boolean", k, e)
		}
	}
	*p = out
	return nil
}

// MarshalTOML implements toml.Marshaler: an inline table, in key order,
// which stays inside the environment's table when written.
func (p Params) MarshalTOML() ([]byte, error) {
	keys := slices.Sorted(maps.Keys(p))
	var b strings.Builder
	b.WriteString("{ ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		kq := k
		if !isBareKey(k) {
			var err error
			if kq, err = tomlString(k); err != nil {
				return nil, err
			}
		}
		vq, err := tomlString(p[k])
		if err != nil {
			return nil, err
		}
		b.WriteString(kq + " = " + vq)
	}
	b.WriteString(" }")
	return []byte(b.String()), nil
}

// isBareKey reports whether TOML takes k without quotes.
func isBareKey(k string) bool {
	return k != "" && strings.Trim(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
}

// tomlString is s as a TOML string, quoted and escaped by the encoder.
func tomlString(s string) (string, error) {
	b, err := toml.Marshal(map[string]string{"v": s})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimPrefix(string(b), "v = ")), nil
}

// ownParamKeys are the configuration keys of the settings that set a
// parameter auth_params or token_params may not repeat.
var ownParamKeys = map[string]string{"Scopes": "scopes", "Audience": "audience", "Resources": "resource"}

// paramProblem says why an auth_params or token_params key cannot be
// used, or returns "".
func paramProblem(check func(string) error, key string) string {
	err := check(key)
	var own *extraparams.OwnError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &own) && own.Setting == "":
		return fmt.Sprintf("freshtoken sets %q itself; remove it from the table", key)
	case errors.As(err, &own):
		return fmt.Sprintf("%q has a key of its own; set %s instead", key, ownParamKeys[own.Setting])
	}
	return err.Error()
}

// KeyAlgs are the values key_alg takes. Each call returns a new slice, the
// caller's to change.
func KeyAlgs() []string { return []string{"RS256", "PS256", "ES256", "ES384"} }

// resolveClientAuth checks client_auth and what goes with it (the client
// secret, key_file, key_id, key_alg, assertion_audience), and the request
// extras (audience, resource, auth_params, token_params), into e.
func resolveClientAuth(e *Env, r EnvSettings, bad func(key, format string, args ...any) error) error {
	if e.ClientAuth == "" {
		e.ClientAuth = string(freshtoken.ClientAuthBasic)
	}
	if !slices.Contains(freshtoken.ClientAuths(), freshtoken.ClientAuth(e.ClientAuth)) {
		return bad("client_auth", "%q is not \"basic\", \"body\", \"none\" or \"private_key_jwt\"", e.ClientAuth)
	}
	if !SendsSecret(e.ClientAuth) {
		keyring := ""
		if e.ClientSecretKeyring {
			keyring = "true"
		}
		for _, s := range []struct{ key, val string }{{"client_secret", e.ClientSecret}, {"client_secret_env", e.ClientSecretEnv}, {"client_secret_cmd", e.ClientSecretCmd}, {"client_secret_keyring", keyring}} {
			if s.val != "" {
				return bad(s.key, "a client with client_auth = %q sends no client secret; remove %s", e.ClientAuth, s.key)
			}
		}
	}
	e.KeyFile, e.KeyID, e.KeyAlg = strings.TrimSpace(r.KeyFile), strings.TrimSpace(r.KeyID), strings.TrimSpace(r.KeyAlg)
	e.AssertionAudience = r.AssertionAudience
	if e.ClientAuth == "private_key_jwt" {
		switch {
		case e.KeyFile == "":
			return bad("key_file", "missing; client_auth = \"private_key_jwt\" signs with the private key in this PEM file, whose public half is registered with the provider")
		case !filepath.IsAbs(e.KeyFile):
			return bad("key_file", "%s", notAbsolute(e.KeyFile, ""))
		case e.KeyAlg != "" && !slices.Contains(KeyAlgs(), e.KeyAlg):
			return bad("key_alg", "%q is not one of %s", e.KeyAlg, strings.Join(KeyAlgs(), ", "))
		}
		e.KeyFile = filepath.Clean(e.KeyFile)
	} else {
		for _, k := range []struct{ key, val string }{{"key_file", e.KeyFile}, {"key_id", e.KeyID}, {"key_alg", e.KeyAlg}, {"assertion_audience", strings.Join(e.AssertionAudience, "")}} {
			if k.val != "" {
				return bad(k.key, "is only for client_auth = \"private_key_jwt\"")
			}
		}
	}
	e.Audience = strings.TrimSpace(r.Audience)
	for _, res := range r.Resource {
		res = strings.TrimSpace(res)
		if u, err := url.Parse(res); err != nil || !u.IsAbs() || u.Fragment != "" {
			return bad("resource", "%q is not an absolute URI without a fragment (RFC 8707), such as https://api.example.com/", res)
		}
		e.Resources = append(e.Resources, res)
	}
	for _, t := range []struct {
		key   string
		check func(string) error
		from  Params
		into  *map[string]string
	}{{"auth_params", extraparams.CheckAuth, r.AuthParams, &e.AuthParams}, {"token_params", extraparams.CheckToken, r.TokenParams, &e.TokenParams}} {
		for _, k := range slices.Sorted(maps.Keys(t.from)) {
			if p := paramProblem(t.check, k); p != "" {
				return bad(t.key+"."+k, "%s", p)
			}
		}
		if len(t.from) > 0 {
			*t.into = map[string]string(t.from)
		}
	}
	return nil
}

// SendsSecret reports whether a client whose client_auth is clientAuth
// authenticates with a client secret: basic (the default, "") or body.
func SendsSecret(clientAuth string) bool {
	return clientAuth == "" || clientAuth == "basic" || clientAuth == "body"
}

// clientAuthSettings fills in s how the client authenticates and the
// extras its requests carry.
func (e *Env) clientAuthSettings(s *freshtoken.Settings) {
	s.ClientAuth = freshtoken.ClientAuth(e.ClientAuth)
	if SendsSecret(e.ClientAuth) {
		s.ClientSecretFunc = e.ClientSecretValue
	}
	if e.ClientAuth == "private_key_jwt" {
		s.ClientKey = &freshtoken.ClientKey{Load: e.ClientKey, ID: e.KeyID, Algorithm: e.KeyAlg, Audience: e.AssertionAudience}
	}
	s.Audience, s.Resources, s.AuthParams, s.TokenParams = e.Audience, e.Resources, e.AuthParams, e.TokenParams
}
