package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestStatusTellsOfARedisUserThatMayNotWrite: a Redis store whose user may
// read freshtoken's keys but not write them (an ACL user of +@read alone)
// is told of by status, for each environment, naming the user's
// permissions to check, and status exits 2, a configuration error, as the
// renewal it foretells does. It showed all well and exited 0, and the
// next renewal (hours later perhaps, in a proxy) found it out. Finding it
// out writes nothing: the record and another machine's renewal lock are
// as they were, and no key is added. The user the docs give is all well.
func TestStatusTellsOfARedisUserThatMayNotWrite(t *testing.T) {
	srv := redistest.Start(t)
	srv.SetUser(t, "ro", "on", ">ro-password-1", "~freshtoken:*", "+@read")
	srv.SetFleetUser(t, "fleet", "fleet-password-2")
	e := newDevEnv(t)
	useRedis := func(user string) {
		t.Helper()
		e.useStore(t, "redis://"+user+"@"+srv.Addr+"/0")
	}
	useRedis("fleet:fleet-password-2")
	e.loginOutside(t)
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rc.Close()
	record := rc.Get(t.Context(), "freshtoken:dev").Val()
	if r := srv.Command(t, "SET", "freshtoken:dev:lock", "another-machine", "PX", "3600000"); r != "+OK" {
		t.Fatal(r)
	}
	if !e.wantStatus(t, "with the user the docs give", 0) {
		t.FailNow()
	}

	useRedis("ro:ro-password-1")
	e.wantStatus(t, "with a user that may only read", 2, "logged in:      yes", "problem:        dev: could not save the tokens: Redis at redis://"+srv.Addr+"/0 refused access", "the user's permissions")
	var dev struct {
		LoggedIn     bool   `json:"logged_in"`
		StoreProblem string `json:"store_problem"`
	}
	code, printed := e.statusJSON(t, &dev)
	if code != 2 || !dev.LoggedIn || !strings.Contains(dev.StoreProblem, "refused access") {
		t.Errorf("status --json: exit %d, %s; want 2 and store_problem", code, printed)
	}
	if strings.Contains(printed, "ro-password-1") {
		t.Errorf("the password shows: %s", printed)
	}
	// It is so: the renewal it foretells fails, a configuration error.
	ios, _, stderr := testStreams(false, false)
	srv.Command(t, "DEL", "freshtoken:dev:lock")
	if code := e.run(ios, "token", "--force"); code != 2 || !strings.Contains(stderr.String(), "refused access") {
		t.Errorf("token --force with the user that may only read: exit %d, stderr %q; want 2, refused access", code, stderr)
	}
	if r := srv.Command(t, "SET", "freshtoken:dev:lock", "another-machine", "PX", "3600000"); r != "+OK" {
		t.Fatal(r)
	}
	ios, _, _ = testStreams(false, false)
	e.run(ios, "status")
	if got := rc.Get(t.Context(), "freshtoken:dev").Val(); got != record || record == "" {
		t.Errorf("the record after status: %s; want it as it was, %s", got, record)
	}
	if got := rc.Get(t.Context(), "freshtoken:dev:lock").Val(); got != "another-machine" {
		t.Errorf("another machine's lock after status: %q; want it as it was", got)
	}
	if ttl := rc.PTTL(t.Context(), "freshtoken:dev:lock").Val(); ttl > time.Hour || ttl <= 0 {
		t.Errorf("another machine's lock lives %v after status; want it untouched (an hour at most)", ttl)
	}
	if got := srv.Command(t, "DBSIZE"); got != ":2" {
		t.Errorf("DBSIZE after status: %s; want 2, the record and the lock alone", got)
	}
}

