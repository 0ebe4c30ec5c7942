// Package config loads freshtoken's TOML configuration, fills provider
// presets, and reports every mistake as FILE:LINE: KEY: what to do.
package config

import (
	"bytes"
	"context"
	"encoding"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellrun"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// ErrInvalid marks every configuration mistake; the CLI exits 2 on it.
var ErrInvalid = errors.New("invalid configuration")

// DefaultRedirectURI is where login listens unless redirect_uri says otherwise.
const DefaultRedirectURI = "http://127.0.0.1:8787/callback"

// DefaultRefreshBefore is how long before expiry a token is renewed by default.
const DefaultRefreshBefore = 60 * time.Second

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
	Envs   map[string]*Env
	// Settings are the environments as written, before presets and defaults.
	Settings map[string]EnvSettings
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
	// discoveryDir is where discovery documents are cached: a folder
	// beside the configuration file.
	discoveryDir string
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

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Unwrap lets callers test for ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

type rawFile struct {
	DefaultEnv string            `toml:"default_env"`
	Browser    string            `toml:"browser"`
	CAFile     string            `toml:"ca_file"`
	Store      rawStore          `toml:"store"`
	Notify     Notify            `toml:"notify"`
	Env        map[string]rawEnv `toml:"env"`
}

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

type rawStore struct {
	URL string `toml:"url"`
}

type rawEnv = EnvSettings

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

// firstBadValue is the decoder's error for the first value, in the file's
// order, that the setting it is written for cannot take, or nil. The
// decoder stops at the first such value it meets, but goes through each
// table's keys in no set order, so that of several mistakes it reported
// one at random: the values are decoded here one at a time, in the order
// keys gives, the file's.
func firstBadValue(text string, keys []toml.Key) error {
	var top map[string]toml.Primitive
	md, err := toml.Decode(text, &top)
	if err != nil {
		return nil
	}
	type table struct {
		t      reflect.Type
		values map[string]toml.Primitive
	}
	tables := map[string]table{"": {reflect.TypeFor[rawFile](), top}}
	for _, k := range keys {
		parent := ""
		for i, part := range k {
			tab, ok := tables[parent]
			if !ok {
				break // under a setting that reads its own value, or unknown
			}
			here := k[:i+1].String()
			if _, done := tables[here]; done {
				parent = here
				continue
			}
			v, ok := tab.values[part]
			if !ok {
				break
			}
			var t reflect.Type
			switch {
			case tab.t.Kind() == reflect.Map:
				t = tab.t.Elem()
			case tab.t.Kind() == reflect.Struct:
				_, t = settingNamed(tab.t, part)
			}
			if t == nil || i < len(k)-1 && !isTable(t) {
				break // no setting takes it (unknownKeys tells of it), or under one that takes its value whole
			}
			if !isTable(t) {
				if err := md.PrimitiveDecode(v, reflect.New(t).Interface()); err != nil {
					return err
				}
				break
			}
			var values map[string]toml.Primitive
			if md.PrimitiveDecode(v, &values) != nil || values == nil {
				// Not a table (which the decoder leaves a map nil for): in
				// the decoder's words, if it has any for it.
				if err := md.PrimitiveDecode(v, reflect.New(t).Interface()); err != nil {
					return err
				}
				break
			}
			tables[here] = table{t, values}
			parent = here
		}
	}
	return nil
}

// isTable reports whether the decoder fills t, a setting's type, key by
// key from a table: a struct or a map that does not read its own value.
func isTable(t reflect.Type) bool {
	return (t.Kind() == reflect.Struct || t.Kind() == reflect.Map) &&
		!reflect.PointerTo(t).Implements(reflect.TypeFor[toml.Unmarshaler]()) &&
		!reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// unknownKeyError is the error for the first of undecoded, the keys no
// setting took, or else for a key of keys that the decoder took for a
// setting spelt in another case; nil if there is neither.
func unknownKeyError(path string, data []byte, undecoded, keys []toml.Key) *Error {
	if len(undecoded) > 0 {
		k := undecoded[0]
		msg := "unknown key; `freshtoken help config` lists the keys this freshtoken knows (one named only in newer docs needs an upgrade)"
		if hint := unknownKeyHint(k, keys); hint != "" {
			msg = hint
		}
		return &Error{Path: path, Line: keyLine(data, k), Key: k.String(), Msg: msg}
	}
	if k, want := miscased(keys); k != nil {
		return &Error{Path: path, Line: keyLine(data, k), Key: k.String(), Msg: "unknown key; keys are written in lower case: " + want}
	}
	return nil
}

// tables are the settings of each table, by where they are written: ""
// above every table, and the tables' names.
var tables = sync.OnceValue(func() map[string]reflect.Type {
	return map[string]reflect.Type{"": reflect.TypeFor[rawFile](), "env": reflect.TypeFor[EnvSettings](),
		"store": reflect.TypeFor[rawStore](), "notify": reflect.TypeFor[Notify]()}
})

// unknownKeyHint says, of k, a key no setting took, where it belongs when
// it is another table's key (client_id above the environments,
// default_env below one, [store]'s url in an environment), or else the
// setting it is nearest to as a misspelling (client-id, clientId,
// [envs.a]); "" when it is neither.
func unknownKeyHint(k toml.Key, keys []toml.Key) string {
	// The table the unknown part is in: its settings, and which it is.
	t, in := reflect.TypeFor[rawFile](), ""
	i := 0
	for ; i < len(k); i++ {
		if t.Kind() == reflect.Map {
			t = t.Elem()
			continue
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
		name, ft := settingNamed(t, k[i])
		if name == "" {
			break
		}
		if in == "" {
			in = name
		}
		t = ft
	}
	if i == len(k) {
		return ""
	}
	part := k[i]
	for _, other := range []string{"env", "", "store", "notify"} {
		if other == in {
			continue
		}
		name, ft := settingNamed(tables()[other], part)
		if name == "" || name != part {
			continue
		}
		switch other {
		case "env":
			line := "[env.NAME]"
			if envs := envNames(keys); len(envs) == 1 {
				line = "[env." + envs[0] + "]"
			}
			return fmt.Sprintf("unknown key here: %s is an environment's key; move it below its environment's line, %s", part, line)
		case "":
			if isTable(ft) {
				return fmt.Sprintf("unknown key here: [%s] is a table of the whole file, not an environment's; write its line as [%s]", part, part)
			}
			return fmt.Sprintf("unknown key here: %s goes at the top of the file, above the first [table] line (a key below a table's line is that table's)", part)
		}
		msg := fmt.Sprintf("unknown key here: %s is [%s]'s key; move it below a line [%s]", part, other, other)
		if in == "env" && part == "url" {
			msg += " (an environment's API address is api_url)"
		}
		return msg
	}
	if near := nearestSetting(t, part); near != "" {
		return "unknown key; did you mean " + near + "?"
	}
	// A misspelling of another table's key (clinet_id above the
	// environments) is named too, and where it goes, as one in its own
	// table is: it got only the generic message.
	for _, other := range []string{"env", "", "store", "notify"} {
		if other == in {
			continue
		}
		near := nearestSetting(tables()[other], part)
		if near == "" {
			continue
		}
		switch other {
		case "env":
			line := "[env.NAME]"
			if envs := envNames(keys); len(envs) == 1 {
				line = "[env." + envs[0] + "]"
			}
			return fmt.Sprintf("unknown key here; did you mean %s? It is an environment's key: move it below its environment's line, %s", near, line)
		case "":
			if _, ft := settingNamed(tables()[""], near); isTable(ft) {
				return fmt.Sprintf("unknown key here; did you mean [%s]? It is a table of the whole file: write its line as [%s]", near, near)
			}
			return fmt.Sprintf("unknown key here; did you mean %s? It goes at the top of the file, above the first [table] line", near)
		}
		return fmt.Sprintf("unknown key here; did you mean %s? It is [%s]'s key: move it below a line [%s]", near, other, other)
	}
	return ""
}

// nearestSetting is the setting of t that key is a misspelling of: the
// same but for case, '-' or '_' (client-id, clientId, ClientID), or a few
// letters off (clinet_id), or env for environment; "" when none is.
func nearestSetting(t reflect.Type, key string) string {
	fold := func(s string) string {
		return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(s))
	}
	k := fold(key)
	if t == reflect.TypeFor[rawFile]() && (k == "environment" || k == "environments" || k == "envs") {
		return "env"
	}
	best, bestD := "", 0
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		d := editDistance(k, fold(name))
		if d <= max(1, len(name)/4) && d < len(k) && (best == "" || d < bestD) {
			best, bestD = name, d
		}
	}
	return best
}

// firstLine is the line where the file first sets a key of environment
// name, or a line past any for one it sets nowhere keyLine finds.
func firstLine(data []byte, name string) int {
	if n := keyLine(data, toml.Key{"env", name}); n > 0 {
		return n
	}
	return 1 << 30
}

// envNames are the environments the file sets keys of, in its order.
func envNames(keys []toml.Key) []string {
	var names []string
	for _, k := range keys {
		if len(k) >= 2 && k[0] == "env" && !slices.Contains(names, k[1]) {
			names = append(names, k[1])
		}
	}
	return names
}

// unknownKeys are the keys, of those the file sets (in the file's order),
// that no setting takes: what the decoder's Undecoded gives once the whole
// file is decoded, for a file whose decoding stopped at a value it could
// not take. It walks the settings as the decoder does: a map takes any
// name, a setting that reads its own value (toml.Unmarshaler) or is no
// table takes whatever is under it, and a table's keys match its settings'
// names regardless of case.
func unknownKeys(keys []toml.Key) []toml.Key {
	var unknown []toml.Key
	for _, k := range keys {
		t := reflect.TypeFor[rawFile]()
		for _, part := range k {
			for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
				t = t.Elem() // an array of tables: its keys are its tables'
			}
			if t.Kind() == reflect.Map {
				t = t.Elem()
				continue
			}
			if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[toml.Unmarshaler]()) ||
				reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
				break
			}
			name, ft := settingNamed(t, part)
			if name == "" {
				unknown = append(unknown, k) // as its table, if that is what no setting takes
				break
			}
			t = ft
		}
	}
	return unknown
}

