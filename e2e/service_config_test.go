//go:build unix

package e2e_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestServiceProxyWaitsForAConfigurationItCanUse: the service, started
// (after a reboot, a log-in) with a configuration it cannot use (a mistake
// left in the file, the file moved away), runs the command its unit says.
// That proxy exited 2, and systemd started it again every 5 s for ever:
// clients met "connection refused", no grant was kept alive, and nothing
// said why. It now listens, answers every request 503
// configuration_unusable with the configuration's error, shows it on its
// status page, says it once on stderr (the journal), and once the file is
// fixed serves and keeps the grant alive (its token file written), with no
// restart. Started by hand, without the unit's flag, it still exits 2 at
// once, saying why.
func TestServiceProxyWaitsForAConfigurationItCanUse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		breaks, fixes func(w *world, good string)
		says          string // of the configuration's error
	}{
		{
			name:   "a mistake in the file",
			breaks: func(w *world, good string) { w.writeConfig(good + "\n[env.broken\n") },
			fixes:  func(w *world, good string) { w.writeConfig(good) },
			says:   "config.toml:",
		},
		{
			name: "the file moved away",
			breaks: func(w *world, _ string) {
				if err := os.Rename(w.config, w.config+".moved"); err != nil {
					t.Fatal(err)
				}
			},
			fixes: func(w *world, _ string) {
				if err := os.Rename(w.config+".moved", w.config); err != nil {
					t.Fatal(err)
				}
			},
			says: "config.toml does not exist",
		},
		{
			name: "a ca_file that is not there",
			breaks: func(w *world, good string) {
				w.writeConfig(fmt.Sprintf("ca_file = %q\n", filepath.Join(w.dir, "corp-ca.pem")) + good)
			},
			fixes: func(w *world, good string) { w.writeConfig(good) },
			says:  "corp-ca.pem",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, tokenFile := keptWorld(t)
			args := serviceArgs(t, w)
			good := w.readConfig()
			tc.breaks(w, good)
			addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))

			// By hand: exit 2 at once, saying why.
			r := w.run("proxy", "--listen", addr)
			if r.code != 2 || !strings.Contains(r.stderr, tc.says) {
				t.Fatalf("proxy started by hand: exit %d, want 2 saying %q:\n%s", r.code, tc.says, r.stderr)
			}

			run := w.watch(append(args, "--listen", addr)...)
			const waiting = "the proxy waits for a configuration it can use"
			run.waitSaid(t, waiting)
			for range 3 {
				resp, body := followed(t, "http://"+addr+"/dev/v2/company")
				var pr struct{ Error, Message string }
				if err := json.Unmarshal(body, &pr); err != nil {
					t.Fatalf("HTTP %d, not the proxy's JSON error: %v\n%s", resp.StatusCode, err, body)
				}
				if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("X-Freshtoken-Error") != "configuration_unusable" ||
					pr.Error != "configuration_unusable" || !strings.Contains(pr.Message, tc.says) || !strings.Contains(pr.Message, waiting) {
					t.Fatalf("a request while the configuration cannot be used: HTTP %d %s\n%s", resp.StatusCode, resp.Header, body)
				}
				if strings.Contains(string(body), "dev-client-secret") {
					t.Fatalf("the error shows the client secret:\n%s", body)
				}
			}
			resp, page := followed(t, "http://"+addr+"/")
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "The configuration could not be read: ") || !strings.Contains(string(page), tc.says) {
				t.Fatalf("status page: HTTP %d\n%s", resp.StatusCode, page)
			}
			// Not "add one with freshtoken init" beside it, as if none were
			// configured; and the commands it suggests name the unit's
			// --config, as the JSON error's do.
			if strings.Contains(string(page), "No environment is configured yet") || strings.Contains(string(page), "run &#96;freshtoken init") {
				t.Fatalf("the status page says to add an environment, or to run init without the service's --config:\n%s", page)
			}
			if _, err := os.Stat(tokenFile); err == nil {
				t.Fatal("a token file was written with no configuration to keep it by")
			}

			tc.fixes(w, good)
			run.waitSaid(t, "the configuration can be used now")
			resp, body := followed(t, "http://"+addr+"/dev/v2/company")
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "company") {
				t.Fatalf("a request once the file is fixed: HTTP %d\n%s", resp.StatusCode, body)
			}
			waitWritten(t, tokenFile, "the keeper to write the token file")
			run.cmd.Process.Signal(syscall.SIGTERM)
			stderr := run.waitExit(t, 143)
			if n := strings.Count(stderr, waiting); n != 1 {
				t.Errorf("the reason was logged %d times; want once:\n%s", n, stderr)
			}
		})
	}
}

