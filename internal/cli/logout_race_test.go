package cli_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/keeper"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestLogoutOfTokensTakenOverWhileItWaited: the stored tokens were this
// environment's when logout looked, and another configuration's by the
// time it held the renewal lock (it took an older record over meanwhile).
// Logout leaves them, as it does tokens that were another's from the
// start, and says there is nothing of its own to log out of (exit 0); it
// said to log in (exit 3), which would replace the other's grant.
func TestLogoutOfTokensTakenOverWhileItWaited(t *testing.T) {
	for _, flags := range [][]string{{"--local"}, nil} {
		t.Run(strings.Join(append([]string{"logout"}, flags...), " "), func(t *testing.T) {
			var rec *store.Record
			e, code, stderr, revocations := logoutWhileTheLockIsHeld(t, flags, func(e *devEnv, st *filestore.Store) {
				rec = e.record(t, "dev")
				rec.Grant.ClientID = "another-client"
				if err := st.Save(t.Context(), "dev", rec); err != nil {
					t.Fatal(err)
				}
			})
			if code != 0 || !strings.Contains(stderr, "dev has no tokens of its own to log out of: the stored tokens belong to") {
				t.Fatalf("logout: exit %d, stderr %q; want 0 saying there are no tokens of its own", code, stderr)
			}
			if revocations != 0 {
				t.Fatalf("%d revocation requests sent for another configuration's tokens", revocations)
			}
			if kept := e.record(t, "dev"); kept.Grant.ClientID != "another-client" || kept.RefreshToken != rec.RefreshToken {
				t.Fatalf("another configuration's tokens were not left as they were: %+v", kept.Grant)
			}
		})
	}
}

// logoutWhileTheLockIsHeld configures "dev" with a revocation endpoint
// that counts what it is sent, logs it in, and holds its renewal lock while
// `logout` (with flags) starts; once logout waits for the lock, meanwhile
// changes the store, and the lock is let go. It returns logout's exit code
// and stderr, and how many revocation requests were sent.
func logoutWhileTheLockIsHeld(t *testing.T, flags []string, meanwhile func(e *devEnv, st *filestore.Store)) (e *devEnv, code int, stderr string, revocations int32) {
	t.Helper()
	var sent atomic.Int32
	revoker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sent.Add(1) }))
	t.Cleanup(revoker.Close)
	e = newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: revoker.URL + "/revoke"})
	e.loginOutside(t)
	st := filestore.New(filepath.Join(e.dir, "state"))
	unlock, err := st.Lock(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	errOut := testenv.NewOutput()
	ios := &cli.IOStreams{In: strings.NewReader(""), Out: testenv.NewOutput(), ErrOut: errOut}
	exited := make(chan int, 1)
	go func() { exited <- e.run(ios, append([]string{"--debug", "logout", "-e", "dev"}, flags...)...) }()
	errOut.WaitFor(t, "logout waiting for the lock", regexp.MustCompile(`waiting for the renewal lock`))
	meanwhile(e, st)
	unlock()
	code = <-exited
	return e, code, errOut.String(), sent.Load()
}

// TestLogoutSaysItsFailedRevocationWhenTheTokensWereTakenOver: the
// revocation was sent and failed, and by the time logout held the lock to
// delete the tokens, another configuration had stored its own under the
// name. The other's tokens are left, and the failed revocation is still
// told (exit 5): the grant may still be valid at the provider. It exited 0
// saying only that there were no tokens of its own to log out of.
func TestLogoutSaysItsFailedRevocationWhenTheTokensWereTakenOver(t *testing.T) {
	e := newDevEnv(t)
	st := filestore.New(filepath.Join(e.dir, "state"))
	var taken atomic.Pointer[store.Record]
	revoker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if taken.Load() == nil { // another configuration logs in meanwhile
			rec := e.record(t, "dev")
			rec.Grant.ClientID = "another-client"
			rec.RefreshToken = "another-refresh-token"
			if err := st.Save(r.Context(), "dev", rec); err != nil {
				t.Error(err)
			}
			taken.Store(rec)
		}
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(revoker.Close)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: revoker.URL + "/revoke"})
	e.loginOutside(t)
	stderr := testenv.NewOutput()
	ios := &cli.IOStreams{In: strings.NewReader(""), Out: testenv.NewOutput(), ErrOut: stderr}
	if code := e.run(ios, "logout", "-e", "dev"); code != cli.ExitUnreachable || !strings.Contains(stderr.String(), "could not revoke the refresh token") {
		t.Fatalf("logout: exit %d, stderr %q; want %d telling of the failed revocation", code, stderr, cli.ExitUnreachable)
	}
	if kept := e.record(t, "dev"); kept.Grant.ClientID != "another-client" || kept.RefreshToken != "another-refresh-token" {
		t.Fatalf("another configuration's tokens were not left as they were: %+v", kept.Grant)
	}
}