// miscased finds a key that the decoder took for a setting spelt in
// another case (it matches names regardless of case), and that setting's
// name: Client_ID beside client_id replaced it silently, and a table
// [Env.a] after [env.a] replaced that whole environment.
func miscased(keys []toml.Key) (toml.Key, string) {
	for _, k := range keys {
		if !slices.ContainsFunc(k, hasUpper) {
			continue // the common case, and start-up's: no setting to look up
		}
		t := reflect.TypeFor[rawFile]()
		for i, part := range k {
			if t.Kind() == reflect.Map {
				t = t.Elem() // a name of the file's own: an environment's, a parameter's
				continue
			}
			if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[toml.Unmarshaler]()) {
				break
			}
			name, ft := settingNamed(t, part)
			if name == "" {
				break
			}
			if name != part {
				return k[:i+1], name
			}
			t = ft
		}
	}
	return nil, ""
}

func hasUpper(s string) bool { return strings.ToLower(s) != s }

// settingNamed is the TOML name and type of t's field that the decoder
// fills from key, or "".
func settingNamed(t reflect.Type, key string) (string, reflect.Type) {
	var folded reflect.StructField
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if name == key {
			return name, f.Type
		}
		if strings.EqualFold(name, key) {
			folded = f
		}
	}
	if folded.Type == nil {
		return "", nil
	}
	name, _, _ := strings.Cut(folded.Tag.Get("toml"), ",")
	return name, folded.Type
}

// configFlag names another configuration file on freshtoken's command line.
const configFlag = "--config PATH, or $FRESHTOKEN_CONFIG"

// DefaultPath is the configuration file used without --config or FRESHTOKEN_CONFIG.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", &invalid{msg: fmt.Sprintf("cannot find your config folder (%v); name the configuration file", err), flag: configFlag}
	}
	return filepath.Join(dir, "freshtoken", "config.toml"), nil
}

