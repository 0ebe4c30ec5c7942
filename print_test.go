package freshtoken_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestPrintingShowsNoSecret: a Source, its Transport and its Settings
// printed with any of fmt's verbs, logged through slog or marshalled to
// JSON, as a program does to see what it set up, show no client secret
// (nor a secret-named parameter's value), yet still say which environment
// they are for. %v of a Source printed its Settings, the client secret
// with them, and %v of Settings printed the secret, as every program that
// logs its configuration does.
func TestPrintingShowsNoSecret(t *testing.T) {
	const secret = "s3cr3t-0123456789abcdef-0123456789"
	r, _ := loggedIn(t)
	r.settings.ClientSecret = secret
	r.settings.TokenParams = map[string]string{"password": secret}
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store})
	if err != nil {
		t.Fatal(err)
	}
	printed := []any{src, r.settings, &r.settings, &freshtoken.Transport{Source: src}, src.Client(), struct{ S freshtoken.Settings }{r.settings}}
	shown := append(testenv.Printed(printed...), testenv.Logged(r.settings, src))
	for _, v := range printed {
		if b, err := json.Marshal(v); err == nil {
			shown = append(shown, string(b))
		}
	}
	for _, s := range shown {
		if testenv.Leaked(s, secret) != "" {
			t.Fatalf("printed with the client secret: %.300s", s)
		}
	}
	for i, v := range []any{src, r.settings} {
		if s := fmt.Sprintf("%v", v); !strings.Contains(s, "sandbox") {
			t.Errorf("%d printed as %q: want the environment named", i, s)
		}
	}
	if s := fmt.Sprintf("%+v", r.settings); !strings.Contains(s, r.settings.TokenURL) {
		t.Errorf("settings printed as %q: want the rest shown", s)
	}
}

// TestSlogJSONShowsSettingsAndSource: slog's JSON handler, which marshals
// a value it is not told how to log, logged Settings as
// "!ERROR:json: unsupported type: func…" (its function fields) and a
// Source as {}: what a program logged to see what it set up was lost. Both
// now log as they print, the secret masked.
func TestSlogJSONShowsSettingsAndSource(t *testing.T) {
	const secret = "s3cr3t-0123456789abcdef-0123456789"
	r, _ := loggedIn(t)
	r.settings.ClientSecret = secret
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("set up", "settings", r.settings, "ptr", &r.settings, "source", src)
	var line map[string]any
	if err := json.Unmarshal(logged.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, logged.String())
	}
	for _, key := range []string{"settings", "ptr"} {
		if got, _ := line[key].(string); got != r.settings.String() {
			t.Errorf("settings logged as %q, want %q", line[key], r.settings.String())
		}
	}
	if got, _ := line["source"].(string); got != src.String() {
		t.Errorf("source logged as %q, want %q", line["source"], src.String())
	}
	if strings.Contains(logged.String(), secret) {
		t.Errorf("logged the secret: %s", logged.String())
	}
}

// TestPrintingMasksParamsNamedAsSecrets: a token or authorization
// parameter whose name says it holds a secret, though not one of the
// names freshtoken itself sends (api_key, subscription-key, a provider's
// X-Api-Key, a JWT bearer grant's assertion, a passphrase), prints masked
// in Settings as password does; names that hold none (prompt, access_type)
// print as they are. Only the exact names of the log's secrets were
// masked, so Settings printed an API key whole.
func TestPrintingMasksParamsNamedAsSecrets(t *testing.T) {
	const secret = "v4lue-0123456789abcdef-0123456789"
	secretNames := []string{"api_key", "apikey", "Subscription-Key", "X-Api-Key", "assertion", "passphrase", "client_password", "private_key", "my_token", "auth_secret", "credential"}
	s := freshtoken.Settings{Env: "sandbox", TokenParams: map[string]string{}, AuthParams: map[string]string{"prompt": "consent", "access_type": "offline"}}
	for _, name := range secretNames {
		s.TokenParams[name] = secret
	}
	shown := fmt.Sprintf("%+v", s)
	if strings.Contains(shown, secret[8:]) {
		t.Errorf("printed a secret-named parameter's value: %s", shown)
	}
	for _, plain := range []string{"prompt:consent", "access_type:offline"} {
		if !strings.Contains(shown, plain) {
			t.Errorf("printed %s: want %s shown as it is", shown, plain)
		}
	}
}

