//go:build unix

package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestProxyLogsNoTokenAnAPISendsAfterItsAnswer: an API that sends bytes
// after an answer that has no body (a 204 with a body, as some frameworks
// send one; a hostile API) has them quoted by net/http's transport, which
// wrote them on the log package's logger: on the proxy's stderr (a
// service's journal), past freshtoken's log and its redaction, whatever
// they held (here the Authorization header the API was sent, as an API
// echoing its request would). They now go to freshtoken's log as a detail,
// the access token masked.
func TestProxyLogsNoTokenAnAPISendsAfterItsAnswer(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	api := testenv.ServeStrayBytes(t)
	w.useAPI("http://" + api + "/")
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	p := w.watch("--debug", "proxy", "--listen", addr)
	waitListening(t, "http://"+addr)
	if resp, _ := followed(t, "http://"+addr+"/dev/x"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("got %d, want the API's 204", resp.StatusCode)
	}
	p.waitSaid(t, "Unsolicited response")
	p.cmd.Process.Signal(syscall.SIGTERM)
	_, stderr := p.wait()
	token := strings.TrimSpace(w.mustRun("token").stdout)
	if strings.Contains(stderr, token) {
		t.Errorf("the proxy's stderr holds the access token:\n%s", stderr)
	}
	if !strings.Contains(stderr, "level=DEBUG msg=\"Unsolicited response") || !strings.Contains(stderr, "component=net/http") {
		t.Errorf("net/http's line is not in freshtoken's log:\n%s", stderr)
	}
}