// TestStatusWaitsForAStalledStoreOnce: a Redis that takes connections and
// never answers (paused, a network that loses its answers) is waited for
// once, not once for each environment: status with three environments
// waited three times as long as with one (48 s to 16 s, measured), and
// dialled it three times as often. Each environment tells the problem.
func TestStatusWaitsForAStalledStoreOnce(t *testing.T) {
	var conns atomic.Int32
	addr := testenv.Serve(t, func(c net.Conn) {
		conns.Add(1)
		io.Copy(io.Discard, c)
	})
	e := newDevEnv(t)
	e.useStore(t, "redis://"+addr+"/0?read_timeout=100ms")
	status := func() (dials int32, stdout string) {
		t.Helper()
		conns.Store(0)
		ios, out, _ := testStreams(false, false)
		if code := e.run(ios, "status"); code != 5 {
			t.Fatalf("status with Redis stalled: exit %d; want 5\n%s", code, out)
		}
		return conns.Load(), out.String()
	}
	one, _ := status()
	for _, name := range []string{"b", "c"} {
		e.configureAs(t, name, "dev-client-id", config.EnvSettings{ClientSecret: "dev-client-secret"})
	}
	three, out := status()
	if three != one || strings.Count(out, "did not answer within 100ms") != 3 {
		t.Fatalf("status of three environments dialled the stalled Redis %d times, of one %d; want as often, each environment telling the problem\n%s", three, one, out)
	}
}

