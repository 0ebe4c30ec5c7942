// Package postman reads the FreeAgent settings and tokens out of a Postman
// environment export (a JSON object whose "values" list holds {key, value,
// type?, enabled?} entries), or out of a collection export's "variable"
// list. The layouts people write are understood, with names in any case and
// with or without '_' or '-' between words:
//
//   - the seed layout, one environment per key <key>: ClientId,
//     ClientSecret, Resource_<key> (the API's URL), RefreshToken_<key>,
//     AccessToken_<key>, AccessTokenIss_<key> (when it was issued) and
//     AccessTokenExp_<key> (its lifetime, or when it expires); ResourceKey
//     names the key in use;
//   - the same with the environment first: sandRefreshToken, sandUrl,
//     prodAccessTokenExp, …;
//   - the common layout, one environment: url, client_id, client_secret,
//     refresh_token and access_token.
//
// Times are told apart by size: seconds or milliseconds since 1970, and
// lifetimes in seconds or milliseconds. Disabled entries are ignored. Parse
// returns every environment complete and checked, and each key that cannot
// be one with why (Export.Choose decides what that stops), or an error for
// the whole export; each error says in one line what is wrong and never
// repeats a secret.
package postman

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/store"
)

// Layout is which naming an export uses.
type Layout string

const (
	Seed     Layout = "seed"      // RefreshToken_sand: the field, then the environment
	EnvFirst Layout = "env-first" // sandRefreshToken: the environment, then the field
	Common   Layout = "common"    // refresh_token: one environment
)

// Export is what an export holds for freshtoken.
type Export struct {
	Name   string // the Postman environment's name
	Layout Layout
	Envs   []Env // by name
	// Unusable are the keys that cannot become environments, by name,
	// each with why: they matter only when imported (see Choose).
	Unusable []Unusable
}

// Unusable is a key of an export that cannot become an environment.
type Unusable struct {
	Name string
	Err  error // what is wrong, in one line that repeats no secret
	// NoAPI says the key lacks only its API's address (Resource_<key>
	// missing or disabled): by the documented layout it names no
	// environment at all, so importing every key passes it over. Any
	// other problem is a value to mend before the whole export imports.
	NoAPI bool
}

// maxStopsTold is how many problems that stop an import are told in full;
// the environments of the rest are named. Each told in full, 200 of them
// made a message of 45,000 characters, whose middle the one-line error
// left out, so most went untold and uncounted.
const maxStopsTold = 10

// Choose picks the environments to import: only the one named, whose
// values alone then matter, or, with name "", every key, passing over those
// with no API address (returned as skipped) and refusing the whole export
// for any other key that cannot be imported, saying what is wrong with
// each (the first maxStopsTold; the environments of the rest named).
// found is false when no key is called name.
func (x *Export) Choose(name string) (envs []Env, skipped []Unusable, found bool, err error) {
	if name != "" {
		for _, e := range x.Envs {
			if e.Name == name {
				return []Env{e}, nil, true, nil
			}
		}
		for _, u := range x.Unusable {
			if u.Name == name {
				return nil, nil, true, u.Err
			}
		}
		return nil, nil, false, nil
	}
	// Every key that stops the import is told, in one line: told one at a
	// time, each export mended and tried again met the next.
	var stop, stopNames []string
	for _, u := range x.Unusable {
		if u.NoAPI {
			skipped = append(skipped, u)
			continue
		}
		stop = append(stop, u.Err.Error())
		stopNames = append(stopNames, u.Name)
	}
	if len(stop) > 0 {
		why := strings.Join(stop, "; ")
		if len(stop) > maxStopsTold {
			why = fmt.Sprintf("%s; and the keys of %d environments more: %s", strings.Join(stop[:maxStopsTold], "; "), len(stop)-maxStopsTold, strings.Join(stopNames[maxStopsTold:], ", "))
		}
		if len(x.Envs) == 0 {
			return nil, nil, true, errors.New(why)
		}
		var good []string
		for _, e := range x.Envs {
			good = append(good, e.Name)
		}
		alone := good[0] + " alone with -e " + good[0]
		if len(good) > 1 {
			alone = "each of " + strings.Join(good, ", ") + " alone with -e NAME"
		}
		return nil, nil, true, fmt.Errorf("%s (or import %s)", why, alone)
	}
	if len(x.Envs) == 0 && len(skipped) > 0 {
		for _, u := range skipped {
			stop = append(stop, u.Err.Error())
		}
		return nil, nil, true, errors.New(strings.Join(stop, "; "))
	}
	return x.Envs, skipped, true, nil
}

