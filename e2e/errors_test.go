//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// TestTokenEndpointFaults: each kind of failure gives its exit code and a
// one-line message, leaves the store as it was, and the next run recovers.
func TestTokenEndpointFaults(t *testing.T) {
	tests := []struct {
		fault   devprovider.Fault
		n       int
		code    int
		message string
	}{
		{devprovider.Fault5xx, 4, 5, "kept failing after 4 tries (HTTP 503"},
		{devprovider.FaultHTML, 4, 5, "kept failing after 4 tries"},
		{devprovider.FaultMalformedJSON, 4, 5, "kept failing after 4 tries"},
		{devprovider.FaultHang, 4, 5, "kept failing after 4 tries"},
		{devprovider.FaultInvalidGrant, 1, 3, "run `freshtoken login -e dev`"},
		{devprovider.FaultInvalidClient, 1, 2, "rejected the client"},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			before := w.storeBytes()
			w.provider.Fault(tt.fault, tt.n)
			// A short limit for the hang alone, and for its failing run
			// alone: a code exchange or a refresh that the provider answers
			// late on a loaded machine, cut off by it, would fail the
			// log-in or end the grant the runs after it need.
			conf := w.readConfig()
			if tt.fault == devprovider.FaultHang {
				w.writeConfig(conf + "timeout = \"500ms\"\n") // in [env.dev], the last table
			}
			r := w.run("token", "--force")
			w.writeConfig(conf)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", r.code, tt.code, r.stderr)
			}
			if r.stdout != "" {
				t.Fatalf("stdout %q, want nothing on failure", r.stdout)
			}
			msg := strings.TrimSuffix(r.stderr, "\n")
			if !strings.HasPrefix(msg, "freshtoken: dev: ") || strings.Contains(msg, "\n") || !strings.Contains(msg, w.suggested(tt.message)) {
				t.Fatalf("stderr %q; want one line about dev containing %q", r.stderr, tt.message)
			}
			needsPerson := tt.fault == devprovider.FaultInvalidGrant || tt.fault == devprovider.FaultInvalidClient
			if !needsPerson && !bytes.Equal(stripNotes(t, w.storeBytes()), stripNotes(t, before)) {
				t.Fatal("the failure changed the store")
			}
			if needsPerson { // the tokens are kept, with the problem beside them for status
				kind := map[devprovider.Fault]string{devprovider.FaultInvalidGrant: "grant_ended", devprovider.FaultInvalidClient: "client_rejected"}[tt.fault]
				st := w.mustRun("status", "--json").stdout
				if !strings.Contains(st, `"kind": "`+kind+`"`) {
					t.Fatalf("status --json does not tell of the problem:\n%s", st)
				}
				if tt.fault == devprovider.FaultInvalidClient { // the problem, and what to do about it
					want := w.suggested("; check client_id, the client secret ($DEV_SECRET) and client_auth in the config, then run `freshtoken token --force -e dev`")
					if st := w.mustRun("status").stdout; !strings.Contains(st, "problem:") || !strings.Contains(st, want) {
						t.Fatalf("status does not say what to do about the rejected client (%q):\n%s", want, st)
					}
				}
				if !bytes.Equal(stripNotes(t, w.storeBytes()), stripNotes(t, before)) {
					t.Fatal("the failure changed the stored tokens")
				}
			}
			if tt.fault == devprovider.FaultInvalidGrant {
				return // the grant is gone in real life; nothing to recover
			}
			if tt.code == 5 { // the next run that needs a renewal, as from a script's loop, rests rather than asks
				w.age(2 * time.Minute) // too old for a token that lasts 2h as nearly as the provider's can
				requests := w.provider.Stats().TokenRequests
				if r := w.run("token", "--min-valid", "2h"); r.code != 5 || !strings.Contains(r.stderr, "renewals rest") || w.provider.Stats().TokenRequests != requests {
					t.Fatalf("the next run: exit %d, %d token requests, stderr %q; want 5, none, saying renewals rest", r.code, w.provider.Stats().TokenRequests-requests, r.stderr)
				}
			}
			w.mustRun("token", "--force")
			if st := w.mustRun("status", "--json").stdout; strings.Contains(st, `"problem"`) || strings.Contains(st, `"renewals_rest"`) {
				t.Fatalf("a successful renewal left the problem in status:\n%s", st)
			}
		})
	}
}

