package testenv_test

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// copyOf, set, makes the test binary the copy that RunAgain runs.
const copyOf = "FRESHTOKEN_TEST_COPY"

// errorRecorder is a test that records its Errorf instead of failing.
type errorRecorder struct {
	testing.TB
	msg string
}

func (e *errorRecorder) Errorf(format string, args ...any) { e.msg = fmt.Sprintf(format, args...) }

// TestRunAgainTellsOfACopyThatFailed: a copy whose test fails after it
// said what the test waited for fails the test at End, showing what it
// printed. Its failure went unseen: its verdict was printed to a pipe no
// one read, and its exit status dropped.
func TestRunAgainTellsOfACopyThatFailed(t *testing.T) {
	if os.Getenv(copyOf) != "" {
		fmt.Println("started")
		io.Copy(io.Discard, os.Stdin)
		t.Error("the copy's own check failed")
		return
	}
	rec := &errorRecorder{TB: t}
	c := testenv.RunAgain(rec, copyOf+"=1")
	if line, err := c.Stdout.ReadString('\n'); line != "started\n" {
		t.Fatalf("the copy said %q, %v", line, err)
	}
	c.End()
	if !strings.Contains(rec.msg, "running on its own failed") || !strings.Contains(rec.msg, "the copy's own check failed") {
		t.Errorf("End reported %q; want the copy's failure, and what it printed", rec.msg)
	}
}

// TestRunAgainRunsASubtestAlone: a subtest whose name holds what a
// pattern takes for more than letters (parentheses, a plus) runs again,
// alone: its name was put in -test.run as a pattern, which matched no
// test, and the copy ran nothing.
func TestRunAgainRunsASubtestAlone(t *testing.T) {
	for _, name := range []string{"a copy (1+1)", "a copy"} {
		t.Run(name, func(t *testing.T) {
			if os.Getenv(copyOf) != "" {
				fmt.Println(t.Name())
				return
			}
			c := testenv.RunAgain(t, copyOf+"=1")
			if line, err := c.Stdout.ReadString('\n'); line != t.Name()+"\n" {
				t.Fatalf("the copy said %q, %v; want its name, %q", line, err, t.Name())
			}
			if line, err := c.Stdout.ReadString('\n'); line != "PASS\n" {
				t.Fatalf("the copy then said %q, %v; want PASS, no other test run", line, err)
			}
		})
	}
}
