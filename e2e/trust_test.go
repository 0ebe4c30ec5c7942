//go:build unix

package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestFullDiskKeepsTheGrant: the disk fills up between the log-in and a
// renewal. The rotated refresh token is still stored (from the store's
// reserve), the user is told the disk is full, and the grant goes on.
func TestFullDiskKeepsTheGrant(t *testing.T) {
	dir := testdisk.Small(t, "256k")
	w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, "file://"+dir, "")
	w.store = dir
	w.login()
	before := refreshToken(t, w)
	free := testdisk.Fill(t, dir)
	r := w.run("token", "--force")
	if r.code != 0 || !strings.Contains(r.stderr, "disk is full") || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the token, and a warning that the disk is full", r.code, r.stdout, r.stderr)
	}
	if refreshToken(t, w) == before {
		t.Fatal("the rotated refresh token was not stored")
	}
	free()
	w.mustRun("token", "--force")
	if s := w.provider.Stats(); s.ReuseDetected != 0 || s.GrantsRevoked != 0 || s.Refreshes != 2 {
		t.Fatalf("provider stats %+v; want two refreshes and no reuse", s)
	}
}

// TestFullDiskWithTheReserveSpent: the disk is full and its reserve spent
// when a renewal (run A) rotates the refresh token, and the next run (B, as
// from cron) renews too. A stores the rotated tokens over the record in
// place and warns that the disk is full; B finds them, and the provider,
// which ends the whole grant when a rotated-out refresh token comes back,
// keeps it. The store refused A's answer: B sent the spent refresh token,
// the grant ended, and the user had to log in again.
func TestFullDiskWithTheReserveSpent(t *testing.T) {
	dir := testdisk.Small(t, "256k")
	w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, "file://"+dir, "")
	w.store = dir
	w.login()
	testdisk.Fill(t, dir)
	w.mustRun("token", "--force") // stored from the reserve, which is spent
	testdisk.Fill(t, dir)
	before := refreshToken(t, w)
	a := w.watch("token", "--force")
	a.stderr.WaitFor(t, "a full disk's warning or a wait for the store", regexp.MustCompile("disk is full|waiting for the store"))
	b := w.run("token", "--force")
	if s := w.provider.Stats(); s.ReuseDetected != 0 || s.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; run B sent the refresh token run A spent, and the grant ended\nA: %s\nB: %s", s, a.stderr.String(), b.stderr)
	}
	if b.code != 0 || !strings.Contains(b.stderr, "disk is full") || strings.TrimSpace(b.stdout) == "" {
		t.Fatalf("run B: exit %d, stdout %q, stderr %q; want the token, and a warning that the disk is full", b.code, b.stdout, b.stderr)
	}
	if stderr := a.waitExit(t, 0); !strings.Contains(stderr, "disk is full") || !strings.Contains(stderr, "in place") {
		t.Fatalf("run A: stderr %q; want a warning that the disk is full, the tokens saved in place", stderr)
	}
	if refreshToken(t, w) == before {
		t.Fatal("run B's rotated refresh token was not stored")
	}
	w.mustRun("get", "/v2/company")
	if s := w.provider.Stats(); s.Refreshes != 3 || s.ReuseDetected != 0 || s.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want three refreshes and no reuse", s)
	}
}

// TestTokenFolderDeletedDuringARenewal: the token folder is deleted (a
// clean-up of ~/.local/state, by hand or by a script) while the provider
// answers a renewal. The answer is stored in a folder made again, the
// command prints the new token, and the next renewal spends it: nothing is
// lost. The warning said that Redis had been emptied or restarted, to a
// user whose tokens are in files.
func TestTokenFolderDeletedDuringARenewal(t *testing.T) {
	w, g := strictWorld(t)
	before := refreshToken(t, w)
	run := w.watch("token", "--force")
	g.wait(t)
	if err := os.RemoveAll(w.store); err != nil {
		t.Fatal(err)
	}
	answerStoredAgain(t, w, g, run, "token folder was deleted")
	grantKept(t, w, before)
}

