package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// replicated starts a primary and a replica of it, linked through a Link
// the test holds or cuts, and opens a Store on the primary that knows of
// the replica (a read told it), waiting up to wait for a replica's
// acknowledgment of a save.
func replicated(t *testing.T, wait time.Duration) (primary, replica *redistest.Server, link *redistest.Link, s *redisstore.Store) {
	t.Helper()
	primary, replica, link = redistest.StartReplicated(t)
	s = open(t, primary.URL)
	s.ReplicaWait = wait
	t.Cleanup(func() { s.Close() })
	if _, err := s.Load(context.Background(), "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return primary, replica, link, s
}

// TestSaveWaitsForAReplica: replication is asynchronous, and a renewal's
// save, taken by the primary and reported saved, was not yet on its
// replica when the primary died: the replica, promoted, held the tokens
// the renewal had replaced, and the next renewal spent their refresh token
// again (a rotating provider then ends the grant). A save now waits for a
// replica to acknowledge it (WAIT) before it returns.
func TestSaveWaitsForAReplica(t *testing.T) {
	primary, replica, link, s := replicated(t, time.Minute) // the test lets the replica have it meanwhile
	t.Cleanup(lock(t, s))
	renewed := copyOf(2)
	waitsForTheReplica(t, primary, link, func() error { return s.Save(context.Background(), "sandbox", renewed) })
	if got := failedOver(t, primary, replica, link); !strings.Contains(got, renewed.RefreshToken) {
		t.Fatalf("the replica promoted once the save returned holds %q; want the renewal's tokens", got)
	}
}

// waitsForTheReplica holds link, the replication link, runs write, and
// fails the test if write returns before the replica acknowledged it: it
// releases link once write waits (WAIT, a blocked client of the primary),
// and write's error fails the test.
func waitsForTheReplica(t *testing.T, primary *redistest.Server, link *redistest.Link, write func() error) {
	t.Helper()
	link.Hold() // the replication link lags
	done := make(chan error, 1)
	go func() { done <- write() }()
	var err error
	returned := false
	testenv.WaitFor(t, "the write to return, or wait for a replica", func() bool {
		select {
		case err = <-done:
			returned = true
			return true
		default:
			return primary.BlockedClients(t) > 0
		}
	})
	if !returned {
		link.Release()
		err = testenv.Receive(t, "the write", done)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// failedOver stops primary, as a primary that dies, cuts link and
// promotes replica, as a failover does, and returns the record the
// replica holds then ("" for none).
func failedOver(t *testing.T, primary, replica *redistest.Server, link *redistest.Link) string {
	t.Helper()
	primary.Stop()
	link.Cut()
	replica.Promote(t)
	return replica.Get(t, "freshtoken:sandbox")
}

// TestDeleteWaitsForAReplica: a log-out's deletion, taken by the primary
// and reported done, was not yet on its replica when the primary died: the
// replica, promoted, held the tokens logged out, and the next command used
// them (`logout --local`'s are still live at the provider). A deletion now
// waits for a replica to acknowledge it, as a save does.
func TestDeleteWaitsForAReplica(t *testing.T) {
	primary, replica, link, s := replicated(t, time.Minute)
	held := saveHeld(t, s)
	testenv.WaitFor(t, "the replica to hold the record", func() bool {
		return strings.Contains(replica.Get(t, "freshtoken:sandbox"), held.RefreshToken)
	})
	waitsForTheReplica(t, primary, link, func() error { return s.Delete(context.Background(), "sandbox") })
	if got := failedOver(t, primary, replica, link); got != "" {
		t.Fatalf("the replica promoted once the log-out returned holds %q; want no tokens", got)
	}
}

// TestDeleteNotYetOnAReplicaStands: a deletion no replica acknowledges in
// time stands, and says so through store.Warn, as a save does.
func TestDeleteNotYetOnAReplicaStands(t *testing.T) {
	primary, _, link, s := replicated(t, 100*time.Millisecond)
	held := saveHeld(t, s)
	link.Hold()
	ctx, warnings := warned()
	if err := s.Delete(ctx, "sandbox"); err != nil {
		t.Fatalf("a deletion no replica acknowledged: %v; want it standing", err)
	}
	if got := primary.Get(t, "freshtoken:sandbox"); got != "" {
		t.Fatalf("the primary holds %q; want no tokens", got)
	}
	if warned := warnings(); len(warned) != 1 || !strings.Contains(warned[0], "deletion is not yet on a replica") || strings.Contains(warned[0], held.RefreshToken) {
		t.Fatalf("warnings: %q; want one saying the deletion is not yet on a replica, without the tokens", warned)
	}
}

// TestTheFirstWriteWaitsForAReplica: a Store learnt that the primary has
// replicas from a read alone, so that a Store whose first call is a write
// (store migrate's new store, which it locks and saves to; a log-out) did
// not wait for a replica. The first write now learns it, and waits, be it
// a save or a deletion.
func TestTheFirstWriteWaitsForAReplica(t *testing.T) {
	for _, first := range []string{"save", "delete"} {
		t.Run(first, func(t *testing.T) {
			primary, replica := redistest.StartWithoutPersistence(t), redistest.StartWithoutPersistence(t)
			link := redistest.NewLink(t, primary)
			replica.ReplicaOf(t, primary, link.Addr)
			if first == "delete" {
				held := saveHeld(t, open(t, primary.URL))
				testenv.WaitFor(t, "the replica to hold the record", func() bool {
					return strings.Contains(replica.Get(t, "freshtoken:sandbox"), held.RefreshToken)
				})
			}
			s := open(t, primary.URL)
			s.ReplicaWait = time.Minute
			t.Cleanup(func() { s.Close() })
			t.Cleanup(lock(t, s))
			moved := copyOf(2)
			write := func() error { return s.Save(context.Background(), "sandbox", moved) }
			if first == "delete" {
				write = func() error { return s.Delete(context.Background(), "sandbox") }
			}
			waitsForTheReplica(t, primary, link, write)
			got := failedOver(t, primary, replica, link)
			if first == "save" && !strings.Contains(got, moved.RefreshToken) || first == "delete" && got != "" {
				t.Fatalf("the replica promoted once the first %s returned holds %q", first, got)
			}
		})
	}
}

// TestSaveNotYetOnAReplicaStands: a save no replica acknowledges within
// the Store's wait (a replication link that lags) stands, as the primary
// has it, and says so through store.Warn: it is never failed for it.
func TestSaveNotYetOnAReplicaStands(t *testing.T) {
	primary, _, link, s := replicated(t, 100*time.Millisecond)
	t.Cleanup(lock(t, s))
	link.Hold()
	ctx, warnings := warned()
	renewed := copyOf(2)
	if err := s.Save(ctx, "sandbox", renewed); err != nil {
		t.Fatalf("a save no replica acknowledged: %v; want it standing", err)
	}
	if got := primary.Get(t, "freshtoken:sandbox"); !strings.Contains(got, renewed.RefreshToken) {
		t.Fatalf("the primary holds %q; want the save", got)
	}
	if warned := warnings(); len(warned) != 1 || !strings.Contains(warned[0], "not yet on a replica") || strings.Contains(warned[0], renewed.RefreshToken) {
		t.Fatalf("warnings: %q; want one saying the tokens are not yet on a replica, without them", warned)
	}
}

// warned is a context whose store.Warn notes each warning, and what
// notes them so far.
func warned() (context.Context, func() []string) {
	var mu sync.Mutex
	var all []string
	ctx := store.WithWarning(context.Background(), func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		all = append(all, msg)
	})
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(all)
	}
}

// TestAUserNotAllowedWaitIsToldOnce: a Redis user not allowed WAIT (one
// set up as docs/fleets.md said, on Redis 6, where WAIT is not among the
// @connection commands but @keyspace's) had every save on a primary with
// replicas warn that the tokens were not yet on a replica (WAIT failed:
// NOPERM), at every renewal, though the replica may have had them, and
// never said what to do. The refusal is now told once per Store, naming
// the permission to add, and the saves stand.
func TestAUserNotAllowedWaitIsToldOnce(t *testing.T) {
	primary, replica := redistest.StartWithoutPersistence(t), redistest.StartWithoutPersistence(t)
	replica.ReplicaOf(t, primary, primary.Addr)
	primary.SetUser(t, "older", append(append([]string{"on", ">pw"}, redistest.FleetRules...), "-wait")...)
	s := opened(t, "redis://older:pw@"+primary.Addr+"/0")
	ctx, warnings := warned()
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	t.Cleanup(lock(t, s))
	for n := 2; n < 5; n++ {
		if err := s.Save(ctx, "sandbox", copyOf(n)); err != nil {
			t.Fatalf("a save by a user not allowed WAIT: %v; want it standing", err)
		}
	}
	if got := primary.Get(t, "freshtoken:sandbox"); !strings.Contains(got, copyOf(4).RefreshToken) {
		t.Fatalf("the primary holds %q; want the last save", got)
	}
	if warned := warnings(); len(warned) != 1 || !strings.Contains(warned[0], "ACL SETUSER older +wait") {
		t.Fatalf("warnings: %q; want one, saying to add +wait to the user", warned)
	}
}

// TestASaveSentAgainWithoutItsWaitIsWarnedOf: a save on a primary with
// replicas goes on a connection of its own, to wait for a replica there;
// that connection dropping before the save's answer came (a load
// balancer's reset, a network cut), the save is sent again on the pool's,
// where no WAIT can count it. It was reported saved, silently, though no
// replica was waited for. It is now saved with the same warning as a save
// no replica acknowledged.
func TestASaveSentAgainWithoutItsWaitIsWarnedOf(t *testing.T) {
	primary, replica := redistest.StartWithoutPersistence(t), redistest.StartWithoutPersistence(t)
	link := redistest.NewLink(t, primary)
	replica.ReplicaOf(t, primary, link.Addr)
	relay := relayCuttingAfterSave(t, primary.Addr)
	s, _ := lockedAndSaved(t, relay) // the read in it tells the Store of the replica
	s.ReplicaWait = 100 * time.Millisecond
	if _, err := s.Load(context.Background(), "sandbox"); err != nil {
		t.Fatal(err)
	}
	link.Hold()
	ctx, warnings := warned()
	renewed := copyOf(2)
	relay.beforeAnswer.Store(true)
	relay.armed.Store(true)
	err := s.Save(ctx, "sandbox", renewed)
	relay.armed.Store(false)
	if err != nil {
		t.Fatalf("a save whose answer was lost, sent again: %v; want it saved", err)
	}
	if got := primary.Get(t, "freshtoken:sandbox"); !strings.Contains(got, renewed.RefreshToken) {
		t.Fatalf("the primary holds %q; want the save", got)
	}
	if warned := warnings(); len(warned) != 1 || !strings.Contains(warned[0], "not yet on a replica") {
		t.Fatalf("warnings: %q; want one saying the tokens may not be on a replica yet", warned)
	}
}

// writable makes srv, a replica, take writes (replica-read-only no).
func writable(t *testing.T, srv *redistest.Server) {
	t.Helper()
	if reply := srv.Command(t, "CONFIG", "SET", "replica-read-only", "no"); reply != "+OK" {
		t.Fatalf("CONFIG SET replica-read-only: %s", reply)
	}
}

// TestNothingIsWrittenToAWritableReplica: a replica that takes writes
// (replica-read-only no), named in the URL, took the renewal lock, unseen
// by the machines that use the primary, and the saves, which its next
// sync lost. The lock, a save and a log-out now write nothing there, and
// say that Redis answered from a replica (exit 5).
func TestNothingIsWrittenToAWritableReplica(t *testing.T) {
	primary, replica := redistest.StartWithoutPersistence(t), redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	onPrimary := opened(t, primary.URL)
	held := saveHeld(t, onPrimary)
	replica.ReplicaOf(t, primary, primary.Addr)
	writable(t, replica)
	s := opened(t, replica.URL)
	unlock, err := s.Lock(ctx, "sandbox")
	if err == nil {
		unlock()
	}
	if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("Lock on a replica that takes writes: %v; want unreachable, saying it is a replica", err)
	}
	if err := s.Save(ctx, "sandbox", copyOf(2)); !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("Save on a replica that takes writes: %v; want unreachable, saying it is a replica", err)
	}
	if err := s.Delete(ctx, "sandbox"); !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("Delete on a replica that takes writes: %v; want unreachable, saying it is a replica", err)
	}
	if got := replica.Command(t, "DBSIZE"); got != ":1" {
		t.Fatalf("the replica holds %s keys; want the record alone", got)
	}
	if got := replica.Get(t, "freshtoken:sandbox"); !strings.Contains(got, held.RefreshToken) {
		t.Fatalf("the replica holds %q; want the primary's record", got)
	}
}

