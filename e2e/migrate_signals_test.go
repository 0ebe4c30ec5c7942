//go:build unix

package e2e_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
)

// TestMigrateSignalledOnceTheMoveIsUnderWay: SIGTERM, SIGHUP or Ctrl-C
// reaching `store migrate` once it has begun to name the new store (about
// to write the configuration, or between its deletions of the old copies)
// finishes the move rather than leaving it half done: the configuration
// names the new store, the old copy is deleted, no note of a move to
// finish is left, and it exits 128+N.
func TestMigrateSignalledOnceTheMoveIsUnderWay(t *testing.T) {
	for _, step := range []string{"moved", "deleted"} {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
			t.Run(step+"/"+sig.String(), func(t *testing.T) {
				w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
				w.login()
				to := "file://" + filepath.Join(w.dir, "moved")
				t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", step)
				migrate := w.watch("store", "migrate", "--to", to)
				t.Setenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE", "")
				migrate.waitSaid(t, "paused at "+step)
				migrate.cmd.Process.Signal(sig)
				stderr := migrate.waitExit(t, 128+int(sig))
				if !strings.Contains(stderr, "now names "+to) || !strings.Contains(w.readConfig(), to) {
					t.Fatalf("the configuration does not name the new store:\n%s\n%s", stderr, w.readConfig())
				}
				if _, err := os.Stat(w.storeFile()); !os.IsNotExist(err) {
					t.Errorf("the old copy is still there: %v", err)
				}
				if _, err := os.Stat(w.config + ".moving-from"); !os.IsNotExist(err) {
					t.Errorf("the note of a move to finish is still there: %v", err)
				}
				w.mustRun("token", "--force")
			})
		}
	}
}

// TestMigrateKilledBeforeItsCopiesAreTakenBackThenALogIn: `store migrate`
// killed (SIGKILL, a power loss) once its copy is in the new store but
// before the configuration names it, then a log-in in the store the
// configuration still names: the same move run again moves the new
// log-in's tokens over the copy left there, saying so, and they work. The
// copy, this configuration's earlier log-in, was refused as another
// log-in's (exit 2), once copies were told from a fleet's tokens by a
// note of the copies a move could not take back, which a move killed
// never wrote: it notes them before it makes them.
func TestMigrateKilledBeforeItsCopiesAreTakenBackThenALogIn(t *testing.T) {
	w, to, _ := killedMove(t, "moved")
	if _, err := os.Stat(filepath.Join(w.dir, "moved", "dev.json")); err != nil {
		t.Fatalf("the killed move left no copy in the new store: %v", err)
	}
	logInThenMoveAgainOverTheCopy(t, w, to)
	if _, err := os.Stat(w.config + ".left-copies"); !os.IsNotExist(err) {
		t.Errorf("the note of the copies is still there once the move is done (%v)", err)
	}
}

// TestMigrateKilledThenRunAgain: `store migrate` killed (SIGKILL) once its
// copy is in the new store, then the same command run again, no log-in
// between: the copy left there holds the very tokens moved, of the same
// log-in, so the move says only that dev moved, as any move. It said
// "moved to …, in place of a copy of this configuration's earlier log-in
// (logged in …) left there": the copy noted as left was taken for an
// earlier log-in's, though it was this log-in's own.
func TestMigrateKilledThenRunAgain(t *testing.T) {
	w, to, token := killedMove(t, "moved")
	r := w.mustRun("store", "migrate", "--to", to)
	if want := "dev: moved to " + filepath.Join(w.dir, "moved", "dev.json") + "\n"; r.stdout != want {
		t.Errorf("the move run again said:\n%s\nwant:\n%s", r.stdout, want)
	}
	if got := w.mustRun("token").stdout; got != token {
		t.Errorf("after the move the token is %q, want %q", got, token)
	}
}

