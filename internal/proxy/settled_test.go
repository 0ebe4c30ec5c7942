package proxy_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/proxy"
)

// TestAReadingOfAFileJustChangedIsReadAgain: an environment opened from a
// reading of a configuration file changed moments before it
// (config.File.Settled false) is not served as read while the file's
// stamp stays the same: the configuration is read again at the next
// request, until a reading is settled, and then kept. An edit of the same
// size within the tick of the file system's clock (2 s on FAT) left the
// stamp as it was, and the environment was served as read before the
// edit until the file changed again. Whether a reading is settled is
// decided here, not by the clock.
func TestAReadingOfAFileJustChangedIsReadAgain(t *testing.T) {
	var settled atomic.Bool
	var reads atomic.Int64
	f := newFixtureWith(t, fixtureOptions{autoApprove: true, tune: func(o *proxy.Options) {
		read := o.Config
		o.Config = func() (*config.File, error) {
			reads.Add(1)
			c, err := read()
			if err == nil {
				c.Settled = settled.Load()
			}
			return c, err
		}
	}})
	f.login(t, "dev")
	get := func(why string) int64 {
		t.Helper()
		before := reads.Load()
		if resp, body := f.get(t, "/dev/v2/company"); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", why, resp.StatusCode, body)
		}
		return reads.Load() - before
	}
	get("opened from a reading of a file just changed")
	if n := get("the next request"); n == 0 {
		t.Errorf("a request after one opened from a reading of a file just changed read the configuration %d times; want it read again", n)
	}
	settled.Store(true)
	get("read again, settled")
	if n := get("after a settled reading"); n != 0 {
		t.Errorf("a request after a settled reading of the unchanged file read the configuration %d times; want 0", n)
	}
}
