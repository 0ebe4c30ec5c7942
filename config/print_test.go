package config_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestPrintingShowsNoSecret: a loaded configuration, an environment of it
// and its settings as written, printed by a program with any of fmt's verbs
// or logged through slog's text or JSON handler, show no client secret, no
// password of the store's URL and no webhook's secret path, yet still name
// the environment. Each printed them all, as a program logging what it
// loaded does; slog's JSON handler, which marshals a value to JSON rather
// than print it, logged them all after fmt's verbs had stopped showing them,
// and then still the environments' maps (File.Envs, File.Settings), which it
// marshalled whole.
func TestPrintingShowsNoSecret(t *testing.T) {
	const (
		secret   = "s3cr3t-0123456789abcdef-0123456789"
		password = "passw0rd-0123456789abcdef"
		hook     = "XyZhookpath0123456789abcdef"
	)
	f := load(t, `
default_env = "sandbox"

[store]
url = "redis://freshtoken:`+password+`@127.0.0.1:6379/0"

[notify]
webhook = "https://hooks.example.com/services/`+hook+`"

[env.sandbox]
provider = "freeagent-sandbox"
client_id = "dev-client-id"
client_secret = "`+secret+`"
token_params = { password = "`+secret+`" }
`)
	env := f.Envs["sandbox"]
	logged := testenv.Logged(f, env, f.Settings["sandbox"], *f, *env, f.Envs, f.Settings)
	for _, s := range append(testenv.Printed(f, *f, env, *env, f.Settings, f.Settings["sandbox"], f.Envs), logged) {
		if leak := testenv.Leaked(s, secret, password, hook); leak != "" {
			t.Fatalf("printed with a secret (%s…): %.400s", leak[:6], s)
		}
	}
	for _, v := range []any{env, f.Settings["sandbox"], f} {
		if s := fmt.Sprintf("%v", v); !strings.Contains(s, "dev-client-id") {
			t.Errorf("printed as %.300q: want the rest shown", s)
		}
	}
}

// TestClientSecretsAreMaskedFromLoading: an environment's client secret,
// from the variable client_secret_env names or written in the file, is
// masked in every log line from the loading of the configuration on, not
// only once a token request has fetched it: a proxy's [notify] command
// that failed printing its environment (which holds the variable) was
// logged with the secret of an environment no renewal had yet needed.
func TestClientSecretsAreMaskedFromLoading(t *testing.T) {
	const (
		fromEnv = "envS3cret-0123456789abcdef-xyz"
		inFile  = "fileS3cret-0123456789abcdef-xyz"
	)
	t.Setenv("FRESHTOKEN_TEST_MASKED_SECRET", " "+fromEnv+"\n")
	load(t, `
[env.a]
provider = "freeagent-sandbox"
client_id = "dev-client-id"
client_secret_env = "FRESHTOKEN_TEST_MASKED_SECRET"

[env.b]
provider = "freeagent-sandbox"
client_id = "dev-client-id"
client_secret = "`+inFile+`"
`)
	var logged bytes.Buffer
	slog.New(redact.NewHandler(slog.NewTextHandler(&logged, nil))).Warn("notify: the command failed", "output", "got "+fromEnv+" and "+url.QueryEscape(inFile))
	for _, leak := range []string{fromEnv[:12], inFile[:12]} {
		if strings.Contains(logged.String(), leak) {
			t.Errorf("logged with a client secret (%s…): %s", leak[:6], logged.String())
		}
	}
}

// TestWebhookIsMaskedAndItsHostIsNot: a loaded [notify] webhook's secret
// (its path and query, its user) is masked in every log line, whole and
// in part, and its scheme and host are not: the whole URL was registered,
// so that every run of 16 of its characters, https://hooks.sl… among them,
// was masked as a fragment of it wherever it showed, and a --debug line of
// an API on the webhook's host (or any URL starting alike) lost its URL.
func TestWebhookIsMaskedAndItsHostIsNot(t *testing.T) {
	const (
		path = "/services/T0WBHOOK1/B0WBHOOK1/Xq7Lm2Vb9Nc4Zd8Fg3Hj6Ty0"
		user = "hookuser:h00kpassw0rd"
	)
	load(t, `
[notify]
webhook = "https://`+user+`@wbhook-test.example.com`+path+`?thread=1"

[env.a]
provider = "freeagent-sandbox"
client_id = "dev-client-id"
`)
	for _, kept := range []string{
		"GET https://wbhook-test.example.com/api/chat.postMessage 200",
		"https://wbhook-test.example.com",
	} {
		if got := redact.Scrub(kept); got != kept {
			t.Errorf("%q logged as %q; want it as it is", kept, got)
		}
	}
	for _, secret := range []string{
		"https://" + user + "@wbhook-test.example.com" + path + "?thread=1",
		"post to https://wbhook-test.example.com" + path + " failed",
		"unknown hook " + path[18:],
		"Basic " + base64.StdEncoding.EncodeToString([]byte(user)),
	} {
		got := redact.Scrub(secret)
		if leak := testenv.Leaked(got, path[10:], "h00kpassw0rd"); leak != "" || !strings.Contains(got, "…(") {
			t.Errorf("%q logged as %q; want its secret masked", secret, got)
		}
	}
}