// answerStoredAgain lets the provider's answer to run, a renewal whose
// tokens were deleted by something that takes no renewal lock (what), go,
// and checks that the command stored it again and printed it, exit 0,
// saying that nothing is lost and no word of Redis.
func answerStoredAgain(t *testing.T, w *world, g *gate, run *watched, what string) {
	t.Helper()
	close(g.release)
	stderr := run.waitExit(t, 0)
	if strings.Contains(stderr, "Redis") || !strings.Contains(stderr, "nothing is lost") {
		t.Errorf("a renewal whose %s said:\n%s\nwant that nothing is lost, and no word of Redis", what, stderr)
	}
	if printed, stored := strings.TrimSpace(run.output(t)), strings.TrimSpace(w.mustRun("token").stdout); printed == "" || printed != stored {
		t.Errorf("printed %q, stored %q; want the renewal's token, stored", printed, stored)
	}
}

// TestReadOnlyDiskKeepsTheAnswer: the disk turns read-only while a renewal
// is under way, so the store refuses its answer. freshtoken keeps the
// rotated tokens, says it waits for the store, stores them once the disk is
// writable again, and exits 5 (the store kept failing) rather than 1 (a
// bug): nothing is lost.
func TestReadOnlyDiskKeepsTheAnswer(t *testing.T) {
	t.Parallel()
	w, g := diskWorld(t)
	before := refreshToken(t, w)
	run := w.watch("token", "--force")
	g.wait(t)
	writable := testdisk.ReadOnly(t, w.store)
	close(g.release)
	run.waitSaid(t, "waiting for the store to take the new tokens")
	writable()
	if code, stderr := run.wait(); code != 5 || !strings.Contains(stderr, "nothing is lost") || !strings.Contains(stderr, "read-only file system") {
		t.Fatalf("exit %d; want 5, saying the disk is read-only and nothing is lost\n%s", code, stderr)
	}
	if refreshToken(t, w) == before {
		t.Fatal("the rotated refresh token was not stored")
	}
}

// TestTwoConfigsOneEnvironmentName: a second configuration names its
// environment "dev" too, for another client or another provider, and shares
// the token folder. It never sends or prints the first's tokens, and says
// log-in needed (exit 3) naming both grants; the first keeps working.
func TestTwoConfigsOneEnvironmentName(t *testing.T) {
	tests := []struct {
		name string
		env  func(firstAPI, otherAPI string) string
	}{
		{"another client", func(firstAPI, _ string) string {
			return fmt.Sprintf("provider = \"freeagent\"\napi_url = %q\nclient_id = \"another-client\"\nclient_secret_env = \"DEV_SECRET\"\n", firstAPI)
		}},
		{"another provider", func(_, otherAPI string) string {
			return fmt.Sprintf("provider = \"freeagent\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret_env = \"DEV_SECRET\"\n", otherAPI)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			stored := string(w.storeBytes())
			var otherHits atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				otherHits.Add(1)
				http.Error(rw, "unexpected", http.StatusTeapot)
			}))
			defer other.Close()
			second := w.writeOtherConfig("second.toml", fmt.Sprintf("[store]\nurl = %q\n\n[env.dev]\n%s", "file://"+w.store, tt.env(w.api, other.URL+"/")))
			requests := w.provider.Stats().TokenRequests
			for _, args := range [][]string{{"token"}, {"token", "--force"}, {"get", "/v2/company"}} {
				r := w.run(append([]string{"--config", second}, args...)...)
				if r.code != 3 || !strings.Contains(r.stderr, "belong to client") || !strings.Contains(r.stderr, "freshtoken --config "+second+" login -e dev") {
					t.Fatalf("%v: exit %d, stderr %q; want 3 naming the other grant and the log-in", args, r.code, r.stderr)
				}
				if r.stdout != "" {
					t.Fatalf("%v printed %q", args, r.stdout)
				}
			}
			w.logoutLeavesTheTokens(second, "belong to client")
			st := w.run("--config", second, "status")
			if !strings.Contains(st.stdout, "logged in:      no: the stored tokens belong to client") {
				t.Fatalf("status:\n%s", st.stdout)
			}
			if otherHits.Load() != 0 || w.provider.Stats().TokenRequests != requests {
				t.Fatal("the first configuration's tokens were sent somewhere")
			}
			if string(w.storeBytes()) != stored {
				t.Fatal("the first configuration's record was changed")
			}
			w.mustRun("token", "--force")
			w.mustRun("get", "/v2/company")
		})
	}
}

