package e2e_test

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
)

// TestKeepersKeepAnIdleGrantAlive: refresh tokens that live two seconds,
// nobody calling the API, and two keepers (`freshtoken proxy --no-listen`)
// on one store, a folder or Redis: the grant outlives several refresh-token
// lifetimes, renewed about once per lifetime rather than once per keeper,
// with no reuse.
func TestKeepersKeepAnIdleGrantAlive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"file store", func(*testing.T) string { return "" }},
		{"redis store", func(t *testing.T) string { return redistest.Start(t).URL }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const life = 2 * time.Second
			w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: life, RefreshesPerMinute: 1000}, tc.store(t), "")
			w.login()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var keepers []*exec.Cmd
			for range 2 {
				k := w.command(ctx, "proxy", "--no-listen")
				if err := k.Start(); err != nil {
					t.Fatal(err)
				}
				keepers = append(keepers, k)
			}
			const watched = 4 * life // four lifetimes: without the keepers the grant ends after one
			time.Sleep(watched)
			for _, k := range keepers {
				k.Process.Signal(syscall.SIGTERM)
				k.Wait()
				if code := k.ProcessState.ExitCode(); code != 143 {
					t.Errorf("a keeper exited %d after SIGTERM; want 143", code)
				}
			}
			st := w.provider.Stats()
			if st.Refreshes < 3 || st.Refreshes > 6 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
				t.Fatalf("provider stats %+v over %s; want about one renewal per %s lifetime, not one per keeper, and no reuse", st, watched, life)
			}
			w.mustRun("token", "--force") // the grant is alive
		})
	}
}
