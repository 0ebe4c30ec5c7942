//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// privateKeychain starts a system keychain of the test's own, and gives the
// test a state folder (the renewal locks) of its own.
func privateKeychain(t *testing.T) *keyringtest.Bus {
	t.Helper()
	kr := keyringtest.Start(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir()) // the keychain's renewal locks are in the home folder
	return kr
}

// keyringWorld is a world keeping its tokens in a private system keychain.
func keyringWorld(t *testing.T, popts devprovider.Options) (*world, *keyringtest.Bus) {
	t.Helper()
	kr := privateKeychain(t)
	return newWorldWithStore(t, popts, "keyring://", ""), kr
}

// stateRecords lists the records (not the lock files) in the state folder,
// where the file store would have put them.
func stateRecords(t *testing.T) []string {
	t.Helper()
	found, err := filepath.Glob(filepath.Join(os.Getenv("XDG_STATE_HOME"), "freshtoken", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestKeychainLockedOrAbsent: with the keychain locked, or no keychain at
// all, a command says so in one line with what to do, exits as the
// contract says (locked: 5, unavailable for now; none: 2, a setting to
// change), and writes no token anywhere else.
func TestKeychainLockedOrAbsent(t *testing.T) {
	t.Run("locked", func(t *testing.T) {
		w, kr := keyringWorld(t, devprovider.Options{AccessTTL: 2 * time.Second})
		w.login()
		w.mustRun("token")
		kr.Lock(t)
		for _, args := range [][]string{{"token"}, {"token", "--force"}, {"get", "/v2/company"}} {
			r := w.run(args...)
			msg := strings.TrimSuffix(r.stderr, "\n")
			if r.code != 5 || strings.Contains(msg, "\n") || !strings.Contains(msg, "locked") || !strings.Contains(msg, "unlock it") || !strings.Contains(msg, "[store]") {
				t.Errorf("%v with the keychain locked: exit %d, stderr %q; want 5 and one line saying to unlock it or choose the file store", args, r.code, r.stderr)
			}
		}
		if r := w.run("status"); r.code != 5 || !strings.Contains(r.stdout, "locked") {
			t.Errorf("status with the keychain locked: exit %d, stdout %q", r.code, r.stdout)
		}
		if found := stateRecords(t); len(found) != 0 {
			t.Errorf("tokens were written beside the keychain: %v", found)
		}
		if _, err := os.Stat(w.store); !os.IsNotExist(err) {
			t.Errorf("the file store's folder was made: %v", err)
		}
	})
	t.Run("absent", func(t *testing.T) {
		keyringtest.NoBus(t)
		t.Setenv("XDG_STATE_HOME", t.TempDir())
		w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, "keyring://", "")
		for _, args := range [][]string{{"token"}, {"login", "--no-browser"}, {"get", "/v2/company"}} {
			r := w.run(args...)
			msg := strings.TrimSuffix(r.stderr, "\n")
			if r.code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, "no system keychain") || !strings.Contains(msg, "[store]") {
				t.Errorf("%v without a keychain: exit %d, stderr %q; want 2 and one line saying so and what to do", args, r.code, r.stderr)
			}
		}
		before := w.readConfig()
		cmd := w.command(context.Background(), "init", "-e", "dev", "--client-secret-keyring")
		cmd.Stdin = strings.NewReader("dev-client-secret\n")
		if out, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "nothing was written") {
			t.Errorf("init --client-secret-keyring without a keychain: %v, %s; want exit 2 saying nothing was written", err, out)
		}
		if after := w.readConfig(); after != before {
			t.Errorf("init changed the config though the keychain could not hold the secret:\n%s", after)
		}
		if r := w.run("status"); r.code != 2 || !strings.Contains(r.stdout, "no system keychain") {
			t.Errorf("status without a keychain: exit %d, stdout %q; want 2 and the problem", r.code, r.stdout)
		}
		if st := w.provider.Stats(); st.TokenRequests != 0 {
			t.Errorf("the provider was asked for tokens (%+v) that could not have been kept", st)
		}
		if found := stateRecords(t); len(found) != 0 {
			t.Errorf("tokens were written beside the missing keychain: %v", found)
		}
	})
}