// TestJSONLogsSpellDurationsAndTimes: in --log-format json every duration is
// a string of seconds such as "60s", as PRODUCT.md writes it (it was Go's
// "1m0s"), and every time RFC 3339, for machines and people.
func TestJSONLogsSpellDurationsAndTimes(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	r := w.mustRun("--debug", "--log-format", "json", "token", "--force")
	durations, times := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		for k, v := range m {
			switch k {
			case "refresh_before", "skew", "remaining", "waited", "duration", "after":
				if _, ok := v.(string); !ok {
					t.Errorf("%s = %v (%T) in %q; want a duration string", k, v, v, line)
				} else if _, err := time.ParseDuration(v.(string)); err != nil || !regexp.MustCompile(`^[0-9]+(\.[0-9]+)?s$`).MatchString(v.(string)) {
					t.Errorf("%s = %v (%T) in %q; want a duration string of seconds", k, v, v, line)
				}
				if k == "refresh_before" && v != "60s" {
					t.Errorf("refresh_before = %v in %q; want the default, \"60s\"", v, line)
				}
				durations++
			case "time", "issued", "expires", "now", "renewed":
				if _, err := time.Parse(time.RFC3339, fmt.Sprint(v)); err != nil {
					t.Errorf("%s = %v in %q; want RFC 3339", k, v, line)
				}
				times++
			}
		}
	}
	if durations == 0 || times == 0 {
		t.Fatalf("saw %d durations and %d times; the test proves nothing:\n%s", durations, times, r.stderr)
	}
}

// TestLoginBesideAFakeProxy: a program on the redirect port that answers
// like a freshtoken proxy serving this very client, but sends the browser
// elsewhere, cannot make
// `freshtoken login` report success: nothing reaches the store, so it waits
// out its time and says log-in needed (exit 3). The store already holds
// this client's tokens from an earlier log-in, which are no log-in since
// this one began: they are left as they were, and are not taken for its end.
// Its last line names the log-in as it was run (--no-browser, --timeout,
// the configuration file), once: it named `freshtoken login -e dev`.
func TestLoginBesideAFakeProxy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	before := string(w.storeBytes())
	requests := w.provider.Stats().TokenRequests
	_, addr := w.redirectAddr()
	var opened atomic.Int32
	fake := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/grant") { // it claims just what login wants to hear
			json.NewEncoder(rw).Encode(map[string]string{"client_id": "dev-client-id", "token_url": w.api + "v2/token_endpoint", "store": w.storeFile()})
			return
		}
		if strings.HasSuffix(r.URL.Path, "/login") {
			opened.Add(1)
			http.Redirect(rw, r, "http://127.0.0.1:1/another-apps-consent-page", http.StatusSeeOther)
		}
	})}
	ln, err := net.Listen("tcp", fake.Addr)
	if err != nil {
		t.Fatal(err)
	}
	go fake.Serve(ln)
	t.Cleanup(func() { fake.Close() })

	w.env = append(w.env, "BROWSER=true")
	login := w.watch("login", "--no-browser", "--timeout", "2s")
	link := login.stderr.WaitFor(t, "the log-in link", regexp.MustCompile(`(?m)^http://\S+$`))[0]
	if resp, err := http.Get(link); err == nil { // the browser opens the link it is given
		resp.Body.Close()
	}
	if code, said := login.wait(); code != 3 || !strings.Contains(said, "no new tokens reached") {
		t.Fatalf("exit %d, stderr %q; want 3 saying no tokens came", code, said)
	} else if want := "; run `freshtoken --config " + shellquote.Word(w.config) + " login --no-browser --timeout 2s -e dev` and approve access in the browser\n"; !strings.HasSuffix(said, want) || strings.Count(said, "run `") != 1 {
		t.Fatalf("stderr %q; want it to end %q, naming one command", said, want)
	}
	if opened.Load() != 1 {
		t.Fatalf("the fake's log-in link was opened %d times; the test proves nothing", opened.Load())
	}
	if string(w.storeBytes()) != before {
		t.Fatal("the stored tokens were changed")
	}
	if s := w.provider.Stats(); s.TokenRequests != requests {
		t.Fatalf("provider stats %+v; want nothing more asked of it than the first log-in's %d token requests", s, requests)
	}
}