// TestAfterAFailoverToAWritableReplica: a failover behind one address
// that left the Store's connections on the old primary, now a replica that
// takes writes, kept them there: a read, told it was a replica's, closed
// its connection by a write a replica refuses, which this one took (a
// syntax error), and failed again there, unreachable; a save was taken
// there, to be lost. Both now reach the new primary.
func TestAfterAFailoverToAWritableReplica(t *testing.T) {
	ctx := context.Background()
	s, old, next, newer := failedOverBehindOneAddress(t, func(old *redistest.Server) { writable(t, old) })
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != newer.RefreshToken {
		t.Fatalf("Load after the failover: %v, %v; want the new primary's record, %s", got, err, newer.RefreshToken)
	}
	latest := copyOf(3)
	if err := s.Save(ctx, "sandbox", latest); err != nil && !strings.Contains(err.Error(), "replica") {
		t.Fatalf("a save on the old primary, now a replica: %v; want it refused as a replica's, or saved on the new primary", err)
	}
	if err := s.Save(ctx, "sandbox", latest); err != nil {
		t.Fatalf("the save tried again: %v; want it saved on the new primary", err)
	}
	if got := next.Get(t, "freshtoken:sandbox"); !strings.Contains(got, latest.RefreshToken) {
		t.Fatalf("the new primary holds %q; want the save", got)
	}
	if got := old.Get(t, "freshtoken:sandbox"); strings.Contains(got, latest.RefreshToken) {
		t.Fatal("the old primary, a replica now, took the save")
	}
}

