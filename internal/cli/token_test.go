package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestTokenJSONWithoutALifetime: `token --json` of a token the provider
// gave no lifetime (a token endpoint answering without expires_in) leaves
// out expires_at and expires_in, as `token --help` now says; it said
// nothing of it, and a script reading .expires_in found no field the help
// had listed. With a lifetime, both are there.
func TestTokenJSONWithoutALifetime(t *testing.T) {
	e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/token_endpoint") {
				provider.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			provider.ServeHTTP(rec, r)
			var answer map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &answer); err == nil {
				delete(answer, "expires_in")
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			json.NewEncoder(w).Encode(answer)
		})
	})
	e.login(t)
	for _, args := range [][]string{{"token", "--json"}, {"token", "--json", "--force"}} {
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, args...); code != 0 {
			t.Fatalf("%q: exit %d, %s", args, code, stderr)
		}
		var doc map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["env"] != "dev" || doc["access_token"] == "" || doc["token_type"] != "Bearer" || len(doc) != 3 {
			t.Fatalf("%q: %s; want env, access_token and token_type alone", args, stdout)
		}
	}
	ios, stdout, _ := testStreams(false, false)
	if code := e.run(ios, "token", "--help"); code != 0 ||
		!strings.Contains(stdout.String(), "Both are\nleft out when the provider gave the token no lifetime") ||
		!strings.Contains(stdout.String(), `{"env","access_token","token_type","expires_at","expires_in"}`) {
		t.Fatalf("token --help:\n%s\nwant it to say when expires_at and expires_in are left out", stdout)
	}

	with := newDevEnv(t)
	with.login(t)
	ios, stdout, stderr := testStreams(false, false)
	if code := with.run(ios, "token", "--json"); code != 0 {
		t.Fatalf("token --json: exit %d, %s", code, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc["expires_at"] == nil || doc["expires_in"] == nil {
		t.Fatalf("token --json of a token with a lifetime: %s (%v); want expires_at and expires_in", stdout, err)
	}
}

// TestAnAPIKeyInTheTokenURLIsNeverShown: a token endpoint behind an API
// gateway that takes its key in the query (token_url ending in
// ?subscription-key=…) named that URL whole in the error of a renewal that
// kept failing, and in the debug lines of the token request: the key is
// registered as a secret as the settings are made, and masked in both.
func TestAnAPIKeyInTheTokenURLIsNeverShown(t *testing.T) {
	const key = "APIMKEY-0123456789abcdef"
	var failing atomic.Bool
	e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() && r.URL.Path == "/v2/token_endpoint" {
				http.Error(w, "the gateway's backend is down", http.StatusServiceUnavailable)
				return
			}
			provider.ServeHTTP(w, r)
		})
	})
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", TokenURL: e.api + "v2/token_endpoint?subscription-key=" + key})
	e.loginOutside(t)
	failing.Store(true)
	ios, _, stderr := testStreams(false, false)
	code := e.run(ios, "--debug", "token", "--force")
	if code != 5 || !strings.Contains(stderr.String(), "token_endpoint?subscription-key=") {
		t.Fatalf("token --force at a failing token endpoint: exit %d; want 5, naming the endpoint:\n%s", code, stderr)
	}
	if strings.Contains(stderr.String(), key[4:]) {
		t.Errorf("the key in token_url's query was shown:\n%s", stderr)
	}
}
