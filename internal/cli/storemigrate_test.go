package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestStoreMigrateReadsTheURLFromStdin: `store migrate --to -` takes the
// URL from stdin, so a store password never shows in the process list
// (where any user of the machine can read a command line), its first line
// (as `pass show` prints it, with CRLF from a Windows file); nothing on
// stdin is a usage error saying what to pipe in.
func TestStoreMigrateReadsTheURLFromStdin(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	target := filepath.Join(e.dir, "moved")
	ios, stdout, stderr := testStreams(false, false)
	ios.In = strings.NewReader("file://" + target + "\r\nlogin: me\r\n")
	if code := e.run(ios, "store", "migrate", "--to", "-"); code != 0 {
		t.Fatalf("store migrate --to -: exit %d\n%s%s", code, stdout, stderr)
	}
	f, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if f.StoreURL != "file://"+target {
		t.Fatalf("[store] url = %q, want the URL given on stdin", f.StoreURL)
	}
	if _, err := os.Stat(filepath.Join(target, "dev.json")); err != nil {
		t.Fatalf("the record did not move: %v", err)
	}
	ios, _, stderr = testStreams(false, false)
	ios.In = strings.NewReader("\n")
	if code := e.run(ios, "store", "migrate", "--to", "-"); code != 2 || !strings.Contains(stderr.String(), "stdin") {
		t.Fatalf("--to - with nothing on stdin: exit %d, %s; want 2 saying what to pipe in", code, stderr)
	}
	// An entry whose first line is empty: the URL after it was taken, where
	// `pass show`'s contract makes the first line the password.
	ios, _, stderr = testStreams(false, false)
	ios.In = strings.NewReader("\nfile://" + filepath.Join(e.dir, "elsewhere") + "\n")
	if code := e.run(ios, "store", "migrate", "--to", "-"); code != 2 || !strings.Contains(stderr.String(), "the first line on stdin is empty") || strings.Contains(stderr.String(), "elsewhere") {
		t.Fatalf("--to - with an empty first line: exit %d, %s; want 2 saying the URL must come first, never quoting it", code, stderr)
	}
}

// TestStoreMigrateToTheSameFolderByAnotherPath: --to naming the token
// folder through a symbolic link in its path (as macOS's /tmp is
// /private/tmp) is the same store: nothing moves, and migrate says so. It
// took the folder's lock twice, once per spelling, and waited on itself
// for ever, saying nothing.
func TestStoreMigrateToTheSameFolderByAnotherPath(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	link := filepath.Join(e.dir, "link")
	if err := os.Symlink(e.dir, link); err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr := testStreams(false, false)
	done := make(chan int, 1)
	go func() { done <- e.run(ios, "store", "migrate", "--to", "file://"+filepath.Join(link, "state")) }()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(stderr.String(), "already; nothing was moved") {
			t.Fatalf("store migrate to the same folder: exit %d\n%s%s; want 0 saying the tokens are there already", code, stdout, stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("store migrate to the same folder by another path was still waiting after 20 s")
	}
	if _, err := os.Stat(filepath.Join(e.dir, "state", "dev.json")); err != nil {
		t.Fatalf("the record is gone: %v", err)
	}
}

// TestStoreMigrateToTheSameFolderThroughABindMount: --to naming the token
// folder through a bind mount of it (a container's volume, one disk mounted
// twice), which no path comparison tells from another folder, is the same
// store: nothing moves, and it says so; it took the one lock file twice,
// through each path, and waited on itself for ever, saying another process
// was renewing.
func TestStoreMigrateToTheSameFolderThroughABindMount(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	to := filepath.Join(testdisk.BindMount(t, e.dir), "state")
	ios, stdout, stderr := testStreams(false, false)
	done := make(chan int, 1)
	go func() { done <- e.run(ios, "store", "migrate", "--to", "file://"+to) }()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(stderr.String(), "already; nothing was moved") {
			t.Fatalf("store migrate to the same folder through a bind mount: exit %d\n%s%s; want 0 saying the tokens are there already", code, stdout, stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("store migrate --to %s, the same folder through a bind mount, was still waiting after 20 s: %s", to, stderr)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "state", "dev.json")); err != nil {
		t.Fatalf("the record is gone: %v", err)
	}
}

// TestStoreMigrateFinishingFromTheSameFolderThroughABindMount: the journal
// of a move killed once the configuration named the new store names, as
// the store it left, the token folder the configuration names, reached
// through a bind mount. Finishing the move took the one lock file twice,
// through each path, and waited on itself for ever; let through, it would
// have deleted the tokens in use as the old copies. They are kept, the
// journal gone, exit 0.
func TestStoreMigrateFinishingFromTheSameFolderThroughABindMount(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	here := fileURL(filepath.Join(e.dir, "state"))
	other := fileURL(filepath.Join(testdisk.BindMount(t, e.dir), "state"))
	journal, _ := json.Marshal(map[string]string{"from": other, "to": here})
	if err := os.WriteFile(e.config+".moving-from", journal, 0o600); err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr := testStreams(false, false)
	code := make(chan int, 1)
	go func() { code <- e.run(ios, "store", "migrate", "--to", here) }()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("store migrate with the journal of a move from the same folder through a bind mount: exit %d\n%s%s; want 0, the tokens kept", c, stdout, stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("store migrate was still waiting after 20 s: %s", stderr)
	}
	if _, err := os.Stat(e.config + ".moving-from"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the moving-from file stayed: %v", err)
	}
	if rec := e.record(t, "dev"); rec == nil {
		t.Fatalf("the tokens in use were deleted as an old copy\n%s", stderr)
	}
}

// TestStoreMigrateToTheSameRedisByAnotherURL: --to naming the Redis
// database the tokens are in by another spelling (the port or database left
// out, or put in) is the same store: nothing moves, and migrate says so. It
// took the one Redis lock twice, once per spelling, and waited on itself
// for ever, saying another process was renewing. And a database named by
// ?db= (which go-redis reads, over the path) is another store: migrate
// said the tokens were in database 0 already when they were in 3, and
// every message named database 0 as where they were.
func TestStoreMigrateToTheSameRedisByAnotherURL(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	srv := redistest.Start(t)
	migrate := func(to string) (int, string) {
		t.Helper()
		ios, stdout, stderr := testStreams(false, false)
		done := make(chan int, 1)
		go func() { done <- e.run(ios, "store", "migrate", "--to", to) }()
		select {
		case code := <-done:
			return code, stdout.String() + stderr.String()
		case <-time.After(20 * time.Second):
			t.Fatalf("store migrate --to %s was still waiting after 20 s: %s", to, stderr)
			return 0, ""
		}
	}
	if code, out := migrate("redis://" + srv.Addr); code != 0 {
		t.Fatalf("store migrate to Redis: exit %d\n%s", code, out)
	}
	if code, out := migrate("redis://" + srv.Addr + "/0"); code != 0 || !strings.Contains(out, "already; nothing was moved") {
		t.Fatalf("store migrate to the same Redis database by another URL: exit %d\n%s; want 0 saying the tokens are there already", code, out)
	}
	if code, out := migrate("redis://" + srv.Addr + "/0?db=3"); code != 0 || !strings.Contains(out, "dev: moved to redis://"+srv.Addr+"/3 (key") {
		t.Fatalf("store migrate to database 3: exit %d\n%s; want it moved there, saying database 3", code, out)
	}
	if code, out := migrate("redis://" + srv.Addr + "/0"); code != 0 || !strings.Contains(out, "dev: moved") {
		t.Fatalf("store migrate from database 3 back to 0: exit %d\n%s; want it moved", code, out)
	}
	// One database by another name, which no URL's ID tells: it took the
	// one lock twice and waited on itself for ever.
	_, port, _ := net.SplitHostPort(srv.Addr)
	if code, out := migrate("redis://localhost:" + port + "/0"); code != 0 || !strings.Contains(out, "already (the Redis database [store] url names") {
		t.Fatalf("store migrate to the same Redis database by another host name: exit %d\n%s; want 0 saying the tokens are there already", code, out)
	}
	if rec := e.record(t, "dev"); rec == nil {
		t.Fatal("the tokens are gone")
	}
	if r := srv.Command(t, "EXISTS", "freshtoken:dev"); r != ":1" {
		t.Errorf("database 0 does not hold the tokens: EXISTS %s", r)
	}
}

// TestStoreMigrateFinishingIntoTheSameRedisByAnotherName: the journal of
// a move killed once the configuration named the new store names, as the
// store it left, the Redis database the configuration names by another
// host name (the old host's name now leads to the new server). Finishing
// the move took the one lock twice, was told so, and kept the tokens, but
// said the move was not finished, exit 1 (a bug's), and kept the journal,
// so that every store migrate after said the same. The tokens are the ones
// in use: kept, the journal gone, exit 0.
func TestStoreMigrateFinishingIntoTheSameRedisByAnotherName(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	srv := redistest.Start(t)
	_, port, _ := net.SplitHostPort(srv.Addr)
	here, other := "redis://127.0.0.1:"+port+"/0", "redis://localhost:"+port+"/0"
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", here); code != 0 {
		t.Fatalf("store migrate to Redis: exit %d\n%s%s", code, stdout, stderr)
	}
	journal, _ := json.Marshal(map[string]string{"from": other, "to": here})
	if err := os.WriteFile(e.config+".moving-from", journal, 0o600); err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr = testStreams(false, false)
	code := make(chan int, 1)
	go func() { code <- e.run(ios, "store", "migrate", "--to", here) }()
	select {
	case c := <-code:
		if msg := stderr.String(); c != 0 || !strings.Contains(msg, "by another name: its tokens are the ones in use") || strings.Contains(msg, "not finished") {
			t.Fatalf("store migrate with the journal of a move from the same Redis by another name: exit %d\n%s%s; want 0, the tokens kept", c, stdout, msg)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("store migrate was still waiting after 20 s: %s", stderr)
	}
	if _, err := os.Stat(e.config + ".moving-from"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the moving-from file stayed: %v", err)
	}
	if r := srv.Command(t, "EXISTS", "freshtoken:dev"); r != ":1" {
		t.Fatalf("the tokens are gone: EXISTS %s", r)
	}
}

// TestStoreMigrateKeepsNewerTokensAlreadyThere: the new store already
// holds newer tokens of the same grant (another machine of a fleet moved
// there first and has renewed since; this machine's copy is older, its
// refresh token maybe spent). Moving this machine's copy over them would
// lose the only live refresh token; they are kept, the older copy is left
// where it was, and the configuration names the new store. Which copy is
// newer was judged by their issue times, which each renewing machine's
// clock writes: with the fleet's clock an hour behind, this machine's
// older copy went over the fleet's live tokens (the grant ended at the
// next renewal); with it an hour ahead, the fleet's spent copy was kept.
// The copy renewed more often is the later one, whatever the clocks say.
func TestStoreMigrateKeepsNewerTokensAlreadyThere(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		hereRenewals, renewed int // this machine's count; the copy there
		clock                 time.Duration
		keptThere             bool
	}{
		{"the fleet renewed since", 0, 5, time.Hour, true},
		{"the fleet renewed since, its clock behind", 0, 5, -time.Hour, true},
		{"this machine renewed since, the fleet's clock ahead", 5, 2, time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			folder := filestore.New(filepath.Join(e.dir, "state"))
			here := e.record(t, "dev")
			if here.LoggedInAt.IsZero() {
				t.Fatal("a log-in stored no LoggedInAt")
			}
			here.Renewals = tc.hereRenewals
			if err := folder.Save(t.Context(), "dev", here); err != nil {
				t.Fatal(err)
			}
			there := *here
			there.RefreshToken, there.AccessToken = "the-fleets-refresh-token", "the-fleets-access-token"
			there.IssuedAt, there.RenewedAt, there.Renewals = here.IssuedAt.Add(tc.clock), here.IssuedAt.Add(tc.clock), tc.renewed
			target, code, stdout, stderr := e.migrateOnto(t, "fleet", &there)
			if code != 0 {
				t.Fatalf("store migrate: exit %d\n%s%s", code, stdout, stderr)
			}
			want := here.RefreshToken
			if tc.keptThere {
				want = there.RefreshToken
			}
			if got, err := filestore.New(target).Load(t.Context(), "dev"); err != nil || got.RefreshToken != want {
				t.Fatalf("the new store holds the other copy's tokens, not the copy renewed %d times (%v)\n%s", max(tc.hereRenewals, tc.renewed), err, stdout)
			}
			if f, err := config.Load(e.config); err != nil || f.StoreURL != "file://"+target {
				t.Fatalf("[store] url after the migration: %v", err)
			}
			if !tc.keptThere {
				return
			}
			if kept, err := folder.Load(t.Context(), "dev"); err != nil || kept.RefreshToken != here.RefreshToken {
				t.Fatalf("the older copy was not left where it was (%v)", err)
			}
			if !strings.Contains(stdout.String(), "newer") {
				t.Errorf("migrate does not say it kept the newer tokens: %s", stdout)
			}
		})
	}
}

