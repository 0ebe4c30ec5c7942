//go:build unix

package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// echoSecret holds every character that URL, form, base64 and JSON
// encodings write differently.
const echoSecret = "S3cr+t/=&@! with spaces"

// TestEncodedSecretsNeverShow: a provider that quotes the refused token
// request in its error (a JSON error_description, or a plain-text 500
// quoting it as JSON) gets neither the client secret nor the refresh token
// onto stdout, stderr or the log file, raw, URL- or form-encoded, base64 as
// in the Basic header, or JSON-escaped; for both client_auth styles and
// both log formats.
func TestEncodedSecretsNeverShow(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"basic", "body"} {
		t.Run(auth, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, ClientSecret: echoSecret, AuthStyle: auth}, "client_auth = \""+auth+"\"")
			w.env = append(w.env, "E2E_ECHO_SECRET="+echoSecret)
			setSecretSource(t, w, `client_secret_env = "E2E_ECHO_SECRET"`)
			w.login()
			var rec struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(w.storeBytes(), &rec); err != nil {
				t.Fatal(err)
			}
			leaks := encodedForms(echoSecret, rec.RefreshToken, rec.AccessToken)
			for _, format := range []string{"text", "json"} {
				for _, fault := range []struct {
					kind devprovider.Fault
					n    int
					code int
				}{{devprovider.FaultEcho, 1, 2}, {devprovider.FaultEchoText, 4, 5}} {
					t.Run(format+"/"+string(fault.kind), func(t *testing.T) {
						w.provider.Fault(fault.kind, fault.n)
						r, logs := w.runLogging("--debug", "--log-format", format, "token", "--force")
						all := r.stdout + r.stderr + logs
						if r.code != fault.code || !strings.Contains(all, "could not process") {
							t.Fatalf("exit %d, want %d with the provider's quote shown; stderr %s\nlog:\n%s", r.code, fault.code, r.stderr, logs)
						}
						for name, leak := range leaks {
							if strings.Contains(all, leak) {
								t.Errorf("%s (%q) shown; stderr %s\nlog:\n%s", name, leak, r.stderr, logs)
							}
						}
						if !strings.Contains(all, redact.Mask(echoSecret)) && !strings.Contains(all, redact.Mask(rec.RefreshToken)) {
							t.Errorf("nothing masked in the output: the quote was not what this test expects; stderr %s\nlog:\n%s", r.stderr, logs)
						}
					})
				}
			}
			w.mustRun("token", "--force") // the grant survived
		})
	}
}

// setSecretSource replaces the line of the world's config that says where
// the client secret comes from.
func setSecretSource(t *testing.T, w *world, line string) {
	t.Helper()
	w.writeConfig(strings.Replace(w.readConfig(), `client_secret_env = "DEV_SECRET"`, line, 1))
}