// keychainRenewalAtTheProvider is a world keeping its tokens in a private
// system keychain, logged in at a provider that rotates refresh tokens, and
// a forced renewal whose token request the provider holds until g.release
// is closed.
func keychainRenewalAtTheProvider(t *testing.T) (*world, *keyringtest.Bus, *gate, *watched) {
	t.Helper()
	g := newGate(t, "refresh_token")
	w, kr := keyringWorld(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: g.onTokenRequest})
	w.login()
	g.armed.Store(true)
	run := w.watch("token", "--force")
	g.wait(t)
	return w, kr, g, run
}

// renewalWithTheKeychainOut is keychainRenewalAtTheProvider's renewal
// answered while the keychain is out of use (out), once the command says
// it keeps the new tokens, its keychain back (back): it returns the world,
// the command, and what it said by its exit, 0.
func renewalWithTheKeychainOut(t *testing.T, out, back func(*keyringtest.Bus, *testing.T)) (*world, *watched, string) {
	t.Helper()
	w, kr, g, run := keychainRenewalAtTheProvider(t)
	out(kr, t)
	close(g.release)
	run.waitSaid(t, "keeping the new tokens")
	back(kr, t)
	return w, run, run.waitExit(t, 0)
}

// TestKeychainLockedWhileTheProviderAnswers: the keychain locks (a screen
// lock, a timeout) between a renewal's read and its save. The command keeps
// the rotated tokens, says to unlock the keychain and to keep keyring:// in
// [store] meanwhile, and stores them once it is unlocked: the grant lives
// on. It said to unlock it "or keep the tokens in files instead: take the
// keyring:// url out of [store]", which left the tokens it waited to store
// in a keychain no command read any more, and the next command asked for a
// log-in.
func TestKeychainLockedWhileTheProviderAnswers(t *testing.T) {
	w, _, stderr := renewalWithTheKeychainOut(t, (*keyringtest.Bus).Lock, (*keyringtest.Bus).Unlock)
	if strings.Contains(stderr, "out of [store]") || !strings.Contains(stderr, "unlock it") || !strings.Contains(stderr, "keep keyring:// in [store]") {
		t.Errorf("a renewal waiting on a locked keychain said:\n%s\nwant: unlock it, and keep keyring:// in [store]", stderr)
	}
	w.mustRun("token", "--force")
	if st := w.provider.Stats(); st.Refreshes != 2 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v; want two renewals and the grant kept", st)
	}
}

// TestKeychainItemsDeletedDuringARenewal: freshtoken's keychain items are
// deleted (a clean-up in Passwords and Keys, `secret-tool clear`: nothing
// that takes a renewal lock) while the provider answers a renewal. The
// answer is stored again, the command prints it, exit 0, with a warning
// that says nothing is lost and no word of Redis, and the next renewal
// spends the rotated refresh token.
func TestKeychainItemsDeletedDuringARenewal(t *testing.T) {
	w, _, g, run := keychainRenewalAtTheProvider(t)
	if err := keyringstore.New(keyringstore.DefaultService, t.TempDir()).Delete(context.Background(), "dev"); err != nil {
		t.Fatal(err)
	}
	answerStoredAgain(t, w, g, run, "keychain items were deleted")
	w.mustRun("token", "--force")
	if st := w.provider.Stats(); st.Refreshes != 2 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v; want two renewals, no reuse, and the grant kept", st)
	}
}

// TestSessionBusKilledDuringARenewal: the D-Bus session bus the keychain
// is reached on dies (dbus-daemon crashed, the desktop session ended)
// while the provider answers a renewal, and comes back at its address with
// the keychain. The rotated tokens are kept, the command says to start it
// again and to keep keyring:// in [store], stores them once it is back,
// prints the new token, exit 0, and the next renewal spends it. The bus
// gone was taken for a system without a keychain: "start a desktop session
// with a keychain", a configuration error, and the answer given up on
// after a second try.
func TestSessionBusKilledDuringARenewal(t *testing.T) {
	w, run, stderr := renewalWithTheKeychainOut(t, (*keyringtest.Bus).KillBus, (*keyringtest.Bus).RestartBus)
	if strings.Contains(stderr, "no system keychain") || !strings.Contains(stderr, "start it again") || !strings.Contains(stderr, "keep keyring:// in [store]") {
		t.Errorf("a renewal whose session bus died said:\n%s\nwant: start it again, and keep keyring:// in [store]", stderr)
	}
	if printed, stored := strings.TrimSpace(run.output(t)), strings.TrimSpace(w.mustRun("token").stdout); printed == "" || printed != stored {
		t.Errorf("printed %q, stored %q; want the renewal's token, stored", printed, stored)
	}
	w.mustRun("token", "--force")
	if st := w.provider.Stats(); st.Refreshes != 2 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v; want two renewals, no reuse, and the grant kept", st)
	}
}

