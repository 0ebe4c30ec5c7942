package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/paste"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// This file holds what the system keychain adds to the configuration (the
// keyring:// store URL and client_secret_keyring), and what moving between
// stores needs.

// IsKeyringURL reports whether storeURL names the system keychain.
func IsKeyringURL(storeURL string) bool {
	return strings.HasPrefix(strings.ToLower(storeURL), "keyring:")
}

// keyringService returns the service name a keyring:// URL gives: the
// service query parameter, else keyringstore.DefaultService. The URL has no
// host, path or other parameter.
func keyringService(storeURL string) (string, error) {
	const write = "write keyring://, or keyring://?service=NAME to keep these tokens apart from others"
	u, err := url.Parse(storeURL)
	var q url.Values
	if err == nil {
		// Strictly: u.Query() drops a service=… it cannot read, and the
		// default service's tokens were mixed with these.
		q, err = url.ParseQuery(u.RawQuery)
	}
	if err != nil {
		return "", errors.New("not a valid URL" + badEscape(err) + "; " + write)
	}
	if u.Opaque != "" || u.Host != "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return "", fmt.Errorf("%q is not a keychain URL; %s", store.RedactURL(storeURL), write)
	}
	for k := range q {
		if k != "service" {
			return "", fmt.Errorf("keyring:// takes one option, service, not %q", k)
		}
	}
	if !q.Has("service") {
		return keyringstore.DefaultService, nil
	}
	svc := strings.TrimSpace(q.Get("service"))
	if svc == "" {
		return "", errors.New("keyring://?service= needs a name, such as keyring://?service=freshtoken-work")
	}
	if !httpx.PrintableASCII(svc) {
		return "", errors.New("keyring://?service= takes a name of printable ASCII characters, such as keyring://?service=freshtoken-work")
	}
	return svc, nil
}

// openKeyringStore is the keychain store a keyring:// URL names, with its
// renewal lock files in keyringLockDir.
func openKeyringStore(storeURL string) (store.Store, error) {
	svc, err := keyringService(storeURL)
	if err != nil {
		return nil, err
	}
	dir, err := keyringLockDir()
	if err != nil {
		return nil, err
	}
	return keyringstore.New(svc, dir), nil
}

// keyringLockDir is the folder of the keychain's renewal lock files: the
// home folder's default state folder, whatever $XDG_STATE_HOME says. The
// keychain is one per user, so every process of the user must take the
// same locks; with $XDG_STATE_HOME, a process without the shell's (a cron
// job, a service, a sandboxed terminal) locked elsewhere and renewed with
// the same refresh token at once, and the provider ended the grant.
func keyringLockDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your home folder (%v), where the keychain's renewal locks are kept; set $HOME", err)
	}
	return filepath.Join(home, ".local", "state", "freshtoken"), nil
}

// StoreID names the records a store URL's store holds: two URLs with the
// same ID are one store, however they are written.
func StoreID(storeURL string) (string, error) {
	switch {
	case IsRedisURL(storeURL):
		return redisstore.ID(storeURL)
	case IsKeyringURL(storeURL):
		svc, err := keyringService(storeURL)
		return "keyring:" + svc, err
	}
	dir, err := StoreDir(storeURL)
	return "file:" + resolved(dir), err
}

// LockDomain says which renewal locks a store URL's store takes: two URLs
// with the same domain share their locks, so one process must not take an
// environment's lock through both.
func LockDomain(storeURL string) (string, error) {
	switch {
	case IsRedisURL(storeURL):
		return redisstore.ID(storeURL) // the lock is a key beside the record
	case IsKeyringURL(storeURL):
		if _, err := keyringService(storeURL); err != nil {
			return "", err
		}
		dir, err := keyringLockDir()
		return resolved(dir), err
	}
	dir, err := StoreDir(storeURL)
	return resolved(dir), err
}

// resolved is the folder dir with the symbolic links on its path followed
// (as macOS's /tmp is /private/tmp), so that one folder has one name
// however it is reached; a folder not yet made, those on the path to the
// nearest folder above it that is, so that it keeps its name once made (a
// move into it noted it before it was made).
func resolved(dir string) string {
	below := ""
	for at := dir; ; at = filepath.Dir(at) {
		if real, err := filepath.EvalSymlinks(at); err == nil {
			return filepath.Join(real, below)
		}
		if at == filepath.Dir(at) {
			return dir
		}
		below = filepath.Join(filepath.Base(at), below)
	}
}

