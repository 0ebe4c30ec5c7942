package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/freshtoken/freshtoken/internal/redistest"
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
	srv.SetUser(t, "ro", "on", ">ro-password", "~freshtoken:*", "+@read")
	srv.SetFleetUser(t, "fleet", "fleet-password")
	e := newDevEnv(t)
	useRedis := func(user string) {
		t.Helper()
		if err := os.WriteFile(e.config, fmt.Appendf(nil, "[store]\nurl = %q\n", "redis://"+user+"@"+srv.Addr+"/0"), 0o600); err != nil {
			t.Fatal(err)
		}
		e.configure(t)
	}
	useRedis("fleet:fleet-password")
	e.loginOutside(t)
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rc.Close()
	record := rc.Get(t.Context(), "freshtoken:dev").Val()
	if r := srv.Command(t, "SET", "freshtoken:dev:lock", "another-machine", "PX", "3600000"); r != "+OK" {
		t.Fatal(r)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status"); code != 0 || strings.Contains(stdout.String(), "problem") {
		t.Fatalf("status with the user the docs give: exit %d, stdout %q, stderr %q; want 0 and no problem", code, stdout, stderr)
	}

	useRedis("ro:ro-password")
	ios, stdout, stderr = testStreams(false, false)
	code := e.run(ios, "status")
	if code != 2 || !strings.Contains(stdout.String(), "logged in:      yes") ||
		!strings.Contains(stdout.String(), "problem:        dev: could not save the tokens: Redis at redis://"+srv.Addr+"/0 refused access") ||
		!strings.Contains(stdout.String(), "the user's permissions") {
		t.Errorf("status with a user that may only read: exit %d, stdout %q, stderr %q; want 2, saying the tokens cannot be saved and to check the user's permissions", code, stdout, stderr)
	}
	ios, stdout, stderr = testStreams(false, false)
	code = e.run(ios, "status", "--json")
	var all []struct {
		Env          string `json:"env"`
		LoggedIn     bool   `json:"logged_in"`
		StoreProblem string `json:"store_problem"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &all); err != nil || code != 2 || len(all) != 1 || !all[0].LoggedIn || !strings.Contains(all[0].StoreProblem, "refused access") {
		t.Errorf("status --json: exit %d (%v), stdout %s, stderr %q; want 2 and store_problem", code, err, stdout, stderr)
	}
	if strings.Contains(stdout.String()+stderr.String(), "ro-password") {
		t.Errorf("the password shows: %s %s", stdout, stderr)
	}
	// It is so: the renewal it foretells fails, a configuration error.
	ios, _, stderr = testStreams(false, false)
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

// TestStatusTellsOfARedisThatEvicts: status on a Redis with a maxmemory
// and a policy that evicts (volatile-lru, which docs/fleets.md called safe)
// says, exit 2, that it may drop a renewing machine's lock and in-flight
// mark and to set noeviction: such a Redis, filled by another of its
// users, let a second machine take the lock and send the refresh token a
// first one's request in flight was spending. With noeviction it is quiet.
func TestStatusTellsOfARedisThatEvicts(t *testing.T) {
	srv := redistest.Start(t)
	e := newDevEnv(t)
	if err := os.WriteFile(e.config, fmt.Appendf(nil, "[store]\nurl = %q\n", "redis://"+srv.Addr+"/0"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.configure(t)
	e.loginOutside(t)
	srv.Command(t, "CONFIG", "SET", "maxmemory", "100mb")
	srv.Command(t, "CONFIG", "SET", "maxmemory-policy", "volatile-lru")
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status"); code != 2 || !strings.Contains(stdout.String(), "problem:        dev: Redis at redis://"+srv.Addr+"/0 evicts keys") ||
		!strings.Contains(stdout.String(), "volatile-lru") || !strings.Contains(stdout.String(), "set maxmemory-policy noeviction") {
		t.Errorf("status on a Redis that evicts: exit %d, stdout %q, stderr %q; want 2, naming the policy and noeviction", code, stdout, stderr)
	}
	srv.Command(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "status"); code != 0 || strings.Contains(stdout.String(), "problem") {
		t.Errorf("status on a Redis that evicts nothing: exit %d, stdout %q, stderr %q; want 0, no problem", code, stdout, stderr)
	}
}
