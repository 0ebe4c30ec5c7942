package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/interop/authserver"
	"github.com/freshtoken/freshtoken/interop/internal/traffic"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// envName is the freshtoken environment every test configures.
const envName = "fosite"

// secretEnv holds the client secret, for freshtoken's client_secret_env; it
// is set in this process, so the library and every child process see it.
const secretEnv = "INTEROP_CLIENT_SECRET"

var (
	// binary is the freshtoken command, built once by TestMain.
	binary string
	// clientSecret is the secret of every client registered with fosite,
	// with characters that HTTP Basic and form encoding must escape.
	clientSecret = rand.Text() + " +/:=%&é"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "freshtoken-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The command is built in freshtoken's own module, with the dependency
	// versions its go.mod pins: the binary users get, whatever versions
	// fosite pulls into this module.
	mod, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/freshtoken/freshtoken").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "finding freshtoken's module:", err)
		return 1
	}
	binary = filepath.Join(dir, "freshtoken")
	build := exec.Command("go", "build", "-o", binary, "./cmd/freshtoken")
	build.Dir = strings.TrimSpace(string(mod))
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building freshtoken:", err)
		return 1
	}
	os.Setenv(secretEnv, clientSecret)
	return m.Run()
}

// provider is what the harness needs of a server: the authorization
// endpoint login prints, the protected API, and what to check and show when
// a test ends.
type provider interface {
	AuthURL() string
	APIURL() string
	Summary() string   // the token endpoint's traffic, for failure messages
	Secrets() []string // every secret it issued or received
	TokenRequests() []traffic.TokenRequest
}

// harness runs freshtoken as its users do, against one provider: a TOML
// config with one environment, a file store in a temporary folder, and
// every stderr of freshtoken kept, to check that no secret was logged.
type harness struct {
	p           provider
	env         string
	redirectURI string
	secrets     []string // secrets the provider does not know: the client secret, a private key
	dir         string
	config      string
	storeDir    string

	mu   sync.Mutex
	logs []string // every stderr of freshtoken, all with --debug
}

// newHarness writes a config whose default and only environment, env, has
// envLines (TOML key = value lines), with a file store in a temporary
// folder. redirectURI is where the provider sends the browser back.
func newHarness(t *testing.T, p provider, env, redirectURI, envLines string, secrets ...string) *harness {
	t.Helper()
	h := &harness{p: p, env: env, redirectURI: redirectURI, secrets: secrets, dir: t.TempDir()}
	h.storeDir = filepath.Join(h.dir, "store")
	h.config = filepath.Join(h.dir, "config.toml")
	config := fmt.Sprintf("default_env = %q\n\n[store]\nurl = %q\n\n[env.%s]\n%s", env, "file://"+h.storeDir, env, envLines)
	if err := os.WriteFile(h.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.checkNoSecretLogged(t) })
	return h
}

// fixture is a fosite server with one client, and a freshtoken
// configuration for it: a generic environment, a file store in a temporary
// folder, and a redirect URI on a free loopback port.
type fixture struct {
	*harness
	srv        *authserver.Server
	client     authserver.Client
	clientAuth string // freshtoken's client_auth: "basic" or "body"
}

// newFixture starts a server whose client authenticates the way clientAuth
// ("basic" or "body") says, and writes freshtoken's config for it.
func newFixture(t *testing.T, clientAuth string) *fixture {
	t.Helper()
	method := map[string]string{"basic": authserver.ClientSecretBasic, "body": authserver.ClientSecretPost}[clientAuth]
	if method == "" {
		t.Fatalf("client_auth %q is not basic or body", clientAuth)
	}
	f := &fixture{clientAuth: clientAuth}
	f.client = authserver.Client{
		ID:          "freshtoken-" + clientAuth,
		Secret:      clientSecret,
		AuthMethod:  method,
		RedirectURI: fmt.Sprintf("http://127.0.0.1:%d/callback", testenv.FreePort(t)),
	}
	f.srv = authserver.New(t, authserver.Options{Clients: []authserver.Client{f.client}})
	f.harness = newHarness(t, f.srv, envName, f.client.RedirectURI, fmt.Sprintf(`provider = "generic"
api_url = %q
auth_url = %q
token_url = %q
client_id = %q
client_secret_env = %q
client_auth = %q
scopes = ["offline_access", "read"]
redirect_uri = %q
`, f.srv.URL+"/", f.srv.AuthURL(), f.srv.TokenURL(), f.client.ID, secretEnv, clientAuth, f.client.RedirectURI), clientSecret)
	return f
}

// checkNoSecretLogged fails the test if any secret the provider saw, or
// the harness knows, appears in freshtoken's debug logs.
func (h *harness) checkNoSecretLogged(t *testing.T) {
	h.mu.Lock()
	logs := strings.Join(h.logs, "\n")
	h.mu.Unlock()
	for _, secret := range append(h.p.Secrets(), h.secrets...) {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret appears in freshtoken's debug logs: %.8s…", secret)
		}
	}
}

func (h *harness) keepLog(stderr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, stderr)
}

