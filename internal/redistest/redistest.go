// Package redistest starts a real redis-server for tests, listening on
// 127.0.0.1 only and writing nothing to disk: its persistence is set (an
// RDB save point an hour away, as `freshtoken status` asks for one) but
// never reached, and the server is killed, not shut down (which would
// save). StartWithoutPersistence starts one set up to keep nothing, and
// Restart restarts one that way, empty.
package redistest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// Server is a redis-server the test started.
type Server struct {
	// URL is the server's redis:// URL, database 0.
	URL string
	// Addr is its host:port.
	Addr string
	cmd  *exec.Cmd
	args []string // the server's own arguments, beyond where it listens
	dir  string   // where it keeps its data
	// infoName is what the server calls INFO: another name when a test
	// renamed it (StartWithoutInfo), which the test's own looks use.
	infoName string
}

// Start starts a redis-server on a free port of 127.0.0.1; the test's end
// stops it. Without redis-server the test fails under CI (CI=true), which
// installs it, and is skipped elsewhere.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t)
}

// noPersistence are the arguments of a server that keeps nothing on disk:
// no save point, no append-only file.
var noPersistence = []string{"--save", "", "--appendonly", "no"}

// StartWithoutPersistence is Start, of a server set up to keep nothing on
// disk (no save point, appendonly no), which a restart empties.
func StartWithoutPersistence(t testing.TB) *Server {
	t.Helper()
	return start(t, noPersistence...)
}

// hiddenInfo is what StartWithoutInfo renames INFO to.
const hiddenInfo = "INFO-renamed-by-redistest"

// StartWithoutInfo is Start, of a server where INFO is
// renamed (rename-command INFO in redis.conf, as managed Redis services
// do): a client asking for INFO is answered "ERR unknown command", as
// one is where it is disabled (renamed to ""). The test's own looks
// (RunID, Clients) still reach it under its new name.
func StartWithoutInfo(t testing.TB) *Server {
	t.Helper()
	return start(t, "--rename-command", "INFO", hiddenInfo)
}

// StartTLS is Start, of a server that also serves TLS with cert on a port
// of its own, at the rediss:// URL it returns (database 0); clients need
// no certificate of their own. Its plain port, at s.Addr, serves the
// test's own looks.
func StartTLS(t testing.TB, cert tls.Certificate) (s *Server, tlsURL string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key")
	var chain []byte
	for _, der := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, chain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := testenv.PickPort()
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(p)
	s = start(t, "--tls-port", port, "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-auth-clients", "no")
	return s, "rediss://" + net.JoinHostPort("127.0.0.1", port) + "/0"
}

// Restart stops the server at once, as a crash would, and starts a new
// one on the same port, without persistence: it comes back empty, with
// another run_id, as a Redis restarted without persistence does (a dev
// container, `docker restart` without a volume, a failover to an empty
// replica). The ACL users and passwords set with SetUser and
// RequirePassword are gone with it too.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--bind", "127.0.0.1", "--port", port, "--dir", t.TempDir()}, s.args...)
	args = append(args, noPersistence...)
	s.cmd = exec.Command(s.cmd.Path, args...)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !s.ready() {
		t.Fatal("redis-server did not start again on " + s.Addr)
	}
}

// RestartLoading saves the server's data to disk, with filler keys in
// database 15 beside it, stops the server as a crash would, and starts it
// again on the same port from that data, loading it slowly: until
// FinishLoading, or for about a minute, it answers reads LOADING, as a
// Redis does while it loads a large data set after a start.
func (s *Server) RestartLoading(t testing.TB) {
	t.Helper()
	fill := `redis.call("SELECT", 15) for i = 1, 60000 do redis.call("SET", "filler:" .. i, "x") end return 1`
	if reply := s.Command(t, "EVAL", fill, "0"); reply != ":1" {
		t.Fatalf("filling database 15: %s", reply)
	}
	if reply := s.Command(t, "SAVE"); reply != "+OK" {
		t.Fatalf("SAVE: %s", reply)
	}
	s.Stop()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--bind", "127.0.0.1", "--port", port, "--dir", s.dir}, s.args...)
	args = append(args, "--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024")
	s.cmd = exec.Command(s.cmd.Path, args...)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !s.ready() {
		t.Fatal("redis-server did not start again on " + s.Addr)
	}
	if v, _ := s.info("persistence", "loading"); v != "1" {
		t.Fatalf("redis-server started again on %s not loading (loading:%s)", s.Addr, v)
	}
}

