//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestManyProcessesAtExpiryRefreshOnce starts 24 freshtoken processes at
// once on an expired token: exactly one refresh may reach the provider, and
// every process must print the same new token. With the tokens in Redis,
// the processes stand for machines sharing one authorisation.
func TestManyProcessesAtExpiryRefreshOnce(t *testing.T) {
	t.Run("file store", func(t *testing.T) { manyProcessesAtExpiry(t, "", "dev.json") })
	t.Run("redis store", func(t *testing.T) { manyProcessesAtExpiry(t, redistest.Start(t).URL, "(key freshtoken:dev)") })
	t.Run("keyring store", func(t *testing.T) {
		privateKeychain(t)
		manyProcessesAtExpiry(t, "keyring://", `system keychain (Secret Service) (service "freshtoken", account "dev")`)
	})
	// The keychain is one per user, whatever $XDG_STATE_HOME says: half
	// the processes with another one (a cron job, a service, a sandboxed
	// terminal without the shell's) took their renewal locks in another
	// folder, renewed at once with one refresh token, and the provider
	// ended the grant.
	t.Run("keyring store two state folders", func(t *testing.T) {
		privateKeychain(t)
		w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour, TokenDelay: 50 * time.Millisecond}, "keyring://", "")
		w.login()
		first := strings.TrimSpace(w.mustRun("token").stdout)
		clock.Advance(t, due(time.Hour)) // renewal due
		other := "XDG_STATE_HOME=" + t.TempDir()
		apart := func(i int) []string {
			if i%2 == 1 {
				return []string{other}
			}
			return nil
		}
		// Every process succeeds (a spent refresh token ended the grant:
		// exit 3) with the one renewed token, which lasts an hour: a late
		// process finds it valid, not due again.
		if tok := w.tokenInEveryProcessWith(24, apart); tok == first {
			t.Fatal("the token was not renewed")
		}
		if st := w.provider.Stats(); st.Refreshes != 1 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
			t.Fatalf("provider saw %+v; want exactly one refresh and no reuse", st)
		}
	})
}

// manyProcessesAtExpiry runs the test with the tokens at storeURL, which
// status shows as where.
func manyProcessesAtExpiry(t *testing.T, storeURL, where string) {
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour, TokenDelay: 50 * time.Millisecond}, storeURL, "")
	w.login()
	first := strings.TrimSpace(w.mustRun("token").stdout)
	before := w.provider.Stats().Refreshes
	// The renewed token lasts an hour, so a process that a loaded machine
	// starts late finds it valid, not due again.
	clock.Advance(t, due(time.Hour)) // renewal due
	if tok := w.tokenInEveryProcess(24); tok == first {
		t.Fatal("the token was not renewed")
	}
	if st := w.provider.Stats(); st.Refreshes-before != 1 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v (%d refreshes at expiry); want exactly one refresh and no reuse", st, st.Refreshes-before)
	}
	if status := w.mustRun("status").stdout; !strings.Contains(status, where) {
		t.Fatalf("the tokens are not in %s; status says:\n%s", where, status)
	}
}

// TestManyProcessesAtExpiryFetchOnce is the same with client credentials:
// 24 processes at expiry make exactly one token request, where there is no
// refresh token to guard and nothing but the lock keeps them from each
// asking for a token.
func TestManyProcessesAtExpiryFetchOnce(t *testing.T) {
	t.Parallel()
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: time.Hour, TokenDelay: 50 * time.Millisecond}, "", `grant = "client_credentials"`)
	first := strings.TrimSpace(w.mustRun("token").stdout)
	clock.Advance(t, due(time.Hour)) // a new token due; the new one lasts an hour, not due again for a late process
	before := w.provider.Stats().TokenRequests
	if tok := w.tokenInEveryProcess(24); tok == first {
		t.Fatal("no new token was fetched")
	}
	if st := w.provider.Stats(); st.TokenRequests-before != 1 || st.ClientCredentials != 2 || st.Refreshes != 0 {
		t.Fatalf("provider saw %+v (%d token requests at expiry); want exactly one", st, st.TokenRequests-before)
	}
}

// tokenInEveryProcess starts n `freshtoken token` processes at once and
// returns the token they all printed; it fails the test unless every one
// succeeded with the same token.
func (w *world) tokenInEveryProcess(n int) string {
	w.t.Helper()
	return w.tokenInEveryProcessWith(n, func(int) []string { return nil })
}

// tokenInEveryProcessWith is tokenInEveryProcess with env(i) added to the
// environment of process i.
func (w *world) tokenInEveryProcessWith(n int, env func(i int) []string) string {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmds := make([]*bytes.Buffer, n)
	errs := make([]*bytes.Buffer, n)
	var procs []*exec.Cmd
	for i := range n {
		cmd := w.command(ctx, "token")
		cmd.Env = append(cmd.Env, env(i)...)
		cmds[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = cmds[i], errs[i]
		procs = append(procs, cmd)
	}
	for _, p := range procs {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("process %d: %v: %s", i, err, errs[i])
		}
	}
	for i := range n {
		if tok, first := strings.TrimSpace(cmds[i].String()), strings.TrimSpace(cmds[0].String()); tok != first {
			t.Fatalf("process %d printed %q, process 0 %q", i, tok, first)
		}
	}
	return strings.TrimSpace(cmds[0].String())
}

