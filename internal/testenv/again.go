package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"testing"
)

// RunAgain starts the calling test again in a copy of the test binary,
// with env added to its environment (by which the copy knows it is one)
// and its standard error on this process's. It returns the copy and what
// the copy prints. The copy's standard input closes when the test ends,
// which is the copy's sign to end; the test waits for it.
func RunAgain(t *testing.T, env ...string) (*exec.Cmd, *bufio.Reader) {
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
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	return cmd, bufio.NewReader(stdout)
}