// TestStatusTellsOfARedisThatEvicts: status on a Redis with a maxmemory
// and a policy that evicts (volatile-lru, which docs/fleets.md called safe)
// says, exit 2, that it may drop a renewing machine's lock and in-flight
// mark and to set noeviction: such a Redis, filled by another of its
// users, let a second machine take the lock and send the refresh token a
// first one's request in flight was spending. With noeviction it is quiet.
func TestStatusTellsOfARedisThatEvicts(t *testing.T) {
	srv := redistest.Start(t)
	e := newDevEnv(t)
	e.useStore(t, "redis://"+srv.Addr+"/0")
	e.loginOutside(t)
	srv.Command(t, "CONFIG", "SET", "maxmemory", "100mb")
	srv.Command(t, "CONFIG", "SET", "maxmemory-policy", "volatile-lru")
	e.wantStatus(t, "on a Redis that evicts", 2, "problem:        dev: Redis at redis://"+srv.Addr+"/0 evicts keys", "volatile-lru", "set maxmemory-policy noeviction")
	srv.Command(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")
	e.wantStatus(t, "on a Redis that evicts nothing", 0)
}

// TestStatusTellsOfEvictionForAUserWithoutInfo: a Redis user that may
// renew but not run INFO (set up before docs/fleets.md gave +info), on a
// Redis that evicts keys: status told only that a restart would lose the
// tokens, and exited 0, the eviction, which may let two machines spend one
// refresh token, left unsaid. It now says the Redis evicts, exit 2.
func TestStatusTellsOfEvictionForAUserWithoutInfo(t *testing.T) {
	srv := redistest.Start(t)
	srv.SetUser(t, "noinfo", "on", ">noinfo-password-3", "~freshtoken:*", "+@all", "-info")
	e := newDevEnv(t)
	e.useStore(t, "redis://noinfo:noinfo-password-3@"+srv.Addr+"/0")
	e.loginOutside(t)
	srv.Command(t, "CONFIG", "SET", "maxmemory", "100mb")
	srv.Command(t, "CONFIG", "SET", "maxmemory-policy", "volatile-lru")
	e.wantStatus(t, "as a user without +info on a Redis that evicts", 2, "evicts keys")
	srv.Command(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")
	e.wantStatus(t, "as a user without +info on a Redis that evicts nothing", 0, "+info")
}

// TestStatusTellsOfARedisWithoutInfo: a Redis where INFO is renamed or
// disabled (rename-command INFO in redis.conf, as managed Redis services
// do) cannot tell a restart that lost the tokens from a log-out, as one
// whose user lacks +info cannot: status tells of it in the same problem
// row, exit 0 (renewals go on). It said nothing.
func TestStatusTellsOfARedisWithoutInfo(t *testing.T) {
	srv := redistest.StartWithoutInfo(t)
	e := newDevEnv(t)
	e.useStore(t, "redis://"+srv.Addr+"/0")
	e.loginOutside(t)
	e.wantStatus(t, "on a Redis without INFO", 0, "problem:        dev: INFO is not available at Redis at redis://"+srv.Addr+"/0")
}

// TestStatusTellsOfARedisWithoutPersistence: status on a Redis that keeps
// nothing on disk (no save point, appendonly no) says that a restart loses
// the tokens but those a running freshtoken puts back, and to set
// appendonly yes; it said nothing, and a restart made everyone log in
// again. It exits 0: renewals go on, and nothing is spent twice (a fleet's
// scripts that check status did not start failing). With appendonly yes
// it is quiet, and so it is for a user not allowed CONFIG.
func TestStatusTellsOfARedisWithoutPersistence(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	e := newDevEnv(t)
	e.useStore(t, "redis://"+srv.Addr+"/0")
	e.loginOutside(t)
	e.wantStatus(t, "on a Redis without persistence", 0, "problem:        dev: Redis at redis://"+srv.Addr+"/0 keeps nothing on disk", "puts back", "set appendonly yes")
	srv.Command(t, "CONFIG", "SET", "appendonly", "yes")
	e.wantStatus(t, "on a Redis with appendonly yes", 0)
	srv.Command(t, "CONFIG", "SET", "appendonly", "no")
	srv.SetFleetUser(t, "freshtoken", "pw")
	e.useStore(t, "redis://freshtoken:pw@"+srv.Addr+"/0")
	e.wantStatus(t, "as a user not allowed CONFIG", 0)
}

// wantStatus runs status and reports whether it exited code with stdout
// saying every one of says (with none given: telling of no problem);
// when not, it fails the test, saying what status was run on.
func (e *devEnv) wantStatus(t *testing.T, on string, code int, says ...string) bool {
	t.Helper()
	ios, stdout, stderr := testStreams(false, false)
	got := e.run(ios, "status")
	ok := got == code
	for _, s := range says {
		ok = ok && strings.Contains(stdout.String(), s)
	}
	want := fmt.Sprintf("saying %q", says)
	if len(says) == 0 {
		ok, want = ok && !strings.Contains(stdout.String(), "problem"), "no problem"
	}
	if !ok {
		t.Errorf("status %s: exit %d, stdout %q, stderr %q; want %d, %s", on, got, stdout, stderr, code, want)
	}
	return ok
}

// statusJSON runs status --json on a configuration of one environment,
// decodes that environment's object into env, and returns the exit code
// and all that status printed (stdout, then stderr), to look for what must
// not show; it fails the test when stdout is not a list of one object.
func (e *devEnv) statusJSON(t *testing.T, env any) (code int, printed string) {
	t.Helper()
	ios, stdout, stderr := testStreams(false, false)
	code = e.run(ios, "status", "--json")
	var all []json.RawMessage
	err := json.Unmarshal(stdout.Bytes(), &all)
	if err == nil && len(all) == 1 {
		err = json.Unmarshal(all[0], env)
	}
	if err != nil || len(all) != 1 {
		t.Fatalf("status --json: exit %d, stdout %s, stderr %q (%v); want a list of one environment", code, stdout, stderr, err)
	}
	return code, stdout.String() + stderr.String()
}

// TestStatusTellsOfAnUnsetSecretVariable: an environment whose client
// secret comes from client_secret_env naming a variable that is not set
// (or is empty) here is told of in its client secret's line, with the
// variable to set, and in --json (client_secret_problem); status exits 2,
// a configuration error, as the renewal it foretells does. It showed all
// well and exited 0, and the next renewal failed. The secret never shows.
func TestStatusTellsOfAnUnsetSecretVariable(t *testing.T) {
	const secretVar = "FRESHTOKEN_TEST_STATUS_SECRET"
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecretEnv: secretVar})
	t.Setenv(secretVar, "dev-client-secret")
	e.loginOutside(t)

	if !e.wantStatus(t, "with $"+secretVar+" set", 0, "client secret:  $"+secretVar+"\n") {
		t.FailNow()
	}

	for _, tc := range []struct {
		name  string
		set   func()
		state string
	}{
		{"unset", func() { os.Unsetenv(secretVar) }, "is not set"},
		{"empty", func() { os.Setenv(secretVar, " ") }, "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.set()
			e.wantStatus(t, "with $"+secretVar+" "+tc.name, 2, "client secret:  $"+secretVar+" "+tc.state+" here, so a renewal or log-in fails for want of the client secret; set it (export "+secretVar+"=…) where freshtoken runs\n", "logged in:      yes")
			var dev struct {
				ClientSecretIn      string `json:"client_secret_in"`
				ClientSecretProblem string `json:"client_secret_problem"`
			}
			if code, printed := e.statusJSON(t, &dev); code != 2 || dev.ClientSecretIn != "$"+secretVar ||
				!strings.Contains(dev.ClientSecretProblem, tc.state) || !strings.Contains(dev.ClientSecretProblem, "export "+secretVar+"=") {
				t.Errorf("status --json: exit %d, %s; want 2 and client_secret_problem", code, printed)
			}
			// It is so: the renewal it foretells fails, a configuration error.
			ios, _, stderr := testStreams(false, false)
			if code := e.run(ios, "token", "--force"); code != 2 || !strings.Contains(stderr.String(), secretVar) {
				t.Errorf("token --force: exit %d, stderr %q; want 2 naming $%s", code, stderr, secretVar)
			}
		})
	}

	os.Setenv(secretVar, "dev-client-secret")
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status", "--json"); code != 0 || strings.Contains(stdout.String(), "client_secret_problem") || strings.Contains(stdout.String()+stderr.String(), "dev-client-secret") {
		t.Fatalf("status --json with $%s set again: exit %d, stdout %s; want 0, no problem and no secret", secretVar, code, stdout)
	}
}

