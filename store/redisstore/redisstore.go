// Package redisstore keeps each environment's tokens in Redis, so that many
// machines share one authorisation and renew it one at a time.
//
// Invariants: a record is the same JSON the file store writes, under the key
// freshtoken:<env>, and one that cannot be parsed is reported and left as it
// is; the renewal lock is the key freshtoken:<env>:lock, set only if absent,
// holding a random value that only its holder's unlock deletes; the holder
// extends it while it lives, and it expires within LockTTL of its holder's
// death (a waiter gives one found without an expiry, as DUMP and RESTORE
// copy it, the lock's life; a key of another type there is reported and
// left). Redis keeps what it is told as durably as it is configured to: run
// it with appendonly yes. One that keeps nothing on disk comes back from a
// restart empty, with another run_id (INFO server): a Store that found or
// saved a record on the server before puts it back (Restore), and notes
// that it did in freshtoken:<env>:restored; a record deleted on the server
// that held it is never put back. A record read before is deleted (DeleteIf)
// only if Redis still holds it, compared in the script that deletes.
//
// Just before each token request that spends a refresh token (HoldsLock),
// the holder also sets freshtoken:<env>:renewing, the in-flight mark,
// holding its lock's value, in the same step as it confirms its lock: while
// another holder's mark stands, no one else takes the lock, and a save by
// the mark's holder is taken though its lock expired. A Redis paused past
// the lock's life (SIGSTOP, a VM migration, a long fork) expires the lock
// by its own clock, and the mark keeps the holder's answer first in line.
// The holder extends its mark with its lock, and clears it as it saves or
// lets go. A dead holder's mark only runs down: a renewer waiting for the
// lock that watched it not extended for half the lock's life, through
// polls Redis answered without a gap, takes the lock from it in one step,
// so that the lock passes within LockTTL and a half of its holder's death
// whatever the mark; the mark expires within InFlightTTL.
package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/freshtoken/freshtoken/internal/await"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/store"
)

// DefaultLockTTL is how long a renewal lock outlives a holder that died
// without releasing it.
const DefaultLockTTL = 10 * time.Second

// DefaultInFlightTTL is how long the in-flight mark of a holder that sent
// a token request outlives that holder's last sign of life (see
// Store.InFlightTTL): five minutes, so that a Redis paused for up to that
// long while a token request was in flight keeps the answer's place. Other
// machines do not wait for it after a holder died: they take the lock
// from a mark they watched run down (see the package documentation).
const DefaultInFlightTTL = 5 * time.Minute

// DefaultReplicaWait is how long a save waits for a replica to
// acknowledge it (see Store.ReplicaWait).
const DefaultReplicaWait = time.Second

// lockPoll is how often a waiting renewer tries the lock again, but for a
// short lock (see pollEvery).
const lockPoll = 25 * time.Millisecond

// pollEvery is how often a renewer waiting for a lock living ttl tries it
// again: lockPoll, or a quarter of markGap(ttl) for a lock short enough
// that polls lockPoll apart would each come after a longer gap than the
// watch of a mark allows, which would start it again at every poll and
// never take the lock from a dead holder's mark.
func pollEvery(ttl time.Duration) time.Duration { return min(lockPoll, markGap(ttl)/4) }

// Store is a Redis database of token records. Make one with New, then set
// the fields below on it before its first use: the zero Store, or one
// written as a literal, reaches no Redis, and every call fails saying so.
type Store struct {
	client *redis.Client
	where  string // the URL's scheme, host and database only, for messages
	// LockTTL is how long a lock outlives its holder's death; the live
	// holder extends it every third of that. Zero means DefaultLockTTL.
	LockTTL time.Duration
	// InFlightTTL is how long the in-flight mark that a holder sets just
	// before each token request (HoldsLock) outlives the holder's last
	// sign of life; the live holder extends it with its lock, and clears
	// it when it saves or lets go of the lock. While it stands, and its
	// holder extends it, no other renewer takes the lock, even one that
	// expired, and the holder's save is taken: a Redis paused for longer
	// than LockTTL, and less than this, while the provider answered, lets
	// nobody spend the refresh token the answer replaced. A holder that
	// died (SIGKILL, a crash) between its token request and its save holds
	// others back no longer than its lock: a renewer that watched its mark
	// not extended for half the lock's life, Redis answering all the while,
	// takes the lock from it, as its lock expires (or half a lock's life
	// after it came, if it came later). Zero means DefaultInFlightTTL; a
	// value below the lock's life is taken as the lock's life.
	InFlightTTL time.Duration
	// ReplicaWait is how long a save or a deletion waits for one of the
	// primary's replicas to acknowledge it (WAIT), when the primary has
	// any: replication is asynchronous, and a save the primary took, not
	// yet on a replica, is lost when that replica is promoted, its copy
	// holding the refresh token the save's renewal spent (a deletion so
	// lost brings back tokens logged out). A write not acknowledged within
	// it stands (the primary has it), and says so through store.Warn. Zero
	// means DefaultReplicaWait.
	ReplicaWait time.Duration

	mu        sync.Mutex
	holders   map[string]string        // env → the value of the lock this Store holds
	turns     map[string]chan struct{} // env → a place for one holder at a time in this Store
	locked    int                      // locks taken and not yet released at Redis
	released  *sync.Cond               // broadcast when locked falls; nil until Close waits
	closing   bool                     // Close was called: no lock is taken from then on, but for its last try
	kept      map[string]int           // env → answers kept unsaved for it (KeepUnsaved, not yet withdrawn)
	retained  map[string]*retainedLock // env → a lock kept at Redis, unheld, while an answer for env is unsaved
	abandoned map[string][]string      // env → holders whose tries at its lock failed unanswered, until giveUp is answered
	// seen is, for each environment, the record this Store last found or
	// saved, and the run_id of the Redis server (INFO server) that held it
	// then: a server with another run_id was restarted since, and one
	// that holds no record lost it (see Restore). "" when it could not be
	// asked.
	seen   map[string]seenRecord
	noInfo atomic.Bool // the user may not run INFO: seen is not kept
	// noRole is set while INFO replication is refused (a user given
	// +info|server alone): the scripts that write do not ask Redis its
	// role (see guardedScript), which would cost an error reply each.
	noRole atomic.Bool
	// replicated is set while the primary last said it has replicas
	// connected (INFO replication): a save then waits for one of them to
	// acknowledge it (see ReplicaWait).
	replicated atomic.Bool
	// roleKnown is set once Redis answered INFO replication, or refused
	// it: until then, a write is sent as to a primary with replicas (see
	// thenRunID), whichever call comes first.
	roleKnown atomic.Bool
	// waitRefused is set once the user was told that it may not run WAIT
	// (see awaitReplica), and cleared by a WAIT answered.
	waitRefused atomic.Bool

	closeOnce sync.Once
	closeErr  error

	// Unsaved makes the Store a store.Flusher: Close first saves, or
	// reports, the renewals' answers the engine keeps for it.
	store.Unsaved
}

// flushFor is how long Close's last try to save the answers kept for the
// Store may take: a wait for another machine's renewal lock, and a Redis
// that cannot be reached tried again for up to 30 s, fit in it.
const flushFor = time.Minute

// Close closes the Store's connections to Redis: the go-redis client and
// its pool of connections that New made, which the Store owns (a program
// that makes a Store per job closes each once the job is done). From Close
// on, the Store takes no lock, but for Close's own last try (below), and
// every other call after it fails saying the store is closed. Close first
// waits for every renewal lock the Store holds to be unlocked, and let go
// of at Redis: a renewal under way stores the tokens the provider sent
// before the connections close, as its refresh token may be the only copy.
// Then it makes one last try, at once, to save every renewal's answer that
// Redis refused and the engine keeps to save later (store.Flusher), for up
// to a minute. An answer that still could not be saved is Close's error,
// which says that the new tokens could not be stored and what that costs;
// the connections close all the same. Calling Close again returns what the
// first call did.
//
// Close a Store only once nothing uses it: every Source built on it done
// with. The Redis store config.Open and config.OpenStore open is shared by
// every opening of its URL in the process, and is not theirs to close.
func (s *Store) Close() error {
	if s.client == nil {
		return errNotMade
	}
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.waitUnlocked()
		s.mu.Unlock()
		// A renewal under way whose answer Redis refused left the answer
		// kept when it unlocked: the last try comes after, and its locks
		// alone are taken (see Lock).
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), lastTryKey{}, s), flushFor)
		unsaved := s.FlushUnsaved(ctx)
		cancel()
		s.mu.Lock()
		retained := s.retained
		s.retained = nil
		s.mu.Unlock()
		for env, r := range retained {
			r.stop()
			s.release(env, r.holder)
		}
		s.closeErr = s.client.Close()
		if unsaved != nil {
			s.closeErr = unsaved
		}
	})
	return s.closeErr
}

// lastTryKey is the context key of Close's last try to save the answers
// kept for the Store: its value is the Store, whose Lock takes a lock for
// it while closing.
type lastTryKey struct{}

// lastTry reports whether ctx is that of s's Close's last try.
func (s *Store) lastTry(ctx context.Context) bool { return ctx.Value(lastTryKey{}) == s }

// waitUnlocked waits until the Store holds no renewal lock. The caller
// holds s.mu.
func (s *Store) waitUnlocked() {
	if s.released == nil {
		s.released = sync.NewCond(&s.mu)
	}
	for s.locked > 0 {
		s.released.Wait()
	}
}

// closed is the error of a call, to do what, on a Store that Close closed.
func (s *Store) closed(what string) error {
	return &closedError{fmt.Sprintf("could not %s: the Redis store at %s was closed (Close), and serves no more calls: %v", what, s.where, redis.ErrClosed)}
}

// closedError is a call's on a closed Store: it is redis.ErrClosed and
// store.ErrClosed.
type closedError struct{ msg string }

func (e *closedError) Error() string   { return e.msg }
func (e *closedError) Unwrap() []error { return []error{redis.ErrClosed, store.ErrClosed} }

// errNotMade is every call's error on a Store that New did not make.
var errNotMade = errors.New("the Redis store was not made by redisstore.New (it is the zero redisstore.Store, or a &redisstore.Store{...} literal), so it reaches no Redis and keeps no tokens; make it with redisstore.New(url), then set LockTTL, InFlightTTL or ReplicaWait on the Store it returns")

// checkUse refuses any use of a Store that New did not make, and env as
// store.ValidateEnvName does.
func (s *Store) checkUse(env string) error {
	if s.client == nil {
		return errNotMade
	}
	return store.ValidateEnvName(env)
}

// connMaxIdle is how long a pooled connection to Redis may go unused,
// by the wall clock, before go-redis drops it rather than send a command
// on it. The wall clock counts a sleep of the machine: connections kept
// from before one lead, as often as not, to a network left behind, whose
// Redis never answers, and each command sent on one waited read_timeout
// (2 s) before its retry took the next such connection; with a pool of
// four or more, the first read after a wake failed, Redis unreachable,
// after 8 s. go-redis's default is 30 minutes.
var connMaxIdle = 30 * time.Second

