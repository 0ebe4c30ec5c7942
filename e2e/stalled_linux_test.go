//go:build unix

package e2e_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// stalledPipe is a pipe of one page whose reader reads only when the test
// does, as `| sleep 1000` never does; the test holds its write end too, to
// fill it (fill).
type stalledPipe struct {
	r, w *os.File
	size int
}

func newStalledPipe(t *testing.T) *stalledPipe {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	size, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 4096)
	if err != nil {
		t.Fatal(err)
	}
	return &stalledPipe{r: r, w: w, size: size}
}

// held is how many bytes the pipe holds, unread.
func (p *stalledPipe) held(t *testing.T) int {
	t.Helper()
	n, err := unix.IoctlGetInt(int(p.r.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFull waits until a writer has filled the pipe: its next write waits.
func (p *stalledPipe) waitFull(t *testing.T) {
	t.Helper()
	testenv.WaitFor(t, "the output's pipe to fill up", func() bool { return p.held(t) == p.size })
}

// sleepingReader starts `sleep 1000` reading the pipe, in run's process
// group as the last command of run's pipeline is, and leaves it the pipe's
// only reader: its death closes the pipe.
func (p *stalledPipe) sleepingReader(t *testing.T, run *watched) *exec.Cmd {
	t.Helper()
	reader := exec.Command("sleep", "1000")
	reader.Stdin = p.r
	endedWithTests(reader)
	reader.SysProcAttr.Setpgid, reader.SysProcAttr.Pgid = true, run.cmd.Process.Pid
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	p.r.Close() // the reader's alone: its death closes the pipe
	return reader
}

// fill fills what room the pipe has left.
func (p *stalledPipe) fill(t *testing.T) {
	t.Helper()
	if _, err := p.w.Write(bytes.Repeat([]byte("x"), p.size-p.held(t))); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads the pipe until it has given text.
func (p *stalledPipe) readUntil(t *testing.T, text string) {
	t.Helper()
	var got []byte
	buf := make([]byte, p.size)
	for !bytes.Contains(got, []byte(text)) {
		p.r.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := p.r.Read(buf)
		if err != nil {
			t.Fatalf("reading the output for %q: %v; read %q", text, err, got)
		}
		got = append(got, buf[:n]...)
	}
}

// inGroup starts the command in a process group of its own, so that a
// signal to the group reaches it as a terminal's Ctrl-C reaches a
// pipeline.
func inGroup(c *exec.Cmd) { c.SysProcAttr.Setpgid = true }

func signalGroup(t *testing.T, run *watched, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(-run.cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
}

// TestSignalWhileTheOutputIsNotRead: `freshtoken get /v2/contacts --all |
// sleep 1000`, or any reader that stops reading: freshtoken waits to write
// its output, and the first Ctrl-C (to the process group, as from a
// terminal), SIGTERM or SIGHUP ends it, 128+N, as it ends every other wait.
// The signal only cancelled the command's context, which a write does not
// watch: one Ctrl-C did nothing, and SIGTERM and SIGHUP were ignored.
func TestSignalWhileTheOutputIsNotRead(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			out := newStalledPipe(t)
			run := w.watchWith(func(c *exec.Cmd) { c.Stdout = out.w; inGroup(c) }, "get", "/v2/contacts", "--all")
			out.waitFull(t)
			signalGroup(t, run, sig)
			endsWithin(t, run, 128+int(sig))
		})
	}
	// A request that may have changed something says it was made.
	t.Run("post", func(t *testing.T) {
		out := newStalledPipe(t)
		body := fmt.Sprintf(`{"contact":{"organisation_name":%q}}`, strings.Repeat("x", 2*out.size))
		run := w.watchWith(func(c *exec.Cmd) { c.Stdout = out.w; inGroup(c) }, "post", "/v2/contacts", "-d", body)
		out.waitFull(t)
		signalGroup(t, run, syscall.SIGINT)
		endsWithin(t, run, 130)
		if _, stderr := run.wait(); !strings.Contains(stderr, "answered 201 Created, and the answer written was cut short; the request was made, and running the command again makes it again") {
			t.Fatalf("stderr %q; want it to say the request was made", stderr)
		}
	})
}

// TestStalledOutputAfterARenewal: `token --force` whose output nobody
// reads, Ctrl-C while the provider answers the renewal: the answer is
// stored, and then the process ends, 130, its output unwritten. It
// waited for ever to write the token.
func TestStalledOutputAfterARenewal(t *testing.T) {
	t.Parallel()
	w, g := strictWorld(t)
	before := refreshToken(t, w)
	out := newStalledPipe(t)
	out.fill(t)
	run := w.watchWith(func(c *exec.Cmd) { c.Stdout = out.w; inGroup(c) }, "token", "--force")
	g.wait(t)
	signalGroup(t, run, syscall.SIGINT)
	run.waitSaid(t, "Ctrl-C again abandons it")
	close(g.release)
	endsWithin(t, run, 130)
	grantKept(t, w, before)
}

// TestSecondCtrlCWhileStderrIsNotRead: `freshtoken token --force 2>&1 |
// less`, not scrolled, Ctrl-C twice while the provider has not answered:
// the second Ctrl-C ends it at once, 130. Its warning that the renewal is
// abandoned waited for the reader, and the process with it, for ever.
func TestSecondCtrlCWhileStderrIsNotRead(t *testing.T) {
	t.Parallel()
	w, arrived := hangingWorld(t)
	out := newStalledPipe(t)
	run := w.watchWith(func(c *exec.Cmd) { c.Stdout, c.Stderr = out.w, out.w; inGroup(c) }, "token", "--force")
	arrived()
	signalGroup(t, run, syscall.SIGINT)
	out.readUntil(t, "Ctrl-C again abandons it")
	out.fill(t) // the reader stops reading
	signalGroup(t, run, syscall.SIGINT)
	select {
	case <-run.stderr.Closed():
	case <-time.After(10 * time.Second):
		run.cmd.Process.Kill()
		t.Fatal("still running 10 s after the second Ctrl-C")
	}
	if code, _ := run.wait(); code != 130 {
		t.Fatalf("exit %d; want 130", code)
	}
	if s := w.provider.Stats(); s.ReuseDetected != 0 || s.GrantsRevoked != 0 {
		t.Fatalf("provider stats %+v; want no reuse", s)
	}
}

// TestCtrlCToAPipelineWhoseReaderDies: `freshtoken get /v2/contacts --all
// | sleep 1000`, Ctrl-C: the terminal sends SIGINT (or a supervisor SIGTERM,
// a closed terminal SIGHUP) to the whole process group, the reader dies of
// it, and freshtoken's waiting write fails with EPIPE as freshtoken gets the
// signal. Both happened: the signal wins, 128+N and the one line, every
// time. Depending on which freshtoken saw first, it exited 141, as if only
// the pipe had closed, or said "interrupted: write /dev/stdout: broken
// pipe", the signal's own doing.
func TestCtrlCToAPipelineWhoseReaderDies(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			for range 10 { // the two came in either order to freshtoken's goroutines
				out := newStalledPipe(t)
				run := w.watchWith(func(c *exec.Cmd) { c.Stdout = out.w; inGroup(c) }, "get", "/v2/contacts", "--all")
				out.waitFull(t)
				reader := out.sleepingReader(t, run)
				signalGroup(t, run, sig)
				if err := reader.Wait(); err == nil {
					t.Fatal("the reader outlived the signal")
				}
				endsWithin(t, run, 128+int(sig))
				if _, stderr := run.wait(); stderr != stoppedBy(sig)+"\n" {
					t.Fatalf("stderr %q; want the one line saying it was interrupted", stderr)
				}
			}
		})
	}
}