// Load reads and validates the file at path; "" means the file Open reads
// for an OpenOptions.Path of "" ($FRESHTOKEN_CONFIG, else the default: see
// Path).
func Load(path string) (*File, error) {
	if path == "" {
		p, err := Path("")
		if err != nil {
			return nil, err
		}
		path = p
	}
	f := &File{Path: path, Envs: map[string]*Env{}, Settings: map[string]EnvSettings{}}
	data, info, err := readTrusted(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	f.Exists = true
	// A byte-order mark (Notepad's "UTF-8 with BOM"), which the decoder
	// passes over, would hide the first line's key from keyLine.
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
		redact.Register(f.Notify.Webhook) // its path is often its only password
		if u, err := url.Parse(f.Notify.Webhook); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return nil, &Error{Path: path, Line: keyLine(data, toml.Key{"notify", "webhook"}), Key: "notify.webhook", Msg: "is not an http(s) URL (it is not shown, as it may hold a secret)"}
		}
	}
	f.Browser = strings.TrimSpace(raw.Browser)
	if f.CAFile = strings.TrimSpace(raw.CAFile); f.CAFile != "" {
		if err := checkCAFile(f.CAFile); err != nil {
			return nil, &Error{Path: path, Line: keyLine(data, toml.Key{"ca_file"}), Key: "ca_file", Msg: err.Error()}
		}
	}
	names := make([]string, 0, len(raw.Env))
	for name := range raw.Env {
		names = append(names, name)
	}
	sort.Strings(names)
	folded := map[string]string{}
	for _, name := range names {
		if other, ok := folded[strings.ToLower(name)]; ok {
			return nil, &Error{Path: path, Line: keyLine(data, toml.Key{"env", name}), Key: "env." + name,
				Msg: fmt.Sprintf("differs from env.%s only in case, and a disk that ignores case (macOS, Windows) keeps both environments' tokens in one file; rename one", other)}
		}
		folded[strings.ToLower(name)] = name
	}
	// In the file's order, so that of mistakes in two environments the
	// first in the file is reported, as of the rest.
	slices.SortStableFunc(names, func(a, b string) int { return firstLine(data, a) - firstLine(data, b) })
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
					ce.Line = keyLine(data, toml.Key{k})
				}
			}
			return nil, err
		}
		if e.ClientSecret != "" {
			if err := checkSecretFile(path, keyLine(data, toml.Key{"env", name, "client_secret"}), "client_secret",
				", or move the secret to client_secret_env or client_secret_cmd", info); err != nil {
				return nil, err
			}
		}
		if e.CAFile == "" {
			e.CAFile = f.CAFile
		}
		e.discoveryDir = filepath.Join(filepath.Dir(path), "discovery")
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
		return nil, &Error{Path: path, Line: keyLine(data, toml.Key{"default_env"}), Key: "default_env", Msg: msg}
	}
	if f.StoreURL != "" {
		line := keyLine(data, toml.Key{"store", "url"})
		if err := CheckStoreURL(f.StoreURL); err != nil {
			return nil, &Error{Path: path, Line: line, Key: "store.url", Msg: err.Error()}
		}
		// A store's password opens every environment's tokens.
		if u, err := url.Parse(f.StoreURL); err == nil && u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword {
				if err := checkSecretFile(path, line, "store.url", "", info); err != nil {
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
		read[landing(f.CAFile)] = "the ca_file"
	}
	for _, name := range f.Names() {
		e := f.Envs[name]
		if e.KeyFile != "" {
			read[landing(e.KeyFile)] = fmt.Sprintf("env.%s's key_file", name)
		}
		if e.CAFile != "" && e.CAFile != f.CAFile {
			read[landing(e.CAFile)] = fmt.Sprintf("env.%s's ca_file", name)
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
		lands := landing(tf)
		msg := ""
		if storeDir != "" && (within(storeDir, tf) || underFolder(storeDir, tf)) {
			msg = fmt.Sprintf("is inside the token store's folder (%s), where writing it would destroy the stored tokens; name a file outside it", storeDir)
		} else if tf == self || lands == landing(self) {
			msg = "is this configuration file; name a file of its own"
		} else if other, ok := owner[lands]; ok {
			msg = fmt.Sprintf("is also env.%s's token_file; give each environment a file of its own", other)
		} else if what, ok := read[lands]; ok {
			msg = fmt.Sprintf("is %s, which writing it would destroy; name a file of its own", what)
		} else if fi, err := os.Stat(tf); err == nil && fi.IsDir() {
			msg = fmt.Sprintf("is a folder; name a file in it, such as %s", filepath.Join(tf, "token"))
		} else if fi, err := os.Stat(filepath.Dir(tf)); err == nil && !fi.IsDir() {
			msg = fmt.Sprintf("is in %s, which is a file, not a folder; name a file in a folder", filepath.Dir(tf))
		} else if err == nil {
			msg = checkTokenFileFolder(filepath.Dir(tf), fi)
		}
		if msg != "" {
			return &Error{Path: f.Path, Line: keyLine(data, toml.Key{"env", name, "token_file"}), Key: "env." + name + ".token_file", Msg: msg}
		}
		owner[lands] = name
	}
	return nil
}

// Overwrites says which of freshtoken's own files writing to path (a log
// file) would destroy: one in the token store's folder that the
// configuration at configPath names (the default folder when it names
// none, or cannot be read), that configuration file itself, or a file it
// names (a key_file, a ca_file, a token_file); "" when none. Paths are compared by name and as they land, through symbolic
// links to folders and to the file itself and a ".." after a link, and an
// existing file by what it is: a hard link to a record is that record.
func Overwrites(path, configPath string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	real := opensAt(path)
	target, err := os.Stat(path) // the file the system opens, by path as given
	if err != nil {
		target = nil
	}
	storeURL := ""
	c, err := Load(configPath)
	if err == nil {
		storeURL = c.StoreURL
	}
	if !IsKeyringURL(storeURL) && !IsRedisURL(storeURL) {
		if dir, err := StoreDir(storeURL); err == nil {
			if within(dir, abs) || underFolder(dir, abs) || within(dir, real) || underFolder(dir, real) {
				return fmt.Sprintf("is inside the token store's folder (%s), where it would destroy the stored tokens; name a file of its own outside it", dir)
			}
			if target != nil && inFolder(dir, target) {
				return fmt.Sprintf("is one of the token store's files (in %s), by another name, where it would destroy the stored tokens; name a file of its own", dir)
			}
		}
	}
	// names reports whether path names other: by name, as the system
	// lands on it, or, both existing, as the same file (a hard link).
	names := func(other string) bool {
		o, err := filepath.Abs(other)
		if err != nil {
			return false
		}
		if abs == o || landing(abs) == landing(o) || real == opensAt(other) {
			return true
		}
		b, err := os.Stat(other)
		return err == nil && target != nil && os.SameFile(target, b)
	}
	if names(configPath) {
		return "is the configuration file, which it would destroy; name a file of its own"
	}
	if c == nil {
		return ""
	}
	// The files it names: a key or certificates no longer parse once a log
	// is appended, and a token file's readers would send the log.
	named := map[string]string{}
	if c.CAFile != "" {
		named[c.CAFile] = "the ca_file"
	}
	for _, name := range c.Names() {
		e := c.Envs[name]
		for f, what := range map[string]string{e.KeyFile: "key_file", e.CAFile: "ca_file", e.TokenFile: "token_file"} {
			if f != "" && named[f] == "" {
				named[f] = fmt.Sprintf("env.%s's %s", name, what)
			}
		}
	}
	for f, what := range named {
		if names(f) {
			return fmt.Sprintf("is %s, which it would destroy; name a file of its own", what)
		}
	}
	return ""
}

// opensAt is the file that opening path writes, as the system finds it:
// its folder's symbolic links resolved in the order they come, so that a
// ".." after a link leaves the folder the link leads to (filepath.Abs
// takes it away by name first), and path itself followed when it is a
// link. It is path made absolute where a folder on the way does not exist.
func opensAt(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		if abs, err := filepath.Abs(real); err == nil {
			return abs
		}
	}
	i := strings.LastIndexAny(path, string(filepath.Separator)+"/")
	dir, base := ".", path
	if i >= 0 {
		dir, base = path[:i+1], path[i+1:]
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		if abs, err := filepath.Abs(filepath.Join(real, base)); err == nil {
			return abs
		}
	}
	abs, _ := filepath.Abs(path)
	return abs
}

// inFolder reports whether fi is one of the files in dir: a hard link to
// it has another name and folder, but is the same file.
func inFolder(dir string, fi fs.FileInfo) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if other, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && os.SameFile(fi, other) {
			return true
		}
	}
	return false
}