// TestKilledRenewalsNeverLoseTheGrant kills renewing processes with SIGKILL
// at random points. The store must stay readable and the grant alive: the
// provider allows a short reuse grace for a token rotated out, as Okta does,
// which covers a process killed after the provider rotated but before it
// saved.
func TestKilledRenewalsNeverLoseTheGrant(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, ReuseGrace: time.Minute, TokenDelay: 5 * time.Millisecond, RefreshesPerMinute: 1000}, "")
	w.login()
	st := filestore.New(w.store)
	killed := 0
	for i := range 40 {
		if w.killAfter(time.Duration(rand.IntN(15_000))*time.Microsecond, "token", "--force") {
			killed++
		}
		if _, err := st.Load(context.Background(), "dev"); err != nil {
			t.Fatalf("after kill %d the store is unreadable: %v", i, err)
		}
	}
	if killed < 10 {
		t.Fatalf("only %d of 40 processes were killed mid-run; the test proves nothing", killed)
	}
	w.mustRun("token", "--force")
	w.mustRun("get", "/v2/company")
	if s := w.provider.Stats(); s.GrantsRevoked != 0 {
		t.Fatalf("the grant was revoked: %+v", s)
	}
	litter, _ := filepath.Glob(filepath.Join(w.store, ".*tmp*"))
	if len(litter) != 0 {
		t.Fatalf("temp files left behind: %v", litter)
	}
	entries, _ := os.ReadDir(w.store)
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %o", e.Name(), info.Mode().Perm())
		}
	}
	t.Logf("%d processes killed mid-run; provider %+v", killed, w.provider.Stats())
}

// TestManyForcedRenewalsAtOnceRenewOnce: 20 `token --force` processes
// begun at once, while another renewer holds the lock, make one token
// request and print its token: each renewed in turn under the lock, 20
// refreshes in a row, past FreeAgent's 15 a minute, each rotating the
// refresh token. A `token --force` begun after that renewal renews.
func TestManyForcedRenewalsAtOnceRenewOnce(t *testing.T) {
	const n = 20
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, RefreshesPerMinute: 1000}, "")
	w.login()
	old := strings.TrimSpace(w.mustRun("token").stdout)
	before := w.provider.Stats().Refreshes
	unlock, err := filestore.New(w.store).Lock(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	procs, outs, errs := w.startEvery(ctx, n, "--debug", "token", "--force")
	testenv.WaitFor(t, "every process to wait for the renewal lock", func() bool {
		return !slices.ContainsFunc(errs, func(o *testenv.Output) bool { return !strings.Contains(o.String(), "waiting for the renewal lock") })
	})
	unlock()
	toks := make([]string, n)
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("process %d: %v: %s", i, err, errs[i])
		}
		toks[i] = strings.TrimSpace(outs[i].String())
		if toks[i] != toks[0] || toks[i] == old {
			t.Fatalf("process %d printed %q, process 0 %q; want one new token (old %q)", i, toks[i], toks[0], old)
		}
	}
	if st := w.provider.Stats(); st.Refreshes-before != 1 || st.ReuseDetected != 0 {
		t.Fatalf("provider saw %+v: %d refreshes for %d forced renewals at once; want 1", st, st.Refreshes-before, n)
	}
	if again := strings.TrimSpace(w.mustRun("token", "--force").stdout); again == toks[0] || w.provider.Stats().Refreshes-before != 2 {
		t.Fatalf("a `token --force` begun after the renewal printed %q; want a renewal of its own", again)
	}
}

// startEvery starts n freshtoken processes at once with args, and returns
// them with their stdout and stderr.
func (w *world) startEvery(ctx context.Context, n int, args ...string) ([]*exec.Cmd, []*bytes.Buffer, []*testenv.Output) {
	outs, errs := make([]*bytes.Buffer, n), make([]*testenv.Output, n)
	procs := make([]*exec.Cmd, n)
	for i := range n {
		procs[i] = w.command(ctx, args...)
		outs[i], errs[i] = &bytes.Buffer{}, testenv.NewOutput()
		procs[i].Stdout, procs[i].Stderr = outs[i], errs[i]
		if err := procs[i].Start(); err != nil {
			w.t.Fatal(err)
		}
	}
	return procs, outs, errs
}

// TestMany401sAtOnceRenewOnce: 12 `get` processes at once whose access
// token the provider revoked, each answered 401, make one renewal between
// them, and each retries with its token and succeeds: a token renewed by
// another process after the request began is the fix for its 401.
func TestMany401sAtOnceRenewOnce(t *testing.T) {
	const n = 12
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, RefreshesPerMinute: 1000, RequestsPerMinute: -1}, "")
	w.login()
	w.mustRun("token")
	before := w.provider.Stats().Refreshes
	w.provider.RevokeAccessTokens()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	procs, _, errs := w.startEvery(ctx, n, "get", "/v2/company")
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("process %d: %v: %s", i, err, errs[i])
		}
	}
	if st := w.provider.Stats(); st.Refreshes-before != 1 || st.ReuseDetected != 0 {
		t.Fatalf("provider saw %+v: %d renewals for %d requests refused at once; want 1", st, st.Refreshes-before, n)
	}
}