// migrateOnto runs `store migrate` to a folder store at e.dir/name that
// holds there as dev's tokens already, and returns the store's folder,
// the exit code and the command's output.
func (e *devEnv) migrateOnto(t *testing.T, name string, there *store.Record) (target string, code int, stdout, stderr *bytes.Buffer) {
	t.Helper()
	target = filepath.Join(e.dir, name)
	if err := filestore.New(target).Save(t.Context(), "dev", there); err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr := testStreams(false, false)
	return target, e.run(ios, "store", "migrate", "--to", "file://"+target), stdout, stderr
}

// movedNothing fails t unless a move to the folder store target, refused,
// changed nothing: target still holds there as dev's tokens, the store the
// configuration names still holds here, and [store] url still names it.
func (e *devEnv) movedNothing(t *testing.T, target string, here, there *store.Record) {
	t.Helper()
	if got, err := filestore.New(target).Load(t.Context(), "dev"); err != nil || got.RefreshToken != there.RefreshToken {
		t.Errorf("the tokens already in the new store were written over (%v)", err)
	}
	if got := e.record(t, "dev"); got == nil || got.RefreshToken != here.RefreshToken {
		t.Errorf("this environment's tokens are no longer in the old store: %+v", got)
	}
	if f, err := config.Load(e.config); err != nil || f.StoreURL != "file://"+filepath.Join(e.dir, "state") {
		t.Errorf("[store] url was changed (%v)", err)
	}
}

// TestStoreMigrateKeepsAnotherLogInsTokens: the new store (a Redis that
// another configuration uses) holds, under the environment's name, tokens
// of the same client but of another log-in: a work and a personal
// configuration of one FreeAgent app, each logged in to its own company.
// The newer of the two was taken for the live copy of one grant: this
// configuration's tokens went over the other's (its grant lost, and its
// commands then used this company's books), or it was switched to the
// other's tokens, exit 0 either way. Nothing is moved or changed now, exit
// 2, saying so and naming the command that takes the other's tokens up,
// were they this account's. (An earlier log-in of this configuration's own
// file is replaced: TestStoreMigrateAgainAfterALogInOverALeftCopy.)
func TestStoreMigrateKeepsAnotherLogInsTokens(t *testing.T) {
	for name, othersIssued := range map[string]time.Duration{"older": -time.Hour, "newer": time.Hour, "within the same second": 0} {
		t.Run(name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			here := e.record(t, "dev")
			others := *here
			others.RefreshToken, others.AccessToken = "the-other-configurations-refresh-token", "the-other-configurations-access-token"
			if othersIssued == 0 { // another log-in, in the same second as this one
				if othersIssued = here.LoggedInAt.Truncate(time.Second).Sub(here.LoggedInAt); othersIssued == 0 {
					othersIssued = time.Millisecond
				}
			}
			others.LoggedInAt, others.IssuedAt = here.LoggedInAt.Add(othersIssued), here.IssuedAt.Add(othersIssued)
			others.LoggedInWith.Path = filepath.Join(e.dir, "personal.toml") // the other configuration's file
			target, code, stdout, stderr := e.migrateOnto(t, "shared", &others)
			if code != 2 || !strings.Contains(stderr.String(), "already holds tokens of another log-in") || !strings.Contains(stderr.String(), "logout --local -e dev` and the same move again") {
				t.Errorf("exit %d\n%s%s; want 2, saying the new store holds another log-in's tokens", code, stdout, stderr)
			}
			// Two log-ins are never shown at one time (shown to the
			// second, two within one second were).
			if m := regexp.MustCompile(`\(logged in (\S+), this environment's (\S+)\)`).FindStringSubmatch(stderr.String()); m == nil || m[1] == m[2] {
				t.Errorf("the two log-ins' times are not told apart:\n%s", stderr)
			}
			e.movedNothing(t, target, here, &others)
		})
	}
}

