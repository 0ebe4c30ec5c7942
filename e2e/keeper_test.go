//go:build unix

package e2e_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestKeepersKeepAnIdleGrantAlive: refresh tokens that live an hour,
// nobody calling the API, and two keepers (`freshtoken proxy --no-listen`)
// on one store, a folder or Redis: the grant outlives two refresh-token
// lifetimes, renewed once per lifetime rather than once per keeper, with
// no reuse.
func TestKeepersKeepAnIdleGrantAlive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"file store", func(*testing.T) string { return "" }},
		{"redis store", func(t *testing.T) string { return redistest.Start(t).URL }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A keeper renews a tenth of the lifetime (6 minutes) before the
			// end: the clock moves on to 5 minutes before it, three times,
			// which ends the grant unless each move has its renewal.
			const life, moves = time.Hour, 3
			w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: 24 * time.Hour, RefreshTTL: life, RefreshesPerMinute: 1000}, tc.store(t), "")
			w.login()
			var keepers []func() int
			for range 2 {
				keepers = append(keepers, w.startDaemon("proxy", "--no-listen"))
			}
			for i := range moves {
				clock.Advance(t, life-5*time.Minute)
				testenv.WaitFor(t, "a keeper to renew", func() bool { return w.renewals() > i })
			}
			for _, stop := range keepers {
				if code := stop(); code != 143 {
					t.Errorf("a keeper exited %d after SIGTERM; want 143", code)
				}
			}
			st := w.provider.Stats()
			if st.Refreshes != moves || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
				t.Fatalf("provider stats %+v over %d moves of the clock past a renewal; want one renewal each, not one per keeper, and no reuse", st, moves)
			}
			w.mustRun("token", "--force") // the grant is alive
		})
	}
}

// TestTokenFileIsAlwaysFresh: with token_file set, the keeper keeps the file
// holding the current access token across many renewals; a reader polling
// it never finds it missing, partial or holding a token the API refuses.
func TestTokenFileIsAlwaysFresh(t *testing.T) {
	t.Parallel()
	t.Run("authorization code", func(t *testing.T) { tokenFileIsAlwaysFresh(t, "") })
	// With client credentials there is no grant to keep alive: the keeper
	// only fetches a token when the file's is due.
	t.Run("client credentials", func(t *testing.T) { tokenFileIsAlwaysFresh(t, `grant = "client_credentials"`) })
}

func tokenFileIsAlwaysFresh(t *testing.T, grant string) {
	t.Parallel()
	// The clock moves on until the file's token falls due: it has expired
	// at the next move unless the keeper has renewed it.
	const lifetime, moves = time.Hour, 3
	tokenFile := filepath.Join(t.TempDir(), "dev-token")
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: lifetime, RefreshesPerMinute: 1000, RequestsPerMinute: 100000}, "",
		fmt.Sprintf("token_file = %q\n%s", tokenFile, grant))
	if grant == "" {
		w.login()
	}
	w.startDaemon("proxy", "--no-listen")
	testenv.WaitFor(t, "the keeper to write the token file", func() bool { _, err := os.Stat(tokenFile); return err == nil })
	seen := map[string]bool{}
	// read reads the file as a reader would, and checks that the API takes
	// its token; it reports whether the token is one not seen before.
	read := func() bool {
		data, err := os.ReadFile(tokenFile)
		if err != nil {
			t.Fatalf("reading the token file: %v", err)
		}
		tok := strings.TrimSuffix(string(data), "\n")
		if !strings.HasPrefix(tok, "dev_at_") || len(tok) != 50 || strings.Contains(tok, "\n") {
			t.Fatalf("the token file holds %q", data)
		}
		req, _ := http.NewRequest(http.MethodGet, w.api+"v2/company", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, _ := testenv.Do(t, nil, req); resp.StatusCode != http.StatusOK {
			t.Fatalf("the API answered %d to the token in the file", resp.StatusCode)
		}
		if seen[tok] {
			return false
		}
		seen[tok] = true
		return true
	}
	read()
	for range moves {
		clock.Advance(t, due(lifetime))
		testenv.WaitFor(t, "the keeper to write a new token", read)
	}
	if info, err := os.Stat(tokenFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the token file's mode: %v, %v; want 0600", info.Mode(), err)
	}
	fetched := 0
	if grant != "" {
		fetched = 1 // the first token, which a log-in fetches otherwise
	}
	if st := w.provider.Stats(); st.ClientCredentials+st.Refreshes != moves+fetched {
		t.Fatalf("provider saw %+v over %d moves of the clock past a token's renewal; want a token each, no more", st, moves)
	}
}