// Names are the names of every key of the export, importable or not.
func (x *Export) Names() []string {
	var names []string
	for _, e := range x.Envs {
		names = append(names, e.Name)
	}
	for _, u := range x.Unusable {
		names = append(names, u.Name)
	}
	slices.Sort(names)
	return names
}

// Env is one environment found in an export.
type Env struct {
	// Name is the resource key (seed layout) or, in the common layout, the
	// Postman environment's name made fit for freshtoken ("" when it has
	// none that can be used).
	Name string
	// Active is set when ResourceKey names this environment.
	Active       bool
	APIURL       string // the API's root, ending in "/", without a trailing /v2
	ClientID     string
	ClientSecret string // "" when the export has none
	RefreshToken string
	// EmptyRefreshKey is the export's key for the refresh token when it
	// is there with no value, as Postman exports a variable whose current
	// value was never persisted; "" otherwise.
	EmptyRefreshKey string
	AccessToken     string
	IssuedAt        time.Time     // when AccessToken was issued; zero when unknown
	Lifetime        time.Duration // AccessToken's lifetime; zero when unknown
	ExpiresAt       time.Time     // when AccessToken expires, if the export says so instead of a lifetime
	// Implausible says why the export's issue time or lifetime cannot be
	// believed (such as milliseconds where seconds belong), which makes
	// the expiry unknown; "" when they are plausible or absent.
	Implausible string
}

// Plausibility bounds for an access token's issue time and lifetime.
var (
	earliestIssue = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxLifetime   = 24 * time.Hour
)

// Expiry is when AccessToken expires, and whether that is known.
func (e *Env) Expiry() (time.Time, bool) {
	switch {
	case e.AccessToken == "" || e.Implausible != "":
		return time.Time{}, false
	case !e.ExpiresAt.IsZero():
		return e.ExpiresAt, true
	case e.IssuedAt.IsZero() || e.Lifetime <= 0:
		return time.Time{}, false
	}
	return e.IssuedAt.Add(e.Lifetime), true
}

// maxExportSize is more than any Postman export holds.
const maxExportSize = 64 << 20

// ReadFile parses the export in the file at path. A file larger than any
// export (a device, a pipe that never ends) is refused once maxExportSize
// has been read, rather than read until memory runs out.
func ReadFile(path string) (*Export, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}

// Read parses the export r holds (a pipe: stdin), as ReadFile does a file's.
func Read(r io.Reader) (*Export, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxExportSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxExportSize {
		return nil, fmt.Errorf("it is over %d MiB, larger than any Postman export; in Postman, export the environment again (Environments, ⋯, Export)", maxExportSize>>20)
	}
	return Parse(data)
}

// asUTF8 is data as UTF-8 without a byte-order mark, as JSON is read: an
// export opened and saved again in an editor may start with one (Notepad),
// or be in UTF-16 (PowerShell's redirections).
func asUTF8(data []byte) []byte {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return data[3:]
	case bytes.HasPrefix(data, []byte("\xff\xfe")):
		order = binary.LittleEndian
	case bytes.HasPrefix(data, []byte("\xfe\xff")):
		order = binary.BigEndian
	default:
		return data
	}
	units := make([]uint16, 0, len(data)/2)
	for i := 2; i+1 < len(data); i += 2 {
		units = append(units, order.Uint16(data[i:]))
	}
	return []byte(string(utf16.Decode(units)))
}

