package testenv

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// A Copy is a copy of the test binary running the calling test again, to
// play a process of its own (a lock holder, a keeper, a proxy short of
// files).
type Copy struct {
	*exec.Cmd
	Stdout *bufio.Reader // what the copy prints
	stdin  io.Closer
	ended  sync.Once
}

// RunAgain starts the calling test again in a Copy, with env added to its
// environment (by which the copy knows it is one) and its standard error
// on this process's. The copy is to end when its standard input closes:
// at End, or when the test ends.
func RunAgain(t *testing.T, env ...string) *Copy {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
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
	c := &Copy{Cmd: cmd, Stdout: bufio.NewReader(stdout), stdin: stdin}
	t.Cleanup(c.End)
	return c
}

// End closes the copy's standard input and waits for it to end; after
// the first, it does nothing.
func (c *Copy) End() {
	c.ended.Do(func() {
		c.stdin.Close()
		c.Wait()
	})
}
