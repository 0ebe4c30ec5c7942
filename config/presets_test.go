package config_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"golang.org/x/oauth2"
)

// TestProviderPresets: each preset fills the endpoints, client
// authentication, idle limit and scopes its provider documents.
func TestProviderPresets(t *testing.T) {
	f := load(t, `
[env.xero]
provider = "xero"
client_id = "id"

[env.qb]
provider = "quickbooks"
client_id = "id"

[env.qbs]
provider = "quickbooks-sandbox"
client_id = "id"

[env.google]
provider = "google"
client_id = "id"
scopes = ["https://www.googleapis.com/auth/drive.readonly"]

[env.google2]
provider = "google"
client_id = "id"
scopes = ["openid"]
auth_params = { prompt = "select_account" }

[env.ms]
provider = "microsoft"
client_id = "id"
scopes = ["User.Read"]

[env.mstenant]
provider = "microsoft"
tenant = "contoso.onmicrosoft.com"
client_id = "id"
`)
	day := 24 * time.Hour
	for _, tc := range []struct {
		env                                         string
		api, auth, token, revocation, device, auth2 string
		idle                                        time.Duration
		scopes                                      []string
	}{
		{"xero", "https://api.xero.com/", "https://login.xero.com/identity/connect/authorize", "https://identity.xero.com/connect/token", "https://identity.xero.com/connect/revocation", "", "basic", 60 * day, []string{"offline_access"}},
		{"qb", "https://quickbooks.api.intuit.com/", "https://appcenter.intuit.com/connect/oauth2", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke", "", "basic", 100 * day, []string{"com.intuit.quickbooks.accounting"}},
		{"qbs", "https://sandbox-quickbooks.api.intuit.com/", "https://appcenter.intuit.com/connect/oauth2", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke", "", "basic", 100 * day, []string{"com.intuit.quickbooks.accounting"}},
		{"google", "https://www.googleapis.com/", "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token", "https://oauth2.googleapis.com/revoke", "https://oauth2.googleapis.com/device/code", "body", 180 * day, []string{"https://www.googleapis.com/auth/drive.readonly"}},
		{"ms", "https://graph.microsoft.com/", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize", "https://login.microsoftonline.com/common/oauth2/v2.0/token", "", "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode", "body", 90 * day, []string{"User.Read", "offline_access"}},
		{"mstenant", "https://graph.microsoft.com/", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", "", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode", "body", 90 * day, []string{"offline_access"}},
	} {
		e := f.Envs[tc.env]
		got := []string{e.APIURL, e.AuthURL, e.TokenURL, e.RevocationURL, e.DeviceAuthURL, e.ClientAuth}
		want := []string{tc.api, tc.auth, tc.token, tc.revocation, tc.device, tc.auth2}
		if !slices.Equal(got, want) || e.IdleLimit != tc.idle || !slices.Equal(e.Scopes, tc.scopes) {
			t.Errorf("%s: %q idle %v scopes %q\nwant %q idle %v scopes %q", tc.env, got, e.IdleLimit, e.Scopes, want, tc.idle, tc.scopes)
		}
	}
	// Google issues a refresh token only to an offline request with consent;
	// the environment's own auth_params win.
	if got := f.Envs["google"].AuthParams; !maps.Equal(got, map[string]string{"access_type": "offline", "prompt": "consent"}) {
		t.Errorf("google auth_params = %v, want access_type=offline and prompt=consent", got)
	}
	if got := f.Envs["google2"].AuthParams; !maps.Equal(got, map[string]string{"access_type": "offline", "prompt": "select_account"}) {
		t.Errorf("google auth_params = %v, want the environment's prompt and the preset's access_type", got)
	}
	if ms := f.Envs["ms"]; ms.Tenant != config.DefaultTenant {
		t.Errorf("microsoft tenant = %q, want %q", ms.Tenant, config.DefaultTenant)
	}
	if f.Settings["ms"].Scopes[0] != "User.Read" || len(f.Settings["ms"].Scopes) != 1 {
		t.Errorf("the required scope was written into the settings as given: %q", f.Settings["ms"].Scopes)
	}
}

// TestPresetRevocationURLIsMarked: the settings of an environment whose
// revocation endpoint a preset fills say so (Settings.RevocationURLFromProvider),
// so that a revocation it refuses as malformed is told as the provider's
// failure; one written in the file, even the preset's own URL, is not.
func TestPresetRevocationURLIsMarked(t *testing.T) {
	f := load(t, `
[env.preset]
provider = "google"
client_id = "id"
scopes = ["openid"]

[env.typed]
provider = "google"
client_id = "id"
scopes = ["openid"]
revocation_url = "https://oauth2.googleapis.com/revoke"

[env.generic]
api_url = "https://api.example.com/"
auth_url = "https://login.example.com/authorize"
token_url = "https://login.example.com/token"
revocation_url = "https://login.example.com/revoke"
client_id = "id"
`)
	for env, want := range map[string]bool{"preset": true, "typed": false, "generic": false} {
		if got := f.Envs[env].Settings(); got.RevocationURLFromProvider != want || got.RevocationURL == "" {
			t.Errorf("%s: RevocationURLFromProvider %t (revocation URL %q); want %t", env, got.RevocationURLFromProvider, got.RevocationURL, want)
		}
	}
}

// TestTokenURLSettingIsTheOneWritten: the setting a token endpoint that
// fails is checked in is the one the file has: token_url when written
// (even the preset's own URL), else api_url, from which the freeagent
// preset makes it, the preset itself, or the issuer. Messages said to
// check token_url of files that have none.
func TestTokenURLSettingIsTheOneWritten(t *testing.T) {
	f := load(t, `
[env.sand]
provider = "freeagent-sandbox"
api_url = "https://api.sandbox.freeagent.com/"
client_id = "id"

[env.prod]
provider = "freeagent"
client_id = "id"

[env.typed]
provider = "freeagent"
token_url = "https://api.freeagent.com/v2/token_endpoint"
client_id = "id"

[env.idp]
api_url = "https://api.example.com/"
issuer = "https://login.example.com/realms/x"
client_id = "id"
`)
	for env, want := range map[string]string{
		"sand":  "api_url, from which the freeagent-sandbox preset makes the token endpoint (token_url sets another)",
		"prod":  "provider (the freeagent preset names the token endpoint; token_url sets another)",
		"typed": "token_url",
		"idp":   "issuer, whose discovery document names the token endpoint (token_url sets another)",
	} {
		if got := f.Envs[env].TokenURLSetting(); got != want {
			t.Errorf("%s: TokenURLSetting %q; want %q", env, got, want)
		}
	}
}

// TestRenewalTroubleNamesTheSettingWritten: a renewal whose token
// endpoint is not there names the setting to check as the file has it, as
// a log-in does: api_url, from which the freeagent preset makes the token
// endpoint, where token_url is not written; token_url where it is. The
// engine said "check token_url" of a file that has none.
func TestRenewalTroubleNamesTheSettingWritten(t *testing.T) {
	api := httptest.NewServer(http.NotFoundHandler()) // not FreeAgent: a mistyped api_url
	t.Cleanup(api.Close)
	for _, c := range []struct{ tokenURL, check string }{
		{"", "api_url, from which the freeagent preset makes the token endpoint (token_url sets another)"},
		{"token_url = \"" + api.URL + "/v2/token_endpoint\"\n", "token_url"},
	} {
		path := write(t, fmt.Sprintf("[store]\nurl = %q\n\n[env.dev]\nprovider = \"freeagent\"\napi_url = %q\n%sclient_id = \"id\"\nclient_secret = \"s3cret\"\n",
			"file://"+filepath.Join(t.TempDir(), "tokens"), api.URL+"/", c.tokenURL))
		src, err := config.Open(t.Context(), config.OpenOptions{Path: path, Env: "dev"})
		if err != nil {
			t.Fatal(err)
		}
		if err := src.SaveLogin(t.Context(), &oauth2.Token{AccessToken: "old-access-token", RefreshToken: "old-refresh-token", Expiry: time.Now().Add(-time.Minute)}, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		_, err = src.Token()
		want := "dev: no token endpoint answers at " + api.URL + "/v2/token_endpoint (HTTP 404 \"404 page not found\"); check " + c.check
		if err == nil || err.Error() != want {
			t.Errorf("renewal: %v; want %q", err, want)
		}
	}
}

// TestProviderPresetMistakes: a preset's own requirements are one clear
// line at the key.
func TestProviderPresetMistakes(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"[env.g]\nprovider = \"google\"\nclient_id = \"id\"\n", ":1: env.g.scopes: missing; the google provider needs the scopes"},
		{"[env.x]\nprovider = \"xero\"\ntenant = \"abc\"\nclient_id = \"id\"\n", ":3: env.x.tenant: only the microsoft provider takes a tenant"},
		{"[env.m]\nprovider = \"microsoft\"\ntenant = \"a/b\"\nclient_id = \"id\"\n", `:3: env.m.tenant: "a/b" is not a tenant ID`},
		{"[env.i]\napi_url = \"https://api.example.com/\"\nissuer = \"http://login.example.com\"\nclient_id = \"id\"\n", `:3: env.i.issuer: "http://login.example.com" must use https`},
		{"[env.i]\napi_url = \"https://api.example.com/\"\nissuer = \"https://login.example.com/?x=1\"\nclient_id = \"id\"\n", "has a query or a fragment"},
		{"[env.i]\napi_url = \"https://api.example.com/\"\nclient_id = \"id\"\n", "env.i.auth_url: missing; the generic provider needs api_url, and issuer or auth_url and token_url"},
		{"[env.c]\nprovider = \"xero\"\nclient_id = \"id\"\nca_file = \"corp.pem\"\n", `:4: env.c.ca_file: "corp.pem" is not an absolute path; write the file's whole path, such as /etc/ssl/corp-ca.pem`},
		{"[env.c]\nprovider = \"xero\"\nclient_id = \"id\"\nca_file = \"/nonexistent/corp.pem\"\n", ":4: env.c.ca_file: cannot read /nonexistent/corp.pem (no such file or directory); write the whole path of the PEM file of your network's certificate authority, or take ca_file out"},
		{"ca_file = \"/nonexistent/corp.pem\"\n[env.c]\nprovider = \"xero\"\nclient_id = \"id\"\n", ":1: ca_file: cannot read /nonexistent/corp.pem (no such file or directory); write the whole path of the PEM file of your network's certificate authority, or take ca_file out"},
	} {
		_, err := config.Load(write(t, tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err = %v, want one line with %q", tc.env, err, tc.want)
		}
	}
}

// TestPresetsForClientCredentials: offline_access asks for a refresh token,
// which client credentials never bring, and Microsoft refuses the scope in
// that grant (invalid_scope), so the presets do not add it there; nor do
// Microsoft's client credentials work at a tenant that is not one
// directory (common, organizations, consumers, or none set), which is
// refused at the tenant's line.
func TestPresetsForClientCredentials(t *testing.T) {
	f := load(t, `
[env.graph]
provider = "microsoft"
grant = "client_credentials"
tenant = "contoso.onmicrosoft.com"
client_id = "id"
scopes = ["https://graph.microsoft.com/.default"]

[env.books]
provider = "xero"
grant = "client_credentials"
client_id = "id"
scopes = ["accounting.transactions  accounting.contacts"] # two, as a provider's page lists them

[env.tv]
provider = "microsoft"
grant = "device_code"
client_id = "id"
scopes = ["User.Read"]
`)
	for env, want := range map[string][]string{
		"graph": {"https://graph.microsoft.com/.default"},
		"books": {"accounting.transactions", "accounting.contacts"},
		"tv":    {"User.Read", "offline_access"},
	} {
		if got := f.Envs[env].Scopes; !slices.Equal(got, want) {
			t.Errorf("%s: scopes %q, want %q", env, got, want)
		}
	}
	for _, tenant := range []string{"", "tenant = \"common\"\n", "tenant = \"organizations\"\n", "tenant = \"Consumers\"\n"} {
		_, err := config.Load(write(t, "[env.m]\nprovider = \"microsoft\"\ngrant = \"client_credentials\"\n"+tenant+"client_id = \"id\"\n"))
		if err == nil || !strings.Contains(err.Error(), "env.m.tenant: client credentials need your organisation's own directory") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err = %v; want one line saying to set the tenant", tenant, err)
		}
	}
}

// TestEmptyScopesAreLeftOut: an empty scope in the file (scopes = ["read",
// ""]), or one of spaces, is none, as a string of scopes separated by
// spaces is as many scopes: the environment opens, asking for the others.
// freshtoken.New refuses an empty Settings.Scopes entry, which x/oauth2
// would send as a stray space; a file's is left out before it gets there.
func TestEmptyScopesAreLeftOut(t *testing.T) {
	p := write(t, "[store]\nurl = \"file://"+t.TempDir()+"\"\n\n[env.x]\nprovider = \"freeagent\"\nclient_id = \"id\"\nscopes = [\"read\", \"\", \"  \", \" write \"]\n")
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Envs["x"].Scopes; !slices.Equal(got, []string{"read", "write"}) {
		t.Errorf("scopes %q, want [read write]", got)
	}
	if _, err := f.Open(t.Context(), config.OpenOptions{Env: "x"}); err != nil {
		t.Errorf("Open: %v", err)
	}
}

// TestProviderPresetsAgainstDevProvider: each preset, with its URLs
// pointed at the dev provider (which accepts only the client
// authentication the provider documents), logs in asking for the scopes
// the provider needs, renews, and revokes at logout where the provider
// can.
func TestProviderPresetsAgainstDevProvider(t *testing.T) {
	for _, tc := range []struct {
		provider, style, extra string
		scopes                 []string
		revokes                bool
		params                 url.Values // on the authorisation request
	}{
		{"xero", "basic", "", []string{"offline_access"}, true, nil},
		{"quickbooks", "basic", "", []string{"com.intuit.quickbooks.accounting"}, true, nil},
		{"quickbooks-sandbox", "basic", "", []string{"com.intuit.quickbooks.accounting"}, true, nil},
		{"google", "body", "scopes = [\"openid\"]\n", []string{"openid"}, true, url.Values{"access_type": {"offline"}, "prompt": {"consent"}}},
		{"microsoft", "body", "scopes = [\"User.Read\"]\ntenant = \"organizations\"\n", []string{"User.Read", "offline_access"}, false, nil},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			p, base := devserver.Start(t, devprovider.Options{AutoApprove: true, AuthStyle: tc.style})
			revocation := ""
			if tc.revokes {
				revocation = fmt.Sprintf("revocation_url = %q\n", base+"/v2/revoke")
			}
			path := idpConfig(t, t.TempDir(), fmt.Sprintf("provider = %q\napi_url = %q\nauth_url = %q\ntoken_url = %q\n%sclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\n%s",
				tc.provider, base+"/", base+"/v2/approve_app", base+"/v2/token_endpoint", revocation, tc.extra))
			src := openIdP(t, path, nil, nil)
			conf, err := src.OAuth2Config(t.Context(), "http://127.0.0.1:1/callback")
			if err != nil {
				t.Fatal(err)
			}
			authURL, _ := url.Parse(conf.AuthCodeURL("state"))
			if got := strings.Fields(authURL.Query().Get("scope")); !slices.Equal(got, tc.scopes) {
				t.Errorf("the log-in asks for scopes %q, want %q", got, tc.scopes)
			}
			for k := range tc.params {
				if got := authURL.Query().Get(k); got != tc.params.Get(k) {
					t.Errorf("the log-in sends %s=%q, want %q", k, got, tc.params.Get(k))
				}
			}
			if _, err := loginAtDevProvider(t, src); err != nil {
				t.Fatal(err)
			}
			if _, err := src.Renew(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := src.Revoke(t.Context()); err != nil {
				t.Fatal(err)
			}
			st := p.Stats()
			wantRevocations := 0
			if tc.revokes {
				wantRevocations = 2 // the refresh token, then the access token
			}
			if st.Exchanges != 1 || st.Refreshes != 1 || st.Revocations != wantRevocations {
				t.Fatalf("provider stats %+v; want one exchange, one refresh and %d revocations", st, wantRevocations)
			}
		})
	}
}

// TestURLsWithCredentialsAreRefused: an endpoint or API URL written with a
// user and password is refused at its line without showing the password,
// and so is a discovered endpoint: each was shown in messages, status and
// the debug log, and net/http sent it as HTTP Basic beside the client
// authentication chosen.
func TestURLsWithCredentialsAreRefused(t *testing.T) {
	for _, key := range []string{"api_url", "auth_url", "token_url", "revocation_url", "device_auth_url"} {
		checkEndpointRefused(t, key, "https://me:s3cr3t@login.example.com/x", "user or password")
	}
}

// TestEndpointsWithASecretInTheQueryAreRefused: an endpoint whose query
// holds a secret (client_secret=, password=) is refused at its line without
// showing it: every message naming the endpoint would show it.
func TestEndpointsWithASecretInTheQueryAreRefused(t *testing.T) {
	for _, key := range []string{"auth_url", "token_url", "revocation_url", "device_auth_url"} {
		checkEndpointRefused(t, key, "https://login.example.com/x?client_secret=s3cr3t", "client_secret")
	}
}

// checkEndpointRefused loads an environment whose key is written as
// rawURL, which holds the secret s3cr3t, and its other endpoints plainly;
// the load must fail at key's line, saying says, without the secret.
func checkEndpointRefused(t *testing.T, key, rawURL, says string) {
	t.Helper()
	conf := "[env.i]\nclient_id = \"id\"\nclient_secret = \"s\"\n"
	for _, k := range []string{"api_url", "auth_url", "token_url"} {
		if k != key {
			conf += k + " = \"https://login.example.com/" + k + "\"\n"
		}
	}
	conf += key + " = \"" + rawURL + "\"\n"
	_, err := config.Load(write(t, conf))
	if err == nil || !strings.Contains(err.Error(), "env.i."+key+":") || !strings.Contains(err.Error(), says) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("%s = %q: %v; want it refused at its line, saying %q, without the secret", key, rawURL, err, says)
	}
}