// FinishLoading has a server RestartLoading started load the rest of its
// data at once, and waits until it has.
func (s *Server) FinishLoading(t testing.TB) {
	t.Helper()
	if reply := s.Command(t, "CONFIG", "SET", "key-load-delay", "0"); reply != "+OK" {
		t.Fatalf("CONFIG SET key-load-delay: %s", reply)
	}
	testenv.WaitFor(t, "redis-server to load its data", func() bool {
		v, _ := s.info("persistence", "loading")
		return v == "0"
	})
}

// ReplicaOf makes s a replica of primary, through the address via (a
// Link's, or primary's own), and waits until it has synced.
func (s *Server) ReplicaOf(t testing.TB, primary *Server, via string) {
	t.Helper()
	if reply := primary.Command(t, "CONFIG", "SET", "repl-diskless-sync-delay", "0"); reply != "+OK" {
		t.Fatalf("CONFIG SET repl-diskless-sync-delay: %s", reply)
	}
	host, port, _ := net.SplitHostPort(via)
	if reply := s.Command(t, "REPLICAOF", host, port); reply != "+OK" {
		t.Fatalf("REPLICAOF: %s", reply)
	}
	testenv.WaitFor(t, "the replica to sync with its primary", func() bool {
		v, _ := s.info("replication", "master_link_status")
		return v == "up"
	})
}

// Promote makes a replica a primary (REPLICAOF NO ONE), as a failover
// does.
func (s *Server) Promote(t testing.TB) {
	t.Helper()
	if reply := s.Command(t, "REPLICAOF", "NO", "ONE"); reply != "+OK" {
		t.Fatalf("REPLICAOF NO ONE: %s", reply)
	}
}

// BlockedClients is how many clients wait on a blocking command (WAIT
// among them).
func (s *Server) BlockedClients(t testing.TB) int {
	t.Helper()
	return s.count(t, "clients", "blocked_clients")
}

// StartReplicated starts a primary and a replica of it, without
// persistence, their replication link through a Link the test holds or
// cuts, and waits until the replica has synced.
func StartReplicated(t testing.TB) (primary, replica *Server, link *Link) {
	t.Helper()
	primary, replica = StartWithoutPersistence(t), StartWithoutPersistence(t)
	link = NewLink(t, primary)
	replica.ReplicaOf(t, primary, link.Addr)
	return primary, replica, link
}

// RestartWithReplica restarts s, a primary, as Restart does (empty), and
// waits until replica, which followed it, has synced with it again: it
// holds nothing then either.
func (s *Server) RestartWithReplica(t testing.TB, replica *Server) {
	t.Helper()
	s.Restart(t)
	if reply := s.Command(t, "CONFIG", "SET", "repl-diskless-sync-delay", "0"); reply != "+OK" {
		t.Fatalf("CONFIG SET repl-diskless-sync-delay: %s", reply)
	}
	testenv.WaitFor(t, "the replica to sync with the restarted primary", func() bool {
		id, ok := s.info("replication", "master_replid")
		followed, _ := replica.info("replication", "master_replid")
		up, _ := replica.info("replication", "master_link_status")
		return ok && followed == id && up == "up"
	})
}

// RunID is the server's run_id (INFO server), which changes at every
// restart.
func (s *Server) RunID(t testing.TB) string {
	t.Helper()
	v, ok := s.info("server", "run_id")
	if !ok {
		t.Fatal("INFO server: no run_id")
	}
	return v
}

