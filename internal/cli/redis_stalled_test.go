package cli_test

import (
	"strings"
	"testing"

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
			srv.RequirePassword(t, "redis-pass")
			// One try of 3 s (no retries), rather than four of 2 s.
			url := strings.Replace(srv.URL, "redis://", "redis://:redis-pass@", 1) + "?max_retries=-1&read_timeout=3s"
			e.useStore(t, url)
			e.loginOutside(t)
			srv.Pause(t)
			defer srv.Resume(t)
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
			if strings.Contains(said, "redis-pass") {
				t.Errorf("the Redis password was shown:\n%s", said)
			}
			if stdout.String() != "" {
				t.Errorf("stdout holds %q, want nothing", stdout)
			}
		})
	}
}
