// Package config loads freshtoken's TOML configuration, fills provider
// presets, and reports every mistake as FILE:LINE: KEY: what to do.
package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/filestamp"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/nearest"
	"github.com/freshtoken/freshtoken/internal/paste"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellrun"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// ErrInvalid marks every configuration mistake; the CLI exits 2 on it.
var ErrInvalid = errors.New("invalid configuration")

// DefaultRedirectURI is where login listens unless redirect_uri says otherwise.
const DefaultRedirectURI = "http://127.0.0.1:8787/callback"

// File is a loaded configuration file. A file that does not exist loads as
// an empty configuration, so `init` can create it.
type File struct {
	Path       string
	Exists     bool
	DefaultEnv string
	StoreURL   string
	// Notify is how a person is told when one is needed.
	Notify Notify
	// Browser is the command that opens log-in pages (the URL is added as
	// its last argument); "" means $BROWSER, else the desktop's default.
	Browser string
	// CAFile is a PEM file of certificate authorities trusted beside the
	// system's, for every environment that names none of its own.
	CAFile string
	Envs   Envs
	// Settings are the environments as written, before presets and defaults.
	Settings SettingsByEnv
	// Settled is whether the file, as Load read it, had last changed long
	// enough before to tell any later change by a look at its path: a
	// file changed moments before may be edited again within the tick of
	// its file system's clock, with the same size and times.
	// A reading that is not settled is to be read again before it is kept.
	Settled bool

	// read is what was read to make this File: the file's bytes, by their
	// digest, and its mode, and the reading they made (see Reload); zero
	// for no file.
	read readFile
}

// readFile is a file's bytes, by their digest, and its mode, as read, and
// the reading load made of them, of which each File given is a copy: a
// File given is its caller's to change, and Reload gives the file's
// reading again, not the caller's changes.
type readFile struct {
	sum     [sha256.Size]byte
	mode    fs.FileMode
	reading *File
}

// clone is a copy of f that shares nothing a caller may change with it.
func (f *File) clone() *File {
	c := *f
	c.Envs = make(map[string]*Env, len(f.Envs))
	for name, e := range f.Envs {
		ce := *e
		ce.Scopes = slices.Clone(e.Scopes)
		ce.AssertionAudience = slices.Clone(e.AssertionAudience)
		ce.Resources = slices.Clone(e.Resources)
		ce.AuthParams = maps.Clone(e.AuthParams)
		ce.TokenParams = maps.Clone(e.TokenParams)
		c.Envs[name] = &ce
	}
	c.Settings = make(map[string]EnvSettings, len(f.Settings))
	for name, s := range f.Settings {
		s.Scopes = slices.Clone(s.Scopes)
		s.AssertionAudience = slices.Clone(s.AssertionAudience)
		s.Resource = slices.Clone(s.Resource)
		s.AuthParams = maps.Clone(s.AuthParams)
		s.TokenParams = maps.Clone(s.TokenParams)
		c.Settings[name] = s
	}
	return &c
}

// Env is one environment with its preset applied.
type Env struct {
	Name            string
	Provider        string
	APIURL          string
	AuthURL         string
	TokenURL        string
	ClientID        string
	ClientSecret    string
	ClientSecretEnv string
	ClientSecretCmd string
	RedirectURI     string
	Scopes          []string
	ClientAuth      string
	RefreshBefore   time.Duration
	Timeout         time.Duration
	// DefaultLifetime is how long a token lives when the provider gives no
	// usable expires_in; zero means the engine's default.
	DefaultLifetime time.Duration
	// IdleLimit is how long the provider lets a grant go unused (zero: no
	// limit known); a long-running process renews well within it.
	IdleLimit time.Duration
	// RevocationURL is the provider's RFC 7009 endpoint, where `logout`
	// ends the grant; "" when it has none.
	RevocationURL string
	// revocationPreset: RevocationURL is the provider preset's, not
	// written in the file.
	revocationPreset bool
	// tokenURLSetting names the setting TokenURL comes from, as
	// TokenURLSetting says it; "" for token_url (read it through
	// TokenURLSetting).
	tokenURLSetting string
	// TokenFile is a file the long-running process keeps holding the
	// current access token, for tools that read one from a file; "" for none.
	TokenFile string

	// KeyFile is the PEM private key of client_auth = "private_key_jwt",
	// KeyID its kid, KeyAlg its algorithm ("" from the key), and
	// AssertionAudience the assertions' aud (nil: the token endpoint).
	KeyFile           string
	KeyID             string
	KeyAlg            string
	AssertionAudience []string
	// Audience and Resources (RFC 8707) go on the authorization request and
	// every token request; AuthParams on the first, TokenParams on the others.
	Audience    string
	Resources   []string
	AuthParams  map[string]string
	TokenParams map[string]string
	// ClientSecretKeyring: the client secret is kept in the system
	// keychain, under the client id (see ClientSecretWhere).
	ClientSecretKeyring bool
	// Issuer is the authorization server whose discovery document (RFC
	// 8414 or OpenID Connect) fills the endpoints not set explicitly, when
	// a token request first needs one; "" when every endpoint is set.
	Issuer string
	// DeviceAuthURL is the provider's RFC 8628 device authorization
	// endpoint; "" when it has none or discovery will find it.
	DeviceAuthURL string
	// Tenant is the directory a multi-tenant provider (microsoft) signs in
	// to: "common" by default.
	Tenant string
	// CAFile is a PEM file of certificate authorities trusted beside the
	// system's: the environment's ca_file, else the file's top-level one.
	CAFile string
	// configPath is the configuration file the environment was read from,
	// "" when it was made otherwise.
	configPath string
	// Grant is how the environment obtains tokens: GrantAuthorizationCode
	// (the default), GrantClientCredentials or GrantDeviceCode.
	Grant string
}