// TestLogoutOfTokensDeletedWhileItWaited: the tokens were there when logout
// looked, and gone by the time it held the renewal lock (another logout
// finished first). There is nothing left to log out of: it says so and
// exits 0, revoking nothing. It said the tokens were deleted "but not
// logged in", that the grant might still be valid, and exited 3 telling to
// log in.
func TestLogoutOfTokensDeletedWhileItWaited(t *testing.T) {
	_, code, stderr, revocations := logoutWhileTheLockIsHeld(t, nil, func(_ *devEnv, st *filestore.Store) {
		if err := st.Delete(t.Context(), "dev"); err != nil {
			t.Fatal(err)
		}
	})
	if code != 0 || !strings.Contains(stderr, "nothing to log out of") || strings.Contains(stderr, "may still be valid") {
		t.Fatalf("logout: exit %d, stderr %q; want 0 saying there is nothing to log out of", code, stderr)
	}
	if revocations != 0 {
		t.Fatalf("%d revocation requests sent with no tokens", revocations)
	}
}

// TestLogoutKeepsALogInStoredWhileItRevoked: a log-in in another terminal
// (or the proxy's page) stored new tokens while logout's revocation was
// in flight, waiting for the renewal lock the revocation held, and took
// the lock before logout's delete did. Logout deleted them: the log-in had
// said "Logged in", its grant lived on at the provider, unrevoked, with
// nothing left to end it with. Only the log-in logout looked at (renewed
// since or not) is deleted; a later one's tokens are kept, and it says so
// and how to log out of them too (exit 0: what was asked was done). Its
// first line said the tokens "were deleted", and the next that tokens
// were kept in the same place: it says they were replaced there by the
// later log-in's, which were kept.
func TestLogoutKeepsALogInStoredWhileItRevoked(t *testing.T) {
	e := newDevEnv(t)
	st := filestore.New(filepath.Join(e.dir, "state"))
	var later atomic.Pointer[store.Record]
	revoker := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		if later.Load() != nil {
			return
		}
		rec := storetest.LaterLogIn(e.record(t, "dev"))
		if err := st.Save(t.Context(), "dev", rec); err != nil {
			t.Error(err)
		}
		later.Store(rec)
	}))
	t.Cleanup(revoker.Close)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: revoker.URL + "/revoke"})
	e.loginOutside(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "logout", "-e", "dev"); code != 0 || !strings.Contains(stderr.String(), "the grant was revoked at the provider, and its tokens were replaced in ") ||
		!strings.Contains(stderr.String(), "by those of a log-in made while this log-out ran, which were kept.") ||
		!strings.Contains(stderr.String(), "logout -e dev` to log out of the log-in made since too") || strings.Contains(stderr.String(), "deleted") {
		t.Fatalf("logout: exit %d, stderr %q; want 0 saying the later log-in's tokens were kept", code, stderr)
	}
	if kept := e.record(t, "dev"); kept == nil || kept.RefreshToken != "later-refresh-token" {
		t.Fatalf("the later log-in's tokens were not kept: %+v", kept)
	}
}