// TestClientSecretFromTheKeychain: `init --client-secret-keyring` takes the
// secret from stdin into the keychain and leaves none in the config; login
// and renewals then authenticate with it (the provider checks it), and
// status says where it is.
func TestClientSecretFromTheKeychain(t *testing.T) {
	w, kr := keyringWorld(t, devprovider.Options{AccessTTL: time.Hour})
	setSecretSource(t, w, "")
	cmd := w.command(context.Background(), "init", "-e", "dev", "--client-secret-keyring")
	cmd.Stdin = strings.NewReader("dev-client-secret\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init --client-secret-keyring: %v\n%s", err, out)
	}
	conf := w.readConfig()
	if !strings.Contains(conf, "client_secret_keyring = true") || strings.Contains(conf, "dev-client-secret") || strings.Contains(conf, "client_secret_env") {
		t.Fatalf("the config after init --client-secret-keyring:\n%s", conf)
	}
	account := "client_secret:dev-client-id at " + w.api + "v2/token_endpoint"
	if items := kr.Items(t, "freshtoken"); !slices.Contains(items, account) {
		t.Fatalf("the keychain holds %v; want the client secret under %s", items, account)
	}
	w.login()
	w.mustRun("token", "--force")
	if st := w.provider.Stats(); st.Exchanges != 1 || st.Refreshes != 1 {
		t.Fatalf("provider saw %+v; want the log-in and a renewal, both with the keychain's secret", st)
	}
	status := w.mustRun("status").stdout
	if !strings.Contains(status, `client secret:  system keychain (Secret Service) (service "freshtoken", account "`+account+`")`) {
		t.Fatalf("status does not say the client secret is in the keychain:\n%s", status)
	}
	if !strings.Contains(status, `stored in:      system keychain (Secret Service) (service "freshtoken", account "dev")`) {
		t.Fatalf("status does not say the tokens are in the keychain:\n%s", status)
	}
	if strings.Contains(w.mustRun("status", "--json").stdout, "dev-client-secret") {
		t.Fatal("status --json shows the client secret")
	}
}

// TestImportPostmanIntoTheKeychain: `import postman --client-secret-keyring`
// keeps the export's client secret in the keychain, not in the file.
func TestImportPostmanIntoTheKeychain(t *testing.T) {
	w, _ := keyringWorld(t, devprovider.Options{AccessTTL: time.Hour})
	w.writeConfig("[store]\nurl = \"keyring://\"\n")
	export := filepath.Join(w.dir, "export.json")
	os.WriteFile(export, fmt.Appendf(nil, `{"name": "my-freeagent", "values": [
		{"key": "url", "value": %q, "enabled": true},
		{"key": "client_id", "value": "dev-client-id", "enabled": true},
		{"key": "client_secret", "value": "dev-client-secret", "enabled": true},
		{"key": "refresh_token", "value": "not-yet-issued", "enabled": true}]}`, w.api), 0o600)
	w.mustRun("import", "postman", export, "-e", "dev", "--client-secret-keyring")
	conf := w.readConfig()
	if !strings.Contains(conf, "client_secret_keyring = true") || strings.Contains(conf, "dev-client-secret") {
		t.Fatalf("the config after import --client-secret-keyring:\n%s", conf)
	}
	if status := w.mustRun("status").stdout; !strings.Contains(status, `account "dev"`) || !strings.Contains(status, `account "client_secret:dev-client-id at `+w.api+`v2/token_endpoint"`) {
		t.Fatalf("the imported tokens and secret are not in the keychain; status says:\n%s", status)
	}
	// The imported refresh token is not the provider's, but a log-in with
	// the keychain's secret works.
	w.mustRun("init", "-e", "dev", "--redirect-uri", fmt.Sprintf("http://127.0.0.1:%d/callback", testenv.FreePort(t)))
	w.login()
	if st := w.provider.Stats(); st.Exchanges != 1 {
		t.Fatalf("provider saw %+v; want a log-in with the keychain's secret", st)
	}
}