// TestLoginBesideAProgramClaimingFailure: a program on the redirect port,
// answering like a freshtoken proxy, says the log-in failed once the store
// already holds this client's tokens from a log-in after it began (the
// real proxy's, behind it, say). login believes the store, not the
// program: it reports the log-in (exit 0), where it said it had failed.
func TestLoginBesideAProgramClaimingFailure(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	_, addr := w.redirectAddr()
	tokenURL := w.api + "v2/token_endpoint"
	fake := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/grant"):
			json.NewEncoder(rw).Encode(map[string]string{"client_id": "dev-client-id", "token_url": tokenURL, "grant": "authorization_code", "store": w.storeFile()})
		case strings.Contains(r.URL.Path, "/attempts/"):
			// The tokens arrive just as the program claims otherwise.
			rec := fmt.Sprintf(`{"version":1,"env":"dev","access_token":"dev_at_1","token_type":"Bearer","expiry":"2099-01-01T00:00:00Z","issued_at":%q,"renewals":0,"grant":{"token_url":%q,"client_id":"dev-client-id","type":"authorization_code"}}`,
				time.Now().UTC().Format(time.RFC3339Nano), tokenURL)
			if err := os.MkdirAll(w.store, 0o700); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(w.storeFile(), []byte(rec), 0o600); err != nil {
				t.Error(err)
			}
			json.NewEncoder(rw).Encode(map[string]any{"failed": true, "error": "login_refused"})
		}
	})}
	ln, err := net.Listen("tcp", fake.Addr)
	if err != nil {
		t.Fatal(err)
	}
	go fake.Serve(ln)
	t.Cleanup(func() { fake.Close() })

	r := w.run("login", "--no-browser", "--timeout", "20s")
	if r.code != 0 || !strings.Contains(r.stderr, "Logged in to dev through the freshtoken proxy") {
		t.Fatalf("exit %d, stderr %q; want 0, logged in: the store holds the tokens", r.code, r.stderr)
	}
}

// TestLoginBesideAnotherLogin: a second `freshtoken login` while the first
// waits for its browser on the redirect address says what may hold it
// (exit 2), and the first, asked whether it is a proxy, still completes.
func TestLoginBesideAnotherLogin(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	first := w.watch("login", "--no-browser", "--timeout", "30s")
	authURL := first.stderr.WaitFor(t, "the first log-in's URL", regexp.MustCompile(`(?m)^http://\S+approve_app\S+$`))[0]
	r := w.run("login", "--no-browser", "--timeout", "5s")
	if r.code != 2 || !strings.Contains(r.stderr, "login` still waiting for its browser, perhaps") {
		t.Fatalf("the second log-in: exit %d, stderr %q; want 2, saying another login may hold the address", r.code, r.stderr)
	}
	followed(t, authURL) // the first's browser: approved, back to it
	first.waitExit(t, 0)
}

// TestLoginBesideAnotherUsersProgram: on a shared machine, another user's
// program on the redirect port, saying all that login wants to hear, is not
// asked anything nor given the browser: login says whose port it is and
// exits 2.
func TestLoginBesideAnotherUsersProgram(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	_, addr := w.redirectAddr()
	var asked atomic.Int32
	fake := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		json.NewEncoder(rw).Encode(map[string]string{"client_id": "dev-client-id", "token_url": w.api + "v2/token_endpoint", "store": w.storeFile()})
	})}
	var ln net.Listener
	var err error
	testenv.AsUser(t, 65534, func() { ln, err = net.Listen("tcp", addr) })
	if err != nil {
		t.Fatal(err)
	}
	go fake.Serve(ln)
	t.Cleanup(func() { fake.Close() })

	r := w.run("login", "--no-browser", "--timeout", "2s")
	if r.code != 2 || !strings.Contains(r.stderr, "by a program of another user (uid 65534)") || strings.Contains(r.stderr, "http://") {
		t.Fatalf("exit %d, stderr %q; want 2 naming the other user, and no link to open", r.code, r.stderr)
	}
	if asked.Load() != 0 {
		t.Fatalf("the other user's program was asked %d times", asked.Load())
	}
}

// TestProxyRefusesAnotherUsersProgram: on a shared machine, another
// user's program sending a request to `freshtoken proxy` on 127.0.0.1 was
// served with this user's tokens. It gets 403, naming whose proxy it is,
// and the API hears nothing; this user's programs are served.
func TestProxyRefusesAnotherUsersProgram(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	w.startProxy(addr)
	get := func(uid int) (int, string) {
		c := testenv.DialAs(t, uid, addr)
		client := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return c, nil }}}
		resp, err := client.Get("http://" + addr + "/dev/v2/company")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(os.Getuid()); code != http.StatusOK {
		t.Fatalf("this user's program: %d %s; want 200", code, body)
	}
	if code, body := get(65534); code != http.StatusForbidden || !strings.Contains(body, "serves only programs of user ") || !strings.Contains(body, "(uid 65534)") {
		t.Fatalf("another user's program: %d %s; want 403 naming whose proxy it is", code, body)
	}
}