// TestStatusExitsTwoForAStoreItWillNotUse: a token store that every
// command refuses to use (a folder where the record belongs, a token folder
// others may read) is a problem with what the environment needs here, as a
// store that refused access is: status tells of it and exits 2, as the
// token command does. It told of it and exited 0, which a script took for
// all well.
func TestStatusExitsTwoForAStoreItWillNotUse(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec := filepath.Join(e.dir, "state", "dev.json")
	if err := os.Remove(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(rec, 0o700); err != nil {
		t.Fatal(err)
	}
	e.wantStatus(t, "with a folder at the record's place", 2, rec+" is not a regular file")
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "token"); code != 2 {
		t.Errorf("token with a folder at the record's place: exit %d, stderr %q; want 2", code, stderr)
	}
}

// TestStatusExitsTwoForARecordOfANewerFreshtoken: a record written by a
// newer freshtoken (an upgrade rolled back) is one no command of this one
// uses: `token` exits 2, saying to upgrade, and so does `status` (also
// --json), which exited 0, saying every environment had what it needed.
func TestStatusExitsTwoForARecordOfANewerFreshtoken(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec, newer := e.newerRecord(t)
	ios, _, stderr := testStreams(false, false)
	tokenCode := e.run(ios, "token")
	if tokenCode != 2 || !strings.Contains(stderr.String(), "upgrade freshtoken") {
		t.Fatalf("token: exit %d, stderr %q; want 2, saying to upgrade", tokenCode, stderr)
	}
	for _, args := range [][]string{{"status"}, {"status", "--json"}} {
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, args...); code != tokenCode || !strings.Contains(stdout.String(), "written by a newer freshtoken (format 99); upgrade freshtoken") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d telling of it", strings.Join(args, " "), code, stdout, stderr, tokenCode)
		}
	}
	if got, _ := os.ReadFile(rec); string(got) != newer {
		t.Errorf("the record changed: %s", got)
	}
}

// TestStatusTellsOfAnUnusableAccessToken: a stored access token that no
// command can use (bound to a key, or holding a control character) is told
// of by `status`, with the command that fetches another, in --json
// (access_token_unusable) too, and status exits 5, as each command using
// it does. It showed "logged in: yes" and exited 0, while every command
// failed.
func TestStatusTellsOfAnUnusableAccessToken(t *testing.T) {
	for name, c := range map[string]struct{ tokenType, accessToken, want string }{
		"bound to a key":      {"DPoP", "", `of type "DPoP", bound to a key`},
		"a control character": {"Bearer", "abc\x1b[2Jdef", "holding control or non-ASCII characters"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			rec := e.record(t, "dev")
			rec.TokenType = c.tokenType
			if c.accessToken != "" {
				rec.AccessToken = c.accessToken
			}
			e.save(t, "dev", rec)
			fix := "run `freshtoken --config " + e.config + " token --force -e dev` for another"

			ios, stdout, stderr := testStreams(false, false)
			if code := e.run(ios, "status"); code != 5 {
				t.Errorf("status exited %d; want 5, as a command using the token does\n%s%s", code, stdout, stderr)
			}
			for _, want := range []string{"logged in:      yes, but the stored access token cannot be used", "access token:   cannot be used: ", c.want, fix} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("status = %q; want it to say %q", stdout, want)
				}
			}
			if strings.Contains(stdout.String(), "access token:   expires") {
				t.Errorf("status gives the unusable access token's expiry: %q", stdout)
			}

			var dev map[string]any
			code, printed := e.statusJSON(t, &dev)
			if code != 5 {
				t.Errorf("status --json exited %d; want 5\n%s", code, printed)
			}
			got, _ := dev["access_token_unusable"].(string)
			if !strings.Contains(got, c.want) || !strings.Contains(got, fix) {
				t.Errorf("access_token_unusable = %q; want it to say %q and %q", got, c.want, fix)
			}
			if dev["logged_in"] != true || dev["access_token_held"] != true {
				t.Errorf("status --json = %v; the existing fields changed (logged_in and access_token_held stay true: the grant is kept)", dev)
			}
			for _, s := range []string{rec.AccessToken, rec.RefreshToken} {
				if strings.Contains(printed, s) {
					t.Errorf("status --json shows a token")
				}
			}
		})
	}
}