// age moves the stored record's issue time and expiry d into the past, as
// if d had passed since it was stored.
func (w *world) age(d time.Duration) {
	w.t.Helper()
	r, err := store.Unmarshal(w.storeBytes(), w.storeFile())
	if err != nil {
		w.t.Fatal(err)
	}
	r.IssuedAt, r.Expiry = r.IssuedAt.Add(-d), r.Expiry.Add(-d)
	b, err := store.Marshal("dev", r)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(w.storeFile(), b, 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// stripNotes is a stored record without what a failure notes beside the
// tokens (the problem that needs a person, the rest after a renewal gave
// up), to compare tokens.
func stripNotes(t *testing.T, record []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(record, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "problem")
	delete(m, "rest")
	out, _ := json.Marshal(m)
	return out
}

func TestExitCodes(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	if r := w.run("token"); r.code != 3 || !strings.Contains(r.stderr, "not logged in (no tokens in "+w.storeFile()+"); run "+w.suggested("`freshtoken login -e dev`")) {
		t.Fatalf("before login: exit %d %q", r.code, r.stderr)
	}
	w.login()
	r := w.run("get", "/v2/contacts/999999")
	if r.code != 4 || !strings.Contains(r.stdout, "errors") || !strings.Contains(r.stderr, "404") {
		t.Fatalf("404: exit %d stdout %q stderr %q; want 4 with the body on stdout", r.code, r.stdout, r.stderr)
	}
	w.provider.RevokeAccessTokens()
	w.provider.Fault(devprovider.FaultInvalidGrant, 1)
	if r := w.run("get", "/v2/company"); r.code != 3 || !strings.Contains(r.stderr, w.suggested("run `freshtoken login -e dev`")) {
		t.Fatalf("401 whose renewal meets invalid_grant: exit %d %q; want 3 naming login", r.code, r.stderr)
	}
	if r := w.run("frobnicate"); r.code != 2 {
		t.Fatalf("unknown command: exit %d", r.code)
	}
	if r := w.run("token", "--bogus"); r.code != 2 {
		t.Fatalf("unknown flag: exit %d", r.code)
	}
	if r := w.run("-e", "nope", "token"); r.code != 2 || !strings.Contains(r.stderr, `environment "nope" is not configured`) {
		t.Fatalf("unknown env: exit %d %q", r.code, r.stderr)
	}
	w.writeConfig("[env.dev]\nprovider = \"freeagent\"\n")
	if r := w.run("token"); r.code != 2 || !strings.Contains(r.stderr, "config.toml:1: env.dev.client_id: missing") {
		t.Fatalf("bad config: exit %d %q", r.code, r.stderr)
	}
}

// TestSharedStoreUnreachable: with the tokens in Redis and Redis down, a
// command exits 5 with one line that names Redis and its address, and
// never shows the password in the store's URL.
func TestSharedStoreUnreachable(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	url := "redis://:hunter2@" + srv.Addr + "/0"
	w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, url, "")
	w.login()
	w.mustRun("token")
	srv.Stop()
	for _, args := range [][]string{{"token"}, {"get", "/v2/company"}} {
		r := w.run(args...)
		msg := strings.TrimSuffix(r.stderr, "\n")
		if r.code != 5 || strings.Contains(msg, "\n") || !strings.Contains(msg, "Redis") || !strings.Contains(msg, srv.Addr) {
			t.Errorf("%v with Redis down: exit %d, stderr %q; want 5 and one line naming Redis at %s", args, r.code, r.stderr, srv.Addr)
		}
		if strings.Contains(r.stderr, "hunter2") {
			t.Errorf("%v shows the Redis password: %q", args, r.stderr)
		}
	}
	r := w.run("status")
	if r.code != 5 || !strings.Contains(r.stdout, "problem:") || !strings.Contains(r.stdout, "Redis store at redis://"+srv.Addr) {
		t.Errorf("status with Redis down: exit %d, stdout %q; want 5 and the problem", r.code, r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "hunter2") {
		t.Errorf("status shows the Redis password: %q %q", r.stdout, r.stderr)
	}
}

// TestRedisPasswordChangedDuringARenewal: the Redis user's password is
// changed (ACL SETUSER) and its connections killed (CLIENT KILL) while the
// provider answers a renewal. The answer, which rotated the refresh token,
// is kept and waited for; once the password is put back it is stored, the
// command exits 2 saying Redis refused access and that nothing is lost,
// and no message shows the password. The refusal said Redis "could not
// read the tokens", of a save (the read of the record it compares).
func TestRedisPasswordChangedDuringARenewal(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	srv.SetFleetUser(t, "freshtoken", "fleet-secret-9")
	w := newWorldAtFirstRenewal(t, "redis://freshtoken:fleet-secret-9@"+srv.Addr+"/0", func() {
		srv.SetUser(t, "freshtoken", "resetpass", ">another-secret-7")
		srv.Command(t, "CLIENT", "KILL", "USER", "freshtoken")
	})
	w.login()
	stored := storedRefreshToken(t, srv)
	before := stored()
	run := w.watch("token", "--force")
	run.waitSaid(t, "waiting for the store to take the new tokens")
	srv.SetUser(t, "freshtoken", "resetpass", ">fleet-secret-9")
	code, stderr := run.wait()
	if code != 2 || !strings.Contains(stderr, "store refused (could not save the tokens: Redis at redis://"+srv.Addr+"/0 refused access (WRONGPASS") || !strings.Contains(stderr, "nothing is lost") || strings.Contains(stderr, "secret-") {
		t.Fatalf("exit %d; want 2, having said it waits for Redis and, once stored, that nothing is lost, without a password\n%s", code, stderr)
	}
	if stored() == before {
		t.Fatal("the rotated refresh token was not stored")
	}
	grantAlive(t, w)
}

// TestSharedStoreCertificateNotTrusted: a Redis over TLS (rediss://) whose
// certificate this machine does not trust: a command exits 5 with one line
// saying so and what to do, without the password in the store's URL; it
// said to check that Redis was running and served TLS.
func TestSharedStoreCertificateNotTrusted(t *testing.T) {
	_, tlsURL := redistest.StartTLS(t, corpnet.NewCA(t).Certificate(t, "127.0.0.1", time.Now().Add(-time.Hour), time.Now().Add(time.Hour)))
	w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, strings.Replace(tlsURL, "rediss://", "rediss://:hunter2@", 1), "")
	r := w.run("token")
	msg := strings.TrimSuffix(r.stderr, "\n")
	if want := "the certificate of Redis at " + tlsURL + " is signed by an unknown authority; add that authority to this machine's trusted certificates"; r.code != 5 || strings.Contains(msg, "\n") || !strings.Contains(msg, want) || strings.Contains(msg, "hunter2") {
		t.Errorf("token with Redis's certificate not trusted: exit %d, stderr %q; want 5 and one line saying %q, without the password", r.code, r.stderr, want)
	}
}

// TestSharedStoreDenied: Redis refusing the password in [store] url is a
// configuration error (exit 2) that says what to check.
func TestSharedStoreDenied(t *testing.T) {
	srv := redistest.Start(t)
	srv.RequirePassword(t, "right-password")
	w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, "redis://:wrong-password-7@"+srv.Addr+"/0", "")
	if r := w.run("token"); r.code != 2 || !strings.Contains(r.stderr, "check the user and password in its URL, and the user's permissions") || strings.Contains(r.stderr, "wrong-password-7") {
		t.Errorf("token with a wrong Redis password: exit %d, stderr %q; want 2 saying what to check", r.code, r.stderr)
	}
	if r := w.run("status"); r.code != 2 || !strings.Contains(r.stdout, "refused access") {
		t.Errorf("status with a wrong Redis password: exit %d, stdout %q; want 2 and the problem", r.code, r.stdout)
	}
}