// TestStoreMigrateKeepsThisFilesEarlierLogInInUse: the new store (a Redis
// a fleet renews from) holds an earlier log-in of this same configuration
// file, made while [store] named it (of another company, perhaps), and in
// use there. It was taken for a copy a move had left there and replaced,
// and the fleet went on with this log-in's account: when renewed there
// since this file's log-in in the store it names now; and, once that was
// mended, still when the fleet had not renewed it since (idle, or its
// renewals a minute apart from this log-in, a clock behind). Only a copy
// this file's failed move left is replaced
// (TestStoreMigrateAgainAfterALogInOverALeftCopy); tokens that are not
// are kept: nothing is moved or changed, exit 2, as for another log-in's.
func TestStoreMigrateKeepsThisFilesEarlierLogInInUse(t *testing.T) {
	for name, renewed := range map[string]time.Duration{
		"renewed since this log-in":                        time.Minute,
		"renewed before this log-in, or by a clock behind": -time.Minute,
	} {
		t.Run(name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			here := e.record(t, "dev")
			earlier := *here
			earlier.RefreshToken, earlier.AccessToken = "the-fleets-refresh-token", "the-fleets-access-token"
			earlier.LoggedInAt = here.LoggedInAt.Add(-2 * time.Hour)
			earlier.IssuedAt, earlier.Renewals = here.LoggedInAt.Add(renewed), 3
			target, code, stdout, stderr := e.migrateOnto(t, "shared", &earlier)
			if code != 2 || !strings.Contains(stderr.String(), "already holds tokens of another log-in") {
				t.Errorf("exit %d\n%s%s; want 2, saying the new store holds another log-in's tokens", code, stdout, stderr)
			}
			e.movedNothing(t, target, here, &earlier)
		})
	}
}

// TestStoreMigrateMovesNothingUnlessEverythingCan: an environment that
// cannot be moved (another client's tokens already in the new store) is
// found before any moves: nothing moves, exit 2. The environments before
// it were moved and their old copies deleted, while [store] url still
// named the old store, so every command on them said "not logged in; run
// `freshtoken login`" until the user resolved the one that could not move;
// and the exit was 1, a bug.
func TestStoreMigrateMovesNothingUnlessEverythingCan(t *testing.T) {
	e, rec := devAndZeta(t)
	target := filestore.New(filepath.Join(e.dir, "new"))
	others := *rec
	others.Grant.ClientID = "another-client"
	if err := target.Save(t.Context(), "zeta", &others); err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", "file://"+filepath.Join(e.dir, "new"))
	if code != 2 || !strings.Contains(stderr.String(), "zeta: ") || !strings.Contains(stderr.String(), "; nothing was moved, and [store] url still names") {
		t.Fatalf("exit %d\n%s%s; want 2, saying why zeta cannot move and that nothing was", code, stdout, stderr)
	}
	if got := e.record(t, "dev"); got == nil || got.RefreshToken != rec.RefreshToken {
		t.Fatalf("dev's tokens are no longer where [store] url names: %+v", got)
	}
	if _, err := target.Load(t.Context(), "dev"); err == nil {
		t.Error("dev was copied to the new store")
	}
}

// TestStoreMigrateKeepsAnotherClientsTokensInTheNewStore: the record to
// move was written before records named their grant (an older
// freshtoken's), and the new store (a team's Redis) holds, under the same
// environment name, the tokens of another client: another configuration's.
// The check that refuses to move over another client's tokens compared the
// two records' grants only when both had one, so the older record was
// written over the other configuration's live tokens when it was issued
// later (that configuration's grant lost), and otherwise was said to be
// "older than the newer tokens of this grant" and left behind, the
// configuration naming a store where this environment had no tokens.
// Both are refused now, as with a record that names its grant.
func TestStoreMigrateKeepsAnotherClientsTokensInTheNewStore(t *testing.T) {
	for name, othersIssued := range map[string]time.Duration{"older": -time.Hour, "newer": time.Hour} {
		t.Run(name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			rec := e.record(t, "dev")
			rec.Grant = store.Grant{} // as an older freshtoken wrote it
			e.save(t, "dev", rec)
			others := *rec
			others.Grant = store.Grant{TokenURL: e.api + "v2/token_endpoint", ClientID: "another-client", Type: "authorization_code"}
			others.RefreshToken, others.AccessToken = "the-other-configurations-refresh-token", "the-other-configurations-access-token"
			others.IssuedAt = rec.IssuedAt.Add(othersIssued)
			dir, code, stdout, stderr := e.migrateOnto(t, "team", &others)
			if code != 2 || !strings.Contains(stderr.String(), "another-client") || !strings.Contains(stderr.String(), "; nothing was moved, and [store] url still names") || !strings.Contains(stderr.String(), "name with --to a store of this configuration's own") {
				t.Errorf("exit %d\n%s%s; want 2, saying the new store holds another client's tokens, nothing was moved, and to name a store of this configuration's own", code, stdout, stderr)
			}
			e.movedNothing(t, dir, rec, &others)
		})
	}
}

// TestStoreMigrateLeavesAnotherClientsTokens: two configurations share one
// token folder (both leave [store] out, so both use the default), and the
// record of an environment name they both use is the other one's, of
// another client. Migrating this configuration moved that record to its new
// store and deleted it from the folder: the other configuration, still
// reading the folder, was told to log in, and its refresh token sat in a
// store where no one would use it. The record is left where it is, and
// migrate says why; the environments that are this configuration's move.
func TestStoreMigrateLeavesAnotherClientsTokens(t *testing.T) {
	e, rec := devAndZeta(t)
	folder := filestore.New(filepath.Join(e.dir, "state"))
	others := *rec
	others.Grant.ClientID, others.RefreshToken = "another-client", "the-other-configurations-refresh-token"
	if err := folder.Save(t.Context(), "zeta", &others); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, "new")
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", "file://"+dir); code != 0 {
		t.Fatalf("store migrate: exit %d\n%s%s", code, stdout, stderr)
	}
	if got, err := folder.Load(t.Context(), "zeta"); err != nil || got.RefreshToken != others.RefreshToken {
		t.Fatalf("another client's tokens were taken from the folder it reads (%v)", err)
	}
	if _, err := filestore.New(dir).Load(t.Context(), "zeta"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another client's tokens were copied to the new store (%v)", err)
	}
	if want := "zeta: not moved: the tokens in " + folder.Location("zeta") + " are those of client \"another-client\""; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout = %q; want it to say %q", stdout, want)
	}
	if got, err := filestore.New(dir).Load(t.Context(), "dev"); err != nil || got.RefreshToken != rec.RefreshToken {
		t.Errorf("dev, this configuration's own, did not move (%v)", err)
	}
}

// TestStatusJSONShowsNothingOfAnotherClientsTokens: the store holds, under
// the environment's name, the tokens of another client (another
// configuration sharing the folder). `status` and the proxy's page say so
// and show nothing of them; `status --json` said so too, yet gave their
// expiries, renewals and access_token_held/refresh_token_held: true as the
// environment's, which a script checking those took for tokens it could use.
func TestStatusJSONShowsNothingOfAnotherClientsTokens(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec := e.record(t, "dev")
	rec.Grant.ClientID = "another-client"
	e.save(t, "dev", rec)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status", "--json"); code != 0 {
		t.Fatalf("status --json: exit %d\n%s", code, stderr)
	}
	var all []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &all); err != nil || len(all) != 1 {
		t.Fatalf("status --json = %s (%v); want one environment", stdout, err)
	}
	got := all[0]
	if problem, _ := got["problem"].(map[string]any); problem["kind"] != "other_client" || got["logged_in"] != false {
		t.Errorf("status --json = %v; want logged_in false and the other_client problem", got)
	}
	for _, key := range []string{"access_token_expires_at", "access_token_expires_in", "refresh_token_expires_at", "last_renewal", "next_renewal"} {
		if v, ok := got[key]; ok {
			t.Errorf("status --json gives %s %v, another client's", key, v)
		}
	}
	for _, key := range []string{"access_token_held", "refresh_token_held"} {
		if got[key] != false {
			t.Errorf("status --json gives %s %v for another client's tokens; want false", key, got[key])
		}
	}
}