// TestReadWhileRedisLoads: a Redis loading its data from disk after a
// start answers a read LOADING, which go-redis does not try again when
// INFO, answered while loading, goes first in the read's pipeline: the
// read failed at once. It is now tried again for a few seconds, and a
// Redis that has loaded by then is read; one still loading is an
// unreachable store (exit 5) saying so.
func TestReadWhileRedisLoads(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := opened(t, srv.URL)
	held := saveHeld(t, s)
	srv.RestartLoading(t)
	before := srv.ErrorReplies(t)
	read := make(chan error, 1)
	go func() {
		got, err := s.Load(ctx, "sandbox")
		if err == nil && !store.Unchanged(got, held) {
			err = errors.New("another record than the one saved")
		}
		read <- err
	}()
	testenv.WaitFor(t, "Redis to answer the read LOADING", func() bool { return srv.ErrorReplies(t) > before })
	srv.FinishLoading(t)
	if err := testenv.Receive(t, "the read", read); err != nil {
		t.Fatalf("Load from a Redis that was loading, and has loaded: %v; want the record", err)
	}
	srv.RestartLoading(t)
	_, err := s.Load(ctx, "sandbox")
	if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "still loading") {
		t.Fatalf("Load from a Redis still loading: %v; want unreachable, saying it is still loading", err)
	}
}

