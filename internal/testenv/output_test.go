package testenv_test

import (
	"fmt"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestOutputWaitsForALine: a line a running command prints is waited for
// and returned with its submatches, and everything printed is kept.
func TestOutputWaitsForALine(t *testing.T) {
	out := testenv.NewOutput()
	cmd := exec.Command("sh", "-c", "echo starting; echo 'code: ABCD-EFGH'; echo done")
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); out.Close() }()
	m := out.WaitFor(t, "the code", regexp.MustCompile(`code: ([A-Z]{4}-[A-Z]{4})`))
	if m[1] != "ABCD-EFGH" {
		t.Errorf("WaitFor returned %q", m)
	}
	<-out.Closed()
	if got := out.String(); got != "starting\ncode: ABCD-EFGH\ndone\n" {
		t.Errorf("the output kept %q", got)
	}
}

// fatalRecorder is a test that records its Fatalf instead of failing.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestOutputSaysWhatNeverCame: when the command ends without printing what
// the test waits for, WaitFor fails at once, naming it and showing what was
// printed.
func TestOutputSaysWhatNeverCame(t *testing.T) {
	out := testenv.NewOutput()
	out.Write([]byte("something else\n"))
	out.Close()
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		out.WaitFor(rec, "the user code", regexp.MustCompile(`code: \S+`))
	}()
	<-done
	if !strings.Contains(rec.msg, "ended without printing the user code") || !strings.Contains(rec.msg, "something else") {
		t.Errorf("WaitFor failed with %q", rec.msg)
	}
}