// secretHolder is whom e's client secret is sent to: the issuer, else the
// token endpoint. A secret in the keychain is kept for one client id at
// one of them.
func (e *Env) secretHolder() string {
	if e.Issuer != "" {
		return e.Issuer
	}
	return e.TokenURL
}

// NewEnv is the environment s describes under name, resolved as Load
// resolves it (presets, defaults), for what has to happen before it is
// written, such as keeping its client secret in the keychain.
func NewEnv(name string, s EnvSettings) (*Env, error) { return resolve(name, s) }

// KeepClientSecret puts secret into the system keychain as e's, where
// client_secret_keyring reads it.
func (e *Env) KeepClientSecret(ctx context.Context, secret string) error {
	return e.secretElsewhere(keyringstore.SetClientSecret(ctx, e.ClientID, e.secretHolder(), secret))
}

// ForgetClientSecret removes e's client secret from the system keychain
// (where KeepClientSecret put it); none there is no error.
func (e *Env) ForgetClientSecret(ctx context.Context) error {
	return e.secretElsewhere(keyringstore.DeleteClientSecret(ctx, e.ClientID, e.secretHolder()))
}

// KeychainHoldsClientSecret reports whether the system keychain holds a
// client secret for e's client at e's provider, where
// client_secret_keyring reads it; an error when the keychain cannot be
// asked.
func (e *Env) KeychainHoldsClientSecret(ctx context.Context) (bool, error) {
	_, held, err := e.KeychainClientSecret(ctx)
	return held, err
}

// KeychainClientSecret is the client secret the system keychain holds for
// e's client at e's provider, and whether it holds one; an error when the
// keychain cannot be asked.
func (e *Env) KeychainClientSecret(ctx context.Context) (secret string, held bool, err error) {
	secret, err = keyringstore.ClientSecret(ctx, e.ClientID, e.secretHolder())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return secret, true, nil
}

// secretElsewhere gives err, when the keychain could not be used for e's
// client secret, the command that keeps it in a variable instead.
func (e *Env) secretElsewhere(err error) error {
	return keyringstore.WithFix(err, fmt.Sprintf("or keep the client secret in an environment variable instead (freshtoken init -e %s --client-secret-env NAME)", e.Name))
}

// clientSecretFromKeyring returns e's client secret from the keychain.
func (e *Env) clientSecretFromKeyring(ctx context.Context) (string, error) {
	v, err := keyringstore.ClientSecret(ctx, e.ClientID, e.secretHolder())
	if errors.Is(err, store.ErrNotFound) {
		return "", Invalidf("environment %s: client_secret_keyring is set, but the system keychain holds no client secret for client %q at %s; put it there with `freshtoken init -e %s --client-secret-keyring`",
			e.Name, e.ClientID, e.secretHolder(), e.Name)
	}
	if err != nil {
		return "", e.secretElsewhere(err)
	}
	// One an older freshtoken kept whole, `pass show`'s notes after it.
	secret, notesOnly := paste.SecretLine(v)
	if notesOnly {
		return "", Invalidf("environment %s: the client secret in the system keychain has an empty first line; %s; put it there again with `freshtoken init -e %s --client-secret-keyring`", e.Name, paste.BlankFirstLine, e.Name)
	}
	return secret, nil
}

// ClientSecretWhere says where e's client secret is kept, for people, and
// never the secret: the keychain, an environment variable, a command's
// output, the config file, or nowhere (a public client).
func (e *Env) ClientSecretWhere() string {
	switch {
	case e.ClientSecretKeyring:
		return keyringstore.ClientSecretLocation(e.ClientID, e.secretHolder())
	case strings.TrimSpace(e.ClientSecret) != "":
		return "the config file"
	case e.ClientSecretEnv != "":
		return "$" + e.ClientSecretEnv
	case e.ClientSecretCmd != "":
		return "the output of client_secret_cmd"
	}
	if e.MissingClientSecret() != "" {
		return "none"
	}
	return "none (a public client)"
}
