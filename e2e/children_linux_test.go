package e2e_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// endedWithTests has the command killed when the test process ends, however
// it ends: a test that panics, or the whole run timed out, runs no cleanup
// and ends the process at once, with every parallel test's commands still
// running.
func endedWithTests(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// TestNoFreshtokenOutlivesATestThatPanicked: the freshtoken a test started
// ends with the test process when another test panics. Only the panicking
// test's own cleanups run, and the tests beside it left their commands
// running: a proxy kept its port and files after the run had failed.
func TestNoFreshtokenOutlivesATestThatPanicked(t *testing.T) {
	t.Parallel()
	if os.Getenv("E2E_PANIC") != "" {
		running := make(chan struct{})
		t.Run("a proxy", func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, devprovider.Options{}, "")
			alive := os.NewFile(3, "alive") // the test's pipe, held open while freshtoken runs
			p := w.watchWith(func(c *exec.Cmd) { c.ExtraFiles = []*os.File{alive} },
				"proxy", "--listen", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
			p.waitSaid(t, "freshtoken proxy running at")
			fmt.Println(p.cmd.Process.Pid)
			close(running)
			p.wait()
		})
		t.Run("a panic", func(t *testing.T) {
			t.Parallel()
			<-running
			panic("a test that panics")
		})
		return
	}
	r, alive, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	panicked := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.parallel=2")
	// A panic removes nothing: the copy uses this test's binary and folder.
	panicked.Env = append(os.Environ(), "E2E_PANIC=1", "E2E_BINARY="+binary, "TMPDIR="+t.TempDir())
	panicked.ExtraFiles = []*os.File{alive}
	var out bytes.Buffer
	panicked.Stdout, panicked.Stderr = &out, &out
	err = panicked.Run()
	alive.Close()
	pid, perr := strconv.Atoi(strings.SplitN(out.String(), "\n", 2)[0])
	if err == nil || perr != nil || !strings.Contains(out.String(), "a test that panics") {
		t.Fatalf("the test that was to start freshtoken and panic: %v; it printed:\n%s", err, out.String())
	}
	r.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.Copy(io.Discard, r); errors.Is(err, os.ErrDeadlineExceeded) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("freshtoken (pid %d) still ran 30 s after the test that started it panicked", pid)
	} else if err != nil {
		t.Fatal(err)
	}
}