// Invalidf is a configuration mistake that is not at a place in the file.
// It matches ErrInvalid without repeating its words.
func Invalidf(format string, args ...any) error {
	return &invalid{msg: fmt.Sprintf(format, args...)}
}

type invalid struct{ msg, flag string }

func (e *invalid) Error() string { return e.msg }
func (e *invalid) Unwrap() error { return ErrInvalid }

// Flag is the command-line flag that does what the message ends by
// asking, or "".
func (e *invalid) Flag() string { return e.flag }

// Flagged is an error whose message ends by asking for something that
// freshtoken's command line does with a flag, such as naming another
// configuration file (--config PATH). The message says it in words that
// serve a program using this package too; the command line adds the flag.
type Flagged interface {
	error
	Flag() string
}

// Error is a configuration mistake at a place in a file.
type Error struct {
	Path string
	Line int
	Key  string
	Msg  string
	// FlagHint is the command-line flag that does what Msg ends by asking
	// (see Flagged), or "".
	FlagHint string
}

// Flag is e.FlagHint.
func (e *Error) Flag() string { return e.FlagHint }

func (e *Error) Error() string { return (*configfile.Error)(e).Error() }

// Unwrap lets callers test for ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// fileError is err, from package configfile, with its refusal of the file
// made an Error, which matches ErrInvalid.
func fileError(err error) error {
	if fe, ok := err.(*configfile.Error); ok {
		return (*Error)(fe)
	}
	return err
}

// rawFile is what a configuration file writes, as decoded.
type rawFile = configfile.Raw[EnvSettings, Notify]

// Notify says how the long-running process tells a person that one is
// needed: a command, a webhook, the desktop. Never with a secret.
type Notify struct {
	// Command is run through the shell with FRESHTOKEN_EVENT, FRESHTOKEN_ENV
	// and FRESHTOKEN_MESSAGE in its environment.
	Command string `toml:"command"`
	// Webhook gets a POST of {"text": "freshtoken: MESSAGE"}, as Slack,
	// Mattermost and Teams incoming webhooks take it, the message escaped
	// for their markup.
	Webhook string `toml:"webhook"`
	// Desktop shows a desktop notification where the system has one.
	Desktop bool `toml:"desktop"`
}

// WebhookInClear reports whether the webhook is plain http:// to another
// machine, where anyone on the way reads its address, often its only
// password.
func (n Notify) WebhookInClear() bool {
	u, err := url.Parse(n.Webhook)
	return n.Webhook != "" && err == nil && strings.EqualFold(u.Scheme, "http") && !httpx.IsLoopback(u.Hostname())
}

// EnvSettings are the keys of one environment's table, as written, before
// presets and defaults (File.Settings); NewEnv makes an Env of them. Empty
// fields are left out when they are written, so presets and defaults apply.
type EnvSettings struct {
	Provider        string   `toml:"provider,omitempty"`
	APIURL          string   `toml:"api_url,omitempty"`
	AuthURL         string   `toml:"auth_url,omitempty"`
	TokenURL        string   `toml:"token_url,omitempty"`
	ClientID        string   `toml:"client_id,omitempty"`
	ClientSecret    string   `toml:"client_secret,omitempty"`
	ClientSecretEnv string   `toml:"client_secret_env,omitempty"`
	ClientSecretCmd string   `toml:"client_secret_cmd,omitempty"`
	RedirectURI     string   `toml:"redirect_uri,omitempty"`
	Scopes          []string `toml:"scopes,omitempty"`
	ClientAuth      string   `toml:"client_auth,omitempty"`
	RefreshBefore   Duration `toml:"refresh_before,omitempty"`
	Timeout         Duration `toml:"timeout,omitempty"`
	DefaultLifetime Duration `toml:"default_lifetime,omitempty"`
	IdleLimit       Duration `toml:"refresh_idle_limit,omitempty"`
	TokenFile       string   `toml:"token_file,omitempty"`
	RevocationURL   string   `toml:"revocation_url,omitempty"`

	// How a client without a secret authenticates, and what extras its
	// requests carry (see clientauth.go).
	KeyFile           string  `toml:"key_file,omitempty"`
	KeyID             string  `toml:"key_id,omitempty"`
	KeyAlg            string  `toml:"key_alg,omitempty"`
	AssertionAudience Strings `toml:"assertion_audience,omitempty"`
	Audience          string  `toml:"audience,omitempty"`
	Resource          Strings `toml:"resource,omitempty"`
	AuthParams        Params  `toml:"auth_params,omitempty"`
	TokenParams       Params  `toml:"token_params,omitempty"`
	// The system keychain's.
	ClientSecretKeyring bool `toml:"client_secret_keyring,omitempty"`
	// Discovery, presets with parameters, and corporate networks.
	Issuer        string `toml:"issuer,omitempty"`
	DeviceAuthURL string `toml:"device_auth_url,omitempty"`
	Tenant        string `toml:"tenant,omitempty"`
	CAFile        string `toml:"ca_file,omitempty"`
	// How the environment obtains tokens (see grants.go).
	Grant string `toml:"grant,omitempty"`
}