// TestLogoutRemovesTheTokenFile: a token file the keeper wrote holds the
// access token a log-out forgets; logout (and remove) delete it with the
// tokens, also when no keeper runs to notice (it stayed, usable until the
// token expired, after "its tokens were deleted"). A file holding anything
// else is not theirs to delete.
func TestLogoutRemovesTheTokenFile(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "dev-token")
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, fmt.Sprintf("token_file = %q", tokenFile))
	written := func() {
		w.login()
		stop := w.startDaemon("proxy", "--no-listen")
		testenv.WaitFor(t, "the keeper to write the token file", func() bool { _, err := os.Stat(tokenFile); return err == nil })
		stop()
	}
	written()
	w.mustRun("logout", "--local")
	if _, err := os.Stat(tokenFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after logout the token file is still there (%v)", err)
	}
	written()
	w.mustRun("remove", "-e", "dev", "--yes")
	if _, err := os.Stat(tokenFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after remove the token file is still there (%v)", err)
	}

	w = newWorld(t, devprovider.Options{AccessTTL: time.Hour}, fmt.Sprintf("token_file = %q", tokenFile))
	w.login()
	if err := os.WriteFile(tokenFile, []byte("someone else's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.mustRun("logout", "--local")
	if data, err := os.ReadFile(tokenFile); err != nil || string(data) != "someone else's\n" {
		t.Fatalf("logout touched a token file holding another token: %q, %v", data, err)
	}
}

// TestAPersonIsToldWhenTheGrantEnds: the provider ends the grant while a
// keeper watches it; the keeper's renewal meets invalid_grant, and the
// person is told once, by command and by webhook, with the command to run
// and no secret.
func TestAPersonIsToldWhenTheGrantEnds(t *testing.T) {
	t.Parallel()
	var posts atomic.Int32
	var text atomic.Value
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		json.NewDecoder(r.Body).Decode(&body)
		text.Store(body.Text)
		posts.Add(1)
	}))
	defer hook.Close()
	told := filepath.Join(t.TempDir(), "told")
	w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 2 * time.Second}, "", "")
	notifyConf := fmt.Sprintf("[notify]\ncommand = %q\nwebhook = %q\n\n", `printf '%s|%s|%s\n' "$FRESHTOKEN_EVENT" "$FRESHTOKEN_ENV" "$FRESHTOKEN_MESSAGE" >>`+told, hook.URL)
	w.writeConfig(notifyConf + w.readConfig())
	w.login()
	w.provider.RevokeGrants()
	w.startDaemon("proxy", "--no-listen")
	// The command and the webhook are told at once, in either order.
	testenv.WaitFor(t, "the person to be told", func() bool {
		data, _ := os.ReadFile(told)
		return posts.Load() > 0 && strings.HasSuffix(string(data), "\n")
	})
	data, err := os.ReadFile(told)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "grant_ended|dev|dev: the provider refused the refresh token") || !strings.Contains(lines[0], w.suggested("run `freshtoken login -e dev`")) {
		t.Fatalf("the command was told %q", lines)
	}
	if got, _ := text.Load().(string); posts.Load() != 1 || !strings.Contains(got, w.suggested("run `freshtoken login -e dev`")) {
		t.Fatalf("the webhook got %d posts, the last %q", posts.Load(), got)
	}
	for _, s := range w.provider.Secrets() {
		if strings.Contains(string(data), s) || strings.Contains(text.Load().(string), s) {
			t.Fatal("a secret was sent")
		}
	}
}