// New returns a store in the Redis database at rawURL:
// redis://[user:password@]host:port/db, or rediss:// for TLS. It connects
// when first used.
func New(rawURL string) (*Store, error) {
	opts, u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	// A command waits for Redis rather than failing at once: four tries,
	// each dial given 2 s, then the store is unreachable. A Redis that
	// refuses connections is known unreachable within a fraction of a second; one that
	// takes connections and never answers (paused, or behind a lost
	// connection) once each try has waited 2 s for its answer (go-redis
	// waits 3 s): 8 s for a read or a save, pipelines whose time-outs
	// go-redis tries again.
	q := u.Query()
	if !q.Has("max_retries") {
		opts.MaxRetries = 3
	}
	if !q.Has("dial_timeout") {
		opts.DialTimeout = 2 * time.Second
	}
	// One dial a try: go-redis dials five times a try by default, 100 ms
	// apart, each given dial_timeout, so a Redis refusing connections was
	// known unreachable after about 2 s, the time a stall is told at (a
	// terminal was told Redis "has not answered for 2s" of a Redis that
	// refused at once), and a host that drops connections after 40 s
	// where 8 s is said.
	opts.DialerRetries = 1
	if !q.Has("read_timeout") {
		opts.ReadTimeout = 2 * time.Second
	}
	if !q.Has("write_timeout") {
		opts.WriteTimeout = 2 * time.Second
	}
	if !q.Has("conn_max_idle_time") && !q.Has("idle_timeout") {
		opts.ConnMaxIdleTime = connMaxIdle
	}
	if !q.Has("pipeline_pool_size") {
		// go-redis's own pool for pipelines, every read's and save's: a
		// connection it could not set up (a Redis that took it and never
		// answered its HELLO) was dialled again from the main pool, so
		// each try waited read_timeout twice, 16 s a read where 8 s was
		// said. Either pool closes a connection whose answer did not come
		// in time, never putting it back, so no command reads another's
		// late answer.
		opts.PipelinePoolSize = -1
	}
	where := store.RedactURL(rawURL)
	if q.Has("db") { // go-redis takes the database from ?db= over the path
		where = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/" + strconv.Itoa(opts.DB)}).String()
	}
	client := redis.NewClient(opts)
	client.AddHook(stallHook{where: where})
	return &Store{client: client, where: where}, nil
}

// ID names the Redis database rawURL reaches, however the URL writes it:
// two URLs reaching one database (one with the default port or database
// left out, the database given by ?db=, the host in capitals, TLS or not)
// have one ID, and two reaching different ones have two. It holds no user
// or password.
func ID(rawURL string) (string, error) {
	opts, _, err := parseURL(rawURL)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("redis://%s/%d", strings.ToLower(opts.Addr), opts.DB), nil
}

// CheckURL reports whether rawURL is a URL New accepts.
func CheckURL(rawURL string) error {
	_, _, err := parseURL(rawURL)
	return err
}

// parseURL is redis.ParseURL, with errors that never show the password. A
// user or password holding a character that ends that part of a URL (/, ?,
// #, @) would be read as the host, path, query or fragment instead, and
// shown; such a URL is refused, saying how to write it.
func parseURL(rawURL string) (*redis.Options, *url.URL, error) {
	if _, rest, ok := strings.Cut(rawURL, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 && strings.ContainsAny(rest[:at], "/?#@") {
			return nil, nil, errors.New("the user or password in the URL holds a /, ?, # or @; write them as %2F, %3F, %23 and %40")
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, errors.New("not a valid URL; write redis://[user:password@]host:6379/0, with any % in the password written as %25")
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not a Redis URL (%v); write redis://[user:password@]host:6379/0", store.RedactURL(rawURL), err)
	}
	// go-redis selects a database only above 0: /-1 was database 0, with
	// any other's tokens, under an ID of its own.
	if opts.DB < 0 {
		return nil, nil, fmt.Errorf("%s names database %d; Redis numbers its databases from 0 (/0, /1, …); write one of those", store.RedactURL(rawURL), opts.DB)
	}
	if opts.Network == "tcp" {
		if _, port, err := net.SplitHostPort(opts.Addr); err == nil {
			if n, err := strconv.Atoi(port); err == nil && (n < 1 || n > 65535) {
				return nil, nil, fmt.Errorf("%s names port %s, which no server has (ports run from 1 to 65535); Redis's own is 6379", store.RedactURL(rawURL), port)
			}
		}
	}
	// go-redis drops a fragment: redis://host/0#prod and #staging were one
	// database, where each configuration's log-in replaced the other's.
	if u.Fragment != "" || strings.HasSuffix(rawURL, "#") {
		return nil, nil, fmt.Errorf("%s has a fragment (a # and what follows it), which Redis knows nothing of: the tokens would go to database %d with any other's; write the URL without it, naming another database (/%d) to keep them apart", store.RedactURL(rawURL), opts.DB, opts.DB+1)
	}
	return opts, u, nil
}

func key(env string) string     { return "freshtoken:" + env }
func lockKey(env string) string { return "freshtoken:" + env + ":lock" }

// markKey is env's in-flight mark (see Store.InFlightTTL). An
// environment's name has no colon, so no record's key is another's lock
// or mark.
func markKey(env string) string { return "freshtoken:" + env + ":renewing" }

// givenUpKey marks holder's tries at env's lock as given up (see giveUp).
// It ends as the lock's key does, so that a Redis user allowed to write
// the lock, and not the record (an ACL of key patterns), may write it too.
func givenUpKey(env, holder string) string {
	return "freshtoken:" + env + ":given-up:" + holder + ":lock"
}

// Location implements store.Store.
func (s *Store) Location(env string) string {
	return s.where + " (key " + key(env) + ")"
}

// Load implements store.Store. Every read crosses the network and may wait
// (store.Waiting); one that Redis leaves unanswered ends with ctx.
func (s *Store) Load(ctx context.Context, env string) (*store.Record, error) {
	if err := s.checkUse(env); err != nil {
		return nil, err
	}
	store.Waiting(ctx)
	// go-redis gives a command up only at its time-outs, which a Redis that
	// does not answer (paused, or behind a lost connection) makes seconds,
	// after Ctrl-C too.
	var runID string
	data, err := await.Result(ctx, func() ([]byte, error) {
		dropped, loading := false, time.Now().Add(loadingFor)
		pause := 50 * time.Millisecond
		for {
			data, id, err := s.read(ctx, env)
			if errors.Is(err, errReplica) && !dropped {
				// A connection left on an old primary by a failover
				// behind one address: closed, and read again.
				dropped = true
				s.dropReplicaConn(ctx, s.client, env)
				continue
			}
			if redis.HasErrorPrefix(err, "LOADING") && time.Now().Add(pause).Before(loading) {
				// Redis started, and reads its data from disk: go-redis
				// tries a read again only when LOADING answers a
				// pipeline's first command, and INFO, answered while
				// loading, goes first.
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(pause):
				}
				pause = min(2*pause, 500*time.Millisecond)
				continue
			}
			runID = id
			return data, err
		}
	})
	if errors.Is(err, errReplica) {
		return nil, &storeError{store.ErrUnreachable, fmt.Sprintf("could not read the tokens: Redis at %s answered from a replica (role:slave), whose copy may be behind the primary's (a failover behind its address still under way, or a URL naming a replica); name the primary in its URL, or try again once the failover is done", s.where)}
	}
	if errors.Is(err, redis.Nil) {
		s.sawNone(env, runID)
		return nil, store.ErrNotFound
	}
	if isWrongType(err) {
		// A user limited to the commands freshtoken uses may not ask.
		kind, terr := s.client.Type(ctx, key(env)).Result()
		if terr != nil || kind == "" {
			kind = "value of another type"
		}
		return nil, fmt.Errorf("%w: %s holds a Redis %s, not freshtoken's tokens; it was left as it is, and a log-in replaces it", store.ErrCorrupt, s.Location(env), kind)
	}
	if err != nil {
		return nil, s.failed(ctx, "read the tokens", err)
	}
	r, err := store.Unmarshal(data, s.Location(env))
	if err == nil {
		s.saw(env, runID, r)
	}
	return r, err
}

// loadingFor is how long a read answered LOADING (a Redis loading its data
// from disk, after a start) is tried again before the store is reported
// unreachable: as long as a command that Redis leaves unanswered, tried
// once more, waits (see New).
const loadingFor = 4 * time.Second

// errReplica is a read answered by a replica (see read).
var errReplica = errors.New("answered by a replica")

// read is Load's round trip: the record's JSON (redis.Nil for none), and
// the run_id of the server that answered, or errReplica when that server
// is a replica.
//
// The server's run_id comes with the record, from the same connection, so
// from the same server (see Restore), and its role with them: a
// connection that a failover behind one address (a managed Redis's DNS
// name) left on the old primary, now a replica, read its copy, which may
// be behind the new primary's (it may not have synced yet): a renewal
// under the lock, taken on the new primary, read the tokens the last
// renewal there had replaced and sent their spent refresh token. The
// INFOs go first and the GET last, as in a save (see thenRunID): once the
// record's answer is read, nothing after it can fail the read or have
// go-redis send it again (INFO after it, its answer lost to a dropped
// connection, failed a read whose record had come).
func (s *Store) read(ctx context.Context, env string) ([]byte, string, error) {
	var get, info, repl *redis.StringCmd
	ask := !s.noInfo.Load()
	_, perr := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		if ask {
			info = p.Info(ctx, "server")
			repl = p.Info(ctx, "replication")
		}
		get = p.Get(ctx, key(env))
		return nil
	})
	if err := get.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", err // not answered, or refused: INFO's answer is not the record's server's
	}
	if perr != nil && !errors.Is(perr, redis.Nil) && (info == nil || (info.Err() != perr && repl.Err() != perr)) {
		return nil, "", perr // the connection failed before any was sent (a password refused)
	}
	// INFO replication refused (a user given +info|server alone) or not
	// answered just now leaves the role untold: the read stands, as it
	// did before INFO replication was asked.
	if s.noteRole(repl) {
		return nil, "", errReplica
	}
	data, err := get.Bytes()
	return data, s.answeredRunID(info), err
}

// unknownRunID is the run_id of a read or save whose INFO Redis, or a
// proxy in front of it, could not answer just now: saw keeps the one it
// last knew (see answeredRunID).
const unknownRunID = "\x00unknown"

// answeredRunID is the run_id info answered with (runIDOf), or
// unknownRunID when INFO was asked and answered with an error that does
// not refuse it (a proxy that could not reach Redis for it, BUSY): the
// record read or saved with it was on the server that held it last, as
// far as can be told, and a restart after it must still be told from a
// log-out (saw with "" took any loss of it for a log-out).
func (s *Store) answeredRunID(info *redis.StringCmd) string {
	runID, err := s.runIDOf(info)
	if err != nil {
		return unknownRunID
	}
	return runID
}

// noteRole reports whether repl, INFO replication's answer (nil when not
// asked), says the server is a replica (role:slave); refused or not
// answered, it leaves the role untold, and says no. It notes whether the
// user may ask (see guardedScript), and whether a primary that answered
// has replicas connected (see ReplicaWait).
func (s *Store) noteRole(repl *redis.StringCmd) bool {
	if repl == nil {
		return false
	}
	text, err := repl.Result()
	if err != nil {
		if infoRefused(err) {
			s.noRole.Store(true)
			s.roleKnown.Store(true)
		}
		return false
	}
	s.noRole.Store(false)
	s.roleKnown.Store(true)
	if infoField(text, "role") == "slave" {
		return true
	}
	n, _ := strconv.Atoi(infoField(text, "connected_slaves"))
	s.replicated.Store(n > 0)
	return false
}

