package freshtoken_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// replicatedSource is a Source logged in on a Redis primary with a
// replica, their replication link through a Link the test holds or cuts,
// logging as text to logs, its Store waiting up to 100 ms for a replica
// after the log-in.
func replicatedSource(t *testing.T) (primary, replica *redistest.Server, link *redistest.Link, src *freshtoken.Source, logs *testenv.Output, clock *fakeclock.Clock) {
	t.Helper()
	primary, replica, link = redistest.StartReplicated(t)
	st, err := redisstore.New(primary.URL)
	if err != nil {
		t.Fatal(err)
	}
	st.ReplicaWait = time.Minute
	t.Cleanup(func() { st.Close() })
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	logs = testenv.NewOutput()
	src, err = freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.login(src) // its save acknowledged by the replica, however long it takes
	st.ReplicaWait = 100 * time.Millisecond
	return primary, replica, link, src, logs, r.clock
}

// TestRenewalNotYetOnAReplicaIsWarnedOf: a renewal whose save no replica
// of the Redis primary acknowledges in time (a replication link that
// lags) succeeds, its tokens used, and logs one warning that they are not
// yet on a replica, without them: a failover before one copies them would
// bring back the refresh token the renewal spent.
func TestRenewalNotYetOnAReplicaIsWarnedOf(t *testing.T) {
	_, _, link, src, logs, _ := replicatedSource(t)
	link.Hold()
	tok, err := src.Renew(context.Background())
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("a renewal whose save no replica acknowledged: %v; want it done", err)
	}
	out := logs.String()
	if strings.Count(out, "not yet on a replica") != 1 || !strings.Contains(out, "level=WARN") || strings.Contains(out, tok.AccessToken) {
		t.Fatalf("logs:\n%s\nwant one warning that the tokens are not yet on a replica, without them", out)
	}
}

// TestLogOutAndPutBackNotYetOnAReplicaAreWarnedOf: a log-out's deletion,
// and a put-back after a restart that lost the tokens, that no replica
// acknowledges in time stand, and log one warning each, as a renewal's
// save does. Their store.Warn went to no one: the engine told the store's
// warnings only for its saves.
func TestLogOutAndPutBackNotYetOnAReplicaAreWarnedOf(t *testing.T) {
	for _, write := range []string{"log-out", "put-back"} {
		t.Run(write, func(t *testing.T) {
			primary, replica, link, src, logs, clock := replicatedSource(t)
			held, err := src.Record(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := "deletion is not yet on a replica"
			do := func() error { return src.Logout(context.Background()) }
			if write == "put-back" {
				primary.RestartWithReplica(t, replica)
				clock.Advance(time.Minute) // past StoreCheckInterval: the token call looks at the store
				want = "saved in"
				do = func() error {
					tok, err := src.Token()
					if err == nil && tok.AccessToken != held.AccessToken {
						t.Errorf("the token after the put-back is not the one held")
					}
					return err
				}
			}
			logged := len(logs.String())
			link.Hold()
			if err := do(); err != nil {
				t.Fatalf("a %s no replica acknowledged: %v; want it done", write, err)
			}
			out := logs.String()[logged:]
			if strings.Count(out, "not yet on a replica") != 1 || !strings.Contains(out, want) || strings.Contains(out, held.AccessToken) || strings.Contains(out, held.RefreshToken) {
				t.Fatalf("logs:\n%s\nwant one warning that the %s is not yet on a replica, without the tokens", out, write)
			}
		})
	}
}