// TestNotifyAddedUnderARunningKeeper: a [notify] added to the
// configuration while a keeper runs (the service started at log-in, long
// before) is used from its next look, as the environments are: the
// person is told when the grant ends, with no restart.
func TestNotifyAddedUnderARunningKeeper(t *testing.T) {
	t.Parallel()
	told := filepath.Join(t.TempDir(), "told")
	// The keeper renews the refresh token 6 minutes before it expires.
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: 24 * time.Hour, RefreshTTL: time.Hour}, "", "")
	w.login()
	w.startDaemon("proxy", "--no-listen")
	clock.Advance(t, 55*time.Minute)
	testenv.WaitFor(t, "the keeper's first renewal", func() bool { return w.renewals() > 0 })
	w.writeConfig(fmt.Sprintf("[notify]\ncommand = %q\n\n", `printf '%s\n' "$FRESHTOKEN_EVENT" >>`+told) + w.readConfig())
	w.provider.RevokeGrants()
	clock.Advance(t, 55*time.Minute)
	testenv.WaitFor(t, "the person to be told", func() bool {
		data, _ := os.ReadFile(told)
		return string(data) == "grant_ended\n"
	})
}

// TestProxyStartsTheUpgradedVersion: a package upgrade renames a new
// freshtoken over the one a running proxy was started from. The proxy
// stops, seeing any renewal through, and starts the new version in its
// place (same process, same arguments), which serves on: left running the
// old version beside newer commands, it shared their token store while
// taking its locks where they might not, and the two spent one refresh
// token.
func TestProxyStartsTheUpgradedVersion(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	run, bin, install, data := w.upgradableProxy(addr)
	get := func() {
		t.Helper()
		if resp, body := followed(t, "http://"+addr+"/dev/v2/company"); resp.StatusCode != http.StatusOK {
			t.Fatalf("through the proxy: %d %s", resp.StatusCode, body)
		}
	}
	run.waitSaid(t, "freshtoken proxy running at")
	get()
	// A replacement that cannot start (a broken download, another
	// machine's build) leaves the old version serving, and is not retried.
	install([]byte("#!/bin/sh\nexit 1\n"))
	run.waitSaid(t, "does not start")
	get()
	install(data)
	run.waitSaid(t, "starting the new version, "+bin)
	testenv.WaitFor(t, "the new version to serve", func() bool {
		return strings.Count(run.stderr.String(), "freshtoken proxy running at") == 2
	})
	get()
	if n := strings.Count(run.stderr.String(), "does not start"); n != 1 {
		t.Fatalf("the broken replacement was tried %d times:\n%s", n, run.stderr)
	}
	runsTheNewBinary(t, run, bin)
}

// TestProxyUpgradeWaitsForALogIn: freshtoken is upgraded while a log-in
// through the proxy waits for its browser at the provider. The proxy
// starts the new version once the browser has come back and the tokens
// are stored: it stopped at once, the log-in's state and PKCE verifier
// went with it, and the browser came back to a proxy that had never begun
// it. A log-in left at the provider holds it for 20 looks at most.
func TestProxyUpgradeWaitsForALogIn(t *testing.T) {
	t.Parallel()
	for _, approved := range []bool{true, false} {
		t.Run(map[bool]string{true: "approved", false: "left at the provider"}[approved], func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			_, addr := w.redirectAddr()
			run, bin, install, data := w.upgradableProxy(addr)
			run.waitSaid(t, "freshtoken proxy running at")
			login := w.watch("login", "--no-browser", "--timeout", "50s")
			authURL := w.openLoginLink(login)
			install(data)
			run.waitSaid(t, "starts the new version once the log-in under way ends")
			if !approved {
				run.waitSaid(t, "starting the new version, "+bin)
				return
			}
			// Approved, back to the proxy's callback, which stores the
			// tokens and sends the browser on to its status page. That
			// page is not asked for: the restart may already be under
			// way, and under load it came first, refusing the connection.
			toCallback := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
				if r.URL.Query().Has("done") {
					return http.ErrUseLastResponse
				}
				return nil
			}}
			resp, err := toCallback.Get(authURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if done := resp.Header.Get("Location"); !strings.Contains(done, "done=logged-in") {
				t.Fatalf("the callback answered %d, Location %q; want the status page saying logged-in", resp.StatusCode, done)
			}
			login.waitExit(t, 0)
			run.waitSaid(t, "starting the new version, "+bin)
		})
	}
}

