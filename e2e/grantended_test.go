//go:build unix

package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestGrantEndedServesNoToken: once a renewal has met invalid_grant (the
// provider ended the grant, revoking its access tokens with it), no
// surface serves the access token the record still holds, however long it
// has left: the proxy does not send the token the API just refused again,
// and `token`, `exec` and `get` exit 3 with the message of the refused
// renewal, naming when and why, as status says a log-in is needed.
// `token --force` still tries the kept refresh token, and a log-in brings
// tokens again. What was wrong: each of them served the revoked token
// until it expired (an hour here), and the proxy sent it to the API once
// more for every request, each answered 401.
func TestGrantEndedServesNoToken(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	old := strings.TrimSpace(w.mustRun("token").stdout)

	listen := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	proxy := w.command(t.Context(), "proxy", "--listen", listen)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Process.Kill(); proxy.Wait() })
	get := func() (int, string) {
		resp, err := http.Get("http://" + listen + "/dev/v2/company")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	testenv.WaitFor(t, "the proxy to serve", func() bool { code, _ := get(); return code == http.StatusOK })

	w.provider.RevokeGrants()
	// The API refuses the token; the proxy's renewal meets invalid_grant.
	if code, body := get(); code != http.StatusUnauthorized || !strings.Contains(body, "login_required") {
		t.Fatalf("the request whose renewal met invalid_grant: HTTP %d %s; want 401 login_required", code, body)
	}
	api := w.provider.Stats().APIRequests
	code, body := get()
	if code != http.StatusUnauthorized || !strings.Contains(body, "login_required") || !strings.Contains(body, "the grant ended") {
		t.Fatalf("the next request: HTTP %d %s; want 401 login_required saying the grant ended", code, body)
	}
	if n := w.provider.Stats().APIRequests - api; n != 0 {
		t.Fatalf("the proxy sent the revoked token to the API %d more times", n)
	}

	want := w.suggested("ago: the provider refused the refresh token (HTTP 400 invalid_grant")
	for _, args := range [][]string{
		{"token"},
		{"token", "--min-valid", "1m"},
		{"exec", "--", "sh", "-c", "echo ran"},
		{"get", "/v2/company"},
	} {
		r := w.run(args...)
		if r.code != 3 || r.stdout != "" || strings.Contains(r.stderr, old) ||
			!strings.Contains(r.stderr, "the grant ended ") || !strings.Contains(r.stderr, want) ||
			!strings.Contains(r.stderr, w.suggested("run `freshtoken login -e dev`")) {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q; want 3, nothing on stdout, the grant's end and a log-in named", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	if n := w.provider.Stats().APIRequests - api; n != 0 {
		t.Fatalf("the revoked token was sent to the API %d more times", n)
	}
	if st := w.mustRun("status", "--json").stdout; !strings.Contains(st, `"logged_in": false`) {
		t.Fatalf("status does not say a log-in is needed:\n%s", st)
	}

	requests := w.provider.Stats().TokenRequests
	if r := w.run("token", "--force"); r.code != 3 || r.stdout != "" || w.provider.Stats().TokenRequests != requests+1 {
		t.Fatalf("token --force: exit %d, stdout %q, %d token requests; want 3, nothing, the kept refresh token tried once", r.code, r.stdout, w.provider.Stats().TokenRequests-requests)
	}

	w.login()
	if tok := strings.TrimSpace(w.mustRun("token").stdout); tok == "" || tok == old {
		t.Fatalf("after a log-in: token %q; want a new one", tok)
	}
	testenv.WaitFor(t, "the proxy to serve the new log-in's token", func() bool { code, _ := get(); return code == http.StatusOK })
}
