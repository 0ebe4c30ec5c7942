package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
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

// restoreUnder is s's Restore of r under s's renewal lock.
func restoreUnder(t *testing.T, s *redisstore.Store, r *store.Record) (*store.Record, error) {
	t.Helper()
	unlock := lock(t, s)
	defer unlock()
	back, _, err := s.Restore(context.Background(), "sandbox", r)
	return back, err
}

// copyOf is storetest.Sample renewed n times in all, its refresh token
// saying so.
func copyOf(n int) *store.Record {
	r := storetest.Sample()
	r.Problem = nil
	r.Renewals = n
	r.RefreshToken = "refresh-after-" + string(rune('0'+n))
	return r
}

// saveHeld saves copyOf(1) as sandbox's record with s, and returns it.
func saveHeld(t *testing.T, s *redisstore.Store) *store.Record {
	t.Helper()
	held := copyOf(1)
	if err := s.Save(context.Background(), "sandbox", held); err != nil {
		t.Fatal(err)
	}
	return held
}

// TestRestoreAfterRestart: a Redis restarted without persistence comes
// back empty, and a Store that read the record before the restart puts it
// back, set only if absent, with a note of the restart, so that another
// machine finds it and needs no log-in. It was lost: everyone had to log
// in again.
func TestRestoreAfterRestart(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	a, other := open(t, srv.URL), open(t, srv.URL)
	t.Cleanup(func() { a.Close(); other.Close() })
	held := copyOf(3)
	if err := a.Save(ctx, "sandbox", held); err != nil {
		t.Fatal(err)
	}
	before := srv.RunID(t)
	srv.Restart(t)
	if srv.RunID(t) == before {
		t.Fatal("the restart kept the run_id")
	}
	if _, err := other.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the restart, Load: %v; want ErrNotFound", err)
	}
	if _, _, err := a.Restore(ctx, "sandbox", held); err == nil || !strings.Contains(err.Error(), "does not hold the renewal lock") {
		t.Fatalf("Restore without the lock: %v; want it refused", err)
	}
	back, err := restoreUnder(t, a, held)
	if err != nil || back != held {
		t.Fatalf("Restore after a restart: %v, %v; want the record put back", back, err)
	}
	got, err := other.Load(ctx, "sandbox")
	if err != nil || !store.Unchanged(got, held) {
		t.Fatalf("another machine reads %v, %v; want the record put back", got, err)
	}
	if note := srv.Get(t, "freshtoken:sandbox:restored"); note != srv.RunID(t) {
		t.Fatalf("the note of the restart is %q; want the run_id %q", note, srv.RunID(t))
	}
}

// TestRestoreNeverUndoesALogout: a record deleted on the server that held
// it (a log-out on another machine, FLUSHALL) is deleted on purpose and
// never put back, nor one put back after a restart and deleted since,
// whoever holds an older copy.
func TestRestoreNeverUndoesALogout(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	rc := raw(t, srv)
	a, b, logout := open(t, srv.URL), open(t, srv.URL), open(t, srv.URL)
	t.Cleanup(func() { a.Close(); b.Close(); logout.Close() })
	held := copyOf(1)

	// A log-out on another machine, same server.
	if err := a.Save(ctx, "sandbox", held); err != nil {
		t.Fatal(err)
	}
	if err := logout.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if back, err := restoreUnder(t, a, held); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "not restarted") {
		t.Fatalf("Restore after a log-out: %v, %v; want ErrNotFound, nothing written", back, err)
	}
	if v := srv.Get(t, "freshtoken:sandbox"); v != "" {
		t.Fatalf("the log-out was undone: %s", v)
	}

	// FLUSHALL, the server not restarted: a deliberate wipe.
	if err := a.Save(ctx, "sandbox", held); err != nil {
		t.Fatal(err)
	}
	rc.FlushAll(ctx)
	if _, err := restoreUnder(t, a, held); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Restore after FLUSHALL: %v; want ErrNotFound", err)
	}
	if v := srv.Get(t, "freshtoken:sandbox"); v != "" {
		t.Fatalf("FLUSHALL was undone: %s", v)
	}

	// Both a and b read it; Redis restarts; a puts it back, and a log-out
	// follows on the new server: b, which did not see either, puts back
	// nothing.
	if err := a.Save(ctx, "sandbox", held); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	if _, err := restoreUnder(t, a, held); err != nil {
		t.Fatalf("Restore after the restart: %v", err)
	}
	if err := logout.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if back, err := restoreUnder(t, b, held); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Restore after a restart, a put-back and a log-out: %v, %v; want ErrNotFound", back, err)
	}
	if v := srv.Get(t, "freshtoken:sandbox"); v != "" {
		t.Fatalf("the log-out after the put-back was undone: %s", v)
	}

	// A store that saw the log-out itself, and a restart after it.
	if err := a.Save(ctx, "sandbox", held); err != nil {
		t.Fatal(err)
	}
	if err := logout.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	srv.Restart(t)
	if _, err := restoreUnder(t, a, held); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Restore after a log-out seen, then a restart: %v; want ErrNotFound", err)
	}
}

// TestRestoreKeepsTheLaterCopy: two machines that hold different copies of
// one log-in put them back after a restart; whichever comes first, the
// copy renewed more times is the one stored at the end. Another log-in
// made since stands.
func TestRestoreKeepsTheLaterCopy(t *testing.T) {
	for _, olderFirst := range []bool{true, false} {
		srv := redistest.StartWithoutPersistence(t)
		ctx := context.Background()
		older, newer := open(t, srv.URL), open(t, srv.URL)
		t.Cleanup(func() { older.Close(); newer.Close() })
		o, n := copyOf(4), copyOf(5)
		if err := older.Save(ctx, "sandbox", o); err != nil {
			t.Fatal(err)
		}
		if err := newer.Save(ctx, "sandbox", n); err != nil {
			t.Fatal(err)
		}
		srv.Restart(t)
		first, second, fr, sr := older, newer, o, n
		if !olderFirst {
			first, second, fr, sr = newer, older, n, o
		}
		if back, err := restoreUnder(t, first, fr); err != nil || back != fr {
			t.Fatalf("the first Restore: %v, %v", back, err)
		}
		back, err := restoreUnder(t, second, sr)
		if err != nil || back.Renewals != 5 {
			t.Fatalf("the second Restore: %v, %v; want the copy renewed 5 times", back, err)
		}
		got, err := older.Load(ctx, "sandbox")
		if err != nil || !store.Unchanged(got, n) {
			t.Fatalf("older first %v: the store holds %v, %v; want the copy renewed 5 times", olderFirst, got, err)
		}
	}

	// A log-in since the restart, renewed fewer times, is not replaced.
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	a := opened(t, srv.URL)
	if err := a.Save(ctx, "sandbox", copyOf(5)); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	login := copyOf(0)
	login.LoggedInAt = login.LoggedInAt.Add(1e9)
	if err := open(t, srv.URL).Save(ctx, "sandbox", login); err != nil {
		t.Fatal(err)
	}
	if back, err := restoreUnder(t, a, copyOf(5)); err != nil || back.Renewals != 0 {
		t.Fatalf("Restore over a new log-in: %v, %v; want the log-in", back, err)
	}
	if got, _ := a.Load(ctx, "sandbox"); got == nil || got.Renewals != 0 {
		t.Fatalf("the new log-in was replaced: %v", got)
	}
}