// TestPrintingMasksSecretsInURLQueries: an API key in the query of
// Settings' URLs (an API URL whose every request carries ?api_key=…, as
// New lets it; an endpoint's ?subscription-key=…) prints masked in
// Settings, as a secret-named parameter does, and the API requests' debug
// lines mask it too: Settings printed the URLs whole, and the debug lines
// masked only the log's own secret names (access_token=…), not api_key.
func TestPrintingMasksSecretsInURLQueries(t *testing.T) {
	const secret = "k3y-0123456789abcdef-0123456789"
	s := freshtoken.Settings{Env: "sandbox", APIURL: "https://api.example.com/v2/?api_key=" + secret + "&region=eu",
		TokenURL: "https://login.example.com/token?Subscription-Key=" + secret, AuthURL: "https://login.example.com/authorize?tenant=acme"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("settings", "s", s)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("settings", "s", s)
	for _, shown := range []string{fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), logged.String()} {
		if strings.Contains(shown, secret[8:]) {
			t.Errorf("printed a secret in a URL's query: %s", shown)
		}
		for _, plain := range []string{"region=eu", "tenant=acme", "https://api.example.com/v2/?api_key=", "https://login.example.com/token?Subscription-Key="} {
			if !strings.Contains(shown, plain) {
				t.Errorf("printed %s: want %s shown as it is", shown, plain)
			}
		}
	}

	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.APIURL = r.url + "/?api_key=" + secret
	src, logs := r.loggedInLogging()
	for _, u := range []string{r.url + "/v2/company?api_key=" + secret, r.url + "/v2/company?X-Api-Key=" + secret + "&page=2"} {
		if code := getStatus(t, src, u); code != http.StatusOK {
			t.Fatalf("GET %s: %d", u, code)
		}
	}
	if l := logs.String(); strings.Contains(l, secret[8:]) || !strings.Contains(l, "page=2") {
		t.Errorf("the API requests' debug lines show the API key, or not the rest of the query:\n%s", l)
	}
}

// TestErrorsMaskAKeyInAnEndpointURL: a library error naming an endpoint
// whose URL carries a key in its query (a token endpoint behind an API
// gateway, ?subscription-key=…) showed the key to a program that printed
// err.Error(); New registers it as a secret, and the message masks it.
func TestErrorsMaskAKeyInAnEndpointURL(t *testing.T) {
	const key = "gw-key-0123456789abcdef"
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.Grant = freshtoken.GrantClientCredentials
	r.settings.TokenURL = "http://127.0.0.1:1/token?subscription-key=" + key
	src := r.sourceOn(r.store)
	_, err := src.Token()
	var fe *freshtoken.Error
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "subscription-key=") {
		t.Fatalf("Token at a token endpoint that cannot be reached: %v; want an Error naming it", err)
	}
	if strings.Contains(err.Error(), key[3:]) {
		t.Errorf("the error shows the key in the token endpoint's query: %v", err)
	}
}