// TestCtrlCToAPipelineMidRenewal: `freshtoken token --force | sleep 1000`,
// Ctrl-C (SIGINT to the process group; SIGTERM from a shell that ignores
// SIGPIPE, `trap "" PIPE`, likewise) while the renewal is sent and not yet
// answered: the reader dies, and the answer comes after. freshtoken stores
// it, then exits 128+N with the one line; the signal wins over the pipe it
// closed, and the grant is kept. A guard of the contract: the closed pipe
// seen after the signal must not end the wait for the answer.
func TestCtrlCToAPipelineMidRenewal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		prelude string
	}{
		{"interrupt", syscall.SIGINT, ""},
		{"terminated with SIGPIPE ignored", syscall.SIGTERM, "trap '' PIPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, g := strictWorld(t)
			before := refreshToken(t, w)
			out := newStalledPipe(t)
			run := w.watchWith(func(c *exec.Cmd) {
				c.Stdout = out.w
				inGroup(c)
				if tc.prelude != "" {
					c.Args = append([]string{"sh", "-c", tc.prelude + `; exec "$0" "$@"`}, c.Args...)
					c.Path, c.Err = exec.LookPath("sh")
				}
			}, "token", "--force")
			g.wait(t)
			reader := out.sleepingReader(t, run)
			out.w.Close()
			signalGroup(t, run, tc.sig)
			if err := reader.Wait(); err == nil {
				t.Fatal("the reader outlived the signal")
			}
			close(g.release)
			endsWithin(t, run, 128+int(tc.sig))
			// A loaded machine may take over a second to answer, which the
			// lines saying what it waits for tell before the last.
			if _, stderr := run.wait(); !strings.HasSuffix(stderr, "\nfreshtoken: interrupted\n") && stderr != "freshtoken: interrupted\n" ||
				strings.Contains(stderr, "broken pipe") || strings.Contains(stderr, "abandoned") {
				t.Fatalf("stderr %q; want it to end with the one line saying it was interrupted", stderr)
			}
			grantKept(t, w, before)
		})
	}
}