// Duration accepts "90s"-style strings and whole seconds.
type Duration struct {
	d   time.Duration
	set bool
}

// UnmarshalTOML implements toml.Unmarshaler.
func (d *Duration) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		p, err := parseDuration(x)
		if n := strings.TrimSpace(x); err != nil && n != "" && strings.Trim(n, "0123456789") == "" {
			// A number of seconds, quoted: say the unit, not just
			// what a duration looks like.
			return fmt.Errorf("%q has no unit; write %q for seconds (or %q, %q)", x, n+"s", n+"m", n+"d")
		}
		if err != nil || p < 0 {
			return fmt.Errorf("%q is not a duration such as \"60s\", \"2m\" or \"60d\"", x)
		}
		d.d, d.set = p, true
	case int64:
		if x < 0 {
			return fmt.Errorf("%d is negative", x)
		}
		d.d, d.set = time.Duration(x)*time.Second, true
	case float64:
		// A number without quotes is whole seconds; 1.5 has a unit to
		// say, in quotes.
		return fmt.Errorf("%v is not a whole number of seconds; write a duration in double quotes, such as \"%vs\" or \"2m\"", x, x)
	default:
		return fmt.Errorf("%v is not a duration such as \"60s\"", v)
	}
	return nil
}

// parseDuration is time.ParseDuration that also takes days first: "60d",
// "1d12h".
func parseDuration(s string) (time.Duration, error) {
	if days, rest, ok := strings.Cut(s, "d"); ok && days != "" && strings.Trim(days, "0123456789") == "" {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		d := time.Duration(n) * 24 * time.Hour
		if rest == "" {
			return d, nil
		}
		more, err := time.ParseDuration(rest)
		return d + more, err
	}
	return time.ParseDuration(s)
}

// IsZero reports whether the key was absent.
func (d Duration) IsZero() bool { return !d.set }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.d.String()), nil }

// DefaultPath is the configuration file used when none is named (an
// OpenOptions.Path of "", the command line without --config) and
// $FRESHTOKEN_CONFIG is unset: freshtoken/config.toml in the user's config
// folder (os.UserConfigDir). Its error, when there is no such folder,
// matches ErrInvalid and says to name the file.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", &invalid{msg: fmt.Sprintf("cannot find your config folder (%v); name the configuration file", err), flag: configfile.PathFlag}
	}
	return filepath.Join(dir, "freshtoken", "config.toml"), nil
}

// Load reads and validates the file at path; "" means the file Open reads
// for an OpenOptions.Path of "" ($FRESHTOKEN_CONFIG, else the default: see
// Path).
func Load(path string) (*File, error) { return Reload(path, nil) }

// Reload is Load, given last, an earlier reading of the file at path
// without fault (nil: none): a file that holds the bytes last read, with
// the same mode, is not parsed again, and the reading last was a copy of
// is given again, as a copy of its own (whatever its caller changed in
// last), judged Settled anew. A sync tool that touches the file
// every second (its times, not its bytes) had a long-running proxy of
// 2000 environments parse its 400 KB at each touch: 0.2 s of processor
// time and 28 MB of garbage, while every request waited for it. What the
// file names outside it (a ca_file, a token_file's folder) is not looked
// at again, as for a file unchanged.
func Reload(path string, last *File) (*File, error) {
	if path == "" {
		p, err := Path("")
		if err != nil {
			return nil, err
		}
		path = p
	}
	at := time.Now()
	data, info, err := configfile.Read(path)
	err = fileError(err)
	if errors.Is(err, os.ErrNotExist) {
		return &File{Path: path, Envs: map[string]*Env{}, Settings: map[string]EnvSettings{}, Settled: true}, nil
	}
	if err != nil {
		return nil, err
	}
	read := readFile{sum: sha256.Sum256(data), mode: info.Mode()}
	if last != nil && last.Exists && last.Path == path && last.read.sum == read.sum && last.read.mode == read.mode {
		read.reading = last.read.reading
	} else if read.reading, err = load(path, data, info); err != nil {
		return nil, err
	}
	f := read.reading.clone()
	f.read = read
	f.Settled = filestamp.Seen(path, info).SettledAt(at)
	return f, nil
}

