package keeper

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// syncBuffer is a log the test reads while the keeper writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTokenFileGoesWhenTheGrantEnds: once the keeper learns that the
// provider ended the grant, by its own renewal meeting invalid_grant or
// from the store's note of another process's, it removes the token file,
// whose token the provider revoked with the grant and no command serves
// any more (a keeper started since, which did not write it, too, as it
// holds the record's token); the next log-in's token is written there
// again. What was wrong: the file kept the revoked token until it expired,
// for every tool reading it to send.
func TestTokenFileGoesWhenTheGrantEnds(t *testing.T) {
	for _, how := range []string{"the keeper's renewal", "another process's renewal, a keeper started since"} {
		t.Run(how, func(t *testing.T) {
			p, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour}, true)
			file := filepath.Join(t.TempDir(), "token")
			k, _ := keepingTold(src, file, clock)
			k.round(context.Background(), time.Minute)
			if _, err := os.Stat(file); err != nil {
				t.Fatal(err)
			}
			p.RevokeGrants()
			if how == "the keeper's renewal" {
				clock.Advance(time.Hour) // the token file's token is due
			} else {
				if _, err := src.Renew(context.Background()); err == nil {
					t.Fatal("a renewal of a revoked grant succeeded")
				}
				k, _ = keepingTold(src, file, clock)
			}
			k.round(context.Background(), time.Minute)
			if b, err := os.ReadFile(file); err == nil {
				t.Fatalf("the token file still holds %q after the grant ended", b)
			}
			devserver.LoginSource(t, src, clock.Now())
			k.round(context.Background(), time.Minute)
			holdsTheToken(t, src, file, "after a log-in")
		})
	}
}

// holdsTheToken fails t unless file, a token file, holds the access token
// of src's record, when (as a failure says).
func holdsTheToken(t *testing.T, src *freshtoken.Source, file, when string) {
	t.Helper()
	rec, err := src.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != rec.AccessToken+"\n" {
		t.Fatalf("%s the token file holds %q, %v; want the log-in's token", when, b, err)
	}
}

// warning is what a keeper says of a token file it cannot remove once the
// grant ended.
const warning = "cannot remove the token file, which holds the access token of a grant the provider ended"

// tokenFileOnADisk is the path of a token file in a folder of a disk of
// its own, and remount, which turns that disk read-only ("ro") or
// writable again ("rw"); the test's end leaves it writable.
func tokenFileOnADisk(t *testing.T) (file string, remount func(mode string)) {
	t.Helper()
	dir := testdisk.SmallFolder(t, "64k")
	mnt := filepath.Dir(dir)
	t.Cleanup(func() { exec.Command("mount", "-o", "remount,rw", mnt).Run() })
	return filepath.Join(dir, "token"), func(mode string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,"+mode, mnt).CombinedOutput(); err != nil {
			t.Fatalf("remount %s: %v: %s", mode, err, out)
		}
	}
}

// grantEnds has p, the provider, end src's grant, and src's renewal meet
// it.
func grantEnds(t *testing.T, p *devprovider.Provider, src *freshtoken.Source) {
	t.Helper()
	p.RevokeGrants()
	if _, err := src.Renew(context.Background()); err == nil {
		t.Fatal("a renewal of a revoked grant succeeded")
	}
}

// TestTokenFileThatCannotGoIsToldOnce: a token file the keeper cannot
// remove once the grant ended (its disk turned read-only) is warned of
// once, not at every look, and removed once it can be; after a log-in has
// written it again, the same failure at the next end is warned of again.
func TestTokenFileThatCannotGoIsToldOnce(t *testing.T) {
	file, remount := tokenFileOnADisk(t)
	p, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour}, true)
	k, _ := keepingTold(src, file, clock)
	var log syncBuffer
	k.Logger = slog.New(slog.NewTextHandler(&log, nil))
	k.round(context.Background(), time.Minute)
	grantEnds(t, p, src)
	remount("ro")
	for range 3 {
		clock.Advance(time.Minute)
		k.round(context.Background(), time.Minute)
	}
	if n := strings.Count(log.String(), warning); n != 1 {
		t.Fatalf("%d warnings that the token file cannot be removed; want 1:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "read-only file system") {
		t.Fatalf("the warning does not say why:\n%s", log.String())
	}
	// Fixed and logged in again before the keeper's next look: the file
	// is written again, and the same failure at the next end is told again.
	remount("rw")
	devserver.LoginSource(t, src, clock.Now())
	k.round(context.Background(), time.Minute)
	if b, err := os.ReadFile(file); err != nil || len(b) == 0 {
		t.Fatalf("the token file after a new log-in: %q, %v; want its token", b, err)
	}
	grantEnds(t, p, src)
	remount("ro")
	clock.Advance(time.Minute)
	k.round(context.Background(), time.Minute)
	if n := strings.Count(log.String(), warning); n != 2 {
		t.Fatalf("%d warnings that the token file cannot be removed, after a write between two grants' ends; want 2:\n%s", n, log.String())
	}
	remount("rw")
	k.round(context.Background(), time.Minute)
	if b, err := os.ReadFile(file); err == nil {
		t.Fatalf("the token file still holds %q once it can be removed", b)
	}
	if !strings.Contains(log.String(), "token file removed, as the provider ended the grant") {
		t.Fatalf("the removal is not logged:\n%s", log.String())
	}
}

