package cli_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestLogoutAtAHostileRevocationEndpoint: logout at a revocation endpoint
// that answers as a hostile or broken provider would ends in one line
// saying what happened, with the exit code and the tokens kept or
// forgotten as the answer says, and no token or client secret in it. A
// redirect (to another host, to the proxy, to plain http) is followed
// nowhere and a web page answering 200 (a sign-in page) revoked nothing:
// the tokens are kept, exit 2. An answer cut off, or never ending, after
// its status (200 or 400) says nothing certain: it was taken for its
// status, a 200 for "the grant was revoked" (exit 0), of a grant the
// provider may still honour; it is now tried again, and then told as the
// provider's failure (exit 5), the tokens kept for logout again (they were
// forgotten, and with them the means to end the grant). A connection
// closed before the answer is tried again too (it was given up at once).
// Once the refresh token is revoked, the grant has ended, whatever becomes
// of the access token's revocation (exit 0): a 503 for it at every try had
// logout say the grant may still be valid (exit 5).
func TestLogoutAtAHostileRevocationEndpoint(t *testing.T) {
	cutOff := func(head string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			c.Write([]byte(head))
		}
	}
	endless := func(status int, start string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(start))
			http.NewResponseController(w).Flush()
			<-r.Context().Done() // the rest never comes
		}
	}
	redirect := func(to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusTemporaryRedirect) }
	}
	for _, tc := range []struct {
		name   string
		answer http.HandlerFunc
		code   int
		kept   bool
		said   string
	}{
		{"redirect to another host", redirect("https://login.example/revoke"), cli.ExitUsage, true,
			"(HTTP 307 redirecting to https://login.example/revoke, which freshtoken does not follow"},
		{"redirect to the proxy", redirect("http://127.0.0.1:8787/dev/v2/revoke"), cli.ExitUsage, true,
			"(HTTP 307 redirecting to http://127.0.0.1:8787/dev/v2/revoke, which freshtoken does not follow"},
		{"redirect to plain http", redirect("http://revoke.example/revoke"), cli.ExitUsage, true,
			"(HTTP 307 redirecting to http://revoke.example/revoke, which freshtoken does not follow"},
		{"sign-in page answering 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!DOCTYPE html><html><body><form>Sign in</form></body></html>"))
		}, cli.ExitUsage, true, "(HTTP 200 OK, a web page rather than an OAuth answer), so the refresh token was not revoked"},
		{"huge answer", func(w http.ResponseWriter, r *http.Request) {
			for range 1 << 7 {
				w.Write([]byte(strings.Repeat(" ", 1<<14)))
			}
		}, cli.ExitUnreachable, true, "could not revoke the refresh token (the answer was larger than 1 MiB"},
		{"200 never ending", endless(http.StatusOK, ""), cli.ExitUnreachable, true,
			"could not revoke the refresh token (began to answer and did not finish within 2s (timeout)); nothing was deleted: the tokens are kept"},
		{"400 never ending", endless(http.StatusBadRequest, `{"error":"invalid_`), cli.ExitUnreachable, true,
			"could not revoke the refresh token (began to answer and did not finish within 2s (timeout)); nothing was deleted: the tokens are kept"},
		{"closed before the answer", cutOff(""), cli.ExitUnreachable, true,
			"could not revoke the refresh token (EOF, at each of 3 tries, until the 2s a revocation is given (timeout) ran out); nothing was deleted: the tokens are kept"},
		{"closed mid-answer", cutOff("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\""), cli.ExitUnreachable, true,
			"could not revoke the refresh token (HTTP 200 OK, whose answer broke off (unexpected EOF), at each of 3 tries, until the 2s a revocation is given (timeout) ran out); nothing was deleted: the tokens are kept"},
		{"access token failing once the grant ended", func(w http.ResponseWriter, r *http.Request) {
			if r.PostFormValue("token_type_hint") == "access_token" {
				http.Error(w, "down", http.StatusServiceUnavailable)
			}
		}, cli.ExitOK, false, "Logged out of dev: the grant was revoked at the provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnvAnswering(t, "/v2/revoke", tc.answer)
			var timeout config.Duration
			if err := timeout.UnmarshalTOML("2s"); err != nil {
				t.Fatal(err)
			}
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/revoke", Timeout: timeout})
			e.loginOutside(t)
			rec := e.record(t, "dev")
			stdout, stderr := testenv.NewOutput(), testenv.NewOutput()
			code := e.run(&cli.IOStreams{In: strings.NewReader(""), Out: stdout, ErrOut: stderr}, "logout", "-e", "dev")
			said := stderr.String()
			if code != tc.code || !strings.Contains(said, tc.said) || strings.Count(strings.TrimSpace(said), "\n") > 0 {
				t.Errorf("logout: exit %d, stderr:\n%s\nwant exit %d, one line saying %q", code, said, tc.code, tc.said)
			}
			if kept := e.record(t, "dev") != nil; kept != tc.kept {
				t.Errorf("tokens kept: %t; want %t", kept, tc.kept)
			}
			for _, secret := range []string{rec.AccessToken, rec.RefreshToken, "dev-client-secret"} {
				if strings.Contains(said+stdout.String(), secret) {
					t.Errorf("a secret was shown: %s", said)
				}
			}
		})
	}
}