// load is Load of data, read from the file at path, whose file info
// (permissions) is info.
func load(path string, data []byte, info fs.FileInfo) (*File, error) {
	f := &File{Path: path, Exists: true, Envs: map[string]*Env{}, Settings: map[string]EnvSettings{}}
	// A byte-order mark (Notepad's "UTF-8 with BOM"), which the decoder
	// passes over, would hide the first line's key from configfile.KeyLine.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var raw rawFile
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		// A value the decoder could not take (of the wrong type, a bad
		// duration) ends the decoding, and its error alone said nothing of
		// a key it does not know: the one the file meant to set, misspelt,
		// was found only once the other was mended. Whichever of the two
		// comes first in the file is reported. (A file it could not parse
		// has no keys.)
		if first := firstBadValue(string(data), md.Keys()); first != nil {
			err = first
		}
		bad := decodeError(path, data, err, len(md.Keys()) > 0)
		var be *Error
		if unknown := unknownKeyError(path, data, unknownKeys(md.Keys()), md.Keys()); unknown != nil &&
			(!errors.As(bad, &be) || be.Line == 0 || unknown.Line != 0 && unknown.Line <= be.Line) {
			return nil, unknown
		}
		return nil, bad
	}
	unknown := unknownKeyError(path, data, md.Undecoded(), md.Keys())
	if bad := envNotTables(path, data, md); bad != nil && (unknown == nil || unknown.Line == 0 || bad.Line <= unknown.Line) {
		return nil, bad
	}
	if unknown != nil {
		return nil, unknown
	}
	f.DefaultEnv = strings.TrimSpace(raw.DefaultEnv)
	f.StoreURL = raw.Store.URL
	f.Notify = raw.Notify
	if f.Notify.Webhook != "" {
		redact.RegisterAddress(f.Notify.Webhook) // its path is often its only password
		if u, err := url.Parse(f.Notify.Webhook); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return nil, &Error{Path: path, Line: configfile.KeyLine(data, toml.Key{"notify", "webhook"}), Key: "notify.webhook", Msg: "is not an http(s) URL (it is not shown, as it may hold a secret)"}
		}
		// Whoever reads it can post as freshtoken to the person's chat.
		if err := fileError(configfile.CheckSecretFile(path, configfile.LineOf(data, "notify", "webhook"), "notify.webhook", "", info)); err != nil {
			return nil, err
		}
	}
	f.Browser = strings.TrimSpace(raw.Browser)
	if f.CAFile = strings.TrimSpace(raw.CAFile); f.CAFile != "" {
		if err := checkCAFile(f.CAFile); err != nil {
			return nil, &Error{Path: path, Line: configfile.KeyLine(data, toml.Key{"ca_file"}), Key: "ca_file", Msg: err.Error()}
		}
	}
	names := slices.Sorted(maps.Keys(raw.Env))
	folded := map[string]string{}
	for _, name := range names {
		if other, ok := folded[strings.ToLower(name)]; ok {
			return nil, &Error{Path: path, Line: configfile.KeyLine(data, toml.Key{"env", name}), Key: "env." + name,
				Msg: fmt.Sprintf("differs from env.%s only in case, and a disk that ignores case (macOS, Windows) keeps both environments' tokens in one file; rename one", other)}
		}
		folded[strings.ToLower(name)] = name
	}
	// In the file's order, so that of mistakes in two environments the
	// first in the file is reported, as of the rest.
	// One found nowhere configfile.KeyLine looks (an inline table) comes last. The
	// lines are found in one reading of the file: found for each name at
	// each comparison, a file of 2000 environments took 20 s to load.
	first := configfile.EnvLines(data, names)
	line := func(name string) int {
		if n, ok := first[name]; ok {
			return n
		}
		return 1 << 30
	}
	slices.SortStableFunc(names, func(a, b string) int { return line(a) - line(b) })
	for _, name := range names {
		re := raw.Env[name]
		e, err := resolve(name, re)
		if err != nil {
			var ce *Error
			if errors.As(err, &ce) {
				ce.Path = path
				// The key's line, else its table's (auth_params.state
				// written inline), else the environment's.
				for k := ce.Key; ce.Line == 0 && strings.HasPrefix(k, "env."+name); k = k[:max(strings.LastIndex(k, "."), 0)] {
					ce.Line = configfile.KeyLine(data, toml.Key{k})
				}
			}
			return nil, err
		}
		if e.ClientSecret != "" {
			if err := fileError(configfile.CheckSecretFile(path, configfile.LineOf(data, "env", name, "client_secret"), "client_secret",
				", or move the secret to client_secret_env or client_secret_cmd", info)); err != nil {
				return nil, err
			}
		}
		// Masked in every log line from now on, not only once a token
		// request fetches it: a [notify] command's output, printing its
		// environment, is logged too.
		redact.Register(strings.TrimSpace(e.ClientSecret))
		if v, _ := e.secretFromEnv(); e.ClientSecretEnv != "" && v != "" {
			redact.Register(v)
		}
		if e.CAFile == "" {
			e.CAFile = f.CAFile
		}
		e.configPath = path
		f.Envs[name] = e
		f.Settings[name] = re
	}
	if f.DefaultEnv != "" && f.Envs[f.DefaultEnv] == nil {
		// Left by a hand edit (remove clears it): while the file is refused,
		// init cannot add the environment, so the next step is the line.
		msg := fmt.Sprintf("names %q, which is not configured (configured: %s); set it to one of those, or take the line out", f.DefaultEnv, strings.Join(f.Names(), ", "))
		if len(f.Envs) == 0 {
			msg = fmt.Sprintf("names %q, but no environment is configured; take the line out, then run `freshtoken init`", f.DefaultEnv)
		}
		return nil, &Error{Path: path, Line: configfile.KeyLine(data, toml.Key{"default_env"}), Key: "default_env", Msg: msg}
	}
	if f.StoreURL != "" {
		line := configfile.LineOf(data, "store", "url")
		if err := CheckStoreURL(f.StoreURL); err != nil {
			return nil, &Error{Path: path, Line: line(), Key: "store.url", Msg: err.Error()}
		}
		// A store's password opens every environment's tokens.
		if u, err := url.Parse(f.StoreURL); err == nil && u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword {
				if err := fileError(configfile.CheckSecretFile(path, line, "store.url", "", info)); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := f.checkTokenFiles(data); err != nil {
		return nil, err
	}
	return f, nil
}

// checkTokenFiles refuses a token_file that the keeper, replacing it whole
// with an access token, would destroy something else by: a file in the
// token store's folder (the stored refresh token), this configuration
// file, another environment's token file, or a file the configuration
// reads (a key_file, a ca_file); and one in a folder where another user
// could put a file in its place.
func (f *File) checkTokenFiles(data []byte) error {
	storeDir := ""
	if !IsKeyringURL(f.StoreURL) && !IsRedisURL(f.StoreURL) {
		storeDir, _ = StoreDir(f.StoreURL) // checked already; "" when there is no user folder
	}
	self, _ := filepath.Abs(f.Path)
	read := map[string]string{} // the files the configuration reads, as they land, and what each is
	if f.CAFile != "" {
		read[configfile.Landing(f.CAFile)] = "the ca_file"
	}
	for _, name := range f.Names() {
		e := f.Envs[name]
		if e.KeyFile != "" {
			read[configfile.Landing(e.KeyFile)] = fmt.Sprintf("env.%s's key_file", name)
		}
		if e.CAFile != "" && e.CAFile != f.CAFile {
			read[configfile.Landing(e.CAFile)] = fmt.Sprintf("env.%s's ca_file", name)
		}
	}
	owner := map[string]string{}
	for _, name := range f.Names() {
		tf := f.Envs[name].TokenFile
		if tf == "" {
			continue
		}
		// Each also as it lands, by whatever path it is written: a
		// symbolic link to a folder on the way (macOS's /tmp is
		// /private/tmp) leads to the same files.
		lands := configfile.Landing(tf)
		msg := ""
		if storeDir != "" && (configfile.Within(storeDir, tf) || configfile.UnderFolder(storeDir, tf)) {
			msg = fmt.Sprintf("is inside the token store's folder (%s), where writing it would destroy the stored tokens; name a file outside it", storeDir)
		} else if tf == self || lands == configfile.Landing(self) {
			msg = "is this configuration file; name a file of its own"
		} else if other, ok := owner[lands]; ok {
			msg = fmt.Sprintf("is also env.%s's token_file; give each environment a file of its own", other)
		} else if what, ok := read[lands]; ok {
			msg = fmt.Sprintf("is %s, which writing it would destroy; name a file of its own", what)
		} else if fi, err := os.Stat(tf); err == nil && fi.IsDir() {
			msg = fmt.Sprintf("is a folder; name a file in it, such as %s", filepath.Join(tf, "token"))
		} else {
			msg = configfile.TokenFileFolderProblem(tf)
		}
		if msg != "" {
			return &Error{Path: f.Path, Line: configfile.KeyLine(data, toml.Key{"env", name, "token_file"}), Key: "env." + name + ".token_file", Msg: msg}
		}
		owner[lands] = name
	}
	return nil
}

// Names lists the configured environments in order.
func (f *File) Names() []string {
	return slices.Sorted(maps.Keys(f.Envs))
}

// Missing is the mistake of a configuration file that does not exist
// where one is needed.
func (f *File) Missing() error { return f.missing("") }

// missing is Missing for a command given environment name: the init it
// names creates that environment, or says -e NAME when name may be a secret
// pasted there (redact.MayBeSecret), not to say it back. A relative path is said with the folder
// it was looked for in, as a command run from another folder misses it.
func (f *File) missing(name string) error {
	where := f.Path
	if !filepath.IsAbs(where) {
		if wd, err := os.Getwd(); err == nil {
			where = fmt.Sprintf("%s (in the current folder, %s)", f.Path, wd)
		}
	}
	return &invalid{msg: fmt.Sprintf("the configuration file %s does not exist; run `%s` to create it, or name another", where, configfile.InitCommand(name)), flag: configfile.PathFlag}
}

// Gone is the mistake of a configuration file a long-running process read
// before and no longer finds: `freshtoken init` would write a new one in
// its place, with none of its environments.
func (f *File) Gone() error {
	return &invalid{msg: fmt.Sprintf("the configuration file %s, read before, is gone (moved or deleted); put it back, or restart with the one to use", f.Path), flag: configfile.PathFlag}
}

// Select picks the environment: named if set (an OpenOptions.Env, the
// command line's -e), else $FRESHTOKEN_ENV, else default_env, else the only
// one configured. An environment not configured, or none to pick from
// (several configured, no default_env), is an error matching ErrInvalid
// that says which are configured.
func (f *File) Select(named string) (*Env, error) {
	// A name the user did not type now says where it came from, and how
	// to be rid of it.
	name, from, unset := named, "", ""
	if name == "" {
		name = os.Getenv("FRESHTOKEN_ENV")
		if name != "" {
			from, unset = " (from $FRESHTOKEN_ENV)", "; or unset FRESHTOKEN_ENV"
		}
	}
	if name == "" {
		name = f.DefaultEnv
	}
	if name == "" {
		switch len(f.Envs) {
		case 0:
			if !f.Exists {
				return nil, f.Missing()
			}
			return nil, Invalidf("no environment is configured in %s; run `freshtoken init` to add one", f.Path)
		case 1:
			name = f.Names()[0]
		default:
			return nil, &invalid{msg: fmt.Sprintf("%d environments are configured (%s); set default_env in %s (`freshtoken init -e NAME --default`), or name one",
				len(f.Envs), strings.Join(f.Names(), ", "), f.Path), flag: "-e NAME"}
		}
	}
	e := f.Envs[name]
	if e == nil && !f.Exists {
		return nil, f.missing(name)
	}
	if e == nil {
		known := "none"
		if len(f.Envs) > 0 {
			known = strings.Join(f.Names(), ", ")
		}
		if near := f.Closest(name); near != "" {
			return nil, Invalidf("no environment %q%s in %s; did you mean %q? (configured: %s)%s", name, from, f.Path, near, known, unset)
		}
		shown := redact.Name(name) // a secret pasted after -e is not said back
		if store.ValidateNewEnvName(name) != nil {
			return nil, Invalidf("environment %s%s is not configured in %s (configured: %s), and cannot be: a name starts with a letter or a digit and uses only letters, digits, '-' and '_', at most 64 of them%s", shown, from, f.Path, known, unset)
		}
		if redact.MayBeSecret(name) {
			return nil, Invalidf("environment %s%s is not configured in %s (configured: %s); name one of those, or add one with `%s`%s", shown, from, f.Path, known, configfile.InitCommand(name), unset)
		}
		return nil, Invalidf("environment %s%s is not configured in %s (configured: %s); add it with `%s`%s", shown, from, f.Path, known, configfile.InitCommand(name), unset)
	}
	return e, nil
}

// Closest is the configured environment name nearest to name, as a typo of
// it (one edit, or up to a third of its length); "" when none is.
func (f *File) Closest(name string) string {
	return nearest.Word(name, f.Names())
}

// IsRedisURL reports whether storeURL names a Redis store, which many
// machines can share.
func IsRedisURL(storeURL string) bool {
	u := strings.ToLower(storeURL)
	return strings.HasPrefix(u, "redis://") || strings.HasPrefix(u, "rediss://")
}

// CheckStoreURL reports whether storeURL names a store freshtoken can open:
// a folder (file://), a Redis database (redis://, rediss://) or the system
// keychain (keyring://).
func CheckStoreURL(storeURL string) error {
	if IsRedisURL(storeURL) {
		return redisstore.CheckURL(storeURL)
	}
	if IsKeyringURL(storeURL) {
		_, err := configfile.KeyringService(storeURL)
		return err
	}
	_, err := StoreDir(storeURL)
	return err
}

// StoreDir turns a file store URL (or "") into a folder.
func StoreDir(storeURL string) (string, error) {
	if storeURL == "" {
		return configfile.DefaultStoreDir()
	}
	// Messages show the URL without a user or password, which a mistyped
	// Redis URL may hold.
	u, err := url.Parse(storeURL)
	if err != nil {
		// Said of the URL alone, whether [store] url or store migrate's
		// --to: each caller names which.
		return "", errors.New("not a valid URL" + configfile.BadEscape(err) + "; use file:///path/to/folder, redis://host:6379/0 or keyring://")
	}
	shown := store.RedactURL(storeURL)
	switch u.Scheme {
	case "":
		if u.Host != "" || u.User != nil {
			// //user:pw@host:6379/0, its scheme left out.
			return "", fmt.Errorf("%q has no scheme; write a Redis server as redis://HOST:6379/0 (its user and password before an @ in it), a folder as file:///path/to/folder", shown)
		}
		// A path, as a shell takes it.
		if whole, tilde, ok := underTilde(storeURL); ok {
			return "", fmt.Errorf("%q: %s only to a shell; write the whole path as a URL: %s", storeURL, tilde, FileURL(whole))
		}
		if filepath.IsAbs(storeURL) {
			return "", fmt.Errorf("%q is a folder's path; write it as a URL: %s", storeURL, FileURL(storeURL))
		}
		return "", fmt.Errorf("%q is no URL; use file:///path/to/folder, redis://host:6379/0 or keyring://", shown)
	case "file":
		if p := u.Path; p == "/~" || strings.HasPrefix(p, "/~/") {
			return "", fmt.Errorf("%q names a folder ~ at the top of the disk: ~ is your home folder only to a shell; write the whole path: %s", shown, FileURL(filepath.Join(homeFolder(), p[2:])))
		}

		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("%q has a host part (%q); write an absolute path after three slashes, such as file:///home/me/.local/state/freshtoken", shown, u.Host)
		}
		if u.Path == "" || !filepath.IsAbs(u.Path) {
			return "", fmt.Errorf("%q needs an absolute path, such as file:///home/me/.local/state/freshtoken", shown)
		}
		// Dropped, they would name one folder for file:///srv/tokens#prod
		// and #staging, where each configuration's log-in replaced the
		// other's tokens.
		if u.Fragment != "" || strings.HasSuffix(storeURL, "#") {
			return "", fmt.Errorf("%q has a fragment (a # and what follows it), which names no folder: the tokens would go to %s; write a # in a folder's name as %%23", shown, filepath.Clean(u.Path))
		}
		if u.RawQuery != "" || u.ForceQuery {
			return "", fmt.Errorf("%q has a query (a ? and what follows it), which names no folder: the tokens would go to %s; write a ? in a folder's name as %%3F", shown, filepath.Clean(u.Path))
		}
		return filepath.Clean(u.Path), nil
	default:
		if u.Opaque != "" && strings.Trim(u.Opaque, "0123456789") == "" {
			// host:port, which url.Parse takes for a scheme and what follows it.
			return "", fmt.Errorf("%q looks like a Redis server's address; write it as a URL: redis://%s/0", storeURL, storeURL)
		}
		if s := strings.ToLower(u.Scheme); s == "redis" || s == "rediss" {
			return "", fmt.Errorf("%q: write two slashes after %s:, as in %s://host:6379/0", shown, s, s)
		}
		// What go-redis and other clients take, which the Redis store
		// does not: it was an unsupported scheme, and no word of what to
		// write instead.
		switch s := strings.ToLower(u.Scheme); {
		case s == "unix":
			return "", fmt.Errorf("%q: freshtoken reaches Redis over TCP, not by a Unix socket; have Redis listen on a port as well (port 6379 in redis.conf) and write redis://127.0.0.1:6379/0", shown)
		case strings.Contains(s, "sentinel"):
			return "", fmt.Errorf("%q: freshtoken does not ask Redis Sentinel for the primary; write the primary's own address, redis://host:6379/0, or one that follows failovers (a managed Redis's)", shown)
		}
		return "", fmt.Errorf("%q: unsupported scheme %q; use file:///path/to/folder, redis://host:6379/0 or keyring://", shown, u.Scheme)
	}
}

