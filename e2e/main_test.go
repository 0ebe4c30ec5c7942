//go:build unix

// Package e2e runs the freshtoken binary as users do, many processes at a
// time, against the dev provider over loopback HTTP.
package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

var binary string

func TestMain(m *testing.M) {
	if os.Getenv("E2E_COUNT_INTERRUPTS") != "" {
		countInterrupts()
		return
	}
	testenv.UnignoreSignals()
	testenv.PassNoInheritedFiles()
	if binary = os.Getenv("E2E_BINARY"); binary != "" { // a copy a test runs, given the binary built
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "freshtoken-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "freshtoken")
	// With the test clock: a world's binaries go by its testenv.Clock.
	build := exec.Command("go", "build", "-tags", clock.Tag, "-o", binary, "github.com/freshtoken/freshtoken/cmd/freshtoken")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building freshtoken:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// countInterrupts is a command for exec to run, in place of the tests: it
// says "ready", waits for a SIGINT, and after the first counts those that
// follow within half a second, then says how many came in all.
func countInterrupts() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT)
	fmt.Fprintln(os.Stderr, "ready")
	<-sigs
	n, more := 1, time.After(500*time.Millisecond)
	for {
		select {
		case <-sigs:
			n++
		case <-more:
			fmt.Fprintf(os.Stderr, "interrupts: %d\n", n)
			return
		}
	}
}

// world is one user's machine: a config, a token store and a provider.
type world struct {
	t        *testing.T
	dir      string
	config   string
	store    string
	provider *devprovider.Provider
	api      string
	// env is added to every command's environment.
	env []string
	// browser opens the log-in page; nil: http.DefaultClient.
	browser *http.Client
}

// newWorld starts a provider and writes a config for environment "dev";
// extra is appended to the [env.dev] table.
func newWorld(t *testing.T, popts devprovider.Options, extra string) *world {
	t.Helper()
	return newWorldWithStore(t, popts, "", extra)
}

// newClockedWorld is newWorldWithStore on a test clock, which the world's
// provider and binaries go by, so that the test moves time on rather than
// waiting for a token to expire or a rest to end; it returns the clock.
func newClockedWorld(t *testing.T, popts devprovider.Options, storeURL, extra string) (*world, *testenv.Clock) {
	t.Helper()
	c := testenv.NewClock(t)
	popts.Clock = c.Now
	w := newWorldWithStore(t, popts, storeURL, extra)
	w.env = append(w.env, c.Env())
	return w, c
}

// due is how far a test clock moves for a token of lifetime, issued as it
// moves, to fall due: to 30 s before its expiry, within refresh_before
// (60 s) of it, the token still valid.
func due(lifetime time.Duration) time.Duration { return lifetime - 30*time.Second }

// movedUntil moves clock on by step, and again each second (on the
// system's clock), until cond holds: what a move brings (a keeper's next
// look) is planned as what came before it ends (the look before), which a
// test cannot see, and a move made before then is seen only by the next.
func movedUntil(t *testing.T, clock *testenv.Clock, step time.Duration, what string, cond func() bool) {
	t.Helper()
	moved := time.Now()
	clock.Advance(t, step)
	testenv.WaitFor(t, what, func() bool {
		if cond() {
			return true
		}
		if time.Since(moved) > time.Second {
			moved = time.Now()
			clock.Advance(t, step)
		}
		return false
	})
}

// renewals is how many renewals the world's stored record counts, as
// `status --json` tells: a renewal the provider answered is counted once
// stored, its new token's lifetime counted on the binary's clock, which a
// test's clock may then move on.
func (w *world) renewals() int {
	w.t.Helper()
	var st []struct{ Renewals int }
	if err := json.Unmarshal([]byte(w.mustRun("status", "--json").stdout), &st); err != nil || len(st) != 1 {
		w.t.Fatalf("status --json: %v, %d environments", err, len(st))
	}
	return st[0].Renewals
}

