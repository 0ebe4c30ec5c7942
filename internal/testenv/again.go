package testenv

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// A Copy is a copy of the test binary running the calling test again, to
// play a process of its own (a lock holder, a keeper, a proxy short of
// files).
type Copy struct {
	*exec.Cmd
	Stdout *bufio.Reader // what the copy prints
	t      testing.TB
	stdin  io.Closer
	ended  sync.Once
}

// RunAgain starts the calling test (or subtest) again, alone, in a Copy,
// with env added to its environment (by which the copy knows it is one)
// and its standard error on this process's. The copy is to end when its
// standard input closes: at End, or when the test ends.
func RunAgain(t testing.TB, env ...string) *Copy {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+onlyTest(t.Name()), "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Copy{Cmd: cmd, Stdout: bufio.NewReader(stdout), t: t, stdin: stdin}
	t.Cleanup(c.End)
	return c
}

// onlyTest is the -test.run pattern that selects the test named name
// alone: each level of a subtest's name matched whole, as written.
func onlyTest(name string) string {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		levels[i] = "^" + regexp.QuoteMeta(l) + "$"
	}
	return strings.Join(levels, "/")
}

// End closes the copy's standard input, reads what more it prints (the
// test's verdict), and waits for it to end: a copy that failed fails the
// test, showing what it printed. After the first, it does nothing. It is
// called once the test has read what it wanted of Stdout.
func (c *Copy) End() {
	c.ended.Do(func() {
		c.stdin.Close()
		rest, _ := io.ReadAll(c.Stdout)
		if err := c.Wait(); err != nil {
			c.t.Errorf("the copy of %s running on its own failed (%v); it printed:\n%s", c.t.Name(), err, rest)
		}
	})
}