// TestCheckPersistence: a Redis that keeps nothing on disk is said to,
// with what to set; one with an append-only file or a save point is not.
func TestCheckPersistence(t *testing.T) {
	ctx := context.Background()
	srv := redistest.StartWithoutPersistence(t)
	s := opened(t, srv.URL)
	err := s.CheckPersistence(ctx)
	if !errors.Is(err, store.ErrRestartLoses) || errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), "appendonly yes") || !strings.Contains(err.Error(), "puts back") {
		t.Fatalf("CheckPersistence without persistence: %v; want ErrRestartLoses saying what is lost and what to set", err)
	}
	srv.Command(t, "CONFIG", "SET", "appendonly", "yes")
	if err := s.CheckPersistence(ctx); err != nil {
		t.Fatalf("CheckPersistence with appendonly yes: %v", err)
	}
	if err := open(t, redistest.Start(t).URL).CheckPersistence(ctx); err != nil {
		t.Fatalf("CheckPersistence with a save point: %v", err)
	}
	// A user not allowed CONFIG is not told.
	srv.Command(t, "CONFIG", "SET", "appendonly", "no")
	srv.SetFleetUser(t, "freshtoken", "pw")
	if err := open(t, "redis://freshtoken:pw@"+srv.Addr+"/0").CheckPersistence(ctx); err != nil {
		t.Fatalf("CheckPersistence as a user without CONFIG: %v; want nil", err)
	}
}

// asUserWithoutInfo sets up user "old" on srv with the fleet's rules but
// +info (as docs/fleets.md gave them before it added +info), and opens a
// Store as that user; setUser sets the user up again (a restart forgets
// it), given +info when info is set.
func asUserWithoutInfo(t *testing.T, srv *redistest.Server) (s *redisstore.Store, setUser func(info bool)) {
	t.Helper()
	var rules []string
	for _, r := range redistest.FleetRules {
		if r != "+info" {
			rules = append(rules, r)
		}
	}
	setUser = func(info bool) {
		granted := append([]string{"on", ">pw"}, rules...)
		if info {
			granted = append(granted, "+info")
		}
		srv.SetUser(t, "old", granted...)
	}
	setUser(false)
	s = opened(t, "redis://old:pw@"+srv.Addr+"/0")
	return s, setUser
}

// TestRestoreWithoutInfo: a user that may not run INFO (set up before
// docs/fleets.md added +info) reads and saves as before, and, unable to
// tell a restart from a log-out, never puts anything back.
func TestRestoreWithoutInfo(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	s, setUser := asUserWithoutInfo(t, srv)
	held := saveHeld(t, s)
	if got, err := s.Load(ctx, "sandbox"); err != nil || !store.Unchanged(got, held) {
		t.Fatalf("Load without INFO: %v, %v", got, err)
	}
	srv.Restart(t)
	setUser(false)
	nothingPutBack(t, srv, s, held, "INFO")
}

// nothingPutBack: s, which cannot run INFO on srv, restarted empty, finds
// held gone and puts nothing back, saying so, and why (says).
func nothingPutBack(t *testing.T, srv *redistest.Server, s *redisstore.Store, held *store.Record, says string) {
	t.Helper()
	if _, err := s.Load(context.Background(), "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load after the restart: %v", err)
	}
	if _, err := restoreUnder(t, s, held); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), says) {
		t.Fatalf("Restore without INFO: %v; want ErrNotFound, saying %q", err, says)
	}
	if v := srv.Get(t, "freshtoken:sandbox"); v != "" {
		t.Fatalf("put back without INFO: %s", v)
	}
}

// pauseAfterSave is a go-redis hook that, once armed, pauses srv
// (SIGSTOP) as soon as Redis has answered the Store's first save of
// sandbox's record (not an EVALSHA Redis has no script for), before
// go-redis hands the answer on: what the Store
// sends after it, Redis leaves unanswered.
type pauseAfterSave struct {
	armed  atomic.Bool
	paused chan struct{} // closed once srv is paused
	pause  func()
}

func isSave(cmd redis.Cmder) bool {
	name := strings.ToLower(cmd.Name())
	return (name == "set" || name == "eval" || name == "evalsha") && slices.Contains(cmd.Args(), any("freshtoken:sandbox")) && cmd.Err() == nil
}

func (h *pauseAfterSave) after(cmds ...redis.Cmder) {
	if slices.ContainsFunc(cmds, isSave) && h.armed.CompareAndSwap(true, false) {
		h.pause()
		close(h.paused)
	}
}

func (h *pauseAfterSave) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *pauseAfterSave) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.after(cmd)
		return err
	}
}

func (h *pauseAfterSave) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.after(cmds...)
		return err
	}
}

