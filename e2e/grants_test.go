//go:build unix

package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// deviceWorld is a world whose environment logs in with the device grant.
func deviceWorld(t *testing.T) *world {
	t.Helper()
	return deviceWorldWith(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: time.Second})
}

// deviceWorldWith is deviceWorld with a provider of popts.
func deviceWorldWith(t *testing.T, popts devprovider.Options) *world {
	t.Helper()
	w := newWorld(t, popts, "")
	w.writeConfig(w.readConfig() + "grant = \"device_code\"\ndevice_auth_url = \"" + w.api + "v2/device_authorization\"\n")
	return w
}

var codeLine = regexp.MustCompile(`enter the code ([A-Z]{4}-[A-Z]{4}):`)

// startDeviceLogin starts `freshtoken login` with args and returns it with
// the user code it printed.
func (w *world) startDeviceLogin(args ...string) (*watched, string) {
	w.t.Helper()
	p := w.watch(append([]string{"login", "--no-browser"}, args...)...)
	return p, p.stderr.WaitFor(w.t, "the user code", codeLine)[1]
}

// TestGrantLogsNeverContainSecrets: a device log-in and client-credentials
// tokens, with --debug, show no device code, token or client secret.
func TestGrantLogsNeverContainSecrets(t *testing.T) {
	t.Parallel()
	w := deviceWorld(t)
	rc, code := w.startDeviceLogin("--debug")
	if err := w.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	all := rc.waitExit(t, 0)
	all += w.mustRun("--debug", "token", "--force").stderr

	machine := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, `grant = "client_credentials"`)
	all += machine.mustRun("--debug", "get", "/v2/company").stderr
	machine.provider.RevokeAccessTokens()
	all += machine.mustRun("--debug", "get", "/v2/company").stderr
	for _, want := range []string{"device authorization answered", "device poll", "grant_type=client_credentials", "401 from the API"} {
		if !strings.Contains(all, want) {
			t.Fatalf("the debug log lacks %q:\n%s", want, all)
		}
	}
	for _, s := range append(append(w.provider.Secrets(), machine.provider.Secrets()...), "dev-client-secret") {
		if strings.Contains(all, s) {
			t.Fatalf("a secret (%.8s…) appears in the logs", s)
		}
	}
}

// TestDeviceLoginSaysFirstWhereTokensCannotGo: a token folder that cannot
// be made is said before the device log-in shows its code, as before the
// browser's; the person approved, and then the tokens were lost.
func TestDeviceLoginSaysFirstWhereTokensCannotGo(t *testing.T) {
	w := deviceWorld(t)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w.writeConfig(strings.Replace(w.readConfig(), "file://"+w.store, "file://"+filepath.Join(file, "tokens"), 1))
	r := w.run("login", "--no-browser", "--timeout", "3s")
	if r.code != 2 || strings.Contains(r.stderr, "enter the code") || !strings.Contains(r.stderr, "cannot be made") {
		t.Fatalf("login: exit %d, stderr %q; want exit 2 saying the token folder cannot be made, before any code", r.code, r.stderr)
	}
	if st := w.provider.Stats(); st.DeviceAuthorizations != 0 {
		t.Fatalf("provider saw %+v; want no device log-in started", st)
	}
}

// TestTwoDeviceLoginsAtOnce: of two device log-ins started at once (two
// terminals), the one approved stores the tokens, and the other stops
// waiting at its next poll, saying the environment is logged in: it kept
// saying it was waiting until its code expired, then that the log-in had
// failed (exit 3), with the environment logged in.
func TestTwoDeviceLoginsAtOnce(t *testing.T) {
	t.Parallel()
	w := deviceWorldWith(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: time.Second, DeviceCodeTTL: 30 * time.Second})
	first, _ := w.startDeviceLogin()
	second, code := w.startDeviceLogin()
	if err := w.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	second.waitExit(t, 0)
	began := time.Now()
	if out := first.waitExit(t, 0); !strings.Contains(out, "was logged in another way meanwhile") {
		t.Fatalf("the other log-in said %q; want it to say the environment was logged in meanwhile", out)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("the other log-in took %s to stop; it should at its next poll", took)
	}
	w.mustRun("token")
}