// infoField is the value of field in an INFO answer, or "".
func infoField(text, field string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// Save implements store.Store. It returns once Redis has the record. While
// this Store holds env's renewal lock, it saves only if Redis says the lock
// is still its own, in the same step (fenced): a holder paused past the
// lock's time limit, whose lock passed to another renewer, must not
// overwrite the newer tokens that renewer may have saved. It then returns
// an error and writes nothing; HoldsLock reports false. A save go-redis
// sent again (its answer lost with the connection) after the lock passed
// finds the record holding what it saves, to the byte, when its first
// send stored it: that is the save done. Otherwise the error says Redis
// holds other tokens (the first send's may have been stored and replaced
// since). A lock that expired
// with no one taking it, while this holder's in-flight mark stands (Redis
// paused while the provider answered), still takes the save, and is taken
// back with it; a save clears the mark (see InFlightTTL). Without the lock
// (a caller outside the renewal rules) it saves as it is told.
func (s *Store) Save(ctx context.Context, env string, r *store.Record) error {
	return s.save(ctx, env, r, nil)
}

// SaveIf implements store.Swapper: Save, if the record Redis holds is
// still read (store.Unchanged, on the record as Load reads it), and holds
// the same JSON still, to the byte, in the script that saves.
func (s *Store) SaveIf(ctx context.Context, env string, r, read *store.Record) error {
	if err := s.checkUse(env); err != nil {
		return err
	}
	if read == nil {
		return fmt.Errorf("%w: %s held no tokens when read", store.ErrChanged, s.Location(env))
	}
	return s.save(ctx, env, r, read)
}

func (s *Store) save(ctx context.Context, env string, r, read *store.Record) error {
	if err := s.checkUse(env); err != nil {
		return err
	}
	data, err := store.Marshal(env, r)
	if err != nil {
		return err
	}
	stamp := ""
	if read != nil {
		if stamp, err = s.stamp(ctx, env, "save the tokens", read); err != nil {
			return err
		}
	}
	s.mu.Lock()
	holder := s.holders[env] // "" without the lock: saved as told
	s.mu.Unlock()
	keys := []string{key(env), lockKey(env), markKey(env)}
	cmd, runID, err := s.write(ctx, env, saving, fencedSave, keys, data, holder, s.lockTTL().Milliseconds(), stamp)
	if err != nil {
		return s.failed(ctx, "save the tokens", err)
	}
	saved, err := cmd.Int()
	if err != nil {
		return s.failed(ctx, "save the tokens", err)
	}
	switch saved {
	case 0:
		// go-redis may have sent the save again, its answer lost: the
		// first send may have stored it before the lock passed, and the
		// other renewer replaced it since. Redis holds other tokens
		// either way (a record holding these is case 2).
		return fmt.Errorf("could not save the tokens: the renewal lock %s at %s passed to another renewer while this one was paused longer than it lasts, and %s holds other tokens than these, or none: they were not stored, or were replaced since", lockKey(env), s.where, s.Location(env))
	case -1:
		return fmt.Errorf("%w: %s was changed by another renewer or a log-in; nothing was written", store.ErrChanged, s.Location(env))
	}
	s.saw(env, runID, r)
	return nil
}

// A writeKind is what a write does to env's tokens, as a warning that a
// replica may not have it yet tells it (see notOnReplica).
type writeKind int

const (
	saving writeKind = iota
	deleting
)

// write runs g's script on keys with args, after INFO (see thenRunID),
// waiting for a replica when the primary has any, and returns the
// script's command and the run_id of the server that ran it.
func (s *Store) write(ctx context.Context, env string, kind writeKind, g guardedScript, keys []string, args ...any) (*redis.Cmd, string, error) {
	script := s.script(g)
	var cmd *redis.Cmd
	run := func(p redis.Pipeliner) redis.Cmder {
		cmd = script.EvalSha(ctx, p, keys, args...)
		return cmd
	}
	runID, err := s.thenRunID(ctx, env, kind, run)
	if redis.HasErrorPrefix(err, "NOSCRIPT") { // not run: Redis has yet to learn it
		run = func(p redis.Pipeliner) redis.Cmder {
			cmd = script.Eval(ctx, p, keys, args...)
			return cmd
		}
		runID, err = s.thenRunID(ctx, env, kind, run)
	}
	return cmd, runID, err
}

// thenRunID sends INFO server and INFO replication and, after them, the
// command send adds to a pipeline (a save), in one round trip, on one
// connection: the run_id is that of the server that took the save (a
// restart in between would have broken the connection, and go-redis sends
// them all again on another). No round trip of its own follows the save,
// which a Redis that stalls once it has answered would hold up, its answer
// stored already, but WAIT (below), bounded. The save is the pipeline's
// last command: once its answer is read, nothing after it can fail the
// pipeline, and have go-redis send the save again or report it failed
// (INFO after it, its answer lost to a dropped connection, failed the save
// Redis had stored, and sent it again up to three times: a SaveIf so sent
// was refused as changed by another renewer). It returns the command's
// error; an INFO Redis refuses costs only the run_id ("") or the role.
//
// While the primary has replicas connected (replicated), the save goes on
// a connection of its own, and WAIT follows it there (see awaitReplica):
// WAIT counts the writes of the connection it is sent on. That connection
// failing, the save is sent again as without replicas, on the pool's,
// which go-redis tries on new connections: a save stored by the first
// send finds the record holding it already (see fencedSave). No WAIT can
// count it there, and the caller is told so, as of a save no replica
// acknowledged. Until Redis has told its role (a Store whose first call
// is a write: store migrate's new store, a log-out), a write is sent as
// while the primary has replicas: the INFO replication before it tells
// whether to WAIT.
func (s *Store) thenRunID(ctx context.Context, env string, kind writeKind, send func(p redis.Pipeliner) redis.Cmder) (string, error) {
	if !s.replicated.Load() && (s.roleKnown.Load() || s.noInfo.Load()) {
		return s.pipelineSave(ctx, s.client, env, send)
	}
	conn := s.client.Conn()
	runID, err := s.pipelineSave(ctx, conn, env, send)
	var answer redis.Error
	switch {
	case err != nil && !errors.As(err, &answer):
		conn.Close()
		runID, err = s.pipelineSave(ctx, s.client, env, send)
		if err == nil && s.replicated.Load() {
			s.notOnReplica(ctx, env, kind, "its connection dropped, and it was sent again where no replica can be waited for")
		}
		return runID, err
	case err != nil || !s.replicated.Load():
		conn.Close()
		return runID, err
	}
	s.awaitReplica(ctx, conn, env, kind)
	return runID, nil
}

// pipelineSave is thenRunID's pipeline, on c (the pool's, or a connection
// of its own). A save answered READONLY has that connection closed (see
// dropReplicaConn).
func (s *Store) pipelineSave(ctx context.Context, c pipeliner, env string, send func(p redis.Pipeliner) redis.Cmder) (string, error) {
	var cmd redis.Cmder
	var info, repl *redis.StringCmd
	ask, role := !s.noInfo.Load(), !s.noInfo.Load() && !s.noRole.Load()
	_, perr := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		if ask {
			info = p.Info(ctx, "server")
		}
		if role {
			repl = p.Info(ctx, "replication")
		}
		cmd = send(p)
		return nil
	})
	if err := cmd.Err(); err != nil {
		if readOnly(err) {
			s.dropReplicaConn(ctx, c, env)
		}
		return "", err
	}
	if perr != nil && (info == nil || info.Err() != perr) && (repl == nil || repl.Err() != perr) {
		return "", perr // the connection failed before any was answered
	}
	s.noteRole(repl)
	return s.answeredRunID(info), nil
}

// pipeliner is a go-redis client, or one of its connections (Conn).
type pipeliner interface {
	Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
}

// awaitReplica waits, up to ReplicaWait, for a replica of the primary to
// acknowledge the writes sent on conn (WAIT 1), and closes conn. A save
// not acknowledged stands: the primary has it, and the caller is told
// (store.Warn) that a failover before a replica copies it would lose it.
// A user that may not run WAIT is told so once per Store (waitRefused),
// its saves standing. A Redis that stalls holds the caller a second past
// ReplicaWait at most.
func (s *Store) awaitReplica(ctx context.Context, conn *redis.Conn, env string, kind writeKind) {
	wait := s.ReplicaWait
	if wait <= 0 {
		wait = DefaultReplicaWait
	}
	bounded, cancel := context.WithTimeout(ctx, wait+time.Second)
	defer cancel()
	acked, err := await.Result(bounded, func() (int64, error) {
		defer conn.Close()
		return conn.Wait(ctx, 1, wait).Result()
	})
	if infoRefused(err) {
		// WAIT itself refused, as INFO's refusals read (a user set up
		// for Redis 6, where WAIT is not among @connection's commands):
		// told once, not at every renewal, and asked again at each save,
		// so that the permission added takes effect without a restart.
		if s.waitRefused.CompareAndSwap(false, true) {
			store.Warn(ctx, fmt.Sprintf("the tokens are written to %s, on the primary, but Redis does not let this user wait for a replica to copy them (WAIT answered %q): no save or log-out waits, and a failover before a replica copies one would bring back the tokens it replaced or deleted; add +wait to the user's permissions (ACL SETUSER %s +wait; see https://github.com/freshtoken/freshtoken/blob/main/docs/fleets.md)", s.Location(env), err.Error(), s.aclUser()))
		}
		return
	}
	if err == nil {
		s.waitRefused.Store(false)
	}
	why := fmt.Sprintf("none acknowledged it within %s", wait)
	if err != nil {
		why = fmt.Sprintf("WAIT failed: %v", err)
	}
	if err != nil || acked < 1 {
		s.notOnReplica(ctx, env, kind, why)
	}
}

// notOnReplica tells the caller (store.Warn) that env's tokens, saved on
// the primary (or deleted there), may not be on a replica yet, and why.
func (s *Store) notOnReplica(ctx context.Context, env string, kind writeKind, why string) {
	if kind == deleting {
		store.Warn(ctx, fmt.Sprintf("the tokens are deleted from %s, on the primary, but the deletion is not yet on a replica (%s): a failover before a replica copies it would bring the tokens back; if it happens, run the log-out again", s.Location(env), why))
		return
	}
	store.Warn(ctx, fmt.Sprintf("the tokens are saved in %s, on the primary, but not yet on a replica (%s): a failover before a replica copies them would bring back the tokens they replace", s.Location(env), why))
}

// readOnly reports whether err is a replica's refusal of a write: READONLY,
// or, from a script on Redis 6, an ERR that wraps it ("…: -READONLY You
// can't write against a read only replica.").
func readOnly(err error) bool {
	return redis.HasErrorPrefix(err, "READONLY") || err != nil && strings.Contains(err.Error(), "-READONLY ")
}

// dropReplicaConn has go-redis close c's pipeline connection to a
// replica: a failover behind one address (a managed Redis's DNS name) left
// it on the old primary, now a replica. go-redis closes a connection
// answered READONLY, which lets it reach the new primary, but only for a
// pipeline's first command, and a save goes after INFO (see thenRunID):
// its connection went back to the pool (the pipelines' own, where go-redis
// keeps one), to be answered READONLY save after save. probe, which writes
// nothing anywhere, is answered READONLY there as its first command (the
// connection closed, and the probe sent again on another), and a syntax
// error by a primary.
func (s *Store) dropReplicaConn(ctx context.Context, c pipeliner, env string) {
	script := s.script(probe)
	c.Pipelined(ctx, func(p redis.Pipeliner) error {
		script.Eval(ctx, p, []string{key(env) + ":probe"})
		return nil
	})
}