type rawExport struct {
	Name     string          `json:"name"`
	Values   *[]rawValue     `json:"values"`
	Variable *[]rawValue     `json:"variable"` // a collection's variables
	Info     *rawInfo        `json:"info"`
	Item     json.RawMessage `json:"item"`
}

type rawInfo struct {
	Name string `json:"name"`
}

type rawValue struct {
	Key     string          `json:"key"`
	Value   json.RawMessage `json:"value"`
	Enabled json.RawMessage `json:"enabled"`
}

// disabled reads "enabled": true, false, null or absent.
func (v *rawValue) disabled() (bool, error) {
	switch string(bytes.TrimSpace(v.Enabled)) {
	case "", "null", "true":
		return false, nil
	case "false":
		return true, nil
	}
	return false, fmt.Errorf(`has "enabled": %s; it should be true or false, without quotes`, clipJSON(v.Enabled))
}

// clipJSON shows a short JSON value, or the start of a long one.
func clipJSON(v json.RawMessage) string {
	t := string(bytes.TrimSpace(v))
	if len(t) > 20 {
		return t[:20] + "…"
	}
	return t
}

// Parse reads an export.
func Parse(data []byte) (*Export, error) {
	data = asUTF8(data)
	var raw rawExport
	t := bytes.TrimSpace(data)
	if len(t) == 0 { // a file saved empty, or `-` with nothing piped in
		return nil, errors.New("it is empty, not a Postman environment export: in Postman, Environments, ⋯ beside the environment, Export, and give the file saved")
	}
	if t[0] != '{' {
		return nil, errors.New("it is not a Postman environment export: it does not hold a JSON object")
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("it is not valid JSON (%s)", jsonProblem(data, err))
	}
	values, name := raw.Values, raw.Name
	if values == nil && raw.Variable != nil {
		values = raw.Variable
		if raw.Info != nil {
			name = raw.Info.Name
		}
	}
	if values == nil {
		if raw.Info != nil || raw.Item != nil {
			return nil, errors.New("it is a Postman collection without variables; in Postman, export the environment instead (Environments, ⋯, Export)")
		}
		return nil, errors.New(`it is not a Postman environment export: it has no "values" list`)
	}
	vars, err := variables(*values)
	if err != nil {
		return nil, err
	}
	exp := &Export{Name: name}
	k := sortKeys(vars)
	switch {
	case len(k.perEnv) > 0:
		exp.Layout = k.layout
		exp.Envs, exp.Unusable, err = keyedEnvs(vars, k)
	case k.global["url"] != "" || k.global["refreshtoken"] != "" || k.global["accesstoken"] != "":
		exp.Layout = Common
		var e Env
		e, err = commonEnv(vars, k, name)
		exp.Envs = []Env{e}
	default:
		return nil, fmt.Errorf("it holds no FreeAgent settings; its keys are %s (values not shown). Accepted: ClientId with Resource_<env> and RefreshToken_<env> (or <env>Url and <env>RefreshToken), or client_id, url and refresh_token", keyList(vars))
	}
	if err != nil {
		return nil, err
	}
	return exp, nil
}

// keyList names the keys of vars, for a message.
func keyList(vars map[string]string) string {
	if len(vars) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(vars))
	if len(keys) > 12 {
		return strings.Join(keys[:12], ", ") + fmt.Sprintf(" and %d more", len(keys)-12)
	}
	return strings.Join(keys, ", ")
}