// TestStoreMigrateKeepsARecordItCannotRead: a record in the new store that
// cannot be read (a newer freshtoken's, as other machines of a fleet write
// it to a shared Redis; or one damaged) is reported and kept, never
// overwritten, and nothing moves: migrate replaced it with its own copy,
// whose refresh token the fleet may have spent.
func TestStoreMigrateKeepsARecordItCannotRead(t *testing.T) {
	for name, c := range map[string]struct{ there, want string }{
		"a newer freshtoken's": {`{"version": 99, "env": "dev", "refresh_token": "the-fleets-live-one"}`, "written by a newer freshtoken"},
		"damaged":              {`{"version": 1, "env": "dev", "refresh_tok`, "is not valid JSON"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			rec := e.record(t, "dev")
			dir := filepath.Join(e.dir, "new")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			there := filepath.Join(dir, "dev.json")
			if err := os.WriteFile(there, []byte(c.there), 0o600); err != nil {
				t.Fatal(err)
			}
			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, "store", "migrate", "--to", "file://"+dir)
			if msg := stderr.String(); code != 2 || !strings.Contains(msg, c.want) || !strings.Contains(msg, "; nothing was moved, and [store] url still names") {
				t.Errorf("exit %d\n%s%s; want 2, saying what the new store holds and that nothing was moved", code, stdout, msg)
			}
			if b, err := os.ReadFile(there); err != nil || string(b) != c.there {
				t.Errorf("the record in the new store was replaced (%v): %s", err, b)
			}
			if got := e.record(t, "dev"); got == nil || got.RefreshToken != rec.RefreshToken {
				t.Errorf("dev's tokens are no longer where [store] url names: %+v", got)
			}
		})
	}
}

// TestStoreMigrateToAMissingKeychainSaysWhatToDo: --to keyring:// where
// there is no keychain (no D-Bus session, as over SSH) is a usage error
// about --to, with what to choose instead; it said to take keyring:// out
// of [store] in the config, which the user never put there (and still
// did for KEYRING://, which freshtoken takes as keyring://).
func TestStoreMigrateToAMissingKeychainSaysWhatToDo(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	e := newDevEnv(t)
	e.login(t)
	for _, to := range []string{"keyring://", "KEYRING://"} {
		ios, _, stderr := testStreams(false, false)
		code := e.run(ios, "store", "migrate", "--to", to)
		if msg := stderr.String(); code != 2 || strings.Contains(msg, "[store] in the config") || !strings.Contains(msg, "--to "+to+": no system keychain") ||
			!strings.Contains(msg, "or move the tokens to a folder (--to file:///…) or to Redis instead") {
			t.Errorf("--to %s: exit %d, %s; want 2, about --to and what to choose instead", to, code, msg)
		}
	}
	if rec := e.record(t, "dev"); rec == nil {
		t.Error("the tokens are gone")
	}
}

// TestStoreMigrateToARedisThatIsDown: the error names the URL given with
// --to and points there, not only at [store] url, which still names the
// old store; the tokens stay where they were. No line says to wait for a
// renewal lock "another process or machine is renewing": none is (it came
// first, once the unreachable Redis had taken a second to fail).
func TestStoreMigrateToARedisThatIsDown(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	ios, _, stderr := testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", "redis://127.0.0.1:1/0")
	if msg := stderr.String(); code != 5 || !strings.Contains(msg, "redis://127.0.0.1:1/0 could not be reached") || !strings.Contains(msg, "--to") ||
		strings.Contains(msg, "waiting for the renewal lock") {
		t.Errorf("exit %d, %s; want 5, naming the Redis of --to, and no wait for a lock", code, msg)
	}
	if rec := e.record(t, "dev"); rec == nil {
		t.Error("the tokens are gone")
	}
}

// TestStoreMigrateToARedisDatabaseThatDoesNotExist: `store migrate --to`
// a Redis database past the server's `databases` setting says to name
// another in the URL, exit 2: it said to name one "in [store] url", which
// --to's store is not in, and setting it there left every token behind.
func TestStoreMigrateToARedisDatabaseThatDoesNotExist(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	srv := redistest.Start(t)
	ios, _, stderr := testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", "redis://"+srv.Addr+"/16")
	line, _, _ := strings.Cut(stderr.String(), "\n")
	reason, _, _ := strings.Cut(line, "; nothing was moved") // after which [store] url is said to name the old store still
	if code != 2 || !strings.Contains(reason, "no database 16") || !strings.Contains(reason, "--to") || strings.Contains(reason, "[store] url") {
		t.Errorf("exit %d, %s; want 2, saying --to's Redis has no database 16, and not to set [store] url", code, stderr)
	}
	if rec := e.record(t, "dev"); rec == nil {
		t.Error("the tokens are gone")
	}
}

// TestStoreMigrateFromARedisThatIsDown: a move out of a Redis store that
// cannot be reached says so alone, with no line saying to wait for a
// renewal lock "another process or machine is renewing", which came first.
func TestStoreMigrateFromARedisThatIsDown(t *testing.T) {
	e := newDevEnv(t)
	e.useStore(t, "redis://127.0.0.1:1/0")
	ios, _, stderr := testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", fileURL(filepath.Join(t.TempDir(), "new")))
	if msg := stderr.String(); code != 5 || !strings.Contains(msg, "redis://127.0.0.1:1/0 could not be reached") || strings.Contains(msg, "waiting for the renewal lock") {
		t.Errorf("exit %d, %s; want 5, naming the Redis, and no wait for a lock", code, msg)
	}
}

// TestStdinThatSendsNothingEndsAtASignal: `store migrate --to -` and `init
// --client-secret-keyring` waiting on a stdin that sends nothing end once
// the first signal has cancelled the command's context (see cli.Main):
// they went on waiting, so one Ctrl-C did nothing, and SIGTERM was
// ignored.
func TestStdinThatSendsNothingEndsAtASignal(t *testing.T) {
	for name, args := range map[string][]string{
		"store migrate --to -":         {"store", "migrate", "--to", "-"},
		"init --client-secret-keyring": {"init", "-e", "kept", "--provider", "freeagent", "--client-id", "dev-client-id", "--client-secret-keyring"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			silent, writer := io.Pipe()
			defer writer.Close()
			ctx, cancel := context.WithCancel(t.Context())
			cancel() // the first signal has come
			root := cli.NewRootCmd(&cli.Factory{IO: &cli.IOStreams{In: silent, Out: io.Discard, ErrOut: io.Discard}})
			root.SetArgs(append([]string{"--config", e.config}, args...))
			done := make(chan error, 1)
			go func() { done <- root.ExecuteContext(ctx) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("%v; want it interrupted", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still reading stdin 10 s after the signal")
			}
		})
	}
}

// TestStoreMigrateThatFailsMidwayMovesNothing: a copy the new store
// refuses after others were made (a full disk, a Redis that stops taking
// writes; here a Redis user who may write dev's key but not zeta's) takes
// the copies made back: every environment stays in the store [store] url
// names, and the new store holds none of them. dev was moved before zeta
// failed, and every command on dev said to log in until the run again.
// The copies, noted before they were made, are forgotten once taken back.
func TestStoreMigrateThatFailsMidwayMovesNothing(t *testing.T) {
	e, rec := devAndZeta(t)
	srv := redistest.Start(t)
	srv.SetUser(t, "mover", "on", ">pw", "%R~*", "~freshtoken:dev", "~freshtoken:*:lock", "~freshtoken:*:renewing", "+@all")
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", "redis://mover:pw@"+srv.Addr+"/0")
	if msg := stderr.String(); code == 0 || !strings.Contains(msg, "zeta: ") || !strings.Contains(msg, "; nothing was moved, and [store] url still names") {
		t.Fatalf("exit %d\n%s%s; want a failure saying why zeta did not move and that nothing was", code, stdout, msg)
	}
	for _, env := range []string{"dev", "zeta"} {
		if got := e.record(t, env); got == nil || got.RefreshToken != rec.RefreshToken {
			t.Errorf("%s's tokens are no longer where [store] url names: %+v", env, got)
		}
		if r := srv.Command(t, "EXISTS", "freshtoken:"+env); r != ":0" {
			t.Errorf("the new store holds a copy of %s: EXISTS %s", env, r)
		}
	}
	if note, err := os.ReadFile(e.config + ".left-copies"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the copies taken back are still noted as left: %s (%v)", note, err)
	}
}