// TestMigrateBetweenStores: file → keychain → Redis → file. Each move
// takes the grant along unchanged (the next command needs no renewal and
// no log-in), leaves nothing in the old store, and points [store] url at
// the new one.
func TestMigrateBetweenStores(t *testing.T) {
	kr := privateKeychain(t)
	srv := redistest.Start(t)
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	token := w.mustRun("token").stdout
	for _, to := range []struct{ url, where string }{
		{"keyring://", `system keychain (Secret Service) (service "freshtoken", account "dev")`},
		{srv.URL, "(key freshtoken:dev)"},
		{"file://" + w.store, w.storeFile()},
	} {
		r := w.mustRun("store", "migrate", "--to", to.url)
		if !strings.Contains(r.stdout, "dev: moved to ") {
			t.Fatalf("migrate --to %s said %q", to.url, r.stdout)
		}
		conf := w.readConfig()
		if !strings.Contains(conf, fmt.Sprintf("url = %q", to.url)) {
			t.Fatalf("after migrate --to %s the config reads:\n%s", to.url, conf)
		}
		if got := w.mustRun("token").stdout; got != token {
			t.Fatalf("after migrate --to %s the token is %q, was %q", to.url, got, token)
		}
		if status := w.mustRun("status").stdout; !strings.Contains(status, to.where) {
			t.Fatalf("after migrate --to %s status says:\n%s", to.url, status)
		}
		if to.url != "keyring://" && len(kr.Items(t, "freshtoken")) != 0 {
			t.Fatalf("after migrate --to %s the keychain still holds %v", to.url, kr.Items(t, "freshtoken"))
		}
	}
	if st := w.provider.Stats(); st.Refreshes != 0 || st.Exchanges != 1 {
		t.Fatalf("provider saw %+v; moving the tokens must not renew them or need a log-in", st)
	}
	if r := w.mustRun("store", "migrate", "--to", "file://"+w.store); !strings.Contains(r.stderr, "nothing was moved") {
		t.Fatalf("migrate to the store in use: %q", r.stderr)
	}
	if _, err := os.Stat(w.storeFile()); err != nil {
		t.Fatalf("migrating to the store in use lost the record: %v", err)
	}
}

// TestMigrateKilledAtEveryStepLosesNothing: `store migrate` is killed with
// SIGKILL after the copy, after its check, after the old copy's deletion
// and before the config names the new store; run again, it finishes, and
// the grant works (a forced renewal succeeds with no refresh token reused).
func TestMigrateKilledAtEveryStepLosesNothing(t *testing.T) {
	for _, step := range []string{"copied", "verified", "deleted", "moved"} {
		t.Run(step, func(t *testing.T) {
			privateKeychain(t)
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			w.mustRun("token", "--force") // a rotated refresh token, which only the store holds
			killAt(t, w, step, "store", "migrate", "--to", "keyring://")

			// Before the run again, whichever store the config names has
			// the grant, or the other has it and the run again moves it.
			w.mustRun("store", "migrate", "--to", "keyring://")
			conf := w.readConfig()
			if !strings.Contains(conf, `url = "keyring://"`) {
				t.Fatalf("after the run again the config reads:\n%s", conf)
			}
			if _, err := os.Stat(w.storeFile()); !os.IsNotExist(err) {
				t.Fatalf("the old copy is still in the file store: %v", err)
			}
			w.mustRun("token", "--force")
			if st := w.provider.Stats(); st.Refreshes != 2 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
				t.Fatalf("provider saw %+v; want a second renewal with the rotated token, no reuse", st)
			}
		})
	}
}

