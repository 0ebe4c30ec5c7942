package freshtoken

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/config"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// OpenOptions say which configured environment to open.
type OpenOptions struct {
	// ConfigPath is the TOML file; "" means $FRESHTOKEN_CONFIG, else
	// freshtoken/config.toml in the user's config folder.
	ConfigPath string
	// Env is the environment; "" means $FRESHTOKEN_ENV, else default_env,
	// else the only one configured.
	Env    string
	Logger *slog.Logger     // nil: discard
	Clock  func() time.Time // nil: time.Now
	// Sending is Options.Sending.
	Sending func(Renewal) (stored func())
}

// ConfigPath resolves the configuration file the way Open does.
func ConfigPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if p := os.Getenv("FRESHTOKEN_CONFIG"); p != "" {
		return p, nil
	}
	return config.DefaultPath()
}

// Open returns the Source for a configured environment. It reads only the
// configuration: the store is first touched, and the client secret first
// fetched, when a token is needed.
func Open(ctx context.Context, o OpenOptions) (*Source, error) {
	path, err := ConfigPath(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	f, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	e, err := f.Select(o.Env)
	if err != nil {
		return nil, err
	}
	st, err := openStore(f.StoreURL)
	if err != nil {
		return nil, config.Invalidf("%s: token store: %v", path, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Debug("configuration", "config", path, "env", e.Name, "provider", e.Provider, "api_url", e.APIURL,
		"token_url", e.TokenURL, "client_auth", e.ClientAuth, "refresh_before", e.RefreshBefore, "store", st.Location(e.Name))
	style := oauth2.AuthStyleInHeader
	if e.ClientAuth == "body" {
		style = oauth2.AuthStyleInParams
	}
	return New(Settings{
		Env:              e.Name,
		ClientID:         e.ClientID,
		ClientSecretFunc: e.ClientSecretValue,
		AuthURL:          e.AuthURL,
		TokenURL:         e.TokenURL,
		APIURL:           e.APIURL,
		Scopes:           e.Scopes,
		AuthStyle:        style,
		RenewBefore:      e.RefreshBefore,
		Timeout:          e.Timeout,
		DefaultLifetime:  e.DefaultLifetime,
	}, Options{Store: st, Logger: log, Clock: o.Clock, Sending: o.Sending})
}

// openStore returns the store [store] url names: a folder by default, or a
// Redis database that many machines share.
func openStore(storeURL string) (store.Store, error) {
	if config.IsRedisURL(storeURL) {
		if u, err := url.Parse(storeURL); err == nil {
			if pw, ok := u.User.Password(); ok {
				redact.Register(pw) // never shown, should a message repeat it
			}
		}
		return redisstore.New(storeURL)
	}
	dir, err := config.StoreDir(storeURL)
	if err != nil {
		return nil, err
	}
	return filestore.New(dir), nil
}