// newWorldWithStore is newWorld with its tokens kept at storeURL; "" means
// the world's own folder.
func newWorldWithStore(t *testing.T, popts devprovider.Options, storeURL, extra string) *world {
	t.Helper()
	popts.AutoApprove = true
	popts.RequirePKCE = true
	p := devprovider.New(popts)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(func() { p.Close(); srv.Close() })
	w := &world{t: t, dir: t.TempDir(), provider: p, api: srv.URL + "/"}
	w.config = filepath.Join(w.dir, "config.toml")
	w.store = filepath.Join(w.dir, "tokens")
	if storeURL == "" {
		// Escaped: a subtest's folder may have a # in its name (#01).
		storeURL = (&url.URL{Scheme: "file", Path: w.store}).String()
	}
	conf := fmt.Sprintf(`[store]
url = %q

[env.dev]
provider = "freeagent"
api_url = %q
client_id = "dev-client-id"
client_secret_env = "DEV_SECRET"
redirect_uri = "http://127.0.0.1:%d/callback"
%s
`, storeURL, w.api, testenv.FreePort(t), extra)
	if err := os.WriteFile(w.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	endedWithTests(cmd)
	cmd.Env = append(os.Environ(), "FRESHTOKEN_CONFIG="+w.config, "DEV_SECRET=dev-client-secret", "FRESHTOKEN_ENV=", "FRESHTOKEN_DEBUG=", "NO_COLOR=1")
	if os.Getenv("XDG_STATE_HOME") == "" {
		// The default state folder (the token files' ledger) in the
		// world's, not the user's home.
		cmd.Env = append(cmd.Env, "XDG_STATE_HOME="+filepath.Join(w.dir, "state"))
	}
	cmd.Env = append(cmd.Env, w.env...)
	return cmd
}

type result struct {
	code           int
	stdout, stderr string
}

func (w *world) run(args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := w.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		w.t.Fatal(err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
}

func (w *world) mustRun(args ...string) result {
	w.t.Helper()
	r := w.run(args...)
	if r.code != 0 {
		w.t.Fatalf("freshtoken %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// login runs `freshtoken login --no-browser` and plays the browser: it reads
// the authorisation URL, alone on the first line of stderr, and opens it.
func (w *world) login(extra ...string) result {
	w.t.Helper()
	r := w.tryLogin(extra...)
	if r.code != 0 {
		w.t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	return r
}

// tryLogin is login, which may fail.
func (w *world) tryLogin(extra ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := w.command(ctx, append([]string{"login", "--no-browser"}, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	rd := bufio.NewReader(stderr)
	var rest bytes.Buffer
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			w.t.Fatalf("login printed no URL: %v; stderr so far: %s", err, rest.String())
		}
		if strings.HasPrefix(line, "http") {
			authURL := strings.TrimSpace(line)
			if strings.ContainsAny(authURL, " \t") {
				w.t.Fatalf("the URL line holds more than the URL: %q", line)
			}
			browser := w.browser
			if browser == nil {
				browser = http.DefaultClient
			}
			resp, err := browser.Get(authURL)
			if err != nil {
				w.t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			break
		}
		rest.WriteString(line)
	}
	io.Copy(&rest, rd)
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		w.t.Fatal(err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: rest.String()}
}

// startDaemon starts freshtoken with args, to run until stop, or the end of
// the test, sends it SIGTERM; stop waits for it and returns its exit code.
func (w *world) startDaemon(args ...string) (stop func() int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := w.command(ctx, args...)
	if err := cmd.Start(); err != nil {
		cancel()
		w.t.Fatal(err)
	}
	stop = sync.OnceValue(func() int {
		defer cancel()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		return cmd.ProcessState.ExitCode()
	})
	w.t.Cleanup(func() { stop() })
	return stop
}

// watched is a running freshtoken whose stderr the test reads as it comes.
type watched struct {
	cmd    *exec.Cmd
	stderr *testenv.Output // closed when freshtoken has ended
	stdout string          // the file its stdout goes to
}

// watch starts freshtoken with args and reads its stderr as it comes.
func (w *world) watch(args ...string) *watched {
	w.t.Helper()
	return w.watchAfter("", args...)
}

// watchAfter is watch with freshtoken started by a shell that first runs
// prelude, such as `trap "" HUP` as nohup does; "": started directly.
func (w *world) watchAfter(prelude string, args ...string) *watched {
	w.t.Helper()
	return w.watchWith(func(c *exec.Cmd) {
		if prelude != "" {
			c.Args = append([]string{"sh", "-c", prelude + `; exec "$0" "$@"`}, c.Args...)
			c.Path, c.Err = exec.LookPath("sh")
		}
	}, args...)
}

// watchWith is watch with the command changed by change before it starts.
func (w *world) watchWith(change func(*exec.Cmd), args ...string) *watched {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	w.t.Cleanup(cancel)
	p := &watched{cmd: w.command(ctx, args...), stderr: testenv.NewOutput()}
	change(p.cmd)
	if p.cmd.Stderr == nil { // else change gave it one, and p.stderr only tells of the end
		p.cmd.Stderr = p.stderr
	}
	if p.cmd.Stdout == nil { // else change gave it one
		p.stdout = filepath.Join(w.t.TempDir(), "stdout")
		out, err := os.Create(p.stdout) // a file, which a child left running cannot hold Wait up with
		if err != nil {
			w.t.Fatal(err)
		}
		defer out.Close()
		p.cmd.Stdout = out
	}
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		cancel()
		p.stderr.Close()
	}()
	return p
}

// waitSaid waits until stderr says text.
func (p *watched) waitSaid(t *testing.T, text string) {
	t.Helper()
	p.stderr.WaitFor(t, strconv.Quote(text), regexp.MustCompile(regexp.QuoteMeta(text)))
}

// wait waits for freshtoken to end, and returns its exit code and all of
// its stderr.
func (p *watched) wait() (int, string) {
	<-p.stderr.Closed()
	return p.cmd.ProcessState.ExitCode(), p.stderr.String()
}

// output is what freshtoken, ended, wrote to stdout.
func (p *watched) output(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(p.stdout)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitExit is wait that fails the test unless freshtoken exited with code;
// it returns all of stderr.
func (p *watched) waitExit(t *testing.T, code int) string {
	t.Helper()
	got, stderr := p.wait()
	if got != code {
		t.Fatalf("exit %d, want %d:\n%s", got, code, stderr)
	}
	return stderr
}

// runLogging runs freshtoken with args and a --log-file of its own, and
// returns its result and what it wrote to the log file.
func (w *world) runLogging(args ...string) (result, string) {
	w.t.Helper()
	logFile := filepath.Join(w.t.TempDir(), "debug.log")
	r := w.run(append([]string{"--log-file", logFile}, args...)...)
	logs, err := os.ReadFile(logFile)
	if err != nil {
		w.t.Fatal(err)
	}
	return r, string(logs)
}

// killAfter starts freshtoken with args, sends it SIGKILL after d, and says
// whether that killed it, rather than finding it already ended.
func (w *world) killAfter(d time.Duration, args ...string) bool {
	w.t.Helper()
	cmd := w.command(context.Background(), args...)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	time.Sleep(d)
	if cmd.Process.Signal(syscall.SIGKILL) != nil {
		cmd.Wait()
		return false
	}
	err := cmd.Wait()
	return err != nil && strings.Contains(err.Error(), "killed")
}

// suggested is msg with the freshtoken commands it suggests written as the
// world's runs write them: naming its config, which FRESHTOKEN_CONFIG chose.
func (w *world) suggested(msg string) string {
	return strings.ReplaceAll(msg, "`freshtoken ", "`freshtoken --config "+shellquote.Word(w.config)+" ")
}

// readConfig returns the world's config file.
func (w *world) readConfig() string {
	w.t.Helper()
	b, err := os.ReadFile(w.config)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

// writeConfig replaces the world's config file with conf.
func (w *world) writeConfig(conf string) {
	w.t.Helper()
	if err := os.WriteFile(w.config, []byte(conf), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// useAPI points the world's environment at the API served at root (an
// httptest server's URL and "/"), its tokens still the dev provider's.
func (w *world) useAPI(root string) {
	w.t.Helper()
	w.writeConfig(strings.Replace(w.readConfig(), fmt.Sprintf("api_url = %q", w.api),
		fmt.Sprintf("api_url = %q\ntoken_url = %q", root, w.api+"v2/token_endpoint"), 1))
}

// writeOtherConfig writes conf to a config file named name in the world's
// folder, beside its own, and returns its path.
func (w *world) writeOtherConfig(name, conf string) string {
	w.t.Helper()
	path := filepath.Join(w.dir, name)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

func (w *world) storeFile() string { return filepath.Join(w.store, "dev.json") }

func (w *world) storeBytes() []byte {
	w.t.Helper()
	b, err := os.ReadFile(w.storeFile())
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}