// TestStoreMigrateToAFullDisk: a new store on a full disk (a real small
// tmpfs) is the person's to fix: exit 2, one line saying the disk is full
// and what to do, nothing moved, the configuration unchanged, and the new
// store's folder left as it was: without its copies, without the lock
// files the move took there, and not there at all if the move made it. It
// was exit 5, the tokens' store "could not write", and empty lock files
// were left in the folder. Full from the start, with room for one record
// of two (dev is copied, then zeta fails), and with room for one record and
// a reserve in the folder (another configuration's store: zeta is then saved
// in the reserve's room, with an error, and must be taken back too).
func TestStoreMigrateToAFullDisk(t *testing.T) {
	for _, c := range []struct {
		name   string
		room   int    // bytes left free on the disk
		exists bool   // the folder is there before the move
		scheme string // file://, as written in --to
		// reserve: the folder holds a reserve (another configuration's
		// store), which a save gives up on the full disk; a move makes
		// none in room it needs (a reserve is made with as much room
		// again beside it).
		reserve bool
	}{
		{"full from the start", 0, true, "file://", false},
		{"full, a folder not made yet", 0, false, "file://", false},
		{"full, a folder not made yet, the scheme in capitals", 0, false, "FILE://", false},
		{"room for one record", 4096, true, "file://", false},
		{"room for one record and a reserve there", 4096, true, "file://", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, rec := devAndZeta(t)
			nothingMoved := checkNothingMoved(t, e, rec)
			dir := testdisk.Small(t, "256k")
			if c.exists {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			if c.reserve {
				reserve := make([]byte, 64<<10)
				rand.Read(reserve)
				if err := os.WriteFile(filepath.Join(dir, ".reserve"), reserve, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			spacer := filepath.Join(filepath.Dir(dir), "spacer")
			if err := os.WriteFile(spacer, make([]byte, c.room), 0o600); err != nil {
				t.Fatal(err)
			}
			testdisk.Fill(t, dir)
			os.Remove(spacer)
			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, "store", "migrate", "--to", c.scheme+dir)
			msg := stderr.String()
			if code != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "the disk of the new store is full, so "+dir+"/") || !strings.Contains(msg, "free some space there, or name a folder on another disk with --to") || !strings.Contains(msg, "; nothing was moved, and [store] url still names") {
				t.Fatalf("exit %d\n%s%s; want exit 2 and one line saying the new store's disk is full, what to do, and that nothing was moved", code, stdout, msg)
			}
			nothingMoved()
			left, err := os.ReadDir(dir)
			switch {
			case c.exists && err != nil:
				t.Errorf("the new store's folder: %v", err)
			case !c.exists && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("the folder the move made is still there (%v)", err)
			}
			for _, f := range left {
				t.Errorf("the new store's folder holds %s, which it did not before", f.Name())
			}
		})
	}
}

// TestStoreMigrateRefusesAnUneditableConfigBeforeCopying: a configuration
// that freshtoken does not edit (read-only, or one of several hard links)
// is refused before any record is copied: exit 2, one line saying why and
// that nothing was moved, the new store never written to (not even a
// lock), and no advice to edit the file by hand, which would leave the
// tokens behind. Every record was copied to the new store and checked,
// then taken back, once the edit of [store] url was refused.
func TestStoreMigrateRefusesAnUneditableConfigBeforeCopying(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"read-only", func(t *testing.T, path string) {
			if err := os.Chmod(path, 0o400); err != nil {
				t.Fatal(err)
			}
		}, "is read-only (mode 0400), so freshtoken does not edit it"},
		{"hard-linked", func(t *testing.T, path string) {
			if err := os.Link(path, path+".backup"); err != nil {
				t.Fatal(err)
			}
		}, "is one of 2 names of one file (hard links)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, rec := devAndZeta(t)
			nothingMoved := checkNothingMoved(t, e, rec)
			c.make(t, e.config)
			srv := redistest.StartWithoutPersistence(t)
			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, "store", "migrate", "--to", "redis://"+srv.Addr+"/0")
			msg := stderr.String()
			if code != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "[store] url cannot be set to redis://"+srv.Addr+"/0 ("+e.config+": "+c.want) || !strings.Contains(msg, "nothing was moved") {
				t.Errorf("exit %d\n%s%s; want exit 2, one line saying %q and that nothing was moved", code, stdout, msg, c.want)
			}
			if strings.Contains(msg, "by hand") {
				t.Errorf("stderr = %q; want no advice to edit [store] url by hand, which would leave the tokens behind", msg)
			}
			nothingMoved()
			if n := srv.Changes(t); n != 0 {
				t.Errorf("the new store took %d writes; want none, the configuration refused first", n)
			}
		})
	}
}

// TestStoreMigrateRefusesAStoreItCannotRewriteBeforeCopying: a [store]
// written inline or as dotted keys, which the edit of [store] url cannot
// rewrite, is refused before any record is copied: exit 2, one line
// saying how to write it, nothing moved, the new store never written to.
// Every record was copied to the new store, then taken back once the edit
// was refused.
func TestStoreMigrateRefusesAStoreItCannotRewriteBeforeCopying(t *testing.T) {
	for name, form := range map[string]string{"dotted keys": "store.url = %s\n", "an inline table": "store = { url = %s }\n"} {
		t.Run(name, func(t *testing.T) {
			e, rec := devAndZeta(t)
			text, err := os.ReadFile(e.config)
			if err != nil {
				t.Fatal(err)
			}
			before, rest, _ := strings.Cut(string(text), "[store]\nurl = ")
			url, after, _ := strings.Cut(rest, "\n")
			if err := os.WriteFile(e.config, []byte(fmt.Sprintf(form, url)+before+after), 0o600); err != nil {
				t.Fatal(err)
			}
			nothingMoved := checkNothingMoved(t, e, rec)
			srv := redistest.StartWithoutPersistence(t)
			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, "store", "migrate", "--to", "redis://"+srv.Addr+"/0")
			msg := stderr.String()
			if code != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "store: is written here without a [store] table") || !strings.Contains(msg, "nothing was moved") {
				t.Errorf("exit %d\n%s%s; want exit 2, one line saying how to write [store] and that nothing was moved", code, stdout, msg)
			}
			nothingMoved()
			if n := srv.Changes(t); n != 0 {
				t.Errorf("the new store took %d writes; want none, the configuration refused first", n)
			}
		})
	}
}

// devAndZeta is a dev environment logged in, and a second one, zeta, with
// a copy of dev's record, both in the store [store] url names; rec is the
// record.
func devAndZeta(t *testing.T) (*devEnv, *store.Record) {
	t.Helper()
	e := newDevEnv(t)
	e.login(t)
	if _, err := configedit.WriteEnv(e.config, "zeta", config.EnvSettings{
		Provider: "freeagent", APIURL: e.api, ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
	}, true); err != nil {
		t.Fatal(err)
	}
	rec := e.record(t, "dev")
	e.save(t, "zeta", rec)
	return e, rec
}

// checkNothingMoved reads e's configuration now, and returns a check that
// it is unchanged and that dev's and zeta's tokens are still rec, in the
// store [store] url names.
func checkNothingMoved(t *testing.T, e *devEnv, rec *store.Record) func() {
	t.Helper()
	configKept := e.configKept(t)
	return func() {
		t.Helper()
		for _, env := range []string{"dev", "zeta"} {
			if got := e.record(t, env); got == nil || got.RefreshToken != rec.RefreshToken {
				t.Errorf("%s's tokens are no longer where [store] url names: %+v", env, got)
			}
		}
		configKept("nothing was moved")
	}
}

// TestStoreMigrateSaysWhatAnOldCopyLeftBehindRisks: an old copy that
// cannot be deleted once the configuration names the new store (a Redis
// user who may not delete) is reported, with what to do: delete it, and
// stop the processes that still read the old store, whose renewal of it
// would spend the moved copy's refresh token. The move itself stands.
func TestStoreMigrateSaysWhatAnOldCopyLeftBehindRisks(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec := e.record(t, "dev")
	srv := redistest.Start(t)
	srv.SetUser(t, "keeper", "on", ">pw", "~*", "+@all", "-del", "-unlink")
	oldURL := "redis://keeper:pw@" + srv.Addr + "/0"
	old, err := config.OpenStore(oldURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Save(t.Context(), "dev", rec); err != nil {
		t.Fatal(err)
	}
	if _, err := configedit.SetStoreURL(e.config, oldURL); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, "new")
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", "file://"+dir)
	if msg := stderr.String(); code == 0 || !strings.Contains(msg, "the old copy could not be deleted") || !strings.Contains(msg, "stop any freshtoken that read the configuration before the move") {
		t.Errorf("exit %d\n%s%s; want a failure saying what to do about the old copy", code, stdout, msg)
	}
	if got := e.record(t, "dev"); got == nil || got.RefreshToken != rec.RefreshToken {
		t.Errorf("dev's tokens are not where [store] url names: %+v", got)
	}
}

