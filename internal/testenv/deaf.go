package testenv

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// DeafAPI is an API that reads a request's header and then takes none of
// its body, nor answers: it takes the connection over, and holds it for
// HungUp to look at.
type DeafAPI struct{ conns chan net.Conn }

// NewDeafAPI returns a DeafAPI for one request.
func NewDeafAPI() *DeafAPI { return &DeafAPI{conns: make(chan net.Conn, 1)} }

func (d *DeafAPI) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c, _, err := http.NewResponseController(w).Hijack() // the header read, the body left
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	d.conns <- c
}

// HungUp fails t unless the request reached the API and the client then
// closed its connection: what the buffers held, then its end, not a read
// that waits.
func (d *DeafAPI) HungUp(t testing.TB) {
	t.Helper()
	select {
	case c := <-d.conns:
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Error("the connection to the API that took none of the body stayed open")
		}
	default:
		t.Error("the request never reached the API")
	}
}