// StartCluster starts a Redis Cluster of nodes servers on free ports of
// 127.0.0.1, each serving the hash slots slotsOf gives it (a node, 0 to
// nodes-1, for each slot), and waits until the cluster serves them all.
// Node 0 is returned first.
func StartCluster(t testing.TB, nodes int, slotsOf func(slot int) int) []*Server {
	t.Helper()
	servers := make([]*Server, nodes)
	buses := make([]string, nodes)
	for i := range servers {
		bus, err := testenv.PickPort() // port+10000, the default, may be past 65535
		if err != nil {
			t.Fatal(err)
		}
		buses[i] = strconv.Itoa(bus)
		servers[i] = start(t, "--cluster-enabled", "yes", "--cluster-port", buses[i], "--cluster-config-file", t.TempDir()+"/nodes.conf")
	}
	owned := make([][]string, nodes)
	for slot := range 16384 {
		n := slotsOf(slot)
		owned[n] = append(owned[n], strconv.Itoa(slot))
	}
	for i, s := range servers {
		if len(owned[i]) > 0 {
			if reply := s.Command(t, append([]string{"CLUSTER", "ADDSLOTS"}, owned[i]...)...); reply != "+OK" {
				t.Fatalf("CLUSTER ADDSLOTS: %s", reply)
			}
		}
		if i > 0 {
			host, port, _ := net.SplitHostPort(s.Addr)
			if reply := servers[0].Command(t, "CLUSTER", "MEET", host, port, buses[i]); reply != "+OK" {
				t.Fatalf("CLUSTER MEET: %s", reply)
			}
		}
	}
	for _, s := range servers {
		testenv.WaitFor(t, "the cluster to serve every slot", func() bool {
			v, _ := s.clusterState()
			return v == "ok"
		})
	}
	return servers
}

// clusterState is the cluster_state CLUSTER INFO gives.
func (s *Server) clusterState() (string, bool) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "CLUSTER INFO\r\n")
	r := bufio.NewReader(c)
	if head, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(head, "$") {
		return "", false
	}
	line, err := r.ReadString('\n')
	v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_state:")
	return v, err == nil && ok
}

func start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(t, "redis-server is not installed (apt-get install redis-server)")
	}
	for range 5 { // a free port may be taken before redis-server binds it
		p, err := testenv.PickPort()
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(p)
		addr := net.JoinHostPort("127.0.0.1", port)
		dir := t.TempDir()
		cmd := exec.Command(bin, append([]string{"--bind", "127.0.0.1", "--port", port, "--save", "3600 1", "--appendonly", "no", "--dir", dir}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s := &Server{URL: "redis://" + addr + "/0", Addr: addr, cmd: cmd, args: args, dir: dir, infoName: "INFO"}
		if i := slices.Index(args, "--rename-command"); i >= 0 && i+2 < len(args) && args[i+1] == "INFO" {
			s.infoName = args[i+2]
		}
		if s.ready() {
			t.Cleanup(s.Stop)
			return s
		}
		s.Stop()
	}
	t.Fatal("redis-server did not start")
	return nil
}

// Stop stops the server at once, as a crash would.
func (s *Server) Stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// ready waits up to 5 seconds for the server to answer, and reports whether
// the one answering is the process s started (not another test's server that
// had the port first).
func (s *Server) ready() bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if pid, ok := s.pid(); ok {
			return pid == strconv.Itoa(s.cmd.Process.Pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// pid asks the server at s.Addr for its process id.
func (s *Server) pid() (string, bool) { return s.info("server", "process_id") }

// info asks the server for field of an INFO section.
func (s *Server) info(section, field string) (string, bool) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "%s %s\r\n", s.infoName, section)
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n') // $<length>, then the text
	if err != nil || !strings.HasPrefix(head, "$") {
		return "", false // still loading, or not Redis
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", false
		}
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
}

// ErrorReplies is how many error replies the server has given since it
// started (total_error_replies, INFO stats): commands it refused, unknown
// ones among them, which no command's own count shows.
func (s *Server) ErrorReplies(t testing.TB) int {
	t.Helper()
	return s.count(t, "stats", "total_error_replies")
}

// Changes is how many writes the server has taken since it last saved to
// disk (rdb_changes_since_last_save, INFO persistence); of a server
// started without persistence, since it started: a command that wrote
// nothing, not even a lock, made none.
func (s *Server) Changes(t testing.TB) int {
	t.Helper()
	return s.count(t, "persistence", "rdb_changes_since_last_save")
}

// Commands is how many commands the server has processed since it
// started (total_commands_processed, INFO stats): each a round trip of a
// client's, a wait on a Redis far away. The INFO asking adds one.
func (s *Server) Commands(t testing.TB) int {
	t.Helper()
	return s.count(t, "stats", "total_commands_processed")
}

// Clients is how many clients are connected to the server, besides the
// connection that asks.
func (s *Server) Clients(t testing.TB) int {
	t.Helper()
	return s.count(t, "clients", "connected_clients") - 1
}

// count is the number INFO section gives as field.
func (s *Server) count(t testing.TB, section, field string) int {
	t.Helper()
	v, ok := s.info(section, field)
	n, err := strconv.Atoi(v)
	if !ok || err != nil {
		t.Fatalf("INFO %s: no %s (%q)", section, field, v)
	}
	return n
}

// Pause stops the server (SIGSTOP) until the test ends, as a machine that
// hangs: connections are still made (the kernel takes them), and nothing
// is answered.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	testenv.Pause(t, s.cmd.Process)
}

