package config

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// OpenOptions say which configured environment to open.
type OpenOptions struct {
	// Path is the TOML file; "" means $FRESHTOKEN_CONFIG, else
	// freshtoken/config.toml in the user's config folder.
	Path string
	// Env is the environment; "" means $FRESHTOKEN_ENV, else default_env,
	// else the only one configured.
	Env    string
	Logger *slog.Logger     // nil: discard
	Clock  func() time.Time // nil: time.Now
	// Sending is freshtoken.Options.Sending.
	Sending func(freshtoken.Renewal) (stored func())
}

// Path resolves the configuration file: flag if set, else
// $FRESHTOKEN_CONFIG, else the default in the user's config folder.
func Path(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if p := os.Getenv("FRESHTOKEN_CONFIG"); p != "" {
		return p, nil
	}
	return DefaultPath()
}

// Open returns the token source for a configured environment, in one call.
// It reads only the configuration: the store is first touched, and the
// client secret first fetched, when a token is needed.
func Open(ctx context.Context, o OpenOptions) (*freshtoken.Source, error) {
	path, err := Path(o.Path)
	if err != nil {
		return nil, err
	}
	f, err := Load(path)
	if err != nil {
		return nil, err
	}
	e, err := f.Select(o.Env)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(f.StoreURL)
	if err != nil {
		return nil, Invalidf("%s: token store: %v", path, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Debug("configuration", "config", path, "env", e.Name, "provider", e.Provider, "api_url", e.APIURL,
		"token_url", e.TokenURL, "grant", e.Grant, "client_auth", e.ClientAuth, "refresh_before", e.RefreshBefore, "store", st.Location(e.Name))
	return freshtoken.New(e.Settings(), freshtoken.Options{Store: st, Logger: log, Clock: o.Clock, Sending: o.Sending})
}

// Settings are the engine's settings for e.
func (e *Env) Settings() freshtoken.Settings {
	s := freshtoken.Settings{
		Env:             e.Name,
		ClientID:        e.ClientID,
		AuthURL:         e.AuthURL,
		TokenURL:        e.TokenURL,
		RevocationURL:   e.RevocationURL,
		APIURL:          e.APIURL,
		Scopes:          e.Scopes,
		RenewBefore:     e.RefreshBefore,
		Timeout:         e.Timeout,
		DefaultLifetime: e.DefaultLifetime,
		IdleLimit:       e.IdleLimit,
		KeepAccess:      e.TokenFile != "",
		Grant:           engineGrant(e.Grant),
		DeviceAuthURL:   e.DeviceAuthURL,
	}
	e.clientAuthSettings(&s)
	return s
}

// OpenStore returns the store [store] url names: a folder by default, or a
// Redis database that many machines share.
func OpenStore(storeURL string) (store.Store, error) {
	if IsRedisURL(storeURL) {
		if u, err := url.Parse(storeURL); err == nil {
			if pw, ok := u.User.Password(); ok {
				redact.Register(pw) // never shown, should a message repeat it
			}
		}
		return redisstore.New(storeURL)
	}
	dir, err := StoreDir(storeURL)
	if err != nil {
		return nil, err
	}
	return filestore.New(dir), nil
}