// TestDeviceLoginSeesALogInElsewhereRenewedMeanwhile: as above, the other
// log-in's tokens being renewed before this one's next poll (`token
// --force`, a request that met a 401): it took them for a renewal, no
// log-in, and waited until its code expired, then failed (exit 3).
func TestDeviceLoginSeesALogInElsewhereRenewedMeanwhile(t *testing.T) {
	t.Parallel()
	w := deviceWorldWith(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: 3 * time.Second, DeviceCodeTTL: 30 * time.Second})
	first, _ := w.startDeviceLogin()
	second, code := w.startDeviceLogin()
	if err := w.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	second.waitExit(t, 0)
	w.mustRun("token", "--force")
	if out := first.waitExit(t, 0); !strings.Contains(out, "was logged in another way meanwhile") {
		t.Fatalf("the other log-in said %q; want it to say the environment was logged in meanwhile", out)
	}
}

// TestCtrlCStopsADeviceLogin: Ctrl-C while a device log-in waits exits 130
// at once, storing nothing.
func TestCtrlCStopsADeviceLogin(t *testing.T) {
	w := deviceWorld(t)
	rc, _ := w.startDeviceLogin()
	rc.cmd.Process.Signal(os.Interrupt)
	if out := rc.waitExit(t, 130); !strings.Contains(out, "log-in abandoned") {
		t.Fatalf("stderr %q; want it to say the log-in was abandoned", out)
	}
	if _, err := os.Stat(w.storeFile()); !os.IsNotExist(err) {
		t.Fatalf("the interrupted log-in left %s (%v)", w.storeFile(), err)
	}
}

// TestDeviceLoginThroughDiscovery: with issuer and no device_auth_url, the
// device authorization endpoint comes from the discovery document.
func TestDeviceLoginThroughDiscovery(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: time.Second}, "")
	conf := "[store]\nurl = \"file://" + w.store + "\"\n\n[env.dev]\nprovider = \"generic\"\napi_url = \"" + w.api +
		"\"\nissuer = \"" + strings.TrimSuffix(w.api, "/") + "\"\ngrant = \"device_code\"\nclient_id = \"dev-client-id\"\nclient_secret_env = \"DEV_SECRET\"\n"
	w.writeConfig(conf)
	rc, code := w.startDeviceLogin()
	if err := w.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	rc.waitExit(t, 0)
	w.mustRun("token", "--force")
	if st := w.provider.Stats(); st.Discoveries == 0 || st.DeviceLogins != 1 || st.Refreshes != 1 {
		t.Fatalf("provider saw %+v; want the endpoints discovered, one device log-in and a refresh", st)
	}
}

// TestLoginWithoutTheDiscoveredEndpointItNeeds: an issuer whose discovery
// document names a token endpoint but not the one the log-in starts at
// (authorization_endpoint for a browser log-in, device_authorization_endpoint
// for a device log-in) is a configuration error naming the key to set, at
// once. The browser log-in printed a URL of its query alone ("?client_id=…")
// and waited for a callback that could never come; the device log-in said to
// check the client's credentials.
func TestLoginWithoutTheDiscoveredEndpointItNeeds(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(rw http.ResponseWriter, r *http.Request) {
		json.NewEncoder(rw).Encode(map[string]string{"issuer": srv.URL, "token_endpoint": srv.URL + "/token"})
	})
	for _, tc := range []struct{ grant, key, set string }{
		{"authorization_code", "authorization_endpoint", "auth_url"},
		{"device_code", "device_authorization_endpoint", "device_auth_url"},
	} {
		t.Run(tc.grant, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{}, "")
			w.writeConfig(fmt.Sprintf("[store]\nurl = \"file://%s\"\n\n[env.dev]\nprovider = \"generic\"\napi_url = %q\nissuer = %q\ngrant = %q\nclient_id = \"id\"\nclient_secret_env = \"DEV_SECRET\"\nredirect_uri = \"http://127.0.0.1:%d/callback\"\n",
				w.store, w.api, srv.URL, tc.grant, testenv.FreePort(t)))
			began := time.Now()
			r := w.run("login", "--no-browser", "--timeout", "30s")
			if r.code != 2 || !strings.Contains(r.stderr, "names no "+tc.key) || !strings.Contains(r.stderr, "set "+tc.set) ||
				strings.Contains(r.stderr, "check client_id") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Fatalf("login: exit %d\n%s\nwant exit 2 on one line naming %s and saying to set %s", r.code, r.stderr, tc.key, tc.set)
			}
			if took := time.Since(began); took > 15*time.Second {
				t.Fatalf("login took %s to say so; it waited for a callback that could not come", took)
			}
		})
	}
}
