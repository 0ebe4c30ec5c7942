// Package configrepair reads, for the command line, a configuration file
// that config.Load refuses for a mistake in one environment's own
// settings: remove takes that environment out, logout forgets its tokens,
// and init writes it again. Only package config can read a file so, and it
// sets LoadForRemoval and LoadForRepair when it is initialised; a program
// using freshtoken as a library has no use for them, so they are not part
// of config's API.
package configrepair

import "slices"

// Broken is an environment whose own settings Load refuses the
// configuration for, as LoadForRemoval reads it.
type Broken struct {
	// Unread are the settings left out: those refused, and those that
	// could not be read once they were (all of them when none could be).
	Unread []string
	// GrantKnown reports whether every setting that says whose stored
	// tokens are the environment's (every setting but those its tokens
	// are not bound to, such as client_secret, redirect_uri or timeout)
	// was read as written: only then can its tokens be told from those another
	// configuration stored under its name.
	GrantKnown bool
	// Whose are those of them that were not (refused, missing, or
	// misspelt, as written), when GrantKnown is false: nil when no one
	// of them can be named.
	Whose []string
}

// forRevocation are the settings, beside those of the grant, that a
// revocation of its tokens is made with: where it goes, and how the client
// proves itself there.
var forRevocation = []string{"revocation_url", "client_secret", "client_secret_env", "client_secret_cmd", "client_secret_keyring",
	"client_auth", "key_file", "key_id", "key_alg", "assertion_audience", "ca_file", "token_params"}

// Revocation are the settings left out (Unread) that a revocation of the
// environment's tokens would be made with, as written: a revocation
// without them could not be made as configured.
func (b *Broken) Revocation() []string {
	var left []string
	for _, k := range b.Unread {
		if slices.Contains(forRevocation, k) {
			left = append(left, k)
		}
	}
	return left
}

// LoadForRemoval is config.Load for taking the environment name out of
// the configuration at path. A mistake in that environment's own settings,
// for which Load refuses the whole file, is no reason to keep it: when the
// file is valid TOML and loads with the environment's table (and a
// default_env naming it) left out, it is returned so, with the environment
// read as far as its settings allow, those refused left out (its name and
// token_file alone when too little is left), and broken says what was not
// read. Otherwise the error is Load's, or that of the rest of the file.
//
// The file is a *config.File (nil with an error); package config sets
// this function, which cannot name its type here.
var LoadForRemoval func(path, name string) (file any, broken *Broken, err error)

// LoadForRepair is config.Load for init to write the environment name
// again: when Load refuses the file for a mistake in that environment's
// own settings alone (refused, a *config.Error), the file is as
// LoadForRemoval reads it (the environment in Envs as far as its settings
// allow) with the environment's settings as written (Settings[name]), so
// that init can replace what was refused. Otherwise it is Load's answer,
// as it is when what is written cannot all be kept: a value of the wrong
// type, or a key no setting takes (a misspelt one, a later freshtoken's),
// which writing the environment again would drop.
//
// The file is a *config.File (nil with an error); package config sets
// this function.
var LoadForRepair func(path, name string) (file any, refused error, err error)
