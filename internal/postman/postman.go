// Package postman reads the FreeAgent settings and tokens out of a Postman
// environment export: a JSON object whose "values" list holds
// {key, value, type?, enabled?} entries. Two layouts are understood:
//
//   - the seed layout, one environment per resource key <key>: ClientId,
//     ClientSecret, Resource_<key> (the API's URL), RefreshToken_<key>,
//     AccessToken_<key>, AccessTokenIss_<key> (when it was issued, in
//     milliseconds since 1970) and AccessTokenExp_<key> (its lifetime in
//     seconds); ResourceKey names the key in use;
//   - the common layout, one environment: url, client_id, client_secret,
//     refresh_token and access_token.
//
// Disabled entries are ignored. Parse either returns every environment
// complete and checked, or an error that says in one line what is wrong
// and never repeats a secret.
package postman

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/freshtoken/freshtoken/store"
)

// Layout is which naming an export uses.
type Layout string

const (
	Seed   Layout = "seed"
	Common Layout = "common"
)

// Export is what an export holds for freshtoken.
type Export struct {
	Name   string // the Postman environment's name
	Layout Layout
	Envs   []Env // by name
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
	AccessToken  string
	IssuedAt     time.Time     // when AccessToken was issued; zero when unknown
	Lifetime     time.Duration // AccessToken's lifetime; zero when unknown
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
	if e.AccessToken == "" || e.IssuedAt.IsZero() || e.Lifetime <= 0 || e.Implausible != "" {
		return time.Time{}, false
	}
	return e.IssuedAt.Add(e.Lifetime), true
}

// ReadFile parses the export in the file at path.
func ReadFile(path string) (*Export, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

type rawExport struct {
	Name   string          `json:"name"`
	Values *[]rawValue     `json:"values"`
	Info   json.RawMessage `json:"info"`
	Item   json.RawMessage `json:"item"`
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
	var raw rawExport
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("it is not a Postman environment export: it does not hold a JSON object")
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("it is not valid JSON (%s)", jsonProblem(data, err))
	}
	if raw.Values == nil {
		if raw.Info != nil || raw.Item != nil {
			return nil, errors.New("it is a Postman collection, not an environment; in Postman, export the environment instead (Environments, ⋯, Export)")
		}
		return nil, errors.New(`it is not a Postman environment export: it has no "values" list`)
	}
	vars, err := variables(*raw.Values)
	if err != nil {
		return nil, err
	}
	exp := &Export{Name: raw.Name}
	switch {
	case isSeed(vars):
		exp.Layout = Seed
		exp.Envs, err = seedEnvs(vars)
	case isCommon(vars):
		exp.Layout = Common
		var e Env
		e, err = commonEnv(vars, raw.Name)
		exp.Envs = []Env{e}
	default:
		return nil, errors.New("it holds no FreeAgent settings: expected ClientId and Resource_<key> (with RefreshToken_<key>), or client_id and url (with refresh_token)")
	}
	if err != nil {
		return nil, err
	}
	return exp, nil
}