// Resume lets the server, stopped by Pause, run again (SIGCONT) before the
// test ends: it then answers what it was sent meanwhile.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	testenv.Resume(t, s.cmd.Process)
}

// Monitor returns each command the server runs from now on until the test
// ends (Redis's MONITOR), one line each, as
// `1733420000.123456 [0 127.0.0.1:54321] "get" "freshtoken:sandbox"`; the
// commands a script runs have "lua" in place of the client's address.
func (s *Server) Monitor(t testing.TB) <-chan string {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "MONITOR\r\n")
	r := bufio.NewReader(c)
	if reply, err := r.ReadString('\n'); err != nil || reply != "+OK\r\n" {
		c.Close()
		t.Fatalf("MONITOR: %q, %v", reply, err)
	}
	lines, done := make(chan string), make(chan struct{})
	t.Cleanup(func() {
		close(done)
		c.Close()
	})
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			select {
			case lines <- strings.TrimSuffix(strings.TrimPrefix(line, "+"), "\r\n"):
			case <-done:
				return
			}
		}
	}()
	return lines
}

// Get returns the value of key, as a client without password; "" when
// the key does not exist.
func (s *Server) Get(t testing.TB, key string) string {
	t.Helper()
	c, r := s.send(t, "GET", key)
	defer c.Close()
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		t.Fatalf("GET %s: %q, %v", key, head, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || n < 0 {
		return ""
	}
	v := make([]byte, n+2)
	if _, err := io.ReadFull(r, v); err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	return string(v[:n])
}

// RequirePassword makes the server refuse clients without password, as a
// server run with requirepass does.
func (s *Server) RequirePassword(t testing.TB, password string) {
	t.Helper()
	if reply := s.Command(t, "CONFIG", "SET", "requirepass", password); reply != "+OK" {
		t.Fatalf("CONFIG SET requirepass: %q", reply)
	}
}

// FleetRules are the keys and commands docs/fleets.md gives freshtoken's
// Redis user (its ACL SETUSER line, less the user's name, "on" and its
// password), which TestFleetRulesAreTheDocs holds to the page.
var FleetRules = []string{"~freshtoken:*", "+@connection", "+get", "+set", "+del", "+eval", "+evalsha", "+pexpire", "+pttl", "+info", "+wait"}

// SetFleetUser sets up the ACL user name, with password, as docs/fleets.md
// says to (FleetRules).
func (s *Server) SetFleetUser(t testing.TB, name, password string) {
	t.Helper()
	s.SetUser(t, name, append([]string{"on", ">" + password}, FleetRules...)...)
}

// SetUser sets the rules of the ACL user name (ACL SETUSER name rules...).
// A refusal fails the test without stopping it, so that it may be called
// from a goroutine the test did not start (a provider's callback).
func (s *Server) SetUser(t testing.TB, name string, rules ...string) {
	t.Helper()
	if reply := s.Command(t, append([]string{"ACL", "SETUSER", name}, rules...)...); reply != "+OK" {
		t.Errorf("ACL SETUSER %s: %s", name, reply)
	}
}

// Command sends one command to the server, as a client without password,
// and returns the first line of its reply.
func (s *Server) Command(t testing.TB, args ...string) string {
	t.Helper()
	c, r := s.send(t, args...)
	defer c.Close()
	reply, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", args[0], err)
	}
	return strings.TrimSuffix(reply, "\r\n")
}

// send sends one command to the server on a connection of its own, as a
// client without password, and returns the connection, to close, and its
// reader, for the reply. The connection gives up after 30 seconds, the
// tests' patience (testenv.WaitFor): a command may be slow to answer on
// a loaded machine (RestartLoading's script of 60,000 writes took over a
// second under the race detector), and no test waits for it to time out.
func (s *Server) send(t testing.TB, args ...string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c, "$%d\r\n%s\r\n", len(a), a)
	}
	return c, bufio.NewReader(c)
}