// TestMigrateKilledOnceTheConfigurationNamesTheNewStore: `store migrate`
// killed (SIGKILL) after the configuration names the new store, as it
// deletes the old copies: the run again finishes the move, and forgets the
// copies it had noted as about to be made there, which are the tokens in
// use now. The note was left for good, naming the live record as a copy
// a move may replace.
func TestMigrateKilledOnceTheConfigurationNamesTheNewStore(t *testing.T) {
	w, to, token := killedMove(t, "deleted")
	if _, err := os.Stat(w.config + ".left-copies"); err != nil {
		t.Fatalf("the killed move left no note of its copies to forget: %v", err)
	}
	w.mustRun("store", "migrate", "--to", to)
	for _, note := range []string{".left-copies", ".moving-from"} {
		if _, err := os.Stat(w.config + note); !os.IsNotExist(err) {
			t.Errorf("%s is still there once the move is finished (%v)", w.config+note, err)
		}
	}
	if got := w.mustRun("token").stdout; got != token {
		t.Errorf("after the move the token is %q, want %q", got, token)
	}
}

// TestMigrateKilledTwiceIntoOneRedisByTwoNames: `store migrate` to a Redis
// killed (SIGKILL) with its copy made, before the configuration names it
// (redis://127.0.0.1:P), then a move to the same Redis database by another
// name (redis://localhost:P/0) killed after the configuration names it, as
// it deletes the old copies, then that move run again: it finishes the move
// and forgets the copies noted in that Redis by either name, which are the
// tokens in use now. Finishing forgot those noted under the configuration's
// own name only: the first move's note was left for good, naming the live
// record as a copy a move may replace (or delete, as tokens logged out of).
func TestMigrateKilledTwiceIntoOneRedisByTwoNames(t *testing.T) {
	t.Parallel()
	_, port, _ := net.SplitHostPort(redistest.Start(t).Addr)
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	token := w.mustRun("token").stdout
	killAt(t, w, "moved", "store", "migrate", "--to", "redis://127.0.0.1:"+port)
	to := "redis://localhost:" + port + "/0"
	killAt(t, w, "deleted", "store", "migrate", "--to", to)
	w.mustRun("store", "migrate", "--to", to)
	for _, note := range []string{".left-copies", ".moving-from"} {
		if b, err := os.ReadFile(w.config + note); !os.IsNotExist(err) {
			t.Errorf("%s is still there once the move is finished (%v): %s", w.config+note, err, b)
		}
	}
	if got := w.mustRun("token").stdout; got != token {
		t.Errorf("after the move the token is %q, want %q", got, token)
	}
}