// TestLogoutOnADiskWithNoRoomForItsLock: the token folder's disk had no
// room for the renewal lock's file (every inode taken, the lock file
// removed by hand). The revocation, which takes the lock first, sent
// nothing, and the delete failed the same way: logout printed the disk's
// failure twice on one line and said nothing of the tokens. It says it
// once, that nothing was sent and the tokens are kept, and the log-out to
// run again (exit 5). It advised setting [store] url (or $XDG_STATE_HOME)
// to a folder on another disk, which would leave the tokens behind, where
// no log-out finds them: it says to free some space there. So does
// logout --local, which also kept quiet about the tokens.
func TestLogoutOnADiskWithNoRoomForItsLock(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		did   string
	}{
		{nil, "nothing was sent to the provider and nothing deleted"},
		{[]string{"--local"}, "nothing was deleted"},
	} {
		t.Run(strings.Join(append([]string{"logout"}, tc.flags...), " "), func(t *testing.T) {
			dir := testdisk.FilesLeft(t, 4) // room for the log-in's files
			e := newDevEnv(t)
			if err := os.WriteFile(e.config, fmt.Appendf(nil, "[store]\nurl = %q\n", "file://"+dir), 0o600); err != nil {
				t.Fatal(err)
			}
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: e.api + "v2/revoke"})
			e.loginOutside(t)
			if err := os.Remove(filepath.Join(dir, "dev.lock")); err != nil {
				t.Fatal(err)
			}
			testdisk.FillFiles(t, filepath.Dir(dir))
			ios, _, stderr := testStreams(false, false)
			code := e.run(ios, append([]string{"logout", "-e", "dev"}, tc.flags...)...)
			again := strings.Join(append([]string{"logout"}, tc.flags...), " ") + " -e dev` once that is fixed"
			if msg := stderr.String(); code != cli.ExitUnreachable || strings.Count(msg, "no space left on device") != 1 ||
				!strings.Contains(msg, "is full (no space left on device); free some space there; "+tc.did+": the tokens are kept in") ||
				!strings.Contains(msg, again) || strings.Contains(msg, "[store] url") {
				t.Fatalf("logout: exit %d, stderr %q; want %d saying once that the disk is full, to free space there, the tokens kept and the logout to run again", code, msg, cli.ExitUnreachable)
			}
			if e.record(t, "dev") == nil {
				t.Fatal("the tokens were not kept")
			}
			if n := e.provider.Stats().Revocations; n != 0 {
				t.Fatalf("%d revocations sent", n)
			}
		})
	}
}

// TestLogoutRevokesNoLogInMadeBeforeItsRevocation: a log-in (another
// terminal's, the proxy page's) stored its tokens after logout looked at
// the stored ones and before its revocation took the renewal lock (as a
// client_secret_cmd asked a passphrase). The revocation sent whatever was
// stored then: it ended the later log-in's grant, which had just said
// "Logged in", and logout said "the grant was revoked". Only the log-in
// logout looked at is revoked: nothing is sent for a later one, whose
// tokens are kept, and logout says that nothing was revoked (exit 0).
func TestLogoutRevokesNoLogInMadeBeforeItsRevocation(t *testing.T) {
	var later *store.Record
	e, code, stderr, revocations := logoutWhileTheLockIsHeld(t, nil, func(e *devEnv, st *filestore.Store) {
		later = storetest.LaterLogIn(e.record(t, "dev"))
		if err := st.Save(t.Context(), "dev", later); err != nil {
			t.Fatal(err)
		}
	})
	if revocations != 0 {
		t.Fatalf("%d revocation requests sent for the tokens of a log-in made after logout looked", revocations)
	}
	if code != 0 || !strings.Contains(stderr, "nothing was revoked at the provider, as that log-in stored its tokens before the revocation could be sent") ||
		!strings.Contains(stderr, "by those of a log-in made while this log-out ran, which were kept") || strings.Contains(stderr, "the grant was revoked") {
		t.Fatalf("logout: exit %d, stderr %q; want 0 saying nothing was revoked and the later log-in was kept", code, stderr)
	}
	if kept := e.record(t, "dev"); kept == nil || kept.RefreshToken != later.RefreshToken {
		t.Fatalf("the later log-in's tokens were not kept: %+v", kept)
	}
}