// TestStoreMigrateKeepsTheGrantBound: a record's grant that names no
// audience or resource says so (bound), so that a configuration of the
// same client that names one is refused its tokens; `store migrate` file →
// keychain → Redis → file keeps that, as every other field, and moving the
// tokens writes nothing else into them.
func TestStoreMigrateKeepsTheGrantBound(t *testing.T) {
	keyringtest.Start(t)
	srv := redistest.Start(t)
	e := newDevEnv(t)
	e.login(t)
	want := e.record(t, "dev")
	if !want.Grant.Bound || want.Grant.Audience != "" || want.Grant.Resource != "" {
		t.Fatalf("the log-in stored grant %+v; want it bound, naming no audience or resource", want.Grant)
	}
	for _, to := range []string{"keyring://", srv.URL, "file://" + filepath.Join(e.dir, "back")} {
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, "store", "migrate", "--to", to); code != 0 || !strings.Contains(stdout.String(), "dev: moved to ") {
			t.Fatalf("store migrate --to %s: exit %d\n%s%s", to, code, stdout, stderr)
		}
		got := e.record(t, "dev") // read from the new store, which [store] url now names
		if got == nil || got.Grant != want.Grant || got.RefreshToken != want.RefreshToken {
			t.Fatalf("after store migrate --to %s the stored grant is %+v; want %+v", to, got, want.Grant)
		}
	}
	data, err := os.ReadFile(filepath.Join(e.dir, "back", "dev.json"))
	if err != nil || !strings.Contains(string(data), `"bound": true`) {
		t.Fatalf("the record moved back to a folder (%v):\n%s", err, data)
	}
}

// TestStoreMigrateToAReadOnlyDisk: a new store on a read-only disk (a
// mount the system made read-only, a read-only HOME in a container) is the
// person's to fix, as a full one is: exit 2, one line per environment
// saying the new store cannot be written and to name a folder that can be
// with --to, nothing moved and the configuration unchanged. It was exit 5,
// the token store "could not write", saying to set [store] url (or
// $XDG_STATE_HOME) to a folder one can write in: done so, every command
// looked in that folder, found no tokens, and said to log in.
func TestStoreMigrateToAReadOnlyDisk(t *testing.T) {
	for _, c := range []struct {
		name string
		made bool // the new store's folder is there before the move
	}{{"a folder there", true}, {"a folder not made yet", false}} {
		t.Run(c.name, func(t *testing.T) {
			e, rec := devAndZeta(t)
			nothingMoved := checkNothingMoved(t, e, rec)
			dir := testdisk.SmallFolder(t, "256k")
			testdisk.ReadOnly(t, dir)
			to := dir
			if !c.made {
				to = filepath.Join(dir, "tokens")
			}
			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, "store", "migrate", "--to", "file://"+to)
			msg := stderr.String()
			if code != 2 || strings.Count(msg, "the new store (--to) cannot be written: "+to+" is on a read-only disk; name a folder you can write in with --to\n") != 2 ||
				strings.Contains(msg, "[store] url (or") || !strings.Contains(msg, "Nothing was moved;") {
				t.Fatalf("exit %d\n%s%s; want exit 2 saying the new store's disk is read-only, to name another with --to, and that nothing was moved", code, stdout, msg)
			}
			nothingMoved()
		})
	}
}

// TestStoreMigrateSaysWhatIsWrongWithTo: a --to that is no URL, or that
// names a file (or a folder under one), is said to be --to's, with what
// to type: they were said to be "the [store] url", not a valid URL, and to
// "set [store] url (or $XDG_STATE_HOME) to a folder you can write in",
// which leaves the tokens where they are.
func TestStoreMigrateSaysWhatIsWrongWithTo(t *testing.T) {
	e, rec := devAndZeta(t)
	nothingMoved := checkNothingMoved(t, e, rec)
	file := filepath.Join(t.TempDir(), "afile")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ to, want string }{
		{"file:///x%2", "freshtoken: --to: not a valid URL (a % in it must begin an escape such as %25, which stands for % itself); use file:///path/to/folder, redis://host:6379/0 or keyring://\n"},
		{"redis://:pa%zz@127.0.0.1:6379/0", "freshtoken: --to: not a valid URL; write redis://"},
		{"file://" + file, "cannot be made (mkdir " + file + ": not a directory); name a folder you can write in with --to\n"},
		{"file://" + file + "/sub", "name a folder you can write in with --to\n"},
	} {
		ios, stdout, stderr := testStreams(false, false)
		code := e.run(ios, "store", "migrate", "--to", c.to)
		if msg := stderr.String(); code != 2 || !strings.Contains(msg, c.want) || strings.Contains(msg, "[store] url (or") || strings.Contains(msg, "the [store] url") || strings.Contains(msg, "pa%zz") {
			t.Errorf("--to %s: exit %d\n%s%s; want exit 2 saying %q of --to", c.to, code, stdout, msg, c.want)
		}
		nothingMoved()
	}
}

// TestStoreMigrateToAFolderOthersUse: `store migrate --to` a folder that
// others may use (file:///tmp, a shared folder) or a link to one moves
// nothing, exit 2, and says to name a folder of the tokens' own with --to
// (a link: the folder it leads to): it said to `chmod 700` the folder, and
// as root (a container) for `--to file:///tmp` or `file:///`, that locked
// every other user and service out of it.
func TestStoreMigrateToAFolderOthersUse(t *testing.T) {
	e, rec := devAndZeta(t)
	nothingMoved := checkNothingMoved(t, e, rec)
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil { // a folder others write in (/tmp, a sticky one, is TestStoreMigrateAdviceForAFolderOthersUseCanBeFollowed's)
		t.Fatal(err)
	}
	private := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ to, want string }{
		{shared, "name a folder of the tokens' own with --to, such as file://" + filepath.Join(shared, "freshtoken") + ", which freshtoken makes for you alone\n"},
		{link, "is a symbolic link, which freshtoken never follows in its token store; name the folder it leads to with --to (file://" + private + "), or another of the tokens' own\n"},
	} {
		ios, stdout, stderr := testStreams(false, false)
		code := e.run(ios, "store", "migrate", "--to", "file://"+c.to)
		if msg := stderr.String(); code != 2 || !strings.Contains(msg, c.want) || strings.Contains(msg, "chmod") || strings.Contains(msg, "remove it") || strings.Contains(msg, "set [store] url") {
			t.Errorf("--to %s: exit %d\n%s%s; want exit 2 saying %q, and nothing of chmod or removing it", c.to, code, stdout, msg, c.want)
		}
		nothingMoved()
	}
	if fi, err := os.Stat(shared); err != nil || fi.Mode()&fs.ModePerm != 0o777 {
		t.Errorf("the shared folder: %v, %v; want it left as it was", fi.Mode(), err)
	}
}