// TestMigrateKilledIntoAFolderThroughALinkThenALogIn: as
// TestMigrateKilledBeforeItsCopiesAreTakenBackThenALogIn, the new store
// a folder not made yet under a symbolic link (as /home is one to /var/home
// on Fedora Silverblue): the move run again, the folder made by then,
// knows the copy it noted there. The store was named by where the link
// leads once the folder was there, and as written before, so the copy
// went unknown and was refused as another log-in's (exit 2), advising a
// logout that deleted the new log-in's tokens.
func TestMigrateKilledIntoAFolderThroughALinkThenALogIn(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	if err := os.Mkdir(filepath.Join(w.dir, "real"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(w.dir, "link")); err != nil {
		t.Fatal(err)
	}
	to := "file://" + filepath.Join(w.dir, "link", "moved")
	killAt(t, w, "moved", "store", "migrate", "--to", to)
	logInThenMoveAgainOverTheCopy(t, w, to)
}

// TestMigrateKilledThenALogOut: `store migrate` killed (SIGKILL) once its
// copy is in the new store, before the configuration names it, then a
// log-out (revoking, or --local), then the same move run again: the copy
// left there is deleted, not moved to, and the environment is logged out
// (exit 3), from files to Redis or to other files, and from Redis to files
// when Redis has not restarted since the move (its run_id, noted with the
// copy, is the same). The move said "already in" the new store and named
// it: the tokens logged out of came back, live ones after --local; from
// Redis, it kept the copy, as a Redis restarted without its data looked
// the same, and the log-out had to be run again. The move run again to
// the same Redis by another name (localhost for 127.0.0.1: the same
// run_id, port and database, an address in common) finds the copy too: it
// said "already in", the tokens logged out of back. (From a Redis
// restarted since, the copy is kept: TestMigrateKilledThenRedisRestartedEmpty.)
func TestMigrateKilledThenALogOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		toFile    bool // to another folder, else to Redis
		fromRedis bool // from Redis, else from the default folder
		otherName bool // run again naming the Redis moved to localhost, not 127.0.0.1
		logout    []string
	}{
		{"file to redis, revoked", false, false, false, []string{"logout"}},
		{"file to file, --local", true, false, false, []string{"logout", "--local"}},
		{"redis to file, revoked", true, true, false, []string{"logout"}},
		{"file to redis by another name, --local", false, false, true, []string{"logout", "--local"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			from, to := "", ""
			if !tc.toFile {
				to = redistest.Start(t).URL
			}
			if tc.fromRedis {
				from = redistest.Start(t).URL
			}
			w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, from, "revocation_url = \"REVOKE\"")
			w.writeConfig(strings.Replace(w.readConfig(), "REVOKE", w.api+"v2/revoke", 1))
			if to == "" {
				to = "file://" + filepath.Join(w.dir, "moved")
			}
			w.login()
			killAt(t, w, "moved", "store", "migrate", "--to", to)
			w.mustRun(tc.logout...)
			if tc.otherName {
				to = strings.Replace(to, "127.0.0.1", "localhost", 1)
			}
			r := w.mustRun("store", "migrate", "--to", to)
			if r.stdout != "dev: no tokens to move (not logged in)\n" || !strings.Contains(r.stderr, "dev: deleted the copy of its tokens that an interrupted move left in") {
				t.Errorf("the move run again said:\n%s%s\nwant it to say the copy left was deleted", r.stdout, r.stderr)
			}
			if r := w.run("token"); r.code != 3 || r.stdout != "" {
				t.Errorf("token after the move: exit %d, %q; want 3, no token: the tokens logged out of came back", r.code, r.stdout)
			}
		})
	}
}

// TestMigrateKilledOnceTheConfigurationNamesTheNewStoreThenALogOut: a move
// of two environments killed (SIGKILL) after the configuration names the
// new store, before the second's old copy is deleted, then a log-out of
// the second: the same move run again deletes that old copy, which holds
// the very tokens that moved and were logged out of, and finishes (exit
// 0), to other files or to a Redis that has not restarted since the move
// (its run_id, noted with the move, is the same). It refused (exit 2),
// saying to delete the copy by hand if the log-out was meant, and no other
// move could be made until then; to Redis, as a Redis restarted without
// its data looked the same. (To a Redis restarted since, the old copy is
// kept: TestMigrateKilledThenRedisRestartedEmpty.)
func TestMigrateKilledOnceTheConfigurationNamesTheNewStoreThenALogOut(t *testing.T) {
	t.Parallel()
	for _, toRedis := range []bool{false, true} {
		t.Run(fmt.Sprintf("to redis %t", toRedis), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			logInDevAndTwo(w)
			to := "file://" + filepath.Join(w.dir, "moved")
			if toRedis {
				to = redistest.Start(t).URL
			}
			killAt(t, w, "deleted", "store", "migrate", "--to", to)
			w.mustRun("logout", "--local", "-e", "two")
			r := w.mustRun("store", "migrate", "--to", to)
			if !strings.Contains(r.stderr, "two: deleted the old copy that an interrupted move to") {
				t.Errorf("the move run again said:\n%s%s\nwant it to say the old copy was deleted", r.stdout, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(w.store, "two.json")); !os.IsNotExist(err) {
				t.Errorf("the old copy of the tokens logged out of is still there (%v)", err)
			}
			if _, err := os.Stat(w.config + ".moving-from"); !os.IsNotExist(err) {
				t.Errorf("the note of a move to finish is still there (%v)", err)
			}
			if r := w.run("-e", "two", "token"); r.code != 3 {
				t.Errorf("token -e two after the move: exit %d; want 3", r.code)
			}
			w.mustRun("-e", "dev", "token", "--force")
		})
	}
}