// newWorldAtFirstRenewal is a world whose tokens are kept at storeURL,
// whose provider calls atRenewal as it answers the first renewal, before
// the answer can be stored.
func newWorldAtFirstRenewal(t *testing.T, storeURL string, atRenewal func()) *world {
	var once sync.Once
	return newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: func(grant string) {
		if grant == "refresh_token" {
			once.Do(atRenewal)
		}
	}}, storeURL, "")
}

// storedRefreshToken reads the refresh token stored for dev in srv, as an
// administrator of the Redis does (its own user, not freshtoken's).
func storedRefreshToken(t *testing.T, srv *redistest.Server) func() string {
	admin, err := redisstore.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return func() string {
		rec, err := admin.Load(context.Background(), "dev")
		if err != nil {
			t.Fatal(err)
		}
		return rec.RefreshToken
	}
}

// TestRedisRefusingTheAnswerIsWaitedFor: Redis refuses the answer to a
// renewal, which rotated the refresh token (the user may take the lock and
// read the record, not write it: a real ACL). `token --force` does not
// exit while the answer is kept to be saved: it says that it waits for the
// store, and how to abandon the new tokens; once Redis takes writes again,
// the answer is stored and it exits 2 (Redis refused access: the user's
// permissions) saying that nothing is lost. The grant lives on.
func TestRedisRefusingTheAnswerIsWaitedFor(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	srv.SetFleetUser(t, "freshtoken", "pw")
	w := newWorldAtFirstRenewal(t, "redis://freshtoken:pw@"+srv.Addr+"/0", func() {
		srv.SetUser(t, "freshtoken", "resetkeys", "%R~freshtoken:*", "~freshtoken:*:lock", "~freshtoken:*:renewing")
	})
	w.login()
	stored := storedRefreshToken(t, srv)
	before := stored()
	run := w.watch("token", "--force")
	run.waitSaid(t, "waiting for the store to take the new tokens")
	if stored() != before {
		t.Fatal("Redis changed while it refused writes")
	}
	srv.SetUser(t, "freshtoken", "~freshtoken:*")
	code, stderr := run.wait()
	if code != 2 || !strings.Contains(stderr, "NOPERM") || !strings.Contains(stderr, "nothing is lost") || !strings.Contains(stderr, "Ctrl-C twice abandons them, and the refresh token with them") {
		t.Fatalf("exit %d; want 2, having said it waits for Redis and, once stored, that nothing is lost\n%s", code, stderr)
	}
	if stored() == before {
		t.Fatal("the rotated refresh token was not stored")
	}
	grantAlive(t, w)
}

