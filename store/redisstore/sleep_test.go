package redisstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// sleepsAway opens a Store on srv through a relay, with a pooled
// connection's idle limit shortened to a second, and returns it and a function that sends it to sleep: five reads at
// once fill its pool, then its network goes (the relay falls silent on
// every connection made so far, as a laptop's do when it wakes on another
// network) and it sleeps a second and a half, on the wall clock.
func sleepsAway(t *testing.T, srv *redistest.Server) (*redisstore.Store, func()) {
	t.Helper()
	redisstore.SetConnMaxIdle(time.Second)
	t.Cleanup(func() { redisstore.SetConnMaxIdle(30 * time.Second) })
	relay := testenv.NewSilencing(t, srv.Addr)
	s := opened(t, "redis://"+relay.Addr+"/0")
	return s, func() {
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() { s.Load(context.Background(), "sandbox") })
		}
		wg.Wait()
		relay.Silence()
		time.Sleep(1500 * time.Millisecond)
	}
}

// TestReadAfterASleepTakesNoConnectionFromBefore: after the machine slept
// and woke on another network, the connections to Redis kept in the pool
// are silent. The first read after the wake sent its command on one,
// waited read_timeout, and its retries took the next ones: with five
// pooled, it failed after 8 s, the store unreachable. A connection unused
// longer than the Store's idle limit by the wall clock (which a sleep
// moves on) is dropped instead.
func TestReadAfterASleepTakesNoConnectionFromBefore(t *testing.T) {
	srv := redistest.Start(t)
	s, sleep := sleepsAway(t, srv)
	ctx := context.Background()
	if err := s.Save(ctx, "sandbox", &store.Record{AccessToken: "at"}); err != nil {
		t.Fatal(err)
	}
	sleep()
	r, err := s.Load(ctx, "sandbox")
	if err != nil {
		t.Fatalf("the first read after the sleep: %v", err)
	}
	if r.AccessToken != "at" {
		t.Fatalf("read %+v", r)
	}
}

// TestWakeAfterTheLockPassed: a machine that slept holding the renewal
// lock, which expired by Redis's clock and passed to another machine that
// stored newer tokens, finds on waking that it holds the lock no more,
// has its save refused for it (where it said Redis could not be reached,
// after 8 s on its connections from before the sleep), and leaves the
// other machine's lock and tokens as they are.
func TestWakeAfterTheLockPassed(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	asleep, sleep := sleepsAway(t, srv)
	other := opened(t, srv.URL)
	unlock := sync.OnceFunc(lock(t, asleep))
	t.Cleanup(unlock) // before the Store's Close, which waits for it
	sleep()
	raw(t, srv).Del(ctx, "freshtoken:sandbox:lock") // expired by Redis's clock while its holder slept
	unlockOther := lock(t, other)
	defer unlockOther()
	if err := other.Save(ctx, "sandbox", &store.Record{AccessToken: "newer"}); err != nil {
		t.Fatal(err)
	}
	if held, err := asleep.HoldsLock(ctx, "sandbox"); held || err != nil {
		t.Fatalf("HoldsLock on waking, the lock another machine's: %v, %v", held, err)
	}
	if err := asleep.Save(ctx, "sandbox", &store.Record{AccessToken: "older"}); err == nil || !strings.Contains(err.Error(), "renewal lock") {
		t.Fatalf("a save on waking, the lock another machine's: %v; want it refused, naming the lock", err)
	}
	unlock()
	if held, err := other.HoldsLock(ctx, "sandbox"); !held || err != nil {
		t.Fatalf("the other machine's lock after the one that slept let go: %v, %v", held, err)
	}
	if r, err := other.Load(ctx, "sandbox"); err != nil || r.AccessToken != "newer" {
		t.Fatalf("the other machine's tokens after the wake: %+v, %v", r, err)
	}
}