// within reports whether path is dir or lies under it, by their names.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// landing is the file that writing path, by renaming a file over it,
// replaces: path with the symbolic links of its folders resolved, as far
// as they exist (path's own last name is replaced, not followed).
func landing(path string) string {
	dir, rest := filepath.Dir(path), filepath.Base(path)
	for {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return path
		}
		dir, rest = parent, filepath.Join(filepath.Base(dir), rest)
	}
}

// underFolder reports whether one of path's folders is dir itself, by
// another name: a symbolic link to it on the way, another case on a file
// system that ignores case, a bind mount.
func underFolder(dir, path string) bool {
	want, err := os.Stat(dir)
	if err != nil {
		return false
	}
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && os.SameFile(fi, want) {
			return true
		}
		if filepath.Dir(d) == d {
			return false
		}
	}
}

// readTrusted reads the file at path, following a symlink (dotfile managers
// link configs), once checkFile has accepted the file it opened.
func readTrusted(path string) ([]byte, fs.FileInfo, error) {
	file, err := os.OpenFile(path, os.O_RDONLY|openNonblocking, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("is a symbolic link that leads round in a loop (%v); point it at the configuration file, or name that file", errors.Unwrap(err)), FlagHint: configFlag}
	}
	if err != nil {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read it (%v)", errors.Unwrap(err))}
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read it (%v)", errors.Unwrap(err))}
	}
	if !info.Mode().IsRegular() {
		return nil, nil, &Error{Path: path, Msg: "is not a regular file; name the configuration file, a TOML file", FlagHint: configFlag}
	}
	if err := checkFile(path, info); err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(file)
	if err != nil {
		return nil, nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read it (%v)", errors.Unwrap(err))}
	}
	return data, info, nil
}

// typeMismatch matches the decoder's message for a value of the wrong type,
// which it reports without a position of its own.
var typeMismatch = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]+)"\): (.*)$`)
})

