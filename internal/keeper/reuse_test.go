package keeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestLooksReuseTheSourceAndRenewalsFetchTheSecretAfresh: an
// environment's looks reuse the Source the first opened while its
// settings are unchanged (opened at each look, a proxy of 2000
// environments made 20 KB of garbage at each of 33 looks a second), and
// each renewal goes through one opened anew, which fetches the client
// secret afresh: a Source keeps the secret it fetched until the provider
// rejects it, so a secret changed in the keychain or by its command since
// the last renewal would have been sent only after a rejection. An edit of
// the settings opens a new one at the next look.
func TestLooksReuseTheSourceAndRenewalsFetchTheSecretAfresh(t *testing.T) {
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	var opened, fetched atomic.Int64
	open := func(context.Context, string) (*freshtoken.Source, error) {
		opened.Add(1)
		return freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id",
			ClientSecretFunc: func(context.Context) (string, error) { fetched.Add(1); return "dev-client-secret", nil },
			TokenURL:         root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true},
			freshtoken.Options{Store: st, Clock: clock.Now})
	}
	first, err := open(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, first, clock.Now())
	settings := "as first read"
	k := &Keeper{Envs: func() ([]string, error) { return []string{"dev"}, nil },
		Open: open, Settings: func(string) any { return settings },
		Logger: slog.New(slog.DiscardHandler), Now: clock.Now,
		TokenFile: func(string) string { return filepath.Join(t.TempDir(), "token") }}
	opened.Store(0)
	fetched.Store(0)
	for range 3 {
		k.round(context.Background(), time.Minute)
	}
	if n := opened.Load(); n != 1 {
		t.Fatalf("three looks with the settings unchanged opened %d Sources; want 1", n)
	}
	for i := range 2 {
		clock.Advance(2 * time.Hour)
		k.round(context.Background(), time.Minute)
		if n := fetched.Load(); n != int64(i+1) {
			t.Fatalf("%d renewals fetched the client secret %d times; want %d, once each", i+1, n, i+1)
		}
	}
	renewed := opened.Load()
	k.round(context.Background(), time.Minute)
	settings = "edited"
	k.round(context.Background(), time.Minute)
	if n := opened.Load() - renewed; n != 1 {
		t.Fatalf("a look after the renewal and one after an edit opened %d Sources; want 1, for the edit", n)
	}
}

// TestALookAtManyEnvironmentsIsCheap: the keeper's look at each of many
// environments awaiting a log-in (an accountant's, one per client
// company), their token files in one folder, made a few hundred
// allocations, not thousands: each look opened the environment's Source
// anew and read the folder's names (for litter beside its token file),
// every 5 s for each, while a look after staleTemp finds no litter that an
// earlier one would not have left. Counted in allocations, not time.
func TestALookAtManyEnvironmentsIsCheap(t *testing.T) {
	const n = 200
	dir := t.TempDir()
	st := filestore.New(filepath.Join(dir, "tokens"))
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("e%d", i)
	}
	k := &Keeper{Envs: func() ([]string, error) { return names, nil },
		Open: func(_ context.Context, env string) (*freshtoken.Source, error) {
			src, err := freshtoken.New(freshtoken.Settings{Env: env, ClientID: "client-" + env, ClientSecret: "s3cr3t-of-" + env,
				TokenURL: "https://api.freeagent.com/v2/token_endpoint", AuthURL: "https://api.freeagent.com/v2/approve_app",
				APIURL: "https://api.freeagent.com/", ClientAuth: freshtoken.ClientAuthBasic, KeepAccess: true}, freshtoken.Options{Store: st})
			if err != nil {
				t.Error(err)
			}
			return src, err
		},
		Settings:  func(env string) any { return env },
		TokenFile: func(env string) string { return filepath.Join(dir, "token-"+env) },
		Logger:    slog.New(slog.DiscardHandler)}
	for _, env := range names { // the folder as logged-in environments' files fill it
		if err := os.WriteFile(k.TokenFile(env), []byte("another-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k.round(context.Background(), time.Minute)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	k.round(context.Background(), time.Minute)
	runtime.ReadMemStats(&after)
	each, bytes := (after.Mallocs-before.Mallocs)/n, (after.TotalAlloc-before.TotalAlloc)/n
	if each > 100 || bytes > 4<<10 {
		t.Errorf("a look at each of %d environments made %d allocations of %d bytes in all; want under 100 and 4 KiB", n, each, bytes)
	}
	t.Logf("a look at each of %d environments: %d allocations, %d bytes", n, each, bytes)
}

// TestTokenFileLitterMadeLaterIsRemoved: litter a writer killed later
// left beside a token file (see TestTokenFileLitterIsRemoved) is removed
// by a look within staleTemp of its going stale, though the folder is no
// longer read at every look.
func TestTokenFileLitterMadeLaterIsRemoved(t *testing.T) {
	src := stored(t, true, func(r *store.Record) { r.Expiry = r.IssuedAt.Add(24 * time.Hour) })
	dir := t.TempDir()
	clock := fakeclock.New()
	k := keeping(src, filepath.Join(dir, "token"))
	k.Now = clock.Now
	k.round(context.Background(), time.Minute)
	crashed := filepath.Join(dir, ".token.tmp-123")
	if err := os.WriteFile(crashed, []byte("access-token-0987654321\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(crashed, old, old); err != nil {
		t.Fatal(err)
	}
	clock.Advance(staleTemp)
	k.round(context.Background(), time.Minute)
	if _, err := os.Lstat(crashed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temp file a crashed writer left, a look staleTemp on: %v; want it removed", err)
	}
}