// TestIssuerWithCredentialsIsRefused: an issuer never has a user or
// password; one written with them is refused at its line, and the error
// (like the debug log, the discovery cache and status, which would
// otherwise show the issuer) never shows the password.
func TestIssuerWithCredentialsIsRefused(t *testing.T) {
	_, err := config.Load(write(t, "[env.i]\napi_url = \"https://api.example.com/\"\nissuer = \"https://me:s3cr3t@login.example.com/x\"\nclient_id = \"id\"\n"))
	if err == nil || !strings.Contains(err.Error(), ":3: env.i.issuer:") || !strings.Contains(err.Error(), "user or password") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("err = %v; want one at the issuer's line, without the password", err)
	}
}

// TestURLErrorsHideANestedKey: an issuer or api_url refused for its query
// is quoted without a key carried in another parameter's URL
// (?to=https://y/?api_key=…, raw or URL-encoded): only a query whose own
// names said a secret was hidden, so the refusal quoted the nested key.
func TestURLErrorsHideANestedKey(t *testing.T) {
	const key = "Nz8vKq3Lp"
	for _, q := range []string{"?to=https://y/?api_key=" + key, "?to=https%3A%2F%2Fy%2F%3Fapi_key%3D" + key} {
		for _, env := range []string{
			"[env.i]\napi_url = \"https://api.example.com/\"\nissuer = \"https://login.example.com/" + q + "\"\nclient_id = \"id\"\n",
			"[env.a]\napi_url = \"https://api.example.com/" + q + "\"\ntoken_url = \"https://login.example.com/token\"\nauth_url = \"https://login.example.com/auth\"\nclient_id = \"id\"\n",
		} {
			_, err := config.Load(write(t, env))
			if err == nil || !strings.Contains(err.Error(), "has a query or a fragment") || strings.Contains(err.Error(), key) {
				t.Errorf("%q: err = %v; want the query refused, the key not shown", env, err)
			}
		}
	}
}