// TestStoreMigrateLeavesNoReserveBehind: once every record has left a
// folder, `store migrate` takes the file store's reserve (64 KiB, kept for
// the renewals of the records there) out of it too; it was left alone in
// the old folder for ever. A folder still holding a record of another
// configuration keeps the reserve, for that record's renewals. The
// token-file ledger's folder, which the default token folder holds, is no
// record: the reserve was kept for it.
func TestStoreMigrateLeavesNoReserveBehind(t *testing.T) {
	for _, tc := range []struct {
		name string
		put  func(t *testing.T, e *devEnv, old string)
		want string
	}{
		{"the records alone", func(*testing.T, *devEnv, string) {}, "[]"},
		{"another configuration's record there", func(t *testing.T, e *devEnv, old string) {
			if err := filestore.New(old).Save(t.Context(), "theirs", e.record(t, "dev")); err != nil {
				t.Fatal(err)
			}
		}, "[.reserve theirs.json]"},
		{"the token-file ledger there", func(t *testing.T, _ *devEnv, old string) {
			if err := os.Mkdir(filepath.Join(old, "token-files"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, "[token-files]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			old := filepath.Join(e.dir, "state")
			tc.put(t, e, old)
			ios, stdout, stderr := testStreams(false, false)
			if code := e.run(ios, "store", "migrate", "--to", "file://"+filepath.Join(e.dir, "moved")); code != 0 {
				t.Fatalf("store migrate: exit %d\n%s%s", code, stdout, stderr)
			}
			if got := fmt.Sprint(testenv.Names(t, old)); got != tc.want {
				t.Errorf("the old folder holds %s, want %s", got, tc.want)
			}
		})
	}
}

// TestStoreMigrateFromALockedKeychainSaysToKeepIt: moving the tokens out of
// a keychain that is locked says to unlock it and run the move again,
// keeping keyring:// in [store]; it gave the keychain's usual advice, to
// take keyring:// out of [store] to keep the tokens in files, which would
// leave every token in the keychain, out of reach of every command (each
// said to log in).
func TestStoreMigrateFromALockedKeychainSaysToKeepIt(t *testing.T) {
	kr := keyringtest.Start(t)
	t.Setenv("HOME", t.TempDir()) // the keychain's renewal locks
	e := newDevEnv(t)
	e.login(t)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", "keyring://"); code != 0 {
		t.Fatalf("store migrate --to keyring://: exit %d\n%s%s", code, stdout, stderr)
	}
	kr.Lock(t)
	ios, _, stderr = testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", "file://"+filepath.Join(e.dir, "back"))
	if msg := stderr.String(); code != 5 || strings.Contains(msg, "take the keyring:// url out") || !strings.Contains(msg, "dev: ") ||
		!strings.Contains(msg, "run the same command again") || !strings.Contains(msg, "keep keyring:// in [store]") {
		t.Fatalf("moving out of a locked keychain: exit %d, %s; want 5, saying to unlock it, keep keyring:// in [store] and run the move again", code, msg)
	}
}

// copiedByAMove copies dev's record from e's token folder (oldDir) to
// newDir, as a move does before the configuration names the new store.
func copiedByAMove(t *testing.T, e *devEnv) (oldDir, newDir string, copied *store.Record) {
	t.Helper()
	oldDir, newDir = filepath.Join(e.dir, "state"), filepath.Join(e.dir, "new")
	copied, err := filestore.New(oldDir).Load(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := filestore.New(newDir).Save(t.Context(), "dev", copied); err != nil {
		t.Fatal(err)
	}
	return oldDir, newDir, copied
}

// TestStoreMigrateFinishesAMoveReachedByAnotherName: the note of a move
// killed once the configuration named the new store (SIGKILL, a power
// loss) was written beside the configuration's path as given, so a config
// reached through a symbolic link (a dotfile manager's) had it beside the
// link, and the next store migrate by the file's own path, or another
// link, never saw it: the old copy of the tokens was left in the old store
// for a freshtoken still reading it to renew, spending the refresh token
// the moved copy holds. The note is now kept beside the file the link
// leads to, where the configuration's edit is written; one an older
// freshtoken left beside the link is still found.
func TestStoreMigrateFinishesAMoveReachedByAnotherName(t *testing.T) {
	for name, noteBeside := range map[string]func(config, link string) string{
		"the file's own path":             func(config, _ string) string { return config },
		"the link, as an older one wrote": func(_, link string) string { return link },
	} {
		t.Run(name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			link := filepath.Join(t.TempDir(), "linked.toml")
			if err := os.Symlink(e.config, link); err != nil {
				t.Fatal(err)
			}
			oldDir, newDir, _ := copiedByAMove(t, e)
			if _, err := configedit.SetStoreURL(link, fileURL(newDir)); err != nil {
				t.Fatal(err)
			}
			note := noteBeside(e.config, link) + ".moving-from"
			journal, _ := json.Marshal(map[string]string{"from": fileURL(oldDir), "to": fileURL(newDir)})
			if err := os.WriteFile(note, journal, 0o600); err != nil {
				t.Fatal(err)
			}
			ios, stdout, stderr := testStreams(false, false)
			if code := cli.Main([]string{"--config", link, "store", "migrate", "--to", fileURL(newDir)}, ios); code != 0 {
				t.Fatalf("store migrate run again through the link: exit %d\n%s%s", code, stdout, stderr)
			}
			if _, err := filestore.New(oldDir).Load(t.Context(), "dev"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the old copy is still in the old store (%v)\n%s", err, stderr)
			}
			if _, err := os.Stat(note); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the moving-from file stayed: %v", err)
			}
		})
	}
}

// TestStoreMigrateFinishingMovesANewerOldCopy: a move killed once the
// configuration named the new store, but before the old copy was deleted,
// and a freshtoken that still read the old store (a proxy that had not yet
// read the configuration again) renewed the old copy: the old store then
// holds the live refresh token and the new store a spent one. The next
// store migrate moves the newer copy over the older one, as a move does
// when the new store holds an older copy of the grant; it kept it where no
// command reads it, saying to delete it "once you have checked which to
// keep", and the next renewal presented the spent refresh token, which a
// provider that rotates them takes for a theft and revokes the grant for.
func TestStoreMigrateFinishingMovesANewerOldCopy(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	oldDir, newDir, copied := copiedByAMove(t, e)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "-e", "dev", "token", "--force"); code != 0 { // the old store renewed
		t.Fatalf("token --force: exit %d\n%s%s", code, stdout, stderr)
	}
	renewed, err := filestore.New(oldDir).Load(t.Context(), "dev")
	if err != nil || renewed.RefreshToken == copied.RefreshToken {
		t.Fatalf("the old copy was not renewed: %v", err)
	}
	journal, _ := json.Marshal(map[string]string{"from": fileURL(oldDir), "to": fileURL(newDir)})
	if err := os.WriteFile(e.config+".moving-from", journal, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := configedit.SetStoreURL(e.config, fileURL(newDir)); err != nil {
		t.Fatal(err)
	}

	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", fileURL(newDir)); code != 0 {
		t.Fatalf("store migrate run again: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := filestore.New(oldDir).Load(t.Context(), "dev"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the old copy is still in the old store (%v)\n%s", err, stderr)
	}
	if there, err := filestore.New(newDir).Load(t.Context(), "dev"); err != nil || there.RefreshToken != renewed.RefreshToken {
		t.Fatalf("the new store does not hold the renewed tokens (%v)\n%s", err, stderr)
	}
	if _, err := os.Stat(e.config + ".moving-from"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the moving-from file stayed: %v", err)
	}
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "-e", "dev", "token", "--force"); code != 0 {
		t.Fatalf("token --force after the move: exit %d\n%s%s", code, stdout, stderr)
	}
	if st := e.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v; want no spent refresh token presented", st)
	}
}