// TestStatusOfAUsableTokenSaysNothingOfIt: with a bearer token, --json
// has no access_token_unusable, and status exits 0.
func TestStatusOfAUsableTokenSaysNothingOfIt(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status", "--json"); code != 0 {
		t.Fatalf("status --json exited %d\n%s", code, stderr)
	}
	if strings.Contains(stdout.String(), "access_token_unusable") {
		t.Errorf("status --json of a usable token = %s", stdout)
	}
}

// TestStatusOfAnUnusableClientCredentialsToken: with client credentials,
// status read "logged in: not needed, but the stored access token cannot
// be used", a "but" against nothing; it reads "not needed; the stored
// access token cannot be used".
func TestStatusOfAnUnusableClientCredentialsToken(t *testing.T) {
	e := newDevEnv(t)
	e.clientCredentialsToken(t)
	rec := e.record(t, "dev")
	rec.TokenType = "DPoP"
	e.save(t, "dev", rec)
	e.wantStatus(t, "of an unusable client-credentials token", 5, "logged in:      not needed; the stored access token cannot be used\n", "access token:   cannot be used: ")
}

// TestStatusTellsOfARefreshTokenRenewingDoesNotExtend: a refresh token
// whose expiry renewals have been seen not to extend (a provider with an
// absolute grant lifetime) is told of by `status`, with the log-in to run
// before it expires, and in --json (refresh_token_not_extended), as the
// running proxy's notice (refresh_token_expiring) tells it: status gave its
// expiry alone, which a person took to move on with each renewal.
func TestStatusTellsOfARefreshTokenRenewingDoesNotExtend(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	ios, stdout, _ := testStreams(false, false)
	e.run(ios, "status")
	if strings.Contains(stdout.String(), "does not extend") {
		t.Fatalf("status of a fresh log-in says renewals do not extend the refresh token: %q", stdout)
	}
	rec := e.record(t, "dev")
	rec.RefreshNotExtended = true
	e.save(t, "dev", rec)
	e.wantStatus(t, "once renewals are seen not to extend the refresh token", 0, "; renewing does not extend it: run `freshtoken --config "+e.config+" login -e dev` before then")
	var dev map[string]any
	e.statusJSON(t, &dev)
	if dev["refresh_token_not_extended"] != true || dev["logged_in"] != true {
		t.Errorf("status --json = %v; want refresh_token_not_extended true, still logged in", dev)
	}
	// Past its expiry, there is no "before then" to log in by.
	rec.RefreshExpiry = time.Now().Add(-time.Hour)
	e.save(t, "dev", rec)
	ios, stdout, _ = testStreams(false, false)
	e.run(ios, "status")
	if want := " UTC); renewing did not extend it: run `freshtoken --config " + e.config + " login -e dev`\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("status = %q; want it to say %q", stdout, want)
	}
}

