package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	kinds "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/store"
)

// TestProblemsFollowTheTable: the proxy answers each failure with the status
// and code of its kind, the kind the command line's exit code follows.
func TestProblemsFollowTheTable(t *testing.T) {
	p := &Proxy{base: "http://127.0.0.1:8787"}
	for _, err := range []error{
		&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrLoginRequired},
		&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable},
		&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrClientRejected},
		config.Invalidf("a mistake"),
		&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: fmt.Errorf("redis down: %w", store.ErrUnreachable)},
		fmt.Errorf("dev: %w", fmt.Errorf("wrong password: %w", store.ErrDenied)),
	} {
		status, pr := p.engineProblem("dev", err)
		if row := kinds.Of(err).Row(); status != row.Status || pr.Code != row.Code || row.Code == "" {
			t.Errorf("%v was answered %d %q; want %d %q", err, status, pr.Code, row.Status, row.Code)
		}
	}
}

// slowConn is a client connection that accepts at most step bytes of a
// write before the write's deadline passes, as a client reading slowly but
// steadily does; with step 0 it has stopped reading.
type slowConn struct {
	net.Conn
	step     int
	accepted []byte
}

func (c *slowConn) SetWriteDeadline(time.Time) error { return nil }

func (c *slowConn) Write(b []byte) (int, error) {
	n := min(len(b), c.step)
	c.accepted = append(c.accepted, b[:n]...)
	if n < len(b) {
		return n, os.ErrDeadlineExceeded
	}
	return n, nil
}

// TestSendTimeoutIsBetweenTwoWrites: as nginx's send_timeout, the limit is
// on a wait in which the client takes nothing, not on a whole write: a
// client that reads a big answer slowly but steadily (a script handling it
// line by line) gets all of it, and one that stopped reading is cut off.
func TestSendTimeoutIsBetweenTwoWrites(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 32<<10)
	slow := &slowConn{step: 1 << 10}
	if n, err := (&sendLimitedConn{Conn: slow, limit: time.Minute}).Write(data); n != len(data) || err != nil || !bytes.Equal(slow.accepted, data) {
		t.Errorf("a client taking 1 KiB a minute got %d bytes of a write of %d (%v); want all of it", n, len(data), err)
	}
	stopped := &slowConn{}
	if n, err := (&sendLimitedConn{Conn: stopped, limit: time.Minute}).Write(data); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a client that stopped reading: Write = %d, %v; want 0 and the deadline passed", n, err)
	}
}