// upgradableProxy runs `freshtoken proxy --listen addr` from a copy of the
// binary, which looks for its replacement every 100 ms, until the test
// ends; install replaces that copy with data, as a package upgrade does,
// and data is the binary's own.
func (w *world) upgradableProxy(addr string) (run *watched, bin string, install func(data []byte), data []byte) {
	t := w.t
	t.Helper()
	bin = filepath.Join(t.TempDir(), "freshtoken")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	install = func(data []byte) {
		if err := os.WriteFile(bin+".new", data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(bin+".new", bin); err != nil { // as dpkg and brew do
			t.Fatal(err)
		}
	}
	install(data)
	w.env = append(w.env, "FRESHTOKEN_INTERNAL_UPGRADE_CHECK=100ms")
	cmd := w.command(t.Context(), "proxy", "--listen", addr)
	cmd.Path, cmd.Args[0] = bin, bin
	run = &watched{cmd: cmd, stderr: testenv.NewOutput()}
	cmd.Stderr = run.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); run.stderr.Close() }()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); <-run.stderr.Closed() })
	return run, bin, install, data
}

// TestKeeperSaysAtOnceWhenTheSecretCannotBeHad: a proxy, or a keeper
// alone, started where the client secret's variable is empty (a service
// does not see what a terminal exported) says so as it starts, as status
// does; it said nothing until a renewal failed for want of the secret,
// perhaps hours later. One whose secret can be had says nothing of it.
func TestKeeperSaysAtOnceWhenTheSecretCannotBeHad(t *testing.T) {
	for _, args := range [][]string{{"proxy", "--no-listen"}, {"proxy", "--listen", "127.0.0.1:0"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.env = append(w.env, "DEV_SECRET=")
			run := w.watch(args...)
			run.waitSaid(t, "freshtoken: dev: warning: $DEV_SECRET is empty here, so a renewal or log-in fails for want of the client secret; set it (export DEV_SECRET=…) where freshtoken runs")
			run.cmd.Process.Signal(syscall.SIGTERM)
			testenv.Receive(t, "freshtoken to stop", run.stderr.Closed())

			w = newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			run = w.watch(args...)
			run.waitSaid(t, "(Ctrl-C to stop)")
			run.cmd.Process.Signal(syscall.SIGTERM)
			testenv.Receive(t, "freshtoken to stop", run.stderr.Closed())
			if strings.Contains(run.stderr.String(), "warning") {
				t.Errorf("a secret that can be had was warned of:\n%s", run.stderr)
			}
		})
	}
}