// TestStatusOfAnExpiredRefreshTokenSaysToLogIn: with the access token
// expired and the refresh token past the expiry the provider gave it,
// `status` says, as the proxy's page does ("log in again"), that a log-in is
// needed, and which: it said "logged in: yes", giving both expiries alone.
func TestStatusOfAnExpiredRefreshTokenSaysToLogIn(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec := e.record(t, "dev")
	rec.IssuedAt = rec.IssuedAt.Add(-3 * time.Hour)
	rec.Expiry, rec.RefreshExpiry = rec.IssuedAt.Add(time.Hour), rec.IssuedAt.Add(2*time.Hour)
	e.save(t, "dev", rec)
	e.wantStatus(t, "with both tokens expired", 0, "logged in:      yes, but the refresh token has expired too, so no renewal can help: run `freshtoken --config "+e.config+" login -e dev`")
}

// TestStatusOfTimesItCannotCountFrom: a problem recorded without its time
// (by another program sharing the store) and a problem or renewal recorded
// by a clock ahead of this machine's (another machine of a fleet) are told
// as such: status said "106751d ago (0001-01-01 00:00:00 UTC)" and
// "-1h30m0s ago". The problem's time follows its message after a comma: in
// parentheses it read "ended (3m ago (2026-12-06 07:16:59 UTC))".
func TestStatusOfTimesItCannotCountFrom(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	ahead := time.Now().Add(90 * time.Minute)
	for name, c := range map[string]struct {
		problemAt, renewedAt time.Time
		want                 string
	}{
		"a problem without its time":             {time.Time{}, time.Time{}, "so the grant has ended, its time not recorded; run"},
		"a problem minutes ago":                  {time.Now().Add(-3 * time.Minute), time.Time{}, "so the grant has ended, 3m ago ("},
		"a problem by a clock ahead":             {ahead, time.Time{}, ", by a clock 1h"},
		"a renewal by a clock ahead, no problem": {time.Time{}, ahead, "last renewal:   " + ahead.Local().Format("2006-01-02 15:04:05 MST")},
	} {
		t.Run(name, func(t *testing.T) {
			rec := e.record(t, "dev")
			rec.Problem = nil
			if name != "a renewal by a clock ahead, no problem" {
				rec.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token (HTTP 400 invalid_grant), so the grant has ended", At: c.problemAt}
			}
			rec.RenewedAt, rec.RenewedFor, rec.Renewals = c.renewedAt, store.RenewedForExpiry, 1
			e.save(t, "dev", rec)
			ios, stdout, _ := testStreams(false, false)
			e.run(ios, "status")
			if !strings.Contains(stdout.String(), c.want) || strings.Contains(stdout.String(), "106751d") || strings.Contains(stdout.String(), "-1h") || strings.Contains(stdout.String(), "))") {
				t.Errorf("status = %q; want it to say %q", stdout, c.want)
			}
		})
	}
}

// TestForceWaitsOutAPutBacksRest: the tokens put back after Redis lost
// them rest renewals 30 s (a renewal in flight elsewhere may still be
// storing its answer), and `token --force` waits too, on any machine: it
// is held back in one line saying for how long, exit 5 as any renewal
// held back by a rest, and status says --force waits too. A forced
// renewal on a machine other than the one that put the tokens back was
// sent, with the refresh token that renewal may have spent.
func TestForceWaitsOutAPutBacksRest(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec := e.record(t, "dev")
	rec.Rest = &store.Rest{Until: time.Now().Add(30 * time.Second), PutBack: true, Message: "the token store lost the tokens without a log-out, and they were put back"}
	e.save(t, "dev", rec)
	e.wantStatus(t, "with renewals resting after a put-back", 0, "--force waits too) after: the token store lost the tokens")
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "token", "--force"); code != 5 || stdout.Len() != 0 || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 || !strings.Contains(stderr.String(), "forced or not; try again then") {
		t.Errorf("token --force within a put-back's rest: exit %d, stdout %q, stderr %q; want 5, one line saying how long to wait", code, stdout, stderr)
	}
	if got := e.record(t, "dev"); got.AccessToken != rec.AccessToken {
		t.Error("token --force within a put-back's rest renewed")
	}
}