// TestSecondCtrlCWhileRedisIsDownAbandonsTheAnswerInHand: Redis stops
// between the provider's answer to a renewal, which rotated the refresh
// token, and its save. Ctrl-C during the save's tries says that the process
// waits for the store to take the new tokens, and Ctrl-C again ends it at
// once, saying that the refresh token is lost and which log-in to run: the
// answer was in hand, not "if the provider had already issued new tokens".
func TestSecondCtrlCWhileRedisIsDownAbandonsTheAnswerInHand(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	w := newWorldAtFirstRenewal(t, srv.URL, srv.Stop)
	w.login()
	run := w.watch("token", "--force")
	run.waitSaid(t, "the token store cannot be reached")
	run.cmd.Process.Signal(syscall.SIGINT)
	run.waitSaid(t, "waiting for the store to take the new tokens")
	run.cmd.Process.Signal(syscall.SIGINT)
	if stderr := abandonedLosingTheRefreshToken(t, w, run); strings.Contains(stderr, "waiting up to") {
		t.Errorf("stderr %q; the first Ctrl-C, once the store refused the answer, was told the renewal was still to be answered", stderr)
	}
	if st := w.provider.Stats(); st.Refreshes != 1 {
		t.Fatalf("provider saw %+v; want the one refresh", st)
	}
}

// TestCtrlCWhileTheStoreTakesTheAnswer: Ctrl-C once the provider has
// answered a renewal and while Redis (paused, its answers awaited for up to
// a minute) has yet to take or refuse the new tokens: it said "waiting up
// to 30s for the renewal already sent … to be stored", as if the answer
// were still to come. It says freshtoken is storing the new tokens, and
// what a second Ctrl-C costs; once Redis takes them, it exits 130 with the
// rotated refresh token stored.
func TestCtrlCWhileTheStoreTakesTheAnswer(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	w := newWorldAtFirstRenewal(t, srv.URL+"?read_timeout=60s&write_timeout=60s", func() { srv.Pause(t) })
	w.login()
	before := srv.Get(t, "freshtoken:dev")
	run := w.watch("token", "--force")
	run.waitSaid(t, "waiting for the token store to take the new tokens")
	run.cmd.Process.Signal(syscall.SIGINT)
	run.waitSaid(t, "freshtoken: storing the new tokens from ")
	srv.Resume(t)
	code, stderr := run.wait()
	if code != 130 || strings.Contains(stderr, "waiting up to") || !strings.Contains(stderr, "Ctrl-C again abandons them, and the refresh token with them") {
		t.Fatalf("exit %d, stderr %q; want 130, the wait said to be the store's, for tokens in hand", code, stderr)
	}
	if srv.Get(t, "freshtoken:dev") == before {
		t.Fatal("the renewal's answer was not stored")
	}
	grantAlive(t, w) // spends the stored refresh token: the rotated one, or the grant ends
}

