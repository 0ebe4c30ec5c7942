package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

func open(t *testing.T, url string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// opened is a Store on url, as open makes it, closed when the test ends.
func opened(t *testing.T, url string) *redisstore.Store {
	t.Helper()
	s := open(t, url)
	t.Cleanup(func() { s.Close() })
	return s
}

// raw is a plain client, to look at and tamper with what the store keeps.
func raw(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// started starts a Redis of the test's own and returns a store on it and
// a plain client (raw's) to it.
func started(t *testing.T) (*redisstore.Store, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	return open(t, srv.URL), raw(t, srv)
}

// shortLockTTL is the lock TTL of shortLockHolders' first Store: short,
// for a test that waits over two of them, and long enough that the
// holder's extension, every third of it, is never late by the other two
// on a loaded machine (at 300 ms, a pause of 200 ms would let it expire).
const shortLockTTL = time.Second

// shortLockHolders opens two Stores on a Redis of the test's own, as two
// machines; the first's locks last shortLockTTL unless extended, as a
// holder that lives extends them.
func shortLockHolders(t *testing.T) (a, b *redisstore.Store) {
	t.Helper()
	srv := redistest.Start(t)
	a, b = open(t, srv.URL), open(t, srv.URL)
	a.LockTTL = shortLockTTL
	return a, b
}

// lockStaysHeld fails the test unless b's Lock on sandbox waits over two
// of the holder's lock TTLs without taking the lock; while says when.
func lockStaysHeld(t *testing.T, b *redisstore.Store, while string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*shortLockTTL/2)
	defer cancel()
	if _, err := b.Lock(ctx, "sandbox"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("another machine's Lock %s: %v; want the lock still held after over two of its TTLs", while, err)
	}
}

// lockInTheBackground starts s's Lock on sandbox, which gives the lock
// back as soon as it has it, and returns where Lock's error comes.
func lockInTheBackground(ctx context.Context, s *redisstore.Store) <-chan error {
	locked := make(chan error, 1)
	go func() {
		unlock, err := s.Lock(ctx, "sandbox")
		if err == nil {
			unlock()
		}
		locked <- err
	}()
	return locked
}

// lock takes s's lock on sandbox, failing the test if it cannot.
func lock(t *testing.T, s *redisstore.Store) (unlock func()) {
	t.Helper()
	unlock, err := s.Lock(context.Background(), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	return unlock
}

// TestCorruptRecordIsKept: a value freshtoken cannot read is reported, and
// left as it is.
func TestCorruptRecordIsKept(t *testing.T) {
	srv := redistest.Start(t)
	s, rc := open(t, srv.URL), raw(t, srv)
	ctx := context.Background()
	rc.Set(ctx, "freshtoken:sandbox", "not json", 0)
	_, err := s.Load(ctx, "sandbox")
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "a log-in replaces it") || strings.Contains(err.Error(), "`freshtoken") {
		t.Fatalf("Load of a corrupt record: %v; want ErrCorrupt saying how to replace it, and no command (the command line adds it)", err)
	}
	if v, _ := rc.Get(ctx, "freshtoken:sandbox").Result(); v != "not json" {
		t.Fatalf("the corrupt record became %q", v)
	}

	// Another program's value of another type under the key (a hash).
	rc.HSet(ctx, "freshtoken:prod", "a", "b")
	_, err = s.Load(ctx, "prod")
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "a log-in replaces it") || !strings.Contains(err.Error(), "hash") {
		t.Fatalf("Load of a hash: %v; want ErrCorrupt naming its type and saying how to replace it", err)
	}

	// The user docs/fleets.md gives freshtoken, which may not ask for TYPE:
	// it said "holds a Redis , not freshtoken's tokens".
	if err := rc.Do(ctx, "ACL", "SETUSER", "freshtoken", "on", ">pw", "~freshtoken:*", "+@connection", "+get", "+set", "+del", "+eval", "+evalsha", "+pexpire").Err(); err != nil {
		t.Fatal(err)
	}
	_, err = open(t, "redis://freshtoken:pw@"+srv.Addr+"/0").Load(ctx, "prod")
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "holds a Redis value of another type, not freshtoken's tokens") {
		t.Fatalf("Load of a hash by a user who may not ask its type: %v; want ErrCorrupt saying it holds another type", err)
	}
}

// TestLiveHolderKeepsItsLock: a holder's lock outlives its TTL for as long
// as the holder lives.
func TestLiveHolderKeepsItsLock(t *testing.T) {
	a, b := shortLockHolders(t)
	unlock := lock(t, a)
	defer unlock()
	lockStaysHeld(t, b, "while a live holder has it")
}

// TestDeadHoldersLockExpires: a holder that died holding the lock (its
// value left in Redis, never extended or released) holds up the others for
// no longer than the lock's TTL.
func TestDeadHoldersLockExpires(t *testing.T) {
	s, rc := started(t)
	ctx := context.Background()
	// Taken before the lock is set, so that a pause between the two on a
	// loaded machine cannot shorten the wait measured.
	start := time.Now()
	rc.Set(ctx, "freshtoken:sandbox:lock", "a holder that died", 500*time.Millisecond)
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	unlock, err := s.Lock(waitCtx, "sandbox")
	if err != nil {
		t.Fatalf("Lock after the dead holder's lock expired: %v", err)
	}
	unlock()
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("Lock took the dead holder's lock after %v, before it expired", waited)
	}
}

// TestUnlockLeavesAnotherHoldersLock: a lock that expired and passed to
// another holder is no longer held, and its first holder's unlock leaves it.
func TestUnlockLeavesAnotherHoldersLock(t *testing.T) {
	s, rc := started(t)
	ctx := context.Background()
	unlock := lock(t, s)
	if held, err := s.HoldsLock(ctx, "sandbox"); !held || err != nil {
		t.Fatalf("HoldsLock of a lock just taken: %v, %v", held, err)
	}
	rc.Set(ctx, "freshtoken:sandbox:lock", "someone else", time.Minute) // as if it had expired and been taken
	if held, err := s.HoldsLock(ctx, "sandbox"); held || err != nil {
		t.Fatalf("HoldsLock of a lock another holder took: %v, %v", held, err)
	}
	unlock()
	if v, _ := rc.Get(ctx, "freshtoken:sandbox:lock").Result(); v != "someone else" {
		t.Fatalf("unlock removed another holder's lock (now %q)", v)
	}
}

