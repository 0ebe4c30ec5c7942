package cli_test

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestStalledRedisIsToldAtATerminal: a command whose Redis takes its
// connection and never answers says so once on standard error, when that
// is a terminal, after two seconds of silence, naming the Redis and
// never its password, before it reports the store unreachable (exit 5):
// it was silent for the whole wait (8 s by default), and a person at the
// terminal took it for a hang and pressed Ctrl-C. A script (standard
// error no terminal) is told only the failure; standard output holds
// nothing either way.
func TestStalledRedisIsToldAtATerminal(t *testing.T) {
	for _, tty := range []bool{true, false} {
		t.Run(map[bool]string{true: "terminal", false: "script"}[tty], func(t *testing.T) {
			e := newDevEnv(t)
			srv := redistest.Start(t)
			srv.RequirePassword(t, "redis-pass-7")
			// One try of 3 s (no retries), rather than four of 2 s.
			url := strings.Replace(srv.URL, "redis://", "redis://:redis-pass-7@", 1) + "?max_retries=-1&read_timeout=3s"
			e.useStore(t, url)
			e.loginOutside(t)
			srv.Pause(t)
			stdout, stderr := testenv.NewOutput(), testenv.NewOutput()
			ios := &cli.IOStreams{In: strings.NewReader(""), Out: stdout, ErrOut: stderr, ErrTTY: tty}
			if code := e.run(ios, "token", "-e", "dev"); code != 5 {
				t.Fatalf("token exited %d, want 5 (Redis unreachable): %s", code, stderr)
			}
			said := stderr.String()
			notice := "freshtoken: waiting for Redis at redis://" + srv.Addr + "/0, which has not answered for 2s…\n"
			want := map[bool]int{true: 1, false: 0}[tty]
			if got := strings.Count(said, notice); got != want {
				t.Errorf("stderr holds the notice %d times, want %d:\n%s", got, want, said)
			}
			if tty && !strings.HasPrefix(said, notice) {
				t.Errorf("the notice does not come first, before the failure:\n%s", said)
			}
			if strings.Contains(said, "redis-pass-7") {
				t.Errorf("the Redis password was shown:\n%s", said)
			}
			if stdout.String() != "" {
				t.Errorf("stdout holds %q, want nothing", stdout)
			}
		})
	}
}

// TestServedStallIsOneLineAtATerminal: `token` at a terminal whose renewal
// (the token due, refresh_before 30m, 29 minutes left) meets a Redis that
// leaves it unanswered (paused as the renewal's lock reaches it) prints
// the token still valid and says so on one line of standard error, naming
// Redis: it said that it waited for Redis, and then, on a second line,
// that the valid token was used while the renewal waited for Redis.
func TestServedStallIsOneLineAtATerminal(t *testing.T) {
	e := newDevEnv(t)
	srv := redistest.Start(t)
	var pause, paused atomic.Bool
	relay := srv.Relay(t, func(args []string) {
		if pause.Load() && strings.Contains(strings.Join(args, " "), "freshtoken:dev:lock") && paused.CompareAndSwap(false, true) {
			srv.Pause(t)
		}
	})
	defer func() {
		if paused.Load() {
			srv.Resume(t)
		}
	}()
	e.useStore(t, "redis://"+relay+"/0?read_timeout=20s")
	conf, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, append(conf, "refresh_before = \"30m\"\n"...), 0o600); err != nil { // [env.dev] is the file's last table
		t.Fatal(err)
	}
	e.loginOutside(t)
	s := redistest.OpenStore(t, srv.URL)
	r, err := s.Load(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	r.IssuedAt, r.Expiry = time.Now().Add(-31*time.Minute), time.Now().Add(29*time.Minute)
	if err := s.Save(t.Context(), "dev", r); err != nil {
		t.Fatal(err)
	}
	pause.Store(true)
	ios, stdout, stderr := testStreams(false, true)
	if code := e.run(ios, "token", "-e", "dev"); code != 0 {
		t.Fatalf("token exited %d: %s", code, stderr)
	}
	if stdout.String() != r.AccessToken+"\n" {
		t.Errorf("stdout holds %q, want the token still valid", stdout)
	}
	said := stderr.String()
	if !paused.Load() || strings.Count(said, "\n") != 1 || !strings.Contains(said, "Redis at redis://"+relay+"/0") || !strings.Contains(said, "is used while the renewal waits for the store") {
		t.Errorf("stderr at a terminal says:\n%s\nwant one line, naming Redis, saying the valid token is used", said)
	}
}
