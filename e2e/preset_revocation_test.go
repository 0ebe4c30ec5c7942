//go:build unix

package e2e_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestLogoutAtAPresetsRevocationEndpoint: the google preset's revocation
// endpoint, https://oauth2.googleapis.com/revoke, is served here by a test
// server that an office proxy (HTTPS_PROXY) tunnels every host to, its
// certificate from a private authority in ca_file. Its invalid_request is
// the provider's failure: the tokens are kept, for logout again or
// --local (exit 5); it was told as the configuration's, "check
// revocation_url", a setting the person never wrote (exit 2).
// unsupported_token_type is the provider's too. The same URL written as revocation_url is the configuration's to
// check (exit 2, tokens kept). A web page there keeps the tokens (nothing
// was revoked), saying to set revocation_url where the endpoint is now,
// not to check one the file does not hold.
func TestLogoutAtAPresetsRevocationEndpoint(t *testing.T) {
	answer := func(code string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/revoke" {
				http.NotFound(w, r)
				return
			}
			if code == "" {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<!DOCTYPE html><html><body>Sign in</body></html>"))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":%q,"error_description":"Bad Request"}`, code)
		}
	}
	for _, tt := range []struct {
		name      string
		answer    http.HandlerFunc
		typed     bool // revocation_url written in the file
		code      int
		kept      bool
		said, not string
	}{
		{"preset, invalid_request", answer("invalid_request"), false, 5, true,
			"could not revoke the refresh token (HTTP 400 Bad Request, invalid_request); nothing was deleted: the tokens are kept", "check revocation_url"},
		{"preset, unsupported_token_type", answer("unsupported_token_type"), false, 5, true,
			"could not revoke the refresh token (HTTP 400 Bad Request, unsupported_token_type); nothing was deleted: the tokens are kept", "check revocation_url"},
		{"preset, a web page", answer(""), false, 2, true,
			"so the refresh token was not revoked; set revocation_url to where the provider's revocation endpoint is now (this one is where its documentation put it); nothing was deleted", "check revocation_url"},
		{"typed, invalid_request", answer("invalid_request"), true, 2, true,
			"could not revoke the refresh token (HTTP 400 Bad Request, invalid_request); check revocation_url; nothing was deleted", "Logged out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ca := corpnet.NewCA(t)
			srv := ca.Serve(t, tt.answer, "oauth2.googleapis.com")
			office := corpnet.NewProxy(t, srv.Listener.Addr().String())
			w := &world{t: t, dir: t.TempDir()}
			w.config, w.store = filepath.Join(w.dir, "config.toml"), filepath.Join(w.dir, "tokens")
			w.env = []string{"HTTPS_PROXY=" + office.URL, "https_proxy=" + office.URL, "HTTP_PROXY=", "http_proxy=", "NO_PROXY=", "no_proxy="}
			typed := ""
			if tt.typed {
				typed = `revocation_url = "https://oauth2.googleapis.com/revoke"`
			}
			w.writeConfig(fmt.Sprintf("[store]\nurl = %q\n\n[env.dev]\nprovider = \"google\"\nclient_id = \"dev-client-id\"\nclient_secret_env = \"DEV_SECRET\"\nscopes = [\"openid\"]\nca_file = %q\n%s\n",
				"file://"+w.store, ca.File, typed))
			now := time.Now()
			rec := &store.Record{AccessToken: "ya29.access-token-of-dev", TokenType: "Bearer", Expiry: now.Add(time.Hour), RefreshToken: "1//refresh-token-of-dev", IssuedAt: now, LoggedInAt: now}
			if err := filestore.New(w.store).Save(t.Context(), "dev", rec); err != nil {
				t.Fatal(err)
			}
			r := w.run("logout", "-e", "dev")
			if r.code != tt.code || !strings.Contains(r.stderr, tt.said) || strings.Contains(r.stderr, tt.not) {
				t.Errorf("logout: exit %d\n%s\nwant exit %d saying %q, not %q", r.code, r.stderr, tt.code, tt.said, tt.not)
			}
			if hosts := office.Hosts(); len(hosts) == 0 || hosts[0] != "oauth2.googleapis.com:443" {
				t.Errorf("the office proxy was asked for %q; want the preset's host", hosts)
			}
			kept, err := filestore.New(w.store).Load(t.Context(), "dev")
			if (err == nil) != tt.kept {
				t.Errorf("tokens kept: %t (%v); want %t", err == nil, err, tt.kept)
			}
			if kept != nil && kept.RefreshToken != rec.RefreshToken {
				t.Error("the tokens kept changed")
			}
			for _, secret := range []string{rec.AccessToken, rec.RefreshToken, "dev-client-secret"} {
				if strings.Contains(r.stderr+r.stdout, secret) {
					t.Errorf("a secret was shown: %s", r.stderr)
				}
			}
		})
	}
}
