package e2e_test

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestStoppedLockHolderIsNamed: a `token` stopped (SIGSTOP; Ctrl-Z in a
// program that does not defer it) while it holds the renewal lock made
// every other renewal of the environment wait for ever, saying only that
// another process or machine was renewing, or the store was slow. The
// waiter now names the stopped process and how to resume it: stopped
// before the wait is told, or after.
func TestStoppedLockHolderIsNamed(t *testing.T) {
	t.Parallel()
	stoppedHolderIsNamedTo(t, "", func(*testing.T) []string { return []string{"token", "--force"} })
}

// TestStoppedLockHolderIsNamedToStoreMigrate: `store migrate`, which takes
// each environment's lock itself, names a stopped holder as renewals do:
// stopped before the wait is told, or after (it said only that another
// process or machine was renewing, and waited on in silence).
func TestStoppedLockHolderIsNamedToStoreMigrate(t *testing.T) {
	t.Parallel()
	stoppedHolderIsNamedTo(t, "dev: ", func(t *testing.T) []string {
		return []string{"store", "migrate", "--to", "file://" + filepath.Join(t.TempDir(), "moved")}
	})
}

// stoppedHolderIsNamedTo runs freshtoken with args (of each subtest)
// while another holds dev's renewal lock, stopped before the wait is told
// or after: it names the holder, its lines beginning with prefix, and ends
// once it is resumed.
func stoppedHolderIsNamedTo(t *testing.T, prefix string, args func(*testing.T) []string) {
	for _, stopAfterTold := range []bool{false, true} {
		t.Run(fmt.Sprintf("stopped after the wait is told %v", stopAfterTold), func(t *testing.T) {
			w, g := strictWorld(t)
			holder := lockHolder(t, w, g)
			if !stopAfterTold {
				stopProcess(t, holder.cmd.Process)
			}
			run := w.watch(args(t)...)
			if stopAfterTold {
				run.waitSaid(t, prefix+"waiting for the renewal lock of dev: another process or machine is renewing it")
				stopProcess(t, holder.cmd.Process)
			}
			namesStoppedThenEnds(t, prefix, holder, g, run)
		})
	}
}

// lockHolder starts a `token --force` and returns once it holds the
// renewal lock, its refresh held by g. It is resumed, and g opened, as the
// test ends, before the world's cleanups: its provider ends once the held
// refresh does.
func lockHolder(t *testing.T, w *world, g *gate) *watched {
	t.Helper()
	holder := w.watch("token", "--force")
	g.wait(t)
	t.Cleanup(func() {
		holder.cmd.Process.Signal(syscall.SIGCONT)
		g.open()
	})
	return holder
}

// namesStoppedThenEnds checks that run, waiting for the lock that the
// stopped holder holds, names it (its line starting with prefix), then
// resumes the holder, lets its refresh go, and checks that both end well.
func namesStoppedThenEnds(t *testing.T, prefix string, holder *watched, g *gate, run *watched) {
	t.Helper()
	pid := holder.cmd.Process.Pid
	run.waitSaid(t, fmt.Sprintf("%swaiting for the renewal lock of dev: process %d (freshtoken) holds it and is stopped (Ctrl-Z?): resume it (`fg`, or `kill -CONT %d`) or end it", prefix, pid, pid))
	holder.cmd.Process.Signal(syscall.SIGCONT)
	g.open()
	holder.waitExit(t, 0)
	run.waitExit(t, 0)
}

// TestStoppedLockHolderIsShown: a stopped process holding an environment's
// renewal lock made every renewal wait for it (Postman's calls through the
// proxy hung), yet `status` showed all well, `status --json` said nothing,
// and neither did the proxy's page. Each now names the holder, by its name
// alone (never its arguments), and how to resume it, in the words a
// renewal's wait uses, without waiting for the lock; and says nothing once
// it runs again.
func TestStoppedLockHolderIsShown(t *testing.T) {
	w, g := strictWorld(t)
	holder := lockHolder(t, w, g)
	stopProcess(t, holder.cmd.Process)
	pid := holder.cmd.Process.Pid
	stuck := fmt.Sprintf("the renewal lock of dev: process %d (freshtoken) holds it and is stopped (Ctrl-Z?): resume it (`fg`, or `kill -CONT %d`) or end it", pid, pid)

	text := w.mustRun("status")
	if !strings.Contains(text.stdout, "\n  problem:        "+stuck+"\n") {
		t.Errorf("status:\n%s\nwant a problem row: %s", text.stdout, stuck)
	}
	var got []struct {
		Env              string `json:"env"`
		RenewalLockStuck string `json:"renewal_lock_stuck"`
	}
	if err := json.Unmarshal([]byte(w.mustRun("status", "--json").stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RenewalLockStuck != stuck {
		t.Errorf("status --json: %+v; want renewal_lock_stuck %q", got, stuck)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	w.startDaemon("proxy", "--listen", addr)
	var page string
	testenv.WaitFor(t, "the proxy's status page", func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page = string(b)
		return resp.StatusCode == http.StatusOK
	})
	if want := `<p class="problem" id="lock-dev"><strong>Renewals wait:</strong> ` + html.EscapeString(stuck) + `</p>`; !strings.Contains(page, want) {
		t.Errorf("the proxy's page does not name the stopped holder: want %s in\n%s", want, page)
	}

	holder.cmd.Process.Signal(syscall.SIGCONT)
	if text := w.mustRun("status"); strings.Contains(text.stdout, "renewal lock") {
		t.Errorf("status, the holder running again:\n%s", text.stdout)
	}
	g.open()
	holder.waitExit(t, 0)
}