// TestSaveIsNotHeldByARedisThatStallsAfterIt: a Redis that stalls right
// after it answered a save (SIGSTOP here; a VM paused, a long fork) holds
// the save up no longer: the run_id (INFO server) that tells a later
// restart comes with the save, in the same round trip, and a restart
// after it is still told, the record put back. The Store asked for it
// after the save, in a round trip bounded by nothing but the caller's
// context (and the URL's time-outs, here none: read_timeout=0), and a
// renewal whose answer Redis had stored waited on it, for ever here.
func TestSaveIsNotHeldByARedisThatStallsAfterIt(t *testing.T) {
	for _, locked := range []bool{false, true} {
		t.Run(map[bool]string{false: "unlocked", true: "fenced"}[locked], func(t *testing.T) {
			srv := redistest.StartWithoutPersistence(t)
			ctx := context.Background()
			s := opened(t, srv.URL+"?read_timeout=0")
			h := &pauseAfterSave{paused: make(chan struct{}), pause: func() { srv.Pause(t) }}
			redisstore.AddHook(s, h)
			unlock := func() {}
			if locked {
				unlock = lock(t, s)
				t.Cleanup(unlock) // before Close, should the test fail
			}
			held := copyOf(2)
			h.armed.Store(true)
			saved := make(chan error, 1)
			go func() { saved <- s.Save(ctx, "sandbox", held) }()
			testenv.Receive(t, "Redis paused after the save", h.paused)
			if err := testenv.Receive(t, "the save to return, Redis paused after it answered", saved); err != nil {
				t.Fatalf("Save: %v; want it stored", err)
			}
			srv.Resume(t)
			unlock()
			restartPutsBack(t, srv, s, held)
		})
	}
}

// TestRedisWithoutInfo: a Redis where INFO is renamed or disabled
// (rename-command INFO in redis.conf, as managed Redis services do)
// answers "ERR unknown command". The Store asks it for the run_id once,
// renews as before, and puts nothing back; CheckWrite (status) tells of
// it as of a user without +info. The Store asked again at every read and
// save, and CheckWrite said nothing.
func TestRedisWithoutInfo(t *testing.T) {
	srv := redistest.StartWithoutInfo(t)
	ctx := context.Background()
	s := opened(t, srv.URL)
	held := saveHeld(t, s)
	if srv.ErrorReplies(t) == 0 {
		t.Fatal("Redis refused nothing: INFO was not asked, or not refused")
	}
	// The save's script without the question of Redis's role, once sent,
	// is one Redis has yet to learn (NOSCRIPT).
	if err := s.Save(ctx, "sandbox", held); err != nil {
		t.Fatal(err)
	}
	refused := srv.ErrorReplies(t)
	for range 3 {
		if got, err := s.Load(ctx, "sandbox"); err != nil || !store.Unchanged(got, held) {
			t.Fatalf("Load without INFO: %v, %v", got, err)
		}
		if err := s.Save(ctx, "sandbox", held); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.ErrorReplies(t); n != refused {
		t.Errorf("%d more error replies after reads and saves; want INFO asked once per Store", n-refused)
	}
	err := s.CheckWrite(ctx, "sandbox")
	if !errors.Is(err, store.ErrRestartLoses) || errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), "INFO is not available") || !strings.Contains(err.Error(), "rename-command") || strings.Contains(err.Error(), "+info") {
		t.Fatalf("CheckWrite without INFO: %v; want ErrRestartLoses (renewals go on) saying INFO is not available, and what to do", err)
	}
	srv.Restart(t)
	nothingPutBack(t, srv, s, held, "not available")
}

// pauseBeforeInfo is a go-redis hook that, once armed, pauses srv
// (SIGSTOP) just before the Store's next INFO goes out on its own (not
// with a read's or a save's GET or SET).
type pauseBeforeInfo struct {
	armed atomic.Bool
	pause func()
}

func (h *pauseBeforeInfo) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *pauseBeforeInfo) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.EqualFold(cmd.Name(), "info") && h.armed.CompareAndSwap(true, false) {
			h.pause()
		}
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook pauses srv before a pipeline of INFOs alone
// (Restore's: INFO server, INFO replication), as before a lone INFO.
func (h *pauseBeforeInfo) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		onlyInfo := !slices.ContainsFunc(cmds, func(cmd redis.Cmder) bool { return !strings.EqualFold(cmd.Name(), "info") })
		if onlyInfo && h.armed.CompareAndSwap(true, false) {
			h.pause()
		}
		return next(ctx, cmds)
	}
}

// TestRestoreIsNotHeldByARedisThatStallsAtInfo: Restore asks Redis for
// its run_id in a round trip of its own before it writes; a Redis that
// stalls then (SIGSTOP here) holds it no longer than its own bound, and
// the put-back fails as Redis unreachable, to be tried again, not as
// tokens deleted. It waited on it for as long as the caller's context
// and the URL's time-outs allowed (here for ever: read_timeout=0).
func TestRestoreIsNotHeldByARedisThatStallsAtInfo(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	s := opened(t, srv.URL+"?read_timeout=0")
	h := &pauseBeforeInfo{pause: func() { srv.Pause(t) }}
	redisstore.AddHook(s, h)
	held := saveHeld(t, s)
	srv.Restart(t)
	unlock := lock(t, s)
	t.Cleanup(unlock) // before Close, should the test fail
	h.armed.Store(true)
	restored := make(chan error, 1)
	go func() {
		_, _, err := s.Restore(ctx, "sandbox", held)
		restored <- err
	}()
	err := testenv.Receive(t, "Restore to give up on a Redis stalled at its INFO", restored)
	if !errors.Is(err, store.ErrUnreachable) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Restore with Redis stalled at its INFO: %v; want it unreachable (tried again), not the tokens deleted", err)
	}
	srv.Resume(t)
	if back, _, err := s.Restore(ctx, "sandbox", held); err != nil || !store.Unchanged(back, held) {
		t.Fatalf("Restore once Redis answers again: %v, %v; want the record put back", back, err)
	}
	unlock()
}

// restartPutsBack restarts srv, a Redis without persistence, and checks
// that s, which saved held last, puts it back.
func restartPutsBack(t *testing.T, srv *redistest.Server, s *redisstore.Store, held *store.Record) {
	t.Helper()
	srv.Restart(t)
	back, err := restoreUnder(t, s, held)
	if err != nil || !store.Unchanged(back, held) {
		t.Fatalf("Restore after the restart: %v, %v; want the record saved put back", back, err)
	}
}

