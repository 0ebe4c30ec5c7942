package freshtoken_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestPublicTypesShowNoSecret: every public type that holds a secret (a
// token, a client secret, a private key, a device code, a Redis password,
// a key in a URL's query, a webhook's path, a notify command's arguments),
// shown by a Go program in any of the ways Go programs show what they hold
// (fmt's verbs, slog's text and JSON handlers, as an attribute, in a group,
// in a struct, a map or a slice of the program's own or embedded in one,
// json.Marshal, an error, the log package, expvar), shows none of it, raw
// or in any encoding. A store.Record held in a struct that slog's JSON
// handler marshalled showed its tokens whole, as did a config.Env; a
// CertifiedKey, its private key; a config.Notify, its command whole.
// None shows an error in place of its value: Settings (its function
// fields), a ClientKey and Options in a struct, a map or a slice, marshalled
// by slog's JSON handler, logged "!ERROR: json: unsupported type".
//
// One exception, by design: the JSON of a store.Record and a store.Grant
// is their stored form, tokens and URLs whole (storedForm), as a
// program's own store saves and reads records with json.Marshal and
// json.Unmarshal (TestOwnStoreOfJSONKeepsARotatingGrant): masked, such a
// store kept masked tokens at its first renewal and the grant was lost.
// What marshals one (json.Marshal, expvar, slog's JSON handler on a
// struct, a map or a slice holding one) shows them whole, as is checked
// here; every other encoding of them shows none.
func TestPublicTypesShowNoSecret(t *testing.T) {
	const (
		access   = "acc+Ess/0123456789=abc&def<ghi>jk"
		refresh  = "ref+Resh/0123456789=abc&def<ghi>jk"
		secret   = "cli+Ent/0123456789=abc&def<ghi>jk"
		key      = "k3y-0123456789abcdef-0123456789"
		password = "pw-0123456789abcdef-0123456789"
		hook     = "hook-0123456789abcdef-0123456789"
		pushover = "azGDORePK8gMaC0QOYAMyEEuzJnyUi" // Pushover's own example
		code     = "the-device-code-0123456789"
	)
	r, own := loggedIn(t)
	settings := r.settings
	settings.ClientSecret = secret
	settings.TokenParams = map[string]string{"password": secret}
	settings.AuthParams = map[string]string{"api_key": key}
	settings.APIURL += "?api_key=" + key
	src, err := freshtoken.New(settings, freshtoken.Options{Store: r.store})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := own.Token()
	if err != nil {
		t.Fatal(err)
	}
	device, err := newHostileDevice(t, map[string]any{"user_code": "WDJB-MJHT", "verification_uri": "https://example.com/device", "expires_in": 600}).src.StartDeviceLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := pk.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	private := new(big.Int).SetBytes(raw).String() // as fmt and json.Marshal write the key's D
	certified := &freshtoken.CertifiedKey{Signer: pk, Certificate: corpnet.SelfSigned(t, pk)}
	redis, err := redisstore.New("redis://user:" + password + "@127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	grant := store.Grant{TokenURL: "https://login.example.com/token?subscription-key=" + key, Issuer: "https://login.example.com/?api_key=" + key,
		ClientID: "client", Type: "authorization_code", Audience: "https://api.example.com/?api_key=" + key, Resource: "https://api.example.com/?key=" + key, Bound: true}
	rec := store.Record{AccessToken: access, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour), RefreshToken: refresh, Grant: grant}
	envSettings := config.EnvSettings{ClientID: "client", ClientSecret: secret, APIURL: "https://api.example.com/?api_key=" + key,
		TokenParams: config.Params{"password": secret}, AuthParams: config.Params{"api_key": key}}
	env := config.Env{Name: "sandbox", ClientID: "client", ClientSecret: secret, TokenURL: "https://login.example.com/token?subscription-key=" + key,
		TokenParams: map[string]string{"password": secret}, AuthParams: map[string]string{"api_key": key}}
	notify := config.Notify{Command: `curl -s -F token=` + pushover + ` -F message="$FRESHTOKEN_MESSAGE" https://api.pushover.net/1/messages.json`,
		Webhook: "https://hooks.example.com/services/" + hook, Desktop: true}
	file := config.File{Path: "/home/me/.config/freshtoken/config.toml", StoreURL: "redis://user:" + password + "@127.0.0.1:6379/0", Notify: notify,
		Envs: config.Envs{"sandbox": &env}, Settings: config.SettingsByEnv{"sandbox": envSettings}}
	renewal := freshtoken.Renewal{Env: "sandbox", TokenURL: "https://login.example.com/token?subscription-key=" + key, Timeout: time.Minute}
	endpoints := freshtoken.Endpoints{AuthURL: "https://login.example.com/authorize?api_key=" + key, TokenURL: "https://login.example.com/token?subscription-key=" + key,
		RevocationURL: "https://login.example.com/revoke?key=" + key, DeviceAuthURL: "https://login.example.com/device?sig=" + key}

	clientKey := freshtoken.ClientKey{Load: func(context.Context) (crypto.Signer, error) { return pk, nil }, ID: "key-1"}
	settings.ClientKey = &clientKey
	settings.Discover = func(context.Context) (freshtoken.Endpoints, error) { return endpoints, nil }
	options := freshtoken.Options{Store: r.store, Clock: time.Now, HTTPClient: src.Client(), Locking: func() {}}

	// The types whose JSON shows their secrets whole, by design (above).
	storedForm := map[string]bool{"store.Record": true, "*store.Record": true, "store.Grant": true}
	for _, tc := range []struct {
		name      string
		v         any
		embedding any
		secrets   []string
	}{
		{"freshtoken.Settings", settings, struct{ freshtoken.Settings }{settings}, []string{secret, key}},
		{"*freshtoken.Settings", &settings, struct{ *freshtoken.Settings }{&settings}, []string{secret, key}},
		{"*freshtoken.Source", src, struct{ *freshtoken.Source }{src}, []string{secret, key}},
		{"freshtoken.Transport", freshtoken.Transport{Source: src}, struct{ freshtoken.Transport }{freshtoken.Transport{Source: src}}, []string{secret, key}},
		{"*http.Client", src.Client(), nil, []string{secret, key}},
		// x/oauth2's type, which prints its access token whole: what Token
		// hands out holds no more than that, not the refresh token.
		{"*oauth2.Token", tok, nil, []string{r.record().RefreshToken, secret}},
		{"freshtoken.Renewal", renewal, struct{ freshtoken.Renewal }{renewal}, []string{key}},
		{"freshtoken.Endpoints", endpoints, struct{ freshtoken.Endpoints }{endpoints}, []string{key}},
		{"*freshtoken.DeviceLogin", device, struct{ *freshtoken.DeviceLogin }{device}, []string{code}},
		{"*freshtoken.CertifiedKey", certified, struct{ *freshtoken.CertifiedKey }{certified}, []string{private}},
		{"freshtoken.CertifiedKey", *certified, struct{ freshtoken.CertifiedKey }{*certified}, []string{private}},
		{"config.File", file, struct{ config.File }{file}, []string{secret, key, password, hook, pushover}},
		{"*config.File", &file, struct{ *config.File }{&file}, []string{secret, key, password, hook, pushover}},
		{"config.Env", env, struct{ config.Env }{env}, []string{secret, key}},
		{"*config.Env", &env, struct{ *config.Env }{&env}, []string{secret, key}},
		{"config.EnvSettings", envSettings, struct{ config.EnvSettings }{envSettings}, []string{secret, key}},
		{"config.Envs", file.Envs, struct{ config.Envs }{file.Envs}, []string{secret, key}},
		{"config.SettingsByEnv", file.Settings, struct{ config.SettingsByEnv }{file.Settings}, []string{secret, key}},
		{"configedit.NamedEnv", configedit.NamedEnv{Name: "sandbox", Settings: envSettings}, struct{ configedit.NamedEnv }{configedit.NamedEnv{Name: "sandbox", Settings: envSettings}}, []string{secret, key}},
		{"config.Notify", notify, struct{ config.Notify }{notify}, []string{hook, pushover}},
		{"config.Params", envSettings.TokenParams, struct{ config.Params }{envSettings.TokenParams}, []string{secret}},
		{"store.Record", rec, struct{ store.Record }{rec}, []string{access, refresh, key}},
		{"*store.Record", &rec, struct{ *store.Record }{&rec}, []string{access, refresh, key}},
		{"store.Grant", grant, struct{ store.Grant }{grant}, []string{key}},
		{"*redisstore.Store", redis, struct{ *redisstore.Store }{redis}, []string{password}},
		{"freshtoken.ClientKey", clientKey, struct{ freshtoken.ClientKey }{clientKey}, nil},
		{"freshtoken.Options", options, struct{ freshtoken.Options }{options}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for how, shown := range testenv.Encodings(tc.v, tc.embedding) {
				if tc.name != "*http.Client" && (strings.Contains(shown, "!ERROR") || strings.Contains(shown, "json: unsupported type")) {
					t.Errorf("%s shows an error in place of the value: %.300s", how, shown)
				}
				if storedForm[tc.name] && testenv.Marshalled(how) {
					for _, secret := range tc.secrets {
						if testenv.Leaked(shown, secret) == "" {
							t.Errorf("%s shows no %q: want the stored form, whole: %.300s", how, secret, shown)
						}
					}
					continue
				}
				if leak := testenv.Leaked(shown, tc.secrets...); leak != "" {
					t.Errorf("%s shows %q: %.300s", how, leak, shown[max(0, strings.Index(shown, leak)-150):])
				}
			}
		})
	}
}

// TestCertifiedKeyMarshalsItsCertificate: a CertifiedKey marshalled (what
// slog's JSON handler does with one in a struct) shows what tells keys
// apart, the key's type and its certificate's subject and SHA-256
// thumbprint, the x5t#S256 its assertions name the certificate by
// (RFC 7515: base64url of the SHA-256 of the certificate's DER), and
// nothing of the private key.
func TestCertifiedKeyMarshalsItsCertificate(t *testing.T) {
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := corpnet.SelfSigned(t, pk)
	sum := sha256.Sum256(cert.Raw)
	for _, tc := range []struct {
		key  freshtoken.CertifiedKey
		want string
	}{
		{freshtoken.CertifiedKey{Signer: pk, Certificate: cert},
			`{"key":"*ecdsa.PrivateKey","certificate":"CN=freshtoken test client","x5t#S256":"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"}`},
		{freshtoken.CertifiedKey{Signer: pk}, `{"key":"*ecdsa.PrivateKey"}`},
	} {
		if b, err := json.Marshal(tc.key); err != nil || string(b) != tc.want {
			t.Errorf("json.Marshal: %s (%v); want %s", b, err, tc.want)
		}
	}
}
