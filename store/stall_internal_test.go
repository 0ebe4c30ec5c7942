package store

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStallDueAsAnotherCallIsAnsweredIsToldOnce: two calls to a server
// that does not answer (Redis paused), the first told stalled; the server
// answers again, the first call's end told, and the second call's notice
// falls due before its own answer comes, as one does when Redis, resumed,
// answers its waiting calls one after the other. The second call's
// stall was told: a terminal said twice that it waited for Redis, the
// second time as Redis answered. It is told only once the server has
// answered nothing for StallNotice since; and a call the server did not
// answer (given up) ends no stall: the other call's notice is told when
// due. A call still waiting StallNotice after that answer is told. The
// notices' functions are fired by the test, in that order.
func TestStallDueAsAnotherCallIsAnsweredIsToldOnce(t *testing.T) {
	notices := make(chan func(), 4)
	afterFunc = func(d time.Duration, f func()) *time.Timer {
		notices <- f
		return time.AfterFunc(time.Hour, func() {}) // for Stop and Reset alone: the test fires f
	}
	t.Cleanup(func() { afterFunc = time.AfterFunc })
	for _, tc := range []struct {
		name          string
		firstAnswered bool
		secondLeft    bool   // the second's notice falls due again, StallNotice after the answer
		want          string // the stalls (S) and ends (E) told, in order
	}{
		{"the first answered", true, false, "SEE"},
		{"the first answered, the second left waiting", true, true, "SESE"},
		{"the first given up unanswered", false, false, "SSE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu   sync.Mutex
				told strings.Builder
			)
			ctx := WithStalled(context.Background(), func(_ string, stalled bool, _ time.Time) {
				mu.Lock()
				defer mu.Unlock()
				told.WriteString(map[bool]string{true: "S", false: "E"}[stalled])
			})
			what := "Redis at redis://127.0.0.1:6379/0 (" + t.Name() + ")"
			stopFirst := WatchStall(ctx, what)
			first := <-notices
			stopSecond := WatchStall(ctx, what)
			second := <-notices
			first()
			stopFirst(tc.firstAnswered)
			second()
			if tc.secondLeft {
				second()
			}
			stopSecond(true)
			if got := told.String(); got != tc.want {
				t.Errorf("told %s; want %s (S a stall, E an end)", got, tc.want)
			}
		})
	}
}

// TestAnswersAreTold: a function WithAnswered gave is told each call the
// server answers, one ctx already had first, with or without a listener
// of stalls (WithStalled), and not a call given up unanswered: a
// listener told a stall's end cannot otherwise tell an answer from a
// call given up, and a terminal said one outage again for each call.
func TestAnswersAreTold(t *testing.T) {
	for _, stalls := range []bool{true, false} {
		var told []string
		ctx := context.Background()
		if stalls {
			ctx = WithStalled(ctx, func(string, bool, time.Time) {})
		}
		ctx = WithAnswered(WithAnswered(ctx, func(what string) { told = append(told, "outer "+what) }), func(what string) { told = append(told, "inner "+what) })
		what := "Redis at redis://127.0.0.1:6379/0 (" + t.Name() + ")"
		WatchStall(ctx, what)(false)
		WatchStall(ctx, what)(true)
		if want := []string{"outer " + what, "inner " + what}; !slices.Equal(told, want) {
			t.Errorf("listening for stalls %v: told %q; want %q", stalls, told, want)
		}
	}
}

// TestAnswersAloneTimeNothing: a call whose context wants only its
// answers told (WithAnswered, no WithStalled) starts no notice's timer,
// and is still told answered: each of a Redis Lock's commands started
// one, for a listener that did nothing.
func TestAnswersAloneTimeNothing(t *testing.T) {
	timers := 0
	afterFunc = func(d time.Duration, f func()) *time.Timer {
		timers++
		return time.AfterFunc(d, f)
	}
	t.Cleanup(func() { afterFunc = time.AfterFunc })
	answers := 0
	ctx := WithAnswered(context.Background(), func(string) { answers++ })
	what := "Redis at redis://127.0.0.1:6379/0 (" + t.Name() + ")"
	WatchStall(ctx, what)(false)
	WatchStall(ctx, what)(true)
	if timers != 0 || answers != 1 {
		t.Errorf("two calls, one answered, no stall listener: %d timers started, %d answers told; want none, one", timers, answers)
	}
}