// variables returns the enabled entries by key, their values as text with
// surrounding white space removed. A key with a control character inside
// it is refused, quoted: every message names keys as they are, and such a
// key, written to a terminal, would move its cursor or set its title.
func variables(values []rawValue) (map[string]string, error) {
	vars := map[string]string{}
	for i, v := range values {
		if strings.ContainsFunc(v.Key, unicode.IsControl) {
			return nil, fmt.Errorf("entry %d of its values has the key %q, with a control character no Postman variable's name has; in Postman, rename or delete it and export again", i+1, v.Key)
		}
		off, err := v.disabled()
		if err != nil {
			if v.Key == "" {
				return nil, fmt.Errorf("entry %d of its values %v", i+1, err)
			}
			return nil, fmt.Errorf("%s %v", v.Key, err)
		}
		if off {
			continue
		}
		if v.Key == "" {
			return nil, fmt.Errorf("entry %d of its values has no key", i+1)
		}
		if _, dup := vars[v.Key]; dup {
			return nil, fmt.Errorf("%s is set twice; in Postman, delete or disable one of them and export again", v.Key)
		}
		text, err := valueText(v.Value)
		if err != nil {
			return nil, fmt.Errorf("%s %v", v.Key, err)
		}
		vars[v.Key] = strings.TrimSpace(text)
	}
	return vars, nil
}

// valueText is a value as text: a string as it is, a number or boolean as
// written, and null or nothing as "".
func valueText(v json.RawMessage) (string, error) {
	t := bytes.TrimSpace(v)
	if len(t) == 0 || string(t) == "null" {
		return "", nil
	}
	switch t[0] {
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", errors.New("has a value that is not valid text")
		}
		return s, nil
	case '{', '[':
		return "", errors.New("has a list or object as its value, where text is expected")
	}
	return string(t), nil
}

// envFields are what a per-environment key can hold, by the field's name
// in lower case without separators; the longest names are tried first.
var envFields = map[string]string{
	"resource": "api", "url": "api", "baseurl": "api", "apiurl": "api",
	"refreshtoken": "refresh", "accesstoken": "access",
	"accesstokeniss": "issued", "accesstokenissued": "issued", "issuedat": "issued",
	"accesstokenexp": "expires", "accesstokenexpires": "expires", "accesstokenexpiry": "expires", "expiresin": "expires",
	"clientid": "client_id", "clientsecret": "client_secret",
}

// globalFields are the keys that hold one value for every environment, by
// their names in lower case without separators, and what each holds.
var globalFields = map[string]string{
	"clientid": "clientid", "clientsecret": "clientsecret", "resourcekey": "resourcekey",
	"url": "url", "baseurl": "url", "apiurl": "url", "refreshtoken": "refreshtoken", "accesstoken": "accesstoken",
}

// keyed is an export's keys sorted: per environment, or for all of them.
type keyed struct {
	layout Layout
	// perEnv maps an environment (in lower case) to its fields' keys.
	perEnv map[string]map[string]string
	// global maps a global field to its key.
	global map[string]string
	// twice is the first two keys that set one field of the environment
	// twiceEnv, their names differing only in case; empty when none do.
	twice    [2]string
	twiceEnv string
}

// squash is s in lower case without the separators people write between
// words (RefreshToken, refresh_token, Refresh-Token are one field).
func squash(s string) string { return separators.Replace(strings.ToLower(s)) }

// separators takes them out; built once, as building it for each of the
// many prefixes of each key took 10 s to read an export of 1000 environments.
var separators = strings.NewReplacer("_", "", "-", "", " ", "")

