package keeper

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestALogOutDuringARenewalIsNoFailure: a log-out holds the renewal lock
// while the provider revokes the tokens (up to the environment's timeout)
// and while it deletes them, and a keeper renewing the grant meanwhile
// (due, or pulled ahead of its plan to spread a crowd) waits for it, to
// find the tokens deleted. It warned that the renewal failed (not logged
// in), and counted it as a failure that went on while the environment
// stayed logged out: 15 minutes on, a person was told that renewals had
// failed since the log-out.
func TestALogOutDuringARenewalIsNoFailure(t *testing.T) {
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	dir := filepath.Join(t.TempDir(), "tokens")
	logs := testenv.NewOutput()
	kept, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader},
		freshtoken.Options{Store: filestore.New(dir), Clock: clock.Now, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, kept, clock.Now())
	k, n := keepingTold(kept, "", clock)
	k.Logger = slog.New(slog.NewTextHandler(logs, nil))
	clock.Advance(19*24*time.Hour + time.Hour) // within a day of the refresh token's expiry: due

	logout := filestore.New(dir) // another process's, as `freshtoken logout` is
	unlock, err := logout.Lock(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	// The tokens are deleted once the round's renewal waits for the lock,
	// as the store tells: waiting for "waiting for the renewal lock" in
	// the log found the log-in's line, and the round, reading the store
	// after the delete, renewed nothing, the test passing without the fix.
	var once sync.Once
	waiting, round := make(chan struct{}), make(chan struct{})
	go func() {
		k.round(store.WithWaiting(context.Background(), func() { once.Do(func() { close(waiting) }) }), time.Minute)
		close(round)
	}()
	<-waiting
	if err := logout.Delete(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	unlock()
	<-round
	clock.Advance(16 * time.Minute)
	k.round(context.Background(), time.Minute)
	if got := n.Current(); len(got) != 0 {
		t.Errorf("notices %+v 16 minutes after a log-out; want none", got)
	}
	if strings.Contains(logs.String(), "renewal failed") {
		t.Errorf("the keeper took a log-out during its renewal for a failure:\n%s", logs.String())
	}
}