// cutAfterSave is a TCP relay in front of a redis-server that, once armed,
// closes a connection as soon as it has passed on Redis's answer to a
// save of sandbox's record (a SET, EVAL or EVALSHA of freshtoken:sandbox):
// Redis stored the save and answered it, and the connection dropped before
// anything Redis answered after it reached the client (a load balancer's
// reset, a network cut).
type cutAfterSave struct {
	Addr  string
	armed atomic.Bool
	// beforeAnswer, set, cuts the connection before the save's answer is
	// passed on (Redis stored it, and the client never hears so), once:
	// it disarms the relay.
	beforeAnswer atomic.Bool
	// infoError, unless "", is what INFO is answered with instead, as a
	// proxy that does not pass INFO on answers it.
	infoError atomic.Pointer[string]
	// scriptError, unless nil, is what a script (EVAL, EVALSHA) is
	// answered with instead.
	scriptError atomic.Pointer[string]
	// afterRead, set, makes a read of sandbox's record (a GET) a point to
	// cut at too: the connection drops once its answer is passed on.
	afterRead atomic.Bool
	// onCut, unless nil, runs as the relay cuts, before the connection
	// drops (the lock passing to another renewer meanwhile).
	onCut func()
	// evalOnly, set, cuts at an EVAL alone, not at an EVALSHA that Redis
	// answers NOSCRIPT before go-redis sends the script itself.
	evalOnly atomic.Bool
	// to, unless empty, is the address new connections are relayed to
	// instead of the redis-server's (a DNS name now leading to another
	// server after a failover).
	to atomic.Pointer[string]
}

// through is a Store reaching Redis at addr (a relay's), closed when the
// test ends.
func through(t *testing.T, addr string) *redisstore.Store {
	t.Helper()
	return opened(t, "redis://"+addr+"/0")
}

// savedThrough is a Store reaching Redis at addr (a relay's), with a
// first record saved, which it returns.
func savedThrough(t *testing.T, addr string) (*redisstore.Store, *store.Record) {
	t.Helper()
	s := through(t, addr)
	held := copyOf(1)
	if err := s.Save(context.Background(), "sandbox", held); err != nil {
		t.Fatal(err)
	}
	return s, held
}

// lockedAndSaved is a Store reaching Redis through relay, holding the
// renewal lock, with a first record saved, which it returns: Redis has
// learnt the save's script, so what the relay cuts next is the save a test
// is about.
func lockedAndSaved(t *testing.T, relay *cutAfterSave) (*redisstore.Store, *store.Record) {
	t.Helper()
	s := through(t, relay.Addr)
	t.Cleanup(lock(t, s)) // before Close, should the test fail
	read := copyOf(1)
	if err := s.Save(context.Background(), "sandbox", read); err != nil {
		t.Fatal(err)
	}
	return s, read
}

func relayCuttingAfterSave(t *testing.T, redisAddr string) *cutAfterSave {
	t.Helper()
	return relay(t, redisAddr, "")
}

// relay is relayCuttingAfterSave's relay, answering INFO with infoError
// unless it is "".
func relay(t *testing.T, redisAddr, infoError string) *cutAfterSave {
	t.Helper()
	c := &cutAfterSave{}
	c.infoError.Store(&infoError)
	c.Addr = testenv.Serve(t, func(client net.Conn) {
		addr := redisAddr
		if to := c.to.Load(); to != nil {
			addr = *to
		}
		server, err := net.Dial("tcp", addr)
		if err != nil {
			client.Close()
			return
		}
		t.Cleanup(func() { client.Close(); server.Close() })
		c.relay(client, server)
	})
	return c
}

// relay passes commands on one at a time, noting for each whether it is a
// save, and answers one at a time, cutting after a save's when armed.
func (c *cutAfterSave) relay(client, server net.Conn) {
	saves := make(chan bool, 1024)
	go func() {
		defer server.Close()
		r := bufio.NewReader(client)
		for {
			raw, args, err := redistest.ReadRESP(r)
			if err != nil {
				return
			}
			name := ""
			if len(args) > 0 {
				name = strings.ToLower(args[0])
			}
			cut := name == "set" || name == "eval" || name == "evalsha" || name == "get" && c.afterRead.Load()
			if c.evalOnly.Load() {
				cut = name == "eval"
			}
			saves <- cut && slices.Contains(args, "freshtoken:sandbox")
			instead := ""
			if name == "info" {
				instead = *c.infoError.Load()
			} else if scriptError := c.scriptError.Load(); scriptError != nil && (name == "eval" || name == "evalsha") {
				instead = *scriptError
			}
			if instead != "" {
				script := "return redis.error_reply(ARGV[1])"
				raw = fmt.Appendf(nil, "*4\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n$%d\r\n%s\r\n", len(script), script, len(instead), instead)
			}
			if _, err := server.Write(raw); err != nil {
				return
			}
		}
	}()
	defer client.Close()
	r := bufio.NewReader(server)
	for {
		raw, _, err := redistest.ReadRESP(r)
		if err != nil {
			return
		}
		save := <-saves && c.armed.Load()
		if save && c.beforeAnswer.Load() && c.armed.CompareAndSwap(true, false) { // once: a save sent again is answered
			if c.onCut != nil {
				c.onCut()
			}
			server.Close()
			return
		}
		if _, err := client.Write(raw); err != nil {
			return
		}
		if save {
			server.Close()
			return
		}
	}
}

// TestSaveIfWhoseAnswerIsLostStands: a renewal's SaveIf that Redis
// stored, its answer lost with the connection (a load balancer's reset),
// is sent again by go-redis; the record then holds what it saves, not what
// was read, and the save was refused as changed by another renewer: the
// renewal's answer, stored, was reported not stored. The store already
// holding exactly what is saved is the save done.
func TestSaveIfWhoseAnswerIsLostStands(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	relay := relayCuttingAfterSave(t, srv.Addr)
	s, read := lockedAndSaved(t, relay)
	held := copyOf(2)
	relay.beforeAnswer.Store(true)
	relay.armed.Store(true)
	err := s.SaveIf(ctx, "sandbox", held, read)
	relay.armed.Store(false)
	if got := srv.Get(t, "freshtoken:sandbox"); !strings.Contains(got, held.RefreshToken) {
		t.Fatalf("Redis holds %s; want the record saved", got)
	}
	if err != nil {
		t.Fatalf("SaveIf Redis stored, its answer lost: %v; want it saved", err)
	}
	if err := s.SaveIf(ctx, "sandbox", copyOf(3), read); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("SaveIf over a record changed since it was read: %v; want ErrChanged", err)
	}
}