// encodedForms are the ways the secrets could be written, by name: raw,
// query-, path- and form-encoded, JSON-escaped, and the base64 of the Basic
// header x/oauth2 sends (the whole header, and the part only the secret
// determines).
func encodedForms(clientSecret string, tokens ...string) map[string]string {
	forms := map[string]string{}
	for i, v := range append([]string{clientSecret}, tokens...) {
		j, _ := json.Marshal(v)
		name := "client secret"
		if i > 0 {
			name = "token " + v[:8]
		}
		forms[name+" raw"] = v
		forms[name+" query-escaped"] = url.QueryEscape(v)
		forms[name+" path-escaped"] = url.PathEscape(v)
		forms[name+" %20-escaped"] = strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
		forms[name+" JSON-escaped"] = strings.Trim(string(j), `"`)
		forms[name+" JSON-escaped in JSON"] = strings.Trim(strings.ReplaceAll(string(j), `\`, `\\`), `"`)
	}
	prefix := url.QueryEscape("dev-client-id") + ":"
	pair := prefix + url.QueryEscape(clientSecret)
	b64 := base64.StdEncoding.EncodeToString([]byte(pair))
	forms["Basic credentials"] = b64
	forms["Basic credentials, the secret's part"] = b64[(len(prefix)+2)/3*4 : len(pair)/3*4]
	return forms
}

// TestRootsConfigOthersCouldWriteNamesGoW: a configuration file that root
// owns (a machine's shared one, which freshtoken takes as ssh does) and
// that group or others may write is refused naming `sudo chmod go-w`: the
// `chmod 600` named for a file of the user's own would leave root alone
// able to read it, and the user who ran it with sudo locked out (nor may
// the user change the mode of root's file without sudo).
func TestRootsConfigOthersCouldWriteNamesGoW(t *testing.T) {
	testenv.NeedRoot(t, "running freshtoken as another user")
	dir, err := os.MkdirTemp("", "freshtoken-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // nobody may run and read what is in it
		t.Fatal(err)
	}
	exe, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "freshtoken")
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(conf, []byte("[env.dev]\nprovider = \"freeagent-sandbox\"\nclient_id = \"id\"\nclient_secret_env = \"SECRET\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(conf, 0o664); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", conf, "status")
	cmd.Env = []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_STATE_HOME=" + dir, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(stderr.String(), "`sudo chmod go-w "+conf+"`") {
		t.Fatalf("nobody's status with root's 0664 config: exit %d, stderr %q; want 2 naming chmod go-w, which leaves it readable", code, stderr.String())
	}
}

// TestConfigOthersCouldWriteIsRefused: a config that group or others may
// write is refused before anything in it is used: its client_secret_cmd
// never runs.
func TestConfigOthersCouldWriteIsRefused(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	marker := filepath.Join(w.dir, "secret-command-ran")
	setSecretSource(t, w, `client_secret_cmd = "touch `+marker+`; echo dev-client-secret"`)
	w.login()
	if err := os.Remove(marker); err != nil {
		t.Fatalf("the secret command did not run for a private config: %v", err)
	}
	if err := os.Chmod(w.config, 0o620); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"token", "--force"}, {"login", "--no-browser"}, {"status"}} {
		r := w.run(args...)
		if r.code != 2 || !strings.Contains(r.stderr, "`chmod 600 "+w.config+"`") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with the chmod", args, r.code, r.stderr)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%v ran the secret command of a config others could write", args)
		}
	}
}