// bareValue matches the parser's message for a value written without the
// quotes text takes, such as provider = freeagent.
var bareValue = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^expected value but found ".*" instead$`)
})

// decodeError is the error for err, the decoder's, in a person's words;
// parsed: the file's syntax was read whole, so that err is of a value a
// setting cannot take (its own UnmarshalTOML's, which says what to write).
func decodeError(path string, data []byte, err error, parsed bool) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		if strings.Contains(pe.Message, "UTF-8") {
			// Saved in another encoding (Notepad's UTF-16, Latin-1): no
			// edit of the text mends it, nor is the key before it at fault.
			return &Error{Path: path, Line: pe.Position.Line, Msg: pe.Message + "; save the file again in the UTF-8 encoding (your editor's Save As offers it)"}
		}
		if m := definedTwice().FindStringSubmatch(pe.Message); m != nil {
			return &Error{Path: path, Line: pe.Position.Line, Key: m[1], Msg: "is written twice; keep one of the two and delete the other"}
		}
		if m := valueThenTable().FindStringSubmatch(pe.Message); m != nil {
			return valueMadeATable(path, data, m[1], pe.Position.Line)
		}
		if e := pastedCharacter(path, data, pe); e != nil {
			return e
		}
		if e := syntaxFromElsewhere(path, data, pe); e != nil {
			return e
		}
		if pe.LastKey != "" && parsed {
			return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
		}
		if pe.LastKey != "" && (strings.HasPrefix(pe.Message, "invalid escape in string") || strings.Contains(pe.Message, "hexadecimal digits after '\\")) {
			// A Windows path, or a secret holding a backslash; the
			// parser's words quoted the text back.
			return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: fmt.Sprintf(`holds a backslash, which in double quotes starts an escape (\n, \t); write the text in single quotes, %s = '…', or each backslash twice`, pe.LastKey[strings.LastIndex(pe.LastKey, ".")+1:])}
		}
		if e := bareValueError(path, data, pe); e != nil {
			return e
		}
		if pe.LastKey != "" && bareValue().MatchString(pe.Message) {
			// The parser's words quote the value's start back, which of a
			// secret is the secret, or most of it.
			return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: unquoted(pe.LastKey, "")}
		}
		if strings.HasPrefix(pe.Message, "expected a top-level item to end with a newline, comment, or EOF, but got ") {
			// A value that starts as a number and goes on as text
			// (client_secret = 9f8a…): the parser read the number, then
			// stopped at the text, naming its first character.
			line := strings.TrimSpace(lineText(data, pe.Position.Line))
			if k, v, ok := strings.Cut(line, "="); ok && bareKey().MatchString(strings.TrimSpace(k)) {
				key := strings.TrimSpace(k)
				if pe.LastKey != "" {
					key = pe.LastKey + "." + key
				}
				if v = strings.TrimSpace(v); v != "" && strings.ContainsAny(v[:1], "\"'[{") {
					// A second key after the value (two lines run together).
					return &Error{Path: path, Line: pe.Position.Line, Key: key, Msg: "is followed by more on its line; put each key = value on a line of its own"}
				}
				return &Error{Path: path, Line: pe.Position.Line, Key: key, Msg: unquoted(key, v)}
			}
		}
		if pe.LastKey != "" {
			return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message + "; fix the TOML syntax there"}
		}
		return &Error{Path: path, Line: pe.Position.Line, Msg: pe.Message + "; fix the TOML syntax there"}
	}
	if m := typeMismatch().FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Path: path, Line: line, Key: m[2], Msg: wrongType(m[2], m[3])}
	}
	return &Error{Path: path, Msg: err.Error()}
}

// bareValueError is the error for a parse error at a line that sets
// pe.LastKey to a value written without quotes that the parser could not
// read (a secret such as 0123456789, 1.5.3 or hunter2, a list of words),
// or nil. The parser's words quoted the value back, whole for one that
// looks like a number or a date; this says what to write, repeating
// nothing of it.
func bareValueError(path string, data []byte, pe toml.ParseError) *Error {
	if pe.LastKey == "" {
		return nil
	}
	line := strings.TrimSpace(lineText(data, pe.Position.Line))
	name := pe.LastKey[strings.LastIndex(pe.LastKey, ".")+1:]
	k, v, ok := strings.Cut(line, "=")
	if !ok {
		return nil
	}
	if key := normalizeKey(k); key[strings.LastIndex(key, ".")+1:] != name {
		// A key of an inline table on the line (token_params = {
		// api_key = 0123456789 }), whose value the parser quoted back
		// as well: its value, up to the next item or the table's end.
		m := inlineValue(name).FindAllStringSubmatch(line, -1)
		if m == nil {
			return nil
		}
		v = m[len(m)-1][1]
	}
	switch v = strings.TrimSpace(v); {
	case v == "" || strings.ContainsAny(v[:1], "\"'{"):
		return nil
	case v[0] == '[':
		if strings.ContainsAny(v, "\"'") {
			return nil
		}
		return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: fmt.Sprintf(`holds text without quotes; write each item in double quotes: %s = ["…", "…"]`, name)}
	}
	return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: unquoted(pe.LastKey, v)}
}

// unquoted is the message for key's value, text written without quotes
// (value, or "" when it is not known): what the key takes, so that one edit
// mends it. A switch (desktop = yes) was told to write "yes" in quotes,
// and then, quoted, to write true or false without them. Only a
// duration's value is shown again: any other text may be a secret.
func unquoted(key, value string) string {
	name := key[strings.LastIndex(key, ".")+1:]
	switch keyType(key) {
	case reflect.TypeFor[bool]():
		return fmt.Sprintf("is text without quotes; write true or false, without quotes: %s = true", name)
	case reflect.TypeFor[Duration]():
		value = strings.TrimSpace(strings.SplitN(value, "#", 2)[0])
		if d, err := parseDuration(value); err == nil && d >= 0 && value != "" {
			return fmt.Sprintf("is text without quotes; write it in double quotes: %s = %q", name, value)
		}
		return fmt.Sprintf(`is text without quotes; write a duration in double quotes, such as %s = "60s" (or "2m", "60d")`, name)
	}
	return fmt.Sprintf(`is text without quotes; write it in double quotes: %s = "…"`, name)
}

// keyType is the Go type a dotted key of the file (env.NAME.timeout,
// notify.desktop) is read into, or nil for a key the file does not have.
func keyType(key string) reflect.Type {
	t := reflect.TypeFor[rawFile]()
	parts := strings.Split(key, ".")
	for i := 0; i < len(parts); i++ {
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem() // parts[i] names an entry: an environment
			continue
		case reflect.Struct:
		default:
			return nil
		}
		var found reflect.Type
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); name == parts[i] {
				found = f.Type
				break
			}
		}
		if found == nil {
			return nil
		}
		t = found
	}
	return t
}

// inlineValue matches name = value as an item of an inline table, the
// value (up to the next item or the table's end) its submatch.
func inlineValue(name string) *regexp.Regexp {
	return regexp.MustCompile(`[{,]\s*["']?` + regexp.QuoteMeta(name) + `["']?\s*=([^,}]*)`)
}

// valueThenTable matches the parser's message for a key given a value,
// then made a table ([env.a] below env = "a"), which names the key.
var valueThenTable = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^Key '([^']+)' was already created as a hash\.$`)
})

// valueMadeATable is the error for key, given a value and then, at
// tableLine, made a table: at the value's line, which the parser did not
// name, and for env, which holds the environments, with what was meant.
func valueMadeATable(path string, data []byte, key string, tableLine int) *Error {
	line := keyLine(data, toml.Key(strings.Split(key, ".")))
	if line == 0 || line >= tableLine {
		line = tableLine
	}
	kind, text := writtenValue(lineText(data, line))
	if key == "env" {
		if msg := envValueMsg(kind, text); msg != "" {
			return &Error{Path: path, Line: line, Key: key, Msg: msg}
		}
		return &Error{Path: path, Line: line, Key: key, Msg: fmt.Sprintf("is %s, and a table from line %d on; take this line out: each environment is a table [env.NAME]", kind, tableLine)}
	}
	return &Error{Path: path, Line: line, Key: key, Msg: fmt.Sprintf("is %s, and a table from line %d on; keep one of the two and delete the other", kind, tableLine)}
}

