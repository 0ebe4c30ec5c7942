package keeper

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestAStalledDiskHoldsUpNoOtherEnvironment: environment a's token file is
// on a disk that stops answering (a network file system gone quiet) as
// the keeper removes it, its tokens logged out. The keeper removed it
// holding the lock every environment's watch takes, so environment b,
// whose token file is elsewhere, went unrenewed, its token file expiring,
// for as long as a's disk stalled. Now b is renewed, and its token file
// written, while a's removal waits; once the disk answers, a's file goes.
func TestAStalledDiskHoldsUpNoOtherEnvironment(t *testing.T) {
	dir, stall, resume := testdisk.Stalling(t)
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour})
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	srcs, files := map[string]*freshtoken.Source{}, map[string]string{"a": filepath.Join(dir, "token"), "b": filepath.Join(t.TempDir(), "token")}
	for env := range files {
		src, err := freshtoken.New(freshtoken.Settings{Env: env, ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
			TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true},
			freshtoken.Options{Store: st, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		devserver.LoginSource(t, src, clock.Now())
		srcs[env] = src
	}
	k := keeping(srcs["a"], "")
	k.Envs = func() ([]string, error) { return []string{"a", "b"}, nil }
	k.Open = func(_ context.Context, env string) (*freshtoken.Source, error) { return srcs[env], nil }
	k.TokenFile = func(env string) string { return files[env] }
	k.Now = clock.Now
	ctx := context.Background()
	k.round(ctx, time.Minute) // both token files written
	if err := srcs["a"].Logout(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour) // b's renewal falls due
	stall()
	aLooked, bLooked := make(chan struct{}), make(chan struct{})
	go func() { defer close(aLooked); k.keep(ctx, "a", time.Minute) }()
	if !testdisk.UntilStalled(aLooked) {
		t.Fatal("a's look ended without waiting on its stalled disk")
	}
	go func() { defer close(bLooked); k.keep(ctx, "b", time.Minute) }()
	// The timer only keeps a failing run from hanging: b's look, held
	// up by a's, would wait for the disk for good.
	select {
	case <-bLooked:
	case <-time.After(time.Minute):
		resume()
		<-aLooked
		t.Fatal("b's look waited for a's removal on a stalled disk")
	}
	select {
	case <-aLooked:
		t.Fatal("a's look ended while its disk stalled")
	default:
	}
	rec, err := st.Load(ctx, "b")
	if err != nil || !rec.Expiry.After(clock.Now()) {
		t.Fatalf("b's record while a's disk stalled: %+v, %v; want it renewed", rec, err)
	}
	if got, _ := os.ReadFile(files["b"]); string(got) != rec.AccessToken+"\n" {
		t.Fatalf("b's token file holds %q while a's disk stalled; want its renewed token", got)
	}
	resume()
	<-aLooked
	if _, err := os.Lstat(files["a"]); !os.IsNotExist(err) {
		t.Fatalf("a's token file once its disk answered: %v; want it removed", err)
	}
}