// TestMigrationsKilledAtRandomNeverLoseTheGrant moves the tokens between
// the file store and the keychain, killing each move with SIGKILL at a
// random point of it (inside a keychain write included) and then running it
// again: the grant is never lost, and never renewed or logged in again.
func TestMigrationsKilledAtRandomNeverLoseTheGrant(t *testing.T) {
	privateKeychain(t)
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	token := w.mustRun("token").stdout
	stores := []string{"keyring://", "file://" + w.store}
	// A kill comes at a random point of a whole move the same way, timed
	// once each way. The kills were timed by the first move alone, to the
	// keychain: under load that one took from 33 to 173 ms, and when it
	// was slow most kills came after the moves had ended (7 of 30 killed,
	// and the test failed as proving nothing).
	took := map[string]time.Duration{}
	for _, to := range stores {
		start := time.Now()
		w.mustRun("store", "migrate", "--to", to)
		took[to] = time.Since(start)
	}
	// At least 30 moves, and more until 10 of them were killed mid-run.
	killed, moves := 0, 0
	for ; moves < 30 || killed < 10 && moves < 90; moves++ {
		to := stores[moves%2]
		if w.killAfter(rand.N(took[to]), "store", "migrate", "--to", to) {
			killed++
		}
		w.mustRun("store", "migrate", "--to", to)
		if got := w.mustRun("token").stdout; got != token {
			t.Fatalf("after move %d, killed or not, and a run again the token is %q, was %q", moves, got, token)
		}
	}
	if killed < 10 {
		t.Fatalf("only %d of %d moves were killed mid-run; the test proves nothing", killed, moves)
	}
	if st := w.provider.Stats(); st.Refreshes != 0 || st.Exchanges != 1 {
		t.Fatalf("provider saw %+v; the moves must not renew the tokens or need a log-in", st)
	}
	t.Logf("%d of %d moves killed mid-run (a whole move takes %v to the keychain, %v to files)", killed, moves, took[stores[0]], took[stores[1]])
}

// killAt runs freshtoken with args, paused at step, and kills it there with
// SIGKILL.
func killAt(t *testing.T, w *world, step string, args ...string) {
	t.Helper()
	p := w.watchWith(func(c *exec.Cmd) { c.Env = append(c.Env, "FRESHTOKEN_INTERNAL_MIGRATE_PAUSE="+step) }, args...)
	p.waitSaid(t, "paused at "+step)
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait()
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("freshtoken was not killed by SIGKILL: %v", p.cmd.ProcessState)
	}
}

// TestSignalWhileTheKeychainHoldsTheSecret: `token` renewing with its client
// secret in a keychain that does not answer (paused, as one waiting on an
// unlock prompt nobody sees): the first Ctrl-C, Ctrl-\, SIGTERM or SIGHUP
// ends it with 128+N and one line, nothing sent. The read did not watch the
// signal, which waited for the keychain's time limit (30 s) and then
// renewed all the same, or said the keychain did not answer.
func TestSignalWhileTheKeychainHoldsTheSecret(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			kr := privateKeychain(t)
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "") // tokens in files
			setSecretSource(t, w, "")
			cmd := w.command(context.Background(), "init", "-e", "dev", "--client-secret-keyring")
			cmd.Stdin = strings.NewReader("dev-client-secret\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("init --client-secret-keyring: %v\n%s", err, out)
			}
			w.login()
			w.age(time.Hour) // token renews
			requests := w.provider.Stats().TokenRequests
			kr.Pause(t)
			logFile := filepath.Join(t.TempDir(), "debug.log")
			run := w.watch("--debug", "--log-file", logFile, "token")
			testenv.WaitFor(t, "the client secret to be asked for", func() bool {
				logs, _ := os.ReadFile(logFile)
				return bytes.Contains(logs, []byte("fetching the client secret"))
			})
			run.cmd.Process.Signal(sig)
			endsInterruptedUnsent(t, w, run, sig, requests)
		})
	}
}

