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
func (e Env) String() string {
	e.ClientSecret = redact.MaskSet(e.ClientSecret)
	e.AuthParams, e.TokenParams = redact.MaskParams(e.AuthParams), redact.MaskParams(e.TokenParams)
	maskURLs(&e.APIURL, &e.AuthURL, &e.TokenURL, &e.RedirectURI, &e.RevocationURL, &e.Issuer, &e.DeviceAuthURL)
	type shown Env
	return fmt.Sprintf("%+v", shown(e))
}

// maskURLs masks what a URL of an environment may hold of a secret: an API
// key in its query (api_url = "…?api_key=…"), a user.
func maskURLs(urls ...*string) {
	for _, u := range urls {
		*u = redact.URL(*u)
	}
}

// GoString is String for %#v.
func (e Env) GoString() string { return "config.Env" + e.String() }

// LogValue is String for slog, whose JSON handler would otherwise marshal
// the fields, the secrets with them.
func (e Env) LogValue() slog.Value { return slog.StringValue(e.String()) }

// String shows the environment as written with its secrets masked.
func (s EnvSettings) String() string {
	s.ClientSecret = redact.MaskSet(s.ClientSecret)
	s.AuthParams, s.TokenParams = redact.MaskParams(s.AuthParams), redact.MaskParams(s.TokenParams)
	maskURLs(&s.APIURL, &s.AuthURL, &s.TokenURL, &s.RedirectURI, &s.RevocationURL, &s.Issuer, &s.DeviceAuthURL)
	type shown EnvSettings
	return fmt.Sprintf("%+v", shown(s))
}

// GoString is String for %#v.
func (s EnvSettings) GoString() string { return "config.EnvSettings" + s.String() }

// LogValue is String for slog (see Env.LogValue).
func (s EnvSettings) LogValue() slog.Value { return slog.StringValue(s.String()) }

// String shows the file with its secrets masked; its environments print
// as Env and EnvSettings do.
func (f File) String() string {
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
	type shown File
	return fmt.Sprintf("%+v", shown(f))
}

// GoString is String for %#v.
func (f File) GoString() string { return "config.File" + f.String() }

// LogValue is String for slog (see Env.LogValue).
func (f File) LogValue() slog.Value { return slog.StringValue(f.String()) }