// TestSaveOnlyWhileHoldingTheLock: a holder whose lock expired while it was
// paused, and passed to another holder that has saved newer tokens since,
// cannot overwrite them with its older ones: its Save is refused, in the
// same step as the check that the lock is still its own. A Store that took
// no lock (a caller outside the renewal rules, as the contract's tests
// are) saves as before.
func TestSaveOnlyWhileHoldingTheLock(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	paused, other := open(t, srv.URL), open(t, srv.URL)
	unlockPaused := lock(t, paused)
	defer unlockPaused()
	raw(t, srv).Del(ctx, "freshtoken:sandbox:lock") // expired while its holder was paused
	unlockOther := lock(t, other)
	newer := storetest.Sample()
	newer.RefreshToken = "the-newer-refresh-token"
	if err := other.Save(ctx, "sandbox", newer); err != nil {
		t.Fatal(err)
	}
	older := storetest.Sample()
	older.RefreshToken = "the-older-refresh-token"
	if err := paused.Save(ctx, "sandbox", older); err == nil || !strings.Contains(err.Error(), "renewal lock") {
		t.Fatalf("Save by a holder that lost the lock: %v; want it refused, naming the lock", err)
	}
	if got, err := other.Load(ctx, "sandbox"); err != nil || got.RefreshToken != newer.RefreshToken {
		t.Fatalf("stored %v, %v; want the newer tokens kept", got, err)
	}
	unlockOther()
	if err := open(t, srv.URL).Save(ctx, "sandbox", older); err != nil {
		t.Fatalf("Save without a lock: %v", err)
	}
}

// TestHoldsLockRenewsTheLock: the check made just before a token request
// is sent leaves the lock a whole TTL to live, not whatever was left of it:
// a holder resumed moments before its lock expires (its extensions missed
// while it was paused or cut off from Redis) would otherwise find the lock
// its own, send the refresh token, and lose the lock to another renewer
// that sends the same refresh token a moment later.
func TestHoldsLockRenewsTheLock(t *testing.T) {
	s, rc := started(t)
	ctx := context.Background()
	s.LockTTL = time.Minute // no extension comes during the test
	unlock := lock(t, s)
	defer unlock()
	// About to expire, but not before HoldsLock has looked, however loaded
	// the machine (it had 50 ms).
	rc.PExpire(ctx, "freshtoken:sandbox:lock", 5*time.Second)
	if held, err := s.HoldsLock(ctx, "sandbox"); !held || err != nil {
		t.Fatalf("HoldsLock: %v, %v", held, err)
	}
	if ttl := rc.PTTL(ctx, "freshtoken:sandbox:lock").Val(); ttl < 30*time.Second {
		t.Fatalf("the lock found held has %v left; want a whole TTL from the check", ttl)
	}
}

// TestOneHolderPerStore: two renewers of one process sharing a Store (a
// program with a Source per request) never hold env's lock at once, even
// when the first one's lock expired in Redis (its extensions missed while
// Redis was cut off): the second waits for the first's unlock. Each Store
// knows one holder per environment, so with both holding, the first would
// take the second's lock for its own and send its refresh token beside it.
func TestOneHolderPerStore(t *testing.T) {
	s, rc := started(t)
	ctx := context.Background()
	unlock := lock(t, s)
	rc.Del(ctx, "freshtoken:sandbox:lock") // expired, its holder alive
	waitCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if unlock2, err := s.Lock(waitCtx, "sandbox"); err == nil {
		held, _ := s.HoldsLock(ctx, "sandbox")
		unlock2()
		t.Fatalf("a second renewer of this process took the lock while the first still held it (the first's check says held: %t)", held)
	}
	if held, err := s.HoldsLock(ctx, "sandbox"); held || err != nil {
		t.Fatalf("HoldsLock of a lock that expired: %v, %v", held, err)
	}
	unlock()
	unlock2, err := s.Lock(ctx, "sandbox")
	if err != nil {
		t.Fatalf("Lock once the first holder let go: %v", err)
	}
	unlock2()
}

// TestUnreachable: a store whose Redis is down says so, naming it, and its
// errors wrap store.ErrUnreachable. A password in the URL is never shown.
func TestUnreachable(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	s := open(t, "redis://:hunter2@"+srv.Addr+"/0")
	ctx := context.Background()
	_, loadErr := s.Load(ctx, "sandbox")
	saveErr := s.Save(ctx, "sandbox", &store.Record{AccessToken: "at"})
	_, lockErr := s.Lock(ctx, "sandbox")
	for what, err := range map[string]error{"Load": loadErr, "Save": saveErr, "Lock": lockErr} {
		if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), srv.Addr) || !strings.Contains(err.Error(), "Redis") {
			t.Errorf("%s with Redis down: %v; want ErrUnreachable naming Redis at %s", what, err, srv.Addr)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", what, err)
		}
	}
	if loc := s.Location("sandbox"); strings.Contains(loc, "hunter2") || !strings.Contains(loc, "freshtoken:sandbox") {
		t.Errorf("Location %q; want the key, without the password", loc)
	}
}

// TestTLSToAPlainServer: rediss:// to a Redis without TLS, whose handshake
// never completes, is an unreachable store that says to check TLS, not a
// caller's deadline.
func TestTLSToAPlainServer(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, "rediss://:hunter2@"+srv.Addr+"/0?dial_timeout=100ms&max_retries=1")
	_, err := s.Load(context.Background(), "sandbox")
	if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "TLS") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Load: %v; want ErrUnreachable saying to check TLS, without the password", err)
	}
}