// TestSaveStandsWhenTheConnectionDropsAfterItsAnswer: a save Redis stored
// and answered is reported saved, its run_id kept (a restart after it puts
// the record back), when the connection drops right after the answer. The
// run_id's INFO server went after the save in one pipeline: its answer
// lost, go-redis failed the whole pipeline, the save with it, and sent it
// again (up to three times): a save reported failed though stored, and a
// renewal's SaveIf, sent again over its own answer, refused as changed by
// another renewer.
func TestSaveStandsWhenTheConnectionDropsAfterItsAnswer(t *testing.T) {
	for _, locked := range []bool{false, true} {
		t.Run(map[bool]string{false: "unlocked", true: "fenced"}[locked], func(t *testing.T) {
			srv := redistest.StartWithoutPersistence(t)
			ctx := context.Background()
			relay := relayCuttingAfterSave(t, srv.Addr)
			s := through(t, relay.Addr)
			read := copyOf(1)
			unlock := func() {}
			if locked {
				unlock = lock(t, s)
				t.Cleanup(unlock) // before Close, should the test fail
			}
			if err := s.Save(ctx, "sandbox", read); err != nil { // Redis learns the save's script
				t.Fatal(err)
			}
			held := copyOf(2)
			relay.armed.Store(true)
			var err error
			if locked {
				err = s.SaveIf(ctx, "sandbox", held, read)
			} else {
				err = s.Save(ctx, "sandbox", held)
			}
			relay.armed.Store(false)
			if got := srv.Get(t, "freshtoken:sandbox"); !strings.Contains(got, held.RefreshToken) {
				t.Fatalf("Redis holds %s; want the record saved", got)
			}
			if err != nil {
				t.Fatalf("save Redis stored and answered, the connection dropped after: %v; want it saved", err)
			}
			unlock()
			restartPutsBack(t, srv, s, held)
		})
	}
}

// TestRestoreBehindAProxyWithoutInfo: a proxy in front of Redis that
// passes no INFO on answers it with an error of its own ("ERR command not
// support", Camellia's; Envoy's "unsupported command"), not Redis's
// "unknown command". Restore, finding no record, takes it as a Redis where
// INFO is not available: whether it restarted cannot be told, the record
// was deleted (a log-out) and nothing is put back. Restore failed as if
// Redis had not answered, at every look, and a process serving from
// memory never took the log-out, serving the logged-out tokens until
// they needed renewing.
func TestRestoreBehindAProxyWithoutInfo(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	proxy := relay(t, srv.Addr, "ERR command not support")
	s, logout := through(t, proxy.Addr), opened(t, srv.URL)
	held := saveHeld(t, s)
	if got, err := s.Load(ctx, "sandbox"); err != nil || !store.Unchanged(got, held) {
		t.Fatalf("Load behind the proxy: %v, %v", got, err)
	}
	if err := logout.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load after the log-out: %v", err)
	}
	if back, err := restoreUnder(t, s, held); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "cannot be told") {
		t.Fatalf("Restore behind a proxy answering INFO with an error: %v, %v; want ErrNotFound (logged out), whether Redis restarted not told", back, err)
	}
	if v := srv.Get(t, "freshtoken:sandbox"); v != "" {
		t.Fatalf("the log-out was undone: %s", v)
	}
	// status and the keeper tell of it, as of a Redis that renames INFO.
	if err := s.CheckWrite(ctx, "sandbox"); !errors.Is(err, store.ErrRestartLoses) || !strings.Contains(err.Error(), "ERR command not support") || !strings.Contains(err.Error(), "proxy") {
		t.Fatalf("CheckWrite behind a proxy answering INFO with an error: %v; want ErrRestartLoses naming its answer and the proxy", err)
	}
}