// A Link is a relay on 127.0.0.1 to a server, for a replica's link to its
// primary (ReplicaOf through its Addr): the test may hold what the primary
// sends, as a replication link that lags, and cut the link, dropping what
// it held, as a primary that dies does.
type Link struct {
	// Addr is the relay's host:port.
	Addr string

	mu    sync.Mutex
	held  bool
	pairs []*linked
}

// linked is one connection through a Link: the replica's, the one made to
// the primary for it, and what the primary sent while the Link was held.
type linked struct {
	replica, primary net.Conn
	queue            []byte
}

// NewLink starts a Link to the server to; the test's end closes it.
func NewLink(t testing.TB, to *Server) *Link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Link{Addr: ln.Addr().String()}
	t.Cleanup(func() {
		ln.Close()
		l.Cut()
	})
	go func() {
		for {
			replica, err := ln.Accept()
			if err != nil {
				return
			}
			primary, err := net.Dial("tcp", to.Addr)
			if err != nil {
				replica.Close()
				continue
			}
			p := &linked{replica: replica, primary: primary}
			l.mu.Lock()
			l.pairs = append(l.pairs, p)
			l.mu.Unlock()
			go io.Copy(primary, replica)
			go l.forward(p)
		}
	}()
	return l
}

// forward sends p's replica what its primary sends, but for what the Link
// holds.
func (l *Link) forward(p *linked) {
	buf := make([]byte, 32*1024)
	for {
		n, err := p.primary.Read(buf)
		if n > 0 {
			l.mu.Lock()
			if l.held {
				p.queue = append(p.queue, buf[:n]...)
			} else {
				p.replica.Write(buf[:n])
			}
			l.mu.Unlock()
		}
		if err != nil {
			p.replica.Close()
			return
		}
	}
}

// Hold keeps what the primary sends from now on from the replica.
func (l *Link) Hold() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held = true
}

// Release sends the replica what Hold kept from it, and what follows.
func (l *Link) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held = false
	for _, p := range l.pairs {
		p.replica.Write(p.queue)
		p.queue = nil
	}
}

// Cut closes the link, dropping what it held.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.pairs {
		p.replica.Close()
		p.primary.Close()
	}
	l.pairs = nil
}

// Relay starts a TCP relay on 127.0.0.1 in front of the server until the
// test ends, and returns its address: each command a client sends through
// it is given to before (its name and arguments) just before it is passed
// on, so that a test may pause the server there (Pause), the command then
// sent and left unanswered, or let it run again (Resume) before the
// command reaches it.
func (s *Server) Relay(t testing.TB, before func(args []string)) string {
	t.Helper()
	return testenv.Serve(t, func(client net.Conn) {
		server := testenv.Pipe(t, client, "tcp", s.Addr)
		if server == nil {
			return
		}
		defer server.Close() // the client went: so does its connection to the server
		r := bufio.NewReader(client)
		for {
			raw, args, err := ReadRESP(r)
			if err != nil {
				return
			}
			before(args)
			if _, err := server.Write(raw); err != nil {
				return
			}
		}
	})
}

// ReadRESP reads one RESP2 or RESP3 value: its bytes, and the strings of
// an array of bulk strings (a command).
func ReadRESP(r *bufio.Reader) ([]byte, []string, error) {
	line, err := r.ReadBytes('\n')
	if err != nil || len(line) < 3 {
		return nil, nil, io.ErrUnexpectedEOF
	}
	raw := slices.Clone(line)
	n, _ := strconv.Atoi(string(line[1 : len(line)-2]))
	switch line[0] {
	case '$', '!', '=': // a length, then as many bytes and CRLF
		if n < 0 {
			return raw, nil, nil
		}
		body := make([]byte, n+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, nil, err
		}
		return append(raw, body...), []string{string(body[:n])}, nil
	case '*', '~', '>', '%', '|': // n values, twice as many for a map
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		var args []string
		for range max(n, 0) {
			v, s, err := ReadRESP(r)
			if err != nil {
				return nil, nil, err
			}
			raw = append(raw, v...)
			args = append(args, s...)
		}
		return raw, args, nil
	}
	return raw, nil, nil // a line: + - : _ , # (
}

// OpenStore opens the Redis store at url (a Server's URL, or one naming
// another database or user of it), closed when the test ends.
func OpenStore(t testing.TB, url string) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