// TestWebhookOfAShortPathIsMaskedWhole: a webhook whose path is too short
// to be looked for alone (an ntfy topic, /alerts: under 8 characters) is
// masked whole; registered by its path alone, it was masked nowhere.
func TestWebhookOfAShortPathIsMaskedWhole(t *testing.T) {
	const hook = "https://ntfy-test.example.org/al3rtz"
	load(t, `
[notify]
webhook = "`+hook+`"

[env.a]
provider = "freeagent-sandbox"
client_id = "dev-client-id"
`)
	if got := redact.Scrub("post to " + hook + " failed"); strings.Contains(got, "al3rtz") {
		t.Errorf("logged as %q; want the webhook masked", got)
	}
}

// TestStorePasswordIsMaskedWholeOnly: a Redis store's password made of
// words with a digit (my-company-redis-2024) had its runs masked, and with
// them the store's host in every debug line naming it (a cluster named
// alike, my-company-redis-2023…). The password goes to Redis alone, which
// quotes no part of it: it is masked whole, in any encoding, and its runs
// are not.
func TestStorePasswordIsMaskedWholeOnly(t *testing.T) {
	const (
		password = "my-company-redis-2024"
		host     = "my-company-redis-2023.abc123.0001.euw1.cache.amazonaws.com"
	)
	if _, err := config.OpenStore("redis://:" + password + "@" + host + ":6379/0"); err != nil {
		t.Fatal(err)
	}
	line := "renewal lock taken in redis://" + host + ":6379/0"
	if got := redact.Scrub(line); got != line {
		t.Errorf("%q logged as %q; want it as it is", line, got)
	}
	for _, secret := range []string{"AUTH " + password, "redis://:" + password + "@" + host, "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+password))} {
		if got := redact.Scrub(secret); strings.Contains(got, password[4:]) || !strings.Contains(got, redact.Mask(password)) {
			t.Errorf("%q logged as %q; want the password masked", secret, got)
		}
	}
}

// TestPrintingMasksAnAPIKeyInAURL: an API key in the query of an
// environment's URL (api_url = "…?api_key=…", an endpoint's
// ?Subscription-Key=…) prints masked in EnvSettings and Env, as the
// engine's Settings print it, and the error refusing a query in api_url
// does not quote it: both showed it whole, and URL errors masked only the
// log's own names (access_token=…).
func TestPrintingMasksAnAPIKeyInAURL(t *testing.T) {
	const key = "k3y-0123456789abcdef-0123456789"
	s := config.EnvSettings{Provider: "generic", APIURL: "https://api.example.com/?api_key=" + key + "&region=eu", ClientID: "id", ClientSecret: "x",
		AuthURL: "https://login.example.com/authorize", TokenURL: "https://login.example.com/token?Subscription-Key=" + key}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("env", "s", s)
	shown := []string{fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), logged.String()}
	_, err := config.NewEnv("dev", s)
	if err == nil {
		t.Fatal("an api_url with a query was taken")
	}
	shown = append(shown, err.Error())
	s.APIURL = "https://api.example.com/"
	e, err := config.NewEnv("dev", s)
	if err == nil {
		shown = append(shown, fmt.Sprintf("%v", e), fmt.Sprintf("%+v", *e))
	} else {
		shown = append(shown, err.Error())
	}
	for _, p := range shown {
		if strings.Contains(p, key[8:]) {
			t.Errorf("printed an API key in a URL: %s", p)
		}
	}
	if !strings.Contains(shown[0], "region=eu") {
		t.Errorf("printed %s: want the query's other parameters shown", shown[0])
	}
}