// TestLoginBesideAProxyOfAnotherConfiguration: the proxy on the redirect
// port runs another configuration over the same token store, whose "dev"
// is another client, or the same client with the device grant (a browser
// log-in there would be stored as the device grant's). `login` stops before
// the browser opens (exit 2) rather than let that proxy replace this
// configuration's tokens, naming the command that serves this one there,
// and the proxy refuses its log-in link.
func TestLoginBesideAProxyOfAnotherConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(w *world, conf string) string
		says string
	}{
		{"another client", func(_ *world, conf string) string {
			return strings.Replace(conf, `client_id = "dev-client-id"`, `client_id = "another-client"`, 1)
		}, `serves dev for client "another-client"`},
		{"another grant", func(w *world, conf string) string {
			return conf + "grant = \"device_code\"\ndevice_auth_url = \"" + w.api + "v2/device_authorization\"\n"
		}, `serves dev with grant = "device_code"`},
		{"another audience", func(_ *world, conf string) string {
			return conf + "audience = \"https://b.example/\"\n"
		}, `serves dev for audience "https://b.example/", not for this configuration's no audience or resource`},
		// The same client id at another issuer (the same endpoints set
		// beside it here; two issuers whose endpoints are both discovered
		// compare as alike): its log-in would be at that provider.
		{"another issuer", func(_ *world, conf string) string {
			return conf + "issuer = \"https://idp.example/realms/other\"\n"
		}, `serves dev for client "dev-client-id" of https://idp.example/realms/other at `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			stored := string(w.storeBytes())
			conf, addr := w.redirectAddr()
			base := w.proxyOfAnotherConfig(tc.edit(w, conf), addr)

			r := w.run("login", "--no-browser", "--timeout", "5s")
			if r.code != 2 || !strings.Contains(r.stderr, tc.says) {
				t.Fatalf("exit %d, stderr %q; want 2, saying %q", r.code, r.stderr, tc.says)
			}
			// Its steps are commands: serving this configuration there,
			// then this log-in as it was run (it said to restart that
			// proxy, or to run it with this configuration, naming none).
			if then := w.suggested(": stop that proxy, and run `freshtoken proxy --listen " + addr + "`, which serves this configuration, then run `freshtoken login --no-browser --timeout 5s -e dev`\n"); !strings.HasSuffix(r.stderr, then) {
				t.Fatalf("stderr %q; want it to end %q", r.stderr, then)
			}
			// With the proxy's key, as the command would have opened it.
			_, grant := followed(t, base+"/.freshtoken/envs/dev/grant")
			var g struct {
				Key string `json:"login_key"`
			}
			if err := json.Unmarshal(grant, &g); err != nil || g.Key == "" {
				t.Fatalf("the other proxy's grant answer gives no login_key (%v)", err)
			}
			resp := unfollowed(t, base+"/.freshtoken/envs/dev/login?client_id=dev-client-id&token_url="+url.QueryEscape(w.api+"v2/token_endpoint")+"&audience=&resource=&issuer=&key="+url.QueryEscape(g.Key))
			if resp.StatusCode != http.StatusConflict {
				t.Fatalf("the other proxy answered %d to this configuration's log-in link; want 409", resp.StatusCode)
			}
			if string(w.storeBytes()) != stored {
				t.Fatal("this configuration's tokens were replaced")
			}
		})
	}
}

// TestLoginBesideAProxyThatStops: the proxy through which `freshtoken
// login` logs in stops (SIGTERM), or restarts, after sending the browser
// to the provider. Its log-in went with it: the browser comes back to
// nothing, or to a proxy that never began it. login says so and exits 3
// within seconds; it waited out its whole --timeout (5 minutes by
// default), then said access had not been approved. It names the log-in
// as it was run, with --no-browser and --timeout (it named login -e dev).
func TestLoginBesideAProxyThatStops(t *testing.T) {
	t.Parallel()
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "stopped", true: "restarted"}[restart], func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			_, addr := w.redirectAddr()
			stop := w.startProxy(addr)
			login := w.watch("--debug", "login", "--no-browser", "--timeout", "50s")
			authURL := w.openLoginLink(login)
			login.waitSaid(t, "the freshtoken proxy holds the log-in")
			stop()
			if restart {
				w.startProxy(addr)
			}
			if resp, err := http.Get(authURL); err == nil { // approved, back to the address
				resp.Body.Close()
			}
			said := login.waitExit(t, 3)
			if !strings.Contains(said, "stopped or restarted while this log-in waited, and the log-in it held ended with it") || !strings.HasSuffix(said, " login --no-browser --timeout 50s -e dev` and approve access in the browser\n") {
				t.Fatalf("login said %q; want that the proxy's log-in ended with it, and to log in again", said)
			}
			if _, err := os.Stat(w.storeFile()); err == nil {
				t.Fatal("something was stored")
			}
		})
	}
}