// TestUntrustedTLSCertificate: rediss:// to a Redis whose certificate this
// machine does not trust is one line naming Redis, what is wrong with the
// certificate and what to do, without the password: it said to check that
// Redis is running and serves TLS, which it does. ca_file, which a
// corporate network's user may have set, is not what Redis is checked
// against, and the line says so.
func TestUntrustedTLSCertificate(t *testing.T) {
	ca := corpnet.NewCA(t)
	for _, tc := range []struct{ name, host, want string }{
		{"unknown authority", "127.0.0.1", "the certificate of Redis at rediss://127.0.0.1:PORT/0 is signed by an unknown authority; add that authority to this machine's trusted certificates (on Linux, SSL_CERT_FILE may name a PEM file holding it and the system's authorities: it takes the place of the system's own file, which providers and APIs need too); ca_file is for providers and APIs, not for Redis"},
		{"another host", "redis.corp.test", "the certificate of Redis at rediss://127.0.0.1:PORT/0 is for another host (valid for redis.corp.test); check the URL"},
		// Anyone who answers names the certificate: an escape sequence in
		// its name (OSC 52, which sets a terminal's clipboard) reached the
		// terminal as it was.
		{"an escape in its name", "evil\x1b]52;c;aGk=\x07.test", `the certificate of Redis at rediss://127.0.0.1:PORT/0 is for another host (valid for "evil\x1b]52;c;aGk=\a.test"); check the URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, url := redistest.StartTLS(t, ca.Certificate(t, tc.host, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)))
			want := strings.Replace(tc.want, "rediss://127.0.0.1:PORT/0", url, 1)
			s := opened(t, strings.Replace(url, "rediss://", "rediss://:hunter2@", 1))
			_, err := s.Load(context.Background(), "sandbox")
			if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Load: %v; want ErrUnreachable, one line saying %q, without the password", err, want)
			}
		})
	}
}

// TestPausedRedisIsToldAsNotAnswering: a Redis that takes connections and
// never answers (paused, overloaded, a network that loses its answers) is
// an unreachable store saying so, in one line without the password: it
// said "could not be reached (i/o timeout)", as of a network failing to
// reach it.
func TestPausedRedisIsToldAsNotAnswering(t *testing.T) {
	srv := redistest.Start(t)
	s := opened(t, "redis://:hunter2@"+srv.Addr+"/0?read_timeout=100ms&max_retries=1")
	srv.Pause(t)
	_, err := s.Load(context.Background(), "sandbox")
	want := "could not read the tokens: Redis at redis://" + srv.Addr + "/0 took the connection but did not answer within 100ms, at each try (paused, overloaded, or a network that loses its answers); check that Redis is running and answering, then try again"
	if !errors.Is(err, store.ErrUnreachable) || err.Error() != want {
		t.Fatalf("Load: %v; want ErrUnreachable saying %q", err, want)
	}
}

// TestConditionalWriteThatCouldNotReadSaysWhichWrite: a conditional save
// or deletion reads the record first, to compare; that read failing is
// the save's or the deletion's failure, and says so: it said "could not
// read the tokens", of a renewal's answer the store did not take.
func TestConditionalWriteThatCouldNotReadSaysWhichWrite(t *testing.T) {
	addr := testenv.Serve(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	s := opened(t, "redis://"+addr+"/0?read_timeout=100ms&max_retries=-1")
	read := &store.Record{AccessToken: "at", TokenType: "Bearer"}
	for _, tc := range []struct {
		write string
		err   error
	}{
		{"save", s.SaveIf(context.Background(), "sandbox", &store.Record{AccessToken: "at2", TokenType: "Bearer"}, read)},
		{"delete", s.DeleteIf(context.Background(), "sandbox", read)},
	} {
		if want := "could not " + tc.write + " the tokens: Redis at redis://" + addr + "/0 took the connection but did not answer"; !errors.Is(tc.err, store.ErrUnreachable) || !strings.HasPrefix(tc.err.Error(), want) {
			t.Errorf("%s: %v; want ErrUnreachable saying %q", tc.write, tc.err, want)
		}
	}
}

// TestStalledRedisIsWaitedForOnceATry: against a Redis that takes
// connections and never answers, a read or a save waits read_timeout once
// for each of its tries, as its message says: go-redis set a pipeline's
// connection up in a pool of its own and, that failing, dialled again from
// its main pool, so each try waited twice (16 s a command where 8 s was
// said, at the defaults).
func TestStalledRedisIsWaitedForOnceATry(t *testing.T) {
	var dials atomic.Int32
	addr := testenv.Serve(t, func(c net.Conn) {
		dials.Add(1)
		io.Copy(io.Discard, c)
	})
	s := opened(t, "redis://"+addr+"/0?read_timeout=100ms&max_retries=1")
	for _, tc := range []struct {
		name string
		// tries: max_retries=1 is two tries; a save whose server's role is
		// not known yet is sent first on a connection of its own (see
		// thenRunID), once.
		tries int32
		do    func() error
	}{
		{"Load", 2, func() error { _, err := s.Load(context.Background(), "sandbox"); return err }},
		{"Save", 3, func() error {
			return s.Save(context.Background(), "sandbox", &store.Record{AccessToken: "at", TokenType: "Bearer"})
		}},
	} {
		dials.Store(0)
		err := tc.do()
		if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "did not answer within 100ms, at each try") {
			t.Fatalf("%s: %v; want ErrUnreachable saying Redis did not answer within 100ms", tc.name, err)
		}
		if n := dials.Load(); n != tc.tries {
			t.Errorf("%s with max_retries=1 dialled the stalled Redis %d times, waiting 100ms each; want %d, one a try", tc.name, n, tc.tries)
		}
	}
}

// TestOutOfMemory: a Redis over its maxmemory refuses writes; that is the
// store unable to serve just now (store.ErrUnreachable) and says what to do,
// not an unexpected failure.
func TestOutOfMemory(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := raw(t, srv).ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	s := open(t, srv.URL)
	saveErr := s.Save(ctx, "sandbox", &store.Record{AccessToken: "at"})
	_, lockErr := s.Lock(ctx, "sandbox")
	for what, err := range map[string]error{"Save": saveErr, "Lock": lockErr} {
		if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "maxmemory") {
			t.Errorf("%s on a full Redis: %v; want ErrUnreachable saying to raise maxmemory", what, err)
		}
	}
}

// TestDenied: Redis refusing the URL's credentials is a configuration
// problem (store.ErrDenied), not an outage, and says what to check.
func TestDenied(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := raw(t, srv).ConfigSet(ctx, "requirepass", "right-password").Err(); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"redis://" + srv.Addr + "/0", "redis://:wrong-password@" + srv.Addr + "/0"} {
		_, err := open(t, url).Load(ctx, "sandbox")
		if !errors.Is(err, store.ErrDenied) || errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "check the user and password") {
			t.Errorf("%s: %v; want ErrDenied saying what to check", url, err)
		}
		if err != nil && strings.Contains(err.Error(), "wrong-password") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	s := open(t, "redis://:right-password@"+srv.Addr+"/0")
	if err := s.Save(ctx, "sandbox", &store.Record{AccessToken: "at"}); err != nil {
		t.Fatalf("with the right password: %v", err)
	}

	// A user that may read but not write: refused inside the lock's script too.
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, Password: "right-password"})
	defer admin.Close()
	if err := admin.Do(ctx, "ACL", "SETUSER", "reader", "on", ">reader-password", "~freshtoken:*", "+@connection", "+get", "+eval", "+evalsha").Err(); err != nil {
		t.Fatal(err)
	}
	reader := open(t, "redis://reader:reader-password@"+srv.Addr+"/0")
	if _, err := reader.Load(ctx, "sandbox"); err != nil {
		t.Fatalf("the reader's Load: %v", err)
	}
	if _, err := reader.Lock(ctx, "sandbox"); !errors.Is(err, store.ErrDenied) {
		t.Errorf("Lock by a user who may not set keys: %v; want ErrDenied", err)
	}
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() store.Store {
		srv := redistest.Start(t)
		return func() store.Store { return open(t, srv.URL) }
	})
}

// clients is how many clients Redis has connected, as it counts them.
func clients(t *testing.T, c *redis.Client) int {
	t.Helper()
	list, err := c.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(strings.TrimSpace(list), "\n") + 1
}

// TestCloseLetsGoOfTheConnections: a program that makes a Store for each
// job and closes it when the job is done leaves no connection behind: Redis
// counts only the test's own client once every job's Store is closed. With
// no Close, each Store kept its pool of connections for the process's
// life. A Store closed once is closed: a second Close returns what the
// first did, and a call after it fails saying the store was closed, not
// that Redis could not be reached.
func TestCloseLetsGoOfTheConnections(t *testing.T) {
	srv := redistest.Start(t)
	c := raw(t, srv)
	ctx := context.Background()
	var stores []*redisstore.Store
	for range 5 { // five jobs at once
		s := open(t, srv.URL)
		stores = append(stores, s)
		unlock := lock(t, s) // holds a connection of its own while it extends
		if err := s.Save(ctx, "sandbox", &store.Record{AccessToken: "a"}); err != nil {
			t.Fatal(err)
		}
		unlock()
		if _, err := s.Load(ctx, "sandbox"); err != nil {
			t.Fatal(err)
		}
	}
	if n := clients(t, c); n < 1+len(stores) {
		t.Fatalf("Redis counts %d clients; want the test's own and at least one per Store", n)
	}
	for _, s := range stores {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, "Redis to count only the test's own client", func() bool { return clients(t, c) == 1 })

	s := stores[0]
	if err := s.Close(); err != nil {
		t.Errorf("a second Close: %v; want what the first returned, nil", err)
	}
	_, err := s.Load(ctx, "sandbox")
	if err == nil || errors.Is(err, store.ErrUnreachable) || !errors.Is(err, redis.ErrClosed) || !strings.Contains(err.Error(), "was closed") {
		t.Errorf("Load after Close: %v; want it to say the store was closed", err)
	}
	if _, err := s.Lock(ctx, "sandbox"); err == nil || errors.Is(err, store.ErrUnreachable) || !errors.Is(err, redis.ErrClosed) {
		t.Errorf("Lock after Close: %v; want it to say the store was closed", err)
	}
	if err := s.Save(ctx, "sandbox", &store.Record{AccessToken: "b"}); err == nil || !errors.Is(err, redis.ErrClosed) {
		t.Errorf("Save after Close: %v; want it to say the store was closed", err)
	}
}

// TestCloseWaitsForTheRenewalUnderWay: Close while the Store holds a
// renewal lock (a renewal whose answer is not yet stored) takes no other
// lock, but lets the renewal store its tokens and let go of the lock before
// the connections close: the refresh token the provider sent may be the
// only copy, and a lock left held would keep every other machine waiting
// for its time limit.
func TestCloseWaitsForTheRenewalUnderWay(t *testing.T) {
	s, c := started(t)
	ctx := context.Background()
	unlock := lock(t, s)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	testenv.WaitFor(t, "Close to refuse another lock", func() bool {
		u, err := s.Lock(ctx, "other")
		if err == nil {
			u()
			return false
		}
		if !errors.Is(err, redis.ErrClosed) {
			t.Fatalf("Lock while closing: %v; want it to say the store was closed", err)
		}
		return true
	})
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with a lock held", err)
	default:
	}
	if err := s.Save(ctx, "sandbox", &store.Record{AccessToken: "renewed"}); err != nil {
		t.Fatalf("the renewal's Save while Close waits: %v", err)
	}
	unlock()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, "freshtoken:sandbox:lock").Result(); err != nil || n != 0 {
		t.Errorf("the lock is left at Redis (%d, %v); want it let go of before the connections close", n, err)
	}
	if v, err := c.Get(ctx, "freshtoken:sandbox").Result(); err != nil || !strings.Contains(v, "renewed") {
		t.Errorf("the record is %q (%v); want the renewal's", v, err)
	}
}

// TestRedisCluster: a Redis Cluster, which the store does not support (a
// record, its lock and its in-flight mark are keys in different hash slots,
// written together in one step), is a configuration problem said as such, wrapping
// store.ErrDenied (exit 2): its answers were shown raw, as an unexpected
// failure (exit 1, a bug): "CROSSSLOT Keys in request don't hash to the
// same slot" at every save under the lock (every log-in), and "MOVED …"
// reading a key another node serves.
func TestRedisCluster(t *testing.T) {
	t.Run("one node", func(t *testing.T) {
		srv := redistest.StartCluster(t, 1, func(int) int { return 0 })[0]
		s := open(t, srv.URL)
		// The lock and its in-flight mark are two keys too, taken in one
		// step: the lock is refused, before any save.
		_, err := s.Lock(context.Background(), "sandbox")
		clusterRefused(t, err)
	})
	t.Run("the key on another node", func(t *testing.T) {
		probe := redistest.StartCluster(t, 1, func(int) int { return 0 })[0]
		slot, err := strconv.Atoi(strings.TrimPrefix(probe.Command(t, "CLUSTER", "KEYSLOT", "freshtoken:sandbox"), ":"))
		if err != nil {
			t.Fatal(err)
		}
		nodes := redistest.StartCluster(t, 2, func(n int) int {
			if n == slot {
				return 1
			}
			return 0
		})
		_, err = open(t, nodes[0].URL).Load(context.Background(), "sandbox")
		clusterRefused(t, err)
	})
}

func clusterRefused(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), "Redis Cluster") {
		t.Fatalf("err = %v; want store.ErrDenied, saying a Redis Cluster is not supported", err)
	}
}

// TestLockOutlivesItsUnsavedAnswer: a renewal whose answer Redis refused
// (out of memory, say) keeps that answer, the only copy of the rotated
// refresh token, and tries again later; until it is saved, the lock stays
// with this Store, and its next Lock takes it back at once. Its release let
// another machine take the lock the moment Redis took writes again, read
// the refresh token the answer replaced, and send it: the provider ended
// the grant.
func TestLockOutlivesItsUnsavedAnswer(t *testing.T) {
	a, b := shortLockHolders(t)
	withdraw := a.KeepUnsaved("sandbox", func(context.Context) error { return nil })
	lock(t, a)() // the renewal whose answer is kept ends

	lockStaysHeld(t, b, "while an unsaved answer is kept")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // kept alive, it would never be free
	unlock, err := a.Lock(ctx, "sandbox")
	cancel()
	if err != nil {
		t.Fatalf("the keeper's own Lock: %v, want its lock back at once", err)
	}
	withdraw() // saved under it
	unlock()
	if _, err := b.Lock(context.Background(), "sandbox"); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCheckWrite: a user that may read freshtoken's keys but not write
// them (+@read alone; a script's SET refused; keys it may only read, %R~;
// the record's key but not the lock's) is found out by CheckWrite, as
// ErrDenied naming what it may not do, while the user the docs give may
// write. Nothing is written: the record, another machine's lock (its value
// and its time to live) and an absent record stay as they were. A user that
// may write the record and the lock, not the in-flight mark, whose every
// renewal is refused, is found out too.
func TestCheckWrite(t *testing.T) {
	srv := redistest.Start(t)
	rc := raw(t, srv)
	ctx := context.Background()
	for _, user := range [][]string{
		append([]string{"docs"}, redistest.FleetRules...),
		{"ro", "~freshtoken:*", "+@read"},
		{"reader", "~freshtoken:*", "+@connection", "+get", "+eval", "+evalsha"},
		{"keysro", "%R~freshtoken:*", "+@all"},
		{"nolock", "~freshtoken:sandbox", "~freshtoken:empty", "+@all"},
		{"nodel", "~freshtoken:*", "+@connection", "+get", "+set", "+eval", "+evalsha", "+pexpire"},
		{"nomark", "~freshtoken:sandbox", "~freshtoken:empty", "~freshtoken:*:lock", "+@all"},
		{"nopttl", "~freshtoken:*", "+@connection", "+get", "+set", "+del", "+eval", "+evalsha", "+pexpire"},
		{"noinfo", "~freshtoken:*", "+@connection", "+get", "+set", "+del", "+eval", "+evalsha", "+pexpire", "+pttl"},
	} {
		if err := rc.Do(ctx, append([]any{"ACL", "SETUSER", user[0], "on", ">pw"}, anys(user[1:])...)...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rc.Set(ctx, "freshtoken:sandbox", `{"access_token":"at"}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Set(ctx, "freshtoken:sandbox:lock", "another-machine", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	ttl := rc.PTTL(ctx, "freshtoken:sandbox:lock").Val()
	for _, tt := range []struct{ user, says string }{
		{"docs", ""},
		{"ro", "could not save the tokens"},
		{"reader", "could not save the tokens"},
		{"keysro", "could not save the tokens"},
		{"nolock", "could not take the renewal lock"},
		{"nodel", "'del'"},
		{"nomark", "could not mark the renewal in flight"},
		{"nopttl", "ACL SETUSER nopttl +pttl"},
		{"noinfo", "ACL SETUSER noinfo +info"},
	} {
		s := open(t, "redis://"+tt.user+":pw@"+srv.Addr+"/0")
		for _, env := range []string{"sandbox", "empty"} {
			err := s.CheckWrite(ctx, env)
			switch {
			case tt.says == "" && err != nil:
				t.Errorf("%s, %s: %v; want nil, as it may write", tt.user, env, err)
			case tt.user == "noinfo" && (!errors.Is(err, store.ErrRestartLoses) || errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), tt.says)):
				t.Errorf("%s, %s: %v; want ErrRestartLoses (renewals go on) saying %q", tt.user, env, err, tt.says)
			case tt.user != "noinfo" && tt.says != "" && (!errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "permissions")):
				t.Errorf("%s, %s: %v; want ErrDenied saying %q and to check the user's permissions", tt.user, env, err, tt.says)
			case (tt.user == "nopttl" || tt.user == "noinfo") && (strings.Contains(err.Error(), "could not mark") || strings.Contains(err.Error(), "password")):
				// It marks renewals and may log in: only its wait on a
				// dead holder's mark is longer (docs/fleets.md).
				t.Errorf("%s, %s: %v; want it to say that renewals go on, not that they could not be marked or that the password may be wrong", tt.user, env, err)
			}
		}
		s.Close()
	}
	if got := rc.Get(ctx, "freshtoken:sandbox").Val(); got != `{"access_token":"at"}` {
		t.Errorf("the record holds %q after the checks; want it as it was", got)
	}
	if got := rc.Get(ctx, "freshtoken:sandbox:lock").Val(); got != "another-machine" {
		t.Errorf("another machine's lock holds %q after the checks; want it as it was", got)
	}
	if got := rc.PTTL(ctx, "freshtoken:sandbox:lock").Val(); got > ttl || got <= 0 {
		t.Errorf("another machine's lock lives %v after the checks, %v before; want it untouched", got, ttl)
	}
	if keys := rc.Keys(ctx, "*").Val(); len(keys) != 2 {
		t.Errorf("keys %q after the checks; want the record and the lock alone", keys)
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// attempted waits until Redis has run two lock attempts by a Store other
// than the holder's (every script of a holder's passes its value): the
// first one surely done by then, whatever Redis tells MONITOR first.
func attempted(t *testing.T, seen <-chan string, holder string) {
	t.Helper()
	for n := 0; n < 2; {
		line, ok := <-seen
		if !ok {
			t.Fatal("MONITOR ended")
		}
		if strings.Contains(line, `] "eval`) && strings.Contains(line, `"freshtoken:sandbox:lock"`) && !strings.Contains(line, holder) {
			n++
		}
	}
}

// TestInFlightMarkOutlastsTheLock: the mark a holder sets as it checks its
// lock just before a token request (HoldsLock) keeps every other renewer
// out once the lock expired by Redis's clock (Redis paused past the lock's
// life while the provider answered), and the holder's save is taken under
// it, taking the lock back and clearing the mark: the other renewer then
// reads the answer, once the holder unlocks. Without the
// mark, the other renewer took the expired lock and read, and sent, the
// refresh token the answer replaced.
func TestInFlightMarkOutlastsTheLock(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rc := raw(t, srv)
	a, b := open(t, srv.URL), open(t, srv.URL)
	a.LockTTL, a.InFlightTTL = time.Minute, 2*time.Minute // no extension comes during the test
	unlockA := lock(t, a)
	defer unlockA()
	if held, err := a.HoldsLock(ctx, "sandbox"); !held || err != nil {
		t.Fatalf("HoldsLock: %v, %v", held, err)
	}
	holder := rc.Get(ctx, "freshtoken:sandbox:lock").Val()
	if mark, ttl := rc.Get(ctx, "freshtoken:sandbox:renewing").Val(), rc.PTTL(ctx, "freshtoken:sandbox:renewing").Val(); mark != holder || ttl <= time.Minute {
		t.Fatalf("the in-flight mark is %q for %v; want the holder's, for InFlightTTL", mark, ttl)
	}
	rc.Del(ctx, "freshtoken:sandbox:lock") // expired while Redis was paused

	seen := srv.Monitor(t)
	locked := make(chan func(), 1)
	go func() {
		unlock, err := b.Lock(ctx, "sandbox")
		if err != nil {
			t.Error(err)
			unlock = func() {}
		}
		locked <- unlock
	}()
	attempted(t, seen, holder)
	if v := rc.Get(ctx, "freshtoken:sandbox:lock").Val(); v != "" {
		t.Fatal("another renewer took the lock while the holder's token request was in flight")
	}
	answer := storetest.Sample()
	answer.RefreshToken = "the-rotated-refresh-token"
	if err := a.Save(ctx, "sandbox", answer); err != nil {
		t.Fatalf("the holder's save under its mark: %v", err)
	}
	if m, l := rc.Get(ctx, "freshtoken:sandbox:renewing").Val(), rc.Get(ctx, "freshtoken:sandbox:lock").Val(); m != "" || l != holder {
		t.Fatalf("lock %q, mark %q after the save; want the lock taken back, and the mark cleared", l, m)
	}
	if err := a.Save(ctx, "sandbox", answer); err != nil {
		t.Fatalf("the same save again (go-redis sends one again when its answer is lost): %v", err)
	}
	unlockA()
	unlockB := <-locked
	defer unlockB()
	if got, err := b.Load(ctx, "sandbox"); err != nil || got.RefreshToken != answer.RefreshToken {
		t.Fatalf("the next renewer reads %v, %v; want the answer saved", got, err)
	}
	if v := rc.Get(ctx, "freshtoken:sandbox:lock").Val(); v == "" || v == holder {
		t.Fatalf("the lock is %q after the first holder's unlock; want the next renewer's", v)
	}
}

// monitored is a line of MONITOR's: the time Redis ran the command, and
// the command's words.
type monitored struct {
	at   float64 // Unix seconds
	args []string
}

// parseMonitored reads a line of MONITOR's.
func parseMonitored(line string) monitored {
	at, rest, _ := strings.Cut(line, " ")
	_, rest, _ = strings.Cut(rest, "] ")
	f, _ := strconv.ParseFloat(at, 64)
	return monitored{f, strings.Split(strings.Trim(rest, `"`), `" "`)}
}

// takeovers sends on the first channel it returns each script run seen
// that takes the lock from the holder whose in-flight mark holds mark (a
// script on the lock and the mark passing mark and another value: the
// mark's holder runs none such, and no other renewer passes mark but to
// take over), with the mark's time to live the taker last saw; it closes
// the second once two lock attempts by others than that holder were seen
// (as attempted).
func takeovers(t *testing.T, seen <-chan string, mark string) (<-chan time.Duration, <-chan struct{}) {
	t.Helper()
	found, waiting := make(chan time.Duration, 16), make(chan struct{})
	go func() {
		attempts := 0
		for line := range seen {
			m := parseMonitored(line)
			if len(m.args) < 4 || !strings.HasPrefix(m.args[0], "eval") || m.args[3] != "freshtoken:sandbox:lock" {
				continue
			}
			if !strings.Contains(line, mark) {
				if attempts++; attempts == 2 {
					close(waiting)
				}
				continue
			}
			keys, err := strconv.Atoi(m.args[2])
			if err != nil || len(m.args) < 3+keys {
				continue
			}
			argv := m.args[3+keys:] // a takeover's: holder, lock's life, mark, its time to live
			if len(argv) != 4 || argv[2] != mark {
				continue
			}
			ms, err := strconv.ParseInt(argv[3], 10, 64)
			if err != nil {
				t.Errorf("a takeover passing %q as the mark's time to live", argv[3])
				continue
			}
			select {
			case found <- time.Duration(ms) * time.Millisecond:
			default:
			}
		}
	}()
	return found, waiting
}

// TestWaiterThatMayNotReadTheMarksLife: a Redis user set up as the docs
// said before a waiter watched the in-flight mark's time to live (no
// +pttl) waits for the lock while another holder's mark stands, as for a
// held lock, until the mark is cleared: the waiter's script failed at
// PTTL, and every renewal that met another machine's renewal in flight
// failed, exit 2. CheckWrite tells of the missing permission
// (TestCheckWrite).
func TestWaiterThatMayNotReadTheMarksLife(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rc := raw(t, srv)
	if err := rc.Do(ctx, "ACL", "SETUSER", "older", "on", ">pw", "~freshtoken:*", "+@connection", "+get", "+set", "+del", "+eval", "+evalsha", "+pexpire").Err(); err != nil {
		t.Fatal(err)
	}
	rc.Set(ctx, "freshtoken:sandbox:renewing", "another-holder", time.Minute)
	seen := srv.Monitor(t)
	s := open(t, "redis://older:pw@"+srv.Addr+"/0")
	defer s.Close()
	locked := lockInTheBackground(ctx, s)
	for n := 0; n < 2; {
		select {
		case err := <-locked:
			t.Fatalf("Lock with another holder's mark standing: %v; want it to wait", err)
		case line := <-seen:
			if strings.Contains(line, `] "eval`) && strings.Contains(line, `"freshtoken:sandbox:lock"`) {
				n++
			}
		}
	}
	rc.Del(ctx, "freshtoken:sandbox:renewing") // the holder saved
	go func() {
		for range seen {
		}
	}()
	if err := testenv.Receive(t, "the lock", locked); err != nil {
		t.Fatal(err)
	}
}

// TestDeadHolderInFlightPassesTheLock: a holder killed (SIGKILL, here a
// process of its own) between its check of the lock, which set its
// in-flight mark, and its save (its token request in flight) held every
// other machine's renewal back until its mark expired, a minute later,
// though its lock expired within LockTTL as promised. Now a renewer that
// was waiting as it died has watched its mark not extended for longer
// than the grace by the time the lock expires, and takes the lock from it
// then: the mark, whose life is long here, still had most of it to run.
func TestDeadHolderInFlightPassesTheLock(t *testing.T) {
	const lockTTL, inFlightTTL = 600 * time.Millisecond, 30 * time.Second
	if url := os.Getenv("REDISSTORE_TEST_HOLDER"); url != "" {
		holdInFlight(t, url, lockTTL, inFlightTTL)
		return
	}
	srv := redistest.Start(t)
	ctx := context.Background()
	rc := raw(t, srv)
	cmd := exec.Command(os.Args[0], "-test.run=^TestDeadHolderInFlightPassesTheLock$", "-test.count=1")
	cmd.Env = append(os.Environ(), "REDISSTORE_TEST_HOLDER="+srv.URL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "in flight\n" {
		t.Fatalf("the holder said %q, %v; want it in flight", line, err)
	}
	mark := rc.Get(ctx, "freshtoken:sandbox:renewing").Val()
	if mark == "" || mark != rc.Get(ctx, "freshtoken:sandbox:lock").Val() {
		t.Fatal("the holder in flight has no mark, or no lock")
	}

	seen := srv.Monitor(t)
	took, waiting := takeovers(t, seen, mark)
	b := open(t, srv.URL)
	b.LockTTL, b.InFlightTTL = lockTTL, inFlightTTL
	locked := make(chan error, 1)
	go func() {
		unlock, err := b.Lock(ctx, "sandbox")
		if err == nil {
			defer unlock()
			if v := rc.Get(ctx, "freshtoken:sandbox:renewing").Val(); v != "" {
				err = fmt.Errorf("the dead holder's mark %q stands once the lock was taken", v)
			}
		}
		locked <- err
	}()
	testenv.Receive(t, "the next renewer to wait for the lock", waiting)
	cmd.Process.Kill() // its token request in flight
	cmd.Wait()
	if err := testenv.Receive(t, "the next renewer to take the lock", locked); err != nil {
		t.Fatal(err)
	}
	left := testenv.Receive(t, "the takeover of the dead holder's lock", took)
	if left < inFlightTTL/2 {
		t.Fatalf("the lock was taken from the dead holder with its mark %v from expiring (of %v); want it taken as its lock expired, the mark long from its end", left, inFlightTTL)
	}
}

// holdInFlight is the holder TestDeadHolderInFlightPassesTheLock kills:
// it takes the lock, checks it as before a token request (setting its
// in-flight mark), says so, and waits for its end with the request in
// flight.
func holdInFlight(t *testing.T, url string, lockTTL, inFlightTTL time.Duration) {
	s := open(t, url)
	s.LockTTL, s.InFlightTTL = lockTTL, inFlightTTL
	lock(t, s)
	if held, err := s.HoldsLock(context.Background(), "sandbox"); !held || err != nil {
		t.Fatalf("HoldsLock: %v, %v", held, err)
	}
	fmt.Println("in flight")
	select {}
}

// TestLateRenewerTakesADeadHoldersLock: a renewer that comes once a dead
// holder's lock expired, its in-flight mark standing, takes the lock from
// it once it watched the mark not extended for the grace (half the lock's
// life), long before the mark expires; the mark was gone, the lock the
// renewer's, in the same step.
func TestLateRenewerTakesADeadHoldersLock(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rc := raw(t, srv)
	rc.Set(ctx, "freshtoken:sandbox:renewing", "the-dead-holder", time.Minute) // its lock expired already
	took, _ := takeovers(t, srv.Monitor(t), "the-dead-holder")
	s := open(t, srv.URL)
	s.LockTTL = 600 * time.Millisecond
	unlock := lock(t, s)
	defer unlock()
	if left := testenv.Receive(t, "the takeover", took); left < 30*time.Second {
		t.Fatalf("the lock was taken with the dead holder's mark %v from expiring; want it taken long before", left)
	}
	if m, l := rc.Get(ctx, "freshtoken:sandbox:renewing").Val(), rc.Get(ctx, "freshtoken:sandbox:lock").Val(); m != "" || l == "" {
		t.Fatalf("lock %q, mark %q after the takeover; want the renewer's lock, and no mark", l, m)
	}
}

// TestShortLockTakesADeadHoldersLock: a Store whose LockTTL is short
// (200 ms, a Go program's choice) took the lock from a dead holder's
// in-flight mark never, waiting until the mark expired (InFlightTTL, five
// minutes by default): its polls, 25 ms apart, each came longer after the
// last answer than the gap its watch allows (an eighth of the lock's
// life, 25 ms), so every poll started its watch again. A waiter now polls
// often enough for the gap its lock allows.
func TestShortLockTakesADeadHoldersLock(t *testing.T) {
	for _, ttl := range []time.Duration{200 * time.Millisecond, 120 * time.Millisecond} {
		srv := redistest.Start(t)
		ctx := context.Background()
		rc := raw(t, srv)
		rc.Set(ctx, "freshtoken:sandbox:renewing", "the-dead-holder", time.Hour) // its lock expired already
		s := open(t, srv.URL)
		s.LockTTL = ttl
		waited, cancel := context.WithTimeout(ctx, 20*time.Second) // a few hundred grace periods
		unlock, err := s.Lock(waited, "sandbox")
		cancel()
		if err != nil {
			t.Fatalf("LockTTL %v, a dead holder's mark standing: %v; want the lock taken from it", ttl, err)
		}
		unlock()
		s.Close()
	}
}

// TestWaiterAcrossARedisPauseKeepsOff: a renewer waiting for the lock
// through a Redis paused (SIGSTOP) past the lock's life, while the holder
// that set its in-flight mark lives (its answer on its way, its
// extensions held up by the pause), does not count the pause as the
// mark's not being extended: its watch starts again after the gap in
// Redis's answers, and a live holder extends its mark within the grace.
// Counting the pause, it took the lock at its first poll after it and
// sent the refresh token the holder's answer replaced.
func TestWaiterAcrossARedisPauseKeepsOff(t *testing.T) {
	// Long enough that the grace (half of it) outlasts this test's reading
	// of the waiter's first two polls after the pause on a loaded machine:
	// the holder here never extends its mark.
	const lockTTL = 1200 * time.Millisecond
	srv := redistest.Start(t)
	ctx := context.Background()
	rc := raw(t, srv)
	// The live holder (this test): its lock, and its mark set before its
	// token request; its extensions are what the pause holds up.
	rc.Set(ctx, "freshtoken:sandbox:lock", "the-live-holder", lockTTL)
	rc.Set(ctx, "freshtoken:sandbox:renewing", "the-live-holder", time.Minute)
	seen := srv.Monitor(t)
	b := open(t, srv.URL)
	b.LockTTL = lockTTL
	locked := lockInTheBackground(ctx, b)
	attempted(t, seen, "the-live-holder")
	srv.Pause(t)
	// What is tested is Redis's clock passing the lock's end while Redis
	// is stopped, with the waiter's poll waiting on it.
	time.Sleep(2 * lockTTL)
	resumed := float64(time.Now().UnixMicro()) / 1e6
	srv.Resume(t)
	for polls := 0; polls < 2; {
		select {
		case err := <-locked:
			t.Fatalf("the waiter took the lock (%v) at its first polls after the pause, the live holder's mark standing", err)
		case line := <-seen:
			m := parseMonitored(line)
			if m.at >= resumed && strings.HasPrefix(m.args[0], "eval") && strings.Contains(line, `"freshtoken:sandbox:lock"`) && !strings.Contains(line, "the-live-holder") {
				polls++
			}
		}
	}
	if v := rc.Get(ctx, "freshtoken:sandbox:lock").Val(); v != "" {
		t.Fatalf("the lock is %q after the pause; want it free, the live holder's mark standing", v)
	}
	// The holder's save, which clears its mark (and its unlock).
	rc.Del(ctx, "freshtoken:sandbox:renewing")
	go func() {
		for range seen { // MONITOR goes on
		}
	}()
	if err := testenv.Receive(t, "the waiter to take the lock", locked); err != nil {
		t.Fatal(err)
	}
}

// TestInFlightMarkEndsWithItsRenewal: a renewal that ends without an answer
// to save (a failure, no answer) clears its mark as it unlocks, and one
// whose answer is kept unsaved keeps its mark with its lock until the
// answer is given up; a mark or lock of another holder is left alone. A
// save under the mark is refused once another holder has the lock (a
// freshtoken older than the mark takes the lock regardless of it).
func TestInFlightMarkEndsWithItsRenewal(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rc := raw(t, srv)
	a := open(t, srv.URL)
	a.LockTTL = time.Minute
	marked := func() string { return rc.Get(ctx, "freshtoken:sandbox:renewing").Val() }

	unlock := lock(t, a)
	a.HoldsLock(ctx, "sandbox")
	unlock()
	if m := marked(); m != "" {
		t.Fatalf("the mark %q is left after the unlock", m)
	}

	withdraw := a.KeepUnsaved("sandbox", func(context.Context) error { return nil })
	unlock = lock(t, a)
	a.HoldsLock(ctx, "sandbox")
	holder := marked()
	unlock() // the lock is kept for the unsaved answer, and the mark too
	if m, l := marked(), rc.Get(ctx, "freshtoken:sandbox:lock").Val(); m != holder || l != holder {
		t.Fatalf("lock %q, mark %q, while the answer is kept; want both the holder's (%q)", l, m, holder)
	}
	rc.Del(ctx, "freshtoken:sandbox:lock") // expired while Redis was paused: the keeper takes it back
	unlock = lock(t, a)
	unlock()
	withdraw() // given up
	if m, l := marked(), rc.Get(ctx, "freshtoken:sandbox:lock").Val(); m != "" || l != "" {
		t.Fatalf("lock %q, mark %q, once the answer was given up; want neither", l, m)
	}

	unlock = lock(t, a)
	a.HoldsLock(ctx, "sandbox")
	rc.Set(ctx, "freshtoken:sandbox:lock", "an-older-freshtoken", time.Minute)
	if err := a.Save(ctx, "sandbox", storetest.Sample()); err == nil {
		t.Fatal("a save under the mark was taken while another holder had the lock")
	}
	rc.Set(ctx, "freshtoken:sandbox:renewing", "another-holder", time.Minute)
	unlock()
	if m, l := marked(), rc.Get(ctx, "freshtoken:sandbox:lock").Val(); m != "another-holder" || l != "an-older-freshtoken" {
		t.Fatalf("lock %q, mark %q after the unlock; want another holder's left alone", l, m)
	}
}

// TestLiveHolderKeepsItsMark: a live holder extends its in-flight mark
// with its lock, and once its lock expired (Redis paused), so that the
// mark's life counts from its last sign of life, not from its check before
// a token request that may take its whole timeout to be answered.
func TestLiveHolderKeepsItsMark(t *testing.T) {
	s, rc := started(t)
	ctx := context.Background()
	s.LockTTL, s.InFlightTTL = 300*time.Millisecond, time.Minute
	unlock := lock(t, s)
	defer unlock()
	if held, err := s.HoldsLock(ctx, "sandbox"); !held || err != nil {
		t.Fatalf("HoldsLock: %v, %v", held, err)
	}
	rc.Del(ctx, "freshtoken:sandbox:lock")                         // expired while Redis was paused
	rc.PExpire(ctx, "freshtoken:sandbox:renewing", 20*time.Second) // its life counting down
	testenv.WaitFor(t, "the holder to extend its mark", func() bool {
		return rc.PTTL(ctx, "freshtoken:sandbox:renewing").Val() > 30*time.Second
	})
}

// TestCheckEvictionTellsOfARedisThatEvicts: a Redis with a maxmemory and a
// policy that evicts keys (volatile-*, which docs/fleets.md called safe as
// the record has no expiry, and allkeys-*) drops the renewal lock and the
// in-flight mark, which expire, as soon as another user of it (a cache)
// fills its memory: another machine then took the lock while the holder's
// token request was in flight and sent the same refresh token.
// CheckEviction (status) says so, naming the policy and noeviction; a Redis that evicts
// nothing (noeviction, or no maxmemory) and a user that may not ask (the
// docs' own, without CONFIG) pass.
func TestCheckEvictionTellsOfARedisThatEvicts(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rc := raw(t, srv)
	srv.SetFleetUser(t, "docs", "pw")
	admin, docs := open(t, srv.URL), open(t, "redis://docs:pw@"+srv.Addr+"/0")
	defer admin.Close()
	defer docs.Close()
	for _, tt := range []struct {
		maxmemory, policy string
		evicts            bool
	}{
		{"0", "noeviction", false},
		{"0", "volatile-lru", false},
		{"100mb", "noeviction", false},
		{"100mb", "volatile-lru", true},
		{"100mb", "volatile-ttl", true},
		{"100mb", "allkeys-lru", true},
	} {
		rc.ConfigSet(ctx, "maxmemory", tt.maxmemory)
		rc.ConfigSet(ctx, "maxmemory-policy", tt.policy)
		err := admin.CheckEviction(ctx)
		switch {
		case !tt.evicts && err != nil:
			t.Errorf("maxmemory %s, %s: %v; want nil", tt.maxmemory, tt.policy, err)
		case tt.evicts && (!errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), tt.policy) || !strings.Contains(err.Error(), "noeviction")):
			t.Errorf("maxmemory %s, %s: %v; want ErrDenied naming the policy and noeviction", tt.maxmemory, tt.policy, err)
		}
		if err := docs.CheckEviction(ctx); err != nil {
			t.Errorf("the docs' user, which may not ask, with maxmemory %s, %s: %v; want nil", tt.maxmemory, tt.policy, err)
		}
	}
}

// TestDatabaseThatDoesNotExist: a URL naming a database past the Redis's
// `databases` setting (16 unless set) is a configuration error
// (store.ErrDenied: exit 2) that names the database and what to write, for
// every call, without the password; it was Redis's answer quoted raw, an
// unexpected failure (exit 1).
func TestDatabaseThatDoesNotExist(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	for _, url := range []string{"redis://:hunter2@" + srv.Addr + "/16", "redis://:hunter2@" + srv.Addr + "/0?db=99"} {
		s := open(t, url)
		_, loadErr := s.Load(ctx, "sandbox")
		saveErr := s.Save(ctx, "sandbox", &store.Record{AccessToken: "at"})
		_, lockErr := s.Lock(ctx, "sandbox")
		for what, err := range map[string]error{"Load": loadErr, "Save": saveErr, "Lock": lockErr} {
			if !errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), "no database") || !strings.Contains(err.Error(), "databases") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%s %s: %v; want ErrDenied saying there is no such database and what to write, without the password", url, what, err)
			}
		}
	}
}

