package lockwait_test

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/lockwait"
)

// said starts a Notice told at once, whose store answers stuck, and returns
// what it says, one at a time, and the Notice.
func said(stuck func() string) (chan string, *lockwait.Notice) {
	lines := make(chan string, 4)
	n := lockwait.New(0, stuck, func(holder string) { lines <- holder })
	n.Start()
	return lines, n
}

// next is the next thing said, failing t if nothing is within ten seconds.
func next(t *testing.T, lines chan string) string {
	t.Helper()
	select {
	case line := <-lines:
		return line
	case <-time.After(10 * time.Second):
		t.Fatal("nothing more said within 10 s")
		return ""
	}
}

// TestNoticeNamesAHolderStoppedAfterTheWaitIsTold: the store is asked
// again each second while the wait lasts, so a holder stopped once the wait
// was told is named; the wait itself is told once, before.
func TestNoticeNamesAHolderStoppedAfterTheWaitIsTold(t *testing.T) {
	var asked atomic.Int32
	lines, n := said(func() string {
		if asked.Add(1) < 2 {
			return ""
		}
		return "the renewal lock of dev: process 7 (freshtoken) holds it and is stopped"
	})
	got := []string{next(t, lines), next(t, lines)}
	n.Stop()
	if want := []string{"", "the renewal lock of dev: process 7 (freshtoken) holds it and is stopped"}; !slices.Equal(got, want) {
		t.Errorf("said %q; want the wait told once, then its holder named", got)
	}
	if a := asked.Load(); a != 2 {
		t.Errorf("the store was asked %d times; want 2 (as the wait is told, and a second later)", a)
	}
	n.Start()
	if len(lines) != 0 {
		t.Errorf("said %q once stopped", <-lines)
	}
}

// TestNoticeNamesAHolderStuckAtOnce: a holder stuck as the wait is told is
// named in its place, and the store is asked no more.
func TestNoticeNamesAHolderStuckAtOnce(t *testing.T) {
	var asked atomic.Int32
	lines, n := said(func() string {
		asked.Add(1)
		return "the renewal lock of dev: stuck"
	})
	got := next(t, lines)
	n.Stop()
	if got != "the renewal lock of dev: stuck" || len(lines) != 0 || asked.Load() != 1 {
		t.Errorf("said %q (then %d more), the store asked %d times; want the holder named alone, after one question", got, len(lines), asked.Load())
	}
}

// TestNoticeOfAStoreThatCannotTell: the wait is told once.
func TestNoticeOfAStoreThatCannotTell(t *testing.T) {
	lines, n := said(nil)
	got := next(t, lines)
	n.Stop()
	if got != "" || len(lines) != 0 {
		t.Errorf("said %q (then %d more); want the wait told once", got, len(lines))
	}
}