// TestStoreMigrateFinishingKeepsWhatItCannotDelete: a move killed once the
// configuration named the new store left an old copy the new store holds
// no tokens to compare with (a log-out since): the next store migrate keeps
// it, and fails (exit 2), saying how to keep it; it exited 0. And a move to
// a third store is not made meanwhile: it went ahead, its own note of the
// store it left took the place of the earlier one, and the old copy was
// never spoken of again, a refresh token left in plain files for good.
func TestStoreMigrateFinishingKeepsWhatItCannotDelete(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	oldDir, newDir, third := filepath.Join(e.dir, "state"), filepath.Join(e.dir, "new"), filepath.Join(e.dir, "third")
	journal, _ := json.Marshal(map[string]string{"from": fileURL(oldDir), "to": fileURL(newDir)})
	if err := os.WriteFile(e.config+".moving-from", journal, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := configedit.SetStoreURL(e.config, fileURL(newDir)); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{newDir, third} {
		ios, stdout, stderr := testStreams(false, false)
		code := e.run(ios, "store", "migrate", "--to", fileURL(to))
		if msg := stderr.String(); code != 2 || !strings.Contains(msg, "set [store] url back to "+fileURL(oldDir)) || !strings.Contains(msg, "not finished") {
			t.Fatalf("store migrate --to %s: exit %d\n%s%s; want 2, keeping the old copy and saying how", to, code, stdout, msg)
		}
		if _, err := filestore.New(oldDir).Load(t.Context(), "dev"); err != nil {
			t.Fatalf("the only copy went: %v", err)
		}
		if got, err := os.ReadFile(e.config + ".moving-from"); err != nil || string(got) != string(journal) {
			t.Fatalf("the moving-from file is %q (%v); want it as it was", got, err)
		}
		if f, err := config.Load(e.config); err != nil || f.StoreURL != fileURL(newDir) {
			t.Fatalf("[store] url changed: %v", err)
		}
	}
}

// TestStoreMigrateFinishingIntoALockedKeychainSaysToUnlockIt: a move to the
// keychain killed before the old copy was deleted, run again while the
// keychain is locked, keeps the old copy and says to unlock the keychain
// and run it again (exit 5); it gave the keychain's usual advice, to take
// keyring:// out of [store] to keep the tokens in files, which would leave
// the tokens the move put in the keychain out of reach.
func TestStoreMigrateFinishingIntoALockedKeychainSaysToUnlockIt(t *testing.T) {
	kr := keyringtest.Start(t)
	t.Setenv("HOME", t.TempDir()) // the keychain's renewal locks
	e := newDevEnv(t)
	e.login(t)
	oldDir := filepath.Join(e.dir, "state")
	copied, err := filestore.New(oldDir).Load(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", "keyring://"); code != 0 {
		t.Fatalf("store migrate --to keyring://: exit %d\n%s%s", code, stdout, stderr)
	}
	if err := filestore.New(oldDir).Save(t.Context(), "dev", copied); err != nil { // the old copy the kill left
		t.Fatal(err)
	}
	journal, _ := json.Marshal(map[string]string{"from": fileURL(oldDir), "to": "keyring://"})
	if err := os.WriteFile(e.config+".moving-from", journal, 0o600); err != nil {
		t.Fatal(err)
	}
	kr.Lock(t)
	ios, _, stderr = testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", "keyring://")
	if msg := stderr.String(); code != 5 || strings.Contains(msg, "take the keyring:// url out") || !strings.Contains(msg, "unlock it") || !strings.Contains(msg, "run the same command again") {
		t.Fatalf("finishing into a locked keychain: exit %d, %s; want 5, saying to unlock it and run the move again", code, msg)
	}
	if _, err := filestore.New(oldDir).Load(t.Context(), "dev"); err != nil {
		t.Fatalf("the old copy went: %v", err)
	}
}

// TestStoreMigrateTellsOfACopyNotYetOnAReplica: a copy to a Redis primary
// that no replica acknowledges in time (a replication link that lags)
// stands, and says so, as a renewal's save does: a failover before a
// replica copies it loses it, and the old store's copy is deleted by then.
// store migrate wrote through the store alone, and its warning went to no
// one.
func TestStoreMigrateTellsOfACopyNotYetOnAReplica(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	primary, _, link := redistest.StartReplicated(t)
	link.Hold()
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", primary.URL); code != 0 {
		t.Fatalf("store migrate to a Redis whose replica lags: exit %d\n%s%s; want it moved", code, stdout, stderr)
	}
	if msg := stderr.String(); !strings.Contains(msg, "level=WARN") || !strings.Contains(msg, "freshtoken:dev), on the primary, but not yet on a replica") {
		t.Fatalf("stderr = %q; want a warning that dev's tokens are not yet on a replica", msg)
	}
}

// TestStoreMigrateFromAFullDiskNamesTheOldStore: `store migrate` whose old
// store's disk has no room for the renewal lock file (gone, as after a
// clean-up) says the old store's disk is full and names its folder, and
// moves nothing. It said "the disk of the new store is full", naming the
// folder --to names, which had room to spare.
func TestStoreMigrateFromAFullDiskNamesTheOldStore(t *testing.T) {
	e := newDevEnv(t)
	old := testdisk.NoFilesLeft(t)
	fillers, err := filepath.Glob(filepath.Join(filepath.Dir(old), "filler-*"))
	if err != nil || len(fillers) < 4 {
		t.Fatalf("fillers %v (%v)", fillers, err)
	}
	for _, f := range fillers[:4] { // room for the record, its lock, the reserve and a temp file
		os.Remove(f)
	}
	e.useStore(t, fileURL(old))
	e.loginOutside(t)
	rec := e.record(t, "dev")
	if err := os.Remove(filepath.Join(old, "dev.lock")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // no room left for a lock file
		f, err := os.Create(filepath.Join(filepath.Dir(old), fmt.Sprintf("refill-%d", i)))
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	configKept := e.configKept(t)
	to := filepath.Join(t.TempDir(), "new")
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", fileURL(to))
	msg := stderr.String()
	if code != 2 || !strings.Contains(msg, "the disk of the old store ([store] url) is full") || !strings.Contains(msg, old) ||
		strings.Contains(msg, "new store") || strings.Contains(msg, to) || !strings.Contains(msg, "; nothing was moved, and [store] url still names") {
		t.Fatalf("exit %d\n%s%s; want exit 2 saying the old store's disk is full, naming %s, and that nothing was moved", code, stdout, msg, old)
	}
	configKept("nothing was moved")
	if got := e.record(t, "dev"); got == nil || got.RefreshToken != rec.RefreshToken {
		t.Errorf("dev's tokens are no longer in the old store: %+v", got)
	}
}

// TestStoreMigrateAdviceForAFolderOthersUseCanBeFollowed: the folder
// `store migrate --to` is told to name instead of one others use can be
// used, and the move to it goes through. It said to name a folder inside
// another user's folder (which root may not make one in, and another
// user cannot), the shared folder a link leads to (refused in turn), and
// a folder in a shared temporary folder such as /tmp (which the system
// empties, at a reboot or of what lies unused for days, taking the
// tokens, and where another user may make it first); it now names one in
// the home folder for these. A link that leads nowhere is said to be a
// link: it was "cannot be made (mkdir …: file exists)".
func TestStoreMigrateAdviceForAFolderOthersUseCanBeFollowed(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	shared := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|fs.ModeSticky); err != nil { // as /tmp
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(shared, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(t.TempDir(), "dangling")
	if err := os.Symlink(filepath.Join(t.TempDir(), "gone"), dangling); err != nil {
		t.Fatal(err)
	}
	to := map[string]string{"a shared temporary folder": shared, "a link to one": link, "a link to nothing": dangling}
	if os.Geteuid() == 0 {
		nobodys := testenv.NobodysFolder(t, "nobody")
		to["another user's folder"] = nobodys
		to["a folder to make in another user's folder"] = filepath.Join(nobodys, "tokens")
	}
	advice := regexp.MustCompile(`, such as (file://\S+), which freshtoken makes for you alone\n`)
	for name, dir := range to {
		t.Run(name, func(t *testing.T) {
			e, rec := devAndZeta(t)
			nothingMoved := checkNothingMoved(t, e, rec)
			ios, _, stderr := testStreams(false, false)
			code := e.run(ios, "store", "migrate", "--to", "file://"+dir)
			m := advice.FindStringSubmatch(stderr.String())
			if code != 2 || m == nil || !strings.HasPrefix(m[1], "file://"+home+"/") || strings.Contains(stderr.String(), "[store] url to") {
				t.Fatalf("--to %s: exit %d\n%s; want exit 2, naming a folder in the home folder with --to", dir, code, stderr)
			}
			nothingMoved()
			ios, _, stderr = testStreams(false, false)
			if code := e.run(ios, "store", "migrate", "--to", m[1]); code != 0 {
				t.Errorf("--to %s, as advised: exit %d\n%s", m[1], code, stderr)
			}
			os.RemoveAll(strings.TrimPrefix(m[1], "file://"))
		})
	}
}

// TestStoreMigrateThatCannotNoteItsCopiesMovesNothing: a move whose note of
// the copies it makes cannot be written beside the configuration (here a
// folder stands where the note goes) copies nothing, says so in one line
// naming the file, and leaves every environment where [store] url names.
// It copied all the same: killed before it took its copies back, it left
// them unnoted, and the move run again refused them as another log-in's,
// advising a logout that deleted the tokens in use.
func TestStoreMigrateThatCannotNoteItsCopiesMovesNothing(t *testing.T) {
	e, rec := devAndZeta(t)
	nothingMoved := checkNothingMoved(t, e, rec)
	if err := os.Mkdir(e.config+".left-copies", 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(e.dir, "moved")
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "store", "migrate", "--to", "file://"+target)
	if msg := stderr.String(); code != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, e.config+".left-copies, where a move notes the copies it makes, could not be written (file exists); nothing was moved") {
		t.Fatalf("exit %d\n%s%s; want exit 2 and one line saying the note of the copies could not be written and nothing was moved", code, stdout, msg)
	}
	nothingMoved()
	if names, err := os.ReadDir(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the new store's folder holds %v (%v); want none made", names, err)
	}
}