// TestRenewalOutlivesARedisOutage: Redis becomes unreachable while the
// provider is answering a renewal, and comes back a little later. The
// renewal keeps the new tokens, saves them once Redis is back and succeeds;
// the rotated refresh token is not lost, and no machine spends the old one.
func TestRenewalOutlivesARedisOutage(t *testing.T) {
	t.Parallel()
	link := startRedisLink(t, redistest.Start(t).Addr)
	w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour, OnTokenRequest: func(grant string) {
		if grant == "refresh_token" {
			link.cut(12) // the save that follows meets Redis down, for longer than go-redis retries
		}
	}}, "redis://"+link.addr+"/0", "")
	w.login()
	old := w.mustRun("token").stdout
	r := w.run("token", "--force")
	if r.code != 0 || r.stdout == old || !strings.Contains(r.stderr, "the token store cannot be reached") {
		t.Fatalf("renewal across an outage: exit %d, stdout %q, stderr %q; want a new token, saved once Redis came back", r.code, r.stdout, r.stderr)
	}
	if again := w.mustRun("token").stdout; again != r.stdout {
		t.Fatalf("the next run got %q, want the saved %q", again, r.stdout)
	}
	if st := w.provider.Stats(); st.Refreshes != 1 || st.ReuseDetected != 0 || st.GrantsRevoked != 0 {
		t.Fatalf("provider saw %+v; want one refresh and the grant alive", st)
	}
}

// redisLink carries connections to Redis, and can be cut.
type redisLink struct {
	addr, to string
	mu       sync.Mutex
	conns    []net.Conn
	refuse   int // connections still to refuse
}

func startRedisLink(t *testing.T, to string) *redisLink {
	t.Helper()
	l := &redisLink{to: to}
	l.addr = testenv.Serve(t, func(c net.Conn) {
		l.mu.Lock()
		refused := l.refuse > 0
		if refused {
			l.refuse--
		}
		l.mu.Unlock()
		if refused {
			c.Close()
			return
		}
		s, err := net.Dial("tcp", to)
		if err != nil {
			c.Close()
			return
		}
		l.mu.Lock()
		l.conns = append(l.conns, c, s)
		l.mu.Unlock()
		go func() { io.Copy(s, c); s.Close() }()
		io.Copy(c, s)
		c.Close()
	})
	return l
}

// cut closes every connection the link carries, and refuses the next n.
func (l *redisLink) cut(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns, l.refuse = nil, n
}

func TestLooseStoreModeRefused(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	os.Chmod(w.storeFile(), 0o644)
	r := w.run("token")
	if r.code != 2 || !strings.Contains(r.stderr, "chmod 600 "+w.storeFile()) {
		t.Fatalf("exit %d %q; want a refusal saying chmod 600, exit 2", r.code, r.stderr)
	}
}

func TestCorruptStoreReportedAndKept(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	garbage := []byte(`{"version":1,"access_tok`)
	os.WriteFile(w.storeFile(), garbage, 0o600)
	r := w.run("token", "--force")
	if r.code != 3 || !strings.Contains(r.stderr, w.storeFile()) || strings.Count(r.stderr, w.suggested("`freshtoken login")) != 1 {
		t.Fatalf("exit %d %q; want an error naming the file and saying to log in once, exit 3 (not 1, a bug)", r.code, r.stderr)
	}
	if !bytes.Equal(w.storeBytes(), garbage) {
		t.Fatal("the corrupt file was overwritten by something other than a login")
	}
	w.login()
	w.mustRun("token")
}