// TestInfoRefusedIsWhatServersSay holds infoRefused to real redis-server
// answers to INFO: a user without +info (NOPERM) and a Redis where INFO is
// renamed or disabled (an unknown command) refuse it; a script running
// too long (BUSY) is an answer for now (as is too many clients, which a
// server says as it closes the connection: see
// TestInfoNotJustNowIsNotInfoUnavailable). It took a
// message holding "command not allowed" or "forbidden command" for a
// refusal, which no server or proxy says of INFO, and Redis says of a
// write when out of memory ("OOM command not allowed when used memory >
// 'maxmemory'").
func TestInfoRefusedIsWhatServersSay(t *testing.T) {
	ctx := context.Background()
	infoOf := func(t *testing.T, srv *redistest.Server) error {
		t.Helper()
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
		defer c.Close()
		return c.Info(ctx, "server").Err()
	}
	srv := redistest.Start(t)
	srv.SetUser(t, "noinfo", "on", ">pw", "~*", "+get")
	noperm := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "noinfo", Password: "pw"})
	t.Cleanup(func() { noperm.Close() })
	refused := map[string]error{
		"a user without +info": noperm.Info(ctx, "server").Err(),
		"INFO renamed":         infoOf(t, redistest.StartWithoutInfo(t)),
	}
	for what, err := range refused {
		if err == nil || !redisstore.InfoRefused(err) {
			t.Errorf("%s: INFO answered %v; want it taken for refused", what, err)
		}
	}
	busy := redistest.Start(t)
	if reply := busy.Command(t, "CONFIG", "SET", "busy-reply-threshold", "10"); reply != "+OK" {
		t.Fatalf("CONFIG SET busy-reply-threshold: %s", reply)
	}
	spin := raw(t, busy)
	go spin.Eval(ctx, "while true do end", nil)
	var busyErr error
	testenv.WaitFor(t, "Redis to answer BUSY", func() bool {
		busyErr = infoOf(t, busy)
		return busyErr != nil
	})
	busy.Command(t, "SCRIPT", "KILL")
	oom := redistest.Start(t)
	if reply := oom.Command(t, "CONFIG", "SET", "maxmemory", "1"); reply != "+OK" {
		t.Fatalf("CONFIG SET maxmemory: %s", reply)
	}
	outOfMemory := raw(t, oom).Set(ctx, "k", "v", 0).Err() // Redis's own words, of a write
	forNow := map[string]error{
		"a script running": busyErr,
		"out of memory":    outOfMemory,
	}
	for what, err := range forNow {
		var answer redis.Error
		if !errors.As(err, &answer) || redisstore.InfoRefused(err) {
			t.Errorf("%s: INFO answered %v; want the server's error, not taken for a refusal", what, err)
		}
	}
}

// TestRestoreWaitsForAReplica: a put-back after a restart that lost the
// tokens (Restore) was written with a script of its own, past the path
// every save takes: it returned as soon as the primary had it, waiting for
// no replica, and a failover then lost the tokens once more, with no one
// left holding them to put back. It now waits for a replica as a save does.
func TestRestoreWaitsForAReplica(t *testing.T) {
	primary, replica, link, s := replicated(t, time.Minute)
	held := saveHeld(t, s)
	primary.RestartWithReplica(t, replica)
	waitsForTheReplica(t, primary, link, func() error {
		unlock, err := s.Lock(context.Background(), "sandbox")
		if err != nil {
			return err
		}
		defer unlock()
		if _, restored, err := s.Restore(context.Background(), "sandbox", held); err != nil || !restored {
			return fmt.Errorf("Restore after a restart: restored %v, %v; want the record put back", restored, err)
		}
		return nil
	})
	if got := failedOver(t, primary, replica, link); !strings.Contains(got, held.RefreshToken) {
		t.Fatalf("the replica promoted once the put-back returned holds %q; want the tokens put back", got)
	}
}