// TestSaveIfOverJSONWrittenOtherwise: SaveIf saves over a record read and
// unchanged whose JSON Go would write otherwise, as an older freshtoken
// did (a problem's zero time written, before "at" was omitzero) or another
// writer may (a time's "+00:00", trailing zeros, a key in another case, an
// escape Go reads as U+FFFD, a renewal count past 2^53). The script built
// its stamp from the JSON as Lua's cjson reads it, which differs from Go's
// there, and refused such a save as changed, every time: a renewal's
// answer, whose refresh token may be the only valid one, was then never
// stored.
func TestSaveIfOverJSONWrittenOtherwise(t *testing.T) {
	for _, tc := range []struct{ name, from, to string }{
		{"a zero time written", `"at": "2026-11-28T09:00:00Z"`, `"at": "0001-01-01T00:00:00Z"`},
		{"trailing zeros", `"issued_at": "2026-11-28T09:00:00Z"`, `"issued_at": "2026-11-28T09:00:00.000Z"`},
		{"+00:00", `"issued_at": "2026-11-28T09:00:00Z"`, `"issued_at": "2026-11-28T09:00:00+00:00"`},
		{"a lone surrogate", `"refresh_token": "refresh-1"`, `"refresh_token": "refresh-\ud800"`},
		{"a key in another case", `"refresh_token": "refresh-1"`, `"Refresh_Token": "refresh-1"`},
		{"a count past 2^53", `"renewals": 2`, `"renewals": 9007199254740993`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rc := started(t)
			ctx := context.Background()
			data, err := store.Marshal("sandbox", storetest.Sample())
			if err != nil {
				t.Fatal(err)
			}
			written := strings.Replace(string(data), tc.from, tc.to, 1)
			if written == string(data) {
				t.Fatalf("the sample holds no %s", tc.from)
			}
			rc.Set(ctx, "freshtoken:sandbox", written, 0)
			defer lock(t, s)()
			read, err := s.Load(ctx, "sandbox")
			if err != nil {
				t.Fatal(err)
			}
			mine := *read
			mine.RefreshToken, mine.Renewals = "refresh-mine", 3
			if err := s.SaveIf(ctx, "sandbox", &mine, read); err != nil {
				t.Fatalf("SaveIf over the record read, unchanged: %v", err)
			}
			if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != "refresh-mine" {
				t.Fatalf("stored %v, %v; want the record saved", got, err)
			}
		})
	}
}

// TestRedisHoldsTheStoredLayout: a record saved is set byte for byte in the
// stored layout of every earlier version (storetest.FullStored).
func TestRedisHoldsTheStoredLayout(t *testing.T) {
	srv := redistest.Start(t)
	if err := opened(t, srv.URL).Save(context.Background(), "sandbox", storetest.Full()); err != nil {
		t.Fatal(err)
	}
	if got := srv.Get(t, "freshtoken:sandbox"); got != storetest.FullStored {
		t.Fatalf("stored as\n%s\nwant\n%s", got, storetest.FullStored)
	}
}