// TestKeeperSaysAtOnceWhenRedisMayNotBeWritten: a proxy, or a keeper
// alone, whose Redis user may read freshtoken's keys but not write them
// (an ACL user of +@read alone) says so at its first look, naming the
// user's permissions; it said nothing until a renewal failed, perhaps
// hours later. The look writes nothing to Redis. A user that may write is
// not warned of. A Redis that evicts keys when full is warned of too.
func TestKeeperSaysAtOnceWhenRedisMayNotBeWritten(t *testing.T) {
	const warning = "keeper: the token store is not set up as renewals need"
	for _, args := range [][]string{{"proxy", "--no-listen"}, {"proxy", "--listen", "127.0.0.1:0"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			srv := redistest.Start(t)
			srv.SetFleetUser(t, "freshtoken", "pw")
			w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, "redis://freshtoken:pw@"+srv.Addr+"/0", "")
			w.login()
			run := w.watch(args...)
			run.waitSaid(t, "(Ctrl-C to stop)")
			run.cmd.Process.Signal(syscall.SIGTERM)
			testenv.Receive(t, "freshtoken to stop", run.stderr.Closed())
			if strings.Contains(run.stderr.String(), warning) {
				t.Errorf("a user that may write was warned of:\n%s", run.stderr)
			}

			srv.SetUser(t, "freshtoken", "reset", "on", ">pw", "~freshtoken:*", "+@read")
			run = w.watch(args...)
			run.waitSaid(t, warning)
			run.cmd.Process.Signal(syscall.SIGTERM)
			testenv.Receive(t, "freshtoken to stop", run.stderr.Closed())
			if out := run.stderr.String(); !strings.Contains(out, "env=dev") || !strings.Contains(out, "refused access") || !strings.Contains(out, "permissions") || strings.Contains(out, "freshtoken:pw") {
				t.Errorf("the warning does not name the environment and the permissions to check:\n%s", out)
			}
			if got := srv.Command(t, "DBSIZE"); got != ":1" {
				t.Errorf("DBSIZE %s after the keeper's look; want 1, the record alone", got)
			}

			// A user that may write, and ask Redis's settings, of a Redis
			// that evicts keys when full (its locks and marks with them).
			srv.SetUser(t, "freshtoken", "reset", "on", ">pw", "~freshtoken:*", "+@all")
			for _, set := range [][]string{{"maxmemory", "100mb"}, {"maxmemory-policy", "volatile-lru"}} {
				if got := srv.Command(t, "CONFIG", "SET", set[0], set[1]); got != "+OK" {
					t.Fatal(got)
				}
			}
			run = w.watch(args...)
			run.waitSaid(t, warning)
			run.cmd.Process.Signal(syscall.SIGTERM)
			testenv.Receive(t, "freshtoken to stop", run.stderr.Closed())
			if out := run.stderr.String(); !strings.Contains(out, "evicts keys") || !strings.Contains(out, "noeviction") {
				t.Errorf("the warning does not say Redis evicts keys, and to set noeviction:\n%s", out)
			}
		})
	}
}

// TestKeeperWarnsOfAWebhookInClear: a [notify] webhook written as plain
// http:// to another machine is said as the keeper starts, without its
// address: anyone on the way reads the address, often the webhook's only
// password, with every notice. It was posted to in silence, as no other
// address of freshtoken's (an api_url, a token_url) is, which init and
// login warn of. One on this machine is no warning.
func TestKeeperWarnsOfAWebhookInClear(t *testing.T) {
	const warning = "freshtoken: warning: [notify] webhook is plain http:// to another machine"
	for _, tt := range []struct {
		webhook string
		warned  bool
	}{
		{"HTTP://hooks.example.com/services/T0/B0/SECRETPATH", true},
		{"http://127.0.0.1:1/services/T0/B0/SECRETPATH", false},
		{"https://hooks.example.com/services/T0/B0/SECRETPATH", false},
	} {
		t.Run(tt.webhook, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.writeConfig(fmt.Sprintf("[notify]\nwebhook = %q\n\n", tt.webhook) + w.readConfig())
			run := w.watch("proxy", "--no-listen")
			run.waitSaid(t, "(Ctrl-C to stop)")
			if tt.warned {
				run.waitSaid(t, warning)
			}
			run.cmd.Process.Signal(syscall.SIGTERM)
			testenv.Receive(t, "freshtoken to stop", run.stderr.Closed())
			said := run.stderr.String()
			if !tt.warned && strings.Contains(said, warning) {
				t.Errorf("warned:\n%s", said)
			}
			if strings.Contains(said, "SECRETPATH") {
				t.Errorf("the webhook's address was shown:\n%s", said)
			}
		})
	}
}

