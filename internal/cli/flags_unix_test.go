//go:build unix

package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLogFileThatCannotBeOpened: a --log-file that cannot be opened is a
// usage error (exit 2) on one line saying what to name instead, at once. A
// named pipe that nothing reads held every command, `token` included, for
// ever (opening it waits for a reader, and no signal but SIGKILL ends that
// wait); a folder, or a file in a folder that does not exist, was Go's
// "open …: is a directory" with nothing to do.
func TestLogFileThatCannotBeOpened(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "logs", "freshtoken.log")
	for name, c := range map[string]struct{ path, want string }{
		"a named pipe nothing reads": {fifo, "--log-file " + fifo + " is a named pipe that nothing reads; start its reader first, or name a file"},
		"a folder":                   {dir, "--log-file " + dir + " is a folder; name a file in it, such as " + filepath.Join(dir, "freshtoken.log")},
		"in a missing folder":        {missing, "--log-file " + missing + ": the folder " + filepath.Dir(missing) + " does not exist; make it, or name a file in a folder that does"},
	} {
		t.Run(name, func(t *testing.T) {
			f := testFactory()
			f.LogFile = c.path
			done := make(chan error, 1)
			go func() { done <- f.setupLogging() }()
			select {
			case err := <-done:
				if err == nil || err.Error() != c.want || ExitCode(err) != ExitUsage {
					t.Fatalf("err = %v (exit %d); want %q, exit %d", err, ExitCode(err), c.want, ExitUsage)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still opening the log file after 10 s")
			}
		})
	}
	// A named pipe with a reader (`--log-file >(tee log)`) is written to.
	reader, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	f := testFactory()
	f.LogFile = fifo
	if err := f.setupLogging(); err != nil {
		t.Fatal(err)
	}
	defer f.close()
	f.Logger().Warn("through the pipe")
	if err := syscall.SetNonblock(int(reader.Fd()), false); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(reader).ReadString('\n'); err != nil || !strings.Contains(line, "through the pipe") {
		t.Fatalf("the reader got %q, %v", line, err)
	}
}