// TestProxySaysItRunsTheSecretCommand: the proxy, renewing for requests,
// says once for each environment, on stderr at info level, that it gets
// the client secret from the environment's client_secret_cmd, naming the
// key, never the command (which may hold the secret: echo …) nor the
// secret; the command run again after the provider refused the client
// is not told again. It ran the command without a word, so one waiting for
// a passphrase held every request of the environment, silent. Its stderr
// is no terminal here, so it does not say to answer a passphrase.
func TestProxySaysItRunsTheSecretCommand(t *testing.T) {
	t.Parallel()
	const lifetime = time.Hour
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: lifetime}, "", "")
	runs := filepath.Join(w.dir, "secret-command-runs")
	setSecretSource(t, w, `client_secret_cmd = "echo ran >> `+runs+`; echo dev-client-secret"`)
	w.login()
	if err := os.Remove(runs); err != nil {
		t.Fatalf("the log-in did not run the secret command: %v", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	p := w.watch("proxy", "--listen", addr)
	get := func() {
		resp, err := http.Get("http://" + addr + "/dev/v2/company")
		if err == nil {
			resp.Body.Close()
		}
	}
	renewed := func(what string, cond func(devprovider.Stats) bool) {
		t.Helper()
		testenv.WaitFor(t, what, func() bool { get(); return cond(w.provider.Stats()) })
	}
	// A token is renewed refresh_before (60 s) ahead of its expiry: the
	// clock moves on to 45 s before it.
	clock.Advance(t, lifetime-45*time.Second)
	renewed("a renewal through the proxy", func(s devprovider.Stats) bool { return s.Refreshes >= 1 })
	tried := w.provider.Stats().TokenRequests
	w.provider.Fault(devprovider.FaultInvalidClient, 1)
	clock.Advance(t, lifetime-45*time.Second)
	renewed("a renewal refused invalid_client", func(s devprovider.Stats) bool { return s.TokenRequests > tried })
	refreshed := w.provider.Stats().Refreshes
	// Renewals rest 30 s after one refused; the clock moves past the rest.
	clock.Advance(t, 31*time.Second)
	renewed("a renewal after it", func(s devprovider.Stats) bool { return s.Refreshes > refreshed })
	p.cmd.Process.Signal(syscall.SIGTERM)
	_, stderr := p.wait()
	ran, err := os.ReadFile(runs)
	if err != nil || strings.Count(string(ran), "ran") < 2 {
		t.Fatalf("the secret command ran %d times (%v); want it run again after the refusal", strings.Count(string(ran), "ran"), err)
	}
	// The keeper, looking as the clock moves on, may tell of the client
	// the provider rejected, naming client_secret_cmd too.
	if strings.Count(stderr, "getting the client secret") != 1 || !strings.Contains(stderr, secretCommandNotice) ||
		strings.Contains(stderr, "echo") || strings.Contains(stderr, "dev-client-secret") || strings.Contains(stderr, "passphrase") {
		t.Errorf("the proxy's stderr:\n%s\nwant %q once, never the command nor the secret", stderr, secretCommandNotice)
	}
}

// TestKeeperSaysItRunsTheSecretCommand: `proxy --no-listen`, the keeper
// alone (the service's), renewing to keep a token_file current, says once
// on stderr that it gets the client secret from the environment's
// client_secret_cmd, as the proxy does for requests, naming the key, never
// the command nor the secret. Nothing checked that the keeper was told.
func TestKeeperSaysItRunsTheSecretCommand(t *testing.T) {
	t.Parallel()
	_, p, renewals := keepingWithSecretCommand(t)
	renewals(1)
	p.cmd.Process.Signal(syscall.SIGTERM)
	_, stderr := p.wait()
	if strings.Count(stderr, "client_secret_cmd") != 1 || !strings.Contains(stderr, secretCommandNotice) || strings.Contains(stderr, "echo") || strings.Contains(stderr, "dev-client-secret") {
		t.Errorf("the keeper's stderr:\n%s\nwant %q once, never the command nor the secret", stderr, secretCommandNotice)
	}
}

// secretCommandNotice is what the proxy and its keeper say, once per
// command, of an environment whose secret client_secret_cmd gives.
const secretCommandNotice = "freshtoken: getting the client secret of dev from its client_secret_cmd\n"

// keepingWithSecretCommand is a world whose environment dev, logged in
// with hour-long access tokens on a test clock, gets its client secret
// from client_secret_cmd and has a token_file, and its keeper alone
// (`proxy --no-listen`) running; renewals(n) moves the clock on to each
// of the keeper's next n renewals, and waits for it.
func keepingWithSecretCommand(t *testing.T) (w *world, keeper *watched, renewals func(n int)) {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "dev-token")
	const lifetime = time.Hour
	w, clock := newClockedWorld(t, devprovider.Options{AccessTTL: lifetime}, "", fmt.Sprintf("token_file = %q", tokenFile))
	setSecretSource(t, w, `client_secret_cmd = "echo dev-client-secret"`)
	w.login()
	var held []byte
	renewals = func(n int) {
		t.Helper()
		testenv.WaitFor(t, "the keeper to write the token file", func() bool {
			b, err := os.ReadFile(tokenFile)
			held = b
			return err == nil
		})
		for range n {
			clock.Advance(t, due(lifetime))
			// Its new token in the file: stored, its lifetime counted
			// before the clock moves on again.
			testenv.WaitFor(t, "the keeper to renew", func() bool {
				b, _ := os.ReadFile(tokenFile)
				if string(b) == string(held) {
					return false
				}
				held = b
				return true
			})
		}
	}
	return w, w.watch("proxy", "--no-listen"), renewals
}

// TestKeeperSaysItRunsTheSecretCommandAgainAfterAnEdit: the proxy's
// keeper, told once per environment that it gets the client secret from
// client_secret_cmd, said nothing more after an edit of the configuration
// it reads again gave the environment another command, which may ask for
// a passphrase anew. It says so again once for the new command, never
// the command nor the secret.
func TestKeeperSaysItRunsTheSecretCommandAgainAfterAnEdit(t *testing.T) {
	t.Parallel()
	w, p, renewals := keepingWithSecretCommand(t)
	renewals(2)
	w.writeConfig(strings.Replace(w.readConfig(), `"echo dev-client-secret"`, `"printf '%s\\n' dev-client-secret"`, 1))
	renewals(2)
	p.cmd.Process.Signal(syscall.SIGTERM)
	_, stderr := p.wait()
	if strings.Count(stderr, secretCommandNotice) != 2 || strings.Contains(stderr, "echo") || strings.Contains(stderr, "printf") || strings.Contains(stderr, "dev-client-secret") {
		t.Errorf("the keeper's stderr:\n%s\nwant %q twice, once per command, never the command nor the secret", stderr, secretCommandNotice)
	}
}