// variables returns the enabled entries by key, their values as text with
// surrounding white space removed.
func variables(values []rawValue) (map[string]string, error) {
	vars := map[string]string{}
	for i, v := range values {
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

// seedSuffixed are the seed layout's per-key variables.
var seedSuffixed = []string{"Resource_", "RefreshToken_", "AccessToken_", "AccessTokenIss_", "AccessTokenExp_"}

func isSeed(vars map[string]string) bool {
	for k := range vars {
		switch k {
		case "ClientId", "ClientSecret", "ResourceKey":
			return true
		}
		for _, p := range seedSuffixed {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
	}
	return false
}

func isCommon(vars map[string]string) bool {
	for _, k := range []string{"url", "client_id", "client_secret", "refresh_token", "access_token"} {
		if _, ok := vars[k]; ok {
			return true
		}
	}
	return false
}

func seedEnvs(vars map[string]string) ([]Env, error) {
	keys := map[string]bool{}
	for k := range vars {
		for _, p := range seedSuffixed {
			if key, ok := strings.CutPrefix(k, p); ok && key != "" {
				keys[key] = true
			}
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("it has no Resource_<key> entry, such as Resource_sand with the sandbox API's URL")
	}
	clientID := vars["ClientId"]
	if clientID == "" {
		return nil, errors.New("ClientId is missing or empty; it is the OAuth identifier from FreeAgent's developer dashboard")
	}
	var envs []Env
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		if _, ok := vars["Resource_"+key]; !ok {
			return nil, fmt.Errorf("there is no Resource_%s, so nothing says which API the %s tokens are for", key, key)
		}
		if err := store.ValidateEnvName(key); err != nil {
			return nil, fmt.Errorf("the key of Resource_%s cannot name a freshtoken environment: %v", key, err)
		}
		api, err := apiRoot("Resource_"+key, vars["Resource_"+key])
		if err != nil {
			return nil, err
		}
		e := Env{
			Name:         key,
			Active:       vars["ResourceKey"] == key,
			APIURL:       api,
			ClientID:     clientID,
			ClientSecret: vars["ClientSecret"],
			RefreshToken: vars["RefreshToken_"+key],
			AccessToken:  vars["AccessToken_"+key],
		}
		var doubtIss, doubtExp string
		if e.IssuedAt, doubtIss, err = millis("AccessTokenIss_"+key, vars["AccessTokenIss_"+key]); err != nil {
			return nil, err
		}
		if e.Lifetime, doubtExp, err = seconds("AccessTokenExp_"+key, vars["AccessTokenExp_"+key]); err != nil {
			return nil, err
		}
		if e.Implausible = cmp.Or(doubtIss, doubtExp); e.Implausible != "" {
			e.IssuedAt, e.Lifetime = time.Time{}, 0
		}
		envs = append(envs, e)
	}
	return envs, nil
}

func commonEnv(vars map[string]string, exportName string) (Env, error) {
	if vars["url"] == "" {
		return Env{}, errors.New("url is missing or empty; it is the API's address, such as https://api.sandbox.freeagent.com")
	}
	api, err := apiRoot("url", vars["url"])
	if err != nil {
		return Env{}, err
	}
	if vars["client_id"] == "" {
		return Env{}, errors.New("client_id is missing or empty; it is the OAuth identifier from FreeAgent's developer dashboard")
	}
	return Env{
		Name:         EnvName(exportName),
		APIURL:       api,
		ClientID:     vars["client_id"],
		ClientSecret: vars["client_secret"],
		RefreshToken: vars["refresh_token"],
		AccessToken:  vars["access_token"],
	}, nil
}

// apiRoot turns a Resource or url value into an API root: scheme and host,
// any path but a trailing /v2, and a final "/".
func apiRoot(key, v string) (string, error) {
	if strings.Contains(v, "{{") {
		return "", fmt.Errorf("%s is %q, which refers to another Postman variable; put the URL itself there, such as https://api.sandbox.freeagent.com", key, v)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%s is %q, not a URL such as https://api.sandbox.freeagent.com", key, v)
	}
	p := strings.TrimSuffix(u.Path, "/")
	p = strings.TrimSuffix(p, "/v2")
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: p + "/"}).String(), nil
}

// millis reads milliseconds since 1970; "" is zero. A number that cannot
// be a recent issue time (NaN, before 2000, more than a day ahead, such as
// seconds where milliseconds belong) is no error but a doubt, which says
// why.
func millis(key, v string) (t time.Time, doubt string, err error) {
	if v == "" {
		return time.Time{}, "", nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n <= 0 {
		return time.Time{}, "", fmt.Errorf("%s is %q, not a time in milliseconds since 1970 such as %d", key, v, time.Now().UnixMilli())
	}
	latest := time.Now().Add(24 * time.Hour)
	switch {
	case math.IsNaN(n) || math.IsInf(n, 0):
		return time.Time{}, fmt.Sprintf("%s is %s, not a time", key, v), nil
	case n < float64(earliestIssue.UnixMilli()):
		return time.Time{}, fmt.Sprintf("%s is %s, before 2000 if it is milliseconds since 1970 (seconds?)", key, v), nil
	case n > float64(latest.UnixMilli()):
		return time.Time{}, fmt.Sprintf("%s is %s, in the future if it is milliseconds since 1970", key, v), nil
	}
	return time.UnixMilli(int64(n)), "", nil
}

// seconds reads a duration in seconds; "" is zero. A lifetime that cannot
// be an access token's (NaN, over a day, such as milliseconds where seconds
// belong) is no error but a doubt, which says why.
func seconds(key, v string) (d time.Duration, doubt string, err error) {
	if v == "" {
		return 0, "", nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return 0, "", fmt.Errorf("%s is %q, not a number of seconds such as 3600", key, v)
	}
	switch {
	case math.IsNaN(n) || math.IsInf(n, 0):
		return 0, fmt.Sprintf("%s is %s, not a number of seconds", key, v), nil
	case n > maxLifetime.Seconds():
		return 0, fmt.Sprintf("%s is %s, over a day if it is seconds (milliseconds?)", key, v), nil
	}
	return time.Duration(n * float64(time.Second)), "", nil
}

// EnvName makes a Postman environment name fit to name a freshtoken
// environment: lower case, with each run of other characters than letters,
// digits, '-' and '_' turned into one '-'. It returns "" when nothing is left.
func EnvName(name string) string {
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