// serviceArgs are the arguments the systemd unit that `freshtoken
// [global flags] service install` writes runs freshtoken with.
func serviceArgs(t *testing.T, w *world, global ...string) []string {
	t.Helper()
	out := w.mustRun(append(global, "service", "install", "--dry-run", "--os", "linux")...).stdout
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, "ExecStart="); ok {
			fields := strings.Fields(rest)
			if strings.ContainsAny(rest, `"\`) || fields[0] != binary {
				t.Fatalf("an ExecStart= this test does not read: %s", line)
			}
			return fields[1:]
		}
	}
	t.Fatalf("no ExecStart= in the unit:\n%s", out)
	return nil
}

// TestKeeperAloneWaitsForAConfigurationItCanUse: a keeper alone (`proxy
// --no-listen --wait-for-config`, a service of one's own making that serves
// nothing) started with a configuration it cannot use says why once, and
// keeps the grant alive (its token file written) once the file is fixed;
// without the flag it exits 2 at once.
func TestKeeperAloneWaitsForAConfigurationItCanUse(t *testing.T) {
	t.Parallel()
	w, tokenFile := keptWorld(t)
	good := w.readConfig()
	w.writeConfig(good + "\n[env.broken\n")
	if r := w.run("proxy", "--no-listen"); r.code != 2 || !strings.Contains(r.stderr, "config.toml:") {
		t.Fatalf("a keeper started by hand: exit %d, want 2 saying why:\n%s", r.code, r.stderr)
	}
	run := w.watch("proxy", "--no-listen", "--wait-for-config")
	const waiting = "the proxy waits for a configuration it can use"
	run.waitSaid(t, waiting)
	w.writeConfig(good)
	run.waitSaid(t, "freshtoken keeping environment dev alive")
	waitWritten(t, tokenFile, "the keeper to write the token file")
	run.cmd.Process.Signal(syscall.SIGTERM)
	if stderr := run.waitExit(t, 143); strings.Count(stderr, waiting) != 1 {
		t.Errorf("the reason was not logged once:\n%s", stderr)
	}
}

// TestServiceProxyKeepsGrantsAliveWhileItsPortIsBusy: the service started
// while another program holds its address (a program of the user's on
// 8787) exited 2, and systemd started it again every 5 s for ever: no grant
// was kept alive and no token file written for as long as the address was
// held. It now says so once, keeps every grant alive meanwhile, and serves
// as soon as the address is free, with no restart. Started by hand, without
// the unit's flag, it still exits 2 at once, saying why.
func TestServiceProxyKeepsGrantsAliveWhileItsPortIsBusy(t *testing.T) {
	t.Parallel()
	w, tokenFile := keptWorld(t)
	args := serviceArgs(t, w)
	// Not a port the system picks: one it picked for held would be free,
	// once held closes, for a connection of any program to take as its own
	// end, and the proxy would find it in use again (for a minute after
	// that connection's end, TIME_WAIT).
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	held, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}

	r := w.run("proxy", "--listen", addr)
	if r.code != 2 || !strings.Contains(r.stderr, "address already in use") {
		t.Fatalf("proxy started by hand: exit %d, want 2 saying the address is in use:\n%s", r.code, r.stderr)
	}

	run := w.watch(append(args, "--listen", addr)...)
	const busy = "address already in use"
	run.waitSaid(t, busy)
	waitWritten(t, tokenFile, "the keeper to write the token file while the address is held")
	held.Close()
	run.waitSaid(t, "freshtoken proxy running at")
	resp, body := followed(t, "http://"+addr+"/dev/v2/company")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "company") {
		t.Fatalf("a request once the address is free: HTTP %d\n%s", resp.StatusCode, body)
	}
	run.cmd.Process.Signal(syscall.SIGTERM)
	stderr := run.waitExit(t, 143)
	if n := strings.Count(stderr, busy); n != 1 {
		t.Errorf("the busy address was logged %d times; want once:\n%s", n, stderr)
	}
}

// keptWorld is a world logged in whose token_file the keeper is to write:
// none is there yet.
func keptWorld(t *testing.T) (w *world, tokenFile string) {
	tokenFile = filepath.Join(t.TempDir(), "token")
	w = newWorld(t, devprovider.Options{AccessTTL: time.Hour}, fmt.Sprintf("token_file = %q\n", tokenFile))
	w.login()
	os.Remove(tokenFile)
	return w, tokenFile
}

// waitWritten waits until the token file holds something, for what.
func waitWritten(t *testing.T, tokenFile, what string) {
	t.Helper()
	testenv.WaitFor(t, what, func() bool {
		data, err := os.ReadFile(tokenFile)
		return err == nil && len(data) > 0
	})
}

// TestServiceLogsAsInstallWasAsked: `freshtoken --debug --log-format json
// --log-file PATH service install`, the way a person asks for the
// service's debug log, gives a service whose proxy writes JSON debug lines
// to PATH, the keeper's among them, with no secret: the flags were dropped,
// and the service logged warnings alone, to the journal. Installed without
// them, the service runs without them.
func TestServiceLogsAsInstallWasAsked(t *testing.T) {
	t.Parallel()
	w, tokenFile := keptWorld(t)
	logFile := filepath.Join(t.TempDir(), "service.log")
	args := serviceArgs(t, w, "--debug", "--log-format", "json", "--log-file", logFile)
	run := w.watch(append(args, "--listen", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))...)
	waitWritten(t, tokenFile, "the keeper to write the token file")
	run.cmd.Process.Signal(syscall.SIGTERM)
	run.waitExit(t, 143)
	logged, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var debug int
	for line := range strings.Lines(string(logged)) {
		var l struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("a log line that is not JSON: %v\n%s", err, line)
		}
		if l.Level == "DEBUG" {
			debug++
		}
	}
	if debug == 0 || !strings.Contains(string(logged), "keeper: token file written") {
		t.Fatalf("the service's log holds no debug line of the keeper's:\n%s", logged)
	}
	token, _ := os.ReadFile(tokenFile)
	if tok := strings.TrimSpace(string(token)); tok == "" || strings.Contains(string(logged), tok) || strings.Contains(string(logged), "dev-client-secret") {
		t.Fatalf("the service's log shows a secret:\n%s", logged)
	}
	if plain := serviceArgs(t, w); slices.ContainsFunc(plain, func(a string) bool { return strings.HasPrefix(a, "--log") || a == "--debug" }) {
		t.Fatalf("installed without logging flags, the service runs %q", plain)
	}
}