// openLoginLink plays the browser of a `freshtoken login --no-browser`
// through the proxy: it opens the log-in link the command prints, and
// returns the provider's page the proxy sends it on to.
func (w *world) openLoginLink(login *watched) (authURL string) {
	t := w.t
	t.Helper()
	link := login.stderr.WaitFor(t, "the log-in link", regexp.MustCompile(`(?m)^http://\S+/login\?\S+$`))[0]
	resp := unfollowed(t, link)
	authURL = resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(authURL, w.api) {
		t.Fatalf("the proxy's log-in link answered %d to %q; want the provider's page", resp.StatusCode, authURL)
	}
	return authURL
}

// followed gets u as a browser would, following redirects: the answer,
// its body read and closed (testenv.Do).
func followed(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Do(t, nil, req)
}

// unfollowed gets u as a browser would, without following the redirect it
// may answer with: the answer, its body closed.
func unfollowed(t *testing.T, u string) *http.Response {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// startProxy runs `freshtoken proxy` on addr with the world's
// configuration until stop, or the end of the test.
func (w *world) startProxy(addr string) (stop func() int) {
	w.t.Helper()
	stop = w.startDaemon("proxy", "--listen", addr)
	waitListening(w.t, "http://"+addr)
	return stop
}

// waitListening waits until a program answers HTTP at base.
func waitListening(t *testing.T, base string) {
	t.Helper()
	testenv.WaitFor(t, "the proxy to listen", func() bool {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
}

// proxyOfAnotherConfig runs `freshtoken proxy` on addr with the
// configuration conf, over this world's store, until the test ends, and
// returns its address.
func (w *world) proxyOfAnotherConfig(conf, addr string) string {
	t := w.t
	t.Helper()
	other := w.writeOtherConfig("other.toml", conf)
	w.startDaemon("--config", other, "proxy", "--listen", addr)
	base := "http://" + addr
	waitListening(t, base)
	return base
}

// redirectAddr returns the world's configuration and the address of its
// redirect_uri.
func (w *world) redirectAddr() (conf, addr string) {
	w.t.Helper()
	conf = w.readConfig()
	m := regexp.MustCompile(`redirect_uri = "http://(127\.0\.0\.1:\d+)/callback"`).FindStringSubmatch(conf)
	if m == nil {
		w.t.Fatal("no redirect_uri in the world's config")
	}
	return conf, m[1]
}

// anotherAPI is the API of a second configuration: it counts the requests
// it gets, and those that carry token, the access token of the world's
// record when the second was written.
type anotherAPI struct {
	*httptest.Server
	token struct {
		AccessToken string `json:"access_token"`
	}
	hits, firstsToken atomic.Int32
}

// configForAnotherAudience writes a second configuration over the world's
// store, with its environment "dev", client and token endpoint, for
// another API, audience; it returns its path and that API.
func (w *world) configForAnotherAudience(audience string) (second string, api *anotherAPI) {
	t := w.t
	t.Helper()
	api = &anotherAPI{}
	if err := json.Unmarshal(w.storeBytes(), &api.token); err != nil || api.token.AccessToken == "" {
		t.Fatalf("no access token in the world's record (%v)", err)
	}
	api.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		api.hits.Add(1)
		if strings.Contains(r.Header.Get("Authorization"), api.token.AccessToken) {
			api.firstsToken.Add(1)
		}
		rw.Header().Set("Content-Type", "application/json")
		fmt.Fprint(rw, `{"ok":true}`)
	}))
	t.Cleanup(api.Close)
	second = w.writeOtherConfig("second.toml", fmt.Sprintf(`[store]
url = %q

[env.dev]
provider = "generic"
api_url = %q
auth_url = %q
token_url = %q
client_id = "dev-client-id"
client_secret_env = "DEV_SECRET"
redirect_uri = "http://127.0.0.1:%d/callback"
audience = %q
`, "file://"+w.store, api.URL+"/", w.api+"v2/approve_app", w.api+"v2/token_endpoint", testenv.FreePort(t), audience))
	return second, api
}