// envNotTables is the mistake of env given a value, or written as a list
// of tables ([[env]]), rather than holding a table [env.NAME] for each
// environment; nil if there is none. The decoder passes over any value
// for a map as if none were written, and env = "sandbox" (default_env
// meant) left the file said to configure no environment.
func envNotTables(path string, data []byte, md toml.MetaData) *Error {
	typ := md.Type("env")
	if typ == "" || typ == "Hash" {
		return nil
	}
	line := keyLine(data, toml.Key{"env"})
	const write = "write each environment as a table: a line [env.NAME] with the environment's keys below it"
	if typ == "ArrayHash" {
		return &Error{Path: path, Line: line, Key: "env", Msg: "is a list of tables ([[env]]); " + write}
	}
	kind, text := writtenValue(lineText(data, line))
	if msg := envValueMsg(kind, text); msg != "" {
		return &Error{Path: path, Line: line, Key: "env", Msg: msg}
	}
	return &Error{Path: path, Line: line, Key: "env", Msg: "is " + kind + "; " + write}
}

// envValueMsg says what to write for env = "NAME", which means
// default_env; "" for another value.
func envValueMsg(kind, text string) string {
	if kind != "text" || store.ValidateEnvName(text) != nil {
		return ""
	}
	return fmt.Sprintf("holds the environments, each a table [env.NAME], not text; to choose the default environment, write default_env = %q", text)
}

// lineText is line n of data, or "".
func lineText(data []byte, n int) string {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimSuffix(lines[n-1], "\r")
}

// writtenValue says what kind of value the line key = value sets, in a
// person's words ("text", "a number"), and a text's words.
func writtenValue(line string) (kind, text string) {
	_, v, ok := strings.Cut(line, "=")
	if !ok {
		return "a value", ""
	}
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, `"`), strings.HasPrefix(v, "'"):
		q := v[:1]
		text, _, _ = strings.Cut(v[1:], q)
		return "text", text
	case strings.HasPrefix(v, "true"), strings.HasPrefix(v, "false"):
		return "true or false", ""
	case strings.HasPrefix(v, "["):
		return "a list", ""
	case strings.HasPrefix(v, "{"):
		return "a table", ""
	case v != "" && strings.ContainsRune("0123456789+-.in", rune(v[0])):
		return "a number", ""
	}
	return "a value", ""
}

// curlyQuotes are the quotes a word processor, a web page or a chat puts
// for straight ones, which TOML does not take.
const curlyQuotes = "\u201c\u201d\u201e\u2018\u2019\u201a"

// pastedCharacter is the error for a parse error that a character pasted
// from a web page or a chat caused: a curly quote for a straight one, or a
// space that TOML does not take for one (a non-breaking space); nil for
// another.
func pastedCharacter(path string, data []byte, pe toml.ParseError) *Error {
	line := lineText(data, pe.Position.Line)
	if strings.ContainsAny(line, curlyQuotes) && (strings.HasPrefix(pe.Message, "expected value but found '") || strings.Contains(pe.Message, "strings cannot contain newlines")) {
		pair := "\u201c \u201d"
		if strings.ContainsAny(line, "\u2018\u2019\u201a") && !strings.ContainsAny(line, "\u201c\u201d\u201e") {
			pair = "\u2018 \u2019"
		}
		key := pe.LastKey
		return &Error{Path: path, Line: pe.Position.Line, Key: key,
			Msg: fmt.Sprintf(`is written in curly quotes (%s), which TOML does not take; write straight double quotes: %s = "…"`, pair, key[strings.LastIndex(key, ".")+1:])}
	}
	m := oddCharacter().FindStringSubmatch(pe.Message)
	if m == nil {
		return nil
	}
	n, _ := strconv.ParseUint(m[1], 16, 32)
	r := rune(n)
	what, ok := pastedSpaces[r]
	if !ok {
		if !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) {
			return nil
		}
		what = "an invisible character"
	}
	next := "delete it"
	if unicode.IsSpace(r) {
		next = "delete it and type an ordinary space"
	}
	key := pe.LastKey
	// A key followed by the character: the key, not its table, is named.
	if before, _, ok := strings.Cut(line, string(r)); ok && pe.Position.Line > 0 {
		if k := strings.TrimSpace(before); k != "" && bareKey().MatchString(k) && !strings.HasSuffix(key, "."+k) {
			if key != "" {
				key += "."
			}
			key += k
		}
	}
	return &Error{Path: path, Line: pe.Position.Line, Key: key,
		Msg: fmt.Sprintf("holds %s (U+%04X), which TOML does not take for a space; %s", what, r, next)}
}