// TestInfoAllowedAgainIsAskedAgain: a user given +info after a running
// freshtoken found INFO refused (NOPERM) is asked again at the next
// CheckWrite (the keeper's look every few minutes, status), and tokens
// that Redis loses in a restart after that are put back. INFO refused was
// never asked again until the process restarted: a proxy or keeper
// running for weeks put nothing back.
func TestInfoAllowedAgainIsAskedAgain(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	s, setUser := asUserWithoutInfo(t, srv)
	held := saveHeld(t, s)
	if err := s.CheckWrite(ctx, "sandbox"); !errors.Is(err, store.ErrRestartLoses) {
		t.Fatalf("CheckWrite without +info: %v; want ErrRestartLoses", err)
	}
	setUser(true)
	if err := s.CheckWrite(ctx, "sandbox"); err != nil {
		t.Fatalf("CheckWrite once +info is given: %v; want nil", err)
	}
	if _, err := s.Load(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	setUser(true)
	if back, err := restoreUnder(t, s, held); err != nil || !store.Unchanged(back, held) {
		t.Fatalf("Restore after the restart, +info given since INFO was refused: %v, %v; want the tokens put back", back, err)
	}
}

// TestLoadStandsWhenTheConnectionDropsAfterItsAnswer: a read whose record
// Redis answered is the record read, its run_id kept (a restart after it
// puts the record back), when the connection drops right after the answer
// (a load balancer's reset, a network cut). The run_id's INFO server went
// after the GET in one pipeline: with INFO's answer lost, go-redis sent
// both again, and once its tries ran out failed the read, whose record
// had come, for INFO's sake.
func TestLoadStandsWhenTheConnectionDropsAfterItsAnswer(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	relay := relayCuttingAfterSave(t, srv.Addr)
	relay.afterRead.Store(true)
	s, other := through(t, relay.Addr), opened(t, srv.URL)
	held := copyOf(1)
	if err := other.Save(ctx, "sandbox", held); err != nil {
		t.Fatal(err)
	}
	relay.armed.Store(true)
	got, err := s.Load(ctx, "sandbox")
	relay.armed.Store(false)
	if err != nil || !store.Unchanged(got, held) {
		t.Fatalf("Load whose answer came, the connection dropped after it: %v, %v; want the record read", got, err)
	}
	restartPutsBack(t, srv, s, held)
}

// TestInfoNotJustNowIsNotInfoUnavailable: INFO answered with an error that
// says Redis, or a proxy in front of it, cannot serve it just now (too
// many clients, a proxy whose server refused its connection, LOADING,
// BUSY, TRYAGAIN) is not INFO refused. CheckWrite said INFO was not
// available at that Redis (status and the keeper's notice told to let
// INFO run, until the next check), and Restore took the record missing
// after a restart for deleted, never to be put back; CheckWrite now leaves
// it to the other checks, and Restore fails as unreachable, putting the
// tokens back once INFO is answered. An answer refusing INFO itself (a
// proxy's "unsupported command") still says INFO is not available.
func TestInfoNotJustNowIsNotInfoUnavailable(t *testing.T) {
	ctx := context.Background()
	for _, answer := range []string{
		"ERR max number of clients reached",
		"ERR Connection refused",
		"LOADING Redis is loading the dataset in memory",
		"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.",
		"TRYAGAIN Multiple keys request during rehashing of slot",
	} {
		t.Run(answer, func(t *testing.T) {
			srv := redistest.StartWithoutPersistence(t)
			proxy := relay(t, srv.Addr, "")
			s, held := savedThrough(t, proxy.Addr)
			proxy.infoError.Store(&answer)
			if err := s.CheckWrite(ctx, "sandbox"); err != nil {
				t.Fatalf("CheckWrite with INFO answered %q: %v; want nil (the other checks tell of a Redis that cannot serve)", answer, err)
			}
			srv.Restart(t)
			if back, err := restoreUnder(t, s, held); errors.Is(err, store.ErrNotFound) || !errors.Is(err, store.ErrUnreachable) {
				t.Fatalf("Restore after a restart, INFO answered %q: %v, %v; want ErrUnreachable, tried again at the next look", answer, back, err)
			}
			none := ""
			proxy.infoError.Store(&none)
			if back, err := restoreUnder(t, s, held); err != nil || !store.Unchanged(back, held) {
				t.Fatalf("Restore once INFO is answered: %v, %v; want the tokens put back", back, err)
			}
		})
	}
	for _, answer := range []string{"ERR unknown command 'INFO', with args beginning with: 'server'", "ERR command not support", "unsupported command 'info'"} {
		t.Run(answer, func(t *testing.T) {
			srv := redistest.StartWithoutPersistence(t)
			proxy := relay(t, srv.Addr, answer)
			s := through(t, proxy.Addr)
			if err := s.CheckWrite(ctx, "sandbox"); !errors.Is(err, store.ErrRestartLoses) || !strings.Contains(err.Error(), "INFO is not available") {
				t.Fatalf("CheckWrite with INFO answered %q: %v; want ErrRestartLoses, INFO not available", answer, err)
			}
		})
	}
}

// TestSaveResentAfterTheLockPassed: a save under the renewal lock that
// Redis stored, its answer lost with the connection, is sent again by
// go-redis after the lock passed to another renewer (this process paused
// between the two sends longer than the lock lasts). The second send was
// refused for the lock, and the save said "nothing was written" though
// the first had written it: a renewal took its stored answer for unsaved.
// A record holding what the save writes, to the byte, is the save done;
// one holding another renewer's tokens since is told as such, without
// claiming nothing was written.
func TestSaveResentAfterTheLockPassed(t *testing.T) {
	for _, replaced := range []bool{false, true} {
		t.Run(map[bool]string{false: "stored", true: "replaced since"}[replaced], func(t *testing.T) {
			srv := redistest.StartWithoutPersistence(t)
			ctx := context.Background()
			relay := relayCuttingAfterSave(t, srv.Addr)
			rc := raw(t, srv)
			s, read := lockedAndSaved(t, relay)
			held, theirs := copyOf(2), copyOf(3)
			theirsJSON, err := store.Marshal("sandbox", theirs)
			if err != nil {
				t.Fatal(err)
			}
			relay.onCut = func() { // Redis stored the save; the lock passes before it is sent again
				rc.Set(ctx, "freshtoken:sandbox:lock", "another-renewer", time.Minute)
				if replaced {
					rc.Set(ctx, "freshtoken:sandbox", theirsJSON, 0)
				}
			}
			relay.beforeAnswer.Store(true)
			relay.armed.Store(true)
			err = s.SaveIf(ctx, "sandbox", held, read)
			relay.armed.Store(false)
			got := srv.Get(t, "freshtoken:sandbox")
			switch {
			case !replaced && !strings.Contains(got, held.RefreshToken):
				t.Fatalf("Redis holds %s; want the record saved", got)
			case !replaced && err != nil:
				t.Fatalf("a save Redis stored, sent again after the lock passed: %v; want it saved", err)
			case replaced && !strings.Contains(got, theirs.RefreshToken):
				t.Fatalf("Redis holds %s; want the other renewer's record", got)
			case replaced && (err == nil || strings.Contains(err.Error(), "nothing was written") || !strings.Contains(err.Error(), "holds other tokens")):
				t.Fatalf("a save Redis stored, replaced by another renewer's, sent again: %v; want it refused, saying Redis holds other tokens, not that nothing was written", err)
			}
		})
	}
}

// TestRestoreResentAfterTheLockPassed: a put-back Redis stored, its answer
// lost with the connection, sent again by go-redis after the renewal lock
// passed to another renewer: the second send was refused for the lock,
// and Restore said "nothing was written" though Redis held the tokens it
// put back. A record holding what the put-back writes, to the byte, is
// the put-back done.
func TestRestoreResentAfterTheLockPassed(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	relay := relayCuttingAfterSave(t, srv.Addr)
	rc := raw(t, srv)
	s, held := savedThrough(t, relay.Addr)
	srv.Restart(t)
	unlock := lock(t, s)
	t.Cleanup(unlock) // before Close, should the test fail
	relay.onCut = func() { rc.Set(ctx, "freshtoken:sandbox:lock", "another-renewer", time.Minute) }
	relay.evalOnly.Store(true)
	relay.beforeAnswer.Store(true)
	relay.armed.Store(true)
	back, restored, err := s.Restore(ctx, "sandbox", held)
	relay.armed.Store(false)
	if got := srv.Get(t, "freshtoken:sandbox"); !strings.Contains(got, held.RefreshToken) {
		t.Fatalf("Redis holds %s; want the tokens put back", got)
	}
	if err != nil || !restored || !store.Unchanged(back, held) {
		t.Fatalf("a put-back Redis stored, sent again after the lock passed: %v, %v, %v; want it put back", back, restored, err)
	}
}

// TestSaveAfterAFailoverReachesTheNewPrimary: a failover behind one
// address (a managed Redis's DNS name now leading to the replica made
// primary, the old primary made its replica) leaves the Store's pooled
// connections on the old primary, which answers a save READONLY. go-redis
// closes a connection answered READONLY, but only for a pipeline's first
// command: the save goes after INFO, and its connection went back to the
// pool to be answered READONLY again, save after save, for as long as it
// lived. A save answered READONLY now has its connection closed, and the
// next one reaches the new primary.
func TestSaveAfterAFailoverReachesTheNewPrimary(t *testing.T) {
	old, next := redistest.StartWithoutPersistence(t), redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	proxy := relay(t, old.Addr, "")
	s := through(t, proxy.Addr)
	if err := s.Save(ctx, "sandbox", copyOf(1)); err != nil {
		t.Fatal(err)
	}
	// A read tells the Store its role (a first save, sent before it knows,
	// goes on a connection of its own), and leaves it a pipeline
	// connection on old, as a Store that has been running has.
	if _, err := s.Load(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	replicaOf(t, old, next.Addr)
	to := next.Addr
	proxy.to.Store(&to)
	held := copyOf(2)
	err := s.Save(ctx, "sandbox", held)
	if err == nil {
		t.Fatal("a save on the old primary, now a replica: saved; want READONLY")
	}
	if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("a save on the old primary, now a replica: %v; want unreachable, READONLY", err)
	}
	if err := s.Save(ctx, "sandbox", held); err != nil {
		t.Fatalf("the save tried again after READONLY: %v; want it saved on the new primary", err)
	}
	if got := next.Get(t, "freshtoken:sandbox"); !strings.Contains(got, held.RefreshToken) {
		t.Fatalf("the new primary holds %s; want the record saved", got)
	}
}

// TestReadAfterAFailoverIsThePrimarys: a failover behind one address (a
// managed Redis's DNS name now leading to the new primary) left the
// Store's pipeline connection on the old primary, now a replica that may
// not have synced: a read there, answered without error, gave its older
// copy, and a renewal under the lock (taken on the new primary) sent the
// refresh token the last renewal had spent. A read answered by a replica
// now closes that connection and reads again, from the primary; one that
// only a replica answers is unreachable, saying so.
func TestReadAfterAFailoverIsThePrimarys(t *testing.T) {
	ctx := context.Background()
	s, old, _, newer := failedOverBehindOneAddress(t, func(*redistest.Server) {})
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != newer.RefreshToken {
		t.Fatalf("Load after the failover: %v, %v; want the new primary's record, %s", got, err, newer.RefreshToken)
	}
	// Only a replica to be had: unreachable, saying so.
	replica := opened(t, old.URL)
	if _, err := replica.Load(ctx, "sandbox"); !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("Load from a replica alone: %v; want unreachable, saying it answered from a replica", err)
	}
}

