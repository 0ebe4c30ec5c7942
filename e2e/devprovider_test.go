//go:build unix

package e2e_test

import (
	"bufio"
	"fmt"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestDevProviderDiscovery: a newcomer runs `freshtoken dev-provider`, pastes
// the init line it prints for discovery, logs in and calls the API, all
// offline, with the endpoints read from the dev provider's discovery
// document.
func TestDevProviderDiscovery(t *testing.T) {
	w := newWorld(t, devprovider.Options{}, "")
	dev := w.command(t.Context(), "dev-provider", "--auto-approve", "--listen", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	stderr, err := dev.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Process.Kill(); dev.Wait() })
	// The steps it prints work copied from the top down: the secret's
	// export comes before any command that needs it.
	var initLine string
	exported := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		exported = exported || strings.HasPrefix(l, "export DEV_SECRET=")
		if strings.HasPrefix(l, "freshtoken ") && !exported {
			t.Fatalf("dev-provider printed %q before the export of DEV_SECRET", l)
		}
		if strings.HasPrefix(l, "freshtoken init -e idp ") {
			initLine = l
			break
		}
	}
	if initLine == "" {
		t.Fatalf("dev-provider printed no init line for discovery (%v)", sc.Err())
	}
	go func() {
		for sc.Scan() { // keep the pipe drained
		}
	}()
	if !strings.Contains(initLine, "--issuer http://127.0.0.1:") {
		t.Fatalf("the init line names no issuer: %s", initLine)
	}
	// A port of its own rather than the default 8787, which other tests may hold.
	w.mustRun(append(strings.Fields(initLine)[1:], "--redirect-uri", fmt.Sprintf("http://127.0.0.1:%d/callback", testenv.FreePort(t)))...)
	w.login("-e", "idp")
	if out := w.mustRun("-e", "idp", "get", "/v2/company").stdout; !strings.Contains(out, "company") {
		t.Fatalf("get /v2/company: %s", out)
	}
	if got := w.mustRun("-e", "idp", "logout").stderr; !strings.Contains(got, "the grant was revoked at the provider") {
		t.Fatalf("logout did not revoke at the discovered endpoint: %s", got)
	}
}