// TestLogoutKeepsTheTokenFileOfALaterLogIn: a log-in stored its tokens
// while logout revoked the earlier one's, and a keeper (a running proxy)
// wrote its access token to the environment's token_file. Logout kept the
// later log-in's tokens, but removed the token file, as freshtoken had
// written it for the environment: scripts reading it lost a valid token.
// It is removed only when it holds the access token of the log-in logged
// out of, and is said to be left otherwise.
func TestLogoutKeepsTheTokenFileOfALaterLogIn(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the ledger's folder
	e := newDevEnv(t)
	file := filepath.Join(e.dir, "dev-token")
	st := filestore.New(filepath.Join(e.dir, "state"))
	var later atomic.Pointer[store.Record]
	revoker := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		if later.Load() != nil {
			return
		}
		rec := e.record(t, "dev")
		next := storetest.LaterLogIn(rec)
		if err := st.Save(t.Context(), "dev", next); err != nil {
			t.Error(err)
		}
		// The keeper writes the later log-in's token, as it does when the
		// tokens stored change.
		if err := keeper.FollowTokenFile(t.Context(), file, rec.AccessToken, next.AccessToken, configfile.TokenFileLedger(), keeper.NewOwner(e.config, "dev"), next.Expiry); err != nil {
			t.Error(err)
		}
		later.Store(next)
	}))
	t.Cleanup(revoker.Close)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: revoker.URL + "/revoke", TokenFile: file})
	e.loginOutside(t)
	keeperWrites(t, e, file)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "logout", "-e", "dev"); code != 0 || !strings.Contains(stderr.String(), "which were kept") {
		t.Fatalf("logout: exit %d, stderr %q; want 0 saying the later log-in's tokens were kept", code, stderr)
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != "later-access-token\n" {
		t.Fatalf("the token file holds %q (%v); want the later log-in's access token kept there", got, err)
	}
	if msg := stderr.String(); !strings.Contains(msg, "Its token_file "+file+" was left as it is: it does not hold the access token of the log-in logged out of, and may hold that of the log-in kept.") {
		t.Errorf("stderr = %q; want it to say the token file was left", msg)
	}
}

// TestLogoutWhoseDeleteFailsAfterTheRevocation: the provider revoked the
// grant, and then the store failed to delete the tokens (a file made
// readable by others meanwhile, which the store refuses; a Redis gone, a
// disk failing). Logout said only the store's failure and that nothing was
// deleted: the person, told nothing of the revocation, took the grant for
// alive, and a proxy or service renewing with the tokens kept was refused
// and told them the grant had ended, to log in again. It says the grant
// was revoked, that the tokens kept are of no use, and the log-out to run
// again once the store is fixed, with the store's exit code.
func TestLogoutWhoseDeleteFailsAfterTheRevocation(t *testing.T) {
	e := newDevEnv(t)
	var loosened atomic.Bool
	revoker := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		if !loosened.Swap(true) {
			if err := os.Chmod(filepath.Join(e.dir, "state", "dev.json"), 0o644); err != nil {
				t.Error(err)
			}
		}
	}))
	t.Cleanup(revoker.Close)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RevocationURL: revoker.URL + "/revoke"})
	e.loginOutside(t)
	ios, _, stderr := testStreams(false, false)
	code := e.run(ios, "logout", "-e", "dev")
	if code != cli.ExitUsage || !strings.Contains(stderr.String(), "has mode 0644") ||
		!strings.Contains(stderr.String(), "the provider revoked the grant") || !strings.Contains(stderr.String(), "logout -e dev` once that is fixed") {
		t.Fatalf("logout: exit %d, stderr %q; want %d, the store's failure, that the grant was revoked, and the log-out to run again", code, stderr, cli.ExitUsage)
	}
}