// command prepares freshtoken with this fixture's config, debug logging on
// (shown when a test fails), and no FRESHTOKEN_ variables from outside.
func (h *harness) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, append([]string{"--config", h.config, "--debug"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FRESHTOKEN_") && !strings.HasPrefix(kv, "XDG_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "XDG_CONFIG_HOME="+filepath.Join(h.dir, "xdg-config"), "XDG_STATE_HOME="+filepath.Join(h.dir, "xdg-state"))
	return cmd
}

type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("freshtoken %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// start starts freshtoken; wait returns its result.
func (h *harness) start(t *testing.T, args ...string) (wait func() result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := h.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() result {
		defer cancel()
		err := cmd.Wait()
		r := result{args: args, stdout: stdout.String(), stderr: stderr.String(), code: exitCode(t, err)}
		h.keepLog(r.stderr)
		return r
	}
}

// runAtOnce starts n freshtoken processes with args at once, fails the
// test unless each exits 0, and counts how many printed each (trimmed)
// stdout.
func (h *harness) runAtOnce(t *testing.T, n int, args ...string) map[string]int {
	t.Helper()
	waits := make([]func() result, n)
	for i := range waits {
		waits[i] = h.start(t, args...)
	}
	outputs := map[string]int{}
	for _, wait := range waits {
		r := wait()
		if r.code != 0 {
			t.Errorf("%v", r)
		}
		outputs[strings.TrimSpace(r.stdout)]++
	}
	if t.Failed() {
		t.FailNow()
	}
	return outputs
}

// editConfig replaces the first old in the config file with new.
func (h *harness) editConfig(t *testing.T, old, new string) {
	t.Helper()
	config, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(config), old) {
		t.Fatalf("the config has no %q", old)
	}
	if err := os.WriteFile(h.config, []byte(strings.Replace(string(config), old, new, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkAuthorization checks that there was one authorisation request:
// code with PKCE S256, a random state, the client's ID and redirect URI.
func checkAuthorization(t *testing.T, authz []url.Values, clientID, redirectURI string) {
	t.Helper()
	if len(authz) != 1 {
		t.Fatalf("%d authorisation requests, want 1", len(authz))
	}
	q := authz[0]
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || len(q.Get("state")) < 16 {
		t.Errorf("the authorisation request lacks PKCE S256 or a random state: %v", q)
	}
	if q.Get("redirect_uri") != redirectURI || q.Get("response_type") != "code" || q.Get("client_id") != clientID {
		t.Errorf("the authorisation request has client_id %q, redirect_uri %q and response_type %q", q.Get("client_id"), q.Get("redirect_uri"), q.Get("response_type"))
	}
}

// freshtoken runs freshtoken to the end.
func (h *harness) freshtoken(t *testing.T, args ...string) result {
	t.Helper()
	return h.start(t, args...)()
}

// mustRun runs freshtoken, fails the test unless it exits 0, and returns
// its stdout.
func (h *harness) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := h.freshtoken(t, args...)
	if r.code != 0 {
		t.Fatalf("%v\ntoken endpoint traffic:%s", r, h.p.Summary())
	}
	return r.stdout
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// loginResult is what the user saw of a login.
type loginResult struct {
	// page is the callback's answer; pageErr is set instead when the
	// browser got no answer from the callback.
	page    string
	pageErr error
}

// watched is a running freshtoken whose stderr the test reads as it comes.
type watched struct {
	args   []string
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr *testenv.Output // closed when freshtoken has ended
	err    error           // cmd.Wait's, once stderr is closed
}

// watch starts freshtoken and reads its stderr as it comes; the harness
// keeps its stderr when it ends.
func (h *harness) watch(t *testing.T, args ...string) *watched {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	w := &watched{args: args, cmd: h.command(ctx, args...), stderr: testenv.NewOutput()}
	w.cmd.Stdout, w.cmd.Stderr = &w.stdout, w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w.err = w.cmd.Wait()
		cancel()
		h.keepLog(w.stderr.String())
		w.stderr.Close()
	}()
	return w
}

// logs is the stderr so far.
func (w *watched) logs() string { return w.stderr.String() }

// waitFor waits until stderr matches re, and returns the match and its
// submatches; what names it in the failure message.
func (w *watched) waitFor(t *testing.T, what string, re *regexp.Regexp) []string {
	t.Helper()
	return w.stderr.WaitFor(t, what+" (freshtoken "+strings.Join(w.args, " ")+")", re)
}

// wait waits for freshtoken to end and returns its result.
func (w *watched) wait(t *testing.T) result {
	t.Helper()
	<-w.stderr.Closed()
	return result{args: w.args, stdout: w.stdout.String(), stderr: w.logs(), code: exitCode(t, w.err)}
}

// login runs `freshtoken login --no-browser` and plays the user: it reads
// the authorisation URL from stderr, follows the server's redirects until
// they reach the callback, visits the callback, and expects login to exit 0.
func (h *harness) login(t *testing.T) loginResult {
	t.Helper()
	w := h.watch(t, "login", "--no-browser")
	authURL := w.waitFor(t, "the authorisation URL", regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(h.p.AuthURL())+`\?.*$`))[0]
	if strings.ContainsAny(authURL, " \t") {
		t.Fatalf("the authorisation URL is not alone on its line: %q", authURL)
	}
	callback := followToCallback(t, authURL, h.redirectURI)
	if e := callback.Query().Get("error"); e != "" {
		t.Fatalf("the provider refused the authorisation request: %s: %s\nfreshtoken stderr:\n%s", e, callback.Query().Get("error_description"), w.logs())
	}
	var res loginResult
	resp, err := http.Get(callback.String())
	if err == nil {
		var page []byte
		page, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		res.page = string(page)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("the callback answered %s", resp.Status)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL carries the code
	}
	res.pageErr = err
	if r := w.wait(t); r.code != 0 {
		t.Fatalf("login: exit %d; the callback page: %v %s\nstderr:\n%s\ntoken endpoint traffic:%s", r.code, res.pageErr, res.page, r.stderr, h.p.Summary())
	}
	if !strings.Contains(w.logs(), "Logged in to "+h.env) {
		t.Errorf("login did not say it logged in; stderr:\n%s", w.logs())
	}
	if res.pageErr != nil {
		t.Logf("login succeeded, but the browser got no success page: %v", res.pageErr)
	}
	return res
}

// followToCallback plays the browser: it GETs start and follows redirects
// one at a time until the next one points at the callback, which it returns
// without visiting.
func followToCallback(t *testing.T, start, redirectURI string) *url.URL {
	t.Helper()
	browser := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	next := start
	for hop := 0; hop < 10; hop++ {
		resp, err := browser.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("GET %s answered %s, not a redirect:\n%s", next, resp.Status, body)
		}
		if strings.HasPrefix(loc.String(), redirectURI+"?") {
			return loc
		}
		next = loc.String()
	}
	t.Fatalf("no redirect to %s after 10 hops from %s", redirectURI, start)
	return nil
}

// record reads the environment's stored tokens, as freshtoken left them.
func (h *harness) record(t *testing.T) *store.Record {
	t.Helper()
	r, err := filestore.New(h.storeDir).Load(context.Background(), h.env)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// forgotten says whether the store holds no tokens for the environment.
func (h *harness) forgotten(t *testing.T) bool {
	t.Helper()
	_, err := filestore.New(h.storeDir).Load(context.Background(), h.env)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err != nil
}

// callAPI calls the protected API with accessToken and returns the status.
func (h *harness) callAPI(t *testing.T, accessToken string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.p.APIURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, _ := testenv.Do(t, nil, req)
	return resp.StatusCode
}

// waitExpired waits until the provider refuses accessToken: just past its
// expiry.
func (h *harness) waitExpired(t *testing.T, accessToken string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.callAPI(t, accessToken) == http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the access token is still accepted 5s later; it should live 2s or less")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkMe checks an answer of fosite's protected API.
func (f *fixture) checkMe(t *testing.T, body string) {
	t.Helper()
	checkMe(t, body, authserver.Subject, f.client.ID)
}

// checkMe checks that an answer of a protected API is for subject and
// clientID.
func checkMe(t *testing.T, body, subject, clientID string) {
	t.Helper()
	var me struct {
		Subject  string `json:"subject"`
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(body), &me); err != nil {
		t.Fatalf("the API's answer is not JSON (%v): %q", err, body)
	}
	if me.Subject != subject || me.ClientID != clientID {
		t.Errorf("the API answered for subject %q and client %q, want %q and %q", me.Subject, me.ClientID, subject, clientID)
	}
}

// checkClean fails the test if fosite revoked a grant, refused a token
// request, or saw a client authenticate other than as configured.
func (f *fixture) checkClean(t *testing.T) {
	t.Helper()
	f.checkTraffic(t, f.clientAuth, f.srv.GrantsRevoked())
}

// checkTraffic fails the test if the provider saw a refresh token spent
// twice (reuses is how many times), refused a token request, or saw the
// client authenticate other than with clientAuth.
func (h *harness) checkTraffic(t *testing.T, clientAuth string, reuses int) {
	t.Helper()
	if reuses != 0 {
		t.Errorf("the provider saw a refresh token spent twice %d time(s) and ended the grant; token endpoint traffic:%s", reuses, h.p.Summary())
	}
	for _, r := range h.p.TokenRequests() {
		if r.Status != http.StatusOK || r.ClientAuth != clientAuth {
			t.Errorf("a token request failed or used the wrong client authentication (want %s); token endpoint traffic:%s", clientAuth, h.p.Summary())
			break
		}
	}
}

// secretAuths are the client authentication methods with a client secret,
// as freshtoken's client_auth names them.
var secretAuths = []string{"basic", "body"}

// eachClientAuth runs test in parallel with other tests, as a parallel
// subtest for each of auths (freshtoken's client_auth values).
func eachClientAuth(t *testing.T, auths []string, test func(t *testing.T, auth string)) {
	t.Parallel()
	for _, auth := range auths {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			test(t, auth)
		})
	}
}