// TestStatusOfAnImportedRefreshToken: a Postman export carries no refresh
// token expiry, so status says its expiry is not known and why it may
// be: it said "no expiry given by the provider", untrue of a provider
// that gave one to Postman.
func TestStatusOfAnImportedRefreshToken(t *testing.T) {
	e := newDevEnv(t)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "sand")); code != 0 {
		t.Fatalf("import exited %d: %s%s", code, stdout, stderr)
	}
	ios, stdout, _ = testStreams(false, false)
	e.run(ios, "status")
	if want := "refresh token:  its expiry not known (the provider gave none, or the tokens were imported without it)"; !strings.Contains(stdout.String(), want) || strings.Contains(stdout.String(), "no expiry given by the provider") {
		t.Fatalf("status = %q; want it to say %q", stdout, want)
	}
}

// TestStatusJSONTimesInWholeSeconds: every time status --json writes is
// RFC 3339 in UTC with whole seconds, as token --json's expires_at is, so
// that jq's fromdate (which refuses a fraction) reads it: status wrote
// "2026-12-06T12:13:52.970838795Z", and
// `jq '.[].access_token_expires_at | fromdate'` failed.
func TestStatusJSONTimesInWholeSeconds(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec := e.record(t, "dev")
	at := time.Now().Add(-time.Minute).Add(123456789 * time.Nanosecond)
	rec.Expiry, rec.RefreshExpiry = time.Now().Add(time.Hour+987654321), time.Now().Add(48*time.Hour+987654321)
	rec.RenewedAt, rec.RenewedFor, rec.Renewals = at, store.RenewedForExpiry, 1
	rec.Problem = &store.Problem{Kind: store.ProblemClientRejected, Message: "the provider rejected the client", At: at}
	rec.Rest = &store.Rest{Until: time.Now().Add(30*time.Second + 555555555), Message: "the provider kept failing"}
	e.save(t, "dev", rec)
	ios, stdout, stderr := testStreams(false, false)
	e.run(ios, "status", "--json")
	var got []struct {
		ExpiresAt      string `json:"access_token_expires_at"`
		RefreshExpires string `json:"refresh_token_expires_at"`
		LastRenewal    string `json:"last_renewal"`
		NextRenewal    struct {
			At string `json:"at"`
		} `json:"next_renewal"`
		Problem struct {
			At string `json:"at"`
		} `json:"problem"`
		Rest struct {
			Until string `json:"until"`
		} `json:"renewals_rest"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got) != 1 {
		t.Fatalf("status --json: %v\n%s%s", err, stdout, stderr)
	}
	g := got[0]
	for name, v := range map[string]string{"access_token_expires_at": g.ExpiresAt, "refresh_token_expires_at": g.RefreshExpires, "last_renewal": g.LastRenewal,
		"next_renewal.at": g.NextRenewal.At, "problem.at": g.Problem.At, "renewals_rest.until": g.Rest.Until} {
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(v) {
			t.Errorf("%s = %q, not RFC 3339 in UTC with whole seconds", name, v)
		}
	}
	// A token is never said to live longer than it does: its expiries
	// are rounded down; a rest's end is rounded up, so that a script
	// waiting until then finds it over.
	rec = e.record(t, "dev")
	down := func(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }
	for name, tt := range map[string]struct{ got, want string }{
		"access_token_expires_at":  {g.ExpiresAt, down(rec.Expiry)},
		"refresh_token_expires_at": {g.RefreshExpires, down(rec.RefreshExpiry)},
		"renewals_rest.until":      {g.Rest.Until, down(rec.Rest.Until.Add(time.Second))},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %s, want %s", name, tt.got, tt.want)
		}
	}
	// An access token expired a moment ago has less than 0 s left, not 0.
	expiry := rec.Expiry
	rec.Expiry = time.Now().Add(-200 * time.Millisecond)
	e.save(t, "dev", rec)
	ios, stdout, stderr = testStreams(false, false)
	e.run(ios, "status", "--json")
	var expired []struct {
		ExpiresIn *int64 `json:"access_token_expires_in"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &expired); err != nil || len(expired) != 1 || expired[0].ExpiresIn == nil || *expired[0].ExpiresIn >= 0 {
		t.Errorf("status --json of a token expired 0.2 s ago: %v\n%s%s", err, stdout, stderr)
	}
	// token --json says of the same token what status --json says.
	rec.Expiry, rec.Problem, rec.Rest = expiry, nil, nil
	e.save(t, "dev", rec)
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "token", "--json"); code != 0 {
		t.Fatalf("token --json: exit %d\n%s", code, stderr)
	}
	var tok struct {
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &tok); err != nil || tok.ExpiresAt != g.ExpiresAt {
		t.Errorf("token --json: %v, expires_at %q; status --json said %q", err, tok.ExpiresAt, g.ExpiresAt)
	}
}