// probe is answered READONLY by a replica, writing nothing anywhere: by
// its role (guardedScript), or, for a user who may not ask it, by a
// read-only replica's refusal of its SET both only if the key is absent
// and only if it is present (NX and XX), which a primary answers with a
// syntax error. It names a key of its own, never the record, should a
// server that is not Redis read the SET otherwise.
var probe = newGuarded(`return redis.call("SET", KEYS[1], "", "NX", "XX")`)

// replicaGuard heads the scripts that write (see guardedScript): on a
// replica, it refuses them, READONLY, before they write anything.
const replicaGuard = `local role = redis.pcall("INFO", "replication")
if type(role) == "string" and string.find(role, "role:slave", 1, true) then
  return redis.error_reply("READONLY this server is a replica (role:slave), whose writes its next sync with its primary undoes")
end
`

// A guardedScript is a script that writes, in two versions: one that
// first asks Redis its role (INFO replication, in the script) and on a
// replica refuses, READONLY, writing nothing, and the same without the
// question. A replica set to take writes (replica-read-only no) would
// take a save or a lock, and lose it at its next sync: the lock unseen by
// the machines that use the primary, which renew meanwhile, and the save
// taken for stored. go-redis closes a connection answered READONLY, and
// tries a command again on another, which a failover behind one address
// leads to the new primary; a URL naming a replica is told so (see
// failed). A user that may not ask the role (+info|server alone, or no
// +info; a Redis where INFO is renamed) is sent the version without it,
// which every call would otherwise cost an error reply: read-only replicas
// refuse its writes themselves, and those that take writes are not told.
type guardedScript struct{ guarded, plain *redis.Script }

func newGuarded(src string) guardedScript {
	return guardedScript{guarded: redis.NewScript(replicaGuard + src), plain: redis.NewScript(src)}
}

// script is the version of g to send (see guardedScript).
func (s *Store) script(g guardedScript) *redis.Script {
	if s.noInfo.Load() || s.noRole.Load() {
		return g.plain
	}
	return g.guarded
}

// stamp is what SaveIf's and DeleteIf's scripts compare the record Redis
// holds with: the SHA-1 of the JSON it holds now, if that is still read as
// store.Unchanged compares them, in Go, as Load reads it; otherwise one no
// record has, and the script refuses the write (a save's after the lock's
// check, so that a lock that passed is still said as such). The JSON is not decoded again in the
// script: Lua's cjson and Go read the same JSON differently (a time's
// "+00:00" or trailing zeros, a zero time written, a key in another case),
// and a stamp built there refused, for ever, a save over a record unchanged.
//
// With read nil (DeleteIf's, for a record the caller could not read), it
// is the SHA-1 of the JSON Redis holds if that cannot be read, but by a
// newer freshtoken (store.ErrNewerFormat), or wrongType for a key of
// another type. what is the write it is for ("save the tokens"), which a
// failure to read says: a renewal's answer refused was said to have failed
// to "read the tokens".
func (s *Store) stamp(ctx context.Context, env, what string, read *store.Record) (string, error) {
	data, err := s.client.Get(ctx, key(env)).Bytes()
	switch {
	case isWrongType(err) && read == nil:
		return wrongType, nil
	case errors.Is(err, redis.Nil) || isWrongType(err):
		return "changed", nil
	case err != nil:
		return "", s.failed(ctx, what, err)
	}
	cur, err := store.Unmarshal(data, s.Location(env))
	if read == nil && (err == nil || errors.Is(err, store.ErrNewerFormat)) || read != nil && (err != nil || !store.Unchanged(cur, read)) {
		return "changed", nil
	}
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:]), nil
}

// wrongType is the stamp of a key of another type than a string.
const wrongType = "wrongtype"

// infoWait bounds a round trip of its own that asks Redis for its run_id
// (see runID): a Redis that stalls holds the caller no longer, whatever
// the caller's context and the URL's time-outs.
const infoWait = 2 * time.Second

// runID is the run_id of the Redis server (INFO server), which changes
// at every restart, asked within infoWait; "" when it cannot be asked (a
// user without +info, a Redis where INFO is renamed or disabled), and an
// error when Redis did not answer, or errReplica when only a replica did.
//
// The server's role comes with it, as with a read (see read): a
// connection that a failover behind one address left on the old primary,
// a replica now, answered with the run_id the record was read with, and a
// record the new primary lost (a failover to an empty replica) was taken
// for deleted on a server not restarted. That connection is closed, and
// the run_id asked again.
func (s *Store) runID(ctx context.Context, env string) (string, error) {
	if s.noInfo.Load() {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, infoWait)
	defer cancel()
	for try := 1; ; try++ {
		var info, repl *redis.StringCmd
		_, err := await.Result(ctx, func() (struct{}, error) {
			s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
				info = p.Info(ctx, "server")
				repl = p.Info(ctx, "replication")
				return nil
			})
			return struct{}{}, nil
		})
		if err != nil {
			return "", err
		}
		if s.noteRole(repl) {
			if try == 1 {
				s.dropReplicaConn(ctx, s.client, env)
				continue
			}
			return "", errReplica
		}
		return s.runIDOf(info)
	}
}

// runIDOf is the run_id INFO server answered with, or "" and the error
// of a Redis that did not answer; "" and nil when INFO may not be run (a
// user without +info: NOPERM) or is not available (renamed or disabled in
// redis.conf, as managed Redis services do: an unknown command), and then
// it is not asked again.
func (s *Store) runIDOf(info *redis.StringCmd) (string, error) {
	if info == nil {
		return "", nil
	}
	text, err := info.Result()
	if infoRefused(err) {
		s.noInfo.Store(true)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return infoField(text, "run_id"), nil
}

// infoRefused reports whether err is a definite refusal of INFO itself:
// the user may not run it (NOPERM), it is renamed or disabled
// (rename-command INFO in redis.conf), which Redis answers as an unknown
// command, or a proxy in front of Redis does not pass it on ("ERR command
// not support", Camellia's; "unsupported command 'info'", Envoy's). Any
// other answer (too many clients, a proxy whose server refused its
// connection, LOADING, BUSY, TRYAGAIN) says nothing of INFO: it may be
// answered at the next try. Redis's "command not allowed" is its refusal
// of a write when out of memory (OOM), or of a command in a MULTI.
func infoRefused(err error) bool {
	var answer redis.Error
	if !errors.As(err, &answer) {
		return false
	}
	msg := answer.Error()
	if strings.HasPrefix(msg, "NOPERM") || strings.HasPrefix(msg, "ERR unknown command") {
		return true
	}
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "not support") || strings.Contains(msg, "unsupported command")
}

// seenRecord is an environment's record as a Store last found or saved
// it, and the run_id of the server that held it (or deleted, or "").
type seenRecord struct {
	runID string
	rec   *store.Record
}

// saw notes that the Redis server with runID held env's record r, as
// just found or saved.
func (s *Store) saw(env, runID string, r *store.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]seenRecord{}
	}
	if runID == unknownRunID {
		// The run_id last known, for a record of the log-in it was known
		// with: no other log-in was stored since on another server than
		// that (a restart that lost it, then a log-in), as far as can be
		// told. Another log-in may have been (a log-in after a restart),
		// and was then deleted on its own server if it is found gone; a
		// deletion's run_id likewise: whether a restart lost it cannot be
		// told.
		last := s.seen[env]
		runID = ""
		if last.runID != deleted && store.SameLogIn(last.rec, r) {
			runID = last.runID
		}
	}
	s.seen[env] = seenRecord{runID, r}
}

// HeldOn is the run_id (INFO server) of the Redis server that held env's
// record when this Store last found or saved it, as Redis answered with
// the record: a server with another run_id was restarted since, and one
// with the same has run without a break. "" when it is not known (INFO
// refused or not answered, no record found).
func (s *Store) HeldOn(env string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seen := s.seen[env]; seen.rec != nil && seen.runID != deleted {
		return seen.runID
	}
	return ""
}

// RunID is the run_id (INFO server) of the Redis server answering now, ""
// when the user may not ask it.
func (s *Store) RunID(ctx context.Context) (string, error) {
	if s.client == nil {
		return "", errNotMade
	}
	return s.runIDOf(s.client.Info(ctx, "server"))
}

// deleted is what seen holds for an environment whose record was found
// deleted on the server that held it: on purpose (see Restore).
const deleted = "deleted"

// sawNone notes that the Redis server with runID held no record of env:
// if that server held it when last found or saved, it was deleted there,
// on purpose, and a restart after this does not make it lost.
func (s *Store) sawNone(env, runID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if runID != "" && s.seen[env].runID == runID {
		s.seen[env] = seenRecord{runID: deleted}
	}
}

// restoredKey is the note that env's record was put back after the Redis
// server with the run_id it holds lost it (see Restore): a record deleted
// after that, on the same server, was deleted on purpose.
func restoredKey(env string) string { return "freshtoken:" + env + ":restored" }

