package cli

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestStalledStoreIsToldAgainWhenItStallsAgain: a process at a terminal
// (a proxy running for hours) whose Redis stalls, answers again, and
// stalls again later says so at each stall, once each, however many
// calls wait meanwhile: it said only the first stall of the process, and
// every later one was silent. A call answered after 2 s, on a loaded
// machine, is a stall told too, so each stall's notices are counted from
// its pause; its calls end unanswered, at a read time-out two seconds past
// the notice's two (one second left a machine that paused that long no
// notice).
func TestStalledStoreIsToldAgainWhenItStallsAgain(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.New(srv.URL + "?max_retries=-1&read_timeout=4s") // one try of 4 s
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stderr := testenv.NewOutput()
	notices := newStallNotices(&Factory{IO: &IOStreams{ErrOut: stderr}}, stderr, time.Now)
	defer notices.stop()
	ctx := notices.listen(t.Context())
	said := regexp.MustCompile(`freshtoken: waiting for Redis at redis://` + regexp.QuoteMeta(srv.Addr) + `/0, which has not answered for \d+s…\n`)
	for stall, calls := range []int{2, 1} {
		if _, err := s.Load(ctx, "dev"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a Load Redis answers: %v; want store.ErrNotFound", err)
		}
		before := len(said.FindAllString(stderr.String(), -1))
		srv.Pause(t)
		unanswered := make(chan error, calls)
		for range calls {
			go func() {
				_, err := s.Load(ctx, "dev")
				unanswered <- err
			}()
		}
		for range calls {
			if err := testenv.Receive(t, "a Load Redis leaves unanswered", unanswered); !errors.Is(err, store.ErrUnreachable) {
				t.Fatalf("a Load Redis leaves unanswered: %v; want store.ErrUnreachable", err)
			}
		}
		srv.Resume(t)
		stderr.WaitFor(t, "the stall's notice", regexp.MustCompile(`(?s)(`+said.String()+`.*){`+strconv.Itoa(before+1)+`}`))
		if got := len(said.FindAllString(stderr.String(), -1)) - before; got != 1 {
			t.Fatalf("stall %d (%d calls): the notice was said %d times; want once:\n%s", stall+1, calls, got, stderr)
		}
	}
}

// TestStalledNoticeInTheLogsForm: with --log-format json, a process at a
// terminal (a proxy whose log a program reads) says the stall as a line of
// JSON, as its other notices: it was the one line of plain text. A stall
// told late (a renewal under way joined, its call sent 14 s before) says
// how long the store has not answered: it said 2 s, whatever the wait.
func TestStalledNoticeInTheLogsForm(t *testing.T) {
	stderr := testenv.NewOutput()
	now := time.Now()
	notices := newStallNotices(&Factory{IO: &IOStreams{ErrOut: stderr}, LogFormat: "json"}, stderr, func() time.Time { return now })
	notices.stalled("Redis at redis://127.0.0.1:6379/0", true, now.Add(-14*time.Second))
	stderr.WaitFor(t, "the notice", regexp.MustCompile(`\n$`))
	notices.stop()
	var line struct{ Level, Msg string }
	if err := json.Unmarshal([]byte(stderr.String()), &line); err != nil || line.Level != "WARN" ||
		line.Msg != "waiting for Redis at redis://127.0.0.1:6379/0, which has not answered for 14s…" {
		t.Fatalf("with --log-format json the notice was %q (%v); want a line of JSON at level WARN", stderr, err)
	}
}

// TestStalledNoticeSaysTheLengthThe503Says: the notice at a terminal says
// how long the store has not answered to the nearest second, as the
// proxy's 503 does (stallwatch.Unanswered): it rounded down, "2s" where
// the 503 of the same stall said "3s". Its clock is still: a machine that
// stalled 0.8 s as the test ran had it say "4s".
func TestStalledNoticeSaysTheLengthThe503Says(t *testing.T) {
	stderr := testenv.NewOutput()
	now := time.Now()
	notices := newStallNotices(&Factory{IO: &IOStreams{ErrOut: stderr}}, stderr, func() time.Time { return now })
	notices.stalled("Redis at redis://127.0.0.1:6379/0", true, now.Add(-2700*time.Millisecond))
	stderr.WaitFor(t, "the notice", regexp.MustCompile(`\n$`))
	notices.stop()
	if want := "which has not answered for 3s…"; !strings.Contains(stderr.String(), want) {
		t.Errorf("a stall told 2.7 s after its call was sent: %q; want %q", stderr, want)
	}
}

// TestStalledKeychainNoticeSaysItMayWantUnlocking: the notice of a
// keychain that has not answered says that it may be waiting for the
// person to unlock it or allow access, as a keychain call that waits most
// often waits on such a prompt: it said only that the keychain had not
// answered. Redis's notice is as it was.
func TestStalledKeychainNoticeSaysItMayWantUnlocking(t *testing.T) {
	stderr := testenv.NewOutput()
	now := time.Now()
	notices := newStallNotices(&Factory{IO: &IOStreams{ErrOut: stderr}}, stderr, func() time.Time { return now })
	notices.stalled(keyringstore.StallName(), true, now.Add(-2*time.Second))
	stderr.WaitFor(t, "the notice", regexp.MustCompile(`\n$`))
	notices.stop()
	if want := "freshtoken: waiting for " + keyringstore.StallName() + ", which has not answered for 2s: it may be waiting for you to unlock it or allow access, in a prompt on your desktop…\n"; stderr.String() != want {
		t.Errorf("the keychain's notice: %q; want %q", stderr, want)
	}
}

// TestStalledNoticeOnceForOneOutage: a process at a terminal (a proxy,
// its keeper reading the store each minute) whose Redis stays silent
// through several calls, each given up, says so once: the engine tells a
// stall's end as its call given up returns, and the notice, taking that
// for Redis answering, said it again for each call (once a minute, for
// hours). It is said again once Redis, having answered, stalls again.
func TestStalledNoticeOnceForOneOutage(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.New(srv.URL + "?max_retries=-1&read_timeout=3s") // one try of 3 s
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", TokenURL: "http://127.0.0.1:1/token", AuthStyle: oauth2.AuthStyleInHeader}, freshtoken.Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	stderr := testenv.NewOutput()
	notices := newStallNotices(&Factory{IO: &IOStreams{ErrOut: stderr}}, stderr, time.Now)
	defer notices.stop()
	ctx := notices.listen(t.Context())
	said := regexp.MustCompile(`freshtoken: waiting for Redis at redis://` + regexp.QuoteMeta(srv.Addr) + `/0, which has not answered for \d+s…\n`)
	for outage := range 2 {
		if _, err := src.TokenContext(ctx); !errors.Is(err, freshtoken.ErrLoginRequired) {
			t.Fatalf("a token Redis answers (nothing stored): %v; want freshtoken.ErrLoginRequired", err)
		}
		srv.Pause(t)
		for range 2 {
			if _, err := src.TokenContext(ctx); !errors.Is(err, store.ErrUnreachable) {
				t.Fatalf("a token Redis leaves unanswered: %v; want store.ErrUnreachable", err)
			}
		}
		srv.Resume(t)
		stderr.WaitFor(t, "the outage's notice", regexp.MustCompile(`(?s)(`+said.String()+`.*){`+strconv.Itoa(outage+1)+`}`))
		if got := len(said.FindAllString(stderr.String(), -1)); got != outage+1 {
			t.Fatalf("after %d outages of two calls each the notice was said %d times; want once each:\n%s", outage+1, got, stderr)
		}
	}
}