// killedMove is a world logged in whose `store migrate` to the folder
// "moved" in it was killed (SIGKILL) at step: the world, the move's --to,
// and the token before the move.
func killedMove(t *testing.T, step string) (w *world, to, token string) {
	t.Helper()
	w = newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	token = w.mustRun("token").stdout
	to = "file://" + filepath.Join(w.dir, "moved")
	killAt(t, w, step, "store", "migrate", "--to", to)
	return w, to, token
}

// logInDevAndTwo gives the world a second environment, two, dev's copy
// (dev the default), and logs both in.
func logInDevAndTwo(w *world) {
	w.t.Helper()
	conf := w.readConfig()
	w.writeConfig("default_env = \"dev\"\n" + conf + strings.Replace(conf[strings.Index(conf, "[env.dev]"):], "[env.dev]", "[env.two]", 1))
	w.login()
	w.login("-e", "two")
}

// logInThenMoveAgainOverTheCopy logs in after a move to `to` was killed
// with its copy made, and runs the move again: it must say the copy left
// there was replaced, and the token after it must be the new log-in's.
func logInThenMoveAgainOverTheCopy(t *testing.T, w *world, to string) {
	t.Helper()
	w.login()
	token := w.mustRun("token").stdout
	r := w.mustRun("store", "migrate", "--to", to)
	if !strings.Contains(r.stdout, "in place of a copy of this configuration's earlier log-in") {
		t.Errorf("the move again said:\n%s%s\nwant it to say the copy left there was replaced", r.stdout, r.stderr)
	}
	if got := w.mustRun("token").stdout; got != token {
		t.Errorf("after the move the token is %q, want the new log-in's %q", got, token)
	}
}

// TestMigrateKilledThenRedisRestartedEmpty: `store migrate` killed
// (SIGKILL) with its copy made, then the Redis on the store's one side
// restarted without persistence (a dev container, `docker restart` with no
// volume), emptied with no log-out, then the same move run again. The copy
// is the only one left of a live grant: it is kept, not taken for tokens a
// log-out forgot. Killed before the configuration named the new store (from
// Redis to files), the copy is moved to, and the move says Redis has
// restarted since (its run_id, noted with the copy, is another) and may
// have lost them, and that `logout` forgets them if a log-out was meant; killed
// after (from files to Redis), the old copy is kept and the move refused
// (exit 2), saying how to keep it. Both copies were deleted, said to be a
// log-out's: a browser log-in needed again.
func TestMigrateKilledThenRedisRestartedEmpty(t *testing.T) {
	t.Run("redis to file", func(t *testing.T) {
		rdb := redistest.StartWithoutPersistence(t)
		w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, rdb.URL, "")
		to := "file://" + filepath.Join(w.dir, "moved")
		w.login()
		killAt(t, w, "moved", "store", "migrate", "--to", to)
		rdb.Restart(t)
		r := w.mustRun("store", "migrate", "--to", to)
		if strings.Contains(r.stderr, "deleted") || !strings.Contains(r.stderr, "Redis has restarted since the move (its run_id is another), and may have lost them") || !strings.Contains(r.stderr, "logout -e dev") {
			t.Errorf("the move run again said:\n%s%s\nwant it to keep the copy, saying Redis restarted since and may have lost the tokens, and how to log out", r.stdout, r.stderr)
		}
		w.mustRun("token", "--force")
	})
	t.Run("file to redis", func(t *testing.T) {
		rdb := redistest.StartWithoutPersistence(t)
		w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
		logInDevAndTwo(w)
		killAt(t, w, "deleted", "store", "migrate", "--to", rdb.URL)
		rdb.Restart(t)
		r := w.run("store", "migrate", "--to", rdb.URL)
		if r.code != 2 || !strings.Contains(r.stderr, "Redis has restarted since the move (its run_id is another): a log-out since the move, or Redis restarted without its data?") {
			t.Errorf("the move run again: exit %d\n%s%s\nwant 2, the old copy kept, saying Redis may have lost the tokens", r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(w.store, "two.json")); err != nil {
			t.Errorf("the old copy, the only one left of two's tokens, is gone (%v)", err)
		}
	})
}
