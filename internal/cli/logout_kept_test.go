package cli_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// TestLogoutKeepsTheTokensTheProviderCouldNotRevoke: a log-out whose
// revocation the provider fails (a 503 at every try, a certificate this
// machine does not trust, a host name with no address, a refusal at every
// try: unsupported_token_type) keeps the tokens, in a file store and in
// Redis alike, and says in one line, exit 5, what failed, that they are
// kept and the grant may still be valid, and the next steps: logout again
// later, or the app's access removed at the provider and logout --local.
// They were forgotten, saying the grant may still be valid, and with them
// the only means to end it short of the provider's own pages; then kept,
// the line named logout again later, which a provider refusing at every
// try never answers otherwise, or logout --local, without a word of the
// grant living on or of how to end it. The logout run again, once the
// provider answers, ends the grant and forgets them. A certificate or a host name that no try
// changes is tried once: they were tried again until the time-out ran out.
// A host name with no address says to check revocation_url, as a mistyped
// one has none: it named the lookup's failure alone.
func TestLogoutKeepsTheTokensTheProviderCouldNotRevoke(t *testing.T) {
	untrusted := func(t *testing.T, _ *devEnv, conns *atomic.Int32) string {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes it refuses
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.URL + "/revoke"
	}
	for _, tc := range []struct {
		name  string
		url   func(t *testing.T, e *devEnv, sent *atomic.Int32) string
		sends int32  // requests (or connections) the revocation makes
		said  string // why, in the line
		check string // the setting it says to check, if any
	}{
		{"503 at every try", func(_ *testing.T, e *devEnv, _ *atomic.Int32) string { return e.api + "v2/revoke" }, 3,
			"could not revoke the refresh token (HTTP 503 Service Unavailable, at each of 3 tries", ""},
		{"a certificate not trusted", untrusted, 1,
			"could not revoke the refresh token (the certificate of 127.0.0.1 is signed by an unknown authority; set ca_file)", ""},
		{"a host with no address", func(*testing.T, *devEnv, *atomic.Int32) string { return "https://revoke.invalid/revoke" }, 0,
			"could not revoke the refresh token (dial tcp: lookup revoke.invalid", "; check revocation_url; nothing was deleted"},
		{"a refusal at every try (unsupported_token_type)", func(t *testing.T, _ *devEnv, sent *atomic.Int32) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				sent.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"error":"unsupported_token_type"}`))
			}))
			t.Cleanup(srv.Close)
			return srv.URL + "/revoke"
		}, 1, "could not revoke the refresh token (HTTP 400 Bad Request, unsupported_token_type)", ""},
	} {
		for _, where := range []string{"file", "redis"} {
			t.Run(tc.name+" in "+where, func(t *testing.T) {
				var sent atomic.Int32
				var answers atomic.Bool // the provider answers again
				e := newDevEnvAnswering(t, "/v2/revoke", func(w http.ResponseWriter, r *http.Request) {
					sent.Add(1)
					if !answers.Load() {
						http.Error(w, "revocation is down", http.StatusServiceUnavailable)
					}
				})
				if where == "redis" {
					srv := redistest.Start(t)
					if err := os.WriteFile(e.config, fmt.Appendf(nil, "[store]\nurl = %q\n", "redis://"+srv.Addr+"/0"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				var timeout config.Duration // 3 tries of a 503, at DefaultRetryBackoff
				if err := timeout.UnmarshalTOML("2s"); err != nil {
					t.Fatal(err)
				}
				url := tc.url(t, e, &sent)
				e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: url, Timeout: timeout})
				e.loginOutside(t)
				before := e.record(t, "dev")

				ios, stdout, stderr := testStreams(false, false)
				code := e.run(ios, "logout", "-e", "dev")
				said := stderr.String()
				if code != cli.ExitUnreachable || strings.Count(strings.TrimSpace(said), "\n") > 0 || !strings.HasPrefix(said, "freshtoken: dev: the provider's revocation endpoint "+url+" ") {
					t.Errorf("logout: exit %d, stderr:\n%s\nwant exit 5, one line naming the endpoint", code, said)
				}
				for _, want := range []string{tc.said, "; nothing was deleted: the tokens are kept in ", ", and the grant may still be valid at the provider: run `freshtoken --config " + e.config + " logout -e dev` later to end it, or remove the app's access in your account at the provider and run `freshtoken --config " + e.config + " logout --local -e dev` to forget them\n"} {
					if !strings.Contains(said, want) {
						t.Errorf("stderr:\n%s\nwant %q in it", said, want)
					}
				}
				if tc.check != "" && !strings.Contains(said, tc.check) || tc.check == "" && strings.Contains(said, "revocation_url") {
					t.Errorf("stderr:\n%s\nwant %q in it, and revocation_url named only then", said, tc.check)
				}
				if strings.Contains(said, "at each of") != (tc.sends > 1) {
					t.Errorf("stderr:\n%s\nwant it to say the tries only when there were several", said)
				}
				if n := sent.Load(); n != tc.sends {
					t.Errorf("%d revocation requests (or connections); want %d", n, tc.sends)
				}
				if kept := e.record(t, "dev"); kept == nil || kept.RefreshToken != before.RefreshToken || kept.AccessToken != before.AccessToken {
					t.Fatalf("after the failed log-out the store holds %+v; want the tokens as they were", kept)
				}
				for _, secret := range []string{before.AccessToken, before.RefreshToken, "dev-client-secret"} {
					if strings.Contains(said+stdout.String(), secret) {
						t.Errorf("a secret was shown: %s", said)
					}
				}

				// Run again once the provider answers: the grant ends,
				// and the tokens are forgotten.
				answers.Store(true)
				e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/revoke"})
				ios, _, stderr = testStreams(false, false)
				if code := e.run(ios, "logout", "-e", "dev"); code != 0 || !strings.Contains(stderr.String(), "Logged out of dev: the grant was revoked at the provider") {
					t.Errorf("logout again: exit %d, stderr:\n%s", code, stderr)
				}
				if rec := e.record(t, "dev"); rec != nil {
					t.Errorf("after logout again the store holds %+v", rec)
				}
			})
		}
	}
}

// TestLogoutAgainAfterARevocationWhoseAnswerWasLost: a revocation the
// provider carried out but whose answer never arrived whole (a 200 cut
// off, at every try) keeps the tokens (exit 5), as nothing says the grant
// ended. A renewal then (a keeper's, or `token --force`) is refused by the
// provider: the grant is noted as ended (exit 3), as it would be for any
// grant the provider ended, and the tokens are still there for the
// log-out. logout run again ends in a log-out (exit 0) with the tokens
// forgotten: nothing is left that only --local could clear.
func TestLogoutAgainAfterARevocationWhoseAnswerWasLost(t *testing.T) {
	var cut atomic.Bool
	cut.Store(true)
	e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/revoke" || !cut.Load() {
				provider.ServeHTTP(w, r)
				return
			}
			provider.ServeHTTP(httptest.NewRecorder(), r) // revoked, its answer lost
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"))
		})
	})
	var timeout config.Duration
	if err := timeout.UnmarshalTOML("2s"); err != nil {
		t.Fatal(err)
	}
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/revoke", Timeout: timeout})
	e.loginOutside(t)

	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "logout", "-e", "dev"); code != cli.ExitUnreachable || !strings.Contains(stderr.String(), "whose answer broke off") || e.record(t, "dev") == nil {
		t.Fatalf("logout: exit %d, stderr:\n%s\nwant exit 5 and the tokens kept", code, stderr)
	}
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "token", "--force", "-e", "dev"); code != failure.LoginNeeded.Row().Exit {
		t.Fatalf("token --force after the lost answer: exit %d, stderr:\n%s\nwant 3, the grant ended", code, stderr)
	}
	if e.record(t, "dev") == nil {
		t.Fatal("the renewal refused deleted the tokens")
	}
	// What a keeper's notice says too: the grant ended, and a log-out
	// forgets the tokens; not only "log in", which undid the log-out.
	e.wantStatus(t, "after the refused renewal", 0, " login -e dev` to use it again, or `freshtoken --config "+shellquote.Word(e.config)+" logout -e dev` to forget its tokens")
	cut.Store(false)
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "logout", "-e", "dev"); code != 0 || !strings.HasPrefix(stderr.String(), "Logged out of dev: ") {
		t.Errorf("logout again: exit %d, stderr:\n%s", code, stderr)
	}
	if rec := e.record(t, "dev"); rec != nil {
		t.Errorf("after logout again the store holds %+v", rec)
	}
}
