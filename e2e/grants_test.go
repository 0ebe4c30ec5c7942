package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
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
// the user code it printed, and a reader of the rest of its stderr.
func (w *world) startDeviceLogin(args ...string) (*runningCmd, string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	w.t.Cleanup(cancel)
	cmd := w.command(ctx, append([]string{"login", "--no-browser"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	rc := &runningCmd{cmd: cmd, rd: bufio.NewReader(stderr)}
	for {
		line, err := rc.rd.ReadString('\n')
		rc.stderr.WriteString(line)
		if m := codeLine.FindStringSubmatch(line); m != nil {
			return rc, m[1]
		}
		if err != nil {
			w.t.Fatalf("login printed no code: %v\n%s", err, rc.stderr.String())
		}
	}
}

// TestGrantLogsNeverContainSecrets: a device log-in and client-credentials
// tokens, with --debug, show no device code, token or client secret.
func TestGrantLogsNeverContainSecrets(t *testing.T) {
	w := deviceWorld(t)
	rc, code := w.startDeviceLogin("--debug")
	if err := w.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	all := rc.wait(t, 0)
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

// TestCtrlCStopsADeviceLogin: Ctrl-C while a device log-in waits exits 130
// at once, storing nothing.
func TestCtrlCStopsADeviceLogin(t *testing.T) {
	w := deviceWorld(t)
	rc, _ := w.startDeviceLogin()
	rc.cmd.Process.Signal(os.Interrupt)
	if out := rc.wait(t, 130); !strings.Contains(out, "log-in abandoned") {
		t.Fatalf("stderr %q; want it to say the log-in was abandoned", out)
	}
	if _, err := os.Stat(w.storeFile()); !os.IsNotExist(err) {
		t.Fatalf("the interrupted log-in left %s (%v)", w.storeFile(), err)
	}
}

// runningCmd is a freshtoken process whose stderr is being read.
type runningCmd struct {
	cmd    *exec.Cmd
	rd     *bufio.Reader
	stderr bytes.Buffer
}

// wait reads the rest of stderr, waits for the process and fails the test
// unless it exited with code; it returns all of stderr.
func (rc *runningCmd) wait(t *testing.T, code int) string {
	t.Helper()
	io.Copy(&rc.stderr, rc.rd)
	rc.cmd.Wait()
	if got := rc.cmd.ProcessState.ExitCode(); got != code {
		t.Fatalf("exit %d, want %d:\n%s", got, code, rc.stderr.String())
	}
	return rc.stderr.String()
}

// TestDeviceLoginThroughDiscovery: with issuer and no device_auth_url, the
// device authorization endpoint comes from the discovery document.
func TestDeviceLoginThroughDiscovery(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: time.Second}, "")
	conf := "[store]\nurl = \"file://" + w.store + "\"\n\n[env.dev]\nprovider = \"generic\"\napi_url = \"" + w.api +
		"\"\nissuer = \"" + strings.TrimSuffix(w.api, "/") + "\"\ngrant = \"device_code\"\nclient_id = \"dev-client-id\"\nclient_secret_env = \"DEV_SECRET\"\n"
	w.writeConfig(conf)
	rc, code := w.startDeviceLogin()
	if err := w.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	rc.wait(t, 0)
	w.mustRun("token", "--force")
	if st := w.provider.Stats(); st.Discoveries == 0 || st.DeviceLogins != 1 || st.Refreshes != 1 {
		t.Fatalf("provider saw %+v; want the endpoints discovered, one device log-in and a refresh", st)
	}
}