// syntaxFromElsewhere is the error for a parse error that syntax a
// person brings from other files causes, saying what TOML takes instead: a
// comment begun with // or ;, a colon for =, a key with no value, a
// table's line without its ], a space in an environment's name; nil for
// another.
func syntaxFromElsewhere(path string, data []byte, pe toml.ParseError) *Error {
	n := pe.Position.Line
	line := strings.TrimSpace(lineText(data, n))
	switch {
	case strings.HasPrefix(line, "//"), strings.HasPrefix(line, ";"):
		mark := line[:1]
		if mark == "/" {
			mark = "//"
		}
		return &Error{Path: path, Line: n, Msg: "a comment starts with # in TOML; write # in place of " + mark}
	case pe.Message == "expected '.' or '=', but got ':' instead":
		k, _, _ := strings.Cut(line, ":")
		k = strings.TrimSpace(k[strings.LastIndexAny(k, "{,")+1:]) // in an inline table, its key
		if !bareKey().MatchString(k) {
			return nil
		}
		key := k
		if pe.LastKey != "" && !strings.HasSuffix("."+pe.LastKey, "."+k) {
			key = pe.LastKey + "." + k
		}
		// The value is not repeated: it may be a secret.
		return &Error{Path: path, Line: n, Key: key, Msg: fmt.Sprintf("write = between the key and its value, not a colon: %s = …", k)}
	case pe.LastKey != "" && strings.HasPrefix(pe.Message, "expected a comma (',') or array terminator (']'), but got "):
		name := pe.LastKey[strings.LastIndex(pe.LastKey, ".")+1:]
		if strings.HasSuffix(pe.Message, "end of file") {
			return &Error{Path: path, Line: n, Key: pe.LastKey, Msg: "the list lacks its closing ]; end it with ]"}
		}
		return &Error{Path: path, Line: n, Key: pe.LastKey, Msg: fmt.Sprintf(`write a comma between the list's items: %s = ["…", "…"]`, name)}
	case pe.LastKey != "" && (pe.Message == `expected value but found '\n' instead` || pe.Message == `expected value but found '\r' instead` ||
		pe.Message == "unexpected EOF; expected value"):
		return &Error{Path: path, Line: n, Key: pe.LastKey, Msg: "has no value after the =; write one, or take the line out"}
	case strings.HasPrefix(pe.Message, "expected '.' or ']' to end table name, but got "):
		got := strings.TrimPrefix(pe.Message, "expected '.' or ']' to end table name, but got ")
		if got == `'\n' instead` || got == `'\r' instead` || got == "EOF instead" || strings.HasPrefix(got, "'#'") {
			if got == `'\n' instead` && n > 1 {
				n-- // the parser is on the next line
			}
			header := strings.TrimSpace(strings.SplitN(lineText(data, n), "#", 2)[0])
			name := strings.TrimLeft(header, "[")
			return &Error{Path: path, Line: n, Key: normalizeKey(name), Msg: fmt.Sprintf("the table's line lacks its closing ]; write %s]", header)}
		}
		if rest, ok := strings.CutPrefix(line, "[env."); ok {
			name, _, _ := strings.Cut(rest, "]")
			fixed := strings.Join(strings.Fields(name), "-")
			return &Error{Path: path, Line: n, Msg: fmt.Sprintf("an environment's name uses only letters, digits, '-' and '_'; write [env.%s]", fixed)}
		}
	}
	return nil
}

// pastedSpaces names the characters that look like a space, or nothing,
// and that copying from a web page or a chat brings.
var pastedSpaces = map[rune]string{
	'\u00a0': "a non-breaking space",
	'\u202f': "a narrow non-breaking space",
	'\u2007': "a figure space",
	'\u2009': "a thin space",
	'\u200b': "a zero-width space",
	'\u2060': "a word joiner",
	'\ufeff': "a byte-order mark",
	'\u3000': "an ideographic space",
}

// oddCharacter matches the parser's quoting of a character it did not
// expect, written as a Go escape.
var oddCharacter = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`'\\u([0-9a-f]{4})'`)
})

// bareKey matches a key as written without quotes, dotted or not.
var bareKey = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9_-]+(\s*\.\s*[A-Za-z0-9_-]+)*$`)
})

// definedTwice matches the decoder's message for a key or table written
// twice, which names the key (its LastKey is a table's parent).
var definedTwice = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^Key '([^']+)' has already been defined\.$`)
})

// wrongTypes matches the decoder's words for a value of the wrong type,
// which name Go's types: what was written, and what the setting is.
var wrongTypes = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		regexp.MustCompile(`^incompatible types: TOML value has type (\S+); destination has type (\S+)$`),
		regexp.MustCompile(`^type mismatch for \S+: expected (table) but found (\S+)$`),
	}
})

// wrongType says in a person's words what key holds and what to write
// instead, from the decoder's msg.
func wrongType(key, msg string) string {
	var got, want string
	if m := wrongTypes()[0].FindStringSubmatch(msg); m != nil {
		got, want = m[1], m[2]
	} else if m := wrongTypes()[1].FindStringSubmatch(msg); m != nil {
		got, want = m[2], m[1]
	} else {
		return msg
	}
	switch {
	case strings.HasPrefix(got, "int"), strings.HasPrefix(got, "float"):
		got = "a number"
	case got == "string":
		got = "text"
	case got == "bool":
		got = "true or false"
	case strings.Contains(got, "[]"):
		got = "a list"
	case strings.HasPrefix(got, "map"):
		got = "a table"
	case got == "time.Time", strings.HasPrefix(got, "toml.Local"):
		// A value the parser read as a date (client_id = 1979-05-27).
		got = "a date or time"
	}
	switch want {
	case "string":
		want = `text in quotes, such as "x"`
	case "slice":
		want = `a list, such as ["read", "write"]`
	case "boolean", "bool":
		want = "true or false, without quotes"
	case "table":
		want = "a table: a line [" + key + "] with its keys below it"
		if strings.HasPrefix(key, "env.") && strings.Count(key, ".") == 1 {
			want = "a table: a line [" + key + "] with the environment's keys below it"
		}
	default:
		want = "a " + want
	}
	return fmt.Sprintf("is %s; write %s", got, want)
}

// Names lists the configured environments in order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Envs))
	for n := range f.Envs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Missing is the mistake of a configuration file that does not exist
// where one is needed.
func (f *File) Missing() error {
	return &invalid{msg: fmt.Sprintf("the configuration file %s does not exist; run `freshtoken init` to create it, or name another", f.Path), flag: configFlag}
}

// Select picks the environment: the -e flag, else FRESHTOKEN_ENV, else
// default_env, else the only one configured.
func (f *File) Select(flag string) (*Env, error) {
	// A name the user did not type now says where it came from, and how
	// to be rid of it.
	name, from, unset := flag, "", ""
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
			return nil, &invalid{msg: fmt.Sprintf("%d environments are configured (%s); set default_env in %s, or name one",
				len(f.Envs), strings.Join(f.Names(), ", "), f.Path), flag: "-e NAME"}
		}
	}
	e := f.Envs[name]
	if e == nil {
		known := "none"
		if len(f.Envs) > 0 {
			known = strings.Join(f.Names(), ", ")
		}
		if near := f.Closest(name); near != "" {
			return nil, Invalidf("no environment %q%s in %s; did you mean %q? (configured: %s)%s", name, from, f.Path, near, known, unset)
		}
		if store.ValidateEnvName(name) != nil {
			return nil, Invalidf("environment %q%s is not configured in %s (configured: %s), and cannot be: a name uses only letters, digits, '-' and '_', at most 64 of them%s", name, from, f.Path, known, unset)
		}
		return nil, Invalidf("environment %q%s is not configured in %s (configured: %s); add it with `freshtoken init -e %s`%s", name, from, f.Path, known, name, unset)
	}
	return e, nil
}