// TestStatusColoursOnlyWhereColoursAreWanted: the red mark of a production
// environment is coloured on a terminal, and not where the person said no
// colours (NO_COLOR) or the terminal cannot show them (TERM=dumb: Emacs's
// shell, a serial console), where the escape codes were printed as
// `^[[1;31m` around the mark; the request commands' JSON already honoured
// both.
func TestStatusColoursOnlyWhereColoursAreWanted(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.toml")
	t.Setenv("FRESHTOKEN_TEST_LIVE_SECRET", "s")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "[store]\nurl = %q\n\n[env.live]\nprovider = \"freeagent\"\nclient_id = \"id\"\nclient_secret_env = \"FRESHTOKEN_TEST_LIVE_SECRET\"\n",
		"file://"+filepath.ToSlash(filepath.Join(dir, "tokens"))), 0o600); err != nil {
		t.Fatal(err)
	}
	const mark, red = "PRODUCTION: live data", "\x1b[1;31m"
	for _, tc := range []struct {
		name, term, noColor string
		tty, coloured       bool
	}{
		{"a terminal", "xterm-256color", "", true, true},
		{"NO_COLOR", "xterm-256color", "1", true, false},
		{"TERM=dumb", "dumb", "", true, false},
		{"no terminal", "xterm-256color", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TERM", tc.term)
			t.Setenv("NO_COLOR", tc.noColor)
			ios, stdout, stderr := testStreams(tc.tty, tc.tty)
			if code := cli.Main([]string{"--config", conf, "status"}, ios); code != 0 || !strings.Contains(stdout.String(), mark) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and the production mark", code, stdout, stderr)
			}
			if got := strings.Contains(stdout.String(), red+mark+"\x1b[0m"); got != tc.coloured || !tc.coloured && strings.Contains(stdout.String(), "\x1b") {
				t.Errorf("coloured %v, want %v:\n%q", got, tc.coloured, stdout)
			}
		})
	}
}

// TestStatusShowsTheScopeGranted: the scope the provider granted, when
// its answer named one, is shown, with those of the configuration's
// scopes it lacks: a person whose API calls failed with 403 had no way
// to see that the provider granted less than asked.
func TestStatusShowsTheScopeGranted(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	e.wantStatus(t, "of tokens whose answer named no scope", 0)
	ios, stdout, _ := testStreams(false, false)
	e.run(ios, "status")
	if strings.Contains(stdout.String(), "scope") {
		t.Fatalf("status = %q; want no scope row when no answer named one", stdout)
	}
	rec := e.record(t, "dev")
	rec.Scope = "read"
	e.save(t, "dev", rec)
	e.wantStatus(t, "of a scope granted", 0, "read granted\n")
	conf, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	asking := strings.Replace(string(conf), "[env.dev]\n", "[env.dev]\nscopes = [\"read\", \"write\"]\n", 1)
	if err := os.WriteFile(e.config, []byte(asking), 0o600); err != nil {
		t.Fatal(err)
	}
	e.wantStatus(t, "of a scope granted short of the configuration's", 0, "read granted; not granted: write, so API calls that need them are refused (403)")
	var dev map[string]any
	e.statusJSON(t, &dev)
	if dev["scope"] != "read" || fmt.Sprint(dev["scopes_not_granted"]) != "[write]" {
		t.Errorf("status --json = %v; want scope read, scopes_not_granted [write]", dev)
	}
	// The provider's words are the provider's: a control character in
	// them reached the terminal, which acted on it (a link, a title).
	rec.Scope = "read \x1b]8;;https://evil.example/\x07write\x1b]8;;\x07"
	e.save(t, "dev", rec)
	e.wantStatus(t, "of a scope holding escape sequences", 0, "read ]8;;https://evil.example/ write ]8;; granted; not granted: write, so")
	ios, stdout, _ = testStreams(false, false)
	e.run(ios, "status")
	if strings.Contains(stdout.String(), "\x1b") {
		t.Errorf("status = %q; want no escape sequence from the provider's scope", stdout)
	}
}