// TestMaskedStoreRecordReportedAndKept: a record whose tokens are masked,
// as a store.Record prints them (a person pasted it from what a program of
// theirs logged), is told as such, exit 3, kept, and nothing is sent: it was
// read as tokens, so that `token` blamed the provider for an access token
// no header can carry (exit 5), and `token --force` sent the masked refresh
// token and said the provider had ended the grant.
func TestMaskedStoreRecordReportedAndKept(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	rec, err := store.Unmarshal(w.storeBytes(), w.storeFile())
	if err != nil {
		t.Fatal(err)
	}
	rec.AccessToken, rec.RefreshToken = redact.Mask(rec.AccessToken), redact.Mask(rec.RefreshToken)
	masked, err := store.Marshal("dev", rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.storeFile(), masked, 0o600); err != nil {
		t.Fatal(err)
	}
	before := w.provider.Stats()
	for _, args := range [][]string{{"token"}, {"token", "--force"}} {
		r := w.run(args...)
		if r.code != 3 || !strings.Contains(r.stderr, w.storeFile()+" holds its tokens masked") || strings.Count(r.stderr, w.suggested("`freshtoken login")) != 1 {
			t.Errorf("%v: exit %d %q; want the file named as holding its tokens masked and a log-in suggested once, exit 3", args, r.code, r.stderr)
		}
	}
	if after := w.provider.Stats(); after.TokenRequests != before.TokenRequests || after.APIRequests != before.APIRequests {
		t.Errorf("masked tokens were sent: %+v, then %+v", before, after)
	}
	if !bytes.Equal(w.storeBytes(), masked) {
		t.Fatal("the masked record was overwritten by something other than a login")
	}
	w.login()
	w.mustRun("token")
}

// TestDebugLogsNeverContainSecrets runs every path that handles a secret
// with --debug, in both formats, and looks for every secret the provider
// ever issued or received in what was logged.
func TestDebugLogsNeverContainSecrets(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			// Shorter than twice refresh_before, for the half-lifetime rule to
			// be logged, and too long to fall due on a loaded machine: the
			// 401 path needs the token still valid when the API revokes it.
			w := newWorld(t, devprovider.Options{AccessTTL: 90 * time.Second}, "")
			flags := []string{"--debug", "--log-format", format}
			var stderr strings.Builder
			stderr.WriteString(w.login(flags...).stderr)
			for _, args := range [][]string{
				{"token", "--force"}, {"token", "--json"}, {"get", "/v2/company"}, {"status"}, {"status", "--json"},
			} {
				stderr.WriteString(w.mustRun(append(flags, args...)...).stderr)
			}
			w.provider.RevokeAccessTokens() // the 401 → renew → retry path
			stderr.WriteString(w.mustRun(append(flags, "get", "/v2/users/me")...).stderr)
			w.provider.Fault(devprovider.FaultInvalidGrant, 1)
			stderr.WriteString(w.run(append(flags, "token", "--force")...).stderr)
			r, logged := w.runLogging(append(flags, "token", "--force")...)
			if r.code != 0 {
				t.Fatalf("token --force with a log file: exit %d: %s", r.code, r.stderr)
			}
			all := stderr.String() + logged
			for _, want := range []string{"expiry check", "half the lifetime, as it is shorter than twice refresh_before", "refresh request", "tokens saved", "api request", "code exchange", "401 from the API"} {
				if !strings.Contains(all, want) {
					t.Fatalf("the debug log lacks %q; is it logging at all?\n%s", want, all)
				}
			}
			secrets := w.provider.Secrets()
			if len(secrets) < 8 {
				t.Fatalf("only %d secrets issued; the test would prove little", len(secrets))
			}
			for _, s := range append(secrets, "dev-client-secret") {
				if strings.Contains(all, s) {
					t.Fatalf("a secret (%.8s…) appears in the %s logs", s, format)
				}
			}
		})
	}
}

// TestInterruptedWhileWaiting: Ctrl-C during a wait between retries exits
// 130 at once, with the store unchanged.
func TestInterruptedWhileWaiting(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	before := w.storeBytes()
	w.provider.Fault(devprovider.Fault5xx, 4)
	cmd := w.command(context.Background(), "token", "--force")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the first try to fail", func() bool { return w.provider.Stats().TokenRequests >= 2 }) // it is backing off now
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "renewal abandoned") {
		t.Fatalf("exit %d, stderr %q; want 130 saying the renewal was abandoned", code, stderr.String())
	}
	if !bytes.Equal(w.storeBytes(), before) {
		t.Fatal("the interrupted renewal changed the store")
	}
}