// TestTokenFileNamingTheLogFileIsRefused: an edit under a running proxy
// that names its --log-file as a token_file (which --log-file refuses at
// the start) is refused by the keeper, which says so in the log: it
// replaced the log with the access token, and the log then went on into
// the token file, whose readers sent log lines as the token.
func TestTokenFileNamingTheLogFileIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile, logFile := filepath.Join(dir, "dev-token"), filepath.Join(dir, "proxy.log")
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour}, "", fmt.Sprintf("token_file = %q\ngrant = \"client_credentials\"", tokenFile))
	w.startDaemon("proxy", "--no-listen", "--log-file", logFile)
	testenv.WaitFor(t, "the keeper to write the token file", func() bool { _, err := os.Stat(tokenFile); return err == nil })
	w.writeConfig(strings.Replace(w.readConfig(), tokenFile, logFile, 1))
	clock.Advance(t, due(time.Hour)) // the keeper looks, to write a new token
	testenv.WaitFor(t, "the keeper to say it does not write the log file", func() bool {
		data, _ := os.ReadFile(logFile)
		return strings.Contains(string(data), "is this process's --log-file")
	})
	if data, _ := os.ReadFile(logFile); strings.Contains(string(data), "dev_at_") {
		t.Fatalf("the log holds an access token:\n%s", data)
	}
}

// TestAKeeperPutsBackWhatARedisRestartLost: a keeper (`proxy --no-listen`)
// on a Redis that keeps nothing on disk warns of it as it starts; Redis
// restarts, empty, and every machine said "not logged in" though the
// keeper held the grant's latest tokens. The keeper puts them back, saying
// nothing was lost, and another machine's `token` works without a log-in;
// a log-out after that is never undone by the keeper.
func TestAKeeperPutsBackWhatARedisRestartLost(t *testing.T) {
	t.Parallel()
	srv := redistest.StartWithoutPersistence(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	// A token file: the keeper looks as its token falls due, which the
	// test clock brings.
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour}, srv.URL, fmt.Sprintf("token_file = %q", tokenFile))
	w.login()
	other := w.writeOtherConfig("other.toml", w.readConfig()) // another machine's
	run := w.watch("proxy", "--no-listen")
	run.waitSaid(t, "keeps nothing on disk")
	run.waitSaid(t, "appendonly yes")
	testenv.WaitFor(t, "the keeper's first look to write the token file (it holds the tokens then)", func() bool {
		_, err := os.Stat(tokenFile)
		return err == nil
	})

	srv.Restart(t)
	movedUntil(t, clock, due(time.Hour), "the keeper to put the tokens back", func() bool { return srv.Get(t, "freshtoken:dev") != "" })
	run.waitSaid(t, "nothing is lost")
	if r := w.run("--config", other, "token"); r.code != 0 || r.stdout == "" {
		t.Fatalf("another machine's token after the restart: exit %d, %s", r.code, r.stderr)
	}

	w.mustRun("--config", other, "logout")
	movedUntil(t, clock, due(time.Hour), "the keeper to see the log-out (its token file removed)", func() bool {
		_, err := os.Stat(tokenFile)
		return errors.Is(err, os.ErrNotExist)
	})
	run.cmd.Process.Signal(syscall.SIGTERM)
	out := run.waitExit(t, 143)
	if v := srv.Get(t, "freshtoken:dev"); v != "" {
		t.Fatalf("the keeper undid the log-out: %s\n%s", v, out)
	}
	if n := strings.Count(out, "nothing is lost"); n != 1 {
		t.Errorf("%d put-backs said; want 1:\n%s", n, out)
	}
	if st := w.provider.Stats(); st.ReuseDetected != 0 || st.GrantsRevoked > 1 {
		t.Errorf("provider stats %+v; want no reuse", st)
	}
}