// sortKeys reads every key of vars as a global field, or as a field and an
// environment, in either order.
func sortKeys(vars map[string]string) keyed {
	k := keyed{perEnv: map[string]map[string]string{}, global: map[string]string{}}
	fields := slices.SortedFunc(maps.Keys(envFields), func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	seed, envFirst := 0, 0
	for _, key := range slices.Sorted(maps.Keys(vars)) {
		if g, ok := globalFields[squash(key)]; ok {
			k.global[g] = key
			continue
		}
		env, field, first := splitKey(key, fields)
		if env == "" {
			continue
		}
		if first {
			envFirst++
		} else {
			seed++
		}
		env = strings.ToLower(env)
		if k.perEnv[env] == nil {
			k.perEnv[env] = map[string]string{}
		}
		if other := k.perEnv[env][envFields[field]]; strings.EqualFold(other, key) && k.twice[0] == "" {
			k.twice, k.twiceEnv = [2]string{other, key}, env
		}
		k.perEnv[env][envFields[field]] = key
	}
	k.layout = Seed
	if envFirst > seed {
		k.layout = EnvFirst
	}
	return k
}

// splitKey finds in key a field and an environment, the field first
// (RefreshToken_sand) or the environment first (sandRefreshToken,
// sand_refresh_token); envFirst says which.
func splitKey(key string, fields []string) (env, field string, envFirst bool) {
	lower := strings.ToLower(key)
	for _, f := range fields {
		for i := 1; i <= len(lower); i++ { // the field first, then a separator
			if squash(lower[:i]) == f && i < len(lower) && (lower[i] == '_' || lower[i] == '-') {
				if e := strings.Trim(key[i:], "_-"); e != "" {
					return e, f, false
				}
			}
		}
		for j := len(lower) - 1; j > 0; j-- { // the environment first, then a word break
			if squash(lower[j:]) == f && (key[j-1] == '_' || key[j-1] == '-' || key[j] >= 'A' && key[j] <= 'Z') {
				if e := strings.Trim(key[:j], "_-"); e != "" {
					return e, f, true
				}
			}
		}
	}
	return "", "", false
}

// keyedEnvs reads each key's environment, or why it cannot be one; err is a
// problem of the whole export.
func keyedEnvs(vars map[string]string, k keyed) (envs []Env, unusable []Unusable, err error) {
	if k.twice[0] != "" {
		return nil, nil, fmt.Errorf("%s and %s both set the environment %s (names are read in lower case); in Postman, delete or rename one of them and export again", k.twice[0], k.twice[1], k.twiceEnv)
	}
	for _, name := range slices.Sorted(maps.Keys(k.perEnv)) {
		e, noAPI, err := keyedEnv(vars, k, name)
		if err != nil {
			unusable = append(unusable, Unusable{Name: name, Err: err, NoAPI: noAPI})
			continue
		}
		envs = append(envs, e)
	}
	return envs, unusable, nil
}

// keyedEnv reads the environment of one key; noAPI says the error is only
// that nothing names its API.
func keyedEnv(vars map[string]string, k keyed, name string) (_ Env, noAPI bool, _ error) {
	f := k.perEnv[name]
	clientKey := cmp.Or(f["client_id"], k.global["clientid"], "ClientId") // its own, else the one for all
	clientID := vars[clientKey]
	if clientID == "" {
		return Env{}, false, fmt.Errorf("%s is missing or empty; it is the OAuth identifier from FreeAgent's developer dashboard", clientKey)
	}
	secret := vars[cmp.Or(f["client_secret"], k.global["clientsecret"])]
	if f["api"] == "" {
		if k.layout == Seed {
			return Env{}, true, fmt.Errorf("there is no Resource_%s (or it is disabled), so nothing says which API the %s tokens are for", name, name)
		}
		return Env{}, true, fmt.Errorf("there is no %sUrl (or Resource_%s), or it is disabled, so nothing says which API the %s tokens are for", name, name, name)
	}
	if err := store.ValidateEnvName(name); err != nil {
		return Env{}, false, fmt.Errorf("the key of %s cannot name a freshtoken environment: %v", f["api"], err)
	}
	api, err := apiRoot(f["api"], vars[f["api"]])
	if err == nil {
		err = notTheProxy(f["api"], vars[f["api"]], api, name)
	}
	if err != nil {
		return Env{}, false, err
	}
	e := Env{
		Name:         name,
		Active:       strings.EqualFold(vars[k.global["resourcekey"]], name),
		APIURL:       api,
		ClientID:     clientID,
		ClientSecret: secret,
		RefreshToken: vars[f["refresh"]],
		AccessToken:  vars[f["access"]],
	}
	if err := noControls(map[string]string{clientKey: e.ClientID, cmp.Or(f["client_secret"], k.global["clientsecret"]): e.ClientSecret,
		f["refresh"]: e.RefreshToken, f["access"]: e.AccessToken}); err != nil {
		return Env{}, false, err
	}
	if f["refresh"] != "" && e.RefreshToken == "" {
		e.EmptyRefreshKey = f["refresh"]
	}
	if err := readTimes(&e, f["issued"], vars[f["issued"]], f["expires"], vars[f["expires"]]); err != nil {
		return Env{}, false, err
	}
	return e, false, nil
}

func commonEnv(vars map[string]string, k keyed, exportName string) (Env, error) {
	urlKey, idKey := cmp.Or(k.global["url"], "url"), cmp.Or(k.global["clientid"], "client_id")
	if vars[urlKey] == "" {
		return Env{}, fmt.Errorf("%s is missing or empty; it is the API's address, such as https://api.sandbox.freeagent.com", urlKey)
	}
	api, err := apiRoot(urlKey, vars[urlKey])
	if err == nil {
		err = notTheProxy(urlKey, vars[urlKey], api, EnvName(exportName))
	}
	if err != nil {
		return Env{}, err
	}
	if vars[idKey] == "" {
		return Env{}, fmt.Errorf("%s is missing or empty; it is the OAuth identifier from FreeAgent's developer dashboard", idKey)
	}
	e := Env{
		Name:         EnvName(exportName),
		APIURL:       api,
		ClientID:     vars[idKey],
		ClientSecret: vars[k.global["clientsecret"]],
		RefreshToken: vars[k.global["refreshtoken"]],
		AccessToken:  vars[k.global["accesstoken"]],
	}
	if err := noControls(map[string]string{idKey: e.ClientID, k.global["clientsecret"]: e.ClientSecret,
		k.global["refreshtoken"]: e.RefreshToken, k.global["accesstoken"]: e.AccessToken}); err != nil {
		return Env{}, err
	}
	if key := k.global["refreshtoken"]; key != "" && e.RefreshToken == "" {
		e.EmptyRefreshKey = key
	}
	return e, nil
}

// noControls refuses a client id, client secret or token (values by their
// Postman variables) with a control character inside it, a line break
// pasted into Postman, say: none has one (RFC 6749 appendix A), and sent
// as it is, it would be refused, or break the request that carries it; or
// with bytes that are not UTF-8, mangled in the copy.
// White space around a value is already trimmed, as FreeAgent advises for
// ids and secrets. The value is never shown: it is a secret.
func noControls(values map[string]string) error {
	for _, key := range slices.Sorted(maps.Keys(values)) {
		if key == "" {
			continue
		}
		if i := strings.IndexFunc(values[key], unicode.IsControl); i >= 0 {
			what := fmt.Sprintf("a control character (%U)", []rune(values[key][i:])[0])
			if c := values[key][i]; c == '\n' || c == '\r' {
				what = "a line break"
			}
			return fmt.Errorf("%s holds %s, which no client id, secret or token has; in Postman, paste the value again on one line and export again", key, what)
		}
		if strings.ContainsRune(values[key], utf8.RuneError) {
			// Bytes that are not UTF-8, read as U+FFFD: a copy no provider
			// issued, and the engine stores no such refresh token.
			return fmt.Errorf("%s holds bytes that are not UTF-8 text (or U+FFFD, which stands for them), which no client id, secret or token has; in Postman, paste the value again and export again", key)
		}
	}
	return nil
}

// apiRoot turns a Resource or url value into an API root: scheme and host,
// any path but a trailing /v2, and a final "/".
func apiRoot(key, v string) (string, error) {
	if strings.Contains(v, "{{") {
		return "", fmt.Errorf("%s is %q, which refers to another Postman variable; put the URL itself there, such as https://api.sandbox.freeagent.com", key, v)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		if plainHost(v) {
			return "", fmt.Errorf("%s is %q, not a URL such as https://api.sandbox.freeagent.com", key, v)
		}
		// Not shown: what is no URL may be a token or the secret pasted
		// into the wrong value, or a URL holding a password.
		return "", fmt.Errorf("%s is not a URL such as https://api.sandbox.freeagent.com (its value is not shown, as it may be a token pasted there); in Postman, put the API's address there and export again", key)
	}
	p := strings.TrimSuffix(u.Path, "/")
	p = strings.TrimSuffix(p, "/v2")
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: p + "/"}).String(), nil
}

