package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestSecretQuestionStoppedAsItIsAsked: a signal (Ctrl-C, a script's
// SIGTERM) as init asks for the client secret leaves the terminal showing
// what is typed, also once the read it leaves behind waits at the
// terminal. Echo was turned off by that read, which could come after the
// question had put the terminal back: echo stayed off in the shell.
func TestSecretQuestionStoppedAsItIsAsked(t *testing.T) {
	ptmx, p := terminalPrompter(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the signal came as the question was asked
	if _, err := p.readSecret(ctx, func() {}); !errors.Is(err, context.Canceled) {
		t.Fatalf("the secret question stopped: %v; want it interrupted", err)
	}
	testenv.WaitFor(t, "the read left behind to wait at the terminal", func() bool { return readingFd(p.fd) })
	if tio, err := unix.IoctlGetTermios(p.fd, unix.TCGETS); err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Errorf("echo is off (%v) once the secret question was stopped", err)
	}
	ptmx.Write([]byte("\n")) // ends the read left behind
}

// readingFd reports whether a thread of this process waits in a read of fd.
func readingFd(fd int) bool {
	tasks, _ := filepath.Glob("/proc/self/task/*/syscall")
	want := fmt.Sprintf("%d 0x%x ", unix.SYS_READ, fd)
	for _, task := range tasks {
		if b, err := os.ReadFile(task); err == nil && strings.HasPrefix(string(b), want) {
			return true
		}
	}
	return false
}