// Restore implements store.Restorer. Redis's run_id tells a restart: a
// server whose run_id is not the one that held env's record when this
// Store last found or saved it was restarted since, and if it holds no
// record, lost it (run without persistence, or a failover to an empty
// replica). The record is then set if still absent, in one step with a
// check that this Store holds env's renewal lock, and a note of the
// restart's run_id (freshtoken:<env>:restored) that keeps any other
// machine from putting it back again after a log-out. A record deleted on
// the server that held it (a log-out, or FLUSHALL: a deliberate wipe) is
// never put back, nor one another machine put back and someone deleted
// since. Another copy of the same log-in that another machine put back
// first, renewed fewer times, is replaced only if it is still the one
// read (SaveIf). A user that may not run INFO, or a Redis where INFO is
// renamed or disabled, cannot tell a restart, and never puts anything
// back; a Store asks such a Redis for its run_id once.
func (s *Store) Restore(ctx context.Context, env string, r *store.Record) (*store.Record, bool, error) {
	if err := s.checkUse(env); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	holder, locked := s.holders[env]
	last := s.seen[env]
	s.mu.Unlock()
	seen := last.runID
	if last.rec != nil && store.RenewedLater(last.rec, r) {
		// Read or saved since by another Source of the process (the
		// keeper's, while a proxy's served from an older one): later. It
		// goes back as r would, with r's rest.
		later := *last.rec
		later.Rest = r.Rest
		r = &later
	}
	if !locked {
		return nil, false, fmt.Errorf("could not put the tokens back in %s: this process does not hold the renewal lock %s; nothing was written", s.Location(env), lockKey(env))
	}
	now, err := s.runID(ctx, env)
	if errors.Is(err, errReplica) {
		return nil, false, &storeError{store.ErrUnreachable, fmt.Sprintf("could not put the tokens back in %s: Redis answered whether it was restarted (INFO) from a replica (role:slave), whose run_id is not the primary's (a failover behind its address still under way, or a URL naming a replica); tried again at the next look", s.Location(env))}
	}
	if err != nil {
		// Redis did not answer, or cannot just now (too many clients,
		// LOADING, BUSY…): tried again at the next look. An INFO refused
		// (NOPERM, an unknown command, a proxy that passes no INFO on:
		// "ERR command not support", "unsupported command") is no error
		// here (see runIDOf): whether Redis restarted cannot be told,
		// and the tokens missing are taken for deleted, never put back
		// nor kept in use. Any other answer is not taken for a refusal,
		// which would drop tokens a restart lost.
		ferr := s.failed(ctx, "ask Redis whether it was restarted (INFO server), to put the tokens back", err)
		var answer redis.Error
		if errors.As(err, &answer) && !errors.Is(ferr, store.ErrUnreachable) && !errors.Is(ferr, store.ErrDenied) && ctx.Err() == nil {
			ferr = &storeError{store.ErrUnreachable, fmt.Sprintf("could not put the tokens back in %s: Redis did not say whether it was restarted (INFO server answered %q); tried again at the next look", s.Location(env), answer.Error())}
		}
		return nil, false, ferr
	}
	if why := ""; seen == "" || now == "" || seen == now || seen == deleted {
		// Nothing to put back; but another Source of the process, or a
		// log-in, may have stored a record since the caller looked.
		there, err := s.Load(ctx, env)
		switch {
		case err == nil:
			return there, false, nil
		case !errors.Is(err, store.ErrNotFound):
			return nil, false, err
		case s.noInfo.Load():
			why = "whether Redis was restarted since they were read cannot be told (INFO is not allowed, or not available)"
		case seen == "" || now == "":
			why = "whether Redis was restarted since they were read cannot be told (Redis did not give its run_id, INFO server, as they were read or now)"
		default:
			why = "Redis was not restarted since they were read: they were deleted (a log-out, or FLUSHALL)"
		}
		return nil, false, fmt.Errorf("%w: %s holds none, and %s; nothing was written", store.ErrNotFound, s.Location(env), why)
	}
	data, err := store.Marshal(env, r)
	if err != nil {
		return nil, false, err
	}
	// Written as every save is (write), waiting for a replica: a put-back
	// a failover lost would leave no one holding the tokens to put back.
	cmd, _, err := s.write(ctx, env, saving, restore, []string{key(env), lockKey(env), restoredKey(env)}, data, holder, now)
	if err != nil {
		return nil, false, s.failed(ctx, "put the tokens back", err)
	}
	answer, err := cmd.Slice()
	if err != nil {
		return nil, false, s.failed(ctx, "put the tokens back", err)
	}
	switch code, _ := answer[0].(int64); code {
	case 1:
		s.saw(env, now, r)
		return r, true, nil
	case 0:
		return nil, false, fmt.Errorf("could not put the tokens back in %s: the renewal lock %s passed to another renewer, or Redis was restarted again, and it does not hold these tokens", s.Location(env), lockKey(env))
	case -1:
		s.saw(env, deleted, nil)
		return nil, false, fmt.Errorf("%w: %s was put back after Redis restarted, and deleted since (a log-out); nothing was written", store.ErrNotFound, s.Location(env))
	}
	text, _ := answer[1].(string)
	there, err := store.Unmarshal([]byte(text), s.Location(env))
	if err != nil {
		return nil, false, err
	}
	s.saw(env, now, there)
	if !store.LaterCopy(r, there) {
		return there, false, nil // a later copy, or another log-in: it stands
	}
	if err := s.SaveIf(ctx, env, r, there); err != nil {
		if errors.Is(err, store.ErrChanged) {
			there, err := s.Load(ctx, env)
			return there, false, err
		}
		return nil, false, err
	}
	return r, true, nil
}

// restore sets the record KEYS[1] to ARGV[1] if it is absent, while the
// lock KEYS[2] holds the caller's value ARGV[2], unless the note KEYS[3]
// says that the record was put back already on the server whose run_id is
// ARGV[3] (and deleted since); it sets the note to ARGV[3]. It answers {1}
// when it set the record, or finds it holding ARGV[1] to the byte (go-redis
// sent it again, its answer lost, and the first send set it, whether the
// lock passed since or not), {0} when the lock is not the caller's (a restart
// since the caller asked for the run_id empties it too), {-1} for the
// note, and {2, record} when a record is stored.
var restore = newGuarded(`local cur = redis.call("GET", KEYS[1])
if cur == ARGV[1] then return {1} end
if redis.call("GET", KEYS[2]) ~= ARGV[2] then return {0} end
if cur then return {2, cur} end
if redis.call("GET", KEYS[3]) == ARGV[3] then return {-1} end
redis.call("SET", KEYS[1], ARGV[1], "NX")
redis.call("SET", KEYS[3], ARGV[3])
return {1}`)

// fencedSave sets KEYS[1] to ARGV[1]. With a lock value ARGV[2] (the
// caller holds the lock), only while the lock KEYS[2] holds it, or, the
// lock having expired, while the in-flight mark KEYS[3] does (the holder
// sent a token request, and Redis was paused past the lock's life while
// the provider answered: no one else took the lock since); otherwise it
// returns 0. A save under the mark takes the lock back for ARGV[3] ms, so
// that a save go-redis sends again, its answer lost, is taken again, as
// one under the lock is. Either clears the caller's mark: nothing is in
// flight, and a holder that dies now holds others back no longer than its
// lock. A lock another renewer holds is never overridden by the mark (a
// freshtoken older than the mark takes the lock regardless of it).
//
// With a stamp ARGV[4] (SaveIf), only while the record KEYS[1] holds is
// the one read: the SHA-1 of its JSON is ARGV[4] (see Store.stamp);
// otherwise it returns -1, as it does for no record. A record that already
// holds ARGV[1], to the byte, is saved again: go-redis sent the save again,
// its answer lost. It returns 1 when it saved, and 2, touching nothing,
// when the lock is not the caller's but the record holds ARGV[1] to the
// byte: go-redis sent the save again, its answer lost, after the lock
// passed to another renewer (the holder paused between the two sends),
// and the first send stored it.
var fencedSave = newGuarded(`local lock, mark
if ARGV[2] ~= "" then
  lock = redis.call("GET", KEYS[2])
  mark = redis.call("GET", KEYS[3])
  if lock ~= ARGV[2] and (lock or mark ~= ARGV[2]) then
    if redis.call("GET", KEYS[1]) == ARGV[1] then return 2 end
    return 0
  end
end
if ARGV[4] ~= "" then
  local cur = redis.call("GET", KEYS[1])
  if not cur or (cur ~= ARGV[1] and redis.sha1hex(cur) ~= ARGV[4]) then return -1 end
end
redis.call("SET", KEYS[1], ARGV[1])
if ARGV[2] ~= "" then
  if not lock then redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3]) end
  if mark == ARGV[2] then redis.call("DEL", KEYS[3]) end
end
return 1`)

// Delete implements store.Store. It waits for a replica, as a save does
// (see ReplicaWait): a deletion lost to a failover brings back the tokens
// logged out.
func (s *Store) Delete(ctx context.Context, env string) error {
	if err := s.checkUse(env); err != nil {
		return err
	}
	if _, _, err := s.write(ctx, env, deleting, remove, []string{key(env)}); err != nil {
		return s.failed(ctx, "delete the tokens", err)
	}
	s.saw(env, deleted, nil) // on purpose: never put back (see Restore)
	return nil
}

// remove deletes the record KEYS[1].
var remove = newGuarded(`return redis.call("DEL", KEYS[1])`)

// DeleteIf implements store.CheckedDeleter: Delete, if the record Redis
// holds is still read (store.Unchanged, on the record as Load reads it),
// and holds the same JSON still, to the byte, in the script that
// deletes; with read nil, if it holds a record that cannot be read,
// the same still. A renewal stored in between, by a renewer that took the
// lock while the caller was paused past it, is kept.
func (s *Store) DeleteIf(ctx context.Context, env string, read *store.Record) error {
	if err := s.checkUse(env); err != nil {
		return err
	}
	stamp, err := s.stamp(ctx, env, "delete the tokens", read)
	if err != nil {
		return err
	}
	cmd, _, err := s.write(ctx, env, deleting, removeIf, []string{key(env)}, stamp)
	if err != nil {
		return s.failed(ctx, "delete the tokens", err)
	}
	n, err := cmd.Int()
	if err != nil {
		return s.failed(ctx, "delete the tokens", err)
	}
	if n < 0 {
		return fmt.Errorf("%w: %s was changed by another renewer or a log-in; nothing was deleted", store.ErrChanged, s.Location(env))
	}
	s.saw(env, deleted, nil) // on purpose: never put back (see Restore)
	return nil
}

// removeIf deletes the record KEYS[1] if the SHA-1 of its JSON is ARGV[1]
// (see Store.stamp), or, ARGV[1] being wrongType, if it is no string (a
// key of another type, which no one renews); it answers 0 for no record,
// and -1, deleting nothing, for another.
var removeIf = newGuarded(`local cur = redis.pcall("GET", KEYS[1])
if type(cur) == "table" and cur.err then
  if ARGV[1] == "` + wrongType + `" then return redis.call("DEL", KEYS[1]) end
  return -1
end
if not cur then return 0 end
if redis.sha1hex(cur) ~= ARGV[1] then return -1 end
return redis.call("DEL", KEYS[1])`)

