package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestWaitForAReplicaIsNoStall: a save waiting up to ReplicaWait (3 s
// here, a Go program's setting) for a replica that lags is Redis's own
// WAIT, answered in time, not Redis leaving the call unanswered: nothing
// is told through store.WithStalled, which would say at a terminal that
// Redis did not answer.
func TestWaitForAReplicaIsNoStall(t *testing.T) {
	_, _, link, s := replicated(t, 3*time.Second)
	t.Cleanup(lock(t, s))
	link.Hold()
	defer link.Release()
	var stalls atomic.Int32
	ctx, _ := warned() // the save says it is not yet on a replica
	ctx = store.WithStalled(ctx, func(what string, stalled bool, _ time.Time) {
		if stalled {
			stalls.Add(1)
		}
	})
	if err := s.Save(ctx, "sandbox", copyOf(2)); err != nil {
		t.Fatalf("a save no replica acknowledged: %v; want it standing", err)
	}
	if n := stalls.Load(); n != 0 {
		t.Fatalf("a save waiting for a replica was told as Redis not answering, %d times", n)
	}
}

// TestStalledCallToldAsItEnds: a call Redis leaves unanswered past
// store.StallNotice (paused), answered once Redis runs again, tells its
// stall and then its end: the end of a stalled call was told to no one,
// and a caller (the proxy) went on taking the store for stalled while it
// waited for something else (the provider), blaming Redis for that wait.
func TestStalledCallToldAsItEnds(t *testing.T) {
	srv := redistest.Start(t)
	s := opened(t, srv.URL+"?read_timeout=20s")
	if err := s.Save(context.Background(), "sandbox", copyOf(1)); err != nil {
		t.Fatal(err)
	}
	err := storetest.StalledCall(t, func() { srv.Pause(t) }, func() { srv.Resume(t) }, func(ctx context.Context) error {
		_, err := s.Load(ctx, "sandbox")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStalledCallAnsweredWithAnErrorEndsTheStall: a call Redis leaves
// unanswered past store.StallNotice (paused) and then answers with an
// error reply (NOPERM: the user's GET taken away meanwhile) tells its
// stall and then its end: an error reply is Redis answering, and a caller
// told no end (the proxy) would go on taking the store for stalled, and
// blame it for what it waits for next.
func TestStalledCallAnsweredWithAnErrorEndsTheStall(t *testing.T) {
	srv := redistest.Start(t)
	srv.SetUser(t, "reader", "on", ">pw", "~freshtoken:*", "+@connection", "+info", "+get")
	s := opened(t, strings.Replace(srv.URL, "redis://", "redis://reader:pw@", 1)+"?read_timeout=20s")
	if _, err := s.Load(context.Background(), "sandbox"); !errors.Is(err, store.ErrNotFound) { // its connection made, before the stall
		t.Fatal(err)
	}
	srv.SetUser(t, "reader", "-get")
	err := storetest.StalledCall(t, func() { srv.Pause(t) }, func() { srv.Resume(t) }, func(ctx context.Context) error {
		_, err := s.Load(ctx, "sandbox")
		return err
	})
	if !errors.Is(err, store.ErrDenied) {
		t.Fatalf("a load the user may not make: %v; want Redis's refusal", err)
	}
}

// TestLockCallsEndWithTheirCaller: Lock and HoldsLock, which a renewal
// calls before its token request is sent, end with their caller's context
// (a deadline, Ctrl-C) while Redis takes the connection and does not
// answer (paused): go-redis gives a command up only at read_timeout, and a
// library program's TokenContext with a 3 s deadline returned after the
// 20 s its Redis URL gave (an hour here: a call that waits for Redis does
// not return while it is paused, and the test gives up waiting, as every
// wait of the suite does). A lock attempt given up that Redis runs once it
// answers again is released after it, not left standing for its TTL.
func TestLockCallsEndWithTheirCaller(t *testing.T) {
	srv := redistest.Start(t)
	s := opened(t, srv.URL+"?read_timeout=1h")
	s.LockTTL = time.Minute // past the test: a lock left standing would show
	// Its connection made, before the pause.
	if _, err := s.Load(context.Background(), "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	within := func(what string, call func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		ended := make(chan error, 1)
		go func() { ended <- call(ctx) }()
		if err := testenv.Receive(t, what+" with a deadline, Redis paused", ended); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s given up at the caller's deadline: %v; want the deadline's error", what, err)
		}
	}
	srv.Pause(t)
	within("Lock", func(ctx context.Context) error {
		_, err := s.Lock(ctx, "sandbox")
		return err
	})
	srv.Resume(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlock, err := s.Lock(ctx, "sandbox")
	if err != nil {
		t.Fatalf("the lock, once Redis answers again: %v; want it free, the attempt given up released", err)
	}
	defer unlock()
	srv.Pause(t)
	within("HoldsLock", func(ctx context.Context) error {
		_, err := s.HoldsLock(ctx, "sandbox")
		return err
	})
	srv.Resume(t)
}

// TestLockTakenAfterItsTryFailedIsReleased: a try at the renewal lock
// that Redis leaves unanswered (paused) fails, and so does the release
// sent in its place, on a new connection Redis has not greeted; once
// Redis runs again, it runs the try, which waited on a connection the
// client closed, and takes the lock. That lock stood until it expired
// (10 s by default, every renewer of the environment waiting for it); now
// it is released as soon as Redis answers again.
func TestLockTakenAfterItsTryFailedIsReleased(t *testing.T) {
	srv := redistest.Start(t)
	s := opened(t, srv.URL+"?read_timeout=200ms&max_retries=-1")
	s.LockTTL = time.Hour // only a release frees it within the test
	ended := make(chan redis.Cmder, 100)
	redisstore.AddHook(s, scriptsEnded(ended))
	// A Store in use: the try goes out on a connection in the pool, and
	// names a script Redis has.
	lock(t, s)()
	ran := pauseWatched(t, srv, ended)
	if _, err := s.Lock(context.Background(), "sandbox"); err == nil {
		t.Fatal("a lock taken from a paused Redis")
	}
	testenv.Receive(t, "the try at the lock", ended)
	testenv.Receive(t, "what was sent in its place", ended)
	srv.Resume(t)
	for line := ""; !strings.Contains(line, `lua] "SET" "freshtoken:sandbox:lock"`); {
		line = testenv.Receive(t, "the try run once Redis runs again", ran)
	}
	testenv.WaitFor(t, "the lock released", func() bool { return srv.Get(t, "freshtoken:sandbox:lock") == "" })
	unlock, err := s.Lock(context.Background(), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}

// TestLockCheckedAfterItsReleaseFailedIsReleased: a check of the renewal
// lock (HoldsLock, before a token request) that Redis leaves unanswered
// (paused) fails, and so does the unlock's release, sent on a new
// connection Redis has not greeted; once Redis runs again, it runs the
// check, which waited on a connection the client closed: it gave the lock
// a whole life again and set the holder's in-flight mark, which stood
// until they expired (every renewer waiting 15 s at the defaults, the
// mark's takeover included). Now a release left unanswered gives its
// holder up as a try does, and both are cleared as soon as Redis answers.
func TestLockCheckedAfterItsReleaseFailedIsReleased(t *testing.T) {
	srv := redistest.Start(t)
	s := opened(t, srv.URL+"?read_timeout=200ms&max_retries=-1")
	s.LockTTL, s.InFlightTTL = time.Hour, time.Hour // only a release frees them within the test
	ended := make(chan redis.Cmder, 100)
	redisstore.AddHook(s, scriptsEnded(ended))
	unlock := lock(t, s)
	ran := pauseWatched(t, srv, ended)
	if _, err := s.HoldsLock(context.Background(), "sandbox"); err == nil {
		t.Fatal("a lock checked at a paused Redis")
	}
	testenv.Receive(t, "the check", ended)
	unlock()
	testenv.Receive(t, "the release", ended)
	srv.Resume(t)
	hour := fmt.Sprint(time.Hour.Milliseconds())
	for line := ""; !strings.Contains(line, `"`+hour+`" "`+hour+`"`); { // the check's lives of the lock and the mark
		line = testenv.Receive(t, "the check run once Redis runs again", ran)
	}
	testenv.WaitFor(t, "the lock and the in-flight mark cleared", func() bool {
		return srv.Get(t, "freshtoken:sandbox:lock") == "" && srv.Get(t, "freshtoken:sandbox:renewing") == ""
	})
	lock(t, s)()
}

// pauseWatched forgets the scripts ended so far (on ended), pauses srv
// until the test ends, and returns each command Redis runs from then on,
// once it runs again.
func pauseWatched(t *testing.T, srv *redistest.Server, ended chan redis.Cmder) <-chan string {
	t.Helper()
	for len(ended) > 0 {
		<-ended
	}
	ran := srv.Monitor(t)
	srv.Pause(t)
	return ran
}

// scriptsEnded sends each script the Store runs to ended once it ends.
type scriptsEnded chan<- redis.Cmder

func (h scriptsEnded) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h scriptsEnded) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if name := strings.ToLower(cmd.Name()); name == "eval" || name == "evalsha" {
			h <- cmd
		}
		return err
	}
}

func (h scriptsEnded) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// dialCounter counts the connections go-redis dials.
type dialCounter struct{ n atomic.Int32 }

func (d *dialCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.n.Add(1)
		return next(ctx, network, addr)
	}
}
func (d *dialCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (d *dialCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRefusingRedisIsDialledOnceATry: a Redis that refuses connections
// (stopped) is dialled once for each of a read's four tries. go-redis
// dials five times a try by default, 100 ms apart, so a refusing Redis
// was known unreachable after about 2 s, the time a stall is told at: a
// terminal was told Redis had not answered for 2s of a Redis that refused
// at once, and a host that drops connections took 40 s where 8 s is said.
func TestRefusingRedisIsDialledOnceATry(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	dials := &dialCounter{}
	redisstore.AddHook(s, dials)
	srv.Stop()
	if _, err := s.Load(context.Background(), "sandbox"); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("Load from a stopped Redis: %v; want it unreachable", err)
	}
	if n := dials.n.Load(); n != 4 {
		t.Errorf("a read from a Redis refusing connections dialled it %d times; want 4, once a try", n)
	}
}

// TestCallLeftOnADeadConnectionIsToldStalled: a call left unanswered on a
// connection of its own (a firewall that dropped it unseen: here a relay
// that stops passing that call on) while Redis answers the process's
// other calls, on other connections, is told stalled once those answers
// have gone on StallNotice past it, and its end as it is answered: it was
// never told, Redis answering others, and waited out its read time-out
// (20 s here) in silence, a proxy's request too, past the environment's
// timeout.
func TestCallLeftOnADeadConnectionIsToldStalled(t *testing.T) {
	srv := redistest.Start(t)
	release := make(chan struct{})
	var held atomic.Bool
	relay := srv.Relay(t, func(args []string) {
		if strings.Contains(strings.Join(args, " "), "freshtoken:dead") && held.CompareAndSwap(false, true) {
			<-release
		}
	})
	var once sync.Once
	letGo := func() { once.Do(func() { close(release) }) }
	defer letGo()
	s := opened(t, "redis://"+relay+"/0?max_retries=-1&read_timeout=20s")
	told := make(chan bool, 10)
	ctx := store.WithStalled(context.Background(), func(_ string, stalled bool, _ time.Time) { told <- stalled })
	dead := make(chan error, 1)
	go func() {
		_, err := s.Load(ctx, "dead")
		dead <- err
	}()
	// Redis answers the process's other calls meanwhile, told to a
	// listener of their own.
	others := store.WithStalled(context.Background(), func(string, bool, time.Time) {})
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for stalled := false; !stalled; {
		select {
		case stalled = <-told: // the ends of the load's commands before it passed over
		case err := <-dead:
			t.Fatalf("the call left on its connection ended (%v), never told stalled while Redis answered others", err)
		case <-tick.C:
			if _, err := s.Load(others, "live"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a call Redis answers: %v; want store.ErrNotFound", err)
			}
		}
	}
	letGo()
	if err := testenv.Receive(t, "the call let go", dead); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the call let go: %v; want store.ErrNotFound", err)
	}
	storetest.ToldItsEnd(t, "the listener of the call let go", told)
}