// Closest is the configured environment name nearest to name, as a typo of
// it (one edit, or up to a third of its length); "" when none is.
func (f *File) Closest(name string) string {
	best, bestD := "", 0
	for _, known := range f.Names() {
		d := editDistance(strings.ToLower(name), strings.ToLower(known))
		if d <= max(1, len(known)/3) && d < len(known) && (best == "" || d < bestD) {
			best, bestD = known, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
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
		_, err := keyringService(storeURL)
		return err
	}
	_, err := StoreDir(storeURL)
	return err
}

// StoreDir turns a file store URL (or "") into a folder.
func StoreDir(storeURL string) (string, error) {
	if storeURL == "" {
		return defaultStoreDir()
	}
	// Messages show the URL without a user or password, which a mistyped
	// Redis URL may hold.
	u, err := url.Parse(storeURL)
	if err != nil {
		return "", errors.New("the [store] url is not a valid URL; use file:///path/to/folder, redis://host:6379/0 or keyring://")
	}
	shown := store.RedactURL(storeURL)
	switch u.Scheme {
	case "":
		if u.Host != "" || u.User != nil {
			// //user:pw@host:6379/0, its scheme left out.
			return "", fmt.Errorf("%q has no scheme; write a Redis server as redis://HOST:6379/0 (its user and password before an @ in it), a folder as file:///path/to/folder", shown)
		}
		// A path, as a shell takes it.
		if rest, ok := strings.CutPrefix(storeURL, "~"); ok && (rest == "" || rest[0] == '/') {
			return "", fmt.Errorf("%q: ~ is your home folder only to a shell; write the whole path as a URL: %s", storeURL, fileURL(filepath.Join(homeFolder(), rest)))
		}
		if filepath.IsAbs(storeURL) {
			return "", fmt.Errorf("%q is a folder's path; write it as a URL: %s", storeURL, fileURL(storeURL))
		}
		return "", fmt.Errorf("%q is no URL; use file:///path/to/folder, redis://host:6379/0 or keyring://", shown)
	case "file":
		if p := u.Path; p == "/~" || strings.HasPrefix(p, "/~/") {
			return "", fmt.Errorf("%q names a folder ~ at the top of the disk: ~ is your home folder only to a shell; write the whole path: %s", shown, fileURL(filepath.Join(homeFolder(), p[2:])))
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
		return "", fmt.Errorf("%q: unsupported scheme %q; use file:///path/to/folder, redis://host:6379/0 or keyring://", shown, u.Scheme)
	}
}

// fileURL is the file:// URL of the folder at path.
func fileURL(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

func defaultStoreDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "freshtoken"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your home folder (%v); set [store] url", err)
	}
	return filepath.Join(home, ".local", "state", "freshtoken"), nil
}

// maxSecretOutput bounds what client_secret_cmd may print: a client secret
// is short, and a command flooding its output must not fill the memory.
const maxSecretOutput = 64 << 10

// secretFromEnv reads the client secret from client_secret_env, white
// space around it taken off; when there is none, state says why: "is not
// set" or "is empty".
func (e *Env) secretFromEnv() (v, state string) {
	raw, set := os.LookupEnv(e.ClientSecretEnv)
	switch v = strings.TrimSpace(raw); {
	case !set:
		return "", "is not set"
	case v == "":
		return "", "is empty"
	}
	return v, ""
}

// ClientSecretProblem says, when e's client secret cannot be had here,
// what is wrong and what to do, for a token request would fail for want of
// it: client_secret_env names a variable that is not set here (or is set
// to nothing but white space), or no secret is configured for a provider
// that refuses a client without one. "" otherwise, and never the secret.
func (e *Env) ClientSecretProblem() string {
	if e.ClientSecretEnv == "" {
		return e.MissingClientSecret()
	}
	_, state := e.secretFromEnv()
	if state == "" {
		return ""
	}
	return fmt.Sprintf("$%s %s here, so a renewal or log-in fails for want of the client secret; set it (export %s=…) where freshtoken runs", e.ClientSecretEnv, state, e.ClientSecretEnv)
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

// ClientSecretValue returns the client secret from whichever source the
// environment names, trimmed of the white space that copy and paste adds.
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
		}
		return v, nil
	case e.ClientSecretKeyring:
		return e.clientSecretFromKeyring(ctx)
	case e.ClientSecretCmd != "":
		out, stderr, more, err := shellrun.Run(ctx, e.ClientSecretCmd, nil, maxSecretOutput, maxSecretOutput)
		if stopped := (*shellrun.Stopped)(nil); errors.As(err, &stopped) {
			return "", fmt.Errorf("environment %s: client_secret_cmd %q was %w before it printed the secret", e.Name, e.ClientSecretCmd, stopped)
		}
		if err != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			return "", Invalidf("environment %s: client_secret_cmd %q did not print the secret in the time it is given, and was ended; run it yourself to see what it waits for (a password manager's prompt, a locked agent)", e.Name, e.ClientSecretCmd)
		}
		if more {
			return "", Invalidf("environment %s: client_secret_cmd %q printed more than %d KiB, which is no client secret; make it print the secret alone", e.Name, e.ClientSecretCmd, maxSecretOutput>>10)
		}
		if err != nil {
			why := err.Error()
			if line, _, _ := strings.Cut(strings.TrimSpace(string(stderr)), "\n"); line != "" {
				why += ": " + line
			}
			return "", Invalidf("environment %s: client_secret_cmd %q failed (%s); run it yourself to see why", e.Name, e.ClientSecretCmd, redact.OneLine(why, 200))
		}
		v := strings.TrimSpace(string(out))
		if v == "" {
			return "", Invalidf("environment %s: client_secret_cmd %q printed nothing; run it yourself: it must print the client secret", e.Name, e.ClientSecretCmd)
		}
		return v, nil
	}
	if m := e.MissingClientSecret(); m != "" {
		return "", Invalidf("environment %s: %s", e.Name, m)
	}
	return "", nil
}
