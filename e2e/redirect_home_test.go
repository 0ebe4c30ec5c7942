//go:build unix

package e2e_test

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestRequestIsNotRedirectedIntoThisMachine: an API elsewhere (here on the
// office network) that redirects a request to an address of this machine
// (a freshtoken proxy there, as the service runs one, would send it on with
// another environment's token: a sandbox's POST made in production) is not
// followed: the command says where the API sent it, in one line, exit 5,
// and nothing reaches the program on this machine, by any spelling of its
// address, its network address included (where a proxy listening with
// --allow-remote is reached), nor by a host name that leads to it (one in
// /etc/hosts, as a public name with the A record 127.0.0.1 would, or
// Debian's 127.0.1.1, where nothing listens), directly or through the
// office proxy (HTTPS_PROXY). A redirect within the API is followed as
// before.
func TestRequestIsNotRedirectedIntoThisMachine(t *testing.T) {
	t.Parallel()
	home := testenv.NewHome(t)
	network := net.JoinHostPort(testenv.NetworkAddr(t).String(), home.Port)
	var byName atomic.Value // a name that leads here, and the port: set by the rows that need one
	w, _, _, _ := corpWorldBehind(t, func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/v2/invoices":
				http.Redirect(w, r, "http://127.0.0.1:"+home.Port+"/production/v2/invoices", http.StatusTemporaryRedirect)
			case "/v2/spelt":
				http.Redirect(w, r, "http://0x7f000001:"+home.Port+"/production/v2/company", http.StatusFound)
			case "/v2/named":
				http.Redirect(w, r, "http://localhost:"+home.Port+"/production/v2/company", http.StatusFound)
			case "/v2/network":
				// Where a proxy listening on every address (--allow-remote)
				// is reached too.
				http.Redirect(w, r, "http://"+network+"/production/v2/company", http.StatusFound)
			case "/v2/hostname":
				http.Redirect(w, r, "http://"+byName.Load().(string)+"/production/v2/company", http.StatusFound)
			case "/v2/tunnelled":
				http.Redirect(w, r, "https://"+byName.Load().(string)+"/production/v2/company", http.StatusFound)
			case "/v2/moved":
				http.Redirect(w, r, "/v2/company", http.StatusMovedPermanently)
			default:
				api.ServeHTTP(w, r)
			}
		})
	})
	w.login()
	refused := func(t *testing.T, here string, args ...string) {
		t.Helper()
		r := w.run(args...)
		if r.code != 5 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
			!strings.Contains(r.stderr, "redirected the request to http") || !strings.Contains(r.stderr, ":"+home.Port+"/production/v2/") ||
			!strings.Contains(r.stderr, here) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 5, nothing printed, one line saying the API redirected the request to this machine %s", args, r.code, r.stdout, r.stderr, here)
		}
	}
	const address = "(an address of this machine)"
	refused(t, address, "post", "/v2/invoices", "-d", `{"invoice":{"total":"1000"}}`)
	refused(t, address, "get", "/v2/spelt")
	refused(t, address, "get", "/v2/named")
	refused(t, address, "get", "/v2/named", "--all")
	refused(t, address, "get", "/v2/network")
	// A name is not an address the user can recognise: the line says where
	// it leads. Only these rows need a name that leads here.
	t.Run("by name", func(t *testing.T) {
		name := testenv.NameHere(t)
		byName.Store(net.JoinHostPort(name, home.Port))
		refused(t, "("+name+" leads to this machine)", "post", "/v2/hostname", "-d", `{"invoice":{"total":"1000"}}`)
		refused(t, "("+name+" leads to this machine)", "get", "/v2/tunnelled")
	})
	home.NotReached(t)
	if r := w.mustRun("get", "/v2/moved"); !strings.Contains(r.stdout, "company") {
		t.Errorf("get /v2/moved: %q; want the company the API redirected to within itself", r.stdout)
	}
}