// failedOverBehindOneAddress opens a Store through a relay to a
// redis-server, old, that reads and saves a record there, and another
// Store that renews it (newer) on a second redis-server, next: then a
// failover behind the relay's address makes next the primary, and old a
// replica (set up by also, after REPLICAOF) of a master that is not up,
// so it keeps its older copy, with the Store's connections still on it.
// New connections through the relay lead to next.
func failedOverBehindOneAddress(t *testing.T, also func(*redistest.Server)) (s *redisstore.Store, old, next *redistest.Server, newer *store.Record) {
	t.Helper()
	old, next = redistest.StartWithoutPersistence(t), redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	proxy := relay(t, old.Addr, "")
	s, there := through(t, proxy.Addr), opened(t, next.URL)
	if err := s.Save(ctx, "sandbox", copyOf(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	newer = copyOf(2)
	if err := there.Save(ctx, "sandbox", newer); err != nil { // renewed on the new primary
		t.Fatal(err)
	}
	replicaOf(t, old, deadAddr(t))
	also(old)
	to := next.Addr
	proxy.to.Store(&to)
	return s, old, next, newer
}

// TestAReadWithoutItsRunIDKeepsTheLastOne: a read (or save) whose INFO
// Redis, or a proxy in front of it, could not answer just now, the record
// answered, noted the record without any run_id: a restart after it lost
// the tokens, and the put-back, finding no run_id to compare, took them
// for deleted (a log-out), and the process dropped them. The run_id last
// known is kept with the record.
func TestAReadWithoutItsRunIDKeepsTheLastOne(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	proxy := relay(t, srv.Addr, "")
	s, held := savedThrough(t, proxy.Addr)
	busy := "ERR Connection refused"
	proxy.infoError.Store(&busy)
	if got, err := s.Load(ctx, "sandbox"); err != nil || !store.Unchanged(got, held) {
		t.Fatalf("Load, INFO answered %q: %v, %v; want the record", busy, got, err)
	}
	if err := s.Save(ctx, "sandbox", held); err != nil {
		t.Fatalf("Save, INFO answered %q: %v", busy, err)
	}
	none := ""
	proxy.infoError.Store(&none)
	srv.Restart(t)
	if back, err := restoreUnder(t, s, held); err != nil || !store.Unchanged(back, held) {
		t.Fatalf("Restore after the restart, the last read's INFO unanswered: %v, %v; want the tokens put back", back, err)
	}
}

// TestReadByAUserAllowedOnlyInfoServer: a user given INFO server alone
// (+info|server, as docs/fleets.md says INFO is for), INFO replication
// refused (NOPERM), could not read the tokens at all: the read's INFO
// replication, added to tell a replica's answer, failed the read. The
// read stands, its role untold, and the run_id is still asked.
func TestReadByAUserAllowedOnlyInfoServer(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	var rules []string
	for _, r := range redistest.FleetRules {
		if r != "+info" {
			rules = append(rules, r)
		}
	}
	srv.SetUser(t, "narrow", append([]string{"on", ">pw", "+info|server"}, rules...)...)
	s := opened(t, "redis://narrow:pw@"+srv.Addr+"/0")
	held := saveHeld(t, s)
	if got, err := s.Load(ctx, "sandbox"); err != nil || !store.Unchanged(got, held) {
		t.Fatalf("Load by a user allowed INFO server alone: %v, %v; want the record", got, err)
	}
	if err := s.CheckWrite(ctx, "sandbox"); err != nil {
		t.Fatalf("CheckWrite by a user allowed INFO server alone: %v", err)
	}
	// Still told a restart from a log-out: the run_id was read.
	srv.Restart(t)
	srv.SetUser(t, "narrow", append([]string{"on", ">pw", "+info|server"}, rules...)...)
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load after the restart: %v", err)
	}
	if back, err := restoreUnder(t, s, held); err != nil || !store.Unchanged(back, held) {
		t.Fatalf("Restore after the restart: %v, %v; want the tokens put back", back, err)
	}
}

// TestALogInReadWithoutItsRunIDIsNotPutBackAfterALogout: a read whose INFO
// could not be answered just now kept the run_id last known with the
// record read, even when that record was another log-in, made after a
// restart that lost the one read before: that log-in, logged out of
// since on the same server, was taken for lost by a restart (the run_id
// known differing), and put back after its log-out. The run_id last known
// is kept only for a record of the log-in it was known with.
func TestALogInReadWithoutItsRunIDIsNotPutBackAfterALogout(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	proxy := relay(t, srv.Addr, "")
	s, elsewhere := through(t, proxy.Addr), opened(t, srv.URL)
	saveHeld(t, s)
	srv.Restart(t) // the tokens lost
	login := copyOf(1)
	login.LoggedInAt = login.LoggedInAt.Add(time.Hour) // a log-in after the restart
	login.IssuedAt = login.LoggedInAt
	login.RefreshToken = "refresh-of-the-new-log-in"
	if err := elsewhere.Save(ctx, "sandbox", login); err != nil {
		t.Fatal(err)
	}
	busy := "ERR Connection refused"
	proxy.infoError.Store(&busy)
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != login.RefreshToken {
		t.Fatalf("Load, INFO answered %q: %v, %v; want the new log-in", busy, got, err)
	}
	none := ""
	proxy.infoError.Store(&none)
	if err := elsewhere.Delete(ctx, "sandbox"); err != nil { // logged out
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load after the log-out: %v", err)
	}
	if back, err := restoreUnder(t, s, login); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Restore after the log-out: %v, %v; want nothing put back (ErrNotFound)", back, err)
	}
	if got, err := elsewhere.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the store after the put-back: %v, %v; want the log-out standing", got, err)
	}
}