// CheckWrite reports whether the user in the URL may write env's record
// and renewal lock, as a renewal, a log-in and a log-out do, writing
// nothing: nil when it may, or an error wrapping store.ErrDenied saying
// which it may not (a user that may only read, `+@read`; keys it may not
// write, `%R~`), or the error of a Redis that could not be asked. A user
// allowed to read alone finds out otherwise at the next renewal, hours
// later perhaps, in a proxy. A user that may renew but not read Redis's
// run_id (INFO), or a Redis where INFO is renamed or disabled (or a proxy
// in front of it that does not pass INFO on), gives an error wrapping
// store.ErrRestartLoses: nothing can be put back after a restart (see
// Restore). INFO answered lets the Store ask it again, if it was refused.
//
// Each check runs a command of freshtoken's in the script freshtoken runs
// its writes in, that Redis refuses before doing anything: a SET both
// only if the key is absent and only if it is present (NX and XX), which
// Redis refuses for its syntax once the user's permissions let it run,
// and which could write nothing even if run; and, on Redis 7 and later,
// the permission to DEL and PEXPIRE the key (and PTTL the in-flight mark,
// whose time to live a renewer waiting for the lock watches), asked of
// Redis's ACL without running them. No key is written, created or given an expiry: another
// machine's lock and the record are as they were.
func (s *Store) CheckWrite(ctx context.Context, env string) error {
	if err := s.checkUse(env); err != nil {
		return err
	}
	for _, c := range []struct{ key, what, also string }{{key(env), "save the tokens", ""}, {lockKey(env), "take the renewal lock", ""}, {markKey(env), "mark the renewal in flight", "pttl"}} {
		_, err := await.Result(ctx, func() (any, error) { return writeCheck.Run(ctx, s.client, []string{c.key}, c.also).Result() })
		var answer redis.Error
		if err == nil || errors.As(err, &answer) && strings.Contains(answer.Error(), "syntax error") {
			continue // the SET ran past the user's permissions
		}
		if c.also == "pttl" && errors.As(err, &answer) && strings.Contains(answer.Error(), "'pttl'") {
			// It may mark renewals and renew: only a machine waiting
			// on a dead holder's mark waits longer (docs/fleets.md).
			return &storeError{store.ErrDenied, fmt.Sprintf("Redis at %s lets this user renew but not ask how long a renewal's in-flight mark has to live (%s): a machine waiting for the renewal lock cannot tell that the machine holding it died, and waits five minutes for it rather than 15 seconds; add +pttl to the user's permissions (ACL SETUSER %s +pttl; see https://github.com/freshtoken/freshtoken/blob/main/docs/fleets.md)", s.where, answer.Error(), s.aclUser())}
		}
		failed := s.failed(ctx, c.what, err)
		if errors.As(err, &answer) && ctx.Err() == nil && !errors.Is(failed, store.ErrDenied) && !errors.Is(failed, store.ErrUnreachable) {
			continue // another answer: Redis let the user run it
		}
		return failed
	}
	// It may renew: whether it may read the run_id, which tells a restart
	// that lost the tokens from a log-out (see Restore).
	_, err := await.Result(ctx, func() (string, error) { return s.client.Info(ctx, "server").Result() })
	var answer redis.Error
	errors.As(err, &answer) // set whenever infoRefused(err)
	switch {
	case err == nil:
		// Asked again from now on: a user given +info, or INFO let run,
		// since it was refused needs no restart of a running freshtoken.
		s.noInfo.Store(false)
		return nil
	case !infoRefused(err):
		// No answer, or none just now (too many clients, LOADING, BUSY…),
		// or one that does not refuse INFO itself: the other checks tell
		// of a Redis that cannot serve, and a refusal is told at a check
		// that gets it.
		return nil
	case strings.HasPrefix(answer.Error(), "NOPERM"):
		return &storeError{store.ErrRestartLoses, fmt.Sprintf("Redis at %s lets this user renew but not read Redis's run_id (%s): a running freshtoken cannot tell a restart that lost the tokens from a log-out, and puts nothing back, so after a restart without persistence everyone logs in again; add +info to the user's permissions (ACL SETUSER %s +info; see https://github.com/freshtoken/freshtoken/blob/main/docs/fleets.md)", s.where, answer.Error(), s.aclUser())}
	}
	return &storeError{store.ErrRestartLoses, fmt.Sprintf("INFO is not available at Redis at %s (it answered %q: INFO is renamed or disabled in its configuration, as some managed Redis services do, or a proxy in front of Redis does not pass it on), so freshtoken cannot read Redis's run_id: a running freshtoken cannot tell a restart that lost the tokens from a log-out, and puts nothing back, so after a restart without persistence everyone logs in again; keep Redis's data on disk (appendonly yes), or let INFO run (take INFO's rename-command out of redis.conf, or let the proxy pass it on; see https://github.com/freshtoken/freshtoken/blob/main/docs/fleets.md)", s.where, answer.Error())}
}

// aclUser is the Redis user the URL names, "default" when it names none.
func (s *Store) aclUser() string {
	if user := s.client.Options().Username; user != "" {
		return user
	}
	return "default"
}

// CheckEviction reports whether Redis may evict keys when its memory is
// full (a maxmemory, and a maxmemory-policy other than noeviction): nil
// when it may not, or cannot be asked (a user without CONFIG, as
// docs/fleets.md sets up, or a Redis that does not answer, which the other
// checks tell of); else an error wrapping store.ErrDenied naming the
// policy. The volatile-* policies evict keys that expire, the renewal lock
// and the in-flight mark among them, once another user of that Redis (a
// cache) fills its memory: another machine then takes the lock while its
// live holder's token request is in flight, and sends the same refresh
// token. The allkeys-* policies evict the record too.
func (s *Store) CheckEviction(ctx context.Context) error {
	if s.client == nil {
		return errNotMade
	}
	conf, err := await.Result(ctx, func() (map[string]string, error) { return s.client.ConfigGet(ctx, "maxmemory*").Result() })
	if err != nil {
		return nil
	}
	policy := conf["maxmemory-policy"]
	if limit := conf["maxmemory"]; limit == "" || limit == "0" || policy == "" || policy == "noeviction" {
		return nil
	}
	also := ""
	if strings.HasPrefix(policy, "allkeys-") {
		also = ", and the tokens themselves"
	}
	return &storeError{store.ErrDenied, fmt.Sprintf("Redis at %s evicts keys when its memory is full (maxmemory-policy %s, with a maxmemory of %s bytes): it may drop the renewal lock and in-flight mark of a machine renewing, so that another renews with the same refresh token%s; set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf), or give freshtoken a Redis of its own", s.where, policy, conf["maxmemory"], also)}
}

// CheckPersistence reports whether Redis keeps what it is told on disk (a
// save point, or appendonly yes): nil when it does, or cannot be asked (a
// user without CONFIG, as docs/fleets.md sets up, or a Redis that does not
// answer, which the other checks tell of); else an error wrapping
// store.ErrRestartLoses. A Redis that keeps nothing comes back empty from a
// restart (a dev container, `docker restart` without a volume, a managed
// Redis's failover to an empty replica): every environment's tokens are
// lost, but those a running freshtoken still holds and puts back (see
// Restore), and everyone else must log in again.
func (s *Store) CheckPersistence(ctx context.Context) error {
	if s.client == nil {
		return errNotMade
	}
	conf := map[string]string{}
	for _, name := range []string{"save", "appendonly"} {
		got, err := await.Result(ctx, func() (map[string]string, error) { return s.client.ConfigGet(ctx, name).Result() })
		v, ok := got[name]
		if err != nil || !ok {
			return nil
		}
		conf[name] = v
	}
	if strings.TrimSpace(conf["save"]) != "" || conf["appendonly"] != "no" {
		return nil
	}
	return &storeError{store.ErrRestartLoses, fmt.Sprintf("Redis at %s keeps nothing on disk (no save points, appendonly no): a restart, or a failover to an empty replica, loses every environment's tokens but those a running freshtoken (a proxy or keeper) still holds and puts back, and the others need a log-in again; set appendonly yes (CONFIG SET appendonly yes, and in redis.conf)", s.where)}
}

// writeCheck asks whether the user may write KEYS[1] as freshtoken does
// (and, ARGV[1] being "pttl", read its time to live),
// writing nothing (see CheckWrite): it fails with NOPERM, or the error
// Redis 7.0 gives a script's command the user may not run, when the user
// may not, and with a syntax error when it may.
var writeCheck = redis.NewScript(`if redis.acl_check_cmd then
  if not redis.acl_check_cmd("DEL", KEYS[1]) then
    return redis.error_reply("NOPERM this user has no permissions to run the 'del' command on " .. KEYS[1])
  end
  if not redis.acl_check_cmd("PEXPIRE", KEYS[1], "1000") then
    return redis.error_reply("NOPERM this user has no permissions to run the 'pexpire' command on " .. KEYS[1])
  end
  if ARGV[1] == "pttl" and not redis.acl_check_cmd("PTTL", KEYS[1]) then
    return redis.error_reply("NOPERM this user has no permissions to run the 'pttl' command on " .. KEYS[1])
  end
end
return redis.call("SET", KEYS[1], "", "NX", "XX")`)

// The lock scripts take the lock KEYS[1] and the in-flight mark KEYS[2],
// and the holder's value ARGV[1]; acquire and takeover, the holder's
// given-up mark KEYS[3] too (see giveUp), and take nothing while it stands.
//
// acquire takes a free lock (ARGV[2] ms to live) while no other holder's
// in-flight mark stands, and reports a lock already holding the caller's
// value as taken too: go-redis sends a command again when its answer was
// lost, and the first may have taken it (no mark can have come between:
// only the lock's holder sets one). A mark of the caller's own is that of a
// lock this Store kept for an unsaved answer, and takes back (see
// KeepUnsaved). It answers {1} when the lock is the caller's; else {0},
// with, when another holder's mark stands, the mark's value, its time to
// live in ms, and whether the lock is held (1) or free (0), which a waiter
// watches (see markWatch). A user that may not run PTTL (set up by the
// docs before it was needed) gets {0} alone: it waits, as for a held lock,
// until the mark is cleared or expires, rather than fail every renewal
// that meets another's mark; CheckWrite finds it out.
//
// takeover takes the lock from a holder that died with its mark set: only
// while the lock is free, the mark still holds the value ARGV[3] the
// caller watched, and its time to live is no more than the ARGV[4] ms the
// caller saw last (its holder did not extend it meanwhile). It deletes the
// mark and takes the lock (ARGV[2] ms) in one step, and answers 1; else it
// does nothing, and answers 0.
//
// check confirms the lock is the caller's, gives it ARGV[2] ms to live,
// and sets the caller's in-flight mark for ARGV[3] ms (HoldsLock: a token
// request follows). keep extends the caller's lock, and its mark if it has
// one, even once the lock expired (Redis paused): the holder lives, and
// its answer may still be saved. release lets go of the caller's lock and
// clears its mark. None acts on another holder's lock or mark.
var (
	acquire = newGuarded(`if redis.call("GET", KEYS[3]) then return {0} end
if redis.call("GET", KEYS[1]) and redis.pcall("PTTL", KEYS[1]) == -1 then redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
local mark = redis.call("GET", KEYS[2])
if mark and mark ~= ARGV[1] then
  local pttl = redis.pcall("PTTL", KEYS[2])
  if type(pttl) ~= "number" then return {0} end
  local held = 0
  if redis.call("GET", KEYS[1]) then held = 1 end
  return {0, mark, pttl, held}
end
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) or redis.call("GET", KEYS[1]) == ARGV[1] then return {1} end
return {0}`)
	takeover = newGuarded(`if redis.call("GET", KEYS[3]) or redis.call("GET", KEYS[2]) ~= ARGV[3] or redis.call("PTTL", KEYS[2]) > tonumber(ARGV[4]) then return 0 end
if not redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then return 0 end
redis.call("DEL", KEYS[2])
return 1`)
	check = newGuarded(`if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("PEXPIRE", KEYS[1], ARGV[2])
redis.call("SET", KEYS[2], ARGV[1], "PX", ARGV[3])
return 1`)
	keep = newGuarded(`local held = 0
if redis.call("GET", KEYS[1]) == ARGV[1] then held = redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
if redis.call("GET", KEYS[2]) == ARGV[1] then redis.call("PEXPIRE", KEYS[2], ARGV[3]) end
return held`)
	release = newGuarded(`if redis.call("GET", KEYS[2]) == ARGV[1] then redis.call("DEL", KEYS[2]) end
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`)
	// giveUp sets, for each holder ARGV[i] (i > 1), its given-up mark
	// KEYS[i+1] for ARGV[1] ms, and, as release does, lets go of the lock
	// KEYS[1] and clears the in-flight mark KEYS[2] if that holder holds them.
	giveUp = newGuarded(`for i = 2, #ARGV do
  redis.call("SET", KEYS[i + 1], "1", "PX", ARGV[1])
  if redis.call("GET", KEYS[2]) == ARGV[i] then redis.call("DEL", KEYS[2]) end
  if redis.call("GET", KEYS[1]) == ARGV[i] then redis.call("DEL", KEYS[1]) end
end
return 0`)
)