// TestTokenFileOfTokensGoneThatCannotGoIsToldOnce: as
// TestTokenFileThatCannotGoIsToldOnce, for a token file whose tokens are
// gone from the store (a log-out elsewhere): warned of at every look, a
// line a minute for as long as its disk stayed read-only; once now.
func TestTokenFileOfTokensGoneThatCannotGoIsToldOnce(t *testing.T) {
	file, remount := tokenFileOnADisk(t)
	_, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour}, true)
	k, _ := keepingTold(src, file, clock)
	var log syncBuffer
	k.Logger = slog.New(slog.NewTextHandler(&log, nil))
	k.round(context.Background(), time.Minute)
	if err := src.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	remount("ro")
	for range 3 {
		clock.Advance(time.Minute)
		k.round(context.Background(), time.Minute)
	}
	const gone = "cannot remove the token file of an environment that has no tokens of its own"
	if n := strings.Count(log.String(), gone); n != 1 {
		t.Fatalf("%d warnings that the token file cannot be removed; want 1:\n%s", n, log.String())
	}
	remount("rw")
	k.round(context.Background(), time.Minute)
	if b, err := os.ReadFile(file); err == nil {
		t.Fatalf("the token file still holds %q once it can be removed", b)
	}
}

// TestClientCredentialsTokenFileWithAGrantEndedNote: a client credentials
// record noting that the grant ended (another tool wrote it) gets a new
// token at the keeper's next look, written to the token file: client
// credentials need no log-in. Without the plan to fetch at once, the
// keeper would take the note for a log-in needed, and leave the file
// without a token until the old one was due.
func TestClientCredentialsTokenFileWithAGrantEndedNote(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour})
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	src, err := freshtoken.New(freshtoken.Settings{Env: "machine", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthStyle: oauth2.AuthStyleInHeader,
		Grant: freshtoken.GrantClientCredentials, KeepAccess: true}, freshtoken.Options{Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	k, _ := keepingTold(src, file, clock)
	k.round(context.Background(), time.Minute)
	rec, err := st.Load(context.Background(), "machine")
	if err != nil {
		t.Fatal(err)
	}
	old := rec.AccessToken
	rec.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: clock.Now()}
	if err := st.Save(context.Background(), "machine", rec); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	k.round(context.Background(), time.Minute)
	now, err := st.Load(context.Background(), "machine")
	if err != nil {
		t.Fatal(err)
	}
	if now.AccessToken == old || now.Problem != nil {
		t.Fatalf("the record after the keeper's look: problem %+v, same token %v; want a new token, no note", now.Problem, now.AccessToken == old)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != now.AccessToken+"\n" {
		t.Fatalf("token file %q, %v; want the new token", b, err)
	}
	if n := p.Stats().ClientCredentials; n != 2 {
		t.Fatalf("%d client credentials grants; want 2", n)
	}
}

// TestTokenFileWrittenByAnotherKeeperIsToldAgain: two keepers of one
// configuration (the service's, and a proxy's started by hand) keep one
// token file. After a grant's end whose token file could not be removed,
// and a log-in whose token the other keeper wrote there first, this
// keeper found the file holding it already and wrote nothing, and so kept
// its warned-once record: the same failure at the next grant's end went
// untold by it, whose log the user reads once the other has stopped.
func TestTokenFileWrittenByAnotherKeeperIsToldAgain(t *testing.T) {
	file, remount := tokenFileOnADisk(t)
	p, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour}, true)
	other, _ := keepingTold(src, file, clock)
	k, _ := keepingTold(src, file, clock)
	var log syncBuffer
	k.Logger = slog.New(slog.NewTextHandler(&log, nil))
	for end := 1; end <= 2; end++ {
		other.round(context.Background(), time.Minute) // writes the log-in's token first
		k.round(context.Background(), time.Minute)
		holdsTheToken(t, src, file, "once the other keeper wrote it")
		grantEnds(t, p, src)
		remount("ro")
		clock.Advance(time.Minute)
		k.round(context.Background(), time.Minute)
		if n := strings.Count(log.String(), warning); n != end {
			t.Fatalf("%d warnings that the token file cannot be removed, after %d grants' ends; want %d:\n%s", n, end, end, log.String())
		}
		remount("rw")
		devserver.LoginSource(t, src, clock.Now())
	}
}