// TestMigrateKilledBetweenItsDeletionsFinishesThem: `store migrate --to
// keyring://` killed (SIGKILL, a power loss) once the config names the
// keychain and one environment's old copy is deleted, but not the other's:
// run again, it deletes the old copy the move left in the file store, and
// both grants work. It said the tokens were in the keychain already and left
// that file, with the live refresh token, on the disk for good.
func TestMigrateKilledBetweenItsDeletionsFinishesThem(t *testing.T) {
	privateKeychain(t)
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	conf, err := os.OpenFile(w.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conf, "\n[env.two]\nprovider = \"freeagent\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret_env = \"DEV_SECRET\"\nredirect_uri = \"http://127.0.0.1:%d/callback\"\n",
		w.api, testenv.FreePort(t))
	conf.Close()
	w.login("-e", "dev")
	w.login("-e", "two")
	killAt(t, w, "deleted", "store", "migrate", "--to", "keyring://")
	if _, err := os.Stat(filepath.Join(w.store, "two.json")); err != nil {
		t.Fatalf("the kill was not between the deletions: %v", err)
	}

	r := w.mustRun("store", "migrate", "--to", "keyring://")
	if left, _ := filepath.Glob(filepath.Join(w.store, "*.json")); len(left) != 0 {
		t.Fatalf("after the run again the file store still holds %v\n%s", left, r.stderr)
	}
	if !strings.Contains(r.stderr, "two") {
		t.Fatalf("the run again did not say what it deleted:\n%s", r.stderr)
	}
	w.mustRun("-e", "dev", "token", "--force")
	w.mustRun("-e", "two", "token", "--force")
	if st := w.provider.Stats(); st.Refreshes != 2 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v; want one renewal per grant, no reuse", st)
	}
}

// TestFileSizeLimitDoesNotStopTheKeychain: the keychain store writes no
// file but its empty lock files, so a job run under a file size limit
// (`ulimit -f 0`, as a runner's limits may set) renews as any other: it was
// refused, exit 2, saying the limit was "too small to store the tokens a
// renewal brings", which the keychain holds, and the tokens ran out.
func TestFileSizeLimitDoesNotStopTheKeychain(t *testing.T) {
	w, _ := keyringWorld(t, devprovider.Options{AccessTTL: time.Hour})
	w.login()
	stderr := w.watchAfter("exec >/dev/null; ulimit -f 0", "token", "--force").waitExit(t, 0)
	if strings.Contains(stderr, "ulimit") {
		t.Fatalf("stderr %q; want no word of the file size limit", stderr)
	}
	if s := w.provider.Stats(); s.Refreshes != 1 {
		t.Fatalf("provider stats %+v; want the renewal sent", s)
	}
	if found := stateRecords(t); len(found) != 0 {
		t.Fatalf("the keychain store wrote %v", found)
	}
}

// TestKeychainDaemonKilledDuringARenewal: the keychain's daemon dies
// (gnome-keyring-daemon killed: a crash, the OOM killer) while the
// provider answers a renewal, and comes back (started again). The rotated
// tokens are kept, the command says to start the keychain again and to
// keep keyring:// in [store], stores them once it is back, prints the new
// token, exit 0, and the next renewal spends it, the grant kept. The
// keychain gone was taken for a system without one: "install and start
// gnome-keyring", exit 2 (a configuration error) though the tokens were
// stored as it came back, and a renewal's answer was given up on after a
// second try where a locked keychain's is waited for.
func TestKeychainDaemonKilledDuringARenewal(t *testing.T) {
	w, run, stderr := renewalWithTheKeychainOut(t, (*keyringtest.Bus).Kill, (*keyringtest.Bus).Restart)
	if strings.Contains(stderr, "install") || !strings.Contains(stderr, "start it again") || !strings.Contains(stderr, "keep keyring:// in [store]") {
		t.Errorf("a renewal whose keychain daemon died said:\n%s\nwant: start it again, and keep keyring:// in [store]", stderr)
	}
	if printed, stored := strings.TrimSpace(run.output(t)), strings.TrimSpace(w.mustRun("token").stdout); printed == "" || printed != stored {
		t.Errorf("printed %q, stored %q; want the renewal's token, stored", printed, stored)
	}
	w.mustRun("token", "--force")
	if st := w.provider.Stats(); st.Refreshes != 2 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v; want two renewals, no reuse, and the grant kept", st)
	}
}