// TestRenewalPrintsNoKeyInItsTokenURL: the Renewal that Options.Sending is
// told of, printed or logged by the program (%v, %+v, %#v, slog's text and
// JSON handlers), shows a key in its token endpoint's query (an API
// gateway's ?subscription-key=…, which New takes) masked, as Settings does,
// and the rest of it as it is. It printed the URL whole, key and all, to
// every program that logged the renewals it was told of.
func TestRenewalPrintsNoKeyInItsTokenURL(t *testing.T) {
	const key = "gw-key-0123456789abcdef"
	r := newRig(t, devprovider.Options{})
	r.settings.Grant = freshtoken.GrantClientCredentials
	r.settings.TokenURL += "?subscription-key=" + key
	var sent []freshtoken.Renewal
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
		Sending: func(rn freshtoken.Renewal) func() { sent = append(sent, rn); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Renew(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(sent) == 0 || !strings.Contains(sent[0].TokenURL, key) {
		t.Fatalf("Sending was told of %d renewals; want one, its TokenURL the endpoint's as set", len(sent))
	}
	rn := sent[0]
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("sending", "renewal", rn)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("sending", "renewal", rn)
	for _, shown := range []string{fmt.Sprintf("%v", rn), fmt.Sprintf("%+v", rn), fmt.Sprintf("%#v", rn), fmt.Sprintf("%v", &rn), logged.String()} {
		if strings.Contains(shown, key[3:]) {
			t.Errorf("printed the key in the token URL's query: %s", shown)
		}
		for _, plain := range []string{"subscription-key=", "/token", "NothingToLose:true", rn.Env} {
			if !strings.Contains(shown, plain) {
				t.Errorf("printed %s: want %s shown as it is", shown, plain)
			}
		}
	}
	if s := fmt.Sprintf("%#v", rn); !strings.HasPrefix(s, "freshtoken.Renewal{") {
		t.Errorf("%%#v printed %s; want it to name freshtoken.Renewal", s)
	}
}

// TestErrorMessagesShowNoKeyInAnEndpointURL: an *Error naming an endpoint
// whose URL carries keys in its query (an API gateway's
// ?subscription-key=…) shows them masked in its Msg, which a program reads
// and which the store keeps (Problem, Rest: what `status --json` and the
// proxy's page show, in other processes), and in Error(), a key too short
// for the process to register (under 8 characters) included, under any
// name an API gives one (Azure's SAS sig, a dotted api.key, a glued
// licensekey). Msg held the URL whole, and Error() masked only the
// registered, longer keys; then sig, api.key and licensekey showed.
func TestErrorMessagesShowNoKeyInAnEndpointURL(t *testing.T) {
	const long, short = "gw+key/0123456789abcdef", "Zq7xW"
	shortNames := []string{"apikey", "sig", "api.key", "licensekey"}
	query := "?subscription-key=" + url.QueryEscape(long) + "&" + strings.Join(shortNames, "="+short+"&") + "=" + short + "&region=eu"
	srv, _ := countingServer(t, func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		w.Header().Set("Content-Type", "application/json")
		switch req.URL.Path {
		case "/gone":
			http.NotFound(w, req)
		case "/client":
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
		case "/grant":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	for _, c := range []struct {
		name, at string // at: the endpoint's path on srv, or a full URL
		edit     func(*rig, string)
		call     func(*freshtoken.Source) error
	}{
		{"token endpoint failing", "/fail", tokenAt, renew},
		{"token endpoint not reached", "http://127.0.0.1:1/x", tokenAt, renew},
		{"no token endpoint there", "/gone", tokenAt, renew},
		{"token endpoint refusing the client", "/client", tokenAt, renew},
		{"token endpoint refusing client credentials", "/grant", func(r *rig, u string) {
			r.settings.Grant, r.settings.TokenURL = freshtoken.GrantClientCredentials, u
			if err := r.store.Delete(context.Background(), r.settings.Env); err != nil {
				t.Fatal(err)
			}
		}, renew},
		{"tokens stored for another token endpoint", "/fail", func(r *rig, u string) { r.settings.TokenURL = u }, renew},
		{"revocation endpoint failing", "/fail", revokeAt, revoke},
		{"revocation endpoint not reached", "http://127.0.0.1:1/x", revokeAt, revoke},
		{"no revocation endpoint there", "/gone", revokeAt, revoke},
		{"device endpoint failing", "/fail", deviceAt, startDevice},
		{"device endpoint not reached", "http://127.0.0.1:1/x", deviceAt, startDevice},
		{"no device endpoint there", "/gone", deviceAt, startDevice},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := c.at
			if strings.HasPrefix(u, "/") {
				u = srv.URL + u
			}
			r, _ := loggedIn(t)
			c.edit(r, u+query)
			err := c.call(r.source())
			var fe *freshtoken.Error
			if !errors.As(err, &fe) || !strings.Contains(fe.Msg, "region=eu") {
				t.Fatalf("%v; want an *Error naming the endpoint", err)
			}
			shown := []string{fe.Msg, err.Error()}
			if rec, _ := r.store.Load(context.Background(), r.settings.Env); rec != nil && rec.Problem != nil {
				shown = append(shown, rec.Problem.Message)
			} else if rec != nil && rec.Rest != nil {
				shown = append(shown, rec.Rest.Message)
			}
			for _, s := range shown {
				leaks := []string{long[3:], url.QueryEscape(long)[3:], base64.StdEncoding.EncodeToString([]byte(long))[4:]}
				for _, name := range shortNames {
					leaks = append(leaks, name+"="+short)
				}
				for _, leak := range leaks {
					if strings.Contains(s, leak) {
						t.Errorf("shows a key of the endpoint's URL (%s): %s", leak, s)
					}
				}
			}
		})
	}
}

// tokenAt moves the rig's token endpoint, and its stored grant, to u.
func tokenAt(r *rig, u string) { r.moveTokenEndpoint(u) }

func revokeAt(r *rig, u string) { r.settings.RevocationURL = u }
func deviceAt(r *rig, u string) { r.settings.DeviceAuthURL = u }

func renew(src *freshtoken.Source) error {
	_, err := src.Renew(context.Background())
	return err
}

func revoke(src *freshtoken.Source) error { return src.Revoke(context.Background()) }

func startDevice(src *freshtoken.Source) error {
	_, err := src.StartDeviceLogin(context.Background())
	return err
}

// TestEndpointsPrintNoKey: Endpoints (what src.Endpoints found), printed or
// logged by the program (%v, %+v, %#v, slog's text and JSON handlers),
// show a key in an endpoint's query masked, as Settings and Renewal do,
// and the rest as it is. Endpoints had no String, GoString or LogValue,
// so every one of them showed the key.
func TestEndpointsPrintNoKey(t *testing.T) {
	const key = "gw+key/0123456789abcdef"
	q := "?subscription-key=" + url.QueryEscape(key) + "&region=eu"
	ep := freshtoken.Endpoints{AuthURL: "https://login.example.com/authorize" + q, TokenURL: "https://login.example.com/token" + q,
		RevocationURL: "https://login.example.com/revoke" + q, DeviceAuthURL: "https://login.example.com/device" + q}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("endpoints", "ep", ep)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("endpoints", "ep", ep)
	for _, shown := range []string{fmt.Sprintf("%v", ep), fmt.Sprintf("%+v", ep), fmt.Sprintf("%#v", ep), fmt.Sprintf("%v", &ep), logged.String()} {
		for _, leak := range []string{key[3:], url.QueryEscape(key)[3:], base64.StdEncoding.EncodeToString([]byte(key))[4:]} {
			if strings.Contains(shown, leak) {
				t.Errorf("printed the key in an endpoint's query: %s", shown)
			}
		}
		for _, plain := range []string{"/authorize?subscription-key=", "/token?", "/revoke?", "/device?", "region=eu"} {
			if !strings.Contains(shown, plain) {
				t.Errorf("printed %s: want %s shown as it is", shown, plain)
			}
		}
	}
	if s := fmt.Sprintf("%#v", ep); !strings.HasPrefix(s, "freshtoken.Endpoints{") {
		t.Errorf("%%#v printed %s; want it to name freshtoken.Endpoints", s)
	}
}
