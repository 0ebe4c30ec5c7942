package freshtoken_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestRenewalNotYetOnAReplicaIsWarnedOf: a renewal whose save no replica
// of the Redis primary acknowledges in time (a replication link that
// lags) succeeds, its tokens used, and logs one warning that they are not
// yet on a replica, without them: a failover before one copies them would
// bring back the refresh token the renewal spent.
func TestRenewalNotYetOnAReplicaIsWarnedOf(t *testing.T) {
	primary, replica := redistest.StartWithoutPersistence(t), redistest.StartWithoutPersistence(t)
	link := redistest.NewLink(t, primary)
	replica.ReplicaOf(t, primary, link.Addr)
	st, err := redisstore.New(primary.URL)
	if err != nil {
		t.Fatal(err)
	}
	st.ReplicaWait = time.Minute
	t.Cleanup(func() { st.Close() })
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src) // its save acknowledged by the replica, however long it takes
	link.Hold()
	st.ReplicaWait = 100 * time.Millisecond
	tok, err := src.Renew(context.Background())
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("a renewal whose save no replica acknowledged: %v; want it done", err)
	}
	out := logs.String()
	if strings.Count(out, "not yet on a replica") != 1 || !strings.Contains(out, "level=WARN") || strings.Contains(out, tok.AccessToken) {
		t.Fatalf("logs:\n%s\nwant one warning that the tokens are not yet on a replica, without them", out)
	}
}