// plainHost reports whether v, a value that is no URL, is a host name
// written without its scheme (api.freeagent.com, api.example.com:8080/v2), which
// may be shown: lower case letters, digits, dots, hyphens, a port and a
// path, its host a dotted name ending in letters. A token (a JWT has dots
// too) or a secret has upper case letters, or no such name.
func plainHost(v string) bool {
	host, _, _ := strings.Cut(v, "/")
	host, _, _ = strings.Cut(host, ":")
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".-/:", r)) {
			return false
		}
	}
	dot := strings.LastIndex(host, ".")
	last := host[dot+1:]
	if dot <= 0 || last == "" || len(last) > 24 {
		return false
	}
	for _, r := range last {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// notTheProxy refuses api, the API root read from key's value v, when it is
// the address freshtoken's proxy gives the environment name: a loopback
// host and the name alone as its path. That is Postman's base URL once it
// points at the proxy (docs/postman.md); imported as the API's address, the
// proxy would send every request back to itself.
func notTheProxy(key, v, api, name string) error {
	u, err := url.Parse(api)
	if err != nil || !httpx.ReachesThisMachine(u.Hostname()) || !strings.EqualFold(u.Path, "/"+name+"/") {
		return nil
	}
	return fmt.Errorf("%s is %q, the address of freshtoken's proxy (Postman's base URL, pointed at it); put FreeAgent's own address there, such as https://api.sandbox.freeagent.com, and import again", key, v)
}

// Sizes that tell times apart: an instant in milliseconds since 1970 is
// over 1e11 (since 1973), in seconds over 1e9 (since 2001); a lifetime over
// a day's seconds is in milliseconds.
const (
	millisSince1970  = 1e11
	secondsSince1970 = 1e9
)

// readTimes reads e's issue time (key iss, value issV) and its lifetime or
// expiry (key exp, value expV) into e. A number that cannot be right (NaN,
// before 2000, in the future for an issue time, over a day for a lifetime,
// an expiry over a day after the issue time, or from now without one) is
// no error but a doubt, which leaves the expiry unknown and says why.
func readTimes(e *Env, iss, issV, exp, expV string) error {
	var doubts []string
	if issV != "" {
		n, err := strconv.ParseFloat(issV, 64)
		t := instant(n)
		if err != nil { // a date, perhaps
			if t, err = time.Parse(time.RFC3339Nano, issV); err == nil {
				n = float64(t.Unix())
			}
		}
		if err != nil || n <= 0 {
			return fmt.Errorf("%s is %q, not a time in seconds or milliseconds since 1970 such as %d, nor a date such as %s", iss, issV, time.Now().UnixMilli(), time.Now().UTC().Format(time.RFC3339))
		}
		switch {
		case math.IsNaN(n) || math.IsInf(n, 0):
			doubts = append(doubts, fmt.Sprintf("%s is %s, not a time", iss, issV))
		case t.Before(earliestIssue):
			doubts = append(doubts, fmt.Sprintf("%s is %s, before 2000 in seconds or milliseconds since 1970", iss, issV))
		case t.After(time.Now().Add(24 * time.Hour)):
			doubts = append(doubts, fmt.Sprintf("%s is %s, in the future", iss, issV))
		default:
			e.IssuedAt = t
		}
	}
	if expV != "" {
		n, err := strconv.ParseFloat(expV, 64)
		date, derr := time.Parse(time.RFC3339Nano, expV)
		if err != nil && derr != nil || n < 0 {
			return fmt.Errorf("%s is %q, not a number of seconds such as 3600, nor a time since 1970 or a date such as %s", exp, expV, time.Now().UTC().Format(time.RFC3339))
		}
		switch {
		case err != nil: // the date it expires
			e.ExpiresAt = date
		case math.IsNaN(n) || math.IsInf(n, 0):
			doubts = append(doubts, fmt.Sprintf("%s is %s, not a number of seconds", exp, expV))
		case n >= secondsSince1970:
			e.ExpiresAt = instant(n)
		case n > maxLifetime.Seconds() && n/1000 <= maxLifetime.Seconds():
			e.Lifetime = time.Duration(n * float64(time.Millisecond))
		case n > maxLifetime.Seconds():
			doubts = append(doubts, fmt.Sprintf("%s is %s, over a day in seconds or in milliseconds", exp, expV))
		default:
			e.Lifetime = time.Duration(n * float64(time.Second))
		}
	}
	if !e.ExpiresAt.IsZero() {
		// The time it expires is a lifetime too: over a day, the token
		// would be served, never renewed, until then.
		from, after := e.IssuedAt, "after "+iss
		if from.IsZero() {
			from, after = time.Now(), "from now"
		}
		if e.ExpiresAt.Sub(from) > maxLifetime {
			doubts = append(doubts, fmt.Sprintf("%s is %s, over a day %s", exp, expV, after))
		}
	}
	if len(doubts) > 0 {
		e.Implausible = strings.Join(doubts, "; ")
		e.IssuedAt, e.Lifetime, e.ExpiresAt = time.Time{}, 0, time.Time{}
	}
	return nil
}

// instant reads n as seconds or milliseconds since 1970, by its size.
func instant(n float64) time.Time {
	if n >= math.MaxInt64 { // past what int64 milliseconds hold, which wrapped round to a time long gone
		return time.UnixMilli(math.MaxInt64)
	}
	if n >= millisSince1970 {
		return time.UnixMilli(int64(n))
	}
	return time.Unix(int64(n), 0)
}

// EnvName makes a Postman environment name fit to name a freshtoken
// environment: lower case, with each run of other characters than letters,
// digits, '-' and '_' turned into one '-', starting with a letter or digit
// (store.ValidateNewEnvName). It returns "" when nothing is left.
func EnvName(name string) string {
	return strings.TrimLeft(FormerEnvName(name), "-_")
}

// FormerEnvName is the name EnvName gave name before names had to start
// with a letter or digit ("- Sandbox": "--sandbox"), the name an older
// freshtoken's import gave the environment.
func FormerEnvName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// jsonProblem says where JSON went wrong, as line:column when it can.
func jsonProblem(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:se.Offset], []byte("\n"))
		col := int(se.Offset) - bytes.LastIndexByte(data[:se.Offset], '\n') - 1
		return fmt.Sprintf("line %d, column %d: %v", line, col, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		kind := te.Type.Kind()
		if kind == reflect.Pointer {
			kind = te.Type.Elem().Kind()
		}
		want := map[reflect.Kind]string{reflect.Slice: "a list", reflect.Struct: "an object", reflect.String: "text", reflect.Bool: "true or false"}[kind]
		if want == "" {
			want = "a " + kind.String()
		}
		return fmt.Sprintf("%q should be %s, not %s", te.Field, want, te.Value)
	}
	return err.Error()
}