// Lock implements store.Store. It waits while another renewer, on any
// machine or through this Store, holds env's lock, or another holder's
// in-flight mark stands and is extended (a live holder whose lock Redis
// expired while paused), and keeps the lock it takes alive until unlock.
// A mark it watched not extended for half the lock's life is a dead
// holder's, which it takes the lock from.
func (s *Store) Lock(ctx context.Context, env string) (func(), error) {
	if err := s.checkUse(env); err != nil {
		return nil, err
	}
	ttl := s.lockTTL()
	holder := httpx.RandomToken()
	k := lockKey(env)
	// One holder at a time in this Store, whatever Redis says: a lock that
	// expired there while its holder here lives is still that holder's, and
	// HoldsLock knows one holder per environment.
	s.mu.Lock()
	closing := s.closing && !s.lastTry(ctx)
	s.mu.Unlock()
	if closing {
		return nil, s.closed("take the renewal lock")
	}
	turn := s.turn(env)
	select {
	case turn <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the renewal lock %s at %s: %w", k, s.where, ctx.Err())
	}
	// The lock kept at Redis for an unsaved answer (see retain) is this
	// Store's to take back: acquire finds its value there.
	s.mu.Lock()
	r := s.retained[env]
	delete(s.retained, env)
	s.mu.Unlock()
	if r != nil {
		r.stop()
		holder = r.holder
	}
	var watch markWatch
	told := false // store.Waiting: the lock is another holder's
	for {
		// go-redis gives a command up only at its time-outs, which a Redis
		// that does not answer (paused, or behind a lost connection) makes
		// seconds (read_timeout), after the caller's deadline or Ctrl-C.
		ok, err := await.Result(ctx, func() (bool, error) {
			return s.tryLock(ctx, env, holder, ttl, &watch)
		})
		if err != nil {
			s.mu.Lock()
			kept := s.retainForKept(env, holder, ttl)
			s.mu.Unlock()
			if !kept {
				// The lock may have been taken all the same, its answer
				// lost, or yet to come (a try given up at ctx's end).
				s.abandon(env, holder)
			}
			<-turn
			if ctx.Err() != nil {
				return nil, fmt.Errorf("waiting for the renewal lock %s at %s: %w", k, s.where, ctx.Err())
			}
			if isWrongType(err) {
				return nil, s.notALock(ctx, env, err)
			}
			return nil, s.failed(ctx, "take the renewal lock", err)
		}
		if ok {
			break
		}
		if !told {
			store.Waiting(ctx)
			told = true
		}
		select {
		case <-ctx.Done():
			<-turn
			return nil, fmt.Errorf("waiting for the renewal lock %s at %s: %w", k, s.where, ctx.Err())
		case <-time.After(pollEvery(ttl)):
		}
	}

	s.mu.Lock()
	if s.closing && !s.lastTry(ctx) { // Close came meanwhile, and may have closed the client
		s.mu.Unlock()
		go s.release(env, holder) // else it expires within its TTL
		<-turn
		return nil, s.closed("take the renewal lock")
	}
	s.locked++
	s.mu.Unlock()
	alive := s.keepAlive(env, holder, ttl)
	s.mu.Lock()
	if s.holders == nil {
		s.holders = map[string]string{}
	}
	s.holders[env] = holder
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			alive.stop()
			s.mu.Lock()
			delete(s.holders, env)
			kept := s.retainForKept(env, holder, ttl)
			s.mu.Unlock()
			if !kept {
				s.release(env, holder)
			}
			s.mu.Lock()
			s.locked--
			if s.released != nil {
				s.released.Broadcast()
			}
			s.mu.Unlock()
			<-turn
		})
	}, nil
}

// isWrongType reports whether err is Redis's WRONGTYPE, a command's own
// ("WRONGTYPE Operation against a key…") or one a script ran: Redis 7
// words that as the command's, Redis 6 inside its own ("ERR Error running
// script (call to f_…): @user_script:14: WRONGTYPE …"), which a test of
// the prefix missed.
func isWrongType(err error) bool {
	return err != nil && strings.Contains(err.Error(), "WRONGTYPE")
}

// notALock is the error of Lock for env, err being Redis's WRONGTYPE: a
// value of another type than freshtoken writes (set by hand, or by another
// program using freshtoken's names) under env's lock or in-flight mark,
// which no renewal of env can then take until it is deleted. It holds no
// tokens, and is left as it is.
func (s *Store) notALock(ctx context.Context, env string, err error) error {
	for _, k := range []string{lockKey(env), markKey(env)} {
		if gerr := s.client.Get(ctx, k).Err(); isWrongType(gerr) {
			return &storeError{store.ErrDenied, fmt.Sprintf("could not take the renewal lock: Redis at %s holds a value of another type under %s, a key freshtoken keeps for %s's renewals, so none can be made; it holds no tokens: delete it (redis-cli -u %s DEL %s), then try again", s.where, k, env, s.cliURL(), k)}
		}
	}
	return s.failed(ctx, "take the renewal lock", err)
}

// cliURL is the store's URL as redis-cli -u takes it, with the word
// PASSWORD where its password goes: where, which shows no user or
// password, left redis-cli refused (NOAUTH) on a Redis that asks for them,
// as docs/fleets.md's does.
func (s *Store) cliURL() string {
	o := s.client.Options()
	u := url.URL{Scheme: "redis", Host: o.Addr, Path: "/" + strconv.Itoa(o.DB)}
	if o.TLSConfig != nil {
		u.Scheme = "rediss"
	}
	switch {
	case o.Password != "":
		u.User = url.UserPassword(o.Username, "PASSWORD")
	case o.Username != "":
		u.User = url.User(o.Username)
	}
	return u.String()
}

// tryLock tries once to take env's lock for holder: with acquire, or,
// the lock being free and another holder's in-flight mark standing, with
// takeover once watch has seen that mark not extended for the grace
// (markGrace), Redis answering all the while.
func (s *Store) tryLock(ctx context.Context, env, holder string, ttl time.Duration, watch *markWatch) (bool, error) {
	keys := []string{lockKey(env), markKey(env), givenUpKey(env, holder)}
	answer, err := s.script(acquire).Run(ctx, s.client, keys, holder, ttl.Milliseconds()).Slice()
	if err != nil {
		return false, err
	}
	if taken, _ := answer[0].(int64); taken == 1 {
		return true, nil
	}
	if len(answer) < 4 { // no other holder's mark: the lock is held
		*watch = markWatch{}
		return false, nil
	}
	mark, _ := answer[1].(string)
	pttl, _ := answer[2].(int64)
	held, _ := answer[3].(int64)
	if !watch.see(mark, pttl, time.Now(), ttl) || held == 1 {
		return false, nil
	}
	return s.script(takeover).Run(ctx, s.client, keys, holder, ttl.Milliseconds(), mark, pttl).Bool()
}

// A markWatch is what a renewer waiting for the lock saw of another
// holder's in-flight mark. A live holder extends its mark with its lock,
// every third of the lock's life, and its time to live goes back up; a
// dead holder's only runs down. A Redis paused (SIGSTOP, a VM migration, a
// long fork) stops the holder's extensions too, while Redis's clock runs
// on: the mark then looks like a dead holder's to a waiter that counts
// time across the pause. So the watch counts only time over which the
// waiter's own polls were answered without a gap, and starts again at
// every gap, or failure (Lock gives up then), or extension: after a pause,
// the live holder's next extension comes before the grace has passed.
type markWatch struct {
	mark  string    // the mark's value, "" while none is watched
	pttl  int64     // its time to live at the last poll, ms
	since time.Time // when it was first seen not extended, with no gap since
	last  time.Time // when the last poll was answered
}

// markGrace is how long a waiter watches a mark not extended before it
// takes the lock from its holder (ttl being the lock's life): longer than
// the holder's extensions' period (a third of ttl), and short enough that
// a waiter that was waiting as the holder died, which has watched that
// long by the time the lock expires, takes over as it does, and one that
// comes later waits no more than that, within 15 s of the death with the
// default 10 s lock.
func markGrace(ttl time.Duration) time.Duration { return ttl / 2 }

// markGap is the longest time between two answers to a waiter's polls
// that still counts as watching without a gap: a second, or less with a
// short lock, so that a pause of Redis shorter than it, which holds the
// holder's extension back as long, still leaves that extension within the
// grace.
func markGap(ttl time.Duration) time.Duration { return min(time.Second, ttl/8) }

// see records a poll's answer at now: mark (another holder's in-flight
// mark, "" for none) with pttl ms to live, the lock living ttl. It reports
// whether the mark has been seen not extended for the grace, with no gap.
func (w *markWatch) see(mark string, pttl int64, now time.Time, ttl time.Duration) bool {
	if mark == "" {
		*w = markWatch{}
		return false
	}
	if mark != w.mark || pttl > w.pttl || now.Sub(w.last) > markGap(ttl) {
		w.mark, w.since = mark, now
	}
	w.pttl, w.last = pttl, now
	return now.Sub(w.since) >= markGrace(ttl)
}

// retainedLock is a lock at Redis kept alive by keepAlive until stop.
type retainedLock struct {
	holder        string
	done, stopped chan struct{}
}

// stop ends the extensions and waits for the last to end.
func (r *retainedLock) stop() {
	close(r.done)
	<-r.stopped
}

// retainForKept keeps env's lock holding holder at Redis, unheld, for the
// next try to save an answer kept unsaved for env, if there is one and the
// Store is not closing, and reports whether it did. s.mu is held.
func (s *Store) retainForKept(env, holder string, ttl time.Duration) bool {
	if s.kept[env] <= 0 || s.closing {
		return false
	}
	if s.retained == nil {
		s.retained = map[string]*retainedLock{}
	}
	s.retained[env] = s.keepAlive(env, holder, ttl)
	return true
}

// keepAlive extends env's lock holding holder every third of ttl, and the
// holder's in-flight mark with it (see keep), until the retainedLock it
// returns is stopped.
func (s *Store) keepAlive(env, holder string, ttl time.Duration) *retainedLock {
	r := &retainedLock{holder: holder, done: make(chan struct{}), stopped: make(chan struct{})}
	mark := s.inFlightTTL()
	go func() {
		defer close(r.stopped)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-r.done:
				return
			case <-tick.C:
				// A failed extension is tried again at the next tick; the
				// lock lasts a whole TTL from the last one that worked.
				ctx, cancel := context.WithTimeout(context.Background(), ttl/3)
				s.script(keep).Run(ctx, s.client, []string{lockKey(env), markKey(env)}, holder, ttl.Milliseconds(), mark.Milliseconds())
				cancel()
			}
		}
	}()
	return r
}

// KeepUnsaved implements store.Flusher. While an answer kept for env is
// unsaved, the renewal lock stays with this Store: an unlock leaves it at
// Redis, still extended, and the next Lock for env here takes it back (see
// Lock). The answer holds the only copy of the refresh token the provider
// rotated, and Redis the one it replaced: another machine taking the lock
// in between, as soon as Redis took writes again after refusing the
// answer (out of memory, read-only), would read that one and send it, and
// a provider that detects reuse would end the grant. Once the last answer
// for env is withdrawn (saved, or given up), an unheld lock is released.
// A lock kept this way cannot outlast the process by more than its TTL,
// nor a Redis out of reach for longer (see docs/fleets.md).
func (s *Store) KeepUnsaved(env string, flush func(context.Context) error) func() {
	withdraw := s.Unsaved.KeepUnsaved(env, flush)
	s.mu.Lock()
	if s.kept == nil {
		s.kept = map[string]int{}
	}
	s.kept[env]++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			withdraw()
			s.mu.Lock()
			s.kept[env]--
			var r *retainedLock
			if s.kept[env] <= 0 {
				delete(s.kept, env)
				r = s.retained[env]
				delete(s.retained, env)
			}
			s.mu.Unlock()
			if r != nil {
				r.stop()
				s.release(env, r.holder)
			}
		})
	}
}

