package config

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/paste"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// This file holds what the system keychain adds to the configuration (the
// keyring:// store URL and client_secret_keyring), and what moving between
// stores needs.

// IsKeyringURL reports whether storeURL names the system keychain.
func IsKeyringURL(storeURL string) bool {
	return strings.HasPrefix(strings.ToLower(storeURL), "keyring:")
}

// openKeyringStore is the keychain store a keyring:// URL names, with its
// renewal lock files in configfile.KeyringLockDir.
func openKeyringStore(storeURL string) (store.Store, error) {
	svc, err := configfile.KeyringService(storeURL)
	if err != nil {
		return nil, err
	}
	dir, err := configfile.KeyringLockDir()
	if err != nil {
		return nil, err
	}
	return keyringstore.New(svc, dir), nil
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
