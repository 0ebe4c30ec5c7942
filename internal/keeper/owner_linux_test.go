package keeper

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// procKeeper, set, makes the test binary the keeper's process of
// TestAConfigurationReadThroughProcSelfIsNamedForEveryProcess: the ledger,
// the token file and the configuration file, one a line.
const procKeeper = "FRESHTOKEN_TEST_PROC_KEEPER"

// TestAConfigurationReadThroughProcSelfIsNamedForEveryProcess: a keeper
// started with --config /proc/self/fd/3 whose configuration file was then
// deleted (still read through its descriptor) noted its token file as
// written for /proc/self/fd/3, which names another file in every other
// process: their status said the file was kept for "environment dev of
// /proc/self/fd/3", and a log-out of another configuration whose own
// descriptor 3 was that configuration file removed the file the keeper
// kept. It is now noted for /proc/PID/fd/3, kept while that keeper runs.
func TestAConfigurationReadThroughProcSelfIsNamedForEveryProcess(t *testing.T) {
	if args := os.Getenv(procKeeper); args != "" {
		runProcKeeper(t, strings.Split(args, "\n"))
		return
	}
	ledger, file := procTokenFile(t)
	keeper := testenv.RunAgain(t, procKeeper+"="+ledger+"\n"+file+"\n"+configFile(t, "a.toml"))
	if line, err := keeper.Stdout.ReadString('\n'); line != "noted\n" {
		t.Fatalf("the keeper's process said %q, %v", line, err)
	}
	b := NewOwner(configFile(t, "b.toml"), "dev")
	removed, keptBy, err := ForgetTokenFile(context.Background(), file, "", ledger, b)
	if want := fmt.Sprintf("/proc/%d/fd/", keeper.Process.Pid); removed || err != nil || !strings.HasPrefix(keptBy.Config, want) {
		t.Fatalf("b's log-out: ForgetTokenFile = %v, %v, %v; want the file left, kept for a configuration under %s", removed, keptBy, err, want)
	}
	keeper.End()
	if removed, _, err := ForgetTokenFile(context.Background(), file, "", ledger, b); !removed || err != nil {
		t.Fatalf("b's log-out with that keeper gone: ForgetTokenFile = %v, %v; want the file removed", removed, err)
	}
}

// runProcKeeper is the keeper's process: it reads its configuration
// through /proc/self/fd, deletes it, notes the token file as written for
// it, and runs until its stdin closes.
func runProcKeeper(t *testing.T, args []string) {
	ledger, file, config := args[0], args[1], args[2]
	f, err := os.Open(config)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Remove(config); err != nil {
		t.Fatal(err)
	}
	by := NewOwner(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), "dev")
	if err := noteWritten(ledger, file, "access-token-1234567890\n", by, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fmt.Println("noted")
	io.Copy(io.Discard, os.Stdin)
}

// TestAClaimOfAKeeperThatEndedIsNotTheNextProcessOfItsNumber: a keeper
// whose configuration, read through /proc/self/fd/3, was deleted notes its
// token file as written for /proc/PID/fd/3. Once it ended, another process
// given that number (with a descriptor 3 of its own, as most have) made
// the claim hold again: status and the proxy's page said the file was kept
// for that configuration, and a log-out of the file's next user left it
// behind. The claim now holds for the process that noted it alone.
func TestAClaimOfAKeeperThatEndedIsNotTheNextProcessOfItsNumber(t *testing.T) {
	ledger, file := procTokenFile(t)
	// The process now given the ended keeper's number, with a
	// descriptor 3: a real one, running until its stdin closes.
	other, err := os.Open(configFile(t, "other.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	cmd := exec.Command("cat")
	cmd.ExtraFiles = []*os.File{other}
	running, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("no cat here: %v", err)
	}
	defer cmd.Wait()
	defer running.Close()
	pid := fmt.Sprint(cmd.Process.Pid)
	if processStarted(pid) == "" {
		t.Fatalf("processStarted(%s) is empty for a running process", pid)
	}
	ended := Owner{Config: "/proc/" + pid + "/fd/3", Env: "dev", started: "the ended keeper's start"}
	if err := noteWritten(ledger, file, "access-token-1234567890\n", ended, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b := NewOwner(configFile(t, "b.toml"), "dev")
	if problem := TokenFileProblem(ledger, file, b, time.Now()); problem != "" {
		t.Errorf("b's status says %q; want nothing: the keeper that kept the file has ended", problem)
	}
	if removed, keptBy, err := ForgetTokenFile(context.Background(), file, "", ledger, b); !removed || err != nil {
		t.Fatalf("b's log-out: ForgetTokenFile = %v, %v, %v; want the file removed", removed, keptBy, err)
	}
}

// procTokenFile is a ledger not made yet and a token file holding an
// access token as the keeper writes it, for a test of /proc/PID/fd names;
// the test is skipped where there is no /proc.
func procTokenFile(t *testing.T) (ledger, file string) {
	t.Helper()
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	ledger = filepath.Join(t.TempDir(), "freshtoken", "token-files")
	file = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("access-token-1234567890\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return ledger, file
}
