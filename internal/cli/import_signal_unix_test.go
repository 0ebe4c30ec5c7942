//go:build unix

package cli

import (
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/postman"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestSecondCtrlCFinishesAFailedImportsPutBack: a second Ctrl-C while a
// failed import puts back the tokens it replaced (here, waiting for the
// renewal lock) says the put-back is being finished, and it is: the
// earlier tokens are stored again, and the process does not end. It ended
// at once, and the export's tokens stayed in place of the earlier ones,
// for an environment the configuration, left unchanged, does not name so.
// A third Ctrl-C abandons it, saying where that leaves things.
func TestSecondCtrlCFinishesAFailedImportsPutBack(t *testing.T) {
	for _, presses := range []int{2, 3} {
		t.Run(strings.Repeat("Ctrl-C ", presses), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			state := (&url.URL{Scheme: "file", Path: dir}).String()
			now := time.Now()
			src, prev := sandLoggedIn(t, state, "rt-before", now.Add(-time.Hour))
			st := exportStored(t, src, state, now)
			unlock, err := st.Lock(t.Context(), "sand") // the put-back waits for it
			if err != nil {
				t.Fatal(err)
			}
			out := testenv.NewOutput()
			_, g, stop := guardSignals(out)
			defer stop()
			g.delay = time.Hour
			var exited atomic.Int32
			g.exit = func(code int) { exited.Store(int32(code)) }
			f := &Factory{holdPutBack: g.puttingBack}
			target := importTarget{env: postman.Env{Name: "sand", ClientID: "client", RefreshToken: "rt-export"}, src: src, st: st, prev: prev,
				wrote: &store.Record{AccessToken: "at-export", RefreshToken: "rt-export", LoggedInAt: now}}
			failed := make(chan error, 1)
			go func() { failed <- importFailed(t.Context(), f, "the import stopped", nil, []importTarget{target}, nil) }()
			testenv.WaitFor(t, "the put-back to begin", func() bool {
				g.mu.Lock()
				defer g.mu.Unlock()
				return g.putBack != nil
			})
			for range presses {
				g.received(syscall.SIGINT)
			}
			unlock()
			err = testenv.Receive(t, "the put-back", failed)
			said := out.String()
			if presses == 3 {
				if exited.Load() != 130 || !strings.Contains(said, "putting back what the failed import replaced abandoned: the export's tokens may be stored in place of the earlier ones") {
					t.Fatalf("a third Ctrl-C: exit %d, stderr %q; want 130, saying the put-back was abandoned and where that leaves things", exited.Load(), said)
				}
				return
			}
			if exited.Load() != 0 || !strings.Contains(said, "putting back what the failed import replaced first") || !strings.Contains(said, "Ctrl-C again abandons it") {
				t.Fatalf("a second Ctrl-C: exit %d, stderr %q; want no exit, saying the put-back is being finished", exited.Load(), said)
			}
			if !strings.Contains(err.Error(), "the tokens of sand were put back as they were") {
				t.Errorf("importFailed: %v; want sand's tokens put back", err)
			}
			if rec, err := src.Record(t.Context()); err != nil || rec == nil || rec.RefreshToken != "rt-before" {
				t.Errorf("after the put-back the store holds %+v, %v; want the earlier tokens", rec, err)
			}
		})
	}
}