// logoutLeavesTheTokens checks that logout with the configuration second,
// whose environment "dev" the stored tokens are not of, exits 0 saying it
// has none of its own to log out of, naming each of want. It exited 3
// saying to log in, which is not what a log-out was after.
func (w *world) logoutLeavesTheTokens(second string, want ...string) {
	t := w.t
	t.Helper()
	r := w.run("--config", second, "logout")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "dev has no tokens of its own to log out of: the stored tokens belong to") || r.stdout != "" {
		t.Fatalf("logout: exit %d, stdout %q, stderr %q; want 0 saying there are no tokens of its own", r.code, r.stdout, r.stderr)
	}
	for _, s := range want {
		if !strings.Contains(r.stderr, s) {
			t.Fatalf("logout: stderr %q; want it to name %q", r.stderr, s)
		}
	}
}

// refusesTheFirstsTokens checks that the configuration second neither uses
// nor changes the world's record, stored: its token, token --force and get
// exit 3 printing nothing, their message holding theirs and ours (how the
// record's grant and second's are told) and the log-in to run; its logout
// leaves them, exit 0;
// status says not logged in, naming the record's client; nothing reaches
// second's API or the provider.
func (w *world) refusesTheFirstsTokens(second, stored string, api *anotherAPI, theirs, ours string) {
	t := w.t
	t.Helper()
	requests := w.provider.Stats().TokenRequests
	for _, args := range [][]string{{"token"}, {"token", "--force"}, {"get", "/v2/company"}} {
		r := w.run(append([]string{"--config", second}, args...)...)
		if r.code != 3 || !strings.Contains(r.stderr, theirs) || !strings.Contains(r.stderr, ours) || !strings.Contains(r.stderr, "freshtoken --config "+second+" login -e dev") {
			t.Fatalf("%v: exit %d, stderr %q; want 3 naming both sides and the log-in", args, r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Fatalf("%v printed %q", args, r.stdout)
		}
	}
	w.logoutLeavesTheTokens(second, theirs, ours)
	st := w.run("--config", second, "status")
	if !strings.Contains(st.stdout, `logged in:      no: the stored tokens belong to client "dev-client-id"`) || !strings.Contains(st.stdout, strings.TrimSuffix(theirs, ", not to this environment's")) {
		t.Fatalf("status:\n%s", st.stdout)
	}
	if api.hits.Load() != 0 || w.provider.Stats().TokenRequests != requests {
		t.Fatal("the first configuration's tokens were sent somewhere")
	}
	if got := string(w.storeBytes()); got != stored {
		t.Fatalf("the first configuration's record was changed:\n%s\nwas\n%s", got, stored)
	}
}

// TestTwoConfigsOneClientTwoAudiences: a second configuration shares the
// token folder and the environment's name "dev", with the same client and
// token endpoint, for another API (another audience: one Auth0 tenant and
// client, two APIs). It never sends or prints the token addressed to the
// first's API, and says log-in needed (exit 3) naming both audiences; its
// log-in replaces the first's tokens, saying so, and the first then refuses
// the second's. Only the client, token endpoint and grant type were
// compared: the second sent the first's token to its own API.
func TestTwoConfigsOneClientTwoAudiences(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "audience = \"https://a.example/\"\n")
	w.login()
	stored := string(w.storeBytes())
	if !strings.Contains(stored, `"audience": "https://a.example/"`) {
		t.Fatalf("the record does not name its audience:\n%s", stored)
	}
	second, other := w.configForAnotherAudience("https://b.example/")
	w.refusesTheFirstsTokens(second, stored, other, `for audience "https://a.example/", not to this environment's`, `for audience "https://b.example/"`)
	first := w.config
	w.config = second
	login := w.login()
	w.config = first
	if !strings.Contains(login.stderr, "replaced stored tokens that belonged to another client") {
		t.Fatalf("the second's log-in did not say it replaced the first's tokens:\n%s", login.stderr)
	}
	w.mustRun("--config", second, "get", "/v2/company")
	if other.hits.Load() != 1 || other.firstsToken.Load() != 0 {
		t.Fatalf("the second's API got %d requests, %d with the first's token; want 1, with its own", other.hits.Load(), other.firstsToken.Load())
	}
	r := w.run("token")
	if r.code != 3 || !strings.Contains(r.stderr, `for audience "https://b.example/", not to this environment's`) || r.stdout != "" {
		t.Fatalf("the first, after the second's log-in: exit %d, stderr %q; want 3 naming both audiences", r.code, r.stderr)
	}
}