// infoOnTheOldPrimary is a hook that, armed, has the next INFO asked on
// its own (Restore's) reach the old primary, a replica now: new
// connections through the relay lead there, and the new primary's are
// closed; once it is answered, new connections lead to the new primary
// again, and the one it was answered on is left in the pool, as one a
// failover behind one address left on the old primary.
type infoOnTheOldPrimary struct {
	armed      atomic.Bool
	move, back func()
}

func (h *infoOnTheOldPrimary) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *infoOnTheOldPrimary) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "info" || !h.armed.CompareAndSwap(true, false) {
			return next(ctx, cmd)
		}
		h.move()
		defer h.back()
		return next(ctx, cmd)
	}
}

func (h *infoOnTheOldPrimary) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		onlyInfo := !slices.ContainsFunc(cmds, func(cmd redis.Cmder) bool { return cmd.Name() != "info" })
		if !onlyInfo || !h.armed.CompareAndSwap(true, false) {
			return next(ctx, cmds)
		}
		h.move()
		defer h.back()
		return next(ctx, cmds)
	}
}

// TestRestoreAsksTheRunIDOfThePrimary: after a failover behind one address
// to an empty replica, the put-back's INFO server, answered by the old
// primary (a replica now, its connection left over from before the
// failover), gave the run_id the record was read with: Redis taken for
// not restarted, the tokens for deleted (a log-out), never put back, and
// dropped. A run_id a replica answers is not taken: that connection is
// closed, and the run_id asked again, of the primary, which puts them
// back.
func TestRestoreAsksTheRunIDOfThePrimary(t *testing.T) {
	old, next := redistest.StartWithoutPersistence(t), redistest.StartWithoutPersistence(t)
	ctx := context.Background()
	proxy := relay(t, old.Addr, "")
	s := through(t, proxy.Addr)
	held := saveHeld(t, s)
	// The failover: next, empty, is the primary; old a replica of a
	// master that is not up, so it keeps its copy.
	replicaOf(t, old, deadAddr(t))
	toNext, toOld := next.Addr, old.Addr
	proxy.to.Store(&toNext)
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Load after the failover to an empty replica: %v", err)
	}
	hook := &infoOnTheOldPrimary{move: func() {
		proxy.to.Store(&toOld)
		next.Command(t, "CLIENT", "KILL", "TYPE", "normal")
	}, back: func() { proxy.to.Store(&toNext) }}
	redisstore.AddHook(s, hook)
	hook.armed.Store(true)
	if back, err := restoreUnder(t, s, held); err != nil || !store.Unchanged(back, held) {
		t.Fatalf("Restore whose INFO the old primary, a replica now, answered first: %v, %v; want the tokens put back on the new primary", back, err)
	}
	if hook.armed.Load() {
		t.Fatal("Restore asked no INFO of the old primary: the test tested nothing")
	}
	if got := next.Get(t, "freshtoken:sandbox"); !strings.Contains(got, held.RefreshToken) {
		t.Fatalf("the new primary holds %q; want the tokens put back", got)
	}
}

// TestAReplicasRefusalOfAScriptOnRedis6IsForNow: Redis 6 answers a script
// whose write a replica refuses with an ERR that wraps the READONLY (Redis 7
// with the READONLY itself); a save after a failover behind one address was
// then "Redis answered …", a bug's exit, not a store that cannot serve just
// now, and its connection to the replica was kept.
func TestAReplicasRefusalOfAScriptOnRedis6IsForNow(t *testing.T) {
	srv := redistest.StartWithoutPersistence(t)
	proxy := relay(t, srv.Addr, "")
	s := through(t, proxy.Addr)
	t.Cleanup(lock(t, s)) // before Close, should the test fail
	refusal := "ERR Error running script (call to f_0123456789abcdef0123456789abcdef01234567): @user_script:1: @user_script: 1: -READONLY You can't write against a read only replica."
	proxy.scriptError.Store(&refusal)
	err := s.Save(context.Background(), "sandbox", copyOf(1))
	if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "cannot serve it just now") {
		t.Fatalf("a save refused by a Redis 6 replica: %v; want ErrUnreachable, Redis cannot serve it just now", err)
	}
}

// replicaOf makes srv a replica of the Redis at addr: the old primary of a
// failover.
func replicaOf(t *testing.T, srv *redistest.Server, addr string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	if got := srv.Command(t, "REPLICAOF", host, port); got != "+OK" {
		t.Fatalf("REPLICAOF: %s", got)
	}
}

// deadAddr is an address on loopback where nothing listens: a master not
// up, which a replica of it never syncs with, keeping its copy. Not a
// port the system picked and freed: the next server started on port 0
// (another test's Redis) might take it, and the replica sync with that.
func deadAddr(t *testing.T) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
}
