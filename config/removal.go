package config

import (
	"bytes"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/freshtoken/freshtoken/internal/configfile"
)

// BrokenEnv is an environment whose own settings Load refuses the
// configuration for, as LoadForRemoval reads it.
type BrokenEnv struct {
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

// LoadForRemoval is Load for taking the environment name out of the
// configuration at path. A mistake in that environment's own settings,
// for which Load refuses the whole file, is no reason to keep it: when the
// file is valid TOML and loads with the environment's table (and a
// default_env naming it) left out, it is returned so, with the environment
// read as far as its settings allow, those refused left out (its name
// and token_file alone when too little is left), and broken says what was
// not read. Otherwise the error is Load's, or that of the rest of the file.
func LoadForRemoval(path, name string) (f *File, broken *BrokenEnv, err error) {
	data, info, err := configfile.Read(path)
	if err != nil {
		f, err := Load(path) // a file not there loads as an empty one
		return f, nil, err
	}
	f, loadErr := load(path, data, info)
	if loadErr == nil || !errors.Is(loadErr, ErrInvalid) {
		return f, nil, loadErr
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		return nil, nil, loadErr // where the table ends cannot be told
	}
	lines := configfile.SplitLines(text)
	scan := configfile.OutsideStrings(lines)
	start, end, err := configfile.TableSpan(path, scan, "env."+name)
	if err != nil { // which the edit could not take out
		return nil, nil, fileError(err)
	}
	if start < 0 {
		return nil, nil, loadErr
	}
	// Blanked line for line, so that what load says of the rest names
	// the file's own lines.
	rest, own := slices.Clone(lines), slices.Clone(lines)
	isDefault := false
	for i := range lines {
		in := i >= start && i < end
		if !in && configfile.NamesDefault(scan[i], name) {
			isDefault = true
			rest[i] = ""
		}
		if in {
			rest[i] = ""
		} else {
			own[i] = ""
		}
	}
	f, err = load(path, []byte(strings.Join(rest, "\n")), info)
	if err != nil {
		return nil, nil, err
	}
	if isDefault {
		f.DefaultEnv = name
	}
	e, broken := f.readBroken(name, strings.Join(own, "\n"))
	f.Envs[name] = e
	return f, broken, nil
}

// LoadForRepair is Load for init to write the environment name again:
// when Load refuses the file for a mistake in that environment's own
// settings alone (refused), f is the file as LoadForRemoval reads it (the
// environment in Envs as far as its settings allow) with the environment's
// settings as written (Settings[name]), so that init can replace what was
// refused. Otherwise it is Load's answer, as it is when what is written
// cannot all be kept: a value of the wrong type, or a key no setting takes
// (a misspelt one, a later freshtoken's), which writing the environment
// again would drop.
func LoadForRepair(path, name string) (f *File, refused *Error, err error) {
	f, err = Load(path)
	if err == nil || name == "" || !errors.As(err, &refused) {
		return f, nil, err
	}
	rest, broken, rerr := LoadForRemoval(path, name)
	data, _, derr := configfile.Read(path)
	if rerr != nil || broken == nil || derr != nil {
		return nil, nil, err
	}
	var raw rawFile
	md, derr := toml.Decode(strings.TrimPrefix(string(data), "\ufeff"), &raw)
	if derr != nil || len(md.Undecoded()) > 0 {
		return nil, nil, err
	}
	rest.Settings[name] = raw.Env[name]
	return rest, refused, nil
}

// notOfTheGrant are the settings that say nothing of whose stored tokens
// are an environment's: its client, its token endpoint or issuer, its
// grant, audience and resources say it (store.Grant), and the provider,
// api_url, tenant and scopes help make them.
var notOfTheGrant = []string{"auth_url", "client_secret", "client_secret_env", "client_secret_cmd", "client_secret_keyring",
	"redirect_uri", "client_auth", "refresh_before", "timeout", "default_lifetime", "refresh_idle_limit", "token_file",
	"revocation_url", "key_file", "key_id", "key_alg", "assertion_audience", "auth_params", "token_params", "device_auth_url", "ca_file"}

// forRevocation are the settings, beside those of the grant, that a
// revocation of its tokens is made with: where it goes, and how the client
// proves itself there.
var forRevocation = []string{"revocation_url", "client_secret", "client_secret_env", "client_secret_cmd", "client_secret_keyring",
	"client_auth", "key_file", "key_id", "key_alg", "assertion_audience", "ca_file", "token_params"}

// Revocation are the settings left out (Unread) that a revocation of the
// environment's tokens would be made with, as written: a revocation
// without them could not be made as configured.
func (b *BrokenEnv) Revocation() []string {
	var left []string
	for _, k := range b.Unread {
		if slices.Contains(forRevocation, k) {
			left = append(left, k)
		}
	}
	return left
}

// readBroken reads the environment name from own, the file's text with
// every line but those of its table blanked, leaving out each setting
// refused, until the rest resolves.
func (f *File) readBroken(name, own string) (*Env, *BrokenEnv) {
	broken := &BrokenEnv{}
	var doc struct {
		Env map[string]map[string]any `toml:"env"`
	}
	toml.Decode(own, &doc) // valid TOML, as part of the whole file
	settings := doc.Env[name]
	var (
		e        *Env
		unknown  []string
		resolved = true
	)
	for {
		var key string
		e, unknown, key = resolveSettings(name, settings)
		if e != nil {
			break
		}
		if _, ok := settings[key]; !ok {
			// Those refused, the misspellings, and the setting missing
			// (key), unless only for want of one refused.
			mistakes := slices.Clone(broken.Unread)
			if len(mistakes) == 0 {
				mistakes = append(mistakes, key)
			}
			for _, k := range slices.Sorted(maps.Keys(settings)) {
				if setting, _ := settingNamed(tables()["env"], k); setting == "" {
					mistakes = append(mistakes, k)
				}
			}
			broken.Whose = ofTheGrant(mistakes)
			// Its token_file, which says nothing of whose the tokens are,
			// is read still: the keeper's notes say whether it is its.
			e, resolved = &Env{Name: name}, false
			if tf, _ := settings["token_file"].(string); filepath.IsAbs(strings.TrimSpace(tf)) {
				e.TokenFile = filepath.Clean(strings.TrimSpace(tf))
				delete(settings, "token_file")
			}
			broken.Unread = append(broken.Unread, slices.Sorted(maps.Keys(settings))...)
			break
		}
		delete(settings, key)
		broken.Unread = append(broken.Unread, key)
	}
	if e.CAFile == "" {
		e.CAFile = f.CAFile
	}
	e.configPath = f.Path
	if e.TokenFile != "" {
		f.Envs[name] = e
		if f.checkTokenFiles(nil) != nil {
			e.TokenFile = ""
			broken.Unread = append(broken.Unread, "token_file")
		}
	}
	if !resolved { // Whose is said above
		return e, broken
	}
	broken.Whose = ofTheGrant(slices.Concat(broken.Unread, unknown))
	broken.GrantKnown = len(broken.Whose) == 0
	return e, broken
}

// ofTheGrant are the keys, of an environment's table, that say whose its
// stored tokens are: settings not in notOfTheGrant, and misspellings of
// them, which may be meant as them.
func ofTheGrant(keys []string) []string {
	var of []string
	for _, k := range keys {
		setting, _ := settingNamed(tables()["env"], k)
		if setting != k {
			setting = nearestSetting(tables()["env"], k)
		}
		if setting != "" && !slices.Contains(notOfTheGrant, setting) {
			of = append(of, k)
		}
	}
	return of
}

// resolveSettings is the environment name with settings, a table as
// decoded, and the keys of settings no setting takes; or, when it cannot
// be made, the setting (a key of settings) that stops it, or "".
func resolveSettings(name string, settings map[string]any) (e *Env, unknown []string, stop string) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{"env": map[string]any{name: settings}}); err != nil {
		return nil, nil, ""
	}
	var raw rawFile
	md, err := toml.Decode(buf.String(), &raw)
	if err != nil {
		err = decodeError("", buf.Bytes(), err, true)
	} else {
		e, err = resolve(name, raw.Env[name])
	}
	var ce *Error
	if err != nil {
		if errors.As(err, &ce) {
			key, _ := strings.CutPrefix(ce.Key, "env."+name+".")
			stop, _, _ = strings.Cut(key, ".")
		}
		return nil, nil, stop
	}
	for _, k := range md.Undecoded() {
		if len(k) < 3 || slices.Contains(unknown, k[2]) {
			continue
		}
		if setting, _ := settingNamed(tables()["env"], k[2]); setting != k[2] { // not the inside of one

			unknown = append(unknown, k[2])
		}
	}
	return e, unknown, ""
}