// TestConfigWithAnAudienceLeavesTheTokensOfOneWithout: a first
// configuration names no audience (its tokens are for the provider's
// default API); a second shares the token folder and the environment's name
// "dev", with the same client and token endpoint, and names
// `audience = "https://api-b.example/"`. The second took the first's record,
// written that day, for one written before grants named their audience, and
// sent the first's token to its own API. It now says log-in needed (exit 3)
// naming both, sends nothing anywhere, and leaves the first's record byte for
// byte as it was; the first goes on with it. A record as a freshtoken that
// did not bind grants wrote it (no "bound") is still the second's to adopt,
// once, with no log-in: it is served, then names its audience, bound.
func TestConfigWithAnAudienceLeavesTheTokensOfOneWithout(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	stored := string(w.storeBytes())
	if strings.Contains(stored, `"audience"`) || !strings.Contains(stored, `"bound": true`) {
		t.Fatalf("the record of a configuration without an audience:\n%s", stored)
	}
	second, other := w.configForAnotherAudience("https://api-b.example/")
	w.refusesTheFirstsTokens(second, stored, other, `by authorization code for no audience or resource, not to this environment's`, `for audience "https://api-b.example/"`)
	requests := w.provider.Stats().TokenRequests
	rec := other.token
	if r := w.mustRun("token"); !strings.Contains(r.stdout, rec.AccessToken) {
		t.Fatalf("the first configuration's token is now %q; want its own, %q", r.stdout, rec.AccessToken)
	}

	// The same record as a freshtoken that did not bind grants wrote it.
	older := strings.Replace(stored, ",\n    \"bound\": true", "", 1)
	if older == stored {
		t.Fatalf("no bound grant to unbind in\n%s", stored)
	}
	if err := os.WriteFile(w.storeFile(), []byte(older), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := w.mustRun("--config", second, "token"); !strings.Contains(r.stdout, rec.AccessToken) {
		t.Fatalf("the second was not served the record written before grants were bound: %q", r.stdout)
	}
	adopted := string(w.storeBytes())
	if !strings.Contains(adopted, `"audience": "https://api-b.example/"`) || !strings.Contains(adopted, `"bound": true`) {
		t.Fatalf("the record after the second's first use:\n%s", adopted)
	}
	if r := w.run("token"); r.code != 3 || !strings.Contains(r.stderr, `for audience "https://api-b.example/", not to this environment's`) {
		t.Fatalf("the first, after the second adopted the record: exit %d, stderr %q; want 3 naming both", r.code, r.stderr)
	}
	if w.provider.Stats().TokenRequests != requests {
		t.Fatal("the adoption sent a token request")
	}
}

// TestProxyWhoseConfigIsMovedAwayServesOn: a running proxy whose
// configuration file is moved away (or deleted) serves each environment
// as last read, and where it has none open says the file is gone, not to
// run `freshtoken init`: read as a configuration naming nothing, every
// request was told of an unknown environment and to add it with init,
// which would write a new file in the moved one's place, and the status
// page said no environment was configured yet.
func TestProxyWhoseConfigIsMovedAwayServesOn(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	_, addr := w.redirectAddr()
	w.startProxy(addr)
	get := func(path string) (int, string) {
		t.Helper()
		resp, body := followed(t, "http://"+addr+path)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/dev/v2/company"); code != http.StatusOK {
		t.Fatalf("before the move: %d %s", code, body)
	}
	if err := os.Rename(w.config, w.config+".moved"); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/dev/v2/company"); code != http.StatusOK {
		t.Errorf("after the move: %d %s; want the environment served as last read", code, body)
	}
	if code, body := get("/other/v2/company"); code == http.StatusNotFound || strings.Contains(body, "init") || !strings.Contains(body, "is gone") {
		t.Errorf("an environment not open, after the move: %d %s; want the file said to be gone, and no init", code, body)
	}
	if _, page := get("/"); strings.Contains(page, "No environment is configured") || !strings.Contains(page, "is gone") {
		t.Errorf("the status page after the move says:\n%s\nwant the file said to be gone", page)
	}
}
