package proxy_test

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testdisk"
)

// TestStoreFailureIsLoggedOncePerEpisode: the token folder's disk turns
// read-only under a running proxy as a renewal falls due. Every client
// gets 503, and the proxy's log, which said nothing of it (a service's
// journal was empty while every request failed), says once that the store
// is failing, for which environment, why and what to do, however many
// requests fail; once the disk is writable again, one line says the store
// works again. At the proxy's default level (warnings), no secret.
func TestStoreFailureIsLoggedOncePerEpisode(t *testing.T) {
	dir := testdisk.Small(t, "256k")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, quiet: true, storeURL: "file://" + dir})
	f.login(t, "dev")
	writable := testdisk.ReadOnly(t, dir)
	f.clock.Advance(accessTTL)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("a request on a read-only disk, the token due: %d %s; want 503", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	failing := "the token store is failing"
	if logs := f.logs.String(); strings.Count(logs, failing) != 1 || !strings.Contains(logs, "env=dev") ||
		!strings.Contains(logs, "read-only file system") || !strings.Contains(logs, "make the disk writable again") {
		t.Fatalf("after 20 requests failed on a read-only disk the proxy's log says:\n%s\nwant one line that the token store is failing for dev, why, and what to do", logs)
	}
	writable()
	if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
		t.Fatalf("with the disk writable again: %d %s", resp.StatusCode, body)
	}
	f.get(t, "/dev/v2/company")
	if logs := f.logs.String(); strings.Count(logs, "the token store works again") != 1 || strings.Count(logs, failing) != 1 {
		t.Fatalf("once the disk is writable again the proxy's log says:\n%s\nwant one line that the token store works again", logs)
	}
}