// TestWrongClientSecretIsAConfigurationError: the provider answering a
// renewal with FreeAgent's "401 HTTP Basic: Access denied." (Rails labels
// it text/html) is the client rejected: exit 2, one token request, the
// tokens kept. It was taken for a gateway's web page: four requests, exit 5.
func TestWrongClientSecretIsAConfigurationError(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	before := w.provider.Stats().TokenRequests
	w.writeConfig(strings.Replace(w.readConfig(), `client_secret_env = "DEV_SECRET"`, `client_secret = "wrong-secret"`, 1))
	r := w.run("token", "--force")
	if r.code != 2 || !strings.Contains(r.stderr, "Access denied") {
		t.Fatalf("token --force with a wrong client secret: exit %d, stderr %q; want 2 quoting the provider", r.code, r.stderr)
	}
	if n := w.provider.Stats().TokenRequests - before; n != 1 {
		t.Fatalf("%d token requests; want 1, never retried", n)
	}
}

// TestStatusTellsOfTheRest: after a renewal gave up on a failing token
// endpoint, every run rests (exit 5, no token request) until the rest
// ends; status, text and JSON, says so and until when, instead of showing
// all well while each call fails.
func TestStatusTellsOfTheRest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	w.provider.Fault(devprovider.Fault5xx, 4)
	if r := w.run("token", "--force"); r.code != 5 {
		t.Fatalf("token --force against a failing token endpoint: exit %d, %q; want 5", r.code, r.stderr)
	}
	if st := w.mustRun("status").stdout; !strings.Contains(st, "renewals:") || !strings.Contains(st, "resting") || !strings.Contains(st, "kept failing") {
		t.Fatalf("status does not tell of the rest:\n%s", st)
	}
	if st := w.mustRun("status", "--json").stdout; !strings.Contains(st, `"renewals_rest"`) || !strings.Contains(st, `"until"`) {
		t.Fatalf("status --json does not tell of the rest:\n%s", st)
	}
	// A rest written by a machine whose clock is a day ahead is not told
	// of by status, nor followed by renewals.
	rec, err := store.Unmarshal(w.storeBytes(), w.storeFile())
	if err != nil {
		t.Fatal(err)
	}
	rec.Rest.Until = time.Now().Add(25 * time.Hour)
	data, err := store.Marshal("dev", rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.storeFile(), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if st := w.mustRun("status").stdout; strings.Contains(st, "resting") {
		t.Fatalf("status tells of a rest that renewals do not follow, written by a clock a day ahead:\n%s", st)
	}
	// A renewal due (the token is 59 minutes old) goes ahead.
	w.age(59 * time.Minute)
	refreshes := w.provider.Stats().Refreshes
	if r := w.run("token"); r.code != 0 || w.provider.Stats().Refreshes != refreshes+1 {
		t.Fatalf("a due renewal under a rest a day ahead: exit %d, %d refreshes, stderr %q; want it renewed", r.code, w.provider.Stats().Refreshes-refreshes, r.stderr)
	}
}

// TestDebugLogsNeverShowAKeyInAnEndpointURL: a key in the query of an
// endpoint's URL (an API gateway's `token_url = "…?subscription-key=…"`)
// is masked in every --debug line of a fresh process, in both formats:
// the first line, naming the configuration, showed token_url whole, key
// and all, as it came before the key was registered as a secret.
func TestDebugLogsNeverShowAKeyInAnEndpointURL(t *testing.T) {
	const key = "GATEWAYKEY-0123456789abcdef"
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.writeConfig(strings.Replace(w.readConfig(), "[env.dev]\n", fmt.Sprintf("[env.dev]\ntoken_url = %q\n", w.api+"v2/token_endpoint?subscription-key="+key), 1))
			flags := []string{"--debug", "--log-format", format}
			all := w.login(flags...).stderr
			r, logged := w.runLogging(append(flags, "token", "--force")...)
			if r.code != 0 {
				t.Fatalf("token --force: exit %d: %s", r.code, r.stderr)
			}
			all += r.stderr + logged
			if !strings.Contains(all, "token_endpoint?subscription-key=") {
				t.Fatalf("no line names the token endpoint; is it logging at all?\n%s", all)
			}
			if strings.Contains(all, key[4:]) {
				t.Fatalf("the key in token_url's query shows in the %s logs:\n%s", format, all)
			}
		})
	}
}
