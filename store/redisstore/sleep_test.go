package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestReadAfterASleepTakesNoConnectionFromBefore: after the machine slept
// and woke on another network, the connections to Redis kept in the pool
// are silent. The first read after the wake sent its command on one,
// waited read_timeout, and its retries took the next ones: with five
// pooled, it failed after 8 s, the store unreachable. A connection unused
// longer than the Store's idle limit by the wall clock (which a sleep
// moves on) is dropped instead; the limit is shortened to a second here,
// the sleep a second and a half.
func TestReadAfterASleepTakesNoConnectionFromBefore(t *testing.T) {
	redisstore.SetConnMaxIdle(time.Second)
	t.Cleanup(func() { redisstore.SetConnMaxIdle(30 * time.Second) })
	srv := redistest.Start(t)
	relay := testenv.NewSilencing(t, srv.Addr)
	s := opened(t, "redis://"+relay.Addr+"/0")
	ctx := context.Background()
	if err := s.Save(ctx, "sandbox", &store.Record{AccessToken: "at"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 5 { // reads at once: the pool keeps several connections
		wg.Go(func() { s.Load(ctx, "sandbox") })
	}
	wg.Wait()
	before := relay.Dials()
	relay.Silence()
	time.Sleep(1500 * time.Millisecond) // the sleep, on the wall clock
	r, err := s.Load(ctx, "sandbox")
	if err != nil {
		t.Fatalf("the first read after the sleep (%d connections pooled): %v", before, err)
	}
	if r.AccessToken != "at" {
		t.Fatalf("read %+v", r)
	}
}
