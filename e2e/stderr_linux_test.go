//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestLogNobodyReadsHoldsNoLock: `freshtoken --debug token --force` whose
// stderr nobody reads (a terminal on Ctrl-S, `2>&1 | less` not scrolled: a
// full pipe) renews, stores the tokens and ends: its first log line waited
// for the reader for ever, with the renewal lock held, and every other
// process and machine of the environment waited for the lock with it. (A
// proxy logging with --debug into a pager held them all so.)
func TestLogNobodyReadsHoldsNoLock(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	r, full, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer full.Close()
	size, err := unix.FcntlInt(full.Fd(), unix.F_SETPIPE_SZ, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := full.Write(bytes.Repeat([]byte("x"), size)); err != nil { // fills it, without blocking
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := w.command(ctx, "--debug", "token", "--force")
	cmd.Stderr = full
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil || ctx.Err() != nil {
		t.Fatalf("token --force with a stderr nobody reads: %v (%v); want it done", err, ctx.Err())
	}
	if s := w.provider.Stats(); s.Refreshes != 1 {
		t.Fatalf("provider stats %+v; want one refresh", s)
	}
	if got := w.mustRun("token").stdout; got != out.String() {
		t.Fatalf("the next token is %q, want the renewed %q", got, out.String())
	}
}
