package config

import (
	"fmt"
	"log/slog"
	"net/url"

	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
)

// A program may print or log what it loaded (%v, %+v, slog's text and JSON
// handlers): the client secret and the values of parameters named as
// secrets show masked, the store's URL without its user and password, and
// the webhook without its path, which holds its secret. (json.Marshal of
// them, which nothing of freshtoken does, shows them as they are: a
// configuration written out is the program's to keep as the file is kept.)

// String shows the environment with its secrets masked.
func (e Env) String() string { return e.printed().String() }

// GoString is String for %#v.
func (e Env) GoString() string { return e.printed().GoString() }

// LogValue is String for slog, whose JSON handler would otherwise marshal
// the fields, the secrets with them.
func (e Env) LogValue() slog.Value { return e.printed().LogValue() }

func (e Env) printed() redact.Printed {
	type shown Env
	maskEnv(&e.ClientSecret, &e.AuthParams, &e.TokenParams, &e.APIURL, &e.AuthURL, &e.TokenURL, &e.RedirectURI, &e.RevocationURL, &e.Issuer, &e.DeviceAuthURL)
	return redact.Printed{Name: "config.Env", Shown: shown(e)}
}

// maskEnv masks what an environment's fields hold of a secret, as loaded
// (Env) or as written (EnvSettings): the client secret, the values of
// parameters named as secrets, and a key or a user in its URLs.
func maskEnv[P ~map[string]string](secret *string, authParams, tokenParams *P, urls ...*string) {
	*secret = redact.MaskSet(*secret)
	*authParams, *tokenParams = P(redact.MaskParams(*authParams)), P(redact.MaskParams(*tokenParams))
	redact.MaskURLs(urls...)
}

// String shows the environment as written with its secrets masked.
func (s EnvSettings) String() string { return s.printed().String() }

// GoString is String for %#v.
func (s EnvSettings) GoString() string { return s.printed().GoString() }

// LogValue is String for slog (see Env.LogValue).
func (s EnvSettings) LogValue() slog.Value { return s.printed().LogValue() }

func (s EnvSettings) printed() redact.Printed {
	type shown EnvSettings
	maskEnv(&s.ClientSecret, &s.AuthParams, &s.TokenParams, &s.APIURL, &s.AuthURL, &s.TokenURL, &s.RedirectURI, &s.RevocationURL, &s.Issuer, &s.DeviceAuthURL)
	return redact.Printed{Name: "config.EnvSettings", Shown: shown(s)}
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

func (f File) printed() redact.Printed {
	type shown File
	if f.StoreURL != "" {
		f.StoreURL = store.RedactURL(f.StoreURL)
	}
	if u, err := url.Parse(f.Notify.Webhook); f.Notify.Webhook != "" {
		if err != nil || u.Host == "" {
			f.Notify.Webhook = redact.Mask(f.Notify.Webhook)
		} else {
			f.Notify.Webhook = u.Scheme + "://" + u.Host + "/…"
		}
	}
	return redact.Printed{Name: "config.File", Shown: shown(f)}
}
