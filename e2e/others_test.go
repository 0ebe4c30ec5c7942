//go:build unix

package e2e_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestLoginBesideAProxyOverAnotherConfigurationsLogIn: `login` (no
// terminal) goes through the proxy on its redirect port, which serves the
// same configuration; while the person approves, a second configuration
// file naming dev at another provider, over the same store, logs in. The
// proxy stored this log-in over the other's tokens, and `login` said only
// "Logged in": the other configuration's grant was gone without a word,
// where `login` on its own says so. It now says so, and the proxy
// replaces them as `login` without a terminal does: the link tells the
// proxy which other configurations' tokens the command replaces.
func TestLoginBesideAProxyOverAnotherConfigurationsLogIn(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	conf, addr := w.redirectAddr()
	w.startProxy(addr)
	// The other configuration's dev is the same client id at another
	// provider (another dev provider).
	prov := devprovider.New(devprovider.Options{AutoApprove: true, RequirePKCE: true})
	srv := httptest.NewServer(prov.Handler())
	t.Cleanup(func() { prov.Close(); srv.Close() })
	other := w.writeOtherConfig("other.toml", strings.NewReplacer(
		w.api, srv.URL+"/",
		addr, fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
	).Replace(conf))

	p := w.watch("login", "--no-browser", "--timeout", "30s")
	approve := w.openLoginLink(p)

	w.login("--config", other) // the other configuration logs in meanwhile
	p.waitSaid(t, `tokens of client "dev-client-id" at `+srv.URL)
	followed(t, approve) // the person approves
	stderr := p.waitExit(t, 0)
	if !strings.Contains(stderr, `warning: tokens of client "dev-client-id" at `+srv.URL) || !strings.Contains(stderr, "(another configuration's) were stored for dev in") ||
		!strings.Contains(stderr, "this log-in replaces them once it succeeds, and that configuration will have to log in again") || !strings.Contains(stderr, "Logged in to dev through the freshtoken proxy") {
		t.Fatalf("login: stderr %q; want it to say it replaces the other configuration's tokens, then that it logged in", stderr)
	}
	if stored := string(w.storeBytes()); !strings.Contains(stored, w.api) {
		t.Fatalf("the store holds %s; want this configuration's log-in", stored)
	}
}