// turn is env's place for one lock holder at a time in this Store.
func (s *Store) turn(env string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.turns == nil {
		s.turns = map[string]chan struct{}{}
	}
	t, ok := s.turns[env]
	if !ok {
		t = make(chan struct{}, 1)
		s.turns[env] = t
	}
	return t
}

func (s *Store) lockTTL() time.Duration {
	if s.LockTTL <= 0 {
		return DefaultLockTTL
	}
	return s.LockTTL
}

func (s *Store) inFlightTTL() time.Duration {
	if s.InFlightTTL <= 0 {
		return DefaultInFlightTTL
	}
	return max(s.InFlightTTL, s.lockTTL())
}

// HoldsLock implements store.LockChecker: it asks Redis whether env's lock
// still holds the value this Store's Lock set and, in the same step, gives
// a lock found held a whole TTL to live, so that the token request sent
// next does not outlast a lock that was about to expire, and sets the
// holder's in-flight mark (see Store.InFlightTTL), which the engine's token
// request, sent next, needs: the mark keeps others from the lock, and the
// answer's save possible, through a Redis paused past the lock's life.
func (s *Store) HoldsLock(ctx context.Context, env string) (bool, error) {
	s.mu.Lock()
	holder, ok := s.holders[env]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	// Ended with ctx, as Lock's tries: nothing is sent yet. A check that
	// lands after the lock's release does nothing.
	held, err := await.Result(ctx, func() (bool, error) {
		return s.script(check).Run(ctx, s.client, []string{lockKey(env), markKey(env)}, holder, s.lockTTL().Milliseconds(), s.inFlightTTL().Milliseconds()).Bool()
	})
	if err != nil {
		return false, s.failed(ctx, "check the renewal lock", err)
	}
	return held, nil
}

// HoldsLockAt reports whether env's renewal lock, which s holds, is the one
// other (another Store) finds at its Redis: then the two are one database,
// reached by two URLs that ID cannot tell apart (localhost and 127.0.0.1,
// a host's name and its address), and taking other's lock too would wait
// for ever on s's. It reads other's lock, writing nothing; false when s
// does not hold the lock, or other cannot be read.
func (s *Store) HoldsLockAt(ctx context.Context, env string, other store.Store) bool {
	o, ok := other.(*Store)
	if !ok || o.client == nil {
		return false
	}
	s.mu.Lock()
	holder, held := s.holders[env]
	s.mu.Unlock()
	if !held {
		return false
	}
	v, err := o.client.Get(ctx, lockKey(env)).Result()
	return err == nil && v == holder
}

// abandon gives up at Redis the calls holder made at env's lock that
// failed unanswered, a try at it or its release (see giveUp): Redis may
// run such a call after any release sent in its place (a paused Redis
// runs, once resumed, what waited on a connection the client closed, and a
// release's connection may be a new one it has not greeted yet), and the
// lock then stood until it expired, every renewer waiting for it.
func (s *Store) abandon(env, holder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.abandoned == nil {
		s.abandoned = map[string][]string{}
	}
	s.abandoned[env] = append(s.abandoned[env], holder)
	if len(s.abandoned[env]) == 1 {
		go s.giveUp(env)
	}
}

// giveUp sets at Redis, for each holder abandoned for env, a mark that
// keeps its tries from taking the lock for the lock's life, and releases
// the lock (and its in-flight mark) if the holder holds it, in one step:
// whichever Redis runs first, a try waiting there takes no lock, or has
// its lock released at once, and a check (HoldsLock) finds none to extend. It
// sends that step again, every markGap, until Redis answers it, or the
// Store is closed.
func (s *Store) giveUp(env string) {
	ttl := s.lockTTL()
	for {
		s.mu.Lock()
		holders := slices.Clone(s.abandoned[env])
		s.mu.Unlock()
		keys := []string{lockKey(env), markKey(env)}
		args := []any{ttl.Milliseconds()}
		for _, h := range holders {
			keys = append(keys, givenUpKey(env, h))
			args = append(args, h)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.script(giveUp).Run(ctx, s.client, keys, args...).Err()
		cancel()
		s.mu.Lock()
		if answered(err) || errors.Is(err, redis.ErrClosed) {
			s.abandoned[env] = s.abandoned[env][len(holders):]
		}
		if len(s.abandoned[env]) == 0 {
			delete(s.abandoned, env)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		time.Sleep(markGap(ttl))
	}
}

// release lets go of env's lock, and clears its in-flight mark, if holder
// still holds them: a renewal that ends without an answer to save (an
// error, none, one given up) leaves no mark to hold others back. A release
// Redis leaves unanswered gives holder up (see abandon): it may not have
// reached Redis (a new connection Redis had not greeted), and a call of
// holder's that Redis runs after it (HoldsLock's, given up unanswered)
// would give the lock a whole life again, and set the in-flight mark.
func (s *Store) release(env, holder string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.script(release).Run(ctx, s.client, []string{lockKey(env), markKey(env)}, holder).Err()
	if !answered(err) && !errors.Is(err, redis.ErrClosed) {
		s.abandon(env, holder)
	}
}

// failed describes err, from doing what at Redis for a caller with ctx, as
// one of the store's errors: a refusal of the credentials or permissions in
// the URL, or a Redis Cluster, wraps store.ErrDenied; Redis down, starting, read-only, out of
// memory or failing over wraps store.ErrUnreachable, as does a dial that
// timed out on its own (a TLS handshake with a Redis that speaks none), a
// connection Redis took and never answered on, and a TLS certificate this
// machine does not trust (see httpx.ExplainCertificate), the last two told
// as such; the caller's context that ended is that.
func (s *Store) failed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("could not %s at %s: %w", what, s.where, ctx.Err())
	}
	if errors.Is(err, redis.ErrClosed) {
		return s.closed(what)
	}
	var answer redis.Error
	var cert *httpx.CertificateError
	if errors.As(httpx.ExplainCertificate(err, "Redis at "+s.where, redisTrust), &cert) {
		return &storeError{store.ErrUnreachable, fmt.Sprintf("could not %s: %v", what, cert)}
	}
	var dial *net.OpError
	if errors.Is(err, os.ErrDeadlineExceeded) && !(errors.As(err, &dial) && dial.Op == "dial") {
		// A read's deadline, on a connection Redis took: "i/o timeout"
		// alone, which read as a network failing to reach it.
		return &storeError{store.ErrUnreachable, fmt.Sprintf("could not %s: Redis at %s took the connection but did not answer within %s, at each try (paused, overloaded, or a network that loses its answers); check that Redis is running and answering, then try again", what, s.where, s.client.Options().ReadTimeout)}
	}
	if !errors.As(err, &answer) {
		check := "check that Redis is running and that its URL is right"
		if strings.HasPrefix(s.where, "rediss:") {
			check = "check that Redis is running, that it serves TLS (rediss://; redis:// is without), and that its URL is right"
		}
		return &storeError{store.ErrUnreachable, fmt.Sprintf("could not %s: the Redis store at %s could not be reached (%v); %s", what, s.where, err, check)}
	}
	code, _, _ := strings.Cut(answer.Error(), " ")
	if code == "ERR" && strings.Contains(answer.Error(), "can't run this command") {
		code = "NOPERM" // a command in a script that the user may not run (Redis 7.0)
	}
	if code == "ERR" && readOnly(answer) {
		code = "READONLY" // a script's write, refused by a replica (Redis 6)
	}
	if code == "ERR" && strings.Contains(answer.Error(), "DB index is out of range") {
		// The SELECT go-redis sends on each new connection: a database
		// past the server's `databases` setting, which no retry brings.
		db := s.client.Options().DB
		return &storeError{store.ErrDenied, fmt.Sprintf("could not %s: Redis at %s has no database %d (it answered %q): its databases are numbered from 0 to one less than its `databases` setting (16 unless set in redis.conf); name one of those in its URL (redis://host:6379/0), or raise `databases`", what, s.where, db, answer.Error())}
	}
	switch code {
	case "CROSSSLOT", "MOVED", "ASK":
		return &storeError{store.ErrDenied, fmt.Sprintf("could not %s: Redis at %s is a Redis Cluster (it answered %q), which cannot keep freshtoken's tokens: a record, its renewal lock and its in-flight mark are keys in different hash slots, which freshtoken reads and writes together in one step; name a standalone Redis (a primary, with replicas if you like) in its URL", what, s.where, answer.Error())}
	case "WRONGPASS", "NOAUTH", "NOPERM":
		return &storeError{store.ErrDenied, fmt.Sprintf("could not %s: Redis at %s refused access (%s); check the user and password in its URL, and the user's permissions (see https://github.com/freshtoken/freshtoken/blob/main/docs/fleets.md)", what, s.where, answer.Error())}
	case "OOM":
		return &storeError{store.ErrUnreachable, fmt.Sprintf("could not %s: Redis at %s is out of memory (%s); free some or raise its maxmemory, then try again", what, s.where, answer.Error())}
	case "LOADING":
		return &storeError{store.ErrUnreachable, fmt.Sprintf("could not %s: Redis at %s is still loading its data from disk, as it does after a start (%s); try again once it has loaded", what, s.where, answer.Error())}
	case "READONLY":
		return &storeError{store.ErrUnreachable, fmt.Sprintf("could not %s: Redis at %s cannot serve it just now: it answered from a replica (%s), which freshtoken writes nothing to; name the primary in its URL, or try again once a failover behind its address is done", what, s.where, answer.Error())}
	case "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "BUSY":
		return &storeError{store.ErrUnreachable, fmt.Sprintf("could not %s: Redis at %s cannot serve it just now (%s); try again shortly", what, s.where, answer.Error())}
	}
	if redis.IsMaxClientsError(err) {
		return &storeError{store.ErrUnreachable, fmt.Sprintf("could not %s: Redis at %s has as many clients connected as it takes (%s); try again shortly, or raise its maxclients", what, s.where, answer.Error())}
	}
	if lower := strings.ToLower(answer.Error()); code == "ERR" && (strings.Contains(lower, "connection refused") || strings.Contains(lower, "connection timed out") || strings.Contains(lower, "connection reset")) {
		// A proxy in front of Redis (twemproxy) whose server it could not
		// reach.
		return &storeError{store.ErrUnreachable, fmt.Sprintf("could not %s: the proxy at %s could not reach Redis behind it (%s); check that Redis is running, then try again", what, s.where, answer.Error())}
	}
	return fmt.Errorf("could not %s: Redis at %s answered %q", what, s.where, answer.Error())
}

// redisTrust is what to do about a Redis whose TLS certificate (rediss://)
// is signed by an authority this machine does not know: go-redis trusts
// the system's authorities, and ca_file is an environment's, for its
// provider and API.
const redisTrust = "add that authority to this machine's trusted certificates (on Linux, SSL_CERT_FILE may name a PEM file holding it and the system's authorities: it takes the place of the system's own file, which providers and APIs need too); ca_file is for providers and APIs, not for Redis"

// storeError is one of the store's sentinel errors, told in full.
type storeError struct {
	kind error
	msg  string
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.kind }
