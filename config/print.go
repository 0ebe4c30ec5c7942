package config

import (
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
)

// A program may print or log what it loaded (%v, %+v, slog): the client
// secret and the values of parameters named as secrets show masked, the
// store's URL without its user and password, and the webhook without its
// path, which holds its secret.

// String shows the environment with its secrets masked.
func (e Env) String() string {
	e.ClientSecret = maskSecret(e.ClientSecret)
	e.AuthParams, e.TokenParams = maskedParams(e.AuthParams), maskedParams(e.TokenParams)
	type shown Env
	return fmt.Sprintf("%+v", shown(e))
}

// GoString is String for %#v.
func (e Env) GoString() string { return "config.Env" + e.String() }

// String shows the environment as written with its secrets masked.
func (s EnvSettings) String() string {
	s.ClientSecret = maskSecret(s.ClientSecret)
	s.AuthParams, s.TokenParams = maskedParams(s.AuthParams), maskedParams(s.TokenParams)
	type shown EnvSettings
	return fmt.Sprintf("%+v", shown(s))
}

// GoString is String for %#v.
func (s EnvSettings) GoString() string { return "config.EnvSettings" + s.String() }

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

func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	return redact.Mask(s)
}

// maskedParams is a copy of params with the values named as secrets masked.
func maskedParams(params map[string]string) map[string]string {
	params = maps.Clone(params)
	for k, v := range params {
		if redact.IsSecretKey(strings.TrimSpace(k)) {
			params[k] = redact.Mask(v)
		}
	}
	return params
}