// FileURL is the file:// URL of the folder at path.
func FileURL(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// maxSecretOutput bounds what client_secret_cmd may print: a client secret
// is short, and a command flooding its output must not fill the memory.
const maxSecretOutput = 64 << 10

// secretFromEnv reads the client secret from client_secret_env (its first
// line, see paste.SecretLine); when there is none, state says why: "is not set",
// "is empty" or "has an empty first line".
func (e *Env) secretFromEnv() (v, state string) {
	raw, set := os.LookupEnv(e.ClientSecretEnv)
	v, notesOnly := paste.SecretLine(raw)
	switch {
	case !set:
		return "", "is not set"
	case notesOnly:
		return "", "has an empty first line"
	case v == "":
		return "", "is empty"
	}
	return v, ""
}

// ClientSecretProblem says, when e's client secret cannot be had here,
// what is wrong and what to do, for a token request would fail for want of
// it: client_secret_env names a variable that is not set here (or is set
// to nothing but white space, or has an empty first line), or no secret is configured for a provider
// that refuses a client without one. "" otherwise, and never the secret.
func (e *Env) ClientSecretProblem() string {
	if e.ClientSecretEnv == "" {
		return e.MissingClientSecret()
	}
	_, state := e.secretFromEnv()
	if state == "" {
		return ""
	}
	first := ""
	if state == "has an empty first line" {
		first = " with the secret on its first line"
	}
	return fmt.Sprintf("$%s %s here, so a renewal or log-in fails for want of the client secret; set it (export %s=…)%s where freshtoken runs", e.ClientSecretEnv, state, e.ClientSecretEnv, first)
}

// MissingClientSecret says, when e sends a client secret (client_auth
// basic or body), none is configured, and its provider refuses a client
// without one, what to do; "" otherwise. Elsewhere no secret is a public
// client's.
func (e *Env) MissingClientSecret() string {
	p := presets[e.Provider]
	if p.secretShown == "" || !SendsSecret(e.ClientAuth) || strings.TrimSpace(e.ClientSecret) != "" || e.ClientSecretEnv != "" || e.ClientSecretCmd != "" || e.ClientSecretKeyring {
		return ""
	}
	return fmt.Sprintf("provider %s needs the app's client secret, and none is configured (%s); keep it in a variable: `freshtoken init -e %s --client-secret-env NAME` (or --client-secret-cmd, --client-secret-keyring)",
		e.Provider, p.secretShown, e.Name)
}

// commandHoldsSecret refuses secret, which client_secret_cmd printed, when
// the command holds it written out (echo SECRET, printf, a here-document)
// and the configuration file is one that group or others can read: the
// secret is then as open to them as a plain client_secret there, which
// Load refuses. The file's mode is looked at now, so that a chmod is
// enough for a long-running process.
func (e *Env) commandHoldsSecret(secret string) error {
	if e.configPath == "" || !strings.Contains(e.ClientSecretCmd, secret) {
		return nil
	}
	fi, err := os.Stat(e.configPath)
	if err != nil {
		return nil
	}
	line := func() int {
		data, _, _ := configfile.Read(e.configPath)
		return configfile.LineOf(data, "env", e.Name, "client_secret_cmd")()
	}
	return fileError(configfile.CheckSecretFile(e.configPath, line, "env."+e.Name+".client_secret_cmd",
		", or have the command read the secret from where only you can (`pass show NAME`) rather than print it written in the command, or use client_secret_env", fi))
}

// secretCommandKey is the context key of WithSecretCommandNotice's function.
type secretCommandKey struct{}

// WithSecretCommandNotice returns a copy of ctx with which a
// client_secret_cmd about to run (see ClientSecretValue) first calls
// notice with the environment's name and the command, never its output,
// as net/http/httptrace's hooks are carried: a program whose user is at a
// terminal can say there that it waits on the command, which may be asking
// on that terminal for a passphrase (pass, gpg) and seemed to hang.
func WithSecretCommandNotice(ctx context.Context, notice func(env, command string)) context.Context {
	return context.WithValue(ctx, secretCommandKey{}, notice)
}

// ClientSecretValue returns the client secret from whichever source the
// environment names, trimmed of the white space that copy and paste adds;
// of a command, a variable or the keychain, its first line (a password
// manager prints its notes after it, and they are never the secret).
// An environment with no secret source is a public client: "", unless its
// provider refuses a client without a secret (an error saying so).
func (e *Env) ClientSecretValue(ctx context.Context) (string, error) {
	switch {
	case strings.TrimSpace(e.ClientSecret) != "": // white space alone is none
		return strings.TrimSpace(e.ClientSecret), nil
	case e.ClientSecretEnv != "":
		v, state := e.secretFromEnv()
		switch state {
		case "is not set":
			return "", Invalidf("environment %s: the client secret comes from $%s, which is not set here (an export lasts only in the terminal it was typed in); export %s=… first, or put that line in your shell's profile (~/.bashrc, ~/.zshrc)", e.Name, e.ClientSecretEnv, e.ClientSecretEnv)
		case "is empty":
			return "", Invalidf("environment %s: the client secret comes from $%s, which is empty; export %s=… first", e.Name, e.ClientSecretEnv, e.ClientSecretEnv)
		case "":
			return v, nil
		}
		return "", Invalidf("environment %s: the client secret comes from $%s, whose first line is empty; %s; export %s=… with the secret first", e.Name, e.ClientSecretEnv, paste.BlankFirstLine, e.ClientSecretEnv)
	case e.ClientSecretKeyring:
		return e.clientSecretFromKeyring(ctx)
	case e.ClientSecretCmd != "":
		if notice, _ := ctx.Value(secretCommandKey{}).(func(env, command string)); notice != nil {
			notice(e.Name, e.ClientSecretCmd)
		}
		out, stderr, more, err := shellrun.Run(ctx, e.ClientSecretCmd, nil, maxSecretOutput, maxSecretOutput)
		if stopped := (*shellrun.Stopped)(nil); errors.As(err, &stopped) {
			return "", fmt.Errorf("environment %s: its client_secret_cmd was %w before it printed the secret", e.Name, stopped)
		}
		if err != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			return "", Invalidf("environment %s: its client_secret_cmd did not print the secret in the time it is given, and was ended; run it yourself to see what it waits for (a password manager's prompt, a locked agent)", e.Name)
		}
		if more {
			return "", Invalidf("environment %s: its client_secret_cmd printed more than %d KiB, which is no client secret; make it print the secret alone", e.Name, maxSecretOutput>>10)
		}
		if err != nil {
			why := err.Error()
			if line, _, _ := strings.Cut(strings.TrimSpace(string(stderr)), "\n"); line != "" {
				why += ": " + line
			}
			return "", Invalidf("environment %s: its client_secret_cmd failed (%s); run it yourself to see why", e.Name, redact.FreeText(why, 200))
		}
		v, notesOnly := paste.SecretLine(string(out))
		if notesOnly {
			return "", Invalidf("environment %s: its client_secret_cmd printed an empty first line; %s; put the client secret on the entry's first line (pass edit NAME), or make the command print the secret alone", e.Name, paste.BlankFirstLine)
		}
		if v == "" {
			return "", Invalidf("environment %s: its client_secret_cmd printed nothing; run it yourself: it must print the client secret", e.Name)
		}
		if err := e.commandHoldsSecret(v); err != nil {
			return "", err
		}
		return v, nil
	}
	if m := e.MissingClientSecret(); m != "" {
		return "", Invalidf("environment %s: %s", e.Name, m)
	}
	return "", nil
}
