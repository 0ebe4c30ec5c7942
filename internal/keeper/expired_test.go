package keeper

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// keepingForFaults is a keeper on a fake clock of "dev", logged in at a dev
// provider whose faults the test sets, its token file at file: its
// renewals retry a failed token request after a millisecond, three
// times, as they do after seconds. It returns the provider, the clock,
// the source's store, the keeper and its token file.
func keepingForFaults(t *testing.T) (*devprovider.Provider, *fakeclock.Clock, *filestore.Store, *Keeper, string) {
	t.Helper()
	p, root := devserver.Start(t, devprovider.Options{AutoApprove: true})
	clock := fakeclock.New()
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader,
		KeepAccess: true, RetryBackoff: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}},
		freshtoken.Options{Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, src, clock.Now())
	file := filepath.Join(t.TempDir(), "token")
	k := keeping(src, file)
	k.Now = clock.Now
	return p, clock, st, k, file
}

// TestTokenFileExpiredWhileTheProviderIsDownIsRenewedSoonAfter: with the
// provider down past the access token's expiry, the keeper waited a whole
// look (a minute) after each failed renewal, so the token file held an
// expired token for up to a minute after the provider came back, every
// script reading it met 401s. Once the token has expired it tries again as
// soon as renewals may (the engine's 30 s rest after a renewal that gave
// up), never sending more than FreeAgent's 15 token requests in any
// minute of the outage.
func TestTokenFileExpiredWhileTheProviderIsDownIsRenewedSoonAfter(t *testing.T) {
	p, clock, _, k, file := keepingForFaults(t)
	ctx := context.Background()
	wait := k.keep(ctx, "dev", time.Minute)
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p.Fault(devprovider.Fault5xx, 1<<20)
	start := clock.Now()
	perMinute := map[time.Duration]int{}
	for clock.Now().Before(start.Add(3 * time.Hour)) { // past the hour's token
		clock.Advance(wait)
		sent := p.Stats().TokenRequests
		wait = k.keep(ctx, "dev", time.Minute)
		perMinute[clock.Now().Sub(start).Truncate(time.Minute)] += p.Stats().TokenRequests - sent
	}
	for minute, n := range perMinute {
		if n > 15 {
			t.Fatalf("%d token requests in minute %v of the outage; want at most FreeAgent's 15", n, minute)
		}
	}
	p.ClearFaults()
	back := clock.Now()
	for range 100 {
		if b, err := os.ReadFile(file); err == nil && string(b) != string(first) {
			break
		}
		clock.Advance(wait)
		wait = k.keep(ctx, "dev", time.Minute)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) == string(first) {
		t.Fatalf("token file %q, %v; want a new token once the provider is back", b, err)
	}
	if late := clock.Now().Sub(back); late > 30*time.Second {
		t.Fatalf("the token file held an expired token %v after the provider came back; want 30 s at most (the rest after a failed renewal)", late)
	}
}

// TestTokensGoneWithTheStoresFolderAreTold: the store's folder removed
// while the keeper runs (a cleaning tool, a mistaken rm -rf) and made
// again. The keeper removed the token file, as after a log-out, and said
// so only at --debug: scripts reading it failed with no word why. It is
// told once, with the log-in that brings it back.
func TestTokensGoneWithTheStoresFolderAreTold(t *testing.T) {
	_, _, st, k, file := keepingForFaults(t)
	var log bytes.Buffer
	k.Logger = slog.New(slog.NewTextHandler(&log, nil))
	// As the proxy's, of a configuration named by --config: the log-in it
	// names is that configuration's (it named the default one's).
	k.Suggesting = func(msg string) string {
		return strings.ReplaceAll(msg, "`freshtoken ", "`freshtoken --config /home/me/second.toml ")
	}
	ctx := context.Background()
	k.round(ctx, time.Minute)
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("no token file after the first look: %v", err)
	}
	dir := filepath.Dir(st.Location("dev"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		k.round(ctx, time.Minute)
	}
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the token file of tokens no longer stored: %v; want it removed", err)
	}
	if n := strings.Count(log.String(), "`freshtoken --config /home/me/second.toml login -e dev`"); n != 1 {
		t.Fatalf("told %d times that the tokens are gone; want once\n%s", n, log.String())
	}
}
