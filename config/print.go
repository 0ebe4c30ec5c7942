package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
)

// A program may print or log what it loaded (%v, %+v, slog's text and JSON
// handlers, json.Marshal, in a struct of its own too): the client secret
// and the values of parameters named as secrets show masked, the store's
// URL without its user and password, and the webhook without its path,
// which holds its secret. A configuration is written as TOML (by init),
// which shows them as they are.

// String shows the environment with its secrets masked.
func (e Env) String() string { return e.printed().String() }

// GoString is String for %#v.
func (e Env) GoString() string { return e.printed().GoString() }

// LogValue is String for slog, whose JSON handler would otherwise marshal
// the fields, the secrets with them.
func (e Env) LogValue() slog.Value { return e.printed().LogValue() }

// MarshalJSON is the environment's fields, masked as String masks them.
func (e Env) MarshalJSON() ([]byte, error) { return e.printed().MarshalJSON() }

func (e Env) printed() redact.Printed {
	type shown Env
	e.AuthParams, e.TokenParams = redact.MaskParams(e.AuthParams), redact.MaskParams(e.TokenParams)
	maskEnv(&e.ClientSecret, &e.APIURL, &e.AuthURL, &e.TokenURL, &e.RedirectURI, &e.RevocationURL, &e.Issuer, &e.DeviceAuthURL)
	return redact.Printed{Name: "config.Env", Shown: shown(e)}
}

// maskEnv masks what an environment's fields hold of a secret, as loaded
// (Env) or as written (EnvSettings), but for its parameters: the client
// secret, and a key or a user in its URLs.
func maskEnv(secret *string, urls ...*string) {
	*secret = redact.MaskSet(*secret)
	redact.MaskURLs(urls...)
}

// String shows the environment as written with its secrets masked.
func (s EnvSettings) String() string { return s.printed().String() }

// GoString is String for %#v.
func (s EnvSettings) GoString() string { return s.printed().GoString() }

// LogValue is String for slog (see Env.LogValue).
func (s EnvSettings) LogValue() slog.Value { return s.printed().LogValue() }

// MarshalJSON is the environment's fields, masked as String masks them.
func (s EnvSettings) MarshalJSON() ([]byte, error) { return s.printed().MarshalJSON() }

// printed masks the settings' client secret and URLs; their Params mask
// themselves.
func (s EnvSettings) printed() redact.Printed {
	type shown EnvSettings
	maskEnv(&s.ClientSecret, &s.APIURL, &s.AuthURL, &s.TokenURL, &s.RedirectURI, &s.RevocationURL, &s.Issuer, &s.DeviceAuthURL)
	return redact.Printed{Name: "config.EnvSettings", Shown: shown(s)}
}

// String shows the parameters with the values of those named as secrets
// (password, api_key) masked.
func (p Params) String() string { return fmt.Sprint(redact.MaskParams(p)) }

// GoString is String for %#v.
func (p Params) GoString() string {
	if p == nil {
		return "config.Params(nil)"
	}
	return redact.Printed{Name: "config.Params", Shown: redact.MaskParams(p)}.GoString()
}

// LogValue is String for slog.
func (p Params) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalJSON is the parameters, masked as String masks them.
func (p Params) MarshalJSON() ([]byte, error) { return json.Marshal(redact.MaskParams(p)) }

// String shows how a person is told, the webhook without its path, which
// holds its secret, and the command masked: its arguments may hold a
// service's token (curl -F token=…, a chat bot's URL).
func (n Notify) String() string { return n.printed().String() }

// GoString is String for %#v.
func (n Notify) GoString() string { return n.printed().GoString() }

// LogValue is String for slog.
func (n Notify) LogValue() slog.Value { return n.printed().LogValue() }

// MarshalJSON is the fields, masked as String masks them.
func (n Notify) MarshalJSON() ([]byte, error) { return n.printed().MarshalJSON() }

func (n Notify) printed() redact.Printed {
	type shown Notify
	if n.Command != "" {
		n.Command = redact.Mask(n.Command)
	}
	if u, err := url.Parse(n.Webhook); n.Webhook != "" {
		if err != nil || u.Host == "" {
			n.Webhook = redact.Mask(n.Webhook)
		} else {
			n.Webhook = u.Scheme + "://" + u.Host + "/…"
		}
	}
	return redact.Printed{Name: "config.Notify", Shown: shown(n)}
}

// Envs is a configuration's environments by name. It prints as a map
// does, each environment as Env does, and logs so for slog: whose JSON
// handler would otherwise marshal the map, the secrets with it.
type Envs map[string]*Env

// LogValue is the map printed, for slog.
func (m Envs) LogValue() slog.Value { return slog.StringValue(fmt.Sprint(map[string]*Env(m))) }

// SettingsByEnv is a configuration's environments as written, by name. It
// prints and logs as Envs does.
type SettingsByEnv map[string]EnvSettings

// LogValue is the map printed, for slog.
func (m SettingsByEnv) LogValue() slog.Value {
	return slog.StringValue(fmt.Sprint(map[string]EnvSettings(m)))
}

// String shows the file with its secrets masked; its environments print
// as Env and EnvSettings do.
func (f File) String() string { return f.printed().String() }

// GoString is String for %#v.
func (f File) GoString() string { return f.printed().GoString() }

// LogValue is String for slog (see Env.LogValue).
func (f File) LogValue() slog.Value { return f.printed().LogValue() }

// MarshalJSON is the file's fields, masked as String masks them.
func (f File) MarshalJSON() ([]byte, error) { return f.printed().MarshalJSON() }

// printed masks the store's URL; the environments and Notify mask
// themselves.
func (f File) printed() redact.Printed {
	type shown File
	if f.StoreURL != "" {
		f.StoreURL = store.RedactURL(f.StoreURL)
	}
	return redact.Printed{Name: "config.File", Shown: shown(f)}
}
